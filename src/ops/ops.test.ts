import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../http/app.js';
import { OPENAPI_PATH } from '../http/openapi.js';
import { pathParams } from '../../test/support/route-walk.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { migrate } from '../storage/migrate.js';
import { openStorage } from '../storage/storage.js';
import { TEST_PG_URL, createTestDatabase, describeEachDialect } from '../../test/support/storage.js';
import { proxyFor, viaProxy } from '../../test/support/tcp-proxy.js';
import { startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { readinessSeries } from '../../test/support/readiness-series.js';
import { mountSmallDisk } from '../../test/support/small-disk.js';
import { until } from '../../test/support/until.js';
import { captureLog } from '../../test/support/log-capture.js';
import { Metrics } from './metrics.js';
import { opsRoutes } from './routes.js';

type Json = Record<string, any>;

/** scrape is the text of /metrics. */
async function scrape(app: Awaited<ReturnType<typeof buildApp>>): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return res.body;
}

/** logMessages are the messages of a captured log's JSON lines, in order. */
const logMessages = (text: string): string[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line).msg as string);

describeEachDialect('operations endpoints', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect);
  });
  afterAll(() => t.close());

  it('answers /healthz and /readyz without credentials', async () => {
    const health = await t.call('GET', '/healthz', undefined, '');
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const ready = await t.call('GET', '/readyz', undefined, '');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', database: dialect });
  });

  it('is not ready (503) while a migration is pending, and ready once it is applied', async () => {
    const database = await createTestDatabase(dialect);
    const storage = await openStorage(database.url, { poolSize: 2 });
    const app = await buildApp({ ...t.tocsin.deps, storage, metrics: new Metrics({ defaultMetrics: false }) }, [opsRoutes]);
    try {
      const pending = await app.inject({ method: 'GET', url: '/readyz' });
      expect(pending.statusCode).toBe(503);
      expect(pending.json().status).toBe('migrating');
      expect(pending.json().pending.length).toBeGreaterThan(0);
      await migrate(storage);
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
    } finally {
      await app.close();
      await storage.close();
      await database.drop();
    }
  });

  it('is not ready (503) once the database is closed', async () => {
    const database = await createTestDatabase(dialect);
    const storage = await openStorage(database.url, { poolSize: 2 });
    await migrate(storage);
    const app = await buildApp({ ...t.tocsin.deps, storage, metrics: new Metrics({ defaultMetrics: false }) }, [opsRoutes]);
    await storage.close();
    try {
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: 'unavailable', reason: 'database unreachable' });
    } finally {
      await app.close();
      await database.drop();
    }
  });

  it('logs a failing readiness check once, not once per probe: a load balancer probing every 2 s through an outage wrote a warning with a stack each time', async () => {
    const database = await createTestDatabase(dialect);
    const storage = await openStorage(database.url, { poolSize: 2 });
    await migrate(storage);
    const { log, text } = captureLog('info');
    const app = await buildApp({ ...t.tocsin.deps, storage, logger: log, metrics: new Metrics({ defaultMetrics: false }) }, [opsRoutes]);
    await storage.close();
    try {
      for (let probe = 0; probe < 5; probe += 1) expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
      expect(logMessages(text()).filter((msg) => msg === 'readiness check failed')).toHaveLength(1);
    } finally {
      await app.close();
      await database.drop();
    }
  });

  it.runIf(dialect === 'sqlite')('is not ready (503) once the SQLite file is removed while open, saying so', async () => {
    const database = await createTestDatabase(dialect, { migrated: true });
    const storage = await openStorage(database.url, { poolSize: 2 });
    const app = await buildApp({ ...t.tocsin.deps, storage, metrics: new Metrics({ defaultMetrics: false }) }, [opsRoutes]);
    try {
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      fs.rmSync(database.url.slice('sqlite:'.length));
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json().status).toBe('unavailable');
      expect(res.json().reason).toMatch(/removed or replaced/);
    } finally {
      await app.close();
      await storage.close();
      await database.drop();
    }
  });

  it.runIf(dialect === 'sqlite')('is not ready (503) while the disk of the SQLite file is full, saying so, and ready again once it has room', async () => {
    // A full disk answered every write 503 while /readyz said ready, so a load balancer kept sending
    // alerts there. A disk is filled here by what the file system says of it (statfs), as df reads it.
    const database = await createTestDatabase(dialect, { migrated: true });
    const storage = await openStorage(database.url, { poolSize: 2 });
    const app = await buildApp({ ...t.tocsin.deps, storage, metrics: new Metrics({ defaultMetrics: false }) }, [opsRoutes]);
    const statfs = fs.statfsSync;
    try {
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      fs.statfsSync = ((at: string) => ({ ...statfs(at), bavail: 0, bfree: 0 })) as typeof fs.statfsSync;
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: 'unavailable', reason: expect.stringMatching(/^the disk of the SQLite database is full/) });
      fs.statfsSync = statfs;
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    } finally {
      fs.statfsSync = statfs;
      await app.close();
      await storage.close();
      await database.drop();
    }
  });

  it.runIf(dialect === 'sqlite' && process.getuid?.() === 0)(
    'tells Prometheus a full disk of the SQLite file (tocsin_ready 0, tocsin_not_ready{cause="disk_full"} 1), as /readyz does, and ready again once it has room',
    async (context) => {
      // /readyz said so, but /metrics, which operators alert on, said nothing until requests failed.
      const disk = mountSmallDisk();
      if (!disk) return context.skip();
      const storage = await openStorage(`sqlite:${path.join(disk.folder, 'tocsin.db')}`, { poolSize: 2 });
      const app = await buildApp({ ...t.tocsin.deps, storage, metrics: new Metrics({ defaultMetrics: false }) }, [opsRoutes]);
      try {
        await migrate(storage);
        expect(readinessSeries(await scrape(app))).toEqual({ ready: 1, notReady: [] });
        disk.fill();
        expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
        expect(readinessSeries(await scrape(app))).toEqual({ ready: 0, notReady: ['disk_full'] });
        disk.free();
        expect(readinessSeries(await scrape(app))).toEqual({ ready: 1, notReady: [] });
      } finally {
        await app.close();
        await storage.close();
        disk.remove();
      }
    },
  );

  it.runIf(dialect === 'sqlite')(
    'refuses every write (503 with Retry-After) once the SQLite file is removed while open, not only alerts: what it took would be gone at the next start',
    async () => {
      const app = await startTestApp(dialect);
      try {
        expect((await app.call('POST', '/api/v1/tenants', { name: 'before' })).statusCode).toBe(201);
        fs.rmSync(app.tocsin.deps.config.databaseUrl.slice('sqlite:'.length));
        const writes: [string, string, unknown][] = [
          ['POST', '/api/v1/tenants', { name: 'after' }],
          ['PATCH', '/api/v1/tenants/before', { displayName: 'Lost' }],
          ['POST', '/api/v1/tenants/before/users', { email: 'lost@example.com', name: 'Lost' }],
          ['PUT', '/api/v1/tenants/before/settings/mail', { alertsEmailEnabled: true }],
          ['DELETE', '/api/v1/tenants/before', undefined],
        ];
        const answers = [];
        for (const [method, url, body] of writes) {
          const res = await app.call(method as 'POST', url, body);
          answers.push(`${method} ${url} ${res.statusCode} ${res.headers['content-type']} retry-after=${res.headers['retry-after']}`);
        }
        expect(answers).toEqual(writes.map(([method, url]) => `${method} ${url} 503 application/problem+json; charset=utf-8 retry-after=5`));
        // Reading what the process still holds goes on.
        expect((await app.call('GET', '/api/v1/tenants/before')).statusCode).toBe(200);
      } finally {
        await app.close();
      }
    },
  );

  it('exposes Prometheus metrics counting requests by route pattern and status', async () => {
    await t.call('GET', '/api/v1/tenants');
    await t.call('GET', '/api/v1/tenants/nope', undefined);
    const res = await t.call('GET', '/metrics', undefined, '');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('# TYPE tocsin_http_requests_total counter');
    expect(res.body).toMatch(/tocsin_http_requests_total\{route="\/api\/v1\/tenants",method="GET",status="200"\} [1-9]/);
    expect(res.body).toMatch(/tocsin_http_requests_total\{route="\/api\/v1\/tenants\/:tenant",method="GET",status="404"\} [1-9]/);
    expect(res.body).toContain('tocsin_http_request_duration_seconds_bucket');
    expect(res.body).toContain('tocsin_process_cpu_seconds_total');
  });

  it("names no metric but a counter with _total, which promtool check metrics refuses (as prom-client's default active handles, requests and resources gauges were)", async () => {
    const res = await t.call('GET', '/metrics', undefined, '');
    const types = [...res.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => ({ name, type }));
    expect(types.length).toBeGreaterThan(10);
    expect(types.filter(({ name, type }) => type !== 'counter' && name?.endsWith('_total'))).toEqual([]);
    expect(res.body).toMatch(/^tocsin_nodejs_active_handles\{type="\w+"\} \d+$/m);
  });

  it('counts a request refused before routing (a malformed URL) as the other requests are', async () => {
    // Its 400 never reached the counter: a client sending broken URLs did not show in the error rate.
    const bad = await t.tocsin.app.inject({ method: 'GET', url: '/api/v1/tenants/%zz' });
    expect(bad.statusCode).toBe(400);
    const res = await t.call('GET', '/metrics', undefined, '');
    expect(res.body).toMatch(/tocsin_http_requests_total\{route="unmatched",method="GET",status="400"\} [1-9]/);
    expect(res.body).toMatch(/tocsin_http_request_duration_seconds_count\{route="unmatched",method="GET"\} [1-9]/);
  });

  it('serves an OpenAPI 3 document listing every route that is not hidden', async () => {
    const res = await t.call('GET', OPENAPI_PATH, undefined, '');
    expect(res.statusCode).toBe(200);
    const doc = res.json<Json>();
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    const missing = t.tocsin.app.routeTable
      .filter((r) => !r.hidden)
      .map((r) => ({ method: r.method.toLowerCase(), path: r.documentedUrl ?? r.url.replace(/:([A-Za-z_]\w*)(\([^)]*\))?/g, '{$1}') }))
      .filter(({ method, path }) => !doc.paths?.[path]?.[method])
      .map(({ method, path }) => `${method} ${path}`);
    expect(missing.join('\n')).toBe('');
    expect(doc.paths[OPENAPI_PATH]).toBeUndefined();
  });

  it('lists every route of the public contract (API.md) with its method and path', async () => {
    const doc = (await t.call('GET', OPENAPI_PATH, undefined, '')).json<Json>();
    const tenant = '/api/v1/tenants/{tenant}';
    const odata = 'UiPath.Server.Configuration.OData';
    const contract = [
      'post /api/v1/tenants',
      'get /api/v1/tenants',
      ...['get', 'patch', 'delete'].map((m) => `${m} ${tenant}`),
      ...['get', 'put'].map((m) => `${m} /api/v1/system/mail-settings`),
      ...['post /users', 'get /users', 'get /users/{userId}', 'patch /users/{userId}', 'delete /users/{userId}', 'post /users/{userId}/tokens', 'get /me'],
      ...['post /groups', 'get /groups', 'get /groups/{groupId}', 'patch /groups/{groupId}', 'delete /groups/{groupId}', 'get /roles', 'post /roles'],
      ...['post /alerts', 'get /alerts', 'get /alerts/unread-count', 'get /alerts/panel', 'post /alerts/mark-read', 'post /alerts/mark-unread'],
      ...['delete /alerts/{alertId}', 'post /alerts/{alertId}/acknowledge', 'get /mutes', 'post /mutes', 'delete /mutes/{muteId}'],
      ...['post /sources', 'get /sources', 'get /sources/{sourceId}', 'patch /sources/{sourceId}', 'delete /sources/{sourceId}'],
      ...['post /sources/{sourceId}/rotate-secret', 'post /sources/{sourceId}/test'],
      ...['get /users/{userId}/alert-preferences', 'put /users/{userId}/alert-preferences', 'get /me/alert-preferences', 'put /me/alert-preferences'],
      ...['get /settings/mail', 'put /settings/mail', 'delete /settings/mail/custom', 'post /settings/mail/test', 'get /settings/mail/health'],
      'get /deliveries',
    ]
      .map((route) => (route.includes(' /api/') ? route : route.replace(' /', ` ${tenant}/`)))
      .concat(
        ['get /actions/{token}', 'post /actions/{token}', 'get /unsubscribe/{token}', 'post /unsubscribe/{token}', 'post /api/v1/sources/{sourceId}/receive'],
        ['post /api/Account/Authenticate', 'get /odata/Alerts', `get /odata/Alerts/${odata}.GetUnreadCount()`, `post /odata/Alerts/${odata}.MarkAsRead`],
        [`post /odata/Alerts/${odata}.RaiseProcessAlert`, 'get /odata/Settings', `post /odata/Settings/${odata}.UpdateBulk`],
        [`post /odata/Settings/${odata}.VerifySmtpSetting`, 'get /healthz', 'get /readyz', 'get /metrics'],
      );
    const missing = contract.filter((route) => {
      const [method, path] = route.split(' ') as [string, string];
      return !doc.paths[path]?.[method];
    });
    expect(missing.join('\n')).toBe('');
  });

  it('documents each operation well: path parameters declared, every $ref resolvable', async () => {
    const doc = (await t.call('GET', OPENAPI_PATH, undefined, '')).json<Json>();
    const problems: string[] = [];
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      for (const [method, op] of Object.entries<Json>(item)) {
        const declared = (op.parameters ?? []).filter((p: Json) => p.in === 'path').map((p: Json) => p.name);
        for (const name of pathParams(path.replace(/\{(\w+)\}/g, ':$1'))) {
          if (!declared.includes(name)) problems.push(`${method} ${path}: path parameter ${name} not declared`);
        }
        if (!op.responses || Object.keys(op.responses).length === 0) problems.push(`${method} ${path}: no responses`);
        // A body the handler parses itself (z.any()) still shows its fields, so scripts can see them.
        const body = op.requestBody?.content?.['application/json']?.schema;
        if (body && !body.type && !body.anyOf && !body.oneOf && !body.$ref) problems.push(`${method} ${path}: request body without a schema`);
      }
    }
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of new Set(refs)) {
      const target = ref.split('/').reduce<Json | undefined>((node, key) => node?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
      if (target === undefined) problems.push(`unresolvable $ref #/${ref}`);
    }
    expect(problems.join('\n')).toBe('');
  });

  it("shows the Orchestrator-compatible bodies with Orchestrator's field names and limits", async () => {
    const doc = (await t.call('GET', OPENAPI_PATH, undefined, '')).json<Json>();
    const body = (path: string) => doc.paths[path].post.requestBody.content['application/json'].schema;
    const authenticate = body('/api/Account/Authenticate');
    expect(authenticate.required).toEqual(['UsernameOrEmailAddress', 'Password']);
    expect(authenticate.properties).toHaveProperty('TenancyName');
    // A number or true/false is taken too, read as its text (8a37190): the text keeps Orchestrator's limit.
    expect(authenticate.properties.Password.anyOf.find((schema: Json) => schema.type === 'string').maxLength).toBe(256);
    const raise = body('/odata/Alerts/UiPath.Server.Configuration.OData.RaiseProcessAlert');
    expect(raise.properties.processAlert.required).toEqual(['Message', 'Severity', 'ProcessName', 'RobotName']);
    expect(body('/odata/Settings/UiPath.Server.Configuration.OData.UpdateBulk').properties.settings.items.required).toEqual(['Name', 'Value']);
    expect(body('/odata/Settings/UiPath.Server.Configuration.OData.VerifySmtpSetting').required).toEqual(['smtpSettingModel']);
  });

  it('shows a body that may be left out as optional, and every other body as required', async () => {
    const doc = (await t.call('GET', OPENAPI_PATH, undefined, '')).json<Json>();
    // No body at all is every default: the caller's address, the saved settings.
    expect(doc.paths['/api/v1/tenants/{tenant}/settings/mail/test'].post.requestBody.required).toBe(false);
    expect(doc.paths['/api/v1/tenants/{tenant}/users'].post.requestBody.required).toBe(true);
  });

  it('documents the problem+json error answers of every operation', async () => {
    const doc = (await t.call('GET', OPENAPI_PATH, undefined, '')).json<Json>();
    expect(doc.components.schemas.Problem.required).toEqual(['type', 'title', 'status', 'detail']);
    expect(doc.components.responses.Problem400.content['application/problem+json'].schema).toEqual({
      $ref: '#/components/schemas/Problem',
    });
    const users = doc.paths['/api/v1/tenants/{tenant}/users'].post;
    expect(Object.keys(users.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '404', '413']));
    const login = doc.paths['/api/v1/auth/login'].post;
    expect(login.security).toEqual([]);
    expect(login.responses['403']).toBeUndefined();
    // A declared problem refers to the shared answer of its status, as the ones every route has do.
    expect(login.responses['429']).toEqual({ $ref: '#/components/responses/Problem429' });
    expect(doc.components.responses.Problem429.content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    for (const item of Object.values<Json>(doc.paths)) {
      for (const op of Object.values<Json>(item)) expect(op.responses['400']).toBeDefined();
    }
  });
});

