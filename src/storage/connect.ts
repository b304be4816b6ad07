import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { ConfigError } from '../shared/config-error.js';
import { RAISE_THE_LIMIT, outOfDescriptors } from '../shared/out-of-descriptors.js';
import { type MigrationLockWait, appliedLine, migrate, pendingMigrations } from './migrate.js';
import { type OutageMessages, OutageLog } from './outage-log.js';
import { SQLITE_DISK_FULL, SQLITE_FULL, SqliteDiskFullError, type Storage, openStorage } from './storage.js';

/** BackoffPolicy spaces the attempts to reach a database: doubling from `firstMs` up to `maxMs`. */
export interface BackoffPolicy {
  readonly firstMs: number;
  readonly maxMs: number;
}

/** CONNECT_BACKOFF: retry soon after a blip, then every 15 s at most while the server stays full or down. */
export const CONNECT_BACKOFF: BackoffPolicy = Object.freeze({ firstMs: 500, maxMs: 15_000 });

/**
 * backoffDelay is how long to wait before attempt `failures + 1`: doubling, capped, and spread over
 * its upper half so that processes refused together do not all come back in the same instant.
 */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxMs, policy.firstMs * 2 ** Math.min(failures, 30));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** The SQLSTATEs and socket codes of a server that is there but full, starting or not reachable yet. */
const TOO_MANY_CONNECTIONS = '53300';
const STARTING_UP = '57P03';
/**
 * PostgreSQL's "database … is not currently accepting connections" (ALLOW_CONNECTIONS false: a
 * maintenance) is 55000, a code it shares; it is told apart by the function that raises it
 * (CheckMyDatabase), which a server whose messages are in another language (lc_messages) names
 * alike, or else by its English words.
 */
const NOT_ACCEPTING_CONNECTIONS = '55000';
function refusesConnections(error: { code?: unknown; message?: unknown; routine?: unknown }): boolean {
  if (error.code !== NOT_ACCEPTING_CONNECTIONS) return false;
  return error.routine === 'CheckMyDatabase' || (typeof error.message === 'string' && /not currently accepting connections/i.test(error.message));
}
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * UNAVAILABLE_CAUSES are the kinds of reason the database cannot be used, as /metrics labels them
 * (tocsin_not_ready{cause}): few and fixed, where the reason's words vary (PostgreSQL's own, a folder).
 */
export const UNAVAILABLE_CAUSES = [
  'unreachable',
  'too_many_connections',
  'starting_up',
  'not_accepting_connections',
  'credentials',
  'no_database',
  'file_descriptors',
  'locked',
  'disk_full',
  'file_replaced',
  'read_only',
] as const;

/** UnavailableCause is one kind of reason the database cannot be used (UNAVAILABLE_CAUSES). */
export type UnavailableCause = (typeof UNAVAILABLE_CAUSES)[number];

/** Unavailable is why the database cannot be used: its kind, and the words an operator reads on /readyz. */
export interface Unavailable {
  readonly cause: UnavailableCause;
  readonly reason: string;
}

/**
 * unavailable says why the database could not be used, as an operator reads it on /readyz: no
 * credentials, no host name, only the kind of refusal (PostgreSQL's own words when it is full,
 * since they tell the server's limit from the role's or the database's).
 */
export function unavailable(error: unknown): Unavailable {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code === TOO_MANY_CONNECTIONS) {
    return {
      cause: 'too_many_connections',
      reason: `too many connections: PostgreSQL refused a new one (${typeof message === 'string' ? message : 'limit reached'}); see TOCSIN_DB_POOL_SIZE`,
    };
  }
  if (code === STARTING_UP) return { cause: 'starting_up', reason: 'the database is starting up' };
  if (code === 'SQLITE_BUSY') return { cause: 'locked', reason: 'the SQLite file is locked by another process (a backup, an sqlite3 shell, a migration)' };
  // An SQLite file not opened for its full disk says which disk (openSqlite).
  if (code === SQLITE_FULL && typeof message === 'string') return { cause: 'disk_full', reason: message };
  if (refusesConnections(error ?? {})) {
    return { cause: 'not_accepting_connections', reason: 'the database is not accepting connections now (ALLOW_CONNECTIONS false)' };
  }
  if (typeof code === 'string' && code.startsWith('28')) return { cause: 'credentials', reason: 'the database refused the credentials of DATABASE_URL' };
  if (code === '3D000') return { cause: 'no_database', reason: 'the database named in DATABASE_URL does not exist' };
  // No descriptor for a new connection's socket is an outage for now, not a bug (POST /alerts answered 500).
  if (outOfDescriptors(code)) return { cause: 'file_descriptors', reason: `no file descriptor left to connect to the database (${code}): ${RAISE_THE_LIMIT}` };
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return { cause: 'unreachable', reason: `database unreachable (${code})` };
  return { cause: 'unreachable', reason: 'database unreachable' };
}

