import { z } from 'zod';
import type { FieldError } from '../http/problem.js';
import { CUSTOM_EVENT, findComponent, findEvent } from './catalogue.js';
import { SEVERITY_MESSAGE, type Severity, parseSeverity } from './severity.js';

/** MAX_BATCH is how many alerts one POST may carry. */
export const MAX_BATCH = 1_000;
/** MAX_DATA_BYTES bounds an alert's `data`, measured as UTF-8 JSON. */
export const MAX_DATA_BYTES = 16 * 1024;
/** MAX_MESSAGE_LENGTH bounds an alert's message, in characters. */
export const MAX_MESSAGE_LENGTH = 4_096;

/** NewAlert is a validated, normalised alert ready to store (names canonical, JSON serialised). */
export interface NewAlert {
  readonly severity: Severity;
  readonly component: string;
  readonly event: string;
  readonly message: string;
  readonly data: string | null;
  readonly source: string | null;
  readonly folder: string | null;
  readonly dedupKey: string | null;
  /** Epoch ms; undefined means "when stored". */
  readonly occurredAt: number | undefined;
}

const EVENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const short = z.string().min(1).max(512);

/** alertSource is where an alert comes from; every field optional, nothing else allowed. */
export const alertSource = z
  .object({ process: short, robot: short, machine: short, queue: short, job: short })
  .partial()
  .strict();

const jsonObject = z.record(z.string(), z.unknown(), { error: 'must be a JSON object' });

/**
 * alertInput is one AlertInput as API.md gives it. Severity, component and event are checked as
 * plain strings here and resolved against the ladder and catalogue by normaliseAlert, so that the
 * schema stays representable in OpenAPI.
 */
export const alertInput = z
  .object({
    severity: z.string().max(32).describe('Info, Success, Warn, Error or Fatal (Warning is accepted for Warn)'),
    component: z.string().min(1).max(64).describe('A component of GET /alerts/catalogue, e.g. Robots'),
    event: z.string().max(128).optional().describe('Default Process.RaiseAlert; events outside the catalogue are kept as named'),
    message: z.string().min(1).max(MAX_MESSAGE_LENGTH),
    data: jsonObject.nullable().optional(),
    source: alertSource.nullable().optional(),
    folder: z.string().min(1).max(256).nullable().optional(),
    dedupKey: z.string().min(1).max(256).nullable().optional(),
    occurredAt: z.iso.datetime({ offset: true }).nullable().optional().describe('When it happened; default when stored'),
  })
  .strict();

/** AlertInput is the parsed shape of alertInput. */
export type AlertInput = z.infer<typeof alertInput>;

const batchInput = z.object({ alerts: z.array(alertInput).min(1).max(MAX_BATCH) }).strict();

/** alertsBody documents the body of POST /alerts: one AlertInput or `{alerts: [AlertInput]}`. */
export const alertsBody = z.union([alertInput, batchInput]);

/**
 * parseAlertsBody validates the body of POST /alerts (one alert, or a batch under `alerts`) and
 * normalises it; it returns every invalid field with its dotted path, or the alerts to store.
 */
export function parseAlertsBody(body: unknown): { errors: FieldError[] } | { alerts: NewAlert[] } {
  const isBatch = typeof body === 'object' && body !== null && 'alerts' in body;
  const parsed = isBatch ? batchInput.safeParse(body) : alertInput.safeParse(body);
  if (!parsed.success) {
    return {
      errors: parsed.error.issues.map((issue) => ({
        path: issue.path.map(String).join('.') || '(root)',
        message: issue.message,
      })),
    };
  }
  const inputs = 'alerts' in parsed.data ? parsed.data.alerts : [parsed.data as AlertInput];
  const errors: FieldError[] = [];
  const alerts: NewAlert[] = [];
  inputs.forEach((input, i) => {
    const result = normaliseAlert(input);
    if ('errors' in result) {
      const prefix = isBatch ? `alerts.${i}.` : '';
      for (const e of result.errors) errors.push({ path: prefix + e.path, message: e.message });
    } else {
      alerts.push(result.alert);
    }
  });
  return errors.length > 0 ? { errors } : { alerts };
}

/**
 * normaliseAlert checks what the schema cannot (severity names, the catalogue, the size of
 * `data`) and gives canonical names: `warning` becomes `Warn`, `robots` becomes `Robots`.
 * Unknown events are kept under the caller's component, as named.
 */
export function normaliseAlert(input: AlertInput): { errors: FieldError[] } | { alert: NewAlert } {
  const errors: FieldError[] = [];
  const severity = parseSeverity(input.severity);
  if (!severity) errors.push({ path: 'severity', message: SEVERITY_MESSAGE });
  const component = findComponent(input.component);
  if (!component) errors.push({ path: 'component', message: `must be a component of the catalogue (GET /alerts/catalogue), e.g. Robots, Jobs, Queues` });
  const eventName = input.event ?? CUSTOM_EVENT;
  if (!EVENT_NAME.test(eventName)) {
    errors.push({ path: 'event', message: 'must be an event name such as Robot.StatusChanged.NotResponding (letters, digits, . _ : -)' });
  }
  let data: string | null = null;
  if (input.data) {
    data = JSON.stringify(input.data);
    if (Buffer.byteLength(data) > MAX_DATA_BYTES) errors.push({ path: 'data', message: `must be at most ${MAX_DATA_BYTES} bytes of JSON` });
  }
  if (errors.length > 0 || !severity || !component) return { errors };
  const source = input.source && Object.keys(input.source).length > 0 ? JSON.stringify(input.source) : null;
  return {
    alert: {
      severity,
      component: component.name,
      event: findEvent(eventName)?.name ?? eventName,
      message: input.message,
      data,
      source,
      folder: input.folder ?? null,
      dedupKey: input.dedupKey ?? null,
      occurredAt: input.occurredAt ? Date.parse(input.occurredAt) : undefined,
    },
  };
}
