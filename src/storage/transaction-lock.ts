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

/**
 * holdTenantKey takes a tenant's key (FOR KEY SHARE, PostgreSQL) before the rows a transaction
 * writes that a tenant's deletion cascades to: a row it writes next checks that key, and a deletion
 * holding it waited, by its cascade, on the row the transaction held (a mute being lifted, its user's
 * key), PostgreSQL aborting one of them (a 503). Taken first, a deletion under way is waited for
 * holding nothing, and then there is nothing of the tenant to write.
 */
export async function holdTenantKey(tx: Db, tenantId: string): Promise<void> {
  if (onPostgres(tx)) await tx.selectFrom('tenants').select('id').where('id', '=', tenantId).forKeyShare().execute();
}