/** unavailableReason is unavailable's words alone. */
export function unavailableReason(error: unknown): string {
  return unavailable(error).reason;
}

/**
 * isWorthRetrying: a server that is full (class 53), starting or shutting down (57P0x), a database
 * closed to connections for a maintenance, or not reachable over the network may be there in a
 * moment; refused credentials, a missing database, a malformed URL or an SQLite file that cannot be
 * opened do not fix themselves, so they stop the start at once with their reason.
 */
export function isWorthRetrying(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    return (
      NETWORK_CODES.has(code) || outOfDescriptors(code) || /^(08|53)[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code) || refusesConnections(error ?? {})
    );
  }
  // pg reports a server that hangs up during the handshake without a code, and so a statement sent
  // on a client whose connection already failed ('Client has encountered a connection error and is
  // not queryable'; 'Client was closed…'): a transaction's next statement, or its rollback; Kysely
  // says 'Postgres connection has been discarded' of a statement sent on such a connection. pg-pool
  // says 'timeout exceeded when trying to connect' when no pooled connection came free within its
  // connectionTimeoutMillis (each held by a server that does not answer, or busy).
  return (
    typeof message === 'string' && /connection terminated|is not queryable|connection has been discarded|timeout exceeded when trying to connect/i.test(message)
  );
}

/**
 * cannotOpen is the start-up failure for a database that will not open by waiting (refused
 * credentials, a missing database, a file that cannot be created or is a folder): a sentence naming
 * DATABASE_URL, printed without a stack trace as every other bad setting. The driver's words say
 * why; they carry no password.
 */
function cannotOpen(err: unknown, setting: DatabaseSetting = 'DATABASE_URL'): ConfigError {
  const { message } = (err ?? {}) as { message?: unknown };
  const words = typeof message === 'string' && message ? message : String(err);
  // pg's own words for a URL without the password the server asks for name neither the URL nor the password's place.
  const said = /client password must be a (non-empty )?string/.test(words)
    ? `the server asks for a password and ${setting} gives none: write it in the URL, postgres://user:password@host:5432/db (${words})`
    : words;
  return new ConfigError(`${setting}: cannot open the database: ${said}`);
}

/**
 * DatabaseSetting is the variable an operator set to choose the database: DATABASE_URL, or with it
 * unset TOCSIN_DATA_DIR, whose folder holds the default SQLite file (config.ts databaseSetting).
 */
export type DatabaseSetting = 'DATABASE_URL' | 'TOCSIN_DATA_DIR';

/** openStorageOrStop opens the database like openStorage, a failure stopping the start as cannotOpen says. */
export async function openStorageOrStop(url: string, options: { poolSize: number; setting?: DatabaseSetting }): Promise<Storage> {
  return openStorage(url, { poolSize: options.poolSize }).catch((err: unknown) => {
    throw cannotOpen(err, options.setting);
  });
}

/** PostgreSQL's read_only_sql_transaction: a hot standby, or default_transaction_read_only on. */
const READ_ONLY_TRANSACTION = '25006';

/** READ_ONLY_REASON is why /readyz is not ready while PostgreSQL takes no writes, as a refused write's 503 logs it. */
export const READ_ONLY_REASON = 'the database takes no writes now (read-only: a standby, or a maintenance)';

/**
 * takesWrites asks the database whether it takes writes now: a PostgreSQL standby (a failover that
 * left DATABASE_URL's address on one) or a database set default_transaction_read_only answers reads,
 * so /readyz said ready while every write was a 503. SQLite has no such state (a read-only file does
 * not open at start; a full disk is Storage.diskFull), so there it is the query that says the database answers.
 */
