import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type RawBuilder, sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { DIALECTS, TEST_PG_URL, createLimitedRole, createTestDatabase, describeEachDialect } from '../../test/support/storage.js';
import { captureWarnings } from '../../test/support/log-capture.js';
import { until } from '../../test/support/until.js';
import { MIGRATIONS } from './migrations/index.js';
import { migrate, migratorFor, pendingMigrations } from './migrate.js';
import { type Storage, openStorage } from './storage.js';
import type { Dialect } from './dialect.js';
import { migrateOrStop } from './connect.js';
import { ConfigError } from '../shared/config-error.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cli/main.ts');

describeEachDialect('migrating one database from several processes at once', (dialect) => {
  it('applies each migration once, every process ending without error (tocsin migrate while another starts)', async () => {
    // On SQLite, Kysely takes no migration lock: two processes both read "nothing applied" and the
    // second failed with 'table "alerts" already exists'.
    const database = await createTestDatabase(dialect);
    try {
      const run = () =>
        promisify(execFile)(process.execPath, ['--import', 'tsx', MAIN, 'migrate'], {
          env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'silent' },
          timeout: 120_000,
        }).then(
          ({ stdout }) => ({ code: 0, out: stdout }),
          (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code, out: `${err.stdout}${err.stderr}` }),
        );
      const runs = await Promise.all([run(), run(), run()]);
      expect(
        runs.map((r) => r.code),
        runs.map((r) => r.out).join('\n'),
      ).toEqual([0, 0, 0]);
      // Each migration was applied by exactly one of them.
      const applied = runs.flatMap((r) =>
        r.out
          .split('\n')
          .filter((line) => /^\s+\d{8}-/.test(line))
          .map((line) => line.trim()),
      );
      expect(applied.sort()).toEqual(Object.keys(MIGRATIONS).sort());
      const storage = await openStorage(database.url, { poolSize: 1 });
      try {
        expect(await pendingMigrations(storage)).toEqual([]);
      } finally {
        await storage.close();
      }
    } finally {
      await database.drop();
    }
  }, 180_000);
});

/** onMigratedDatabase runs `use` on a fresh, fully migrated database of the dialect, then drops it. */
async function onMigratedDatabase(dialect: Dialect, use: (storage: Storage) => Promise<void>): Promise<void> {
  const database = await createTestDatabase(dialect);
  const storage = await openStorage(database.url, { poolSize: 1 });
  try {
    await migrate(storage);
    await use(storage);
  } finally {
    await storage.close();
    await database.drop();
  }
}

describeEachDialect('upgrading a database that missed a migration named before its last one', (dialect) => {
  it('applies the missed one and starts (main of 2026-11-29 23:29 had applied 20261130-70-sources but not 20261130-61-reports-schedule)', async () => {
    // Migrations land from parallel branches, so one can be named before another that a database
    // already ran: Kysely refused such a database ("corrupted migrations") and Tocsin never started.
    await onMigratedDatabase(dialect, async (storage) => {
      await storage.db.schema.dropTable('report_schedule').execute();
      await sql`delete from kysely_migration where name = ${'20261130-61-reports-schedule'}`.execute(storage.db);
      expect(await pendingMigrations(storage)).toEqual(['20261130-61-reports-schedule']);
      expect(await migrate(storage)).toEqual(['20261130-61-reports-schedule']);
      expect(await pendingMigrations(storage)).toEqual([]);
      await storage.db.selectFrom('report_schedule').selectAll().execute();
    });
  });
});

describeEachDialect('starting on a database that a newer Tocsin migrated', (dialect) => {
  it('stops with one line naming DATABASE_URL and the migration this version does not know, not a stack trace (a rollback after an upgrade)', async () => {
    await onMigratedDatabase(dialect, async (storage) => {
      const newer = '29991231-10-from-a-newer-tocsin';
      await sql`insert into kysely_migration (name, timestamp) values (${newer}, ${new Date().toISOString()})`.execute(storage.db);
      const failure = await migrateOrStop(storage).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(ConfigError);
      const message = (failure as Error).message;
      expect(message).toMatch(/^DATABASE_URL: /);
      expect(message).toContain(newer);
      expect(message).toMatch(/newer Tocsin/);
      expect(message).not.toContain('\n');
    });
  });
});

