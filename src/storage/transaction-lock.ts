import { PostgresAdapter, sql } from 'kysely';
import type { Db } from './database.js';

/**
 * lockTransactionOn makes the transaction `tx` wait for, then hold until it ends, a lock on `name`
 * (PostgreSQL's advisory transaction lock): a read-then-write under it cannot interleave with
 * another's of the same name, which READ COMMITTED lets happen. On SQLite, where a transaction that
 * writes holds the one write lock from its start, there is nothing to take.
 */
export async function lockTransactionOn(tx: Db, name: string): Promise<void> {
  if (onPostgres(tx)) await sql`select pg_advisory_xact_lock(hashtextextended(${name}, 0))`.execute(tx);
}

/**
 * onPostgres tells whether `tx` runs on PostgreSQL, whose row locks (FOR NO KEY UPDATE) a transaction
 * takes itself; SQLite has none to take, a transaction that writes holding the database from its start.
 */
export function onPostgres(tx: Db): boolean {
  return tx.getExecutor().adapter instanceof PostgresAdapter;
}
