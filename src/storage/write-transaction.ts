import { sql } from 'kysely';
import type { Db } from './database.js';
import { SQLITE_BUSY_TIMEOUT_MS, type Storage } from './storage.js';

/** WriteTransaction runs `fn` in a transaction that writes, commits it, and returns what `fn` returned. */
export type WriteTransaction = <T>(fn: (tx: Db) => Promise<T>) => Promise<T>;

/** WriteTransactionOptions: how long to wait for SQLite's write lock, how to pause, and a hook for each refusal (tests). */
export interface WriteTransactionOptions {
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called each time another connection holds the write lock, before the pause. */
  readonly onBusy?: () => void;
}

/** How long to pause between two tries for SQLite's write lock: about what a group commit holds it. */
const RETRY_MS = 1;

const BUSY = Symbol('busy');

/**
 * writeTransaction is how a hot writer (the ingest's group commit) opens its transactions. On
 * PostgreSQL it is Kysely's transaction. On SQLite, where one connection at a time may write, it
 * waits for the write lock without blocking the event loop: SQLite's own wait (busy_timeout) sleeps
 * in the calling thread, so an api process beside another (`--processes`) read and parsed nothing
 * while the other held the lock, which is most of the time under load. Here `begin immediate` is
 * tried without waiting and, refused, tried again after a pause in which the process serves its
 * requests (and its connection is free for their reads), for at most `timeoutMs` (busy_timeout's
 * 10 s); after that it fails with SQLite's SQLITE_BUSY, as busy_timeout would have.
 */
export function writeTransaction(storage: Storage, options: WriteTransactionOptions = {}): WriteTransaction {
  if (storage.dialect !== 'sqlite') return (fn) => storage.db.transaction().execute(fn);
  const timeoutMs = options.timeoutMs ?? SQLITE_BUSY_TIMEOUT_MS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  return async <T>(fn: (tx: Db) => Promise<T>): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const last = Date.now() >= deadline;
      const outcome = await storage.db.connection().execute(async (conn) => {
        if (!(await beginImmediate(conn, last))) return BUSY;
        try {
          const result = await fn(conn);
          await sql`commit`.execute(conn);
          return { result };
        } catch (err) {
          await sql`rollback`.execute(conn).catch(() => {});
          throw err;
        }
      });
      if (outcome !== BUSY) return outcome.result;
      options.onBusy?.();
      await sleep(RETRY_MS);
    }
  };
}

/**
 * beginImmediate takes SQLite's write lock if it is free and tells whether it did; `last` lets the
 * SQLITE_BUSY error through instead (the wait is over). The connection's busy_timeout is set to 0
 * for this one statement, so that a refusal comes at once instead of after a blocking wait.
 */
async function beginImmediate(conn: Db, last: boolean): Promise<boolean> {
  await sql`pragma busy_timeout = 0`.execute(conn);
  try {
    await sql`begin immediate`.execute(conn);
    return true;
  } catch (err) {
    if (!last && (err as { code?: unknown }).code === 'SQLITE_BUSY') return false;
    throw err;
  } finally {
    await sql.raw(`pragma busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`).execute(conn);
  }
}
