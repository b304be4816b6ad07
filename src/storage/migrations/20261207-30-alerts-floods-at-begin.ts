import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * On PostgreSQL a group commit of alerts reads its time floor and its dedup keys' floods in the
 * round trip of its `begin` (alerts/floods-at-begin.ts): one function call in the simple query
 * `begin; select … from alert_floods_after_floor(…)`, where the flood probe was a statement and a
 * round trip of its own after the floor's (issue 12 item 3). The function takes the floor as
 * alert_time_floor_locked does (its advisory lock shared, then the row), then probes each key with a
 * statement of its own: a volatile function's statement takes its snapshot when it runs, after the
 * lock, so it sees the floods committed while the floor's lock was waited for, as the probe sent
 * after it did. Each probe is the newest alert of the tenant's key since the flood window's start
 * (the window ending at the later of the caller's clock and the floor), a backward walk of
 * alerts_tenant_dedup whose plan PL/pgSQL keeps for the connection's life. The first row holds the
 * floor alone; each key with an alert since then adds a row. SQLite has no such function: its
 * floor and floods are reads inside its one writer's transaction, no round trip.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect !== 'postgres') return;
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
          order by a.created_at desc limit 1;
      end loop;
    end
    $$`.execute(db);
}
