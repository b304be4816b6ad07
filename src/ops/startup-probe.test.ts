import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../config.js';
import { startTocsin } from '../server.js';
import { migrate } from '../storage/migrate.js';
import { openStorage } from '../storage/storage.js';
import { listenStartupProbe } from './startup-probe.js';
import { freePort } from '../../test/support/ports.js';
import { readinessSeries } from '../../test/support/readiness-series.js';
import { mountSmallDisk } from '../../test/support/small-disk.js';
import { DIALECTS, createLimitedRole, createTestDatabase } from '../../test/support/storage.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';

/** dataDir is a fresh TOCSIN_DATA_DIR (its secret.key included), removed after the test. */
const dataDir = useTempDirs('tocsin-data-');

/** notReadyAnswer waits until a starting process answers /readyz (a 503) and gives its body. */
function notReadyAnswer(base: string, timeout = 10_000): Promise<unknown> {
  return vi.waitFor(
    async () => {
      const res = await fetch(`${base}/readyz`);
      expect(res.status).toBe(503);
      return res.json();
    },
    { timeout, interval: 50 },
  );
}

describe.runIf(DIALECTS.includes('postgres'))('a process started while PostgreSQL has no free connection', () => {
  it('stays up, answers /readyz 503 with the reason, and serves once a connection frees', async () => {
    const database = await createTestDatabase('postgres');
    const role = await createLimitedRole(database, 2);
    const holders = [new pg.Client({ connectionString: role.url }), new pg.Client({ connectionString: role.url })];
    const port = await freePort();
    const config = loadConfig({
      DATABASE_URL: role.url,
      TOCSIN_ROLE: 'api',
      TOCSIN_DB_POOL_SIZE: '2',
      TOCSIN_ADMIN_TOKEN: 'test-admin-token-0123456789',
      TOCSIN_DATA_DIR: dataDir(),
      TOCSIN_SMTP_URL: 'smtp://127.0.0.1:1',
      PORT: String(port),
    });
    try {
      for (const holder of holders) await holder.connect();
      const starting = startTocsin(config, { logger: pino({ level: 'silent' }) });
      const base = `http://127.0.0.1:${port}`;
      const waiting = await notReadyAnswer(base);
      expect(waiting).toEqual({ status: 'unavailable', reason: expect.stringMatching(/^too many connections: .*too many connections for role/) });
      // Prometheus reads it too, not a failed scrape.
      expect(readinessSeries(await (await fetch(`${base}/metrics`)).text())).toEqual({ ready: 0, notReady: ['too_many_connections'] });
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const api = await fetch(`${base}/api/v1/tenants`);
      expect(api.status).toBe(503);
      expect(api.headers.get('content-type')).toBe('application/problem+json');

      for (const holder of holders) await holder.end();
      const tocsin = await starting;
      try {
        expect(tocsin.url).toBe(`http://127.0.0.1:${port}`);
        const ready = await fetch(`${base}/readyz`);
        expect(ready.status).toBe(200);
      } finally {
        await tocsin.close();
      }
    } finally {
      for (const holder of holders) await holder.end().catch(() => {});
      await database.drop();
      await role.drop();
    }
    // Once connected, the start migrates a fresh database: 6 s under a load of 20, and 25 s once, past vitest's 30 s default.
  }, 90_000);
});

/** Kysely's advisory lock on PostgreSQL: the one a process applying the migrations holds (postgres-adapter.js LOCK_ID). */
const KYSELY_MIGRATION_LOCK = '3853314791062309107';

