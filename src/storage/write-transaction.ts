import type SqliteDatabase from 'better-sqlite3';
import type { Db } from './database.js';
import { SQLITE_FILE_GONE } from './errors.js';
import { SQLITE_BUSY_TIMEOUT_MS, type Storage, withoutBusyWait } from './storage.js';

/** WriteTransaction runs `fn` in a transaction that writes, commits it, and returns what `fn` returned. */
export type WriteTransaction = <T>(fn: (tx: Db) => Promise<T>) => Promise<T>;

/** WriteTransactionOptions: how long to wait for SQLite's write lock, how to pause, and a hook for each refusal (tests). */
export interface WriteTransactionOptions {
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called each time another connection holds the write lock, before the pause. */
  readonly onBusy?: () => void;
  /**
   * Keep the statement journals of its transactions in memory (SQLite): for a hot writer whose
   * statements each change a bounded number of pages (the ingest's group commit), not for one
   * that may rewrite a whole table (a migration). See sqliteWriteLock.
   */
  readonly journalsInMemory?: boolean;
}

/** How long to pause between two tries for SQLite's write lock: about what a group commit holds it. */
const RETRY_MS = 1;

const BUSY = Symbol('busy');

/**
 * writeTransaction is how a hot writer (the ingest's group commit) opens its transactions, and how
 * the migrations take SQLite's write lock (migrate), which a starting server waits for. On
 * PostgreSQL it is Kysely's transaction. On SQLite, where one connection at a time may write, it
 * waits for the write lock without blocking the event loop: SQLite's own wait (busy_timeout) sleeps
 * in the calling thread, so an api process beside another (`--processes`) read and parsed nothing
 * while the other held the lock, which is most of the time under load. Here `begin immediate` is
 * tried without waiting and, refused, tried again after a pause in which the process serves its
 * requests (and its connection is free for their reads), for at most `timeoutMs` (busy_timeout's
 * 10 s); after that it fails with SQLite's SQLITE_BUSY, as busy_timeout would have. Trying every
 * millisecond, back to back with the other api processes' group commits, it would keep the lock
 * from a statement that pauses longer between its tries: while one has asked for its turn
 * (WriteTurn, one stat a try) it does not take the lock.
 */
export function writeTransaction(storage: Storage, options: WriteTransactionOptions = {}): WriteTransaction {
  const database = storage.sqlite;
  if (!database) return (fn) => storage.db.transaction().execute(fn);
  const lock = sqliteWriteLock(database, storage.noteCommit, options.journalsInMemory ?? false);
  const fileGone = storage.fileGone;
  const turn = storage.turn;
  const timeoutMs = options.timeoutMs ?? SQLITE_BUSY_TIMEOUT_MS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  return async <T>(fn: (tx: Db) => Promise<T>): Promise<T> => {
    // A commit into a file no later start opens would acknowledge what the next restart loses.
    const gone = fileGone?.();
    if (gone) throw Object.assign(new Error(gone), { code: SQLITE_FILE_GONE });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const last = Date.now() >= deadline;
      // Kysely's connection is held throughout: no other query of this process runs on it meanwhile.
      const outcome = await storage.db.connection().execute(async (conn) => {
        // Another statement has waited long for the lock (a worker's lease renewal, its results): its turn first.
        if (!last && turn?.asked()) return BUSY;
        if (!lock.begin(last)) return BUSY;
        try {
          const result = await fn(conn);
          lock.commit();
          return { result };
        } catch (err) {
          lock.rollback();
          throw err;
        }
      });
      if (outcome !== BUSY) return outcome.result;
      // Another process writes: not an idle moment for the checkpoint, however idle this one's loop looks meanwhile.
      storage.noteLockRefused?.();
      options.onBusy?.();
      await sleep(RETRY_MS);
    }
  };
}

/**
 * sqliteWriteLock runs the statements around a write transaction on the SQLite connection itself:
 * through Kysely, the busy_timeout pair, the begin and the commit cost about a tenth of a
 * millisecond of JavaScript per commit, on the path of every alert.
 *
 * With `journalsInMemory`, the transaction begins under temp_store MEMORY, which SQLite reads
 * when a write transaction begins to choose where its statement journals go, and the setting is
 * back to the default once the transaction has ended. A multi-row insert inside a transaction
 * (the alerts', whose foreign key and NOT NULL columns may abort it midway) keeps a statement
 * journal of every page it changes, which past 64 KiB SQLite spills to a temp file: the group
 * commit opened, wrote (about 150 pages for 360 alerts), and closed one per commit, as many
 * writes as the WAL's own. The setting is only ever changed outside a transaction, where it
 * cannot fail; sorts and temp tables of other statements keep their files.
 */
function sqliteWriteLock(database: SqliteDatabase.Database, onCommit: (() => void) | undefined, journalsInMemory: boolean) {
  const begin = database.prepare('begin immediate');
  const commit = database.prepare('commit');
  const rollback = database.prepare('rollback');
  const restore = journalsInMemory ? () => database.exec('PRAGMA temp_store = DEFAULT') : () => {};
  return {
    /**
     * begin takes SQLite's write lock if it is free and tells whether it did; `last` lets the
     * SQLITE_BUSY error through instead (the wait is over). A refusal comes at once instead of
     * after a blocking wait (withoutBusyWait).
     */
    begin(last: boolean): boolean {
      if (journalsInMemory) database.exec('PRAGMA temp_store = MEMORY');
      try {
        withoutBusyWait(database, () => begin.run());
        return true;
      } catch (err) {
        restore();
        if (!last && (err as { code?: unknown }).code === 'SQLITE_BUSY') return false;
        throw err;
      }
    },
    commit(): void {
      commit.run();
      restore();
      onCommit?.();
    },
    /** rollback ends the transaction unless SQLite already rolled it back (after some errors it does). */
    rollback(): void {
      try {
        if (database.inTransaction) rollback.run();
      } catch {
        // The transaction's own error is the one to report, not the rollback's.
      } finally {
        restore();
      }
    },
  };
}
