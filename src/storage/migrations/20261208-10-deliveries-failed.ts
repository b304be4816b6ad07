import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * /metrics counts the failed emails the outbox still keeps (`tocsin_deliveries{status="failed"}`)
 * from this index: without it each scrape counted the whole outbox by status, sent emails and all
 * (at a million rows 220 CPU-ms on SQLite, in the event loop, and 340 ms over three PostgreSQL
 * processes). An email enters it only when it fails for good and leaves it when the retention purge
 * deletes it, so sending costs it nothing.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await sql`create index deliveries_failed on deliveries (created_at) where status = 'failed'`.execute(db);
  // As deliveries_tenant_recipient: a SQLite database with statistics would hold none for this index alone.
  if (dialect !== 'sqlite') return;
  const { rows } = await sql`select 1 from sqlite_master where name = 'sqlite_stat1'`.execute(db);
  if (rows.length > 0) await sql`analyze deliveries_failed`.execute(db);
}
