import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The delivery log's recipient filter (`lower(recipient_address) = ?`, newest first) reads one
 * recipient's emails from this index: without it each page walked the tenant's whole log by id
 * (400,000 emails of a year: 2-3 s for `GET /deliveries?recipient=…` of someone with a few
 * hundred). The expression is the filter's own, which both engines match to the index.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await sql`create index deliveries_tenant_recipient on deliveries (tenant_id, lower(recipient_address), id)`.execute(db);
  // A SQLite database whose statistics were gathered (ANALYZE, or PRAGMA optimize by an operator)
  // would hold none for this index alone, and SQLite then takes it for the most selective index on
  // tenant_id: retention's oldest email of each tenant was read through it, walking the tenant's
  // whole log (23 s for 400,000 emails, at every start before listening). Its statistics are gathered too.
  if (dialect !== 'sqlite') return;
  const { rows } = await sql`select 1 from sqlite_master where name = 'sqlite_stat1'`.execute(db);
  if (rows.length > 0) await sql`analyze deliveries_tenant_recipient`.execute(db);
}