export async function takesWrites(storage: Storage): Promise<boolean> {
  if (storage.dialect !== 'postgres') return sql`select 1`.execute(storage.db).then(() => true);
  const { rows } = await sql<{ readOnly: string }>`select current_setting('transaction_read_only') as "readOnly"`.execute(storage.db);
  if (rows[0]?.readOnly !== 'on') return true;
  // A pooled session keeps the setting of its opening: one opened during a maintenance since ended said
  // read-only for as long as the pool kept it (never idle while /readyz is asked), and /readyz with it.
  return (await storage.newSessionTakesWrites?.()) ?? false;
}

/**
 * stopIfReadOnly stops a start whose migrated database takes no writes (takesWrites), naming the
 * variable as migrateOrStop does when a migration is pending: with none, the start got past them and
 * stopped at its first write (the admin token's) with "cannot execute INSERT in a read-only
 * transaction" and a stack trace. Once serving, the same state is /readyz's 503 and the writes' 503s.
 */
export async function stopIfReadOnly(storage: Storage, setting: DatabaseSetting = 'DATABASE_URL'): Promise<void> {
  if (await takesWrites(storage)) return;
  throw new ConfigError(
    `${setting}: the database is read-only (transaction_read_only is on: a standby, or default_transaction_read_only set), and Tocsin writes from its start: point it at the primary server, or let the role write, and start again`,
  );
}

/** PostgreSQL's invalid_schema_name, of a statement creating a table where no schema of search_path exists. */
const NO_SCHEMA_TO_CREATE_IN = '3F000';

/**
 * stopUnlessUtf8 stops a start on a PostgreSQL database whose encoding is not UTF-8 (createdb -E,
 * or a cluster initialised in a LATIN1 or C locale), before any table is made in it. Tocsin stores
 * the text it is given, Japanese, emoji and all: a LATIN1 database refused such an alert, tenant or
 * user name as a 400 blaming the caller (the alert lost), and SQL_ASCII stored the bytes but
 * counted and folded them as bytes (length(), lower()). SQLite's text is always UTF-8.
 */
async function stopUnlessUtf8(storage: Storage, setting: DatabaseSetting): Promise<void> {
  if (storage.dialect !== 'postgres') return;
  const { rows } = await sql<{ encoding: string }>`select current_setting('server_encoding') as encoding`.execute(storage.db);
  const encoding = rows[0]?.encoding;
  if (encoding === 'UTF8') return;
  throw new ConfigError(
    `${setting}: the database's encoding is ${encoding}, and Tocsin stores text in UTF8 (every language, emoji): create it with ENCODING 'UTF8' (createdb -E UTF8 -T template0), restoring a dump of this one into it, and start again`,
  );
}

/** searchPathOf is the search_path of the database's sessions, as PostgreSQL spells it. */
async function searchPathOf(storage: Storage): Promise<string> {
  const { rows } = await sql<{ path: string }>`select current_setting('search_path') as path`.execute(storage.db);
  return rows[0]?.path ?? '';
}

/**
 * stopIfTablesOutOfReach stops a start on PostgreSQL whose tables are in a schema the role's
 * search_path no longer reaches (a DBA's tidy-up, a dump restored into another schema), naming the
 * schema: Kysely finds its migrations table in any schema but reads it by its bare name, and the
 * start stopped with 'relation "kysely_migration_lock" does not exist' and a stack trace. Tables made
 * afresh in the reachable schema instead would have shown an empty Tocsin, every tenant gone.
 */
async function stopIfTablesOutOfReach(storage: Storage, setting: DatabaseSetting): Promise<void> {
  if (storage.dialect !== 'postgres') return;
  const { rows } = await sql<{ schema: string }>`
    select n.nspname as schema from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relname = 'kysely_migration' and c.relkind = 'r' and not pg_table_is_visible(c.oid)
      and to_regclass('kysely_migration') is null
      and exists (select 1 from pg_class a where a.relname = 'alerts' and a.relnamespace = n.oid)
    order by 1`.execute(storage.db);
  if (rows.length === 0) return;
  const schemas = rows.map((row) => row.schema).join(', ');
  throw new ConfigError(
    `${setting}: Tocsin's tables are in schema ${schemas}, which the role's search_path (${await searchPathOf(storage)}) does not reach: set it to that schema (ALTER ROLE … SET search_path = ${rows[0]!.schema}) and start again`,
  );
}