describe.runIf(DIALECTS.includes('postgres'))('a process started while another applies the migrations', () => {
  it('stays up, answers /readyz 503 migrating with the pending migrations, and serves once they are applied', async () => {
    const database = await createTestDatabase('postgres');
    // Another process's migration, held for as long as the test needs: this one waits for its lock.
    const other = new pg.Client({ connectionString: database.url });
    const port = await freePort();
    const config = loadConfig({
      DATABASE_URL: database.url,
      TOCSIN_ADMIN_TOKEN: 'test-admin-token-0123456789',
      TOCSIN_DATA_DIR: dataDir(),
      TOCSIN_SMTP_URL: 'smtp://127.0.0.1:1',
      PORT: String(port),
    });
    try {
      await other.connect();
      await other.query(`select pg_advisory_lock(${KYSELY_MIGRATION_LOCK})`);
      const starting = startTocsin(config, { logger: pino({ level: 'silent' }) });
      const base = `http://127.0.0.1:${port}`;
      // The stand-in listens once the migrations have run (here, waited) for 10 s.
      const waiting = await notReadyAnswer(base, 20_000);
      expect(waiting).toEqual({ status: 'migrating', pending: expect.arrayContaining([expect.stringMatching(/^\d{8}-/)]) });
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/api/v1/tenants`)).status).toBe(503);

      await other.query(`select pg_advisory_unlock(${KYSELY_MIGRATION_LOCK})`);
      const tocsin = await starting;
      try {
        expect((await fetch(`${base}/readyz`)).status).toBe(200);
      } finally {
        await tocsin.close();
      }
    } finally {
      await other.end().catch(() => {});
      await database.drop();
    }
    // Up to 20 s for the stand-in, then the migrations of a fresh database (25 s once under load).
  }, 90_000);
});

describe('a process started on an SQLite file whose disk is full', () => {
  it.runIf(process.getuid?.() === 0)(
    'answers /readyz 503 and /metrics tocsin_not_ready{cause="disk_full"} 1 while it waits, and serves once the disk has room',
    async (context) => {
      // Its stand-in answered /metrics 503: an alert on the cause never fired for a restart on a full disk.
      const disk = mountSmallDisk();
      if (!disk) return context.skip();
      const url = `sqlite:${path.join(disk.folder, 'tocsin.db')}`;
      const port = await freePort();
      const config = loadConfig({
        DATABASE_URL: url,
        TOCSIN_ROLE: 'api',
        TOCSIN_ADMIN_TOKEN: 'test-admin-token-0123456789',
        TOCSIN_DATA_DIR: dataDir(),
        TOCSIN_SMTP_URL: 'smtp://127.0.0.1:1',
        PORT: String(port),
      });
      try {
        const storage = await openStorage(url);
        await migrate(storage);
        await storage.close();
        disk.fill();
        const starting = startTocsin(config, { logger: pino({ level: 'silent' }) });
        const base = `http://127.0.0.1:${port}`;
        expect(await notReadyAnswer(base)).toEqual({ status: 'unavailable', reason: expect.stringMatching(/^the disk of the SQLite database is full/) });
        const scrape = await fetch(`${base}/metrics`);
        expect(scrape.status).toBe(200);
        expect(readinessSeries(await scrape.text())).toEqual({ ready: 0, notReady: ['disk_full'] });
        disk.free();
        const tocsin = await starting;
        try {
          expect(readinessSeries(await (await fetch(`${base}/metrics`)).text())).toEqual({ ready: 1, notReady: [] });
        } finally {
          await tocsin.close();
        }
      } finally {
        disk.remove();
      }
    },
    60_000,
  );
});

describe('the stand-in listener of a process waiting for its database', () => {
  it("answers any other request with a problem document of the API's own type, as the app answers its 503, with Retry-After", async () => {
    // Its type was about:blank where every other problem of the API names https://tocsin.dev/problems/503.
    const probe = await listenStartupProbe(0, '127.0.0.1', { status: 'unavailable', reason: 'database unreachable (ECONNREFUSED)', cause: 'unreachable' });
    try {
      const res = await fetch(`http://127.0.0.1:${probe.port}/api/v1/tenants`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(await res.json()).toEqual({
        type: 'https://tocsin.dev/problems/503',
        title: 'Service Unavailable',
        status: 503,
        detail: 'Tocsin is starting and waiting for its database: database unreachable (ECONNREFUSED).',
      });
    } finally {
      await probe.close();
    }
  });
});
