import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Drops alert_floods_after_floor (20261207-30): the ingest's group commit
 * no longer reads its floods in its begin's round trip. One statement fewer a commit measured dearer
 * in whole bench:ingest runs, 1–3 CPU-ms per 1,000 alerts in PostgreSQL's backends and 3–7 in the api
 * process in every unprofiled pair against the same code probing after the begin (bench/hot-paths.md,
 * rv74c); the probe is again writeAlerts' prepared statement.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`drop function if exists alert_floods_after_floor(text[], text[], bigint, bigint)`.execute(db);
}
