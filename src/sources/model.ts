import { z } from 'zod';
import { findComponent, findEvent } from '../alerts/catalogue.js';
import { ORCHESTRATOR_RULES, QUIET_TYPES } from './mapping/orchestrator.js';
import { SEVERITY_MESSAGE, type Severity, parseSeverity } from '../alerts/severity.js';
import { acceptingAnswerFields, displayTextOf, headerSafe, instantText, isoInstant } from '../shared/validation.js';
import { atMostEntries } from '../shared/issue-words.js';

/** SOURCE_KINDS are the kinds of inbound source (API.md, "Tenant: inbound sources"). */
const SOURCE_KINDS = ['orchestrator-webhook', 'orchestrator-pull', 'alertmanager', 'webhook'] as const;

/** SourceKind is one of SOURCE_KINDS. */
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** isPushKind tells whether a kind receives at a URL (every kind but orchestrator-pull). */
export function isPushKind(kind: SourceKind): boolean {
  return kind !== 'orchestrator-pull';
}

const severityName = z
  .string()
  .max(32)
  .transform((value, ctx): Severity => {
    const severity = parseSeverity(value);
    if (!severity) {
      ctx.addIssue({ code: 'custom', message: SEVERITY_MESSAGE });
      return z.NEVER;
    }
    return severity;
  });

const componentName = z
  .string()
  .max(64)
  .transform((value, ctx) => {
    const component = findComponent(value);
    if (!component) {
      ctx.addIssue({ code: 'custom', message: 'must be a component of the catalogue (GET /alerts/catalogue), e.g. Robots, Jobs' });
      return z.NEVER;
    }
    return component.name;
  });

const labelName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be a Prometheus label name');

/**
 * eventOverride changes how one sender event type (`job.faulted`, an Alertmanager `alertname`) or
 * one Tocsin event (`Process.JobExecution.Faulted`) becomes an alert: its severity, its component,
 * and whether it raises an alert at all (`alert: true` opts a type in that is not alert-worthy by
 * default, such as `queueItem.added`; `alert: false` silences one).
 */
const eventOverride = z.object({ severity: severityName.optional(), component: componentName.optional(), alert: z.boolean().optional() }).strict();

/** EventOverride is a parsed eventOverride. */
export type EventOverride = z.infer<typeof eventOverride>;

/** MAPPING_BOUNDS bound a mapping's records, checked before their entries are read (boundEntries). */
export const MAPPING_BOUNDS = { 'mapping.events': 200, 'mapping.severities': 50 } as const;

const overrides = z
  .record(z.string().min(1).max(128), eventOverride)
  .refine((r) => Object.keys(r).length <= MAPPING_BOUNDS['mapping.events'], atMostEntries(MAPPING_BOUNDS['mapping.events']));

/**
 * mappingInput is a source's mapping as a client writes it: per-event overrides for every kind,
 * and for `alertmanager` which labels give the severity, component and event. Fields left out
 * (or null) take the kind's default.
 */
export const mappingInput = z
  .object({
    events: overrides.nullable().optional().describe("Per event type (sender's or Tocsin's name): {severity?, component?, alert?}"),
    severityLabel: labelName.nullable().optional().describe('alertmanager: the label holding the severity (default severity)'),
    severities: z
      .record(z.string().min(1).max(64), severityName)
      .refine((r) => Object.keys(r).length <= MAPPING_BOUNDS['mapping.severities'], atMostEntries(MAPPING_BOUNDS['mapping.severities']))
      .nullable()
      .optional()
      .describe('alertmanager: label value (any case) → severity (default critical→Fatal, page→Fatal, error→Error, warning→Warn, info→Info)'),
    defaultSeverity: severityName
      .nullable()
      .optional()
      .describe('alertmanager: severity of an alert whose label value is not listed nor a Tocsin severity name (default Info)'),
    componentLabel: labelName.nullable().optional().describe('alertmanager: the label naming a catalogue component (default component)'),
    defaultComponent: componentName
      .nullable()
      .optional()
      .describe('alertmanager: component when the label is absent or not in the catalogue (default Process)'),
    eventLabel: labelName.nullable().optional().describe('alertmanager: the label giving the event (default alertname)'),
  })
  .strict();

