import { type NewDelivery, enqueueDeliveries } from '../delivery/outbox/enqueue.js';
import { isMutedFor, unmutedFor } from '../mutes/model.js';
import { activeMutes } from '../mutes/store.js';
import { recipientPages } from '../recipients/query.js';
import type { Clock } from '../shared/clock.js';
import type { Db } from '../storage/database.js';
import type { Storage } from '../storage/storage.js';
import { type FatalFlood, eventCounts, sourcedEventCounts } from './alert-facts.js';
import { getsImmediate, getsWindowReport, immediateDelivery, windowDelivery } from './recipient-rules.js';
import type { Window } from './windows.js';

/** ReportSettings are the parts of a tenant's mail settings that decide its alert emails. */
export interface ReportSettings {
  readonly alertsEmailEnabled: boolean;
  /** `HH:MM` or `HH:MM:SS` in the tenant's time zone. */
  readonly dailyReportTime: string;
  readonly sendEmptyDailyReport: boolean;
}

/** ReportSettingsSource reads a tenant's ReportSettings (the settings domain's getMailSettings). */
export type ReportSettingsSource = (db: Db, tenantId: string) => Promise<ReportSettings>;

/** ReportTenant is what the reports need of a tenant. */
export interface ReportTenant {
  readonly id: string;
  readonly name: string;
  readonly language: string;
  readonly timeZone: string;
  readonly createdAt: number;
}

/** reportTenants reads the tenants with some ids (those that exist), as the reports need them. */
export async function reportTenants(db: Db, ids: readonly string[]): Promise<ReportTenant[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('tenants').select(['id', 'name', 'language', 'time_zone', 'created_at']).where('id', 'in', ids).execute();
  return rows.map((r) => ({ id: r.id, name: r.name, language: r.language, timeZone: r.time_zone, createdAt: Number(r.created_at) }));
}

/**
 * lastWindowEnd is where the last decided window of a kind ended, or undefined when none was.
 * Windows never overlap, so the latest start has the latest end, and the primary key finds it.
 */
export async function lastWindowEnd(db: Db, tenantId: string, kind: 'summary' | 'daily'): Promise<number | undefined> {
  return (await lastWindowEnds(db, [tenantId], kind)).get(tenantId);
}

