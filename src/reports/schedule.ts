import { CompiledQuery, sql } from 'kysely';
import type { Db } from '../storage/database.js';
import { sqlOnce } from '../storage/sql-once.js';
import type { Storage } from '../storage/storage.js';

/** ScheduledKind is a kind of report window the scheduler decides. */
export type ScheduledKind = 'summary' | 'daily';

const KINDS: readonly ScheduledKind[] = ['summary', 'daily'];

/** DueReport is one (tenant, kind) whose windows a scheduler claimed to look at now. */
export interface DueReport {
  readonly tenantId: string;
  readonly kind: ScheduledKind;
}

/**
 * reportsDueNow makes the next scheduler tick look at a tenant's summary and daily windows. Call it
 * when a tenant is created and when what decides its windows changes (time zone, report time,
 * alert emails on or off); a scheduler deciding it at that moment keeps the change (see rescheduleReports).
 */
export async function reportsDueNow(db: Db, tenantId: string): Promise<void> {
  await db
    .insertInto('report_schedule')
    .values(KINDS.map((kind) => ({ tenant_id: tenantId, kind, due_at: 0 })))
    .onConflict((oc) => oc.columns(['tenant_id', 'kind']).doUpdateSet({ due_at: 0 }))
    .execute();
}

/**
 * prepareSchedule runs when a scheduler starts: tenants without rows (created before the schedule
 * existed, or by a path that did not call reportsDueNow) become due now, and so do summaries due
 * later than one interval can explain (the interval was shortened, or the clock went back).
 */
export async function prepareSchedule(db: Db, latestSummaryDue: number): Promise<void> {
  await scheduleUnscheduledTenants(db);
  await db.updateTable('report_schedule').set({ due_at: 0 }).where('kind', '=', 'summary').where('due_at', '>', latestSummaryDue).execute();
}

/**
 * scheduleUnscheduledTenants makes tenants without rows due now: those created before the schedule
 * existed, or, during a rolling upgrade, by a process of an older version (which also saves their
 * settings without calling reportsDueNow).
 */
export async function scheduleUnscheduledTenants(db: Db): Promise<void> {
  for (const kind of KINDS) {
    await db
      .insertInto('report_schedule')
      .columns(['tenant_id', 'kind', 'due_at'])
      // `where 1 = 1` tells SQLite's parser that `on conflict` belongs to the insert, not to a join.
      .expression(
        db
          .selectFrom('tenants')
          .select(['id', sql.lit(kind).as('kind'), sql.lit(0).as('due_at')])
          .where(sql<boolean>`1 = 1`),
      )
      .onConflict((oc) => oc.columns(['tenant_id', 'kind']).doNothing())
      .execute();
  }
}

/**
 * claimDueReports takes up to `limit` (tenant, kind) pairs due at `now`, setting their due time to
 * `lease` so that other schedulers pass them by while this one decides (on PostgreSQL rows another
 * scheduler is claiming are skipped, not waited for). A scheduler that dies leaves them due again
 * when the lease ends; one that finishes sets the next due time. One indexed query, however many tenants.
 */
export async function claimDueReports(storage: Storage, now: number, lease: number, limit: number): Promise<DueReport[]> {
  // Built and compiled once (sqlOnce): the scheduler claims every tick, busy or idle, on the main thread.
  const text = sqlOnce(storage.db, 'claimDueReports', () =>
    storage.db
      .updateTable('report_schedule')
      .set({ due_at: lease })
      .where(({ eb, refTuple, selectFrom }) => {
        let due = selectFrom('report_schedule').select(['tenant_id', 'kind']).where('due_at', '<=', now).orderBy('due_at').limit(limit);
        if (storage.dialect === 'postgres') due = due.forUpdate().skipLocked();
        return eb(refTuple('tenant_id', 'kind'), 'in', due.$asTuple('tenant_id', 'kind'));
      })
      .returning(['tenant_id', 'kind']),
  );
  const { rows } = await storage.db.executeQuery<{ tenant_id: string; kind: string }>(CompiledQuery.raw(text, [lease, now, limit]));
  return rows.map((r) => ({ tenantId: r.tenant_id, kind: r.kind as ScheduledKind }));
}

/**
 * rescheduleReports sets when some claimed (tenant, kind) pairs are next due, except those whose
 * row changed since the claim (reportsDueNow, or another scheduler after the lease ran out): that
 * change wins.
 */
export async function rescheduleReports(db: Db, kind: ScheduledKind, tenantIds: readonly string[], lease: number, dueAt: number): Promise<void> {
  if (tenantIds.length === 0) return;
  await db
    .updateTable('report_schedule')
    .set({ due_at: dueAt })
    .where('kind', '=', kind)
    .where('tenant_id', 'in', tenantIds)
    .where('due_at', '=', lease)
    .execute();
}
