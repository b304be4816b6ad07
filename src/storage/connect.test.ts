import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelay, isWorthRetrying, migrateWhenFree, openStorageOrStop, openStorageWhenReachable, unavailableReason } from './connect.js';
import { pendingMigrations } from './migrate.js';
import { type Storage, openStorage, postgresDescription } from './storage.js';
import { DIALECTS, TEST_PG_URL, createLimitedRole, createTestDatabase } from '../../test/support/storage.js';
import { proxyFor, viaProxy } from '../../test/support/tcp-proxy.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { captureWarnings } from '../../test/support/log-capture.js';
import { mountSmallDisk } from '../../test/support/small-disk.js';
import { until } from '../../test/support/until.js';

describe('retrying a database that refuses', () => {
  it('doubles the wait up to the cap, spread over its upper half', () => {
    const policy = { firstMs: 500, maxMs: 15_000 };
    expect([0, 1, 2, 3, 4, 5, 40].map((n) => backoffDelay(n, policy, () => 1))).toEqual([500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000]);
    expect(backoffDelay(2, policy, () => 0)).toBe(1_000);
  });

  it('retries a full, starting or unreachable server, not refused credentials, a missing database or a bad URL', () => {
    for (const code of ['53300', '57P03', '08006', 'ECONNREFUSED', 'ENOTFOUND']) expect(isWorthRetrying({ code })).toBe(true);
    expect(isWorthRetrying(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isWorthRetrying(new Error('Postgres connection has been discarded'))).toBe(true);
    for (const code of ['28P01', '28000', '3D000', 'SQLITE_CANTOPEN']) expect(isWorthRetrying({ code })).toBe(false);
    expect(isWorthRetrying(new Error('DATABASE_URL must start with sqlite: or postgres://'))).toBe(false);
  });

  it('retries a database closed to connections for a maintenance (ALLOW_CONNECTIONS false), not another error of its SQLSTATE', () => {
    expect(isWorthRetrying({ code: '55000', message: 'database "tocsin" is not currently accepting connections' })).toBe(true);
    expect(isWorthRetrying({ code: '55000', message: 'currval of sequence "s" is not yet defined in this session' })).toBe(false);
  });

  it("retries a database closed to connections whatever language the server's messages are in (lc_messages)", () => {
    // A server set up in German says so in German: read from the words alone, it stopped the start
    // as a database that never opens, and answered 500 with a stack trace at every request.
    const german = { code: '55000', routine: 'CheckMyDatabase', message: 'Datenbank \u00bbtocsin\u00ab akzeptiert gegenw\u00e4rtig keine Verbindungen' };
    expect(isWorthRetrying(german)).toBe(true);
    expect(unavailableReason(german)).toBe('the database is not accepting connections now (ALLOW_CONNECTIONS false)');
    expect(
      isWorthRetrying({
        code: '55000',
        routine: 'currval_oid',
        message: 'currval des Sequenzobjekts \u00bbs\u00ab ist in dieser Sitzung noch nicht definiert',
      }),
    ).toBe(false);
  });

  it.runIf(TEST_PG_URL)('knows the refusal of a database closed to connections by where PostgreSQL raises it, not only by its words [postgres]', async () => {
    const database = await createTestDatabase('postgres');
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    const name = new URL(database.url).pathname.slice(1);
    const client = new pg.Client({ connectionString: database.url });
    try {
      await admin.query(`alter database ${name} allow_connections false`);
      const refused = await client.connect().then(
        () => undefined,
        (err: unknown) => err as { code?: string; routine?: string },
      );
      expect(refused).toMatchObject({ code: '55000', routine: 'CheckMyDatabase' });
      expect(isWorthRetrying({ ...refused, message: 'in the words of another language' })).toBe(true);
    } finally {
      await admin.query(`alter database ${name} allow_connections true`);
      await admin.end();
      await database.drop();
    }
  });

  it('says why in words an operator acts on, without credentials or host names', () => {
    expect(unavailableReason({ code: '53300', message: 'sorry, too many clients already' })).toMatch(
      /^too many connections: .*too many clients already.*TOCSIN_DB_POOL_SIZE/,
    );
    expect(unavailableReason({ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND db.internal' })).toBe('database unreachable (ENOTFOUND)');
    expect(unavailableReason({ code: '28P01', message: 'password authentication failed for user "x"' })).toBe(
      'the database refused the credentials of DATABASE_URL',
    );
    expect(unavailableReason(new Error('driver has already been destroyed'))).toBe('database unreachable');
  });
});

describe('the name of a PostgreSQL database in the banner and the log', () => {
  it('names the server and the port pg connects to, a socket folder and a port given as parameters included', () => {
    // The banner said 'PostgreSQL :5432/tocsin' of the README's Unix-socket URL, and 5432 of ?port=6432.
    expect(postgresDescription('postgres://u:p@db.example.com:6432/tocsin')).toBe('PostgreSQL db.example.com:6432/tocsin');
    expect(postgresDescription('postgresql://u:p@db.example.com/tocsin?sslmode=disable')).toBe('PostgreSQL db.example.com:5432/tocsin');
    expect(postgresDescription('postgres:///tocsin?host=/var/run/postgresql')).toBe('PostgreSQL /var/run/postgresql:5432/tocsin');
    expect(postgresDescription('postgres:///tocsin?host=/tmp/pg&port=6432&user=tocsin')).toBe('PostgreSQL /tmp/pg:6432/tocsin');
    expect(postgresDescription('postgres://u:p@[::1]:5433/x')).toBe('PostgreSQL [::1]:5433/x');
  });
});

describe.runIf(DIALECTS.includes('postgres'))('opening PostgreSQL while it has no free connection', () => {
  it('waits with backoff, saying why, and opens once a connection frees', async () => {
    const database = await createTestDatabase('postgres');
    const role = await createLimitedRole(database, 1);
    const holder = new pg.Client({ connectionString: role.url });
    try {
      await holder.connect();
      const reasons: string[] = [];
      const storage = await openStorageWhenReachable(role.url, {
        poolSize: 1,
        logger: pino({ level: 'silent' }),
        policy: { firstMs: 20, maxMs: 100 },
        onWaiting: async (reason) => {
          reasons.push(reason);
          // The role's only connection frees after the second refusal.
          if (reasons.length === 2) await holder.end();
        },
      });
      await storage.close();
      // The server may still count the freed backend for a moment: a third refusal is allowed.
      expect(reasons.length).toBeGreaterThanOrEqual(2);
      for (const reason of reasons) expect(reason).toMatch(/^too many connections: .*too many connections for role/);
    } finally {
      await holder.end().catch(() => {});
      await database.drop();
      await role.drop();
    }
  });
});

describe.runIf(DIALECTS.includes('postgres'))('opening PostgreSQL with a URL that gives no password where the server asks one', () => {
  it('refuses and closes that connection at once, so a start that cannot open the database ends at once', async () => {
    // pg fails such a handshake on its own side (SCRAM needs the password) and pg-pool dropped the
    // client with its socket still open: the server held it for authentication_timeout (a minute),
    // and `tocsin serve` printed 'cannot open the database' and stayed up that minute before exiting.
    const proxy = await proxyFor(TEST_PG_URL!);
    try {
      const url = new URL(viaProxy(TEST_PG_URL!, proxy));
      url.password = '';
      await expect(openStorageOrStop(url.toString(), { poolSize: 1 })).rejects.toThrow(
        /^DATABASE_URL: cannot open the database: the server asks for a password and DATABASE_URL gives none: write it in the URL, postgres:\/\/user:password@host/,
      );
      await until(() => proxy.connections() === 0, 'the connection of the failed handshake to close', { timeoutMs: 10_000 });
    } finally {
      await proxy.close();
    }
  });
});

describe.runIf(DIALECTS.includes('postgres'))('opening PostgreSQL that takes the connection but never answers', () => {
  it('gives up on that attempt within seconds, says why, and opens once the server answers again', async () => {
    // A frozen host or a firewall that lets the connection in: the first query waited for ever, so
    // `tocsin serve` neither listened (no /healthz, no /readyz) nor said anything.
    const database = await createTestDatabase('postgres');
    const proxy = await proxyFor(TEST_PG_URL!);
    try {
      proxy.stall();
      const reasons: string[] = [];
      const storage = await openStorageWhenReachable(viaProxy(database.url, proxy), {
        poolSize: 1,
        logger: pino({ level: 'silent' }),
        policy: { firstMs: 20, maxMs: 100 },
        onWaiting: (reason) => {
          reasons.push(reason);
          proxy.restore();
        },
      });
      await storage.close();
      expect(reasons).toEqual(['database unreachable (ETIMEDOUT)']);
    } finally {
      await proxy.close();
      await database.drop();
    }
  }, 60_000);
});

describe.runIf(DIALECTS.includes('postgres'))('applying the migrations to PostgreSQL whose connection is cut midway', () => {
  it('waits and applies them again on a new connection, as when the database was unreachable at the start', async () => {
    // A PostgreSQL restart (or a failover, an administrator's pg_terminate_backend) while `tocsin
    // serve` migrated at start: it exited 1 with Kysely's stack trace ('Postgres connection has been discarded').
    const database = await createTestDatabase('postgres');
    const storage = await openStorage(database.url, { poolSize: 1 });
    const other = new pg.Client({ connectionString: database.url });
    try {
      await other.connect();
      // Kysely's migration lock, held here so that the migration waits for it, its connection then cut.
      await other.query('select pg_advisory_lock(3853314791062309107)');
      const reasons: string[] = [];
      const migrating = migrateWhenFree(storage, {
        logger: pino({ level: 'silent' }),
        policy: { firstMs: 20, maxMs: 100 },
        onWaiting: async (reason) => {
          reasons.push(reason);
          await other.query('select pg_advisory_unlock(3853314791062309107)');
        },
      });
      const waiting = async () =>
        (await other.query("select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()"))
          .rows;
      await until(async () => (await waiting()).length === 1, 'the migration to wait for its lock');
      await other.query('select pg_terminate_backend($1)', [(await waiting())[0].pid]);
      await migrating;
      expect(reasons).toEqual(['database unreachable']);
      expect(await pendingMigrations(storage)).toEqual([]);
    } finally {
      await other.end();
      await storage.close();
      await database.drop();
    }
  }, 60_000);
});

describe('applying the migrations to an SQLite file another process holds locked', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** lockedFile is a new SQLite file, its storage, and another connection holding its write lock (as a backup would). */
  async function lockedFile(): Promise<{ storage: Storage; backup: SqliteDatabase.Database }> {
    const database = await createTestDatabase('sqlite');
    cleanups.push(database.drop);
    const storage = await openStorage(database.url, { poolSize: 1 });
    cleanups.push(() => storage.close());
    const backup = new SqliteDatabase(database.url.slice('sqlite:'.length));
    cleanups.push(() => {
      backup.close();
    });
    backup.exec('begin exclusive');
    return { storage, backup };
  }

  it('waits for the lock without holding up its process: a lock freed meanwhile by a timer of that process is taken', async () => {
    // SQLite's own wait (busy_timeout) slept in the process's thread for 10 s: no timer ran, so this
    // one could not free the lock before the wait ended in 'cannot apply the migrations; retrying'.
    const { storage, backup } = await lockedFile();
    const freed = new Promise<void>((resolve) =>
      setTimeout(() => {
        backup.exec('rollback');
        resolve();
      }, 50),
    );
    const reasons: string[] = [];
    await migrateWhenFree(storage, { logger: pino({ level: 'silent' }), onWaiting: (reason) => void reasons.push(reason) });
    await freed;
    expect(reasons).toEqual([]);
    expect(await pendingMigrations(storage)).toEqual([]);
  });

  it('says it waits for the file once the lock stays held, and applies the migrations when it frees', async () => {
    const { storage, backup } = await lockedFile();
    const reasons: string[] = [];
    const logged: unknown[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    await migrateWhenFree(storage, {
      logger,
      policy: { firstMs: 20, maxMs: 100 },
      onWaiting: (reason) => {
        reasons.push(reason);
        backup.exec('rollback');
      },
    });
    expect(reasons).toEqual(['the SQLite file is locked by another process (a backup, an sqlite3 shell, a migration)']);
    // The wait's end is said too: the operator who read the first line learns that the start went on.
    expect(logged).toMatchObject([
      { level: 40, msg: 'cannot apply the migrations; retrying', reason: reasons[0] },
      { level: 30, msg: 'the migrations waited for the database and are applied now', failures: 1 },
      { level: 30, msg: expect.stringMatching(/^applied \d+ migration\(s\) to /) },
    ]);
    expect(await pendingMigrations(storage)).toEqual([]);
  });

  it('stops waiting for the lock once its signal is aborted (a SIGTERM), at once rather than after the wait', async () => {
    // The signal was heard only once SQLite's 10 s wait ended, after a retry had been logged.
    const { storage } = await lockedFile();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const reasons: string[] = [];
    const failure = await migrateWhenFree(storage, {
      logger: pino({ level: 'silent' }),
      signal: controller.signal,
      onWaiting: (reason) => void reasons.push(reason),
    }).catch((err: unknown) => err);
    expect(failure).toMatchObject({ name: 'AbortError' });
    expect(reasons).toEqual([]);
  });
});

describe('an SQLite path relative to the working folder', () => {
  const tempDir = useTempDirs('tocsin-relative-');

  it('is named by the file it opened, so that a start from another working folder (an installation moved) says where its new, empty database is', async () => {
    // The banner and 'applied N migration(s) to …' said 'SQLite ./data/tocsin.db', which a service's
    // log does not place: a start in another folder made an empty installation there, unnoticed.
    const file = path.join(tempDir(), 'data', 'tocsin.db');
    const storage = await openStorage(`sqlite:${path.relative(process.cwd(), file)}`);
    await storage.close();
    expect(storage.description).toBe(`SQLite ${file}`);
  });
});

describe('an SQLite file Tocsin creates', () => {
  const tempDir = useTempDirs('tocsin-private-');

  it('is readable by its owner only, as the data folder is, also in a folder the operator made 0755: its -wal and -shm files with it', async () => {
    // DATABASE_URL=sqlite:/srv/shared/tocsin.db in an existing 0755 folder: the file (addresses, password hashes,
    // sealed secrets) was made 0644 by the umask, readable by every local account, where the data folder is 0700.
    const dir = tempDir();
    fs.chmodSync(dir, 0o755);
    const file = path.join(dir, 'tocsin.db');
    const storage = await openStorage(`sqlite:${file}`);
    try {
      await storage.sqlite!.exec('create table t (x integer)');
      const modes = [file, `${file}-wal`, `${file}-shm`].map((f) => (fs.statSync(f).mode & 0o777).toString(8));
      expect(modes).toEqual(['600', '600', '600']);
    } finally {
      await storage.close();
    }
  });

  it('keeps the mode of a file that exists: an operator who made it chose it', async () => {
    const file = path.join(tempDir(), 'tocsin.db');
    fs.writeFileSync(file, '');
    fs.chmodSync(file, 0o640);
    await (await openStorage(`sqlite:${file}`)).close();
    expect((fs.statSync(file).mode & 0o777).toString(8)).toBe('640');
  });
});

describe('an SQLite path that cannot be a database file', () => {
  const tempDir = useTempDirs('tocsin-connect-');
  const failure = (url: string, setting: 'DATABASE_URL' | 'TOCSIN_DATA_DIR') =>
    openStorageOrStop(url, { poolSize: 1, setting }).then(
      async (storage) => {
        await storage.close();
        return 'opened';
      },
      (err: unknown) => (err as Error).message,
    );

  it('says which part of it is a file where a folder was needed, where it was a bare EEXIST or ENOTDIR from mkdir', async () => {
    const file = path.join(tempDir(), 'not-a-folder');
    fs.writeFileSync(file, '');
    expect(await failure(`sqlite:${path.join(file, 'tocsin.db')}`, 'TOCSIN_DATA_DIR')).toBe(
      `TOCSIN_DATA_DIR: cannot open the database: ${file} is a file, not a folder`,
    );
    expect(await failure(`sqlite:${path.join(file, 'deeper', 'tocsin.db')}`, 'DATABASE_URL')).toBe(
      `DATABASE_URL: cannot open the database: ${file} is a file, not a folder`,
    );
  });

  it("says that a path naming a folder is a folder, where SQLite's words were only 'unable to open database file'", async () => {
    const dir = tempDir();
    expect(await failure(`sqlite:${dir}`, 'DATABASE_URL')).toBe(
      `DATABASE_URL: cannot open the database: ${dir} is a folder, not a file: name a file in it, such as sqlite:${path.join(dir, 'tocsin.db')}`,
    );
  });
});

describe('an SQLite file whose disk is full at the start', () => {
  it.runIf(process.getuid?.() === 0)('is waited for with the reason, not a stop on "disk I/O error", and opened once the disk has room', async (context) => {
    // A restart on a full disk (a log that filled it, Tocsin stopped cleanly): opening the file must
    // make its -wal and -shm files, which fails; the start ended with 'cannot open the database: disk
    // I/O error', which names neither the disk nor its being full, where a full PostgreSQL is waited for.
    const small = mountSmallDisk();
    if (!small) return context.skip();
    const disk = small.folder;
    try {
      const url = `sqlite:${path.join(disk, 'tocsin.db')}`;
      await (await openStorage(url)).close();
      small.fill();
      const reasons: string[] = [];
      const { log, entries } = captureWarnings('info');
      const storage = await openStorageWhenReachable(url, {
        poolSize: 1,
        logger: log,
        setting: 'TOCSIN_DATA_DIR',
        policy: { firstMs: 20, maxMs: 100 },
        onWaiting: (reason) => {
          reasons.push(reason);
          // Three refusals: the log says the state once, not once per retry.
          if (reasons.length === 3) small.free();
        },
      });
      await storage.close();
      expect(reasons).toEqual(Array(3).fill(`the disk of the SQLite database is full (${disk}): free room on it`));
      // The line itself says what to do: it said 'cannot connect to the database; retrying' at each retry.
      expect(entries.filter((e) => e.level === 40).map((e) => e.msg)).toEqual([
        `the disk of the SQLite database is full: free space in ${disk}; Tocsin starts once it has room`,
      ]);
      expect(entries.at(-1)).toMatchObject({ level: 30, msg: 'database reachable again' });
    } finally {
      small.remove();
    }
  });
});
