/**
 * Raising alerts while the database is unreachable: PostgreSQL reached through a TCP proxy that
 * drops its connections and hangs up on new ones until restored (a real outage as Tocsin sees one).
 */
import pg from 'pg';
import { expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { TEST_PG_URL } from '../../test/support/storage.js';
import { proxyFor, viaProxy } from '../../test/support/tcp-proxy.js';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from '../http/problem.js';
import { READ_ONLY_REASON } from '../storage/connect.js';
import { StorageUnavailableError } from '../storage/errors.js';
import { SILENT_SERVER_BOUND_MS } from '../storage/storage.js';
import { type NewAlert, parseAlertsBody } from './input.js';

it.runIf(TEST_PG_URL)('answers 503 with Retry-After while alerts cannot be stored, and 202 once the database is back [postgres]', async () => {
  const proxy = await proxyFor(TEST_PG_URL!);
  const t = await startTestApp('postgres', {}, {}, { reach: (url) => viaProxy(url, proxy) });
  try {
    const tenantId = (await t.call('POST', '/api/v1/tenants', { name: 'outage' })).json<{ id: string }>().id;
    const alert = { severity: 'Error', component: 'Jobs', message: 'Invoice run failed' };
    proxy.cut();
    // The ingest stage itself says the failure may pass.
    const parsed = parseAlertsBody(alert, Date.now()) as { alerts: NewAlert[] };
    const failure = await t.tocsin.deps.ingest.raise(tenantId, parsed.alerts).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StorageUnavailableError);
    expect(failure).toMatchObject({ stage: 'ingest', retryable: true });
    const refused = await t.call('POST', '/api/v1/tenants/outage/alerts', alert);
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe(RETRY_AFTER);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.json()).toMatchObject({ status: 503, title: 'Service Unavailable', detail: expect.stringMatching(/retry later/) });
    proxy.restore();
    const stored = await t.call('POST', '/api/v1/tenants/outage/alerts', alert);
    expect(stored.statusCode).toBe(202);
  } finally {
    proxy.restore();
    await t.close();
    await proxy.close();
  }
});

/**
 * asOperator starts Tocsin (configured by `env` too) on a PostgreSQL database of its own with a
 * tenant to raise alerts in, and gives the test an operator's connection to that server: `sql` runs
 * a statement on it (`{db}` stands for the database's name), `endConnections` ends Tocsin's. `undo`
 * puts the database back whatever the test did.
 */
async function asOperator(
  tenant: string,
  undo: string,
  run: (operator: { t: TestApp; sql: (statement: string) => Promise<unknown>; endConnections: () => Promise<unknown> }) => Promise<void>,
  env: Record<string, string> = {},
) {
  let databaseUrl = '';
  const t = await startTestApp('postgres', env, {}, { reach: (url) => (databaseUrl = url) });
  const name = new URL(databaseUrl).pathname.slice(1);
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  const sql = (statement: string) => admin.query(statement.replaceAll('{db}', name));
  try {
    await t.call('POST', '/api/v1/tenants', { name: tenant });
    await run({ t, sql, endConnections: () => admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]) });
  } finally {
    await sql(undo).catch(() => undefined);
    await admin.end();
    await t.close();
  }
}

const ALERT = { severity: 'Error', component: 'Jobs', message: 'Invoice run failed' };

/** RETRY_AFTER is the Retry-After of every 503 of an outage. */
const RETRY_AFTER = String(UNAVAILABLE_RETRY_AFTER_SECONDS);

/** AFTER_SILENCE_MS bounds a test's wait for a 202 once a silent server answers again: the requests it held fail first, twice over for a busy machine. */
const AFTER_SILENCE_MS = 2 * SILENT_SERVER_BOUND_MS;

