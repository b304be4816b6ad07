import { CompiledQuery, PostgresAdapter } from 'kysely';
import type { Db } from '../storage/database.js';
import { serverPrepared } from '../storage/pg-prepared.js';
import type { Storage } from '../storage/storage.js';
import { lockTransactionOn } from '../storage/transaction-lock.js';
import { type ResolutionLocks, resolutionLocksSql } from './resolution-locks.js';
import { type WriteTransactionOptions, writeTransaction } from '../storage/write-transaction.js';

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
const FLOOR_SELECT_POSTGRES = 'select alert_time_floor_locked() as not_before';
const FLOOR_SQL_POSTGRES = serverPrepared(FLOOR_SELECT_POSTGRES);
const FLOOR_SQL_SQLITE = 'select not_before from alert_time_floor where id = 1';
/** A transaction's begin and the floor's read in one round trip: a simple query of both (no parameters, not prepared). */
const BEGIN_WITH_FLOOR_POSTGRES = `begin; ${FLOOR_SELECT_POSTGRES}`;

/**
 * beginWithFloorSql is BEGIN_WITH_FLOOR_POSTGRES that also takes the resolution locks (resolution-locks.ts)
 * after the floor's: every transaction that stores alerts takes the floor's lock first, then these, so
 * none holds one of them while it waits for the floor's behind a scheduler raising it. The query answers
 * with its last statement, which reads the floor again (its lock already held, so it can no longer move).
 */
function beginWithFloorSql(locks: ResolutionLocks | undefined): string {
  if (!locks) return BEGIN_WITH_FLOOR_POSTGRES;
  return `begin; select alert_time_floor_locked(); ${FLOOR_SELECT_POSTGRES}, (${resolutionLocksSql(locks)}) as locked`;
}

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
 * FloorTransaction runs `fn` in a transaction that stores alerts, given the floor (alertTimeFloor) read
 * first in it; on PostgreSQL it takes `locks`, the resolution locks of the alerts it stores, as it begins.
 */
export type FloorTransaction = <T>(fn: (tx: Db, floor: number) => Promise<T>, locks?: ResolutionLocks) => Promise<T>;

/**
 * floorTransaction is writeTransaction for a hot writer of alerts (the ingest's group commit) that
 * reads the floor first. On PostgreSQL the begin and the floor's read go as one simple query of
 * both statements: one round trip fewer in every group commit (each a write and a wake-up on either
 * side, where node-postgres sends one statement at a time). The floor's select is then parsed and
 * planned each time, which for a function call costs less than the round trip. So are the resolution
 * locks a transaction is given (beginWithFloorSql): they cost no round trip of their own.
 */
export function floorTransaction(storage: Storage, options?: WriteTransactionOptions): FloorTransaction {
  if (storage.dialect !== 'postgres') {
    const transaction = writeTransaction(storage, { ...options, journalsInMemory: true });
    return (fn) => transaction(async (tx) => fn(tx, await alertTimeFloor(tx)));
  }
  return (fn, locks) =>
    storage.db.connection().execute(async (conn) => {
      try {
        const { rows } = await conn.executeQuery<{ not_before: number | string | null }>(CompiledQuery.raw(beginWithFloorSql(locks), []));
        const result = await fn(conn, Number(rows[0]?.not_before ?? 0));
        await conn.executeQuery(CompiledQuery.raw('commit', []));
        return result;
      } catch (err) {
        // As Kysely's transaction does: the statement's error is the one to report, not the rollback's.
        await conn.executeQuery(CompiledQuery.raw('rollback', [])).catch(() => {});
        throw err;
      }
    });
}

/**
 * raiseAlertTimeFloor makes `notBefore` the floor (it never goes down) once every transaction that
 * stored alerts under a lower one has ended: the report windows ending by then hold every alert
 * they will ever hold. The scheduler calls it before reading them.
 */
export async function raiseAlertTimeFloor(db: Db, notBefore: number): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await holdAlertTimeFloor(tx);
    await raiseAlertTimeFloorIn(tx, notBefore);
  });
}

/**
 * holdAlertTimeFloor makes the transaction `tx` wait until every transaction storing alerts has
 * ended, and the next ones wait until `tx` ends (PostgreSQL: the floor's lock exclusive; SQLite:
 * its one write lock, which `tx` holds from its first write): what `tx` reads of the alerts then
 * holds every alert stamped so far.
 */
export async function holdAlertTimeFloor(tx: Db): Promise<void> {
  await lockTransactionOn(tx, LOCK);
}

/** raiseAlertTimeFloorIn raises the floor to `notBefore` (never lowers it) in `tx`, which holds it (holdAlertTimeFloor). */
export async function raiseAlertTimeFloorIn(tx: Db, notBefore: number): Promise<void> {
  // On SQLite the update takes the write lock even when the floor is already as high.
  await tx.updateTable('alert_time_floor').set({ not_before: notBefore }).where('id', '=', 1).where('not_before', '<', notBefore).execute();
}
