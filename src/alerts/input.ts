import { z } from 'zod';
import { MAX_RETENTION_DAYS } from '../access/tenants.js';
import { type FieldError, zodFieldErrors } from '../http/problem.js';
import { fitsCharacters, textOfCharacters } from '../shared/characters.js';
import { writtenNumber } from '../shared/issue-words.js';
import { isoInstant } from '../shared/validation.js';
import { CUSTOM_EVENT, findComponent, findEvent } from './catalogue.js';
import { SEVERITY_MESSAGE, type Severity, parseSeverity } from './severity.js';

/** MAX_BATCH is how many alerts one POST may carry. */
export const MAX_BATCH = 1_000;
/** MAX_DATA_BYTES bounds an alert's `data`, measured as UTF-8 JSON. */
export const MAX_DATA_BYTES = 16 * 1024;
/** MAX_MESSAGE_LENGTH bounds an alert's message, in characters as a reader counts them (fitsCharacters). */
export const MAX_MESSAGE_LENGTH = 4_096;
/** SEVERITY_MAX, COMPONENT_MAX, EVENT_MAX and KEY_TEXT_MAX (folder, dedupKey) bound those fields in UTF-16 code units. */
const SEVERITY_MAX = 32;
const COMPONENT_MAX = 64;
const EVENT_MAX = 128;
const KEY_TEXT_MAX = 256;

/**
 * OCCURRED_AT_AHEAD_MS is how far past the server's clock an alert's occurredAt may be: a day, more
 * than any zone's offset (+14:00) and a sender's clock minutes or hours fast. A robot that labels its
 * local time Z, or whose clock is off, still has every alert stored (refused, a robot does not send
 * it again: a Fatal alert lost for a wrong time); a time further ahead is one that has not come.
 */
const OCCURRED_AT_AHEAD_MS = 86_400_000;
/**
 * OCCURRED_AT_MAX_AGE_MS is how long before now an occurredAt may be: the longest a tenant keeps
 * alerts. Before it, no report, list window or retention of Tocsin's holds it, and the years 1 or
 * 1000 were stored and emailed as "Jan 1, 0001", in a zone's local mean time (Paris +00:09:21).
 */
const OCCURRED_AT_MAX_AGE_MS = MAX_RETENTION_DAYS * 86_400_000;

/**
 * occurredAtRefusal says why an alert's occurredAt (epoch ms) is refused at `now`, or undefined
 * when it is within OCCURRED_AT_MAX_AGE_MS before now and OCCURRED_AT_AHEAD_MS after it.
 */
function occurredAtRefusal(occurredAt: number, now: number): string | undefined {
  if (occurredAt >= now - OCCURRED_AT_MAX_AGE_MS && occurredAt <= now + OCCURRED_AT_AHEAD_MS) return undefined;
  return `must be within the last ${writtenNumber(MAX_RETENTION_DAYS)} days and at most a day ahead of the server's clock (now ${new Date(now).toISOString()})`;
}

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

/** COMPONENT_MESSAGE says what a component must be, where one is refused. */
const COMPONENT_MESSAGE = 'must be a component of the catalogue (GET /alerts/catalogue), e.g. Robots, Jobs, Queues';

/** unknownComponent refuses a component outside the catalogue, naming it (in a batch of a thousand, which one was wrong). */
export function unknownComponent(given: string): string {
  return `${COMPONENT_MESSAGE}, not '${given}'`;
}

/** EVENT_NAME is what an event name outside the catalogue may be (sources map senders' names into it). */
export const EVENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
/** EVENT_NAME_MESSAGE says what an event name must be, where one outside EVENT_NAME is refused. */
export const EVENT_NAME_MESSAGE = 'must be an event name such as Robot.StatusChanged.NotResponding (letters, digits, . _ : -)';
/** SOURCE_PART_MAX is the longest an alert's process, robot, machine, queue or job may be, in characters as a reader counts them. */
export const SOURCE_PART_MAX = 512;
const short = textOfCharacters(1, SOURCE_PART_MAX);

