import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresDialect,
  type QueryResult,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  type SqliteDatabase as KyselySqliteDatabase,
  type SqliteStatement,
  sql,
} from 'kysely';
import pg from 'pg';
import type { Database } from './database.js';
import type { Dialect } from './dialect.js';
import { DeadlineError, withinMs } from '../shared/deadline.js';
import { hostAndPort } from '../shared/host-port.js';
import { makeFolder } from '../shared/make-folder.js';
import { scavengeIfHalfFull } from '../shared/young-generation.js';
import type { Logger } from 'pino';
import { CheckpointThread } from './checkpoint-thread.js';
import { checkpointAtIdle } from './idle-checkpoint.js';
import { IdleUpkeep, type IdleUpkeepOptions } from './idle-upkeep.js';
import { sidecarsOf } from './sidecars.js';
import { ASK_AFTER_MS, WriteTurn } from './write-turn.js';
import { type ChangeMark, sqliteChangeMark } from './change-mark.js';
import { preparedOnServer, type StatementWatch } from './pg-prepared.js';
import { type RetiringPool, retiringReadOnlySessions } from './read-only-sessions.js';

/** Storage is an open database: the Kysely handle, which engine it is, and how to close it. */
export interface Storage {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** A human description of where the data lives, without credentials. */
  readonly description: string;
  /**
   * SQLite's connection itself (undefined on PostgreSQL), for the statements a hot writer runs
   * around its transaction without Kysely (write-transaction.ts); use it only while holding
   * Kysely's connection (`db.connection().execute`), which serialises it with every other query.
   */
  readonly sqlite?: SqliteDatabase.Database | undefined;
  /** Tells the idle upkeep (SQLite's checkpoint) of a commit made on `sqlite` directly (Kysely's commits tell it themselves). */
  readonly noteCommit?: (() => void) | undefined;
  /** Tells the idle upkeep that another connection held the write lock when a hot writer asked for it on `sqlite` (writeTransaction). */
  readonly noteLockRefused?: (() => void) | undefined;
  /**
   * upkeepWaitsWhile has the idle upkeep (SQLite's checkpoint, V8's scavenge) wait while `pressing`
   * says so, an urgent email under way (IdleUpkeep.waitWhile); undefined where there is no upkeep
   * (PostgreSQL, in memory).
   */
  readonly upkeepWaitsWhile?: ((pressing: () => boolean) => void) | undefined;
  /** changeMark tells whether anything was committed to the SQLite file since an earlier mark (undefined on PostgreSQL). */
  readonly changeMark?: ChangeMark | undefined;
  /** The idle checkpoint's thread of a SQLite file (undefined on PostgreSQL and in memory): a server starts it with itself. */
  readonly checkpoints?: Pick<CheckpointThread, 'start' | 'started'> | undefined;
  /**
   * fileGone says why the SQLite file can no longer be used (undefined while it can, and on
   * PostgreSQL): removed, or replaced by another file (a restore moved into place), while this
   * process holds the one it opened. SQLite goes on writing into the file it holds, which no later
   * start opens, so every commit from then on would be lost at the next restart.
   */
  readonly fileGone?: (() => string | undefined) | undefined;
  /** diskFull says that the disk of the SQLite file has no room left (undefined while it has, and on PostgreSQL): every write then fails. */
  readonly diskFull?: (() => string | undefined) | undefined;
  /**
   * longestLockWaitMs is the longest that one statement of this process (not counting the ingest's
   * group commits) waited for SQLite's write lock so far (undefined on PostgreSQL), for /metrics: a
   * worker whose writes wait near its lease may lose rows it has sent to another worker.
   */
  readonly longestLockWaitMs?: (() => number) | undefined;
  /** The turns at SQLite's write lock across processes (undefined on PostgreSQL and in memory): the group commits let a long waiter go first. */
  readonly turn?: WriteTurn | undefined;
  /**
   * newSessionTakesWrites asks a session opened now whether PostgreSQL takes writes (undefined on
   * SQLite), for a pooled one that says it takes none: a session keeps the default_transaction_read_only
   * of its opening, so the pool's sessions opened during a read-only maintenance go on saying so after
   * it. Taking writes, the pool's older sessions are retired. Asked at most once a second; false
   * when the new session cannot be opened.
   */
  readonly newSessionTakesWrites?: (() => Promise<boolean>) | undefined;
  close(): Promise<void>;
}

/**
 * DEFAULT_DB_POOL_SIZE: a worker needs about three connections at once (its claim, the commit of
 * finished sends, the scheduler), an api process a few more under a burst of requests; five
 * keeps 1 api + 8 workers (9 × 5 + 8 listeners = 53) well inside PostgreSQL's default 100.
 */
