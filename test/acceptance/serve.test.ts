import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/storage/migrate.js';
import { MIGRATIONS } from '../../src/storage/migrations/index.js';
import { openStorage } from '../../src/storage/storage.js';
import { TEST_PG_URL, createTestDatabase, describeEachDialect } from '../support/storage.js';
import { until } from '../support/until.js';
import { REPO_ROOT, type Started, cleanEnv, ensureBuilt, groupAlive, killGroup, start, stop } from './processes.js';

// How long the tests wait for a stopped process group to be gone. How long a stop takes is a
// benchmark figure (bench/startup.ts, "SIGTERM → exit"); the tests check that it is graceful.
const STOP_WAIT_MS = 20_000;
const RUNNING = /Tocsin is running: (http:\/\/[^\s/]+)\//;
const CATCHER = /built-in mail catcher at smtp:\/\/127\.0\.0\.1:(\d+)/;
const GENERATED_TOKEN = /Admin token:\s+(tcs_admin_[\w-]+)/;

const running = new Set<Started>();
const tempDirs: string[] = [];

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

function serve(env: Record<string, string>, cwd?: string, command: [string, string[]] = ['node', ['bin/tocsin.js', 'serve']]) {
  const started = start(command[0], command[1], {
    ...(cwd ? { cwd } : {}),
    env: cleanEnv({ PORT: '0', TOCSIN_MAIL_CATCHER_PORT: '0', LOG_LEVEL: 'warn', ...env }),
    group: true,
  });
  running.add(started);
  return started;
}

/** migratedDataDir is a data folder whose SQLite file, tocsin.db, has every migration applied. */
async function migratedDataDir(): Promise<string> {
  const dataDir = tempDir('tocsin-accept-');
  const storage = await openStorage(`sqlite:${path.join(dataDir, 'tocsin.db')}`);
  try {
    await migrate(storage);
  } finally {
    await storage.close();
  }
  return dataDir;
}

/** NOBODY is the user and group id of `nobody`, whom a test run as root starts Tocsin as where file modes must bind. */
const NOBODY = 65534;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * lockedDataDir is a migrated data folder whose SQLite file another connection holds locked, as a
 * backup would. It is migrated here, not by a `tocsin migrate` of its own: what is tested is the start beside the lock.
 */
async function lockedDataDir(): Promise<{ dataDir: string; backup: Database.Database }> {
  const dataDir = await migratedDataDir();
  const backup = new Database(path.join(dataDir, 'tocsin.db'));
  backup.exec('begin exclusive');
  return { dataDir, backup };
}

async function stopped(started: Started, signal: NodeJS.Signals = 'SIGTERM', group = false) {
  const result = await stop(started, signal, group);
  running.delete(started);
  return result;
}