it.runIf(TEST_PG_URL)('answers /readyz 503 and /metrics 200 within seconds while the database does not answer at all [postgres]', async () => {
  const proxy = await proxyFor(TEST_PG_URL!);
  const t = await startTestApp('postgres', {}, {}, { reach: (url) => viaProxy(url, proxy) });
  try {
    expect((await t.call('GET', '/readyz', undefined, '')).statusCode).toBe(200);
    expect(readinessSeries((await t.call('GET', '/metrics', undefined, '')).body)).toEqual({ ready: 1, notReady: [] });
    proxy.stall();
    const started = Date.now();
    const ready = await t.call('GET', '/readyz', undefined, '');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: 'unavailable', reason: expect.stringMatching(/did not answer/) });
    const metrics = await t.call('GET', '/metrics', undefined, '');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('# TYPE tocsin_http_requests_total counter');
    // What operators alert on says it too, not only /readyz.
    expect(readinessSeries(metrics.body)).toEqual({ ready: 0, notReady: ['unreachable'] });
    expect(Date.now() - started).toBeLessThan(15_000);
  } finally {
    proxy.cut();
    proxy.restore();
    await t.close();
    await proxy.close();
  }
});

it.runIf(TEST_PG_URL)('logs a readiness outage once when it begins and once when the database is back, however often it is probed [postgres]', async () => {
  const proxy = await proxyFor(TEST_PG_URL!);
  const { log, text } = captureLog('info');
  const t = await startTestApp('postgres', {}, {}, { reach: (url) => viaProxy(url, proxy) });
  const app = await buildApp({ ...t.tocsin.deps, logger: log, metrics: new Metrics({ defaultMetrics: false }) }, [opsRoutes]);
  try {
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    proxy.cut();
    for (let probe = 0; probe < 5; probe += 1) expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    proxy.restore();
    await until(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, '/readyz ready again');
    for (let probe = 0; probe < 3; probe += 1) expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect(logMessages(text()).filter((msg) => /^readiness|^ready again/.test(msg))).toEqual(['readiness check failed', 'ready again']);
  } finally {
    proxy.restore();
    await app.close();
    await t.close();
    await proxy.close();
  }
});