/** lastWindowEnds is lastWindowEnd of many tenants by one query (a tenant without a decided window is left out). */
export async function lastWindowEnds(db: Db, tenantIds: readonly string[], kind: 'summary' | 'daily'): Promise<Map<string, number>> {
  if (tenantIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('tenants')
    .select((eb) => [
      'id',
      eb
        .selectFrom('report_windows')
        .select('window_end')
        .whereRef('report_windows.tenant_id', '=', 'tenants.id')
        .where('kind', '=', kind)
        .orderBy('window_start', 'desc')
        .limit(1)
        .as('last_end'),
    ])
    .where('id', 'in', tenantIds)
    .execute();
  return new Map(rows.flatMap((r) => (r.last_end === null ? [] : [[r.id, Number(r.last_end)] as const])));
}

/**
 * recordEmptyWindows records windows known to hold no alert that anyone could be mailed about, by
 * one insert: nothing is queued for them, so they need no transaction of their own. The primary
 * key still lets one instance win each; the tenants whose window this call recorded are returned.
 */
export async function recordEmptyWindows(
  db: Db,
  kind: 'summary' | 'daily',
  windows: readonly { readonly tenantId: string; readonly window: Window }[],
  now: number,
): Promise<string[]> {
  if (windows.length === 0) return [];
  const rows = await db
    .insertInto('report_windows')
    .values(windows.map((w) => ({ tenant_id: w.tenantId, kind, window_start: w.window.start, window_end: w.window.end, deliveries: 0, decided_at: now })))
    .onConflict((oc) => oc.columns(['tenant_id', 'kind', 'window_start']).doNothing())
    .returning('tenant_id')
    .execute();
  return rows.map((r) => r.tenant_id);
}

/**
 * purgeDecidedWindows forgets windows decided before a time. Only the latest window of each kind
 * matters to the scheduler, and one is decided at least daily, so old rows are only history.
 */
export async function purgeDecidedWindows(db: Db, decidedBefore: number): Promise<number> {
  const result = await db.deleteFrom('report_windows').where('decided_at', '<', decidedBefore).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * decideWindow decides one summary or daily window of a tenant in ONE transaction: it records
 * the window (the unique (tenant, kind, start) key lets only one instance win it; the loser
 * returns undefined and enqueues nothing) and queues one delivery per recipient who gets it
 * (counting only the alerts no mute covering that recipient matches), streaming the recipients a page at a time. A crash before commit leaves nothing decided and the
 * window is decided again; after commit the deliveries are in the outbox and will be sent.
 */
export async function decideWindow(
  storage: Storage,
  tenant: ReportTenant,
  kind: 'summary' | 'daily',
  window: Window,
  settings: ReportSettings,
  clock: Clock,
): Promise<number | undefined> {
  return storage.db.transaction().execute(async (tx) => {
    const claimed = await tx
      .insertInto('report_windows')
      .values({ tenant_id: tenant.id, kind, window_start: window.start, window_end: window.end, deliveries: 0, decided_at: clock.now() })
      .onConflict((oc) => oc.columns(['tenant_id', 'kind', 'window_start']).doNothing())
      .executeTakeFirst();
    if (Number(claimed.numInsertedOrUpdatedRows ?? 0n) === 0) return undefined;
    if (!settings.alertsEmailEnabled) return 0;
    const now = clock.now();
    const mutes = await activeMutes(tx, tenant.id, now);
    // Mutes may match some sources of an event and not others: only then are sources counted apart.
    const counts = mutes.length === 0 ? eventCounts : sourcedEventCounts;
    const events = await counts(tx, tenant.id, window, kind === 'summary' ? 'Error' : undefined);
    // Nobody gets a report of an empty window, so the recipients need not even be read.
    if (events.length === 0 && !(kind === 'daily' && settings.sendEmptyDailyReport)) return 0;
    let queued = 0;
    for await (const page of recipientPages(tx, tenant)) {
      const rows = page
        .filter((r) => getsWindowReport(r, kind, unmutedFor(events, mutes, r, now), settings.sendEmptyDailyReport))
        .map((r) => windowDelivery(tenant.id, kind, window, r));
      queued += await enqueueDeliveries(tx, rows, clock);
    }
    await tx
      .updateTable('report_windows')
      .set({ deliveries: queued })
      .where('tenant_id', '=', tenant.id)
      .where('kind', '=', kind)
      .where('window_start', '=', window.start)
      .execute();
    return queued;
  });
}

/**
 * decideImmediate queues the immediate email of each new Fatal flood for every recipient who
 * opted in, subscribes to its event and has no mute matching it, and in the same transaction
 * forgets the decided alerts as undecided. The idempotency key (flood, address) makes deciding the
 * same flood again, after a restart or on another instance, queue nothing more.
 */
export async function decideImmediate(
  storage: Storage,
  tenant: ReportTenant,
  floods: readonly FatalFlood[],
  clock: Clock,
  decidedAlertIds: readonly string[],
): Promise<number> {
  return storage.db.transaction().execute(async (tx) => {
    const queued = await enqueueDeliveries(tx, await immediateRows(tx, tenant, floods, clock.now()), clock);
    await forgetUndecided(tx, tenant.id, decidedAlertIds);
    return queued;
  });
}

/**
 * immediateRows lists the outbox rows of the immediate emails of some Fatal floods: one per flood
 * and recipient who opted in, subscribes to its event and has no mute matching it. The caller
 * queues them in the transaction it read them in.
 */
export async function immediateRows(tx: Db, tenant: ReportTenant, floods: readonly FatalFlood[], now: number): Promise<NewDelivery[]> {
  const mutes = await activeMutes(tx, tenant.id, now);
  const rows: NewDelivery[] = [];
  for await (const page of recipientPages(tx, tenant)) {
    for (const r of page) for (const f of floods) if (getsImmediate(r, f) && !isMutedFor(mutes, f, r, now)) rows.push(immediateDelivery(tenant.id, f, r));
  }
  return rows;
}

/** forgetUndecided marks some Fatal alerts of a tenant decided: the sweep for lost decisions no longer finds them. */
export async function forgetUndecided(db: Db, tenantId: string, alertIds: readonly string[]): Promise<void> {
  if (alertIds.length === 0) return;
  await db.deleteFrom('undecided_fatal_alerts').where('tenant_id', '=', tenantId).where('alert_id', 'in', alertIds).execute();
}
