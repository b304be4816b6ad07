import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Logger } from 'pino';
import { setTimeout as delay } from 'node:timers/promises';
import type { Dialect } from './dialect.js';
import { lostTransactionRace } from './errors.js';
import { MIGRATIONS } from './migrations/index.js';
import type { Storage } from './storage.js';
import { type WriteTransactionOptions, writeTransaction } from './write-transaction.js';

/**
 * A migration module in `migrations/`, listed in `migrations/index.ts`: its file name
 * (`YYYYMMDD-NN-domain-purpose.ts`) orders it, and it receives the dialect because a few column
 * types differ between engines.
 */
export interface TocsinMigration {
  up(db: Kysely<any>, dialect: Dialect): Promise<void>;
}

class ListedMigrationProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const migrations: Record<string, Migration> = {};
    for (const [name, load] of Object.entries(MIGRATIONS)) {
      const mod = await load();
      migrations[name] = { up: (db) => mod.up(db, this.dialect) };
    }
    return migrations;
  }
}

/**
 * Migrations land from parallel branches, so a new one may be named before one a database has
 * already run (main of 2026-11-29 23:29 ran 20261130-70-sources before 20261130-61-reports-schedule
 * existed): it is applied all the same, in name order with the other pending ones, rather than
 * refusing the database. Each migration stands on the ones named before it, never on later ones.
 * Tests also build an older version's schema with it (`migrateTo`).
 */
export function migratorFor(storage: Storage, db: Kysely<any> = storage.db): Migrator {
  return new Migrator({ db, provider: new ListedMigrationProvider(storage.dialect), allowUnorderedMigrations: true });
}

async function migrateToLatest(migrator: Migrator): Promise<string[]> {
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * MigrationLockWait: how long migrate waits for SQLite's write lock before failing with SQLITE_BUSY
 * (default busy_timeout's 10 s), and how it pauses between tries (a pause that rejects ends the wait).
 */
export type MigrationLockWait = Pick<WriteTransactionOptions, 'timeoutMs' | 'sleep'> & {
  /** Told (PostgreSQL) when the migrations begin to wait for a lock another session holds, naming it, and when they no longer do (watchLockWaits). */
  readonly logger?: Logger | undefined;
};

/**
 * migrate applies every pending migration and returns the names it applied. On PostgreSQL Kysely
 * runs them in one transaction under an advisory lock. On SQLite it takes no lock and no
 * transaction, so two processes starting on one file (tocsin migrate beside tocsin serve) both
 * read "nothing applied" and the second failed on a table the first had made: there they run in
 * one `begin immediate` transaction, which the others wait for and then find done; a failure or a
 * crash midway leaves the file as it was. That wait is writeTransaction's, which leaves the event
 * loop free: SQLite's own (busy_timeout) slept in the thread, so a starting `tocsin serve` neither
 * logged nor heard a SIGTERM for its 10 s.
 */
export async function migrate(storage: Storage, lockWait: MigrationLockWait = {}): Promise<string[]> {
  if (storage.dialect !== 'sqlite') return migrateToLatestAgainAfterRaces(storage, lockWait.logger);
  return writeTransaction(storage, lockWait)((connection) => migrateToLatest(migratorFor(storage, connection)));
}

/** appliedLine says how many migrations were applied to a database (`description`): `tocsin migrate`'s heading, `tocsin serve`'s log. */
export function appliedLine(applied: readonly string[], description: string): string {
  return `applied ${applied.length} migration(s) to ${description}`;
}

/** MIGRATION_RACE_TRIES: how many times the migrations' transaction is run when PostgreSQL keeps ending it to break deadlocks. */
const MIGRATION_RACE_TRIES = 5;

/**
 * migrateToLatestAgainAfterRaces runs PostgreSQL's migrations again when the server ended their
 * transaction to break a deadlock (or a serialization failure): during a rolling upgrade an older
 * build's processes go on writing, and a migration that indexes a table and then references another
 * (20261202-20 indexes deliveries, 20261205-10 references alerts) meets an alert's commit holding
 * alerts and waiting to queue its emails in deliveries. When PostgreSQL ended the migrations' side,
 * `tocsin serve` and `tocsin migrate` stopped with 'deadlock detected'. The transaction was rolled
 * back whole, so running it again is safe; the other side has gone on meanwhile.
 */
async function migrateToLatestAgainAfterRaces(storage: Storage, logger: Logger | undefined): Promise<string[]> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await storage.db.connection().execute(async (conn) => {
        const watch = logger && watchLockWaits(storage, await backendPid(conn), logger);
        try {
          return await withoutTimeouts(conn, () => migrateToLatest(migratorFor(storage, conn)));
        } finally {
          watch?.stop();
        }
      });
    } catch (err) {
      if (attempt >= MIGRATION_RACE_TRIES || !lostTransactionRace(err)) throw err;
      await delay(100 * attempt);
    }
  }
}