it.runIf(TEST_PG_URL)(
  'answers /readyz 503 saying so while the PostgreSQL database takes no writes (a standby, default_transaction_read_only) [postgres]',
  async () => {
    // It answered 200 "ready" while every write was a 503: a failover that left the address on a standby went unseen.
    const database = await createTestDatabase('postgres', { migrated: true });
    const name = new URL(database.url).pathname.slice(1);
    const writable = await openStorage(database.url, { poolSize: 1 });
    try {
      await sql`alter database ${sql.id(name)} set default_transaction_read_only = on`.execute(writable.db);
    } finally {
      await writable.close();
    }
    const storage = await openStorage(database.url, { poolSize: 2 });
    const t = await startTestApp('postgres');
    const app = await buildApp({ ...t.tocsin.deps, storage, metrics: new Metrics({ defaultMetrics: false }) }, [opsRoutes]);
    try {
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: 'unavailable', reason: expect.stringMatching(/read-only/) });
    } finally {
      await app.close();
      await t.close();
      await storage.close();
      await database.drop();
    }
  },
);

it('answers a scrape 503 with Retry-After, not 500, when the metrics of every api process cannot be gathered (one frozen past 5 s)', async () => {
  // --processes N: the primary gives up on a process that does not answer (SIGSTOP, a long pause), and
  // the scrape was a 500 logged as an unhandled error; a partial sum would look like a counter reset.
  const t = await startTestApp('sqlite');
  const whole = () => () => Promise.reject(new Error('metrics of the api processes: Operation timed out.'));
  const app = await buildApp({ ...t.tocsin.deps, metrics: new Metrics({ defaultMetrics: false, whole }) }, [opsRoutes]);
  try {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toMatchObject({ status: 503, detail: expect.stringMatching(/api process/) });
  } finally {
    await app.close();
    await t.close();
  }
});

