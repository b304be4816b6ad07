import { type Severity, severityOfRank, severityRank } from '../alerts/severity.js';
import { SOURCE_FILTER_PARTS as MUTABLE_SOURCE_PARTS, sourcePart } from '../alerts/source-parts.js';
import { storedBeforeBucket } from '../alerts/stored-before.js';
import { multiMap } from '../shared/multi-map.js';
import type { Db } from '../storage/database.js';
import { notSearchable } from '../storage/not-searchable.js';
import type { Window } from './windows.js';

/** EventCount is how many alerts of one event, component and severity a window holds. */
export interface EventCount {
  readonly severity: Severity;
  readonly component: string;
  readonly event: string;
  readonly count: number;
  /**
   * The one flood (dedup key's repeats, or a lone alert) all these alerts belong to, when they do:
   * its id, and the id of one of these alerts, which an "I'm on it" link can name. Absent for several floods.
   */
  readonly oneFlood?: OneFlood | undefined;
}

/** OneFlood is the flood all the alerts of a count belong to (see EventCount.oneFlood). */
export interface OneFlood {
  readonly groupId: string;
  readonly alertId: string;
}

/**
 * eventCountsOf aggregates the alerts created in a window by tenant, event, component and severity
 * (optionally from a severity up), for many tenants sharing the window by one query (a tenant
 * without alerts there is left out): what the daily report shows, and what decides who gets a
 * summary, without reading the alerts themselves.
 */
