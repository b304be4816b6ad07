import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type CompiledQuery, CompiledQuery as Compiled, PostgresAdapter } from 'kysely';
import pg from 'pg';
import SqliteDatabase from 'better-sqlite3';
import { describe, vi } from 'vitest';
import type { Dialect } from '../../src/storage/dialect.js';
import { migrate } from '../../src/storage/migrate.js';
import { type Storage, openStorage } from '../../src/storage/storage.js';

/**
 * TEST_PG_URL is the PostgreSQL server the tests use (any database on it; each test file gets a
 * database of its own). Without it the PostgreSQL half is skipped, except in CI where it fails.
 */
export const TEST_PG_URL = process.env.TOCSIN_TEST_PG_URL;

/** TestDatabase is a fresh database of one dialect (empty, or migrated if asked), with a URL and a way to drop it. */
export interface TestDatabase {
  readonly dialect: Dialect;
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * IcuLocale is a collation a test's PostgreSQL database may be given: en-US, or en-US passing over
 * punctuation (`ka-shifted`), as glibc's en_US.utf8 (the official Docker image's) does, where
 * 'a-b' sorts after 'aa'.
 */
export type IcuLocale = 'en-US' | 'en-US-u-ka-shifted';

/** ServerEncoding is an encoding other than UTF-8 a DBA may give a PostgreSQL database (createdb -E). */
export type ServerEncoding = 'LATIN1' | 'SQL_ASCII';

/**
 * createTestDatabase makes a new empty database: a temp SQLite file, or a PostgreSQL database;
 * `icuLocale` (PostgreSQL only) gives it that ICU collation, as an operator's database may have
 * (the official Docker image's is en_US), instead of the server's default, and `encoding` that
 * encoding (with the C locale) instead of UTF-8. `migrated` gives one at the latest migration,
 * copied from a template (copyMigratedTemplate, migratedSqliteFile); with icuLocale or encoding it
 * starts empty all the same.
 */