/** SourceMapping is a stored mapping: the kind's defaults filled in. */
export interface SourceMapping {
  events: Record<string, EventOverride>;
  severityLabel?: string;
  severities?: Record<string, Severity>;
  defaultSeverity?: Severity;
  componentLabel?: string;
  defaultComponent?: string;
  eventLabel?: string;
}

/** ALERTMANAGER_DEFAULTS are the label conventions of an alertmanager source's mapping. */
export const ALERTMANAGER_DEFAULTS = Object.freeze({
  severityLabel: 'severity',
  // `page` is the other common word for a paging alert (reference §3.1: critical/page → Fatal).
  severities: Object.freeze({ critical: 'Fatal', page: 'Fatal', error: 'Error', warning: 'Warn', info: 'Info' } as Record<string, Severity>),
  defaultSeverity: 'Info' as Severity,
  componentLabel: 'component',
  defaultComponent: 'Process',
  eventLabel: 'alertname',
});

const ALERTMANAGER_ONLY = ['severityLabel', 'severities', 'defaultSeverity', 'componentLabel', 'defaultComponent', 'eventLabel'] as const;

/** ORCHESTRATOR_TYPES finds a documented Orchestrator webhook type by its name in any case. */
const ORCHESTRATOR_TYPES = new Map([...ORCHESTRATOR_RULES.map((r) => r.type), ...QUIET_TYPES].map((type) => [type.toLowerCase(), type]));

/**
 * overridesByName keys a mapping's overrides by the names they are matched with: a Tocsin event
 * (`process.custom`) by its catalogue name, and for an Orchestrator webhook source a documented
 * type (`JOB.FAULTED`) by Orchestrator's spelling, as a component is written back by its own.
 * Kept as written, such a key was saved and never applied. Other keys (an Alertmanager alertname,
 * a type Tocsin does not know) stay as written. Two keys naming one event or type: the second is named.
 */
function overridesByName(
  kind: SourceKind,
  events: Record<string, EventOverride>,
): { readonly events: Record<string, EventOverride> } | { readonly invalid: string; readonly message: string } {
  // A Map, then fromEntries: a key such as `__proto__` stays an entry rather than set an object's prototype.
  const out = new Map<string, EventOverride>();
  for (const [key, value] of Object.entries(events)) {
    const name = findEvent(key)?.name ?? (kind === 'orchestrator-webhook' ? ORCHESTRATOR_TYPES.get(key.toLowerCase()) : undefined) ?? key;
    if (out.has(name)) return { invalid: `mapping.events.${key}`, message: `names ${name}, as another key of mapping.events does` };
    out.set(name, value);
  }
  return { events: Object.fromEntries(out) };
}

/**
 * resolveMapping gives the stored mapping of a kind from what the client wrote (undefined or null
 * means the kind's default), or the dotted path of a field that the kind does not take.
 */
export function resolveMapping(
  kind: SourceKind,
  input: z.infer<typeof mappingInput> | null | undefined,
): SourceMapping | { invalid: string; message?: string } {
  const given = input ?? {};
  const named = overridesByName(kind, given.events ?? {});
  if ('invalid' in named) return named;
  const { events } = named;
  if (kind !== 'alertmanager') {
    const foreign = ALERTMANAGER_ONLY.find((field) => given[field] != null);
    if (foreign) return { invalid: `mapping.${foreign}` };
    return { events };
  }
  return {
    events,
    severityLabel: given.severityLabel ?? ALERTMANAGER_DEFAULTS.severityLabel,
    severities: given.severities ?? { ...ALERTMANAGER_DEFAULTS.severities },
    defaultSeverity: given.defaultSeverity ?? ALERTMANAGER_DEFAULTS.defaultSeverity,
    componentLabel: given.componentLabel ?? ALERTMANAGER_DEFAULTS.componentLabel,
    defaultComponent: given.defaultComponent ?? ALERTMANAGER_DEFAULTS.defaultComponent,
    eventLabel: given.eventLabel ?? ALERTMANAGER_DEFAULTS.eventLabel,
  };
}