it('names TOCSIN_DATA_DIR, not DATABASE_URL, when the SQLite file of the data folder was migrated by a newer Tocsin', async () => {
  // An operator who never set DATABASE_URL (the data folder's tocsin.db) was told to look at it.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-newer-'));
  try {
    const { DATABASE_URL: _unset, ...env } = process.env;
    const storage = await openStorage(`sqlite:${path.join(dataDir, 'tocsin.db')}`, { poolSize: 1 });
    try {
      await migrate(storage);
      await sql`insert into kysely_migration (name, timestamp) values (${'29991231-10-from-a-newer-tocsin'}, ${new Date().toISOString()})`.execute(storage.db);
    } finally {
      await storage.close();
    }
    const failed = await promisify(execFile)(process.execPath, ['--import', 'tsx', MAIN, 'migrate'], {
      env: { ...env, TOCSIN_DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
      timeout: 120_000,
    }).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/^tocsin: TOCSIN_DATA_DIR: the database was migrated by a newer Tocsin/);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 120_000);

it.runIf(TEST_PG_URL)(
  'stops with one line naming DATABASE_URL when the PostgreSQL database is read-only and a migration is pending, not a stack trace',
  async () => {
    // An upgrade pointed at a standby, or at a database set default_transaction_read_only, printed
    // 'tocsin: error: cannot execute CREATE FUNCTION in a read-only transaction' and a Kysely stack.
    const database = await createTestDatabase('postgres');
    const name = new URL(database.url).pathname.slice(1);
    try {
      const storage = await openStorage(database.url, { poolSize: 1 });
      try {
        await migrate(storage);
        // As a database left by the version before the last migration (which only replaces a function).
        const last = Object.keys(MIGRATIONS).at(-1)!;
        await sql`delete from kysely_migration where name = ${last}`.execute(storage.db);
        await sql`alter database ${sql.id(name)} set default_transaction_read_only = on`.execute(storage.db);
      } finally {
        await storage.close();
      }
      const readOnly = await openStorage(database.url, { poolSize: 1 });
      try {
        const message = await stopLine(readOnly);
        expect(message).toMatch(/read-only/);
        expect(message).toContain(Object.keys(MIGRATIONS).at(-1));
      } finally {
        await readOnly.close();
      }
    } finally {
      await database.drop();
    }
  },
);

describe.runIf(DIALECTS.includes('postgres'))('upgrading PostgreSQL while a process of the older build writes (a rolling upgrade under load)', () => {
  it('applies the migrations when PostgreSQL ends their transaction to break a deadlock with that process, rather than stopping the start', async () => {
    // Seen upgrading an installation of 2026-12-01 with alerts coming in: the migrations index
    // deliveries (holding its writes) and later reference alerts, which an alert's commit holds
    // while it waits to queue its emails in deliveries. PostgreSQL broke the cycle by ending one
    // side; when it was the migrations, `tocsin serve` and `tocsin migrate` stopped with 'deadlock detected'.
    const database = await createTestDatabase('postgres');
    const storage = await openStorage(database.url, { poolSize: 2 });
    const older = new pg.Client({ connectionString: database.url });
    const watch = new pg.Client({ connectionString: database.url });
    try {
      const { error } = await migratorFor(storage).migrateTo('20261201-20-deliveries-by-age');
      if (error) throw error;
      await older.connect();
      await watch.connect();
      const olderPid = (await older.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      // The older build's alert commit: its alert written, its emails about to be queued.
      await older.query('begin');
      await older.query('lock table alerts in row exclusive mode');
      const migrating = migrate(storage).then(
        (applied) => ({ applied }),
        (err: unknown) => ({ failed: String(err) }),
      );
      await until(
        async () =>
          (await watch.query("select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> $1", [olderPid]))
            .rowCount! > 0,
        'the migrations to wait for the alerts table',
      );
      // Waiting first, the migrations are the side PostgreSQL ends.
      const queued = await older.query('lock table deliveries in row exclusive mode').then(
        () => 'queued',
        (err: Error) => err.message,
      );
      expect(queued).toBe('queued');
      await older.query('commit');
      expect(await migrating).toEqual({ applied: Object.keys(MIGRATIONS).filter((name) => name > '20261201-20-deliveries-by-age') });
      expect(await pendingMigrations(storage)).toEqual([]);
    } finally {
      await older.end().catch(() => undefined);
      await watch.end();
      await storage.close();
      await database.drop();
    }
  }, 30_000);
});

// A DBA's database in another encoding than UTF-8 (createdb -E LATIN1, or SQL_ASCII) started and
// served: LATIN1 then refused every alert, tenant or user name with a character it lacks (Japanese,
// emoji) as a 400 'A value is out of range or cannot be stored' blaming the caller, the alert lost;
// SQL_ASCII stored the bytes but counted and folded them as bytes (the delivery log's search for
// 'émile@…' found none of its emails).
describe.runIf(DIALECTS.includes('postgres'))('starting on a PostgreSQL database not in UTF-8', () => {
  for (const encoding of ['LATIN1', 'SQL_ASCII'] as const) {
    it(`stops with one line naming DATABASE_URL and ${encoding}, before creating a table`, async () => {
      const database = await createTestDatabase('postgres', { encoding });
      const storage = await openStorage(database.url, { poolSize: 1 });
      try {
        const message = await stopLine(storage);
        expect(message).toContain(encoding);
        expect(message).toContain('UTF8');
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_tables where schemaname = current_schema()`.execute(storage.db);
        expect(rows[0]!.n).toBe(0);
      } finally {
        await storage.close();
        await database.drop();
      }
    });
  }
});

// A DBA's statement_timeout and lock_timeout on the database or role bound every statement, the wait
// for the migrations' lock included: a process starting beside one still migrating (an upgrade of
// several processes at once) stopped with 'canceling statement due to statement timeout' and a
// stack trace once the other held the lock longer than that.
it.runIf(TEST_PG_URL)("waits for another process's migrations past the statement_timeout and lock_timeout a DBA set, then finds them applied", async () => {
  const database = await createTestDatabase('postgres', { migrated: true });
  const name = new URL(database.url).pathname.slice(1);
  const holder = new pg.Client({ connectionString: database.url, user: decodeURIComponent(new URL(database.url).username) });
  await holder.connect();
  try {
    await holder.query(`alter database ${name} set statement_timeout = '200ms'; alter database ${name} set lock_timeout = '200ms'`);
    await holder.query('set statement_timeout = 0; select pg_advisory_lock(3853314791062309107)');
    const storage = await openStorage(database.url, { poolSize: 1 });
    try {
      const migrating = migrateOrStop(storage);
      migrating.catch(() => {});
      await until(async () => {
        const { rows } = await holder.query("select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted");
        return rows[0].n > 0;
      }, 'the migrations waiting for the lock');
      // The other process's migrations take longer than the timeouts; then it lets go of the lock, all applied.
      await holder.query('select pg_sleep(0.5), pg_advisory_unlock(3853314791062309107)');
      expect(await migrating).toEqual([]);
      const { rows } = await sql<{ timeout: string }>`select current_setting('statement_timeout') as timeout`.execute(storage.db);
      expect(rows[0]!.timeout).toBe('200ms');
    } finally {
      await storage.close();
    }
  } finally {
    await holder.end();
    await database.drop();
  }
});

// Kysely waits for the migrations' advisory lock without end: a second start while another process
// applied them (or an operator's session held it) said nothing at all for as long.
it.runIf(TEST_PG_URL)('says once that the migrations wait for a lock, naming the session that holds it, and once that they no longer do', async () => {
  const database = await createTestDatabase('postgres', { migrated: true });
  const holder = new pg.Client({ connectionString: database.url, user: decodeURIComponent(new URL(database.url).username), application_name: 'psql' });
  await holder.connect();
  const { log, entries } = captureWarnings('info');
  try {
    const { rows } = await holder.query('select pg_backend_pid() as pid, pg_advisory_lock(3853314791062309107)');
    const storage = await openStorage(database.url, { poolSize: 2 });
    try {
      const migrating = migrateOrStop(storage, 'DATABASE_URL', { logger: log });
      migrating.catch(() => {});
      await until(() => entries.length > 0, 'the wait to be told');
      expect(entries[0]).toMatchObject({ level: 40, holders: [{ pid: rows[0].pid, application_name: 'psql', state: 'idle' }] });
      expect(entries[0]!.msg).toMatch(new RegExp(`^the database migrations wait for a lock held by pid ${rows[0].pid} \\(application_name 'psql', idle\\): `));
      await holder.query('select pg_advisory_unlock(3853314791062309107)');
      expect(await migrating).toEqual([]);
      expect(entries.map((e) => [e.level, e.msg])).toEqual([
        [40, entries[0]!.msg],
        [30, 'the database migrations no longer wait for a lock'],
      ]);
    } finally {
      await storage.close();
    }
  } finally {
    await holder.end();
    await database.drop();
  }
});

// A DBA who set the role's search_path to Tocsin's own schema and did not create it (or misspelt
// it): PostgreSQL has nowhere to create the tables, and the start stopped with 'no schema has been
// selected to create in' and a stack trace.
it.runIf(TEST_PG_URL)('stops with one line naming DATABASE_URL and the search_path when it names no schema that exists', async () => {
  const message = await stopLineOn({ migrated: false }, (name) => sql`alter database ${sql.id(name)} set search_path = tocsin_not_made`);
  expect(message).toContain('search_path');
  expect(message).toContain('tocsin_not_made');
});

// A dump restored by another role (a DBA's, a superuser's) into a database handed to Tocsin's role:
// the line advised only 'REASSIGN OWNED BY that role TO this one', which also hands Tocsin's role
// every database the restoring role owns (a walk so moved the server's own 'tocsin' database).
it.runIf(TEST_PG_URL)(
  'stops with one line saying how to own the tables a dump restored by another role made, and what REASSIGN OWNED also hands over',
  async () => {
    const database = await createTestDatabase('postgres', { migrated: true });
    const role = await createLimitedRole(database, 5);
    try {
      const storage = await openStorage(role.url, { poolSize: 1 });
      try {
        const message = await stopLine(storage);
        expect(message).toContain('pg_restore --no-owner --role=');
        expect(message).toMatch(/REASSIGN OWNED BY .* databases/);
      } finally {
        await storage.close();
      }
    } finally {
      await database.drop();
      await role.drop();
    }
  },
);

/** stopLine is the line migrateOrStop stops the start with on `storage`: a ConfigError naming DATABASE_URL, one line. */
async function stopLine(storage: Storage): Promise<string> {
  const failure = await migrateOrStop(storage).catch((err: unknown) => err);
  expect(failure).toBeInstanceOf(ConfigError);
  const message = (failure as Error).message;
  expect(message).toMatch(/^DATABASE_URL: /);
  expect(message).not.toContain('\n');
  return message;
}

// A DBA who changed the role's search_path away from the schema of Tocsin's tables (a tidy-up, a
// dump restored into another schema): Kysely found its table in that schema, then read it by its
// bare name, and the start stopped with 'relation "kysely_migration_lock" does not exist' and a
// stack trace.
it.runIf(TEST_PG_URL)("stops with one line naming the schema of Tocsin's tables when the search_path no longer reaches it", async () => {
  const message = await stopLineOn({ migrated: true }, (name) => sql`create schema elsewhere; alter database ${sql.id(name)} set search_path = elsewhere`);
  expect(message).toContain('public');
  expect(message).toContain('search_path (elsewhere)');
});

/** stopLineOn is stopLine on a new PostgreSQL database (at the latest migration if asked) once `prepare`, given its name, ran on it. */
async function stopLineOn({ migrated }: { migrated: boolean }, prepare: (name: string) => RawBuilder<unknown>): Promise<string> {
  const database = await createTestDatabase('postgres', { migrated });
  try {
    const admin = await openStorage(database.url, { poolSize: 1 });
    await prepare(new URL(database.url).pathname.slice(1))
      .execute(admin.db)
      .finally(() => admin.close());
    const storage = await openStorage(database.url, { poolSize: 1 });
    try {
      return await stopLine(storage);
    } finally {
      await storage.close();
    }
  } finally {
    await database.drop();
  }
}
