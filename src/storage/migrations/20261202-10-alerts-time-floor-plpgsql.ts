import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * On PostgreSQL the alerts' time floor (alerts/time-floor.ts) is read by a PL/pgSQL function, no
 * longer a SQL one: a SQL function of two statements is never inlined, and PostgreSQL parsed and
 * planned its body on every call, once in every group commit (about 5 % of the backends' CPU under
 * bench:ingest). PL/pgSQL keeps its plans for the connection's life. It does the same: takes the
 * floor's advisory lock shared, then reads the row with a snapshot of its own (a volatile function's
 * statement), so it still sees a floor raised while it waited for the lock.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect !== 'postgres') return;
  await sql`
    create or replace function alert_time_floor_locked() returns bigint language plpgsql volatile as $$
    begin
      perform pg_advisory_xact_lock_shared(hashtextextended('alerts.created_at floor', 0));
      return (select not_before from alert_time_floor where id = 1);
    end
    $$`.execute(db);
}
