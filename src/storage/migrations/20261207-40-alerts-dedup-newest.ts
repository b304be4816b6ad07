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
  if (dialect === 'postgres') {
    // alert_floods_after_floor (20261207-30) as it was, its probe ordered by (time, id).
    await sql`
    create or replace function alert_floods_after_floor(tenant_ids text[], keys text[], clock_now bigint, flood_window bigint)
    returns table (floor_at bigint, flood_tenant text, flood_key text, flood_group text, flood_at bigint, flood_severity integer)
    language plpgsql volatile as $$
    declare
      floor bigint := coalesce(alert_time_floor_locked(), 0);
      since bigint := greatest(clock_now, floor) - flood_window;
    begin
      floor_at := floor;
      return next;
      for i in 1 .. coalesce(cardinality(keys), 0) loop
        return query select floor, tenant_ids[i], keys[i], a.group_id, a.created_at, a.severity from alerts a
          where a.tenant_id = tenant_ids[i] and a.dedup_key = keys[i] and a.created_at >= since
          order by a.created_at desc, a.id desc limit 1;
      end loop;
    end
    $$`.execute(db);
    return;
  }
  // As alerts_tenant_severity: a SQLite database with statistics would hold none for the index made again.
  const { rows } = await sql`select 1 from sqlite_master where name = 'sqlite_stat1'`.execute(db);
  if (rows.length > 0) await sql`analyze alerts_tenant_dedup`.execute(db);
}
