import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { ROUTE_MODULES } from './route-modules.js';
import { routesFor, startTocsin } from './server.js';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../test/support/http.js';
import { captureWarnings } from '../test/support/log-capture.js';
import { loadConfig } from './config.js';
import { opsRoutes } from './ops/routes.js';
import { TEST_PG_URL, createTestDatabase, describeEachDialect } from '../test/support/storage.js';
import { sql } from 'kysely';
import { ConfigError } from './shared/config-error.js';
import { OTHER_SECRET_KEY } from './settings/secret-key-check.js';
import { insertAlerts } from './alerts/store.js';
import { newAlert } from '../test/support/alerts.js';
import { migrate } from './storage/migrate.js';
import { openStorage } from './storage/storage.js';
import { enqueueDeliveries } from './delivery/outbox/enqueue.js';
import { insertTestTenant, testDelivery } from '../test/support/outbox-fixtures.js';

it('gives a worker only the operations routes, and api and all every route', async () => {
  expect(await routesFor('worker')).toEqual([opsRoutes]);
  expect(await routesFor('api')).toBe(ROUTE_MODULES);
  expect(await routesFor('all')).toBe(ROUTE_MODULES);
});

describeEachDialect('tocsin serve --role', (dialect) => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('worker answers health, readiness and metrics, and nothing of the API', async () => {
    app = await startTestApp(dialect, { TOCSIN_ROLE: 'worker' });
    expect((await app.call('GET', '/healthz', undefined, '')).statusCode).toBe(200);
    expect((await app.call('GET', '/readyz', undefined, '')).statusCode).toBe(200);
    expect((await app.call('GET', '/metrics', undefined, '')).statusCode).toBe(200);
    const tenants = await app.call('GET', '/api/v1/tenants');
    expect(tenants.statusCode).toBe(404);
    expect(tenants.headers['content-type']).toContain('application/problem+json');
  });

  it('api serves the API', async () => {
    app = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    expect((await app.call('GET', '/api/v1/tenants')).statusCode).toBe(200);
  });
});

describeEachDialect('alert retention', (dialect) => {
  it("purges the expired alerts in the processes that run the workers, the default role 'all' as a 'worker'", async () => {
    // Started only where the workers run: with the role check turned around, a single `tocsin serve` (role all),
    // or a split deployment's workers, kept every alert past its tenant's retention, and every test passed.
    const app = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    const { config, storage } = app.tocsin.deps;
    const tenant = await insertTestTenant(storage.db, 'kept');
    const stored = async () => (await storage.db.selectFrom('alerts').select('id').where('tenant_id', '=', tenant).execute()).length;
    try {
      for (const role of ['all', 'worker']) {
        await insertAlerts(storage.db, tenant, [newAlert({ severity: 'Info', component: 'Jobs', event: 'E', message: role })], Date.now() - 100 * 86_400_000);
        expect(await stored()).toBe(1);
        const env = {
          DATABASE_URL: config.databaseUrl,
          TOCSIN_DATA_DIR: config.dataDir,
          TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN,
          TOCSIN_ROLE: role,
          LOG_LEVEL: 'silent',
        };
        const tocsin = await startTocsin(loadConfig(env), { listen: false, logger: pino({ level: 'silent' }), mailCatcher: false });
        try {
          await expect.poll(stored, { timeout: 10_000 }).toBe(0);
        } finally {
          await tocsin.close();
        }
      }
    } finally {
      await app.close();
    }
  });
});

it('takes PORT=0 as any free port, and names that port in the public URL of links and receive URLs', async () => {
  const app = await startTestApp('sqlite', { PORT: '0', HOST: '127.0.0.1' }, { listen: true });
  try {
    const url = app.tocsin.url!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toMatch(/:0$/);
    expect(app.tocsin.deps.config.publicUrl).toBe(url);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    await app.call('POST', '/api/v1/tenants', { name: 'port-zero' });
    const source = (await app.call('POST', '/api/v1/tenants/port-zero/sources', { name: 'hook', kind: 'webhook' })).json();
    expect(source.url.startsWith(`${url}/api/v1/sources/`)).toBe(true);
  } finally {
    await app.close();
  }
  // A public URL that was given stays as it is.
  const given = await startTestApp('sqlite', { PORT: '0', TOCSIN_PUBLIC_URL: 'https://alerts.example.com' }, { listen: true });
  try {
    expect(given.tocsin.deps.config.publicUrl).toBe('https://alerts.example.com');
  } finally {
    await given.close();
  }
});

it("starts a SQLite file's idle checkpoint thread with the server, before its first alert, not at its first idle checkpoint", async () => {
  const app = await startTestApp('sqlite');
  try {
    expect(app.tocsin.deps.storage.checkpoints?.started).toBe(true);
  } finally {
    await app.close();
  }
});