/** alertSource is where an alert comes from; every field optional (null as if left out), nothing else allowed. */
const alertSource = z
  .object({ process: short.nullable(), robot: short.nullable(), machine: short.nullable(), queue: short.nullable(), job: short.nullable() })
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
    severity: z.string().max(SEVERITY_MAX).describe('Info, Success, Warn, Error or Fatal (Warning is accepted for Warn)'),
    component: z.string().min(1).max(COMPONENT_MAX).describe('A component of GET /alerts/catalogue, e.g. Robots'),
    event: z
      .string()
      .max(EVENT_MAX)
      .meta({ pattern: EVENT_NAME.source })
      .nullable()
      .optional()
      .describe('Default (also for null) Process.RaiseAlert; events outside the catalogue are kept as named'),
    message: textOfCharacters(1, MAX_MESSAGE_LENGTH).describe(
      'At most 4,096 characters as a reader counts them: an emoji, a flag or a letter with its combining accents is one (maxLength counts code points: every text within it is taken)',
    ),
    data: jsonObject
      .nullable()
      .optional()
      .describe(
        'A JSON object of at most 16 KiB (16,384 bytes), counted as the UTF-8 bytes of its compact JSON (JSON.stringify, no spaces): ASCII text takes a byte a character, é two, 漢 three, an emoji four; a key or string quote or escape counts too. Over it is a 400 naming data',
      ),
    source: alertSource.nullable().optional(),
    folder: z.string().min(1).max(KEY_TEXT_MAX).nullable().optional(),
    dedupKey: z.string().min(1).max(KEY_TEXT_MAX).nullable().optional(),
    occurredAt: isoInstant
      .nullable()
      .optional()
      .describe(
        'When it happened, with its offset from UTC (RFC 3339; a space for the T, minutes without seconds and +0100 are read too), within the last 3,650 days and at most a day ahead of the server clock; default when stored',
      ),
  })
  .strict();

/** AlertInput is the parsed shape of alertInput. */
export type AlertInput = z.infer<typeof alertInput>;

const batchInput = z.object({ alerts: z.array(alertInput).min(1).max(MAX_BATCH) }).strict();

/** alertsBody documents the body of POST /alerts: one AlertInput or `{alerts: [AlertInput]}`. */
export const alertsBody = z.union([alertInput, batchInput]);

/**
 * parseAlertsBody validates the body of POST /alerts (one alert, or a batch under `alerts`) and
 * normalises it; it returns every invalid field with its dotted path, or the alerts to store. An
 * occurredAt is judged against `now` (occurredAtRefusal).
 */
export function parseAlertsBody(body: unknown, now: number): { errors: FieldError[] } | { alerts: NewAlert[] } {
  const isBatch = typeof body === 'object' && body !== null && 'alerts' in body;
  let inputs = quickInputs(body, isBatch);
  if (!inputs) {
    const parsed = isBatch ? batchInput.safeParse(body) : alertInput.safeParse(body);
    if (!parsed.success) return { errors: withCatalogueErrors(body, isBatch, zodFieldErrors(parsed.error.issues)) };
    inputs = 'alerts' in parsed.data ? parsed.data.alerts : [parsed.data as AlertInput];
  }
  const errors: FieldError[] = [];
  const alerts: NewAlert[] = [];
  inputs.forEach((input, i) => {
    const result = normaliseAlert(input);
    const prefix = isBatch ? `alerts.${i}.` : '';
    if ('errors' in result) {
      for (const e of result.errors) errors.push({ path: prefix + e.path, message: e.message });
      return;
    }
    const refusal = result.alert.occurredAt === undefined ? undefined : occurredAtRefusal(result.alert.occurredAt, now);
    if (refusal) errors.push({ path: `${prefix}occurredAt`, message: refusal });
    else alerts.push(result.alert);
  });
  return errors.length > 0 ? { errors } : { alerts };
}

/**
 * normaliseAlert checks what the schema cannot (severity names, the catalogue, the size of
 * `data`) and gives canonical names: `warning` becomes `Warn`, `robots` becomes `Robots`.
 * Unknown events are kept under the caller's component, as named. `dataJson`, when given, is
 * `JSON.stringify(input.data)` already made by the caller (a source's mapping measured it), not made again.
 */
export function normaliseAlert(input: AlertInput, dataJson?: string): { errors: FieldError[] } | { alert: NewAlert } {
  const { errors, severity, component, eventName, knownEvent, data } = checkCatalogue(input, dataJson);
  if (errors.length > 0 || !severity || !component) return { errors };
  const source = storedSource(input.source);
  return {
    alert: {
      severity,
      component: component.name,
      event: knownEvent?.name ?? eventName,
      message: input.message,
      data,
      source,
      folder: input.folder ?? null,
      dedupKey: input.dedupKey ?? null,
      occurredAt: input.occurredAt ? Date.parse(input.occurredAt) : undefined,
    },
  };
}

type Checked = Record<string, unknown>;

/**
 * checkCatalogue checks what the schema cannot: the severity's name, the catalogue's component,
 * the event's name and the size of `data`. A field that is not of the schema's type is the
 * schema's to name, so it is passed over here.
 */