export async function eventCountsOf(db: Db, tenantIds: readonly string[], window: Window, minSeverity?: Severity): Promise<Map<string, EventCount[]>> {
  if (tenantIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('alerts')
    .select((eb) => ['tenant_id', 'severity', 'component', 'event', eb.fn.countAll<number>().as('n')])
    .where('tenant_id', 'in', tenantIds)
    .where('created_at', '>=', window.start)
    .where('created_at', '<', window.end)
    .$if(minSeverity !== undefined, (q) => q.where('severity', '>=', severityRank(minSeverity!)))
    .groupBy(['tenant_id', 'severity', 'component', 'event'])
    .execute();
  return multiMap(
    rows.map((r) => [r.tenant_id, { severity: severityOfRank(Number(r.severity)), component: r.component, event: r.event, count: Number(r.n) }] as const),
  );
}

/**
 * tenantsWithAlerts says which of some tenants created an alert (optionally from a severity up) in
 * a window, by one query: the scheduler records the empty windows of idle tenants together,
 * without deciding each one.
 */
export async function tenantsWithAlerts(db: Db, tenantIds: readonly string[], window: Window, minSeverity?: Severity): Promise<Set<string>> {
  if (tenantIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('alerts')
    .select('tenant_id')
    .distinct()
    .where('tenant_id', 'in', tenantIds)
    .where('created_at', '>=', window.start)
    .where('created_at', '<', window.end)
    .$if(minSeverity !== undefined, (q) => q.where('severity', '>=', severityRank(minSeverity!)))
    .execute();
  return new Set(rows.map((r) => r.tenant_id));
}

/** SourcedEventCount is an EventCount for alerts that also share the source parts a mute can match. */
export interface SourcedEventCount extends EventCount {
  readonly source: { readonly process?: string; readonly robot?: string; readonly queue?: string };
  /**
   * When the last of these alerts occurred (epoch ms): the health sections tell recoveries by it and
   * show it as the last failure, as the summary's lines show when their alerts occurred (an alert
   * that arrives late, imported or from a robot that reports late, failed when it says).
   */
  readonly lastAt: number;
  /** The greatest id of these alerts (ids count up as alerts are stored): what came last within one millisecond. */
  readonly lastId: string;
  /** When counted split at the ends of mutes that ended inside the window: these alerts were all stored before this instant. */
  readonly storedBefore?: number | undefined;
}

/**
 * sourcedEventCounts is a tenant's event counts split further by the process, robot and queue of the alerts'
 * sources: what deciding and composing need when a mute may match some of a window's alerts and
 * not others. Read only when the tenant has mutes in force. Given the bounds of mutes that ended
 * inside the window (`ends`, ascending, endedMuteBounds; usually none), the counts are split further
 * at them, each saying its alerts were stored before the next bound (storedBefore).
 */
export async function sourcedEventCounts(
  db: Db,
  tenantId: string,
  window: Window,
  minSeverity?: Severity,
  ends: readonly number[] = [],
): Promise<SourcedEventCount[]> {
  return (await sourcedEventCountsOf(db, [tenantId], window, minSeverity, ends)).get(tenantId) ?? [];
}

/** sourcedEventCountsOf is sourcedEventCounts of many tenants sharing one window (and mute ends), by one query. */
export async function sourcedEventCountsOf(
  db: Db,
  tenantIds: readonly string[],
  window: Window,
  minSeverity?: Severity,
  ends: readonly number[] = [],
): Promise<Map<string, SourcedEventCount[]>> {
  if (tenantIds.length === 0) return new Map();
  const parts = MUTABLE_SOURCE_PARTS.map((part) => sourcePart(db, part));
  // Only with ends: without any, the query is as it always was.
  const split = ends.length > 0 ? [storedBeforeBucket(ends)] : [];
  const rows = await db
    .selectFrom('alerts')
    .select((eb) => [
      'tenant_id',
      'severity',
      'component',
      'event',
      ...parts.map((p, i) => p.as(`s${i}`)),
      eb.fn.countAll<number>().as('n'),
      eb.fn.max('occurred_at').as('last'),
      eb.fn.max('id').as('last_id'),
      // The floods of these alerts: one when the least and the greatest are the same.
      eb.fn.min(eb.fn.coalesce('group_id', 'id')).as('first_flood'),
      eb.fn.max(eb.fn.coalesce('group_id', 'id')).as('last_flood'),
      ...split.map((bucket) => bucket.as('stored_before')),
    ])
    .where('tenant_id', 'in', tenantIds)
    .where('created_at', '>=', window.start)
    .where('created_at', '<', window.end)
    .$if(minSeverity !== undefined, (q) => q.where('severity', '>=', severityRank(minSeverity!)))
    .groupBy(['tenant_id', 'severity', 'component', 'event', ...parts, ...split])
    .execute();
  return multiMap(
    rows.map((r) => {
      const row = r as typeof r & Record<string, string | number | null>;
      const source: Record<string, string> = {};
      MUTABLE_SOURCE_PARTS.forEach((part, i) => {
        const value = row[`s${i}`];
        if (typeof value === 'string') source[part] = value;
      });
      const count: SourcedEventCount = {
        severity: severityOfRank(Number(r.severity)),
        component: r.component,
        event: r.event,
        count: Number(r.n),
        source,
        lastAt: Number(r.last),
        lastId: String(r.last_id),
        ...(String(r.first_flood) === String(r.last_flood) ? { oneFlood: { groupId: String(r.first_flood), alertId: String(r.last_id) } } : {}),
        ...(row.stored_before === undefined || row.stored_before === null ? {} : { storedBefore: Number(row.stored_before) }),
      };
      return [r.tenant_id, count] as const;
    }),
  );
}

/**
 * mergeEventCounts adds up counts that differ only by source, back into one per event, component and
 * severity; one flood stays one only when every part of it is of that flood.
 */
export function mergeEventCounts(counts: readonly EventCount[]): EventCount[] {
  const merged = new Map<string, EventCount>();
  for (const c of counts) {
    const key = `${c.severity}\n${c.component}\n${c.event}`;
    const seen = merged.get(key);
    const oneFlood = seen === undefined || seen.oneFlood?.groupId === c.oneFlood?.groupId ? c.oneFlood : undefined;
    merged.set(key, { severity: c.severity, component: c.component, event: c.event, count: (seen?.count ?? 0) + c.count, oneFlood });
  }
  return [...merged.values()];
}

/** FloodAlert is one Fatal alert of a flood, as the rules deciding its immediate email look at it. */
export interface FloodAlert {
  readonly alertId: string;
  readonly component: string;
  readonly event: string;
  /** The alert's source, which mutes may match. */
  readonly source: Readonly<Record<string, string>> | null;
}

/**
 * FatalFlood is a Fatal alert flood (or a lone Fatal alert) that reached a tenant: its first alert
 * of the commit (its own fields), and all of them in order (`alerts`), since a reader whose mutes
 * cover the first (a snoozed robot of a pool) is mailed about the first of them they leave.
 */
export interface FatalFlood extends FloodAlert {
  /** The flood's id: its first alert's id; one immediate email per flood and recipient. */
  readonly groupId: string;
  readonly alerts: readonly FloodAlert[];
}

/** committedFatalFloods lists the floods of some just-committed alerts of a tenant, ignoring those that are not Fatal. */
export async function committedFatalFloods(db: Db, tenantId: string, alertIds: readonly string[]): Promise<FatalFlood[]> {
  if (alertIds.length === 0) return [];
  return floodsOf(await fatalAlerts(db, tenantId).where('id', 'in', alertIds).execute());
}

function fatalAlerts(db: Db, tenantId: string) {
  // Looked up by the ids committedFatalFloods gives, the tenant only checked (notSearchable).
  return db
    .selectFrom('alerts')
    .select(['id', 'group_id', 'component', 'event', 'source'])
    .where(notSearchable('tenant_id'), '=', tenantId)
    .where('severity', '=', severityRank('Fatal'))
    .orderBy('created_at')
    .orderBy('id');
}

/** floodsOf groups the alerts by flood, in the order given (the alerts' creation order): each flood stands as its first alert, with all of them. */
export function floodsOf(rows: readonly { id: string; group_id: string | null; component: string; event: string; source: string | null }[]): FatalFlood[] {
  const floods = new Map<string, FatalFlood & { alerts: FloodAlert[] }>();
  for (const r of rows) {
    const groupId = r.group_id ?? r.id;
    const alert: FloodAlert = {
      alertId: r.id,
      component: r.component,
      event: r.event,
      source: r.source === null ? null : (JSON.parse(r.source) as Record<string, string>),
    };
    const flood = floods.get(groupId);
    if (flood) flood.alerts.push(alert);
    else floods.set(groupId, { groupId, ...alert, alerts: [alert] });
  }
  return [...floods.values()];
}
