import { sql } from 'kysely';
import type { Db } from '../../src/storage/database.js';
import { until } from './until.js';

/**
 * whileWriting runs `request` while another transaction has made `write` and not yet committed it
 * (PostgreSQL: the request's own write waits on those rows, then finds them deleted or its key
 * taken), and returns its answer. SQLite takes one writer at a time, so there the write simply
 * comes first.
 */
export async function whileWriting<T>(dialect: string, db: Db, write: (tx: Db) => Promise<unknown>, request: () => Promise<T>): Promise<T> {
  if (dialect === 'sqlite') {
    await write(db);
    return request();
  }
  let answer!: Promise<T>;
  await db.transaction().execute(async (tx) => {
    await write(tx);
    ({ answer } = await startBlocked(db, tx, request, "the request's write waiting on the uncommitted one"));
  });
  return answer;
}

/**
 * startBlocked starts `request` while `tx` holds what it has written (PostgreSQL), and once the
 * request waits on `tx`'s locks (or, should it not touch them, has its answer) gives back that
 * answer, still to come: what `tx` does next happens while the request waits.
 */
export async function startBlocked<T>(db: Db, tx: Db, request: () => Promise<T>, what: string): Promise<{ answer: Promise<T> }> {
  const writer = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx)).rows[0]!.pid;
  let settled = false;
  const answer = request().finally(() => (settled = true));
  await until(
    async () =>
      settled ||
      (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where ${writer} = any(pg_blocking_pids(pid))`.execute(db)).rows[0]!.n > 0,
    what,
  );
  return { answer };
}

/** whileDeleting is whileWriting of the deletion of the row `id` of `table`. */
export function whileDeleting<T>(dialect: string, db: Db, table: 'users' | 'groups' | 'tenants' | 'alerts', id: string, request: () => Promise<T>): Promise<T> {
  return whileWriting(dialect, db, (tx) => tx.deleteFrom(table).where('id', '=', id).execute(), request);
}