/**
 * migrateOrStop applies the pending migrations; a PostgreSQL database not in UTF-8 (stopUnlessUtf8),
 * a search_path that names no schema that exists (a DBA's, for a schema not yet made) or does not
 * reach the schema of Tocsin's tables (stopIfTablesOutOfReach), a role that may not create tables
 * (PostgreSQL 15 and later let only the database's owner create them in public), a read-only SQLite
 * file, a read-only PostgreSQL database (an upgrade pointed at a standby) or a database that a newer
 * Tocsin migrated (an older build started again after an upgrade: Kysely refuses a database that ran
 * a migration it does not list) stops the start naming the variable that chose the database
 * (DATABASE_URL, else TOCSIN_DATA_DIR), as cannotOpen does; any other failure is thrown as it is.
 * `lockWait` bounds the wait for a locked SQLite file (migrate's; SQLITE_BUSY after it).
 */
export async function migrateOrStop(storage: Storage, setting: DatabaseSetting = 'DATABASE_URL', lockWait?: MigrationLockWait): Promise<string[]> {
  await stopUnlessUtf8(storage, setting);
  await stopIfTablesOutOfReach(storage, setting);
  return migrate(storage, lockWait).catch(async (err: unknown) => {
    const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
    if (code === READ_ONLY_TRANSACTION) {
      // Kysely rolled the migrations back; which ones wait is what the operator needs to know.
      const pending = await pendingMigrations(storage).catch(() => []);
      throw new ConfigError(
        `${setting}: the database is read-only (${String(message)}), so this version cannot apply its migrations (${pending.join(', ')}): point it at the primary server, or let the role write, and start again`,
      );
    }
    const unknown = typeof message === 'string' ? /previously executed migration (\S+) is missing/.exec(message)?.[1] : undefined;
    if (unknown !== undefined) {
      throw new ConfigError(
        `${setting}: the database was migrated by a newer Tocsin (migration ${unknown}, which this version does not know): run that version or a later one, or restore the backup taken before the upgrade`,
      );
    }
    if (code === NO_SCHEMA_TO_CREATE_IN) {
      const searchPath = await searchPathOf(storage).catch(() => '');
      throw new ConfigError(
        `${setting}: cannot create Tocsin's tables: no schema of the role's search_path (${searchPath}) exists: create it (CREATE SCHEMA name AUTHORIZATION the role) or set the role's search_path to one it may create in, and start again`,
      );
    }
    if (code !== '42501' && !(typeof code === 'string' && code.startsWith('SQLITE_READONLY'))) throw err;
    throw new ConfigError(
      `${setting}: cannot create Tocsin's tables: ${String(message)} (its role needs CREATE on the schema, which the database's owner has, and to own the tables another role made: restore the dump as this role, pg_restore --no-owner --role=<this role>, or in this database REASSIGN OWNED BY that role TO this one, which also hands it that role's databases)`,
    );
  });
}

/**
 * ConnectOptions: the pool size, the log, what to tell while waiting and when to give up waiting; the
 * backoff policy, the sleep and the randomness are passed in (default CONNECT_BACKOFF, setTimeout and
 * Math.random).
 */