function checkCatalogue(input: { severity?: unknown; component?: unknown; event?: unknown; data?: unknown }, dataJson?: string) {
  const errors: FieldError[] = [];
  const severity = typeof input.severity === 'string' ? parseSeverity(input.severity) : undefined;
  if (!severity && typeof input.severity === 'string') errors.push({ path: 'severity', message: SEVERITY_MESSAGE });
  const component = typeof input.component === 'string' ? findComponent(input.component) : undefined;
  if (!component && typeof input.component === 'string') errors.push({ path: 'component', message: unknownComponent(input.component) });
  const eventName = typeof input.event === 'string' ? input.event : CUSTOM_EVENT;
  // The catalogue's names are valid event names, and a name's case does not change whether it is one.
  const knownEvent = findEvent(eventName);
  if (!knownEvent && !EVENT_NAME.test(eventName)) {
    errors.push({ path: 'event', message: EVENT_NAME_MESSAGE });
  }
  let data: string | null = null;
  if (typeof input.data === 'object' && input.data !== null && !Array.isArray(input.data)) {
    data = dataJson ?? JSON.stringify(input.data);
    if (Buffer.byteLength(data) > MAX_DATA_BYTES) errors.push({ path: 'data', message: `must be at most ${MAX_DATA_BYTES} bytes of JSON` });
  }
  return { errors, severity, component, eventName, knownEvent, data };
}

/**
 * withCatalogueErrors adds to the schema's errors of a body those of checkCatalogue for every
 * alert in it, so that one answer names every invalid field (an unknown component of one alert
 * beside an empty message of another), alert by alert in the order of AlertInput's fields.
 */
function withCatalogueErrors(body: unknown, isBatch: boolean, schemaErrors: FieldError[]): FieldError[] {
  const list = isBatch && isPlainObject(body) && Array.isArray(body.alerts) && body.alerts.length <= MAX_BATCH ? (body.alerts as unknown[]) : [];
  const items = isBatch ? list : [body];
  const errors = [...schemaErrors];
  items.forEach((item, i) => {
    if (!isPlainObject(item)) return;
    const prefix = isBatch ? `alerts.${i}.` : '';
    for (const e of checkCatalogue(item).errors) {
      if (!errors.some((known) => known.path === prefix + e.path)) errors.push({ path: prefix + e.path, message: e.message });
    }
  });
  const fieldOrder = [...ALERT_FIELDS];
  const place = (path: string): [number, number] => {
    const parts = isBatch ? path.split('.').slice(1) : path.split('.');
    const index = isBatch ? Number(parts.shift() ?? -1) : 0;
    const field = fieldOrder.indexOf(parts[0] ?? '');
    return [Number.isNaN(index) ? -1 : index, parts.length === 0 ? -1 : field === -1 ? fieldOrder.length : field];
  };
  return errors
    .map((e, order) => ({ e, order, at: place(e.path) }))
    .sort((a, b) => a.at[0] - b.at[0] || a.at[1] - b.at[1] || a.order - b.order)
    .map(({ e }) => e);
}

const isPlainObject = (value: unknown): value is Checked => typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
const isString = (value: unknown, min: number, max: number): value is string => typeof value === 'string' && value.length >= min && value.length <= max;
const occurredAtSchema = alertInput.shape.occurredAt;
const SOURCE_FIELDS = Object.keys(alertSource.shape) as (keyof z.infer<typeof alertSource>)[];
const ALERT_FIELDS = new Set(Object.keys(alertInput.shape));

/**
 * LETTER_BYTES_MAX is what one character of a Latin, Greek or Cyrillic text takes in UTF-8 at most:
 * two bytes (é, ß, я), one for ASCII. Ideographs take three and emoji four, and texts of them at every
 * bound of a full batch pass the limit below: such a batch is sent in two.
 */
const LETTER_BYTES_MAX = 2;
/** OCCURRED_AT_MAX bounds an occurredAt as a client writes it, nanoseconds and offset included (35), with room to spare. */
const OCCURRED_AT_MAX = 64;
/** JSON_PUNCTUATION_MAX is room for one alert's keys, quotes, colons, commas and braces, its source's included (about 170). */
const JSON_PUNCTUATION_MAX = 512;

/**
 * ALERT_INPUT_BYTES_MAX is the most one AlertInput takes as compact JSON with every field at its
 * bound in letters of LETTER_BYTES_MAX bytes: its data's bytes, those of the rest, and its punctuation.
 */
const ALERT_INPUT_BYTES_MAX =
  MAX_DATA_BYTES +
  LETTER_BYTES_MAX *
    (SEVERITY_MAX + COMPONENT_MAX + EVENT_MAX + MAX_MESSAGE_LENGTH + SOURCE_FIELDS.length * SOURCE_PART_MAX + 2 * KEY_TEXT_MAX + OCCURRED_AT_MAX) +
  JSON_PUNCTUATION_MAX;

