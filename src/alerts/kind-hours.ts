import { CompiledQuery, type Kysely } from 'kysely';
import type { Database, Db } from '../storage/database.js';
import { inListOf, sqlOnce } from '../storage/sql-once.js';
import type { NewAlert } from './input.js';
import { severityRank } from './severity.js';

/**
 * The hours of alert_kind_hours (migration 20261207-70-alerts-kind-hours): for each hour in which a
 * tenant stored alerts, the kinds (severity, component, event) of those alerts. A list filtered on a
 * kind walks only the hours that hold one (walkKindHours), where it walked the tenant's whole list
 * newest first (GET /alerts?event=… matching few or no alerts: 0.6-2.2 s at a million alerts). The
 * rows are written with the alerts (a row per kind and hour, not per alert) and only ever removed
 * by retention and a tenant's deletion, after the alerts of their hour: so every stored alert's kind
 * and hour has its row, and an hour without a row holds none of that kind.
 */

/** HOUR_MS is the length of an hour of alert_kind_hours: an alert's hour is created_at / HOUR_MS, rounded down. */
export const HOUR_MS = 3_600_000;

/** hourOf is the hour of alert_kind_hours that an instant (epoch ms, positive) falls in. */
export function hourOf(at: number): number {
  return Math.floor(at / HOUR_MS);
}

/** AlertKind is one row's kind: a severity's rank, a component and an event. */
export interface AlertKind {
  readonly severity: number;
  readonly component: string;
  readonly event: string;
}

/** kindKey names a kind in one string: \u0000 cannot be part of a component or an event (validated names), so it is unambiguous. */
function kindKey(kind: AlertKind): string {
  return `${kind.severity}\u0000${kind.component}\u0000${kind.event}`;
}

/** alertKinds are the distinct kinds of a commit's alerts, in the order they first come: the rows a commit writes for its hour. */
export function alertKinds(alerts: readonly NewAlert[]): AlertKind[] {
  const kinds = new Map<string, AlertKind>();
  for (const a of alerts) {
    const kind = { severity: severityRank(a.severity), component: a.component, event: a.event };
    const key = kindKey(kind);
    if (!kinds.has(key)) kinds.set(key, kind);
  }
  return [...kinds.values()];
}

/**
 * CommittedKinds remembers, in one process, the kinds of each tenant whose row of the current hour
 * its commits made durable, so that a commit writes only the others: on PostgreSQL each kind of a
 * commit was a probe in the insert's CTE (bench:ingest's commits hold up to 50 kinds: +6.5 CPU-ms
 * of the backends per 1,000 alerts), on SQLite a row of its insert. A kind is remembered once its
 * commit has committed, never before: a commit rolled back leaves no row. Nothing removes the row of
 * the current hour while it is remembered (retention deletes hours that ended a day or more ago, a
 * tenant's deletion ends its alerts). It holds one hour, forgotten when a commit of a later hour comes.
 */
export class CommittedKinds {
  private hour = Number.NEGATIVE_INFINITY;
  private readonly byTenant = new Map<string, Set<string>>();

  /** unknown are the kinds of `kinds` that no commit of `now`'s hour was remembered writing for the tenant. */
  unknown(tenantId: string, now: number, kinds: readonly AlertKind[]): readonly AlertKind[] {
    const known = hourOf(now) === this.hour ? this.byTenant.get(tenantId) : undefined;
    return known ? kinds.filter((kind) => !known.has(kindKey(kind))) : kinds;
  }

  /** remember is told the kinds a commit wrote for the tenant in `now`'s hour, once that commit has committed. */
  remember(tenantId: string, now: number, kinds: readonly AlertKind[]): void {
    const hour = hourOf(now);
    if (hour < this.hour || kinds.length === 0) return;
    if (hour > this.hour) {
      this.hour = hour;
      this.byTenant.clear();
    }
    let known = this.byTenant.get(tenantId);
    if (!known) this.byTenant.set(tenantId, (known = new Set()));
    for (const kind of kinds) known.add(kindKey(kind));
  }
}

/**
 * recordKindHours inserts a commit's kinds for its hour on SQLite (PostgreSQL's alerts insert writes
 * them in its own statement), inside the alerts' transaction. One statement, its rows padded to a
 * power of two by repeating the last (a repeat is a conflict, done nothing), so it has a few shapes.
 */