export interface ConnectOptions {
  readonly poolSize: number;
  readonly logger: Logger;
  /** The variable that chose the database, named when it cannot be opened (default DATABASE_URL). */
  readonly setting?: DatabaseSetting;
  /** Called with the reason (and its kind) before each wait; the first call comes at the first refusal. */
  readonly onWaiting?: (reason: string, cause: UnavailableCause) => void | Promise<void>;
  /**
   * Ends the waiting once aborted (a SIGTERM while the database is waited for): the next attempt is
   * not made and the wait under way ends, rejecting with the signal's reason.
   */
  readonly signal?: AbortSignal;
  readonly policy?: BackoffPolicy;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/**
 * openStorageWhenReachable opens the database like openStorage, but a server that is full, down or
 * still starting is tried again with backoff (logged, and reported through onWaiting) instead of
 * ending the process: a worker started while PostgreSQL has no free connection joins when one frees.
 */
export async function openStorageWhenReachable(url: string, options: ConnectOptions): Promise<Storage> {
  return whileUnavailable(
    () => openStorage(url, { poolSize: options.poolSize, logger: options.logger }),
    {
      ...options,
      // An SQLite file on a full disk opens once room is freed, as a full PostgreSQL takes connections once some end.
      retried: (err) => isWorthRetrying(err) || err instanceof SqliteDiskFullError,
      stop: (err) => cannotOpen(err, options.setting),
      // The wait on a full disk says what ends it: 'cannot connect' sent the operator to the network.
      waitingFor: (err) =>
        err instanceof SqliteDiskFullError
          ? `${SQLITE_DISK_FULL}: free space in ${err.folder}; Tocsin starts once it has room`
          : 'cannot connect to the database; retrying',
    },
    (failures) => options.logger.info({ attempts: failures + 1 }, 'database reachable again'),
  );
}

/**
 * MIGRATION_LOCK_WAIT_MS: how long a starting server waits for a locked SQLite file before it says
 * so: a commit of another process holds the lock for milliseconds, a backup or a shell for longer,
 * and an operator should not wait busy_timeout's 10 s in silence to learn which.
 */
const MIGRATION_LOCK_WAIT_MS = 1_000;

/**
 * migrateWhenFree applies the pending migrations as migrateOrStop does, but waits out an SQLite
 * file whose write lock another process holds past MIGRATION_LOCK_WAIT_MS (a backup, an sqlite3
 * shell, a `tocsin migrate` beside it), and a PostgreSQL that went away midway (isWorthRetrying), logged and reported through onWaiting as
 * openStorageWhenReachable's waits are, where the start used to end with a stack trace and
 * 'database is locked'. The signal ends that wait too, and the one for the lock within an attempt.
 */
export async function migrateWhenFree(storage: Storage, options: Omit<ConnectOptions, 'poolSize'>): Promise<string[]> {
  const lockWait = { timeoutMs: MIGRATION_LOCK_WAIT_MS, sleep: abortableSleep(options.signal), logger: options.logger };
  const applied = await whileUnavailable(
    () => migrateOrStop(storage, options.setting, lockWait),
    {
      ...options,
      // A connection lost midway (PostgreSQL restarted, failed over, the backend terminated) took the
      // transaction of the migrations with it: they are applied again once the database answers.
      retried: (err) => (err as { code?: unknown } | null)?.code === 'SQLITE_BUSY' || isWorthRetrying(err),
      stop: (err) => err,
      waitingFor: 'cannot apply the migrations; retrying',
    },
    (failures) => options.logger.info({ failures }, 'the migrations waited for the database and are applied now'),
  );
  // An upgrade's start said nothing of its migrations (only `tocsin migrate` named them), so the
  // operator could not tell from the log whether, or which, ran; the one process that applied them says so.
  if (applied.length > 0) options.logger.info({ migrations: applied }, appliedLine(applied, storage.description));
  return applied;
}

/** abortableSleep is a pause that ends, rejecting with an AbortError, once `signal` is aborted. */
function abortableSleep(signal: AbortSignal | undefined): (ms: number) => Promise<void> {
  return (ms) => delay(ms, undefined, { signal });
}

/**
 * whileUnavailable runs `attempt` until it succeeds, waiting with backoff after each failure that
 * `retried` says may pass (its reason given to onWaiting); any other failure is thrown as `stop`
 * makes it. The wait is logged as an outage is (OutageLog): once with `waitingFor`'s line, again
 * when that line changes (the database unreachable, then its disk full), a reminder every 5 minutes,
 * each retry at debug: a warning per retry, every 15 s, buried the one that said what to do.
 * `recovered` hears how many failures came before success.
 */
async function whileUnavailable<T>(
  attempt: () => Promise<T>,
  options: Omit<ConnectOptions, 'poolSize'> & {
    retried: (err: unknown) => boolean;
    stop: (err: unknown) => unknown;
    waitingFor: OutageMessages['failed'];
  },
  recovered?: (failures: number) => void,
): Promise<T> {
  const policy = options.policy ?? CONNECT_BACKOFF;
  const sleep = options.sleep ?? abortableSleep(options.signal);
  // Its `back` is not logged: `recovered` says it where the wait's end is news.
  const waiting = new OutageLog(options.logger, { failed: options.waitingFor, back: '' });
  for (let failures = 0; ; failures += 1) {
    options.signal?.throwIfAborted();
    try {
      const result = await attempt();
      if (failures > 0) recovered?.(failures);
      return result;
    } catch (err) {
      if (!options.retried(err)) throw options.stop(err);
      const waitMs = backoffDelay(failures, policy, options.random ?? Math.random);
      waiting.failed(err, waitMs);
      const { reason, cause } = unavailable(err);
      await options.onWaiting?.(reason, cause);
      await sleep(waitMs);
    }
  }
}
