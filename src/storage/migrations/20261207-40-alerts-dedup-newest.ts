import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * A dedup key's alerts ordered to the last one stored, the id after the time: the alerts of one
 * commit share its time, and the flood probe (currentFloods) took the newest of a key by time
 * alone, so among a commit's Fatal and Success of a key it took whichever the index's ties put
 * last: the heap's or the rowid's order, not the order they came in. A Success that landed before
 * its Fatal there (PostgreSQL reusing freed space; a SQLite VACUUM renumbering rows) left the key's
 * flood unresolved, and the key's next Fatal alert joined it without an immediate email. Ids sort
 * in the order one process made them (newId), so the probe now takes the last by (time, id).
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await sql`drop index alerts_tenant_dedup`.execute(db);
  await sql`create index alerts_tenant_dedup on alerts (tenant_id, dedup_key, created_at, id) where dedup_key is not null`.execute(db);
  if (dialect === 'postgres') return;
  // As alerts_tenant_severity: a SQLite database with statistics would hold none for the index made again.
  const { rows } = await sql`select 1 from sqlite_master where name = 'sqlite_stat1'`.execute(db);
  if (rows.length > 0) await sql`analyze alerts_tenant_dedup`.execute(db);
}