describeEachDialect("the count of alerts stored, Tocsin's own among them", (dialect) => {
  it('counts the Mail.DeliveryFailing alert Tocsin raises when mail fails in tocsin_alerts_stored_total, as GET /alerts lists it', async () => {
    // Every alert the API lists was counted but this one: the metric said 1 stored while the inbox held 2.
    const refusing = await startTestSmtpServer({ auth: { username: 'robot', password: 'the right one' } });
    const system = await startTestSmtpServer();
    const t = await startTestApp(dialect, { TOCSIN_SMTP_URL: `smtp://127.0.0.1:${system.port}?from=tocsin@example.com` });
    try {
      const { userId } = await t.tenantWithUser('failing-mail');
      await t.enableAlertEmails('failing-mail');
      const custom = {
        host: '127.0.0.1',
        port: refusing.port,
        security: 'none',
        allowPlaintextAuth: true,
        username: 'robot',
        password: 'a wrong one',
        fromAddress: 'alerts@example.com',
      };
      expect((await t.call('PUT', '/api/v1/tenants/failing-mail/settings/mail', { useCustom: true, custom })).statusCode).toBe(200);
      const prefs = await t.call('PUT', `/api/v1/tenants/failing-mail/users/${userId}/alert-preferences`, { email: { fatalImmediately: true } });
      expect(prefs.statusCode, prefs.body).toBe(200);
      expect(
        (await t.call('POST', '/api/v1/tenants/failing-mail/alerts', { severity: 'Fatal', component: 'Jobs', message: 'Payroll failed' })).statusCode,
      ).toBe(202);
      // The Fatal alert's immediate email meets 535: the incident starts, and the administrators hear of it through the system server.
      await until(async () => system.messages.some((m) => /^X-Tocsin-Kind: mail-health/im.test(m.raw)), 'the mail-health notice');
      const listed = (await t.call('GET', '/api/v1/tenants/failing-mail/alerts')).json().items;
      expect(listed.map((a: { event: string }) => a.event).sort()).toEqual(['Mail.DeliveryFailing', 'Process.RaiseAlert']);
      const metrics = (await t.call('GET', '/metrics', undefined, '')).body;
      expect(metrics).toContain('tocsin_alerts_stored_total{severity="Fatal"} 1\n');
      expect(metrics).toContain('tocsin_alerts_stored_total{severity="Error"} 1\n');
    } finally {
      await t.close();
      await Promise.all([refusing.close(), system.close()]);
    }
  });
});