export async function createTestDatabase(
  dialect: Dialect,
  { icuLocale, encoding, migrated = false }: { icuLocale?: IcuLocale; encoding?: ServerEncoding; migrated?: boolean } = {},
): Promise<TestDatabase> {
  const suffix = crypto.randomBytes(6).toString('hex');
  if (dialect === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-test-'));
    if (migrated) fs.copyFileSync(await migratedSqliteFile(), path.join(dir, 'tocsin.db'));
    return {
      dialect,
      url: `sqlite:${path.join(dir, 'tocsin.db')}`,
      drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (!TEST_PG_URL) throw new Error('TOCSIN_TEST_PG_URL is not set');
  const name = `tocsin_test_${suffix}`;
  if (migrated && !icuLocale && !encoding) await copyMigratedTemplate(name);
  else if (encoding) await asTestAdmin(`create database ${name} template template0 encoding '${encoding}' locale 'C' ${await copyStrategy()}`);
  else await asTestAdmin(`create database ${name} ${icuLocale ? `template template0 locale_provider icu icu_locale '${icuLocale}'` : await copyStrategy()}`);
  return {
    dialect,
    url: testDatabaseUrl(name),
    drop: async () => {
      await asTestAdmin(`drop database if exists ${name} with (force)`);
    },
  };
}

/**
 * copyTestDatabase is a backup of `database` as it is now, restored as a database of its own (the
 * SQLite file copied; a PostgreSQL database made from it as a template): no process may have it
 * open, as PostgreSQL's copy requires and a stopped Tocsin leaves an SQLite file whole.
 */
export async function copyTestDatabase(database: TestDatabase): Promise<TestDatabase> {
  if (database.dialect === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-test-'));
    fs.copyFileSync(database.url.slice('sqlite:'.length), path.join(dir, 'tocsin.db'));
    return { dialect: 'sqlite', url: `sqlite:${path.join(dir, 'tocsin.db')}`, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `tocsin_test_${crypto.randomBytes(6).toString('hex')}`;
  await asTestAdmin(`create database ${name} template ${new URL(database.url).pathname.slice(1)} ${await copyStrategy()}`);
  return { dialect: 'postgres', url: testDatabaseUrl(name), drop: async () => void (await asTestAdmin(`drop database if exists ${name} with (force)`)) };
}

/** testDatabaseUrl is the URL of database `name` on TEST_PG_URL's server, as TEST_PG_URL's role. */
function testDatabaseUrl(name: string): string {
  const url = new URL(TEST_PG_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

/** testAdminClient connects to TEST_PG_URL's server as its (administrator) role; the caller ends it. */
async function testAdminClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: TEST_PG_URL, user: decodeURIComponent(new URL(TEST_PG_URL!).username) || 'postgres' });
  await client.connect();
  return client;
}

/** asTestAdmin runs statements on TEST_PG_URL's server as its (administrator) role, on a connection of their own, and returns the last one's rows. */
async function asTestAdmin(statements: string): Promise<Record<string, unknown>[]> {
  const client = await testAdminClient();
  try {
    const results = await client.query(statements);
    return (Array.isArray(results) ? results.at(-1) : results).rows;
  } finally {
    await client.end();
  }
}

let strategy: Promise<string> | undefined;
/**
 * copyStrategy is `strategy file_copy` on PostgreSQL 15 and later, which copies template1's files as
 * they are where the default (WAL_LOG) writes each block to the WAL: 90 to 200 ms less of the
 * server's CPU per database, of some 260 the suite makes on CI's two cores. Older servers copy
 * files anyway and know no such option.
 */
function copyStrategy(): Promise<string> {
  strategy ??= asTestAdmin('show server_version_num').then(([row]) => (Number(row?.server_version_num) >= 150000 ? 'strategy file_copy' : ''));
  return strategy;
}

let sqliteTemplate: Promise<string> | undefined;
/**
 * migratedSqliteFile is a SQLite file at the latest migration for createTestDatabase to copy:
 * migrating one costs 17 to 40 ms of CPU and 90 to 200 of fsyncs, a copy about one. It stays in
 * the temp folder for the next runs, named as the PostgreSQL template (migratedTemplateName): a
 * test process's exit handlers do not run when vitest ends its workers, so one made per process
 * was left behind by each. Processes that find none build one each, in a folder of their own, and
 * rename it into place (atomic: a copy never reads one half written).
 */
function migratedSqliteFile(): Promise<string> {
  sqliteTemplate ??= (async () => {
    const file = path.join(os.tmpdir(), `${migratedTemplateName()}.db`);
    if (fs.existsSync(file)) return file;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-template-'));
    try {
      const building = path.join(dir, 'tocsin.db');
      const storage = await openStorage(`sqlite:${building}`, { poolSize: 1 });
      try {
        await migrate(storage);
      } finally {
        // The last connection's close checkpoints the WAL into the file and removes it: the file alone is the database.
        await storage.close();
      }
      if (fs.existsSync(`${building}-wal`)) throw new Error(`${building}-wal outlived the template's close`);
      fs.renameSync(building, file);
      // Those of other migrations (another branch's) a day old: none of its runs still copies them.
      for (const other of fs.readdirSync(os.tmpdir()).filter((f) => /^tocsin_template_\w+\.db$/.test(f) && f !== path.basename(file))) {
        const stale = path.join(os.tmpdir(), other);
        const madeAt = fs.statSync(stale, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
        if (Date.now() - madeAt > 86_400_000) fs.rmSync(stale, { force: true });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    return file;
  })();
  return sqliteTemplate;
}

/**
 * TEMPLATE_LOCK is the advisory lock key under which a run builds the migrated template (exclusive)
 * and copies it (shared): a copy never reads a template half built or being dropped as stale.
 */
const TEMPLATE_LOCK = 7_466_011;

/**
 * migratedTemplateName names the template of the migrations as they are in src/storage/migrations:
 * a migration added or edited (another branch's, a worktree's) has a template of its own.
 */
function migratedTemplateName(): string {
  if (templateName === undefined) {
    const folder = path.join(import.meta.dirname, '../../src/storage/migrations');
    const hash = crypto.createHash('sha256');
    for (const file of fs.readdirSync(folder).sort()) hash.update(file).update(fs.readFileSync(path.join(folder, file)));
    templateName = `tocsin_template_${hash.digest('hex').slice(0, 16)}`;
  }
  return templateName;
}
let templateName: string | undefined;

/**
 * copyMigratedTemplate creates database `name` as a copy of a PostgreSQL database at the latest
 * migration, building that template first if no run has yet. Migrating an empty database took 1.5
 * to 1.9 s in one transaction (some 250 ms of the server's CPU, 120 of Node's), the copy 0.25 s, and
 * the suite starts some 200 apps on PostgreSQL while CPU bounds CI. The template stays on the server
 * for the next run; those of other migrations are dropped when this one is built. The migrations
 * themselves are still run from empty by the tests about them (migrate, upgrade, cli).
 */
async function copyMigratedTemplate(name: string): Promise<void> {
  const template = migratedTemplateName();
  const client = await testAdminClient();
  const exists = async () => (await client.query('select 1 from pg_database where datname = $1', [template])).rowCount === 1;
  try {
    await client.query('select pg_advisory_lock_shared($1)', [TEMPLATE_LOCK]);
    if (!(await exists())) {
      await client.query('select pg_advisory_unlock_shared($1)', [TEMPLATE_LOCK]);
      await client.query('select pg_advisory_lock($1)', [TEMPLATE_LOCK]);
      if (!(await exists())) await buildMigratedTemplate(client, template);
      await client.query('select pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
      await client.query('select pg_advisory_lock_shared($1)', [TEMPLATE_LOCK]);
    }
    await client.query(`create database ${name} template ${template} ${await copyStrategy()}`);
  } finally {
    await client.end();
  }
}

/** buildMigratedTemplate migrates a new database, then names it `template` (so no copy sees it half built) and drops the templates of other migrations. */
async function buildMigratedTemplate(client: pg.Client, template: string): Promise<void> {
  const building = `${template}_building`;
  await client.query(`drop database if exists ${building} with (force)`);
  await client.query(`create database ${building} ${await copyStrategy()}`);
  const storage = await openStorage(testDatabaseUrl(building), { poolSize: 1 });
  try {
    await migrate(storage);
  } finally {
    await storage.close();
  }
  await client.query(`alter database ${building} rename to ${template}`);
  const stale = await client.query<{ datname: string }>("select datname from pg_database where datname like 'tocsin\\_template\\_%' and datname <> $1", [
    template,
  ]);
  for (const { datname } of stale.rows) await client.query(`drop database if exists ${datname} with (force)`);
}

/** openTestStorage opens a fresh database, copied at the latest migration; `close` also drops it. */
export async function openTestStorage(dialect: Dialect): Promise<Storage> {
  const database = await createTestDatabase(dialect, { migrated: true });
  const storage = await openStorage(database.url, { poolSize: 4 });
  return {
    ...storage,
    close: async () => {
      await storage.close();
      await database.drop();
    },
  };
}

/** isCi tells whether a run is CI's: `CI` set to anything but empty, `false` or `0`. */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

/**
 * testDialects decides which engines a run tests: SQLite always, PostgreSQL when
 * TOCSIN_TEST_PG_URL is set. In CI a missing PostgreSQL is an error, never a silent skip.
 */
export function testDialects(env: NodeJS.ProcessEnv): readonly Dialect[] {
  if (env.TOCSIN_TEST_PG_URL) return ['sqlite', 'postgres'];
  if (isCi(env)) throw new Error('CI must test PostgreSQL too: set TOCSIN_TEST_PG_URL (see .ci/run).');
  return ['sqlite'];
}

/** DIALECTS are the engines this run tests (see testDialects); a skip says how to run the rest. */
export const DIALECTS: readonly Dialect[] = testDialects(process.env);
if (!DIALECTS.includes('postgres')) {
  process.stderr.write(
    '\n[tocsin] PostgreSQL tests skipped: set TOCSIN_TEST_PG_URL=postgres://user:pass@127.0.0.1:5432/postgres to run them (see README).\n\n',
  );
}

/**
 * describeEachDialect runs the same suite once per engine, like Kysely's DIALECTS loop, so every
 * storage behaviour is proven on SQLite and PostgreSQL alike.
 */
export function describeEachDialect(title: string, suite: (dialect: Dialect) => void): void {
  for (const dialect of DIALECTS) describe(`${title} [${dialect}]`, () => suite(dialect));
}

/** LimitedRole is a PostgreSQL login role with a CONNECTION LIMIT that owns a test database. */
export interface LimitedRole {
  /** The database's URL, logged in as the role. */
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * createLimitedRole makes a non-superuser role allowed `limit` connections and gives it the test
 * database, so a test can fill the server for it (CONNECTION LIMIT does not bind superusers).
 * Drop the database before the role.
 */
export async function createLimitedRole(database: TestDatabase, limit: number): Promise<LimitedRole> {
  if (!TEST_PG_URL) throw new Error('TOCSIN_TEST_PG_URL is not set');
  const name = `tocsin_limited_${crypto.randomBytes(6).toString('hex')}`;
  const password = crypto.randomBytes(12).toString('hex');
  const databaseName = new URL(database.url).pathname.slice(1);
  await asTestAdmin(`create role ${name} login password '${password}' connection limit ${limit}; alter database ${databaseName} owner to ${name}`);
  const url = new URL(database.url);
  url.username = name;
  url.password = password;
  return {
    url: url.toString(),
    drop: async () => {
      await asTestAdmin(`drop role if exists ${name}`);
    },
  };
}

/**
 * insertManyUsers stores `count` active users of a tenant straight into the table (the API would
 * take minutes for thousands), in chunks, each with the role given if any; returns their ids.
 */
export async function insertManyUsers(db: Storage['db'], tenantId: string, count: number, roleId?: string): Promise<string[]> {
  const users = Array.from({ length: count }, (_, i) => ({
    id: crypto.randomUUID(),
    tenant_id: tenantId,
    email: `u${i}@example.com`,
    email_key: `u${i}@example.com`,
    name: `U${i}`,
    language: null,
    time_zone: null,
    active: 1,
    password_hash: null,
    created_at: 0,
    updated_at: 0,
  }));
  for (let i = 0; i < users.length; i += 500) {
    const chunk = users.slice(i, i + 500);
    await db.insertInto('users').values(chunk).execute();
    if (roleId)
      await db
        .insertInto('user_roles')
        .values(chunk.map((u) => ({ user_id: u.id, role_id: roleId })))
        .execute();
  }
  return users.map((u) => u.id);
}

/** storedAlerts counts a tenant's alerts as stored, straight from the table. */
export async function storedAlerts(db: Storage['db'], tenantId: string): Promise<number> {
  const row = await db
    .selectFrom('alerts')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * sqlitePlanOf runs `use` while watching better-sqlite3's prepare and returns SQLite's query plan
 * (`explain query plan`, one detail per line) of the first statement it prepared whose text holds
 * `marker`; undefined when none was prepared (a statement already prepared is not prepared again).
 */
export async function sqlitePlanOf(marker: string, use: () => Promise<unknown>): Promise<string[] | undefined> {
  return (await sqlitePlansOf([marker], use))[0];
}

/** sqlitePlansOf is sqlitePlanOf for several markers at once, each statement's plan in the markers' order. */
export async function sqlitePlansOf(markers: readonly string[], use: () => Promise<unknown>): Promise<(string[] | undefined)[]> {
  const prepare = vi.spyOn(SqliteDatabase.prototype, 'prepare');
  try {
    await use();
    return markers.map((marker) => {
      const call = prepare.mock.calls.findIndex(([text]) => text.includes(marker));
      if (call < 0) return undefined;
      const text = prepare.mock.calls[call]![0];
      const database = prepare.mock.contexts[call] as SqliteDatabase.Database;
      const nulls = Array.from({ length: text.split('?').length - 1 }, () => null);
      return (database.prepare(`explain query plan ${text}`).all(...nulls) as { detail: string }[]).map((r) => r.detail);
    });
  } finally {
    prepare.mockRestore();
  }
}

/**
 * planOf is the engine's plan of a compiled query, one line per step. PostgreSQL is told to avoid
 * whole-table scans on that connection meanwhile, which it prefers for a test's few rows, so that
 * the plan shows the index it can use.
 */
export async function planOf(db: Storage['db'], query: CompiledQuery): Promise<string> {
  return db.connection().execute(async (c) => {
    const postgres = c.getExecutor().adapter instanceof PostgresAdapter;
    if (postgres) await c.executeQuery(Compiled.raw('set enable_seqscan = off'));
    try {
      const explain = `explain ${postgres ? '' : 'query plan '}${query.sql}`;
      const { rows } = await c.executeQuery<Record<string, unknown>>(Compiled.raw(explain, [...query.parameters]));
      return rows.map((row) => String(row['QUERY PLAN'] ?? row.detail)).join('\n');
    } finally {
      if (postgres) await c.executeQuery(Compiled.raw('reset enable_seqscan'));
    }
  });
}

/**
 * afterEachStatement is `db` calling `look` after each statement run through it, in a transaction
 * or not, before the caller goes on: for tests of what another connection can read between two
 * statements (a write torn in two).
 */
export function afterEachStatement(db: Storage['db'], look: () => Promise<void>): Storage['db'] {
  return db.withPlugin({
    transformQuery: (args) => args.node,
    transformResult: async (args) => {
      await look();
      return args.result;
    },
  });
}

/**
 * recordingStatements is `db` (a connection or a transaction) recording every statement run
 * through it: its SQL text in `texts`, and the statement with its parameters in `queries` (for
 * planOf): for tests that count or look at what some code reads.
 */
export function recordingStatements(db: Storage['db']): { readonly db: Storage['db']; readonly texts: string[]; readonly queries: CompiledQuery[] } {
  const texts: string[] = [];
  const queries: CompiledQuery[] = [];
  const recording = db.withPlugin({ transformQuery: (args) => args.node, transformResult: async (args) => args.result });
  const executor = recording.getExecutor();
  const execute = executor.executeQuery.bind(executor);
  executor.executeQuery = (<R>(query: CompiledQuery<R>) => {
    texts.push(query.sql);
    queries.push(query);
    return execute(query);
  }) as typeof executor.executeQuery;
  return { db: recording, texts, queries };
}
