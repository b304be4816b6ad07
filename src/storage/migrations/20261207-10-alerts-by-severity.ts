import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * A tenant's alerts by severity, most severe first, each newest first: the bell panel finds the
 * most severe unread floods from it without grouping every unread alert (a user who never read
 * anything, in a tenant of a million alerts, waited 8.5 s on SQLite and 5.5 s on PostgreSQL for the
 * panel), and the histogram counts a range's alerts per severity from it alone, without reading
 * each alert's row for its severity (30 days of 11,000 alerts a day: 2.2 s). group_id is carried so
 * that the panel's walk reads no row either. Every alert pays one more index entry
 * (bench/hot-paths.md).
 *
 * The severity is indexed as an expression (BY_SEVERITY, `-severity`) so that only the queries
 * written for this index use it: with the column itself, SQLite (which has no statistics) searched
 * a plain `severity >= ?` through it and sorted the rest (the list's severity filter: 6 ms to 3.8 s
 * for Error and above, and a summary's floods by severity rather than by group). PostgreSQL also
 * keeps the column, so that a scan of the index needs no row for the severity it reads.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') {
    await sql`create index alerts_tenant_severity on alerts (tenant_id, (-severity), created_at, id, group_id) include (severity)`.execute(db);
    return;
  }
  await sql`create index alerts_tenant_severity on alerts (tenant_id, (-severity), created_at, id, group_id)`.execute(db);
  // As deliveries_tenant_recipient: a SQLite database with statistics would hold none for this index alone.
  const { rows } = await sql`select 1 from sqlite_master where name = 'sqlite_stat1'`.execute(db);
  if (rows.length > 0) await sql`analyze alerts_tenant_severity`.execute(db);
}
