import { type RawBuilder, sql } from 'kysely';

/**
 * notSearchable is a column as a term that SQLite's planner cannot search an index by (`column ||
 * ''`: the same text on both engines; PostgreSQL plans it as the column), for a condition that only
 * checks the rows another term finds: the tenant of alerts looked up by their ids. Tocsin never
 * runs ANALYZE, and without statistics SQLite rates `tenant_id = ?` on alerts_tenant_created as
 * narrow as a lookup of two ids, so `tenant_id = ? and id in (two ids or more)` walked the
 * tenant's every alert (a million in a tenant of 5,000 users: 1–3 s, inside the write transaction
 * of a mark-read) instead of looking the ids up by the primary key.
 */
export function notSearchable(column: string): RawBuilder<string> {
  return sql<string>`(${sql.ref(column)} || '')`;
}