export async function recordKindHours(tx: Db, tenantId: string, kinds: readonly AlertKind[], now: number): Promise<void> {
  if (kinds.length === 0) return;
  const rows = inListOf(kinds);
  const params: unknown[] = [];
  const hour = hourOf(now);
  for (const k of rows) params.push(tenantId, hour, k.severity, k.component, k.event);
  const text = sqlOnce(tx, `kind hours ${rows.length}`, () => {
    const row = { tenant_id: '', hour: 0, severity: 0, component: '', event: '' };
    return (tx as Kysely<Database>)
      .insertInto('alert_kind_hours')
      .values(Array.from({ length: rows.length }, () => row))
      .onConflict((oc) => oc.doNothing());
  });
  await tx.executeQuery(CompiledQuery.raw(text, params));
}

/** KindFilter is the part of a list's filter that alert_kind_hours answers. */
export interface KindFilter {
  /** A rank: that severity and every one above it. */
  readonly minSeverity?: number | undefined;
  readonly component?: string | undefined;
  readonly event?: string | undefined;
}

/** narrowsKinds holds when a filter leaves some kind out, so that the hours holding its kinds may be fewer than the tenant's. */
export function narrowsKinds(filter: KindFilter): boolean {
  return filter.component !== undefined || filter.event !== undefined || (filter.minSeverity !== undefined && filter.minSeverity > 0);
}

/** A run of consecutive hours, as the instants [from, to) it covers. */
export interface HourRun {
  readonly from: number;
  readonly to: number;
}

/** hourRuns joins hours given newest first into runs of consecutive hours, newest first. */
export function hourRuns(hours: readonly number[]): HourRun[] {
  const runs: HourRun[] = [];
  let newest: number | undefined;
  let oldest = 0;
  for (const hour of hours) {
    if (newest !== undefined && hour === oldest - 1) {
      oldest = hour;
      continue;
    }
    if (newest !== undefined) runs.push({ from: oldest * HOUR_MS, to: (newest + 1) * HOUR_MS });
    newest = hour;
    oldest = hour;
  }
  if (newest !== undefined) runs.push({ from: oldest * HOUR_MS, to: (newest + 1) * HOUR_MS });
  return runs;
}

/** HOURS_PER_READ is how many hours walkKindHours reads at a time: a page's worth in most lists, a few KiB. */
const HOURS_PER_READ = 256;

/**
 * walkKindHours pages through a tenant's alerts of a filter's kinds, newest first, hour run by hour
 * run: it reads the hours holding such alerts (newest first, from `newest` down to `oldest`, instants
 * inclusive, either open) and asks `page` for up to `want` alerts of each run in turn, newest run
 * first, until it has `want` or the hours run out. `page` answers a run's alerts newest first, as
 * the list would, so the concatenation is the list's order; its answer is what the whole walk of
 * the tenant's alerts would have found.
 */
export async function walkKindHours<T>(
  db: Db,
  tenantId: string,
  filter: KindFilter,
  span: { readonly newest?: number | undefined; readonly oldest?: number | undefined },
  want: number,
  page: (run: HourRun, count: number) => Promise<T[]>,
): Promise<T[]> {
  const found: T[] = [];
  let below = span.newest === undefined ? undefined : hourOf(span.newest);
  const lowest = span.oldest === undefined ? undefined : hourOf(span.oldest);
  for (;;) {
    let query = db.selectFrom('alert_kind_hours').select('hour').distinct().where('tenant_id', '=', tenantId);
    if (below !== undefined) query = query.where('hour', '<=', below);
    if (lowest !== undefined) query = query.where('hour', '>=', lowest);
    if (filter.minSeverity !== undefined) query = query.where('severity', '>=', filter.minSeverity);
    if (filter.component !== undefined) query = query.where('component', '=', filter.component);
    if (filter.event !== undefined) query = query.where('event', '=', filter.event);
    const hours = (await query.orderBy('hour', 'desc').limit(HOURS_PER_READ).execute()).map((row) => Number(row.hour));
    for (const run of hourRuns(hours)) {
      found.push(...(await page(run, want - found.length)));
      if (found.length >= want) return found;
    }
    if (hours.length < HOURS_PER_READ) return found;
    below = hours[hours.length - 1]! - 1;
  }
}
