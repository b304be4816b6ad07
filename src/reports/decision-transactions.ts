import { CompiledQuery } from 'kysely';
import { type NewDelivery, enqueueDeliveries, enqueueDeliveriesPerTenant } from '../delivery/outbox/enqueue.js';
import { type Mute, endedMuteBounds, isMutedFor, unmutedFor, windowMuteInstant, windowMutes } from '../mutes/model.js';
import { activeMutes, windowMutesOf } from '../mutes/store.js';
import type { Recipient } from '../recipients/eligibility.js';
import { recipientPages, recipientPagesOf } from '../recipients/query.js';
import { multiMap } from '../shared/multi-map.js';
import type { Clock } from '../shared/clock.js';
import type { Db } from '../storage/database.js';
import { classifyDbError } from '../storage/errors.js';
import { sqlOnce } from '../storage/sql-once.js';
import type { Storage } from '../storage/storage.js';
import { type EventCount, type FatalFlood, eventCountsOf, sourcedEventCountsOf } from './alert-facts.js';
import { getsImmediate, getsWindowReport, immediateDelivery, windowDelivery } from './recipient-rules.js';
import type { Window } from './windows.js';

/** ReportSettings are the parts of a tenant's mail settings that decide its alert emails. */
export interface ReportSettings {
  readonly alertsEmailEnabled: boolean;
  /** `HH:MM` or `HH:MM:SS` in the tenant's time zone. */
  readonly dailyReportTime: string;
  /** When dailyReportTime or the tenant's time zone was last changed (ms; 0 or absent: never): see dailyWindowIfDue. */
  readonly dailyReportTimeChangedAt?: number;
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
  // Read in every group commit that stores Fatal alerts: compiled once per id count.
  const text = sqlOnce(db, `reportTenants ${ids.length}`, () =>
    db.selectFrom('tenants').select(['id', 'name', 'language', 'time_zone', 'created_at']).where('id', 'in', ids),
  );
  const { rows } = await db.executeQuery<{ id: string; name: string; language: string; time_zone: string; created_at: number | string }>(
    CompiledQuery.raw(text, [...ids]),
  );
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
 * recordWindows records some tenants' windows of a kind as decided (no deliveries yet), by one
 * insert: alone, for windows known to hold no alert that anyone could be mailed about (nothing is
 * queued for them, so they need no transaction of their own); or as the first step of deciding
 * them. The primary key lets one instance win each; the tenants whose window this call recorded
 * are returned.
 */
async function recordWindows(
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
 * recordQuietWindows is recordWindows outside a transaction, for the windows without alerts of
 * some tenants, any of which may be deleted meanwhile: the row of a deleted tenant's window failed
 * the whole insert on its foreign key, and with it every other tenant's of the claim (looked at
 * again only once its lease ran out, a minute later, with an error logged). Refused so, it records
 * the windows of the tenants still there.
 */
export async function recordQuietWindows(
  db: Db,
  kind: 'summary' | 'daily',
  windows: readonly { readonly tenantId: string; readonly window: Window }[],
  now: number,
): Promise<string[]> {
  let left = windows;
  for (;;) {
    try {
      return await recordWindows(db, kind, left, now);
    } catch (err) {
      if (classifyDbError(err) !== 'foreign-key') throw err;
      const live = await liveTenants(
        db,
        left.map((w) => w.tenantId),
        false,
      );
      if (live.size === left.length) throw err;
      left = left.filter((w) => live.has(w.tenantId));
    }
  }
}

/**
 * liveTenants reads which of some tenants exist; with `lock` (PostgreSQL, in a transaction) it
 * keeps them so until the transaction ends, taking the lock a foreign key's check takes (FOR KEY
 * SHARE) in one order. SQLite's transactions hold the database from their start.
 */
async function liveTenants(db: Db, ids: readonly string[], lock: boolean): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const query = db.selectFrom('tenants').select('id').where('id', 'in', ids).orderBy('id');
  const rows = await (lock ? query.forKeyShare() : query).execute();
  return new Set(rows.map((r) => r.id));
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
 * decideWindow decides one summary or daily window of a tenant in ONE transaction (decideWindows
 * of one): undefined when another instance had decided it, else how many deliveries it queued.
 */
export async function decideWindow(
  storage: Storage,
  tenant: ReportTenant,
  kind: 'summary' | 'daily',
  window: Window,
  settings: ReportSettings,
  clock: Clock,
): Promise<number | undefined> {
  return (await decideWindows(storage, kind, [{ tenant, window, settings }], clock)).get(tenant.id);
}

/** WindowDecision is one tenant's window to decide, with the settings that decide it. */
export interface WindowDecision {
  readonly tenant: ReportTenant;
  readonly window: Window;
  readonly settings: ReportSettings;
}

/**
 * decideWindows decides one summary or daily window of each of some tenants in ONE transaction,
 * by set-based queries over the tenants together (their mutes, alert counts, access facts,
 * recipients and preferences read for all at once, the deliveries inserted in bulk). It records
 * each window (the unique (tenant, kind, start) key lets only one instance win it: a window
 * another instance won queues nothing here) and queues one delivery per recipient who gets it
 * (counting only the alerts no mute covering that recipient matches); the deliveries' unique
 * idempotency keys make a second insert of one a no-op. Each tenant is judged by its own window,
 * settings, language and time zone, as alone. A crash before commit leaves nothing decided and the
 * windows are decided again; after commit the deliveries are in the outbox and will be sent.
 * Returns, for each window this call won, how many deliveries it queued.
 */
export async function decideWindows(
  storage: Storage,
  kind: 'summary' | 'daily',
  decisions: readonly WindowDecision[],
  clock: Clock,
): Promise<Map<string, number>> {
  if (decisions.length === 0) return new Map();
  // In one order, so that two instances deciding overlapping batches wait for each other instead of deadlocking.
  const ordered = [...decisions].sort((a, b) => (a.tenant.id < b.tenant.id ? -1 : a.tenant.id > b.tenant.id ? 1 : 0));
  return storage.db.transaction().execute(async (tx) => {
    // A tenant deleted since it was read is left out: its rows failed the whole batch on their
    // foreign keys, each tenant was then decided alone, and its own failure logged as an error.
    const live = await liveTenants(
      tx,
      ordered.map((d) => d.tenant.id),
      storage.dialect === 'postgres',
    );
    const sorted = ordered.filter((d) => live.has(d.tenant.id));
    const won = await recordWindows(
      tx,
      kind,
      sorted.map((d) => ({ tenantId: d.tenant.id, window: d.window })),
      clock.now(),
    );
    const queued = new Map(won.map((id) => [id, 0]));
    const mailing = sorted.filter((d) => queued.has(d.tenant.id) && d.settings.alertsEmailEnabled);
    if (mailing.length === 0) return queued;
    const now = clock.now();
    // Each window's mutes as at its last instant, or now if earlier (windowMuteInstant), and those
    // that ended inside it, which still cover the alerts stored while they were in force; a tenant none
    // applies to is left out.
    const mutedAt = new Map(mailing.map((d) => [d.tenant.id, windowMuteInstant(d.window, now)]));
    const startOf = new Map(mailing.map((d) => [d.tenant.id, d.window.start]));
    const inWindow = await windowMutesOf(
      tx,
      mailing.map((d) => d.tenant.id),
      Math.min(...startOf.values()),
    );
    const mutes = new Map(
      [...inWindow].flatMap(([tenantId, all]) => {
        const kept = windowMutes(all, { start: startOf.get(tenantId)! }, mutedAt.get(tenantId)!);
        return kept.length > 0 ? [[tenantId, kept] as const] : [];
      }),
    );
    const events = await windowEvents(tx, kind, mailing, mutes, mutedAt);
    // Nobody gets a report of an empty window, so the recipients of those need not even be read.
    const reading = new Map(
      mailing.flatMap((d) => ((events.get(d.tenant.id)?.length ?? 0) > 0 || (kind === 'daily' && d.settings.sendEmptyDailyReport) ? [[d.tenant.id, d]] : [])),
    );
    for await (const page of recipientPagesOf(
      tx,
      [...reading.values()].map((d) => d.tenant),
    )) {
      const rows = [...page].flatMap(([tenantId, recipients]) => {
        const { window, settings } = reading.get(tenantId)!;
        const tenantEvents = events.get(tenantId) ?? [];
        const tenantMutes = mutes.get(tenantId) ?? [];
        return recipients
          .filter((r) => getsWindowReport(r, kind, unmutedFor(tenantEvents, tenantMutes, r, mutedAt.get(tenantId)!), settings.sendEmptyDailyReport))
          .map((r) => windowDelivery(tenantId, kind, window, r));
      });
      for (const [tenantId, n] of await enqueueDeliveriesPerTenant(tx, rows, clock)) queued.set(tenantId, queued.get(tenantId)! + n);
    }
    const windowOf = new Map(mailing.map((d) => [d.tenant.id, d.window]));
    // One update per distinct count (most tenants queue the same few numbers), not one per tenant.
    for (const [deliveries, ids] of multiMap([...queued].flatMap(([id, n]) => (n > 0 ? [[n, id] as const] : [])))) {
      await tx
        .updateTable('report_windows')
        .set({ deliveries })
        .where('kind', '=', kind)
        .where((eb) =>
          eb(
            eb.refTuple('tenant_id', 'window_start'),
            'in',
            ids.map((id) => eb.tuple(id, windowOf.get(id)!.start)),
          ),
        )
        .execute();
    }
    return queued;
  });
}

/**
 * windowEvents counts the alerts of each tenant's window that its reports are about (Fatal and Error
 * for the summary, all for the daily report), one query per distinct window: split by source for
 * the tenants whose mutes may match some of an event's alerts and not others. A tenant with a mute
 * that ended inside its window (rare) is counted alone, split also where those were made and ended (endedMuteBounds).
 */
async function windowEvents(
  db: Db,
  kind: 'summary' | 'daily',
  decisions: readonly WindowDecision[],
  mutes: ReadonlyMap<string, readonly Mute[]>,
  mutedAt: ReadonlyMap<string, number>,
): Promise<Map<string, EventCount[]>> {
  const minSeverity = kind === 'summary' ? 'Error' : undefined;
  const events = new Map<string, EventCount[]>();
  const endsOf = new Map(
    [...mutes].flatMap(([id, all]) => {
      const ends = endedMuteBounds(all, mutedAt.get(id)!);
      return ends.length > 0 ? [[id, ends] as const] : [];
    }),
  );
  for (const group of multiMap(decisions.map((d) => [`${d.window.start}-${d.window.end}`, d] as const)).values()) {
    const window = group[0]!.window;
    const muted = group.filter((d) => mutes.has(d.tenant.id) && !endsOf.has(d.tenant.id)).map((d) => d.tenant.id);
    const plain = group.filter((d) => !mutes.has(d.tenant.id)).map((d) => d.tenant.id);
    for (const [id, counts] of await eventCountsOf(db, plain, window, minSeverity)) events.set(id, counts);
    for (const [id, counts] of await sourcedEventCountsOf(db, muted, window, minSeverity)) events.set(id, counts);
    for (const d of group.filter((d) => endsOf.has(d.tenant.id))) {
      for (const [id, counts] of await sourcedEventCountsOf(db, [d.tenant.id], window, minSeverity, endsOf.get(d.tenant.id))) events.set(id, counts);
    }
  }
  return events;
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
  for await (const page of recipientPages(tx, tenant)) rows.push(...immediateRowsOf(tenant.id, floods, page, mutes, now));
  return rows;
}

/** immediateRowsOf lists the outbox rows of some Fatal floods for some of the tenant's recipients, given its mutes in force. */
export function immediateRowsOf(
  tenantId: string,
  floods: readonly FatalFlood[],
  recipients: readonly Recipient[],
  mutes: readonly Mute[],
  now: number,
): NewDelivery[] {
  const rows: NewDelivery[] = [];
  for (const r of recipients) {
    for (const f of floods) {
      // The flood's first alert this reader gets: a snoozed robot's leaves the next robot's.
      const alert = f.alerts.find((a) => getsImmediate(r, a) && !isMutedFor(mutes, a, r, now));
      if (alert) rows.push(immediateDelivery(tenantId, { groupId: f.groupId, alertId: alert.alertId }, r));
    }
  }
  return rows;
}

/** forgetUndecided marks some Fatal alerts of a tenant decided: the sweep for lost decisions no longer finds them. */
export async function forgetUndecided(db: Db, tenantId: string, alertIds: readonly string[]): Promise<void> {
  if (alertIds.length === 0) return;
  await db.deleteFrom('undecided_fatal_alerts').where('tenant_id', '=', tenantId).where('alert_id', 'in', alertIds).execute();
}