export const DEFAULT_DB_POOL_SIZE = 5;

/** How long a writer waits for SQLite's lock before giving up (another process may hold it). */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000;

/**
 * The size SQLite cuts the WAL file back to when it starts it afresh (journal_size_limit). Without
 * it the file keeps the size of the largest burst for good: several processes writing 1,000-alert
 * batches on one file left a 200 MB WAL that quiet hours never shrank. Everyday load keeps it near
 * the 16 MB of the automatic checkpoint (SQLITE_AUTOCHECKPOINT_PAGES), far below.
 */
export const SQLITE_WAL_SIZE_LIMIT_BYTES = 32 * 1024 * 1024;
/**
 * SQLITE_AUTOCHECKPOINT_PAGES is the main connection's wal_autocheckpoint while the checkpoint
 * thread copies the WAL between busy commits (IdleUpkeep's copyWhileBusy, every 1,500 rows changed,
 * about 500 pages): SQLite's own checkpoint, run inside the COMMIT that takes the WAL past it, stays
 * the WAL's bound (16 MB) without running in the commits the thread keeps it from. Once the thread
 * failed, the default 1,000 pages again (SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES), SQLite's own then the only copy between idle moments.
 */
export const SQLITE_AUTOCHECKPOINT_PAGES = 4_000;

/** SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES is SQLite's own wal_autocheckpoint, the bound once the checkpoint thread failed. */
export const SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES = 1_000;
const PG_INT8_OID = 20;

// Epoch-millisecond columns are bigint; they fit in a double for the next 285,000 years.
pg.types.setTypeParser(PG_INT8_OID, (value) => Number(value));

/**
 * openStorage opens `sqlite:PATH` or `postgres://…`. SQLite runs in WAL mode with
 * synchronous=FULL, and PostgreSQL sessions with synchronous_commit=on whatever the server's
 * default, because a 202 for an alert promises it survives a power cut, not just a crash.
 */
export async function openStorage(
  url: string,
  options: { poolSize?: number; idleUpkeep?: IdleUpkeepOptions; abandonedTransactionMs?: number; logger?: Pick<Logger, 'warn'> } = {},
): Promise<Storage> {
  const dialect = dialectOfUrl(url);
  if (dialect === 'postgres') return openPostgres(url, options.poolSize ?? DEFAULT_DB_POOL_SIZE, options.abandonedTransactionMs ?? ABANDONED_TRANSACTION_MS);
  if (dialect === 'sqlite') return openSqlite(url.slice('sqlite:'.length), options.idleUpkeep, options.logger);
  throw new Error(`DATABASE_URL ${DATABASE_URL_MESSAGE} (got "${url.split(':')[0]}:")`);
}

/** DATABASE_URL_MESSAGE says what a database URL must be, where one is refused. */
export const DATABASE_URL_MESSAGE = 'must start with sqlite: or postgres://';

/** dialectOfUrl is the database a URL names (`postgres://` or `postgresql://`, `sqlite:PATH`), or undefined for another. */
export function dialectOfUrl(url: string): 'postgres' | 'sqlite' | undefined {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return 'postgres';
  return url.startsWith('sqlite:') ? 'sqlite' : undefined;
}

