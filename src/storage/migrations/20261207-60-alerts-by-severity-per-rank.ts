import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/** The stored severity ranks (severity.ts: Info 0 … Fatal 4), one index each on PostgreSQL. */
const RANKS = [0, 1, 2, 3, 4] as const;

/**
 * On PostgreSQL, a tenant's alerts by severity are five partial indexes, one per rank
 * (alerts_tenant_severity_<rank>, `where (-severity) = -<rank>`, the condition the panel's walk
 * and the histogram write with bySeverity), in place of one index that led with the severity.
 *
 * That one index took each commit's alerts at five places, one per severity, and its leaves stayed
 * 56 % full (pgstatindex), where alerts_tenant_created's and each partial index's are 90 %: the
 * pages it split were split in half, not filled from the left, so it held twice the pages of
 * alerts_tenant_created for the same alerts and wrote more pages to the WAL. Five partial indexes
 * take a tenant's alerts of one rank at one place each and hold no severity. A bare loop of
 * 400-alert commits (load 20–23), alternated with the one index: the backend 1.5–3.5 CPU-µs and
 * 96 bytes of WAL a row less, the indexes 1,265 pages against 2,173 for 80,000 alerts; the same with
 * another tenant's alerts after this one's in every index (1.5–5 µs, 110 bytes; bench/hot-paths.md).
 * The queries are unchanged: their condition on `-severity` implies one index's predicate, so each
 * reads that index alone, without a row (an index-only scan).
 *
 * The predicate must stay the very expression bySeverity writes: a statement planned with its
 * parameters (pg's unnamed statements) proves it, a generic plan would not. SQLite keeps its one
 * index (migration 20261207-10).
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect !== 'postgres') return;
  for (const rank of RANKS) {
    await sql`create index ${sql.raw(`alerts_tenant_severity_${rank}`)} on alerts (tenant_id, created_at, id, group_id) where (-severity) = ${sql.lit(-rank)}`.execute(
      db,
    );
  }
  await sql`drop index alerts_tenant_severity`.execute(db);
}
