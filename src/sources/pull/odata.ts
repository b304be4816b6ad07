import { wellFormedJson, withoutNul } from '../../http/input-guard.js';
import { findComponent } from '../../alerts/catalogue.js';
import { type AlertInput, EVENT_NAME, MAX_DATA_BYTES, MAX_MESSAGE_LENGTH } from '../../alerts/input.js';
import { parseSeverity } from '../../alerts/severity.js';
import { applyOverride, cut, instantOf, deliveryKey as senderDeliveryKey } from '../mapping/shared.js';
import type { EventOverride } from '../model.js';

/**
 * The pull connector's decisions, free of I/O: which page to ask the upstream Orchestrator for,
 * how an upstream AlertDto becomes an alert, when to poll next (interval, 429 Retry-After,
 * exponential backoff) and who holds a source's poll (a lease in its state, taken by
 * compare-and-set so that two workers never poll one source at once).
 */

/** PAGE_SIZE is the `$top` of each upstream request (Orchestrator's maximum). */
export const PAGE_SIZE = 1_000;

/** MAX_PAGES_PER_POLL bounds one poll; a backlog continues at once on the next tick. */
export const MAX_PAGES_PER_POLL = 20;

/**
 * OVERLAP_MS is how far before the cursor each poll re-reads: alerts committed upstream slightly
 * out of creation-time order are still seen, and the per-source unique key skips those already imported.
 */
export const OVERLAP_MS = 2 * 60_000;

/** MAX_BACKOFF_MS caps the wait after repeated failures. */
export const MAX_BACKOFF_MS = 15 * 60_000;

/** LEASE_MS is how long a worker holds a source's poll before another may take it over. */
export const LEASE_MS = 2 * 60_000;

/** UpstreamAlert is the part of Orchestrator's AlertDto that the connector reads. */
export interface UpstreamAlert {
  readonly Id: string;
  readonly NotificationName: string;
  readonly Component: string;
  readonly Severity: string;
  readonly CreationTime: string;
  /** A JSON string of the event's context (its keys are undocumented). */
  readonly Data: string | null;
  readonly DeepLinkRelativeUrl: string | null;
}

/** PullState is the connector's own state of one source, stored as JSON on it. */
export interface PullState {
  /** The `since` the cursor started from: changing the source's `since` restarts the import there. */
  readonly origin: string;
  /** CreationTime (epoch ms) of the newest upstream alert imported or seen. */
  readonly cursorTime: number;
  /** Id of that alert (ties on CreationTime are broken by the unique key, not by this). */
  readonly cursorId: string | null;
  /** When the next poll is due (epoch ms). */
  readonly nextPollAt: number;
  readonly failures: number;
  /** The worker holding the poll, and until when. */
  readonly leaseOwner: string | null;
  readonly leaseUntil: number;
  readonly lastPolledAt: number | null;
  readonly lastImportedAt: number | null;
  /** Milliseconds from the newest imported alert's creation upstream to its import. */
  readonly lagMs: number | null;
  readonly imported: number;
  /**
   * The last poll stopped with more to read: the next one goes on from the cursor itself, not
   * OVERLAP_MS before it, or a backlog longer than a poll reads within those minutes would be
   * read from its start again and again. Absent in states stored before it existed.
   */
  readonly backlog?: boolean;
}

/** initialState is a source's state before its first poll: the cursor at `since`, due at once. */
export function initialState(since: string): PullState {
  return {
    origin: since,
    cursorTime: Date.parse(since),
    cursorId: null,
    nextPollAt: 0,
    failures: 0,
    leaseOwner: null,
    leaseUntil: 0,
    lastPolledAt: null,
    lastImportedAt: null,
    lagMs: null,
    imported: 0,
  };
}

/** readState parses a stored state; a missing one, or one started from another `since`, starts afresh. */
export function readState(stored: string | null, since: string): PullState {
  if (stored === null) return initialState(since);
  const state = JSON.parse(stored) as PullState;
  return state.origin === since ? state : { ...initialState(since), leaseOwner: state.leaseOwner, leaseUntil: state.leaseUntil };
}

/** claimable tells whether a worker may take the source's poll now: due, and nobody's lease running. */
export function claimable(state: PullState, now: number): boolean {
  return state.nextPollAt <= now && state.leaseUntil <= now;
}