function openSqlite(file: string, idleOptions?: IdleUpkeepOptions, logger?: Pick<Logger, 'warn'>): Storage {
  const inMemory = file === ':memory:';
  if (!inMemory) {
    makeFolder(path.dirname(path.resolve(file)));
    // SQLite's own words for a folder are "unable to open database file", which do not say why.
    if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) {
      throw new Error(`${file} is a folder, not a file: name a file in it, such as sqlite:${path.join(file, 'tocsin.db')}`);
    }
    const readOnly = readOnlyPart(file);
    if (readOnly) throw new Error(readOnly);
    createPrivately(file);
  }
  const database = new SqliteDatabase(file);
  // The file this connection opened, which the path must still name (a restore moves another into place).
  const opened = inMemory ? undefined : fs.statSync(file);
  const fileGone = opened && watchForReplacement(file, opened);
  const diskFull = inMemory ? undefined : watchForFullDisk(file);
  try {
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = FULL');
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    database.pragma(`journal_size_limit = ${SQLITE_WAL_SIZE_LIMIT_BYTES}`);
    database.pragma('foreign_keys = ON');
    // The checkpoint thread copies the WAL before this; in memory there is neither WAL nor thread.
    if (!inMemory) database.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
  } catch (err) {
    // Closed, or the file stays open: the start's retries would each hold one more.
    database.close();
    // Opening makes the -wal and -shm files: on a full disk SQLite says only "disk I/O error".
    const full = diskFull?.();
    throw full ? new SqliteDiskFullError(full, path.dirname(path.resolve(file)), err) : err;
  }
  const checkpoints =
    opened &&
    new CheckpointThread({
      file,
      fileId: { dev: opened.dev, ino: opened.ino },
      walSizeLimitBytes: SQLITE_WAL_SIZE_LIMIT_BYTES,
      inThread: () => checkpointAtIdle(database, (write) => withoutBusyWait(database, write)),
      failed: (err) => {
        // Nothing copies the WAL between busy commits from now on but SQLite's own checkpoint, at its usual bound.
        if (database.open) database.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES}`);
        const message = 'the idle checkpoint thread failed: the main thread checkpoints the SQLite WAL from now on';
        // A command without a log (migrate) says it on stderr.
        if (logger) logger.warn({ err }, message);
        else process.emitWarning(`${message} (${err.message})`);
      },
    });
  // The rows this connection changed so far, by which the idle upkeep also judges a checkpoint due (at each idle moment).
  const totalChanges = database.prepare('select total_changes()').pluck();
  const idle = inMemory
    ? undefined
    : new IdleUpkeep(
        {
          checkpoint: () => checkpoints!.checkpoint(),
          scavenge: scavengeIfHalfFull,
          inTransaction: () => database.inTransaction,
          changes: () => totalChanges.get() as number,
          copyWhileBusy: () => checkpoints!.checkpoint('busy'),
        },
        idleOptions,
      );
  const sidecars = inMemory ? undefined : sidecarsOf(file);
  const noteCommit =
    idle &&
    (() => {
      sidecars?.note();
      idle.noteCommit();
    });
  const noteLockRefused = idle && (() => idle.noteOthersWriting());
  const waits = { longestMs: 0 };
  const turn = inMemory ? undefined : new WriteTurn(file);
  const db = new Kysely<Database>({
    dialect: new LockWaitingSqliteDialect({ database: preparedOnce(database, noteCommit) }, database, { waits, turn }),
  });
  const close = async () => {
    idle?.close();
    // First: the connection that closes last checkpoints and removes the WAL, as the main one did alone.
    await checkpoints?.close();
    await db.destroy();
    // A restore moved into place while open: the WAL left at the path is not the restored file's.
    if (fileGone?.()) sidecars?.setAside(new Date());
  };
  const longestLockWaitMs = () => waits.longestMs;
  // Named by its absolute path: a relative one (sqlite:./data/tocsin.db) does not say which working folder it was read from.
  const description = `SQLite ${inMemory ? file : path.resolve(file)}`;
  const changeMark = sqliteChangeMark(database);
  return {
    db,
    dialect: 'sqlite',
    description,
    sqlite: database,
    noteCommit,
    noteLockRefused,
    upkeepWaitsWhile: idle && ((pressing: () => boolean) => idle.waitWhile(pressing)),
    changeMark,
    checkpoints: checkpoints || undefined,
    fileGone,
    diskFull,
    longestLockWaitMs,
    turn,
    close,
  };
}

/**
 * readOnlyPart says which of an SQLite file and its folder this process may not write, or undefined.
 * SQLite opens a read-only file all the same: the start then stopped at its first write with "attempt
 * to write a readonly database" and a stack trace (with migrations pending, a hint about PostgreSQL
 * roles), and a read-only folder, where WAL mode cannot make its -wal and -shm files, with "unable to
 * open database file", neither saying which file or why. A file that does not exist yet is made in the folder.
 */
function readOnlyPart(file: string): string | undefined {
  const denied = (at: string) => {
    try {
      fs.accessSync(at, fs.constants.W_OK);
      return undefined;
    } catch (err) {
      return (err as { code?: string }).code ?? 'EACCES';
    }
  };
  const exists = (at: string) => fs.existsSync(at);
  const fileDenied = exists(file) ? denied(file) : undefined;
  if (fileDenied) return `${file} is read-only to this process (${fileDenied}): Tocsin writes to it; let the user it runs as write it`;
  // WAL mode makes FILE-wal and FILE-shm in the folder (a clean close removes them), so it must be writable unless both are there.
  const folder = path.dirname(path.resolve(file));
  const needsFolder = !exists(file) || !exists(`${file}-wal`) || !exists(`${file}-shm`);
  const folderDenied = needsFolder ? denied(folder) : undefined;
  if (folderDenied) {
    return `the folder ${folder} is read-only to this process (${folderDenied}): SQLite makes ${path.basename(file)}-wal and -shm beside the file; let the user Tocsin runs as write there`;
  }
  return undefined;
}

/** SQLITE_DISK_FULL is why a write fails on a full disk (SQLITE_FULL), and why /readyz is not ready then. */
export const SQLITE_DISK_FULL = 'the disk of the SQLite database is full';

/**
 * createPrivately makes a missing SQLite file empty and readable by its owner only (0600), as the data
 * folder is (makeFolder): it holds addresses, password hashes and sealed secrets, and a path an operator
 * names outside the data folder, in a folder of theirs, took the umask's 0644. SQLite gives the -wal and
 * -shm files the mode of the database file. A file that exists keeps its mode: its owner chose it.
 */
function createPrivately(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, 'wx', 0o600));
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
  }
}

/** SQLITE_FULL is better-sqlite3's code for "database or disk is full", and an SQLite file's that cannot be opened for it. */
export const SQLITE_FULL = 'SQLITE_FULL';

/**
 * SqliteDiskFullError is an SQLite file that could not be opened for its full disk: its message is
 * the reason /readyz gives, `folder` where room must be freed (the start waits for it).
 */
export class SqliteDiskFullError extends Error {
  override readonly name = 'SqliteDiskFullError';
  readonly code = SQLITE_FULL;

  constructor(
    reason: string,
    readonly folder: string,
    cause: unknown,
  ) {
    super(reason, { cause });
  }
}

/**
 * watchForFullDisk is Storage.diskFull for an SQLite file: whether its file system has a block left
 * for this process (root may use the blocks reserved for it), as df says. One statfs per call: /readyz's.
 */
function watchForFullDisk(file: string): () => string | undefined {
  const folder = path.dirname(path.resolve(file));
  const asRoot = process.getuid?.() === 0;
  return () => {
    const disk = fs.statfsSync(folder);
    return (asRoot ? disk.bfree : disk.bavail) > 0 ? undefined : `${SQLITE_DISK_FULL} (${folder}): free room on it`;
  };
}

/** watchForReplacement is Storage.fileGone for the SQLite file just opened: the path must still name that file. */
function watchForReplacement(file: string, opened: fs.Stats): () => string | undefined {
  return () => {
    const now = fs.statSync(file, { throwIfNoEntry: false });
    if (now?.ino === opened.ino && now.dev === opened.dev) return undefined;
    return `the SQLite file ${file} was removed or replaced while open: restart Tocsin to open the one there now`;
  };
}

/**
 * withoutBusyWait runs `fn` with the connection's busy_timeout at 0, so that a statement that needs
 * a lock another connection holds fails at once with SQLITE_BUSY instead of sleeping in the
 * calling thread, which is the whole process's. The pragmas are run, not prepared ahead: SQLite
 * applies a busy_timeout when it compiles the statement. `exec` compiles and runs them without a
 * statement object or a result: 1.1–1.3 µs the pair, against 5–6.4 through `pragma()` (warm, a bare loop).
 */
export function withoutBusyWait<T>(database: SqliteDatabase.Database, fn: () => T): T {
  database.exec('PRAGMA busy_timeout = 0');
  try {
    return fn();
  } finally {
    database.exec(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  }
}

/** How many distinct statements a SQLite connection keeps prepared (the app has a few hundred). */
const MAX_PREPARED_STATEMENTS = 1_000;

/**
 * preparedOnce hands Kysely a connection that prepares each SQL text once: Kysely's SQLite driver
 * prepares every query anew, which cost more CPU than inserting a batch of alerts. A statement
 * still being iterated is not handed out twice. It also makes every transaction `begin immediate`:
 * several processes may write to one SQLite file (`--processes`, a worker beside the api), and a
 * deferred transaction that reads and then writes fails at once with SQLITE_BUSY when another
 * process wrote in between, where an immediate one waits its turn (busy_timeout) at its start.
 */
function preparedOnce(database: SqliteDatabase.Database, onCommit?: () => void): KyselySqliteDatabase {
  const statements = new Map<string, SqliteStatement & { readonly busy: boolean }>();
  return {
    close: () => database.close(),
    prepare(text: string): SqliteStatement {
      const sql = text === 'begin' ? 'begin immediate' : text;
      const cached = statements.get(sql);
      if (cached && !cached.busy) return cached;
      const prepared = database.prepare(sql);
      const statement = sql === 'commit' && onCommit ? told(prepared, onCommit) : prepared;
      if (cached) return statement;
      if (statements.size >= MAX_PREPARED_STATEMENTS) statements.delete(statements.keys().next().value!);
      statements.set(sql, statement);
      return statement;
    },
  };
}

/**
 * BUSY_PAUSES_MS are the pauses between two tries for SQLite's write lock, the ones SQLite's own
 * busy handler sleeps (sqliteDefaultBusyCallback), then its last one again until the wait is over.
 */
const BUSY_PAUSES_MS = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100] as const;

/** ASKING_PAUSE_MS is the pause between two tries of a statement that asked for its turn: the group commits let the lock go for it. */
const ASKING_PAUSE_MS = 1;

/**
 * LockWaitingSqliteDialect is Kysely's SQLite dialect whose statements wait for the write lock
 * without blocking the event loop. SQLite's own wait (busy_timeout) sleeps in the calling thread:
 * while another process held the lock (an sqlite3 shell, another Tocsin on the file), each of the
 * worker's claims, results and lease renewals and each scheduler tick froze the whole process for
 * up to 10 s, one after the other, so that no request, health check, metric scrape or SMTP reply was
 * heard meanwhile. Here a statement outside a transaction (a `begin`, which is `begin immediate`,
 * or a write on its own) is tried without waiting and, refused, tried again after SQLite's own
 * pauses, for at most busy_timeout's 10 s; then it fails with SQLITE_BUSY as before. Inside a
 * transaction, which holds the lock, nothing waits for it. The ingest's group commits do the same
 * in writeTransaction, releasing the connection between tries.
 */
class LockWaitingSqliteDialect extends SqliteDialect {
  constructor(
    private readonly config: SqliteDialectConfig,
    private readonly database: SqliteDatabase.Database,
    private readonly lock: LockTurns,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    return new LockWaitingSqliteDriver(this.config, this.database, this.lock);
  }
}

class LockWaitingSqliteDriver extends SqliteDriver {
  #connection: DatabaseConnection | undefined;

  constructor(
    config: SqliteDialectConfig,
    private readonly database: SqliteDatabase.Database,
    private readonly lock: LockTurns,
  ) {
    super(config);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection();
    this.#connection ??= lockWaiting(connection, this.database, this.lock);
    return this.#connection;
  }

  /**
   * A commit the disk refused (full, a size limit: SQLITE_FULL, SQLITE_IOERR) is rolled back by
   * SQLite itself; Kysely's rollback then failed with "no transaction is active" and that error,
   * a 500, replaced the disk's, an outage (503). As writeTransaction's rollback, it ends only a
   * transaction still open.
   */
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.database.inTransaction) await super.rollbackTransaction(connection);
  }
}

/** READ is a statement that only reads (`with … select` may write, and waits as a write). */
const READ = /^\s*select\b/i;

/** LockTurns: where lockWaiting notes the longest wait so far (Storage.longestLockWaitMs), and asks for its turn (Storage.turn). */
interface LockTurns {
  readonly waits: { longestMs: number };
  readonly turn: WriteTurn | undefined;
}

/**
 * lockWaiting is `connection` whose statements outside a transaction wait for the write lock in
 * pauses, not in the thread. One that has waited ASK_AFTER_MS asks for its turn (WriteTurn) and
 * tries every millisecond from then on: the worker's lease renewals and results, which a lease
 * depends on, are such statements, and waited past the lease behind the group commits otherwise.
 */
function lockWaiting(connection: DatabaseConnection, database: SqliteDatabase.Database, { waits, turn }: LockTurns): DatabaseConnection {
  return {
    async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      // A read in WAL mode takes no lock that a writer holds: it runs as it comes, with no pragma pair.
      if (database.inTransaction || READ.test(query.sql)) return connection.executeQuery<R>(query);
      const started = Date.now();
      const deadline = started + SQLITE_BUSY_TIMEOUT_MS;
      let asking = false;
      try {
        for (let tries = 0; ; tries += 1) {
          try {
            // The statement runs (or is refused) within the call; only its result is awaited.
            const result = withoutBusyWait(database, () => connection.executeQuery<R>(query));
            if (tries > 0) waits.longestMs = Math.max(waits.longestMs, Date.now() - started);
            return await result;
          } catch (err) {
            const refused = (err as { code?: unknown }).code === 'SQLITE_BUSY';
            if (refused && Date.now() >= deadline) waits.longestMs = Math.max(waits.longestMs, Date.now() - started);
            if (!refused || Date.now() >= deadline) throw err;
          }
          asking ||= turn !== undefined && Date.now() - started >= ASK_AFTER_MS;
          if (asking) turn!.ask();
          const pause = asking ? ASKING_PAUSE_MS : BUSY_PAUSES_MS[Math.min(tries, BUSY_PAUSES_MS.length - 1)]!;
          await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(0, deadline - Date.now()))));
        }
      } finally {
        if (asking) turn!.done();
      }
    },
    streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
  };
}

/** told is a `commit` statement that tells `onCommit` after each commit it makes. */
function told(commit: SqliteDatabase.Statement, onCommit: () => void): SqliteStatement & { readonly busy: boolean } {
  return {
    reader: false,
    busy: false,
    all: (parameters) => commit.all(parameters),
    iterate: (parameters) => commit.iterate(parameters),
    run(parameters) {
      const result = commit.run(parameters);
      onCommit();
      return result;
    },
  };
}

/** FIRST_ANSWER_MS bounds the first query of a new PostgreSQL pool, which opening waits for. */
const FIRST_ANSWER_MS = 10_000;

/**
 * ABANDONED_TRANSACTION_MS is how long the server lets one of our sessions sit idle inside a
 * transaction before it ends the session (idle_in_transaction_session_timeout). A process stopped
 * (SIGSTOP, a paused VM) or cut off in the middle of a transaction keeps its locks until its
 * connection ends, hours later for TCP keepalive: the alerts' time floor taken shared by a group
 * commit then holds the scheduler's exclusive request, which holds every other process's next
 * commit behind it, and no api process stores an alert again. Its commit then fails: nothing
 * acknowledged. Tocsin's transactions wait only for the database and the process's own CPU between
 * their statements; a minute is far beyond that even for a large tenant's daily reports on a busy
 * machine (whose transaction, ended early, would be tried again and ended again for ever), while
 * still freeing the others within a minute instead of hours.
 */
const ABANDONED_TRANSACTION_MS = 60_000;

/**
 * withSystemRoots reads libpq's `sslrootcert=system` (PostgreSQL 16: the certificate checked against
 * the system's authorities, sslmode verify-full), which node-postgres took for a file named `system`:
 * the start stopped with "ENOENT: no such file or directory, open 'system'". The parameter is left
 * out, so the certificate is checked against the authorities Node trusts (its own, and
 * NODE_EXTRA_CA_CERTS), with sslmode verify-full unless the URL names one.
 */
function withSystemRoots(url: string): string {
  const parsed = new URL(url);
  if (parsed.searchParams.get('sslrootcert') !== 'system') return url;
  parsed.searchParams.delete('sslrootcert');
  if (!parsed.searchParams.has('sslmode')) parsed.searchParams.set('sslmode', 'verify-full');
  return parsed.href;
}

/**
 * postgresClientConfig is how Tocsin connects to `url`: the role named (pg falls back to $USER,
 * which is unset on our machines), and an application_name that shows the operator whose sessions
 * these are in pg_stat_activity and the server's log: `tocsin`, unless the URL or libpq's
 * PGAPPNAME names them (`env`, the process's environment).
 */
export function postgresClientConfig(url: string, applicationName = 'tocsin', env: NodeJS.ProcessEnv = process.env): pg.ClientConfig {
  const parsed = new URL(url);
  const named = parsed.searchParams.has('application_name') || Boolean(env.PGAPPNAME);
  return {
    connectionString: withSystemRoots(url),
    user: decodeURIComponent(parsed.username) || 'postgres',
    ...(named ? {} : { application_name: applicationName }),
  };
}

/**
 * A server that keeps the connections open and answers nothing (a frozen host, a network partition,
 * a stalled proxy) would hold every request that reaches the database until it answers again, for
 * as long as that takes (TCP gives up after about 15 minutes), where a dropped connection is a 503
 * at once. A statement unanswered for SILENT_STATEMENT_MS makes the process ask the server on a new
 * connection what its session is doing (within SERVER_CHECK_MS): a statement that is only slow (a
 * lock wait, a migration's index) goes on; one whose server is silent, or whose session is gone or
 * idle, has its connection dropped, so it fails as a dropped connection does (retryable: a 503 with
 * Retry-After, the transaction never committed by a server that never got its commit). CONNECT_MS bounds a new connection's handshake
 * and a wait for a free pooled connection alike. Together they answer within the request timeout.
 */
const SILENT_STATEMENT_MS = 5_000;
const SWEEP_MS = 1_000;
const SERVER_CHECK_MS = 3_000;
const CONNECT_MS = 10_000;

/**
 * SILENT_SERVER_BOUND_MS is the longest a request waits on a silent server before it fails as a
 * dropped connection does: its statement's silence, the sweep that sees it, the check on a new
 * connection, and a new connection's handshake or a wait for a pooled one. Tests wait by it.
 */
export const SILENT_SERVER_BOUND_MS = SILENT_STATEMENT_MS + SWEEP_MS + SERVER_CHECK_MS + CONNECT_MS;

/** dropConnection destroys a pg client's socket: its pending statements fail with 'Connection terminated unexpectedly'. */
function dropConnection(client: pg.ClientBase): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/**
 * GOODBYE_MS bounds how long a closing process waits for the server to end a connection: pg's end
 * sends its goodbye and waits for the server to hang up, which a server cut off by a partition (or
 * frozen) never does, so a SIGTERM then ran out its 15 s grace and exited 1.
 */
const GOODBYE_MS = 3_000;

/** ended is `ending` (the end of `clients`' connections), whose connections are dropped once GOODBYE_MS passed without it. */
export async function ended(ending: Promise<unknown>, clients: () => Iterable<pg.ClientBase>): Promise<void> {
  const timer = setTimeout(() => {
    for (const client of clients()) dropConnection(client);
  }, GOODBYE_MS);
  try {
    await ending;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * sessionStates asks the server, on a new connection within SERVER_CHECK_MS, what each session of
 * this database is doing (pg_stat_activity: its process id and state), or says 'silent' when the
 * server does not answer; 'unknown' when it answered with a refusal (full, starting), or through a
 * pooler whose process ids name no session.
 */
async function sessionStates(config: pg.ClientConfig): Promise<Map<number, string | null> | 'silent' | 'unknown'> {
  const probe = new pg.Client({ ...config, connectionTimeoutMillis: SERVER_CHECK_MS });
  probe.on('error', () => {});
  try {
    const result = await withinMs(
      probe
        .connect()
        .then(() =>
          probe.query<{ pid: number; state: string | null; own: number }>(
            'select pid, state, pg_backend_pid() as own from pg_stat_activity where datname = current_database()',
          ),
        ),
      SERVER_CHECK_MS,
      'the database',
    );
    probe.end().catch(() => {});
    // Behind a connection pooler (PgBouncer, RDS Proxy) a client's process id is the pooler's, not
    // its session's: no session can be told by it, so a server that answers is all that is known.
    if (result.rows[0]?.own !== (probe as unknown as { processID?: number }).processID) return 'unknown';
    return new Map(result.rows.map((row) => [row.pid, row.state]));
  } catch (err) {
    dropConnection(probe);
    const code = (err as { code?: unknown } | null)?.code;
    return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? 'unknown' : 'silent';
  }
}

/**
 * silentServerWatch drops the connection of a statement unanswered for SILENT_STATEMENT_MS unless
 * the server says that connection's session is still working on it (state `active`: a lock wait, a
 * long statement): a server that answers nothing, and a session it no longer has or that sits idle
 * (the statement lost on the way: the old connections of a partition, of a server failed over
 * behind the same address), fail as a dropped connection does. One timer sweeps every client once
 * a SWEEP_MS, so a statement costs a counter and its answer's callback, not a timer of its own.
 */
function silentServerWatch(config: pg.ClientConfig): StatementWatch {
  let check: ReturnType<typeof sessionStates> | undefined;
  const states = () => {
    check ??= sessionStates(config).finally(() => {
      check = undefined;
    });
    return check;
  };
  /** Per client: statements sent and not yet answered, those answered, and the sweep since which the oldest unanswered one waits. */
  const watched = new Map<pg.PoolClient, { pending: number; answered: number; since: number; checking: boolean }>();
  let sweeps = 0;
  const timer = setInterval(() => {
    sweeps += 1;
    for (const [client, state] of watched) {
      if (state.pending === 0 || state.checking || sweeps - state.since <= SILENT_STATEMENT_MS / SWEEP_MS) continue;
      state.checking = true;
      const answered = state.answered;
      void states().then((found) => {
        state.checking = false;
        if (state.answered !== answered || state.pending === 0) return;
        const pid = (client as unknown as { processID?: number }).processID;
        const working = found === 'unknown' || (found !== 'silent' && pid !== undefined && found.get(pid) === 'active');
        if (working) state.since = sweeps;
        else dropConnection(client);
      });
    }
  }, SWEEP_MS);
  timer.unref();
  return {
    client(client) {
      const state = { pending: 0, answered: 0, since: sweeps, checking: false };
      watched.set(client, state);
      client.once('end', () => watched.delete(client));
      // pg answers a client's statements in the order sent: the next one waits from this answer on.
      const settle = () => {
        state.pending -= 1;
        state.answered += 1;
        state.since = sweeps;
      };
      return (answer) => {
        if (state.pending++ === 0) state.since = sweeps;
        answer.then(settle, settle);
      };
    },
    stop: () => clearInterval(timer),
    connections: () => watched.keys(),
  };
}

/**
 * postgresDescription names the server, port and database of a PostgreSQL URL as pg reads them (the
 * banner's and the log's `database`): the URL's host alone said ':5432' of a Unix socket's
 * `postgres:///tocsin?host=/var/run/postgresql` and 5432 of a `?port=` parameter.
 */
export function postgresDescription(url: string): string {
  const { host, port, database } = new pg.Client(postgresClientConfig(url));
  return `PostgreSQL ${hostAndPort(host, port)}/${database ?? ''}`;
}

/**
 * HandshakeClosingClient is the pool's client: one whose handshake fails has its socket closed. pg
 * fails some handshakes on its own side (a URL that gives no password where the server asks one:
 * 'SASL: … client password must be a string'), and pg-pool drops such a client with its socket
 * still open, which the server holds for authentication_timeout (a minute): a start that could not
 * open the database said so and stayed up that minute before exiting.
 */
class HandshakeClosingClient extends pg.Client {
  override connect(): Promise<pg.Client>;
  override connect(callback: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void;
  override connect(callback?: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): Promise<pg.Client> | undefined {
    if (callback === undefined) {
      return super.connect().catch((err: unknown) => {
        dropConnection(this);
        throw err;
      });
    }
    const told = callback as (err: Error | null, c?: pg.Client) => void;
    super.connect(((err: Error | null, client?: pg.Client) => {
      if (err) dropConnection(this);
      told(err, client);
    }) as (err: Error) => void);
    return undefined;
  }
}

async function openPostgres(url: string, poolSize: number, abandonedTransactionMs: number): Promise<Storage> {
  const config = postgresClientConfig(url);
  const pool = new pg.Pool({
    ...config,
    max: poolSize,
    idle_in_transaction_session_timeout: abandonedTransactionMs,
    connectionTimeoutMillis: CONNECT_MS,
    Client: HandshakeClosingClient,
  });
  // An idle client whose server goes away (restart, failover, dropped database) emits 'error' on
  // the pool; unheard, that event would crash the process. The pool replaces the client itself.
  pool.on('error', () => {});
  // A client in use whose connection drops fails its query (the stage reports a retryable
  // StorageUnavailableError) and then also emits 'error', which the pool no longer hears for a
  // client it has lent out: unheard, it would end the process in the middle of an outage.
  pool.on('connect', (client) => {
    client.on('error', () => {});
    // A 202 promises a commit the server has flushed: a server, database or role defaulting to
    // synchronous_commit=off would acknowledge commits a crash of the server can lose. Tocsin's
    // transactions are written for read committed, where each statement sees what committed before
    // it began: the alerts' time floor is read after its lock wait, and the report scheduler reads
    // a window after waiting out the commits stamping alerts in it. Under a DBA's
    // default_transaction_isolation of repeatable read or serializable every statement read the
    // transaction's first snapshot, taken before those waits: the floor read was the one the
    // scheduler had raised past, and alerts fell into windows already judged. Queued ahead of the
    // client's first query; a failure shows in that query.
    client.query("set synchronous_commit = on; set default_transaction_isolation = 'read committed'").catch(() => {});
  });
  const watch = silentServerWatch(config);
  const retiring = retiringReadOnlySessions(preparedOnServer(pool, watch));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: retiring }) });
  try {
    // A server that takes the connection and never answers (a frozen host, a firewall) would hold
    // the start for ever, silently: given up on as unreachable (ETIMEDOUT), it is tried again.
    await withinMs(sql`select 1`.execute(db), FIRST_ANSWER_MS, 'the database');
  } catch (err) {
    // A server that refuses (too many clients, starting up) leaves a pool nobody would close. The
    // connection of one that does not answer never ends: that pool is let go without waiting.
    if (err instanceof DeadlineError) {
      db.destroy().catch(() => {});
      throw Object.assign(new Error(err.message), { code: 'ETIMEDOUT' });
    }
    await db.destroy();
    throw err;
  }
  return {
    db,
    dialect: 'postgres',
    description: postgresDescription(url),
    newSessionTakesWrites: newSessionCheck(config, retiring),
    close: () => ended(db.destroy(), () => watch.connections()),
  };
}

