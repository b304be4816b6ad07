import { CompiledQuery, PostgresAdapter } from 'kysely';
import type { Db } from '../storage/database.js';
import { serverPrepared } from '../storage/pg-prepared.js';
import { lockTransactionOn } from '../storage/transaction-lock.js';

/**
 * The alerts' time floor keeps every alert out of a report window already judged. An alert's
 * created_at is taken when the transaction storing it begins, and the report scheduler judges a
 * window from the alerts created inside it: a commit that came after the judging (a slow disk, a
 * stalled PostgreSQL), or a stamp from an instance whose clock is behind, left an alert in a window
 * nobody would look at again, in no summary. So a transaction storing alerts reads the floor first
 * (alertTimeFloor, taking PostgreSQL's advisory lock `alerts.created_at floor` shared until it ends;
 * on SQLite its write lock is that lock) and stamps no earlier than it; the scheduler, before it
 * reads a window, raises the floor to the window's end (raiseAlertTimeFloor, the lock exclusive),
 * which waits for every transaction that stamped under the old floor to end. An alert stamped
 * inside a window is then committed when the window is read, or stamped at its end, in the next.
 */
const LOCK = 'alerts.created_at floor';

/** The floor's one row, the shared lock taken first (migration 20261201-10: a volatile function reads it after the lock). */
const FLOOR_SQL_POSTGRES = serverPrepared('select alert_time_floor_locked() as not_before');
const FLOOR_SQL_SQLITE = 'select not_before from alert_time_floor where id = 1';

/**
 * alertTimeFloor is the earliest created_at a transaction that stores alerts may give them: call
 * it in that transaction before taking the time, and stamp max(now, floor). One statement.
 */
export async function alertTimeFloor(tx: Db): Promise<number> {
  const postgres = tx.getExecutor().adapter instanceof PostgresAdapter;
  const { rows } = await tx.executeQuery<{ not_before: number | string | null }>(CompiledQuery.raw(postgres ? FLOOR_SQL_POSTGRES : FLOOR_SQL_SQLITE, []));
  return Number(rows[0]?.not_before ?? 0);
}

/**
 * raiseAlertTimeFloor makes `notBefore` the floor (it never goes down) once every transaction that
 * stored alerts under a lower one has ended: the report windows ending by then hold every alert
 * they will ever hold. The scheduler calls it before reading them.
 */
export async function raiseAlertTimeFloor(db: Db, notBefore: number): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await lockTransactionOn(tx, LOCK);
    // On SQLite the update takes the write lock even when the floor is already as high.
    await tx.updateTable('alert_time_floor').set({ not_before: notBefore }).where('id', '=', 1).where('not_before', '<', notBefore).execute();
  });
}