it.runIf(TEST_PG_URL)(
  'answers 503 with Retry-After, not 500, while the database accepts no connections (ALLOW_CONNECTIONS false), and 202 once it does [postgres]',
  () =>
    asOperator('maintenance', 'alter database {db} allow_connections true', async ({ t, sql, endConnections }) => {
      // An operator's maintenance: no new connection to the database, and the open ones closed.
      await sql('alter database {db} allow_connections false');
      await endConnections();
      const refused = await t.call('POST', '/api/v1/tenants/maintenance/alerts', ALERT);
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe(RETRY_AFTER);
      const listed = await t.call('GET', '/api/v1/tenants/maintenance/alerts');
      expect(listed.statusCode).toBe(503);
      // A check that draws a pooled connection the operator ended says only 'unreachable'; the next ones say why.
      await expect
        .poll(async () => {
          const ready = await t.call('GET', '/readyz');
          return { status: ready.statusCode, reason: ready.json<{ reason?: string }>().reason };
        })
        .toMatchObject({ status: 503, reason: expect.stringMatching(/accept/) });
      await sql('alter database {db} allow_connections true');
      const stored = await t.call('POST', '/api/v1/tenants/maintenance/alerts', ALERT);
      expect(stored.statusCode).toBe(202);
    }),
);

it('answers 503 with Retry-After, not 500, while the SQLite disk is full, and 202 once there is room again [sqlite]', async () => {
  const t = await startTestApp('sqlite');
  const sqlite = t.tocsin.deps.storage.sqlite!;
  try {
    await t.call('POST', '/api/v1/tenants', { name: 'full' });
    const pages = sqlite.pragma('page_count', { simple: true }) as number;
    const pageSize = sqlite.pragma('page_size', { simple: true }) as number;
    const roomForGrowth = sqlite.pragma('max_page_count', { simple: true }) as number;
    // The database may not grow by a page more: SQLite says "database or disk is full", as on a full disk.
    sqlite.pragma(`max_page_count = ${pages}`);
    // A page of log each, whatever the page size: more than the free pages a new database keeps.
    const alerts = Array.from({ length: 50 }, (_, i) => ({
      severity: 'Error',
      component: 'Jobs',
      message: `run ${i} failed`,
      data: { log: 'x'.repeat(pageSize) },
    }));
    const refused = await t.call('POST', '/api/v1/tenants/full/alerts', { alerts });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe(RETRY_AFTER);
    expect(refused.json()).toMatchObject({ status: 503, detail: expect.stringMatching(/retry later/) });
    sqlite.pragma(`max_page_count = ${roomForGrowth}`);
    const stored = await t.call('POST', '/api/v1/tenants/full/alerts', { alerts });
    expect(stored.statusCode).toBe(202);
  } finally {
    await t.close();
  }
});

it.runIf(TEST_PG_URL)(
  'answers 503 with Retry-After, not 500, while the database takes no writes (a standby after a failover, default_transaction_read_only), and 202 once it does [postgres]',
  () =>
    asOperator('failover', 'alter database {db} reset default_transaction_read_only', async ({ t, sql, endConnections }) => {
      // Reads go on; the pool's ended connections are replaced by new ones, read-only or not as the database now says.
      const reconnect = async () => {
        await endConnections();
        for (let i = 0; i < 12; i++) await t.call('GET', '/api/v1/tenants/failover/alerts');
      };
      // What a pool sees when its server became a standby: every new connection reads, none writes.
      await sql('alter database {db} set default_transaction_read_only = on');
      await reconnect();
      expect((await t.call('GET', '/api/v1/tenants/failover/alerts')).statusCode).toBe(200);
      const refused = await t.call('POST', '/api/v1/tenants/failover/alerts', ALERT);
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe(RETRY_AFTER);
      const created = await t.call('POST', '/api/v1/tenants', { name: 'during-failover' });
      expect(created.statusCode).toBe(503);
      await sql('alter database {db} reset default_transaction_read_only');
      await reconnect();
      const stored = await t.call('POST', '/api/v1/tenants/failover/alerts', ALERT);
      expect(stored.statusCode).toBe(202);
    }),
);