describeEachDialect('the alert and email counters of a process just started', (dialect) => {
  it('are listed at 0 for each value of their labels, so that increase() and rate() see the first alert or failed email after a restart', async () => {
    const t = await startTestApp(dialect);
    try {
      const before = (await t.call('GET', '/metrics', undefined, '')).body;
      for (const severity of ['Info', 'Success', 'Warn', 'Error', 'Fatal']) expect(before).toContain(`tocsin_alerts_stored_total{severity="${severity}"} 0\n`);
      for (const status of ['sent', 'failed']) expect(before).toContain(`tocsin_deliveries_finished_total{status="${status}"} 0\n`);
      for (const outcome of ['sent', 'retry', 'failed']) expect(before).toContain(`tocsin_delivery_attempts_total{outcome="${outcome}"} 0\n`);
      for (const kind of ['summary', 'daily']) expect(before).toMatch(new RegExp(`tocsin_report_windows_decided_total\\{kind="${kind}"\\} \\d+\\n`));
      await t.call('POST', '/api/v1/tenants', { name: 'counted' });
      await t.call('POST', '/api/v1/tenants/counted/alerts', { severity: 'Error', component: 'Jobs', message: 'Invoice run failed' });
      const after = (await t.call('GET', '/metrics', undefined, '')).body;
      expect(after).toContain('tocsin_alerts_stored_total{severity="Error"} 1\n');
      expect(after).toContain('tocsin_alerts_stored_total{severity="Fatal"} 0\n');
    } finally {
      await t.close();
    }
  });
});
