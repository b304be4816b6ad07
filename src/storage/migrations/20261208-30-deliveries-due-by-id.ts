import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * A claim takes the due rows by due time and then by id (leases.ts queuedRows): an alert's emails,
 * queued together with one due time and consecutive ids (UUIDv7), come out together, so the claim
 * that takes them is one worker's and the alert is read and rendered once. By due time alone,
 * PostgreSQL gave the rows of one time in the order of their places in the table, which the space
 * freed by sent rows scatters: with two worker processes 6–10 % of the alerts were split between
 * them. Both indexes of the claim get `id` as their second column, so the order needs no sort;
 * their names and conditions stay (/metrics counts deliveries_due's rows).
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const unfinished = sql`status in ('pending', 'sending', 'retrying')`;
  await sql`drop index deliveries_due`.execute(db);
  await sql`create index deliveries_due on deliveries (next_attempt_at, id) where ${unfinished}`.execute(db);
  await sql`drop index deliveries_due_urgent`.execute(db);
  await sql`create index deliveries_due_urgent on deliveries (next_attempt_at, id) where ${unfinished} and kind in ('immediate', 'mail-health')`.execute(db);
  // As deliveries_tenant_recipient: a SQLite database with statistics would hold none for the new indexes.
  if (dialect !== 'sqlite') return;
  const { rows } = await sql`select 1 from sqlite_master where name = 'sqlite_stat1'`.execute(db);
  if (rows.length > 0) await sql`analyze deliveries`.execute(db);
}