// ALTER DATABASE … SET default_transaction_read_only applies to the sessions opened after it: the
// ones Tocsin's pool opened during a maintenance kept refusing writes once the DBA reset it, and a
// pool under load never left them idle long enough to close them (by hand with dist/, 5 writers
// at a time: 814 of 1,220 POSTs answered 503 in the 40 s after the reset, and on).
it.runIf(TEST_PG_URL)(
  'writes again once the database takes writes again, on the connections it opened while it took none (no session ended after the reset) [postgres]',
  () =>
    asOperator('maintenance-over', 'alter database {db} reset default_transaction_read_only', async ({ t, sql, endConnections }) => {
      const five = () => Promise.all(Array.from({ length: 5 }, () => t.call('POST', '/api/v1/tenants/maintenance-over/alerts', ALERT)));
      await sql('alter database {db} set default_transaction_read_only = on');
      await endConnections();
      // The pool's ended connections are replaced by read-only ones, which answer reads and refuse writes.
      await expect.poll(async () => (await t.call('GET', '/api/v1/tenants/maintenance-over/alerts')).statusCode).toBe(200);
      expect((await five()).map((res) => res.statusCode)).toEqual([503, 503, 503, 503, 503]);
      await sql('alter database {db} reset default_transaction_read_only');
      // The first writes may meet the connections opened before it; those are retired within a second.
      await expect.poll(async () => (await five()).map((res) => res.statusCode), { timeout: 10_000 }).toEqual([202, 202, 202, 202, 202]);
    }),
);

// /readyz asked a pooled session, which keeps the default_transaction_read_only of its opening: with no
// write to retire the sessions opened during the maintenance (an api process nobody wrote to; the
// scheduler's and the worker's refused writes retire them in the others), it said
// read-only until the pool let them go idle, 10 s after the last use, so never while it was polled.
it.runIf(TEST_PG_URL)(
  'is ready again within about a second of the end of a read-only maintenance, asked by /readyz alone, no write retiring the read-only sessions [postgres]',
  () =>
    asOperator(
      'readiness-after-maintenance',
      'alter database {db} reset default_transaction_read_only',
      async ({ t, sql, endConnections }) => {
        const readiness = async () => (await t.call('GET', '/readyz')).json<{ status: string; reason?: string }>();
        await sql('alter database {db} set default_transaction_read_only = on');
        await endConnections();
        // The pool's new sessions, opened during the maintenance, take no writes.
        await expect.poll(readiness).toEqual({ status: 'unavailable', reason: READ_ONLY_REASON });
        await sql('alter database {db} reset default_transaction_read_only');
        await expect.poll(readiness, { timeout: 5_000 }).toMatchObject({ status: 'ready' });
      },
      { TOCSIN_ROLE: 'api' },
    ),
);

it.runIf(TEST_PG_URL)(
  'answers 503 with Retry-After, not 500, while the database named in DATABASE_URL is gone (renamed or dropped for a restore), and 202 once it is back [postgres]',
  () =>
    asOperator('renamed', 'alter database {db}_moved rename to {db}', async ({ t, sql, endConnections }) => {
      // An operator's restore: the database moved aside, so every new connection is refused with 3D000.
      await sql('alter database {db} allow_connections false');
      await endConnections();
      await sql('alter database {db} rename to {db}_moved');
      await sql('alter database {db}_moved allow_connections true');
      const refused = await t.call('POST', '/api/v1/tenants/renamed/alerts', ALERT);
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe(RETRY_AFTER);
      expect(refused.json()).toMatchObject({ status: 503, detail: expect.stringMatching(/retry later/) });
      expect((await t.call('GET', '/api/v1/tenants/renamed/alerts')).statusCode).toBe(503);
      expect((await t.call('GET', '/readyz')).json()).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/does not exist/) });
      await sql('alter database {db}_moved rename to {db}');
      const stored = await t.call('POST', '/api/v1/tenants/renamed/alerts', ALERT);
      expect(stored.statusCode).toBe(202);
    }),
);

