import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * The delivery log's kind filter (`kind = ?`, newest first) reads one kind's emails from this
 * index: without it a page of a kind the tenant has few of walked the tenant's whole log by id
 * (GET /deliveries?kind=immediate or kind=mail-health: 0.6-0.9 s over 285,000 emails of a month,
 * whether it found two or none). One more entry per email, which is written once and updated
 * by its attempts (kind and id never change, so those updates leave this index alone).
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await sql`create index deliveries_tenant_kind on deliveries (tenant_id, kind, id)`.execute(db);
  // As deliveries_tenant_recipient: a SQLite database with statistics would hold none for this index alone.
  if (dialect !== 'sqlite') return;
  const { rows } = await sql`select 1 from sqlite_master where name = 'sqlite_stat1'`.execute(db);
  if (rows.length > 0) await sql`analyze deliveries_tenant_kind`.execute(db);
}
