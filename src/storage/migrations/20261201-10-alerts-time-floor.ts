import { type Kysely, sql } from 'kysely';
import { type Dialect, columnType } from '../dialect.js';

/**
 * The alerts' time floor (alerts/time-floor.ts): the end of the latest report window judged, before
 * which no alert may be stamped. One row. On PostgreSQL a volatile function takes the floor's
 * advisory lock shared and then reads the row: one statement per transaction that stores alerts,
 * and the read, a query of its own inside the function, sees a floor raised while it waited for the lock.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('alert_time_floor')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('not_before', columnType.time, (c) => c.notNull())
    .execute();
  await db.insertInto('alert_time_floor').values({ id: 1, not_before: 0 }).execute();
  if (dialect !== 'postgres') return;
  await sql`
    create function alert_time_floor_locked() returns bigint language sql volatile as $$
      select pg_advisory_xact_lock_shared(hashtextextended('alerts.created_at floor', 0));
      select not_before from alert_time_floor where id = 1;
    $$`.execute(db);
}