/** claimed is the state with the lease taken by `owner` until now + LEASE_MS. */
export function claimed(state: PullState, owner: string, now: number): PullState {
  return { ...state, leaseOwner: owner, leaseUntil: now + LEASE_MS };
}

/** odataTime writes an epoch time as an OData v4 DateTimeOffset literal. */
function odataTime(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * alertsUrl is one page of upstream alerts created after the cursor minus OVERLAP_MS, oldest first
 * with the id breaking ties so that `$skip` pages are stable. The overlap never reaches before
 * `sinceMs`, the source's `since`: the import starts there (API.md), alerts created at it included.
 * `continuing` a backlog, the page starts at the cursor itself (those created at it included).
 */
export function alertsUrl(baseUrl: string, cursorTime: number, skip: number, sinceMs: number, continuing = false): string {
  const from = cursorTime - OVERLAP_MS;
  const filter = continuing
    ? `CreationTime ge ${odataTime(Math.max(0, cursorTime, sinceMs))}`
    : from > sinceMs
      ? `CreationTime gt ${odataTime(from)}`
      : `CreationTime ge ${odataTime(Math.max(0, sinceMs))}`;
  const params = new URLSearchParams({
    $filter: filter,
    $orderby: 'CreationTime asc,Id asc',
    $top: String(PAGE_SIZE),
  });
  if (skip > 0) params.set('$skip', String(skip));
  return `${baseUrl.replace(/\/+$/, '')}/odata/Alerts?${params.toString().replace(/\+/g, '%20')}`;
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * readAlertsPage reads an OData answer `{value: [AlertDto]}`; rows without an Id or a readable
 * CreationTime are skipped (they could not be imported once), a body of another shape is an error.
 * CreationTime is kept as an ISO instant, read as UTC when it has no zone (instantOf). `nextLink`
 * is the answer's `@odata.nextLink`: the server paged the answer itself, and more rows follow.
 */
export function readAlertsPage(body: unknown): { alerts: UpstreamAlert[]; rows: number; nextLink?: string } | { invalid: string } {
  const value = (body as { value?: unknown } | null)?.value;
  const nextLink = text((body as Record<string, unknown>)['@odata.nextLink']) ?? undefined;
  if (!Array.isArray(value)) return { invalid: 'the answer has no "value" array (is baseUrl an Orchestrator?)' };
  const alerts: UpstreamAlert[] = [];
  for (const row of value as Record<string, unknown>[]) {
    const id = typeof row?.Id === 'number' ? String(row.Id) : text(row?.Id);
    const created = instantOf(text(row?.CreationTime) ?? undefined);
    if (!id || created === undefined) continue;
    alerts.push({
      Id: id,
      NotificationName: text(row.NotificationName) ?? 'Process.RaiseAlert',
      Component: text(row.Component) ?? '',
      Severity: text(row.Severity) ?? '',
      CreationTime: new Date(created).toISOString(),
      Data: text(row.Data),
      DeepLinkRelativeUrl: text(row.DeepLinkRelativeUrl),
    });
  }
  return { alerts, rows: value.length, ...(nextLink ? { nextLink } : {}) };
}

/** deliveryKey is the per-source unique key of an upstream alert: imported once, whoever polls (a long Id is hashed). */
export function deliveryKey(alert: UpstreamAlert): string {
  return senderDeliveryKey('orch-alert', alert.Id);
}

/** The most of an upstream Id and of its deep link that an alert's data keeps (both are far shorter from Orchestrator). */
const MAX_UPSTREAM_ID_CHARS = 1024;
const MAX_DEEP_LINK_CHARS = 2048;

const MESSAGE_KEYS = ['Message', 'message', 'ErrorMessage', 'Details', 'Reason', 'Info'];
const SOURCE_KEYS = {
  process: ['ProcessName', 'ReleaseName'],
  robot: ['RobotName'],
  machine: ['MachineName', 'HostMachineName'],
  queue: ['QueueName'],
  job: ['JobKey', 'JobId'],
} as const;
const FOLDER_KEYS = ['FolderName', 'Folder', 'OrganizationUnitName', 'FolderPath'];

/**
 * firstString is the first of `keys` that Data holds as text or a number, its key read in any
 * case: Data's keys are undocumented, and JSON written by other code says processName as often
 * as ProcessName. A key spelled exactly as asked wins over another spelling of it.
 */
function firstString(data: Record<string, unknown>, keys: readonly string[], max: number): string | undefined {
  const byLower = new Map<string, unknown>();
  for (const [key, value] of Object.entries(data)) if (!byLower.has(key.toLowerCase())) byLower.set(key.toLowerCase(), value);
  for (const key of keys) {
    const value = Object.hasOwn(data, key) ? data[key] : byLower.get(key.toLowerCase());
    if ((typeof value === 'string' && value.trim()) || (typeof value === 'number' && Number.isFinite(value))) return cut(String(value).trim(), max);
  }
  return undefined;
}

function parseData(raw: string | null): Record<string, unknown> | undefined {
  if (raw === null || raw.trim() === '') return undefined;
  try {
    // Data is JSON text in a JSON answer: its own escapes may hold a lone surrogate or a NUL too.
    const parsed: unknown = withoutNul(raw, wellFormedJson(raw, JSON.parse(raw)));
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    return { value: parsed };
  } catch {
    return { text: raw };
  }
}

/**
 * truncatedData keeps the start of a Data too big to keep whole, within the alert's MAX_DATA_BYTES
 * of UTF-8 JSON whatever its script (a CJK character is three bytes, a quote two once escaped),
 * and never half a character: an alert over the bound would be skipped.
 */
function truncatedData(upstream: Record<string, string>, text: string): Record<string, unknown> {
  for (let units = MAX_DATA_BYTES / 2; ; ) {
    const data = { ...upstream, dataTruncated: cut(text, units) };
    const bytes = Buffer.byteLength(JSON.stringify(data));
    if (bytes <= MAX_DATA_BYTES || units === 0) return data;
    units = Math.floor((units * MAX_DATA_BYTES * 0.95) / bytes);
  }
}

/**
 * toAlertInput maps an upstream AlertDto to an alert: Component (unknown → Process), the
 * notification name as event, Severity (same ladder; unknown → Info), CreationTime as occurredAt,
 * the parsed Data as data (with the upstream id and deep link), its message (first of Message,
 * ErrorMessage, … — the keys are undocumented) else the notification name, and the process,
 * robot, queue, job and folder when Data names them. Upstream URLs are kept, never fetched.
 * The source's per-event overrides (by notification name) then apply; undefined when one says
 * `alert: false`.
 */
export function toAlertInput(alert: UpstreamAlert, overrides: Readonly<Record<string, EventOverride>> = {}): AlertInput | undefined {
  const parsed = parseData(alert.Data) ?? {};
  const message =
    firstString(parsed, MESSAGE_KEYS, MAX_MESSAGE_LENGTH) ??
    (typeof parsed.text === 'string' ? cut(parsed.text, MAX_MESSAGE_LENGTH) : undefined) ??
    alert.NotificationName;
  // Tocsin's own /odata/Alerts nests them as Source {process, robot, …}.
  const nested = parsed.Source !== null && typeof parsed.Source === 'object' ? (parsed.Source as Record<string, unknown>) : {};
  const source: Record<string, string> = {};
  for (const [field, keys] of Object.entries(SOURCE_KEYS)) {
    const value = firstString(parsed, keys, 512) ?? firstString(nested, [field], 512);
    if (value) source[field] = value;
  }
  const folder = firstString(parsed, FOLDER_KEYS, 256);
  // Bounded, as Data is below: copied whole, an Id or link of 16 KiB left no room, and the alert was skipped.
  const upstream = {
    upstreamId: cut(alert.Id, MAX_UPSTREAM_ID_CHARS),
    ...(alert.DeepLinkRelativeUrl ? { deepLink: cut(alert.DeepLinkRelativeUrl, MAX_DEEP_LINK_CHARS) } : {}),
  };
  let data: Record<string, unknown> = { ...parsed, ...upstream };
  if (Buffer.byteLength(JSON.stringify(data)) > MAX_DATA_BYTES) data = truncatedData(upstream, alert.Data ?? '');
  const created = new Date(Date.parse(alert.CreationTime)).toISOString();
  const event = EVENT_NAME.test(alert.NotificationName) ? alert.NotificationName : 'Process.RaiseAlert';
  const base = { severity: parseSeverity(alert.Severity) ?? 'Info', component: findComponent(alert.Component)?.name ?? 'Process', alert: true };
  const { severity, component, alert: raise } = applyOverride(base, overrides, event);
  if (!raise) return undefined;
  return {
    severity,
    component,
    event,
    message: message || alert.Id,
    data,
    ...(Object.keys(source).length > 0 ? { source } : {}),
    ...(folder ? { folder } : {}),
    occurredAt: created,
  };
}

/**
 * backoffMs is the wait after `failures` failures in a row: the interval doubled each time,
 * capped at MAX_BACKOFF_MS (never shorter than the interval itself).
 */
export function backoffMs(intervalMs: number, failures: number): number {
  return Math.max(intervalMs, Math.min(MAX_BACKOFF_MS, intervalMs * 2 ** Math.min(failures, 20)));
}

/** retryAfterMs reads a Retry-After header (seconds or an HTTP date) relative to now; undefined if absent or unreadable. */
export function retryAfterMs(header: string | null | undefined, now: number): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** PollOutcome is what one poll came to, as the state needs it. */
export type PollOutcome =
  | {
      readonly ok: true;
      readonly cursorTime: number;
      readonly cursorId: string | null;
      readonly imported: number;
      readonly newestImported: number | null;
      readonly more: boolean;
    }
  | {
      readonly ok: false;
      readonly retryAfterMs?: number;
      /** What the poll imported before it failed (its pages are re-read, and found imported, by the next). */
      readonly imported?: number;
      readonly newestImported?: number | null;
      /** Cut short by its worker stopping (a deploy): not the upstream's failure. */
      readonly interrupted?: boolean;
    };

/** importedBy is what a poll's imports add to the state: the count, and the lag of the newest. */
function importedBy(state: PullState, imported: number, newestImported: number | null, now: number): Partial<PullState> {
  return {
    imported: state.imported + imported,
    ...(imported > 0 ? { lastImportedAt: now, lagMs: newestImported === null ? null : Math.max(0, now - newestImported) } : {}),
  };
}

/**
 * afterPoll is the state once a poll ends, its lease released: success moves the cursor (never past now) and
 * schedules the next poll an interval after this one started (`startedAt`; at once when a backlog
 * remains or the poll took longer): counted from its end, the poll's own length and the worker's
 * 1 s tick stretched every interval, intervalSeconds 1 to 2 s. A failure waits for Retry-After
 * when the upstream gave one (never under the interval), else backs off, from `now`; a poll cut
 * short by its worker stopping leaves the source as due as it was, with no failure. Either way
 * what the poll imported before it ended is counted.
 */
export function afterPoll(state: PullState, outcome: PollOutcome, intervalMs: number, now: number, startedAt = now): PullState {
  const released = { ...state, leaseOwner: null, leaseUntil: 0 };
  if (!outcome.ok) {
    const progress = importedBy(state, outcome.imported ?? 0, outcome.newestImported ?? null, now);
    // Left as it was, due: the next worker (or this one restarted) goes on at once.
    if (outcome.interrupted) return { ...released, ...progress };
    const failures = state.failures + 1;
    const wait =
      outcome.retryAfterMs !== undefined ? Math.min(Math.max(outcome.retryAfterMs, intervalMs), MAX_BACKOFF_MS * 4) : backoffMs(intervalMs, failures);
    return { ...released, ...progress, failures, nextPollAt: now + wait };
  }
  return {
    ...released,
    failures: 0,
    backlog: outcome.more,
    // Never past now: an alert dated ahead (an upstream clock that ran fast, then was set right)
    // would otherwise hold the cursor there, and every alert created before that time was skipped.
    cursorTime: Math.min(Math.max(state.cursorTime, outcome.cursorTime), now),
    cursorId: outcome.cursorTime >= state.cursorTime ? outcome.cursorId : state.cursorId,
    nextPollAt: outcome.more ? now : Math.min(now, startedAt) + intervalMs,
    lastPolledAt: now,
    ...importedBy(state, outcome.imported, outcome.newestImported, now),
  };
}

/** pullStats is the state as a source's `stats.pull` shows it. */
export function pullStats(state: PullState) {
  const iso = (ms: number | null) => (ms === null || ms === 0 ? null : new Date(ms).toISOString());
  return {
    lastPolledAt: iso(state.lastPolledAt),
    nextPollAt: iso(state.nextPollAt),
    lagSeconds: state.lagMs === null ? null : Math.round(state.lagMs / 100) / 10,
    imported: state.imported,
    consecutiveFailures: state.failures,
    cursor: new Date(state.cursorTime).toISOString(),
  };
}
