import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../../src/storage/dialect.js';
import type { Database } from '../../src/storage/database.js';
import { until } from './until.js';

/**
 * waitingBehindFloor resolves once `waiter` (a scheduler's tick, a mark of all alerts read) waits
 * for a commit that holds the alert time floor, or once it is over: on PostgreSQL its request of
 * the floor's lock shows in pg_locks, not granted. On SQLite its turn on the one connection, or
 * its write from another process, cannot come before the commit: nothing to wait for.
 */
export function waitingBehindFloor(dialect: Dialect, db: Kysely<Database>, waiter: Promise<unknown>, what: string): Promise<void> {
  if (dialect !== 'postgres') return Promise.resolve();
  let over = false;
  waiter.then(
    () => (over = true),
    () => (over = true),
  );
  const waiting = sql<{ n: number }>`select count(*)::int as n from pg_locks
    where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())`;
  return until(async () => over || (await waiting.execute(db)).rows[0]!.n > 0, what);
}