/**
 * ALERTS_BODY_LIMIT_BYTES bounds the body of POST /alerts (31.8 MB): a batch of MAX_BATCH alerts,
 * each at every bound AlertInput gives it in such letters, is taken. The app's 20 MiB for every body
 * refused with a 413 batches that API.md takes: 1,000 alerts of 4,096-character messages, 16 KiB of
 * data, and a source, folder and dedup key at their bounds are 23.9 MB in ASCII, 31 MB in French.
 */
export const ALERTS_BODY_LIMIT_BYTES = MAX_BATCH * (ALERT_INPUT_BYTES_MAX + 1) + JSON_PUNCTUATION_MAX;

/**
 * storedSource is an alert's source as stored: a field set to null as if left out (as every
 * optional field of an alert); a source given with no field is kept as the empty source it is, as
 * `data: {}` is (an Alert is its input, API.md), and only one left out or null is null. The fields
 * are copied only when one is null: robots' sources, on the ingest's fast path, never are.
 */
function storedSource(source: AlertInput['source']): string | null {
  if (!source) return null;
  if (!Object.values(source).includes(null)) return JSON.stringify(source);
  return JSON.stringify(Object.fromEntries(Object.entries(source).filter(([, value]) => value !== null)));
}

/**
 * quickInputs is the schema's fast path for the bodies robots send: it accepts only what
 * alertInput and batchInput accept and returns what they would, or undefined when in any doubt,
 * so that zod then names every invalid field. Walking a batch of a hundred alerts through zod cost
 * more than storing them.
 */
export function quickInputs(body: unknown, isBatch: boolean): AlertInput[] | undefined {
  if (!isBatch) {
    const one = quickAlert(body);
    return one && [one];
  }
  if (!isPlainObject(body)) return undefined;
  const list = body.alerts;
  if (!Array.isArray(list) || list.length < 1 || list.length > MAX_BATCH) return undefined;
  for (const key in body) if (key !== 'alerts') return undefined;
  const inputs: AlertInput[] = [];
  for (const item of list) {
    const input = quickAlert(item);
    if (!input) return undefined;
    inputs.push(input);
  }
  return inputs;
}

function quickAlert(value: unknown): AlertInput | undefined {
  if (!isPlainObject(value)) return undefined;
  for (const key in value) if (!ALERT_FIELDS.has(key)) return undefined;
  const { severity, component, event, message, data, source, folder, dedupKey, occurredAt } = value;
  if (!isString(severity, 0, SEVERITY_MAX) || !isString(component, 1, COMPONENT_MAX) || !isString(message, 1, Number.MAX_SAFE_INTEGER)) return undefined;
  if (!fitsCharacters(message, MAX_MESSAGE_LENGTH)) return undefined;
  if (event !== undefined && !isString(event, 0, EVENT_MAX)) return undefined;
  if (!optionalString(folder, KEY_TEXT_MAX) || !optionalString(dedupKey, KEY_TEXT_MAX)) return undefined;
  // A `__proto__` key is copied differently by zod's record; leave such data to zod.
  if (data != null && (!isPlainObject(data) || Object.hasOwn(data, '__proto__'))) return undefined;
  const at = occurredAt == null ? undefined : occurredAtSchema.safeParse(occurredAt);
  if (at && !at.success) return undefined;
  // Built in the schema's key order, as zod's output is.
  const input: Checked = { severity, component };
  if (event !== undefined) input.event = event;
  input.message = message;
  if (data !== undefined) input.data = data;
  if (source !== undefined) {
    const checked = source === null ? null : quickSource(source);
    if (checked === undefined) return undefined;
    input.source = checked;
  }
  if (folder !== undefined) input.folder = folder;
  if (dedupKey !== undefined) input.dedupKey = dedupKey;
  // As the schema gives it: written the usual way.
  if (occurredAt !== undefined) input.occurredAt = at ? at.data : occurredAt;
  return input as AlertInput;
}

const optionalString = (value: unknown, max: number) => value == null || isString(value, 1, max);

/** quickSource checks a source and rebuilds it in the schema's key order, as zod's output has it. */
function quickSource(value: unknown): Checked | undefined {
  if (!isPlainObject(value)) return undefined;
  let known = 0;
  const source: Checked = {};
  for (const field of SOURCE_FIELDS) {
    const v = value[field];
    if (v === undefined) continue;
    if (!isString(v, 1, Number.MAX_SAFE_INTEGER) || !fitsCharacters(v, SOURCE_PART_MAX)) return undefined;
    source[field] = v;
    known += 1;
  }
  return Object.keys(value).length === known ? source : undefined;
}