describeEachDialect('a system default SMTP saved in System mail settings', (dialect) => {
  it('is named at start-up, in a warning and in place of TOCSIN_SMTP_URL or the catcher, which it is used instead of', async () => {
    // Saved once (console or PUT), it is what every email goes through, restart after restart; the start
    // said nothing of it and named TOCSIN_SMTP_URL all the same, so an operator who changed the variable
    // read the new server in the banner and saw the emails still go to the saved one.
    const app = await startTestApp(dialect, { TOCSIN_SMTP_URL: 'smtps://ops:first-pw@first.example.com' });
    const { databaseUrl, dataDir } = app.tocsin.deps.config;
    const restart = async (env: Record<string, string>) => {
      const { log, entries } = captureWarnings();
      const config = loadConfig({ DATABASE_URL: databaseUrl, TOCSIN_DATA_DIR: dataDir, TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent', ...env });
      const tocsin = await startTocsin(config, { listen: false, logger: log, mailCatcher: false });
      await tocsin.close();
      return { tocsin, warnings: entries.map((e) => e.msg) };
    };
    try {
      const unsaved = await restart({ TOCSIN_SMTP_URL: 'smtps://ops:second-pw@second.example.com' });
      expect(unsaved.tocsin.systemSmtpSaved).toBeUndefined();
      expect(unsaved.warnings.filter((w) => w.includes('System mail settings'))).toEqual([]);

      const saved = await app.call('PUT', '/api/v1/system/mail-settings', {
        host: 'saved.example.com',
        port: 587,
        security: 'starttls',
        username: 'ops',
        password: 'saved-pw',
        fromAddress: 'alerts@example.com',
      });
      expect(saved.statusCode).toBe(200);
      const shadowed = await restart({ TOCSIN_SMTP_URL: 'smtps://ops:second-pw@second.example.com' });
      expect(shadowed.tocsin.systemSmtpSaved).toBe('smtp://saved.example.com:587');
      expect(shadowed.warnings).toContain(
        'the system default SMTP saved in System mail settings (smtp://saved.example.com:587) is used, not TOCSIN_SMTP_URL (smtps://ops:***@second.example.com): change or replace the saved one there (PUT /api/v1/system/mail-settings)',
      );
      expect(shadowed.warnings.join('\n')).not.toMatch(/pw/);
    } finally {
      await app.close();
    }
  });
});

describeEachDialect('what a start says of its configuration', (dialect) => {
  it('logs the configuration warnings, and an error when its secret key opens none of the secrets saved', async () => {
    // The checks are config.ts's and secret-key-check.ts's, tested there; with startTocsin's loop over the
    // warnings, or its log of OTHER_SECRET_KEY, dropped, every test passed and an operator was told nothing.
    const app = await startTestApp(dialect, { TOCSIN_SECRET_KEY: 'the key that saved the secrets' });
    const { databaseUrl, dataDir } = app.tocsin.deps.config;
    const start = async (env: Record<string, string>) => {
      const { log, entries } = captureWarnings();
      const config = loadConfig({ DATABASE_URL: databaseUrl, TOCSIN_DATA_DIR: dataDir, TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent', ...env });
      await (await startTocsin(config, { listen: false, logger: log, mailCatcher: false })).close();
      return entries.map((e) => [e.level, e.msg]);
    };
    try {
      await app.call('POST', '/api/v1/tenants', { name: 'keyed' });
      expect((await app.call('POST', '/api/v1/tenants/keyed/sources', { name: 'hook', kind: 'webhook' })).statusCode).toBe(201);
      expect(await start({ TOCSIN_SECRET_KEY: 'another key altogether', TOCSIN_SUMARY_INTERVAL_SECONDS: '60' })).toEqual([
        [40, 'TOCSIN_SUMARY_INTERVAL_SECONDS is not a setting of Tocsin and is not read: did you mean TOCSIN_SUMMARY_INTERVAL_SECONDS?'],
        [50, OTHER_SECRET_KEY],
      ]);
      expect(await start({ TOCSIN_SECRET_KEY: 'the key that saved the secrets' })).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

describeEachDialect('the admin token generated on first start', (dialect) => {
  it('is printed by the start that serves: a first start that failed (its port taken) takes back the one it generated and never printed', async () => {
    // The token was stored before the port was found taken, and the start failed without printing it: every
    // later start said it was "kept from an earlier start", so no one could ever sign in as host administrator.
    const database = await createTestDatabase(dialect);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-data-'));
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const config = (port: number) =>
      loadConfig({ DATABASE_URL: database.url, TOCSIN_DATA_DIR: dataDir, TOCSIN_SMTP_URL: 'smtp://127.0.0.1:1', PORT: String(port), LOG_LEVEL: 'silent' });
    try {
      const taken = (holder.address() as net.AddressInfo).port;
      await expect(startTocsin(config(taken), { logger: pino({ level: 'silent' }) })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      const served = await startTocsin(config(0), { listen: false, logger: pino({ level: 'silent' }) });
      try {
        expect(served.generatedAdminToken).toMatch(/^tcs_admin_/);
        const tenants = await served.app.inject({ method: 'GET', url: '/api/v1/tenants', headers: { authorization: `Bearer ${served.generatedAdminToken}` } });
        expect(tenants.statusCode).toBe(200);
      } finally {
        await served.close();
      }
    } finally {
      holder.close();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describeEachDialect('a start whose port is taken', (dialect) => {
  it('fails before its delivery worker claims anything: the emails due keep no lease of a process that never served', async () => {
    // A second `tocsin serve` on a port in use started its worker before listening: in the moment
    // before it stopped it leased (or tried) the emails due, which then waited out the lease.
    const database = await createTestDatabase(dialect, { migrated: true });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-data-'));
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const storage = await openStorage(database.url, { poolSize: 2 });
    try {
      const tenant = await insertTestTenant(storage.db, 'due');
      await enqueueDeliveries(
        storage.db,
        Array.from({ length: 20 }, (_, i) => testDelivery(tenant, `r${i}@example.com`)),
      );
      const rows = () => storage.db.selectFrom('deliveries').select(['id', 'status', 'attempts', 'lease_owner', 'next_attempt_at']).orderBy('id').execute();
      const before = await rows();
      const taken = (holder.address() as net.AddressInfo).port;
      const config = loadConfig({
        DATABASE_URL: database.url,
        TOCSIN_DATA_DIR: dataDir,
        TOCSIN_SMTP_URL: 'smtp://127.0.0.1:1',
        PORT: String(taken),
        LOG_LEVEL: 'silent',
      });
      await expect(startTocsin(config, { logger: pino({ level: 'silent' }) })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      expect(await rows()).toEqual(before);
    } finally {
      holder.close();
      await storage.close();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

it.runIf(TEST_PG_URL)('stops with one line naming DATABASE_URL when the migrated PostgreSQL database is read-only, not a stack trace', async () => {
  // A start on a standby, or on a database set default_transaction_read_only, with every migration
  // applied got past them and stopped at its first write: 'tocsin: error: cannot execute INSERT in a
  // read-only transaction' and a stack trace through ensureAdminToken (with a migration pending it
  // already stopped with one line: migrateOrStop).
  const database = await createTestDatabase('postgres');
  const name = new URL(database.url).pathname.slice(1);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-data-'));
  try {
    const storage = await openStorage(database.url, { poolSize: 1 });
    try {
      await migrate(storage);
      await sql`alter database ${sql.id(name)} set default_transaction_read_only = on`.execute(storage.db);
    } finally {
      await storage.close();
    }
    const config = loadConfig({ DATABASE_URL: database.url, TOCSIN_DATA_DIR: dataDir, TOCSIN_SMTP_URL: 'smtp://127.0.0.1:1', LOG_LEVEL: 'silent' });
    const failure = await startTocsin(config, { listen: false, logger: pino({ level: 'silent' }) }).then(
      (started) => started.close().then(() => 'started'),
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as Error).message).toMatch(/^DATABASE_URL: the database is read-only \(/);
    expect((failure as Error).message).not.toContain('\n');
  } finally {
    await database.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

it('answers a request that connected while the start was still on its way to listening, rather than resetting it', async () => {
  // A start holds its port before it serves (PORT=0's choice from the first moment, a fixed port from
  // before the pipeline starts); a client that connected meanwhile (a script that waited for the port
  // to open) had its connection destroyed: 'Connection reset by peer' for its first request.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-data-'));
  let answer: Promise<string> | undefined;
  // The warning about HOST=0.0.0.0 names the port held for PORT=0, before the database is even opened.
  const logger = pino(
    { level: 'warn' },
    {
      write(line: string) {
        const port = /http:\/\/0\.0\.0\.0:(\d+)/.exec(line)?.[1];
        if (port && !answer) answer = requestOn(Number(port));
      },
    },
  );
  const config = loadConfig({
    DATABASE_URL: `sqlite:${path.join(dataDir, 'tocsin.db')}`,
    TOCSIN_DATA_DIR: dataDir,
    TOCSIN_SMTP_URL: 'smtp://127.0.0.1:1',
    HOST: '0.0.0.0',
    PORT: '0',
  });
  const tocsin = await startTocsin(config, { logger });
  try {
    expect(answer).toBeDefined();
    expect(await answer).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n\{"status":"ok"\}$/);
  } finally {
    await tocsin.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

/** requestOn sends GET /healthz on a new connection to the port and answers all it received, and the error that ended it. */
function requestOn(port: number): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    const client = net.connect(port, '127.0.0.1', () => client.end('GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'));
    client.on('data', (chunk) => {
      received += chunk;
    });
    client.once('error', (err: NodeJS.ErrnoException) => resolve(`${received}[${err.code}]`));
    client.once('close', () => resolve(received));
  });
}
