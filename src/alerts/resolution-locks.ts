import { CompiledQuery, PostgresAdapter } from 'kysely';
import type { Db } from '../storage/database.js';
import { serverPrepared } from '../storage/pg-prepared.js';
import type { NewAlert } from './input.js';

/**
 * A Success resolves its dedup key's flood, and the key's next alert that is not a Success starts a
 * new one (writeAlerts). On PostgreSQL a commit that reads the key's flood while another, of another
 * process, has stored the key's Success and not yet committed reads the flood unresolved: a fresh
 * flood is joined without its key's lock, so a Fatal alert stored after the Success joined the
 * resolved flood as a repeat, and its reader got no immediate email for what was a new incident.
 * So every transaction that stores alerts with dedup keys takes, before it reads their floods, a
 * resolution lock per key: exclusive for a key it stores a Success of, else shared. A commit of
 * Fatal alerts then waits for a commit of their key's Success under way, and reads its flood
 * resolved; a commit of a Success waits for the commits of that key's other alerts under way, and
 * stores its Success after them. Commits without a Success never wait for each other. Within one
 * process the group commit holds back the batches of the keys its commit under way resolves
 * (ingest.ts), so they do not wait here.
 */

/**
 * The first of the two integer keys of every resolution lock: PostgreSQL keeps advisory locks of
 * two integers apart from those of one bigint (the floods' and the time floor's), so no resolution
 * lock can be one of theirs.
 */
const RESOLUTION_LOCK_SPACE = 1_919_906_931;

/**
 * Keys share RESOLUTION_LOCK_BUCKETS locks (a hash of tenant and key), so that a commit of
 * thousands of keys holds at most this many until it ends, in PostgreSQL's shared lock table
 * (max_locks_per_transaction, 64 per connection by default). Two keys sharing a lock only make a
 * commit of a Success wait for a commit it need not have waited for.
 */
export const RESOLUTION_LOCK_BUCKETS = 1_024;

/** ResolutionLocks are the locks a transaction takes: buckets in ascending order, each exclusive or shared. */
export interface ResolutionLocks {
  readonly buckets: readonly number[];
  readonly exclusive: readonly boolean[];
}

/**
 * resolutionLocks lists the resolution locks that storing these batches takes, undefined when none
 * of their alerts has a dedup key: one per key's bucket, exclusive where one of the key's alerts
 * (or of another key of that bucket) is a Success. Ascending, the order every transaction takes
 * them in, so that two never wait for each other.
 */
export function resolutionLocks(batches: Iterable<{ readonly tenantId: string; readonly alerts: readonly NewAlert[] }>): ResolutionLocks | undefined {
  const locks = new Map<number, boolean>();
  for (const { tenantId, alerts } of batches) {
    for (const alert of alerts) {
      if (alert.dedupKey === null) continue;
      const bucket = resolutionBucket(tenantId, alert.dedupKey);
      locks.set(bucket, locks.get(bucket) === true || alert.severity === 'Success');
    }
  }
  if (locks.size === 0) return undefined;
  const buckets = [...locks.keys()].sort((a, b) => a - b);
  return { buckets, exclusive: buckets.map((bucket) => locks.get(bucket)!) };
}

/** resolutionBucket is the lock of a tenant's dedup key: FNV-1a of both, in RESOLUTION_LOCK_BUCKETS. */
export function resolutionBucket(tenantId: string, dedupKey: string): number {
  let hash = 0x811c9dc5;
  const text = `${tenantId}\n${dedupKey}`;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % RESOLUTION_LOCK_BUCKETS;
}

/**
 * floodLockName names a dedup key's flood lock (store.ts, lockFloods): its tenant and its bucket of
 * the tenant's (resolutionBucket), so that a commit holds at most RESOLUTION_LOCK_BUCKETS of one
 * tenant's, and different tenants never share one.
 */
export function floodLockName(tenantId: string, dedupKey: string): string {
  return `${tenantId}:${resolutionBucket(tenantId, dedupKey)}`;
}

/** The statement that takes the locks, given SQL for the array of buckets and that of their modes; one lock after the other, in ascending order. */
const lockSql = (buckets: string, exclusive: string) =>
  `select count(case when x then pg_advisory_xact_lock(${RESOLUTION_LOCK_SPACE}, b) else pg_advisory_xact_lock_shared(${RESOLUTION_LOCK_SPACE}, b) end) as locked ` +
  `from (select b, x from unnest(${buckets}::integer[], ${exclusive}::boolean[]) as l(b, x) order by b) as ordered`;

/** lockResolutions' statement: one text whatever the locks, prepared once per connection. */
const LOCK_RESOLUTIONS_SQL = serverPrepared(lockSql('$1', '$2'));

/**
 * resolutionLocksSql is the statement that takes `locks` with them written in it (integers and
 * booleans only), for a query of several statements, which takes no parameters (time-floor.ts).
 */
export function resolutionLocksSql(locks: ResolutionLocks): string {
  return lockSql(`'{${locks.buckets.join(',')}}'`, `'{${locks.exclusive.map((x) => (x ? 't' : 'f')).join(',')}}'`);
}

/**
 * lockResolutions takes the resolution locks of a tenant's alerts in the transaction `tx`
 * (PostgreSQL; SQLite's one writer at a time orders the commits already), with a statement of its
 * own: for the writers that did not take them as their transaction began (the group commit does).
 */
export async function lockResolutions(tx: Db, tenantId: string, alerts: readonly NewAlert[]): Promise<void> {
  if (!(tx.getExecutor().adapter instanceof PostgresAdapter)) return;
  const locks = resolutionLocks([{ tenantId, alerts }]);
  if (locks) await tx.executeQuery(CompiledQuery.raw(LOCK_RESOLUTIONS_SQL, [locks.buckets, locks.exclusive]));
}