/** How long a new session's answer on writes is reused (Storage.newSessionTakesWrites): a connection a second at most, however often /readyz is asked. */
const NEW_SESSION_CHECK_MS = 1_000;

/** newSessionCheck is Storage.newSessionTakesWrites: a session of its own within SERVER_CHECK_MS, its answer reused for NEW_SESSION_CHECK_MS. */
function newSessionCheck(config: pg.ClientConfig, pool: RetiringPool): () => Promise<boolean> {
  let last: { readonly at: number; readonly writes: Promise<boolean> } | undefined;
  const ask = async () => {
    const session = new pg.Client({ ...config, connectionTimeoutMillis: SERVER_CHECK_MS });
    session.on('error', () => {});
    try {
      const answer = withinMs(
        session.connect().then(() => session.query<{ readOnly: string }>(`select current_setting('transaction_read_only') as "readOnly"`)),
        SERVER_CHECK_MS,
        'the database',
      );
      const writes = (await answer).rows[0]?.readOnly !== 'on';
      session.end().catch(() => {});
      if (writes) pool.retire();
      return writes;
    } catch {
      dropConnection(session);
      return false;
    }
  };
  return () => {
    const now = performance.now();
    if (!last || now - last.at >= NEW_SESSION_CHECK_MS) last = { at: now, writes: ask() };
    return last.writes;
  };
}