const httpUrl = z
  .string()
  .max(2000)
  .url()
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http or https URL')
  // A URL's user name and password would be shown back in every answer, and fetch refuses such a
  // URL outright (its error, stored as the source's lastError, would quote the password again).
  .refine((u) => {
    if (!URL.canParse(u)) return true; // .url() has said so already
    const { username, password } = new URL(u);
    return username === '' && password === '';
  }, 'must not hold a user name or password: give them in username and password');
const upstreamText = headerSafe(200).pipe(z.string().min(1));

/**
 * folderId is an Orchestrator folder id (the X-UIPATH-OrganizationUnitId header): a number, or its
 * digits in a string, as API ids are written and as the header carries it.
 */
const folderId = z.union([
  z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  z
    .string()
    .regex(/^\d{1,15}$/, 'must be a folder id: a number, or its digits')
    .transform(Number),
]);

/**
 * pullInput is the `pull` of an orchestrator-pull source: where the upstream Orchestrator is and
 * how to sign in (on-premises: tenancyName, username and password; Automation Cloud: clientId,
 * clientSecret, identityUrl and scope of an external application). `password` and `clientSecret`
 * are write-only; in a PATCH a field left out keeps its value and null clears it.
 */
const pullInput = z
  .object({
    // Tocsin adds `/odata/Alerts?…` (and the sign-in path) to it: a query or fragment would swallow them.
    baseUrl: httpUrl
      .refine((u) => !/[?#]/.test(u), 'must not hold a query (?…) or fragment (#…): Tocsin adds the paths and the query it asks for')
      .describe('The Orchestrator base URL, e.g. https://orchestrator.example.com or https://cloud.uipath.com/org/tenant/orchestrator_'),
    tenancyName: upstreamText.nullable().optional(),
    username: upstreamText.nullable().optional(),
    password: z.string().min(1).max(500).nullable().optional().describe('Write-only'),
    clientId: upstreamText.nullable().optional(),
    clientSecret: z.string().min(1).max(500).nullable().optional().describe('Write-only'),
    identityUrl: httpUrl
      .nullable()
      .optional()
      .describe(
        'Token endpoint of the identity server (OAuth client credentials), or the identity server itself (…/identity, …/identity_), /connect/token then added',
      ),
    scope: z.string().min(1).max(1000).nullable().optional().describe('Space-separated, e.g. OR.Monitoring.Read'),
    // Described before nullable: described after it, the union lost its digits branch in the OpenAPI document.
    organizationUnitId: folderId.describe('Folder id (X-UIPATH-OrganizationUnitId): a number, or its digits as a string').nullable().optional(),
    intervalSeconds: z.number().int().min(1).max(86_400).nullable().optional().describe('Default 60 (null: back to it)'),
    since: isoInstant.nullable().optional().describe('Where the first import starts; default (and null) 24 hours before the source was created'),
  })
  .strict();

/** PullInput is a parsed pullInput. */
export type PullInput = z.infer<typeof pullInput>;

/** StoredPull is the pull settings as stored (JSON), without the two secrets. */
export interface StoredPull {
  baseUrl: string;
  tenancyName: string | null;
  username: string | null;
  clientId: string | null;
  identityUrl: string | null;
  scope: string | null;
  organizationUnitId: number | null;
  intervalSeconds: number;
  /** ISO time. */
  since: string;
}

/** DEFAULT_PULL_INTERVAL_SECONDS is how often a pull source polls by default. */
export const DEFAULT_PULL_INTERVAL_SECONDS = 60;

/** sourceName is a source's name: a one-line label of at most 100 characters (displayText's 200 would be named first). */
const sourceName = displayTextOf(100);

/** sourceInput is the body of POST /sources. */
export const sourceInput = z
  .object({
    name: sourceName,
    kind: z.enum(SOURCE_KINDS),
    enabled: z.boolean().nullable().optional().describe('Default true (also for null)'),
    mapping: mappingInput.nullable().optional().describe("Default: the kind's mapping"),
    pull: pullInput.nullable().optional().describe('Required for kind orchestrator-pull, refused for the others (null: none)'),
  })
  .strict();

/** sourcePatch is the body of PATCH /sources/{sourceId}; the kind cannot change. */
export const sourcePatch = acceptingAnswerFields(
  z
    .object({
      name: sourceName.optional(),
      kind: z.enum(SOURCE_KINDS).optional().describe("The source's own kind, which changes nothing: another kind is refused (a new source is needed)"),
      enabled: z.boolean().nullable().optional().describe('null: back to the default, true'),
      mapping: mappingInput.nullable().optional().describe("Its fields left out keep their value; null: back to the kind's default"),
      // A client may send back the source it read, changed: the answer's passwordSet and clientSecretSet are ignored.
      pull: acceptingAnswerFields(pullInput.partial().strict(), ['passwordSet', 'clientSecretSet'])
        .nullable()
        .optional()
        .describe(
          'Fields left out keep their value; null clears an optional one (intervalSeconds, since: back to the default). ' +
            'pull null: none, which only a source of another kind has',
        ),
    })
    .strict(),
  ['id', 'url', 'stats', 'createdAt', 'updatedAt'],
);

/** RECEPTION_SLOTS is how many receptions each source keeps. */
export const RECEPTION_SLOTS = 20;

/** RECEPTION_OUTCOMES are what a reception can come to. */
const RECEPTION_OUTCOMES = ['accepted', 'duplicate', 'ignored', 'rejected', 'invalid', 'unavailable'] as const;

/** ReceptionOutcome is one of RECEPTION_OUTCOMES. */
export type ReceptionOutcome = (typeof RECEPTION_OUTCOMES)[number];

const pullView = z.object({
  baseUrl: z.string(),
  tenancyName: z.string().nullable(),
  username: z.string().nullable(),
  passwordSet: z.boolean(),
  clientId: z.string().nullable(),
  clientSecretSet: z.boolean(),
  identityUrl: z.string().nullable(),
  scope: z.string().nullable(),
  organizationUnitId: z.number().int().nullable(),
  intervalSeconds: z.number().int(),
  since: instantText,
});

/** sourceView is a Source as the API shows it (never a secret). */
export const sourceView = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(SOURCE_KINDS),
  enabled: z.boolean(),
  url: z.string().nullable().describe('The absolute receive URL; null for orchestrator-pull'),
  mapping: z.record(z.string(), z.unknown()),
  pull: pullView.optional(),
  stats: z.object({
    lastReceivedAt: instantText.nullable(),
    accepted: z.number().int(),
    rejected: z.number().int(),
    lastError: z.string().nullable(),
    lastErrorCode: z.string().nullable().describe("lastError's stable code (reasons.ts), for saying it in another language"),
    lastErrorAt: instantText.nullable(),
    pull: z
      .object({
        lastPolledAt: instantText.nullable().describe('When the last successful poll ended'),
        nextPollAt: instantText.nullable(),
        lagSeconds: z.number().nullable().describe("At the last import: from the newest imported alert's creation upstream to its import"),
        imported: z.number().int().describe('Upstream alerts imported so far'),
        consecutiveFailures: z.number().int().describe('Failed polls in a row (each doubles the wait, capped at 15 minutes; a 429 Retry-After is honoured)'),
        cursor: z.string().describe('CreationTime of the newest upstream alert read; each poll re-reads two minutes before it'),
      })
      .optional()
      .describe('orchestrator-pull, once it has polled'),
  }),
  createdAt: instantText,
  updatedAt: instantText,
});

/** SourceView is a parsed sourceView. */
export type SourceView = z.infer<typeof sourceView>;

/** receptionView is one of a source's last receptions. */
export const receptionView = z.object({
  receivedAt: instantText,
  outcome: z.enum(RECEPTION_OUTCOMES),
  status: z.number().int(),
  alertIds: z.array(z.string()),
  error: z.string().nullable(),
  code: z.string().nullable().describe("error's stable code (reasons.ts), for saying it in another language"),
});