// bin/tocsin.js and `npm start` run the compiled service in dist/.
beforeAll(ensureBuilt, 180_000);
afterEach(() => {
  for (const started of running) killGroup(started);
  running.clear();
});
afterAll(() => {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('tocsin serve, as a user runs it', () => {
  it('prints the URL and a generated admin token once, serves, catches mail, and stops on SIGTERM', async () => {
    const dataDir = tempDir('tocsin-accept-');
    const first = serve({ TOCSIN_DATA_DIR: dataDir });
    const [, url] = await first.waitFor(RUNNING);
    const token = (await first.waitFor(GENERATED_TOKEN))[1]!;
    const catcherPort = Number((await first.waitFor(CATCHER))[1]);
    expect(fs.statSync(path.join(dataDir, 'secret.key')).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(path.join(dataDir, 'tocsin.db'))).toBe(true);

    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${url}/api/v1/tenants`, { headers: auth })).status).toBe(200);

    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: catcherPort, secure: false, ignoreTLS: true });
    await transport.sendMail({ from: 'robot@example.com', to: 'ops@example.com', subject: 'Acceptance hello', text: 'Body text' });
    transport.close();
    const caught = (await (await fetch(`${url}/api/v1/system/mail-catcher/messages`, { headers: auth })).json()) as {
      items: { subject: string; envelope: { to: string[] }; text: string }[];
    };
    expect(caught.items[0]).toMatchObject({ subject: 'Acceptance hello', envelope: { to: ['ops@example.com'] } });
    expect(caught.items[0]!.text.trim()).toBe('Body text');

    const firstStop = await stopped(first);
    // Exit 0: the close finished by itself, before the forced exit (which exits 1).
    expect(firstStop.code).toBe(0);
    expect(first.stderr()).toBe('');

    const second = serve({ TOCSIN_DATA_DIR: dataDir });
    const [, secondUrl] = await second.waitFor(RUNNING);
    await second.waitFor(/Admin token:.*\n/);
    expect(second.stdout()).not.toContain(token);
    expect(second.stdout()).not.toMatch(GENERATED_TOKEN);
    expect((await fetch(`${secondUrl}/api/v1/tenants`, { headers: auth })).status).toBe(200);
    expect((await stopped(second)).code).toBe(0);
  });

  it('stops gracefully on SIGHUP (its terminal closed), as on SIGTERM, exit 0', async () => {
    // Node's default for SIGHUP ends the process at once: requests in flight were cut off and the
    // emails being sent left leased, to be sent again by the next start.
    const started = serve({ TOCSIN_DATA_DIR: tempDir('tocsin-accept-'), LOG_LEVEL: 'info' });
    await started.waitFor(RUNNING);
    expect(await stopped(started, 'SIGHUP')).toMatchObject({ code: 0, signal: null });
    expect(started.stdout()).toMatch(/"signal":"SIGHUP","msg":"shutting down"/);
  });

  it('keeps stopping gracefully when Ctrl-C comes again: the request in flight is answered and stored, exit 0', async () => {
    // A second SIGINT (or SIGTERM) found no handler and ended the process by the signal at once, nothing
    // logged: requests in flight cut off, and the emails being sent left leased, to be sent again.
    const dataDir = tempDir('tocsin-accept-');
    const started = serve({ TOCSIN_DATA_DIR: dataDir, TOCSIN_ADMIN_TOKEN: 'acceptance-admin-token-0123', LOG_LEVEL: 'info' });
    const [, url] = await started.waitFor(RUNNING);
    const auth = { authorization: 'Bearer acceptance-admin-token-0123', 'content-type': 'application/json' };
    expect((await fetch(`${url}/api/v1/tenants`, { method: 'POST', headers: auth, body: '{"name":"acme"}' })).status).toBe(201);
    const body = Buffer.from('{"severity":"Error","component":"Jobs","message":"sent across two Ctrl-C"}');
    const { hostname, port } = new URL(url!);
    const socket = net.connect(Number(port), hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    let text = '';
    const heard = new Set<() => void>();
    socket.on('data', (chunk) => {
      text += chunk.toString();
      for (const wake of heard) wake();
    });
    const answer = new Promise<string>((resolve) => socket.once('close', () => resolve(text)));
    // Node answers "100 Continue" once it has the headers, and the request is in flight from then on:
    // a signal before that would find a connection carrying none, which a stop ends at once.
    const continued = new Promise<void>((resolve) => {
      const check = () => text.includes('100 Continue') && resolve();
      heard.add(check);
    });
    socket.write(
      `POST /api/v1/tenants/acme/alerts HTTP/1.1\r\nHost: ${url!.slice('http://'.length)}\r\nAuthorization: ${auth.authorization}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await continued;
    socket.write(body.subarray(0, 10));
    const exited = stopped(started, 'SIGINT');
    await started.waitFor(/"msg":"shutting down"/);
    started.child.kill('SIGINT');
    await started.waitFor(/already stopping/);
    socket.end(body.subarray(10));
    expect(await answer).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 202 /);
    expect(await exited).toMatchObject({ code: 0, signal: null });
    const again = serve({ TOCSIN_DATA_DIR: dataDir, TOCSIN_ADMIN_TOKEN: 'acceptance-admin-token-0123' });
    const [, secondUrl] = await again.waitFor(RUNNING);
    const listed = (await (await fetch(`${secondUrl}/api/v1/tenants/acme/alerts`, { headers: auth })).json()) as { items: { message: string }[] };
    expect(listed.items.map((a) => a.message)).toEqual(['sent across two Ctrl-C']);
    expect((await stopped(again)).code).toBe(0);
  });

  it('stops with a message naming the variable when the configuration is invalid', async () => {
    const bad = serve({ TOCSIN_DATA_DIR: tempDir('tocsin-accept-'), PORT: 'eighty' });
    const { code } = await bad.exited();
    running.delete(bad);
    expect(code).toBe(1);
    expect(bad.stderr()).toContain('PORT');
  });

  it('says why the database of DATABASE_URL cannot be opened, naming the variable, without a stack trace', async () => {
    const dir = tempDir('tocsin-accept-');
    const urls = [`sqlite:${dir}`, 'sqlite:/dev/null/tocsin.db'];
    if (TEST_PG_URL) {
      const wrongPassword = new URL(TEST_PG_URL);
      wrongPassword.password = 'not-the-password';
      const missing = new URL(TEST_PG_URL);
      missing.pathname = '/tocsin_no_such_database';
      urls.push(wrongPassword.toString(), missing.toString());
    }
    // test-mail opens the database too: it printed the driver's stack trace.
    const runs = urls.flatMap((url) => ['serve', 'migrate', 'test-mail'].map((command) => ({ url, command })));
    // Each run fails on its own database URL, so they run at once.
    await Promise.all(
      runs.map(async ({ url, command }) => {
        const args = command === 'test-mail' ? ['--tenant', 'acme', '--to', 'ops@example.com'] : [];
        const bad = start('node', ['bin/tocsin.js', command, ...args], {
          env: cleanEnv({ DATABASE_URL: url, PORT: '0', TOCSIN_MAIL_CATCHER_PORT: '0', TOCSIN_DATA_DIR: dir }),
        });
        expect((await bad.exited()).code, `${command} ${url}`).toBe(1);
        expect(bad.stderr(), `${command} ${url}`).toMatch(/^tocsin: .*DATABASE_URL/);
        expect(bad.stderr(), `${command} ${url}`).not.toContain('    at ');
        expect(bad.stderr(), `${command} ${url}`).not.toContain('not-the-password');
      }),
    );
  }, 120_000);

  it('names TOCSIN_DATA_DIR, not the DATABASE_URL left unset, when the default SQLite file cannot be made there', async () => {
    // "DATABASE_URL: cannot open the database: EEXIST…" sent an operator who had set only TOCSIN_DATA_DIR
    // looking for a variable they never set.
    const file = path.join(tempDir('tocsin-accept-'), 'not-a-folder');
    fs.writeFileSync(file, '');
    await Promise.all(
      ['serve', 'migrate'].map(async (command) => {
        const bad = start('node', ['bin/tocsin.js', command], {
          env: cleanEnv({ PORT: '0', TOCSIN_MAIL_CATCHER_PORT: '0', TOCSIN_DATA_DIR: file }),
        });
        expect((await bad.exited()).code, command).toBe(1);
        expect(bad.stderr(), command).toBe(`tocsin: TOCSIN_DATA_DIR: cannot open the database: ${file} is a file, not a folder\n`);
        expect(bad.stderr(), command).not.toContain('    at ');
      }),
    );
  });

  it('says that the SQLite file or its folder is read-only, naming the variable, without a stack trace', async () => {
    // A read-only file started, then stopped at its first write with "tocsin: SqliteError: attempt to
    // write a readonly database" and a stack trace (or, with migrations pending, a hint about PostgreSQL
    // roles); a read-only folder with "cannot open the database: unable to open database file".
    const readOnlyFile = await migratedDataDir();
    fs.chmodSync(path.join(readOnlyFile, 'tocsin.db'), 0o444);
    const readOnlyFolder = await migratedDataDir();
    const asRoot = process.getuid?.() === 0;
    // root writes whatever the modes say: the folder is then root's, and Tocsin runs as nobody.
    if (asRoot) {
      for (const dir of [readOnlyFile, readOnlyFolder]) fs.chmodSync(dir, 0o755);
      fs.chownSync(readOnlyFile, NOBODY, NOBODY);
      for (const dir of [readOnlyFile, readOnlyFolder]) fs.chownSync(path.join(dir, 'tocsin.db'), NOBODY, NOBODY);
    } else {
      fs.chmodSync(readOnlyFolder, 0o555);
    }
    const runAs = (args: string[]): [string, string[]] =>
      asRoot ? ['setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'node', ...args]] : ['node', args];
    const cases = [
      { dir: readOnlyFile, why: `${path.join(readOnlyFile, 'tocsin.db')} is read-only to this process` },
      { dir: readOnlyFolder, why: `the folder ${readOnlyFolder} is read-only to this process` },
    ];
    await Promise.all(
      cases.flatMap(({ dir, why }) =>
        ['serve', 'migrate'].map(async (command) => {
          const [program, args] = runAs(['bin/tocsin.js', command]);
          const bad = start(program, args, {
            env: cleanEnv({ DATABASE_URL: `sqlite:${path.join(dir, 'tocsin.db')}`, PORT: '0', TOCSIN_MAIL_CATCHER_PORT: '0', TOCSIN_DATA_DIR: dir, HOME: dir }),
          });
          expect((await bad.exited()).code, `${command} ${why}`).toBe(1);
          expect(bad.stderr(), `${command} ${why}`).toMatch(new RegExp(`^tocsin: DATABASE_URL: cannot open the database: ${escapeRegExp(why)} \\(E[A-Z]+\\)`));
          expect(bad.stderr(), `${command} ${why}`).not.toContain('    at ');
        }),
      ),
    );
  }, 60_000);

  it('waits for an SQLite file another process holds locked at start, saying so, and serves once it is free', async () => {
    // A restart while a backup or an sqlite3 shell held the write lock ended after the busy timeout
    // with 'tocsin: SqliteError: database is locked' and a stack trace, where an unreachable
    // PostgreSQL is waited for.
    const { dataDir, backup } = await lockedDataDir();
    try {
      const started = serve({ TOCSIN_DATA_DIR: dataDir });
      await started.waitFor(
        /"reason":"the SQLite file is locked by another process[^"]*","retryInMs":\d+,"msg":"cannot apply the migrations; retrying"/,
        30_000,
      );
      backup.exec('rollback');
      await started.waitFor(RUNNING, 30_000);
      expect(started.stderr()).toBe('');
      expect((await stopped(started, 'SIGTERM', true)).code).toBe(0);
    } finally {
      backup.close();
    }
  }, 90_000);

  it.each([
    ['one process', ['bin/tocsin.js', 'serve']],
    // The primary of several api processes waits for the migrations before it starts any.
    ['several api processes', ['bin/tocsin.js', 'serve', '--role', 'api', '--processes', '2']],
  ])(
    'stops waiting for a locked SQLite file on SIGTERM, saying so, and exits 0 (%s)',
    async (_, args) => {
      // The signal handlers were installed once serving: a SIGTERM while the file was waited for ended
      // the process by the signal (exit code null), as a supervisor stopping a stuck start would see.
      const { dataDir, backup } = await lockedDataDir();
      try {
        const started = serve({ TOCSIN_DATA_DIR: dataDir, LOG_LEVEL: 'info' }, undefined, ['node', args]);
        await started.waitFor(/"msg":"cannot apply the migrations; retrying"/, 30_000);
        expect(await stopped(started, 'SIGTERM', true)).toMatchObject({ code: 0, signal: null });
        expect(started.stdout()).toMatch(/"signal":"SIGTERM","msg":"stopped waiting for the database; exiting"/);
        expect(started.stdout()).not.toMatch(RUNNING);
        expect(started.stderr()).toBe('');
      } finally {
        backup.close();
      }
    },
    90_000,
  );

  it.each([
    ['one process', ['bin/tocsin.js', 'serve']],
    ['several api processes', ['bin/tocsin.js', 'serve', '--role', 'api', '--processes', '2']],
  ])(
    "stops on a SIGTERM that comes while the service's modules load, exit 0, starting nothing (%s)",
    async (_, args) => {
      // The stop signals were heard from serve.js on, whose imports take seconds on a busy machine: a
      // supervisor's SIGTERM in those first seconds ended the process by the signal (exit code null).
      // The hold keeps serve.js from loading until the signal has been sent, whatever the machine's speed.
      const dir = tempDir('tocsin-accept-');
      const release = path.join(dir, 'release');
      const hold = path.join(REPO_ROOT, 'test/support/processes/hold-serve-import.mjs');
      const started = serve({ TOCSIN_DATA_DIR: dir, LOG_LEVEL: 'info', HOLD_SERVE_RELEASE: release }, undefined, ['node', ['--import', hold, ...args]]);
      await until(() => fs.existsSync(`${release}.held`), 'the import of serve.js to be held', { timeoutMs: 30_000 });
      process.kill(started.child.pid!, 'SIGTERM');
      fs.writeFileSync(release, '');
      expect(await started.exited()).toMatchObject({ code: 0, signal: null });
      running.delete(started);
      expect(started.stdout()).not.toMatch(RUNNING);
      expect(fs.existsSync(path.join(dir, 'tocsin.db'))).toBe(false);
    },
    90_000,
  );

  it('says which port is taken, without a stack trace, when another process holds it', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const port = (holder.address() as net.AddressInfo).port;
      const taken = serve({ TOCSIN_DATA_DIR: tempDir('tocsin-accept-'), PORT: String(port) });
      const { code } = await taken.exited();
      running.delete(taken);
      expect(code).toBe(1);
      expect(taken.stderr()).toContain(`127.0.0.1:${port} is already in use`);
      expect(taken.stderr()).not.toContain('    at ');
    } finally {
      holder.close();
    }
  });

  it('exits 1 when the port is taken with several api processes, rather than hang with them all alive', async () => {
    // Each api process printed that the port was taken and then stayed alive on its channel to the
    // primary, which waited for them forever: a supervisor saw a process that neither served nor exited.
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const port = (holder.address() as net.AddressInfo).port;
      const dataDir = tempDir('tocsin-accept-');
      const cluster: [string, string[]] = ['node', ['bin/tocsin.js', 'serve', '--role', 'api', '--processes', '2']];
      const taken = serve({ TOCSIN_DATA_DIR: dataDir, PORT: String(port) }, undefined, cluster);
      // Once an api process has said the port is taken, it and the primary have STOP_WAIT_MS to be gone:
      // the start before that line took 30 s on a loaded 2-core machine, and is no part of the hang.
      await expect.poll(() => taken.stderr(), { timeout: 90_000 }).toContain('is already in use');
      const gaveUp = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), STOP_WAIT_MS).unref());
      const outcome = await Promise.race([taken.exited(), gaveUp]);
      expect(outcome).not.toBe('hung');
      running.delete(taken);
      expect(outcome).toMatchObject({ code: 1 });
      expect(taken.stderr()).toContain(`127.0.0.1:${port} is already in use`);
      expect(taken.stderr()).not.toContain('    at ');
      await expect.poll(() => groupAlive(taken), { timeout: STOP_WAIT_MS }).toBe(false);
      // The admin token that start generated was never printed: the next start prints one, which works
      // (it said "kept from an earlier start", and no one could sign in as the host administrator).
      expect(taken.stdout()).not.toMatch(GENERATED_TOKEN);
      const next = serve({ TOCSIN_DATA_DIR: dataDir }, undefined, cluster);
      const [, url] = await next.waitFor(RUNNING, 90_000);
      const token = (await next.waitFor(GENERATED_TOKEN))[1]!;
      expect((await fetch(`${url}/api/v1/tenants`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      await stopped(next, 'SIGTERM', true);
    } finally {
      holder.close();
    }
  }, 120_000);

  it('logs the death of an api process as one JSON object whose keys are each written once', async () => {
    // The line said "pid" twice, the primary's (pino's own field) and the dead process's, so a log
    // pipeline kept one of them at random (JSON.parse keeps the last; others refuse the line).
    const cluster = serve({ TOCSIN_DATA_DIR: tempDir('tocsin-accept-'), LOG_LEVEL: 'info' }, undefined, [
      'node',
      ['bin/tocsin.js', 'serve', '--role', 'api', '--processes', '2'],
    ]);
    const [, pids] = await cluster.waitFor(/"pids":\[(\d+),\d+\]/, 60_000);
    process.kill(Number(pids), 'SIGKILL');
    const { code } = await cluster.exited();
    running.delete(cluster);
    expect(code).toBe(1);
    const line = cluster
      .stdout()
      .split('\n')
      .find((l) => l.includes('an api process exited'));
    expect(line).toBeDefined();
    const keys = [...line!.matchAll(/"([^"]+)":/g)].map((m) => m[1]);
    expect(keys.length).toBe(new Set(keys).size);
    expect(JSON.parse(line!)).toMatchObject({ pid: cluster.child.pid, apiPid: Number(pids), signal: 'SIGKILL' });
  }, 120_000);

  // The api processes are found, as soon as forked, among the primary's children in /proc.
  it.runIf(process.platform === 'linux')(
    'says which signal killed an api process before it listened, not that it exited with null',
    async () => {
      // An api process killed while starting (the OOM killer under a container's memory limit) was
      // reported as 'an api process exited with null before it listened (its reason is above)'.
      const cluster = serve({ TOCSIN_DATA_DIR: tempDir('tocsin-accept-') }, undefined, [
        'node',
        ['bin/tocsin.js', 'serve', '--role', 'api', '--processes', '2'],
      ]);
      const primary = cluster.child.pid!;
      // The first api process, as soon as it is forked: long before it has loaded the service and listened.
      const children = () => fs.readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').trim();
      await expect.poll(children, { timeout: 60_000, interval: 5 }).not.toBe('');
      process.kill(Number(children().split(' ')[0]), 'SIGKILL');
      const { code } = await cluster.exited();
      running.delete(cluster);
      expect(code).toBe(1);
      expect(cluster.stderr()).toContain('tocsin: an api process was killed by SIGKILL before it listened; the others were stopped');
      expect(cluster.stderr()).not.toContain('null');
    },
    120_000,
  );

  it.runIf(TEST_PG_URL)('says, naming DATABASE_URL and without a stack trace, that its role may not create the tables', async () => {
    // PostgreSQL 15 and later let only the database's owner create tables in public: a role made for Tocsin
    // on a database it does not own stopped the first start with a stack trace.
    const database = await createTestDatabase('postgres');
    const role = `tocsin_guest_${process.pid}`;
    const admin = new pg.Client({ connectionString: TEST_PG_URL, user: decodeURIComponent(new URL(TEST_PG_URL!).username) || 'postgres' });
    await admin.connect();
    try {
      await admin.query(`create role ${role} login password 'guest-password'`);
      const url = new URL(database.url);
      url.username = role;
      url.password = 'guest-password';
      await Promise.all(
        ['serve', 'migrate'].map(async (command) => {
          const bad = start('node', ['bin/tocsin.js', command], {
            env: cleanEnv({ DATABASE_URL: url.toString(), PORT: '0', TOCSIN_MAIL_CATCHER_PORT: '0', TOCSIN_DATA_DIR: tempDir('tocsin-accept-') }),
          });
          expect((await bad.exited()).code, command).toBe(1);
          expect(bad.stderr(), command).toMatch(/^tocsin: .*DATABASE_URL.*permission denied/);
          expect(bad.stderr(), command).not.toContain('    at ');
        }),
      );
    } finally {
      await database.drop();
      await admin.query(`drop role if exists ${role}`);
      await admin.end();
    }
  });

  it.runIf(TEST_PG_URL)('says, naming DATABASE_URL and without a stack trace, that its role may not use tables another role made', async () => {
    // Another role made the tables (a dump restored by an administrator, the app's role rotated): the new
    // role owns the database but not the tables, and serve stopped with "permission denied for table
    // kysely_migration" and its stack trace (the check of the pending migrations, before migrateOrStop).
    const database = await createTestDatabase('postgres');
    const role = `tocsin_heir_${process.pid}`;
    const admin = new pg.Client({ connectionString: TEST_PG_URL, user: decodeURIComponent(new URL(TEST_PG_URL!).username) || 'postgres' });
    await admin.connect();
    try {
      const made = start('node', ['bin/tocsin.js', 'migrate'], { env: cleanEnv({ DATABASE_URL: database.url, TOCSIN_DATA_DIR: tempDir('tocsin-accept-') }) });
      expect((await made.exited()).code).toBe(0);
      await admin.query(`create role ${role} login password 'heir-password'`);
      await admin.query(`alter database ${new URL(database.url).pathname.slice(1)} owner to ${role}`);
      const url = new URL(database.url);
      url.username = role;
      url.password = 'heir-password';
      await Promise.all(
        ['serve', 'migrate'].map(async (command) => {
          const bad = start('node', ['bin/tocsin.js', command], {
            env: cleanEnv({ DATABASE_URL: url.toString(), PORT: '0', TOCSIN_MAIL_CATCHER_PORT: '0', TOCSIN_DATA_DIR: tempDir('tocsin-accept-') }),
          });
          expect((await bad.exited()).code, command).toBe(1);
          expect(bad.stderr(), command).toMatch(/^tocsin: .*DATABASE_URL.*permission denied.*owner/);
          expect(bad.stderr(), command).not.toContain('    at ');
        }),
      );
    } finally {
      await database.drop();
      await admin.query(`drop role if exists ${role}`);
      await admin.end();
    }
  });

  it('says which HOST cannot be listened on, without a stack trace, when it is no address of this machine', async () => {
    // A link-local IPv6 address without its zone (fe80::99, or [fe80::99] as URLs write it) is EINVAL, not EADDRNOTAVAIL.
    await Promise.all(
      ['192.0.2.1', 'no-such-host.invalid', 'fe80::99', '[fe80::99]'].map(async (host) => {
        const bad = serve({ TOCSIN_DATA_DIR: tempDir('tocsin-accept-'), HOST: host });
        const { code } = await bad.exited();
        running.delete(bad);
        expect(code, host).toBe(1);
        expect(bad.stderr(), host).toMatch(new RegExp(`^tocsin: .*HOST.*${host.replace(/[.[\]]/g, '\\$&')}`));
        expect(bad.stderr(), host).not.toContain('    at ');
      }),
    );
  });

  it('answers --help of each command with its usage, exit 0, starting and migrating nothing', async () => {
    const cwd = tempDir('tocsin-help-');
    const tocsin = (args: string[]) => start('node', [path.join(REPO_ROOT, 'bin/tocsin.js'), ...args], { cwd, env: cleanEnv({}) });
    // Every run is in one folder, which none may write to, so they run at once.
    const helped = Promise.all(
      ['serve', 'migrate', 'raise', 'test-mail'].map(async (command) => {
        const help = tocsin([command, '--help']);
        expect((await help.exited()).code, command).toBe(0);
        expect(help.stdout(), command).toContain(`usage: tocsin ${command}`);
      }),
    );
    // Without a command it is a usage error: the usage goes to standard error, as an unknown command's does.
    const none = tocsin([]);
    const bad = tocsin(['serve', '--bogus']);
    await Promise.all([helped, none.exited(), bad.exited()]);
    expect(fs.existsSync(path.join(cwd, 'data')), 'no ./data created').toBe(false);
    expect((await none.exited()).code).toBe(2);
    expect(none.stderr()).toContain('usage:\n  tocsin serve');
    expect(none.stdout()).toBe('');
    expect((await bad.exited()).code).toBe(2);
    expect(bad.stderr()).toContain("Unknown option '--bogus'");
    expect(bad.stderr()).not.toContain('    at ');
  });

  it('refuses an option or argument `tocsin migrate` does not take, exit 2, migrating nothing', async () => {
    // `tocsin migrate --dry-run` (or a stray word) applied every pending migration and exited 0.
    const cwd = tempDir('tocsin-migrate-args-');
    await Promise.all(
      [['--dry-run'], ['now']].map(async (args) => {
        const bad = start('node', [path.join(REPO_ROOT, 'bin/tocsin.js'), 'migrate', ...args], { cwd, env: cleanEnv({}) });
        expect((await bad.exited()).code, args[0]).toBe(2);
        expect(bad.stderr(), args[0]).toMatch(/^tocsin migrate: .*\nusage: tocsin migrate/);
        expect(bad.stderr(), args[0]).not.toContain('    at ');
      }),
    );
    expect(fs.existsSync(path.join(cwd, 'data')), 'no ./data created').toBe(false);
  });

  it('runs with `npm start` from the repository root, keeping its data in ./data', async () => {
    // A copy of the checkout's layout, so ./data is created there and not in the real checkout.
    const root = tempDir('tocsin-root-');
    for (const entry of ['package.json', 'bin', 'dist', 'node_modules']) {
      fs.symlinkSync(path.join(REPO_ROOT, entry), path.join(root, entry));
    }
    const npm = serve({ LOG_LEVEL: 'info' }, root, ['npm', ['start', '--silent']]);
    const [, url] = await npm.waitFor(RUNNING, 30_000);
    await npm.waitFor(GENERATED_TOKEN);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(fs.existsSync(path.join(root, 'data', 'tocsin.db'))).toBe(true);
    expect(fs.existsSync(path.join(root, 'data', 'secret.key'))).toBe(true);
    // Ctrl-C in a terminal signals the whole foreground group: npm (which dies of it) and Tocsin.
    const { code, signal } = await stopped(npm, 'SIGINT', true);
    expect(code === 0 || signal === 'SIGINT').toBe(true);
    await expect.poll(() => groupAlive(npm), { timeout: STOP_WAIT_MS }).toBe(false);
    expect(npm.stdout()).toContain('"msg":"shutting down"');
    expect(npm.stdout()).not.toContain('shutdown took too long');
  });
});

describeEachDialect('tocsin migrate, on a fresh database', (dialect) => {
  it('applies every migration once, then reports the database up to date', async () => {
    const database = await createTestDatabase(dialect);
    try {
      const env = cleanEnv({ DATABASE_URL: database.url });
      const first = start('node', ['bin/tocsin.js', 'migrate'], { env });
      expect((await first.exited()).code).toBe(0);
      const migrations = Object.keys(MIGRATIONS);
      expect(first.stdout()).toContain(`applied ${migrations.length} migration(s)`);
      expect(first.stdout()).not.toContain('tocsin:tocsin@');
      const again = start('node', ['bin/tocsin.js', 'migrate'], { env });
      expect((await again.exited()).code).toBe(0);
      expect(again.stdout()).toContain('is up to date');
    } finally {
      await database.drop();
    }
  });
});