/** LOCK_WATCH_MS: how often the migrations' session is looked at for a wait on a lock another session holds. */
const LOCK_WATCH_MS = 1_000;

/** backendPid is the process id of the PostgreSQL session `conn` runs on. */
async function backendPid(conn: Kysely<any>): Promise<number> {
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn);
  return rows[0]!.pid;
}

/** LockHolder is a session that holds a lock the migrations wait for, as pg_stat_activity says. */
interface LockHolder {
  readonly pid: number;
  readonly application_name: string;
  readonly state: string | null;
  readonly xact_start: Date | null;
}

/**
 * watchLockWaits tells `log` when the migrations' session (`pid`) begins to wait for a lock another
 * session holds (pg_blocking_pids: another Tocsin applying them, whose advisory lock Kysely waits for
 * without end, or an operator's long transaction on a table a migration alters), naming who holds it
 * and since when, and when it no longer waits: a second start sat silent for as long, its /readyz
 * saying only that it was migrating. Asked every LOCK_WATCH_MS on another of the pool's sessions
 * (none with a pool of one, which the wait holds).
 */
function watchLockWaits(storage: Storage, pid: number, log: Logger): { stop(): void } {
  let waitingSince: number | undefined;
  let asking = false;
  let stopped = false;
  const ended = () => {
    if (waitingSince === undefined) return;
    log.info({ waitedMs: Math.round(performance.now() - waitingSince) }, 'the database migrations no longer wait for a lock');
    waitingSince = undefined;
  };
  const timer = setInterval(async () => {
    if (asking) return;
    asking = true;
    try {
      const { rows } = await sql<LockHolder>`
        select pid, application_name, state, xact_start from pg_stat_activity where pid = any(pg_blocking_pids(${pid})) order by pid`.execute(storage.db);
      if (stopped || rows.length === 0) return ended();
      if (waitingSince !== undefined) return;
      waitingSince = performance.now();
      const holders = rows.map(
        (h) =>
          `pid ${h.pid} (application_name '${h.application_name}', ${h.state ?? 'state unknown'}${h.xact_start ? `, in a transaction since ${h.xact_start.toISOString()}` : ''})`,
      );
      log.warn(
        { holders: rows },
        `the database migrations wait for a lock held by ${holders.join(', ')}: another Tocsin applying them, or an operator's transaction; they go on once it is released`,
      );
    } catch {
      // Not told this time (the database busy or away): the migrations' own failure says the rest.
    } finally {
      asking = false;
    }
  }, LOCK_WATCH_MS);
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      ended();
    },
  };
}

/**
 * withoutTimeouts runs `work` on the PostgreSQL connection `conn` with no statement_timeout or
 * lock_timeout, then gives the connection back the database's or role's own. A DBA's timeouts bound
 * every statement, and the migrations' wait for their lock lasts as long as another process's
 * migrations (an upgrade of several processes at once): past the timeout the start stopped with
 * 'canceling statement due to statement timeout' and a stack trace. Their DDL also waits for the
 * locks of an older build's transactions during a rolling upgrade, and an index on a large table
 * may take longer than a timeout meant for requests.
 */
async function withoutTimeouts<T>(conn: Kysely<any>, work: () => Promise<T>): Promise<T> {
  await sql`set statement_timeout = 0; set lock_timeout = 0`.execute(conn);
  try {
    return await work();
  } finally {
    await sql`reset statement_timeout; reset lock_timeout`.execute(conn).catch(() => {});
  }
}

/** pendingMigrations names the migrations not yet applied (readiness requires none). */
export async function pendingMigrations(storage: Storage): Promise<string[]> {
  const all = await migratorFor(storage).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