it.runIf(TEST_PG_URL)(
  "answers 503 with Retry-After, not 500, while Tocsin's tables are gone (a pg_restore --clean into the database it serves), and 202 once they are back [postgres]",
  async () => {
    let databaseUrl = '';
    const t = await startTestApp('postgres', {}, {}, { reach: (url) => (databaseUrl = url) });
    const dba = new pg.Client({ connectionString: databaseUrl });
    await dba.connect();
    try {
      await t.call('POST', '/api/v1/tenants', { name: 'restoring' });
      // A DBA's restore in place drops each table and makes it again: meanwhile 'relation "tenants"
      // does not exist' answered 86 requests of 400 with a 500 in a walk with the real server.
      await dba.query('create schema restoring');
      await dba.query('alter table tenants set schema restoring');
      for (const answer of [await t.call('POST', '/api/v1/tenants/restoring/alerts', ALERT), await t.call('GET', '/api/v1/tenants/restoring/alerts')]) {
        expect(answer.statusCode, answer.body).toBe(503);
        expect(answer.headers['retry-after']).toBe(RETRY_AFTER);
      }
      await dba.query('alter table restoring.tenants set schema public');
      expect((await t.call('POST', '/api/v1/tenants/restoring/alerts', ALERT)).statusCode).toBe(202);
    } finally {
      await dba.end();
      await t.close();
    }
  },
);

it.runIf(TEST_PG_URL)(
  'answers 503 with Retry-After within seconds, not after the outage, while PostgreSQL takes the connections and answers nothing, and 202 once it answers [postgres]',
  async () => {
    const proxy = await proxyFor(TEST_PG_URL!);
    const t = await startTestApp('postgres', {}, {}, { reach: (url) => viaProxy(url, proxy) });
    try {
      await t.call('POST', '/api/v1/tenants', { name: 'silent' });
      // A frozen server or a network partition: the pooled connections and new ones stay open, silent.
      proxy.stall();
      const answers = await Promise.all([
        t.call('POST', '/api/v1/tenants/silent/alerts', ALERT),
        t.call('GET', '/api/v1/tenants/silent/alerts'),
        t.call('PUT', '/api/v1/tenants/silent/settings/mail', { dailyReportTime: '09:00' }),
      ]);
      for (const answer of answers) {
        expect(answer.statusCode).toBe(503);
        expect(answer.headers['retry-after']).toBe(RETRY_AFTER);
        expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
      proxy.cut();
      proxy.restore();
      await expect.poll(async () => (await t.call('POST', '/api/v1/tenants/silent/alerts', ALERT)).statusCode, { timeout: AFTER_SILENCE_MS }).toBe(202);
    } finally {
      proxy.cut();
      proxy.restore();
      await t.close();
      await proxy.close();
    }
  },
  120_000,
);

it.runIf(TEST_PG_URL)(
  'answers, not hangs, while the pooled connections to PostgreSQL are silent and new ones answer (a partition of the old connections, a failover behind one address) [postgres]',
  async () => {
    const proxy = await proxyFor(TEST_PG_URL!);
    const t = await startTestApp('postgres', {}, {}, { reach: (url) => viaProxy(url, proxy) });
    try {
      await t.call('POST', '/api/v1/tenants', { name: 'half-silent' });
      // The open connections forward nothing any more; the ones opened from now on work.
      proxy.stall();
      proxy.restore();
      const answers = await Promise.all([t.call('POST', '/api/v1/tenants/half-silent/alerts', ALERT), t.call('GET', '/api/v1/tenants/half-silent/alerts')]);
      for (const answer of answers) expect([200, 202, 503]).toContain(answer.statusCode);
      await expect.poll(async () => (await t.call('POST', '/api/v1/tenants/half-silent/alerts', ALERT)).statusCode, { timeout: AFTER_SILENCE_MS }).toBe(202);
    } finally {
      proxy.cut();
      proxy.restore();
      await t.close();
      await proxy.close();
    }
  },
  120_000,
);
