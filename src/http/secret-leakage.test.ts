import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { enqueueDeliveries } from '../delivery/outbox/enqueue.js';
import type { Db } from '../storage/database.js';
import { captureLog } from '../../test/support/log-capture.js';
import { testDelivery } from '../../test/support/outbox-fixtures.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';

const SMTP_USER = 'robot';
const SMTP_PASSWORD = 'Smtp-P4ssw0rd-9f3e';
const WRONG_PASSWORD = 'Typed-wr0ng-2c8a';
const UPSTREAM_PASSWORD = 'Upstream-P4ss-7d1b';
const UPSTREAM_CLIENT_SECRET = 'Upstream-client-secret-4a6e';
const ACTIONS = '/odata/Settings/UiPath.Server.Configuration.OData';

/** Every form a secret travels in: as is, AUTH LOGIN's base64, AUTH PLAIN's blob, and form-encoded. */
function formsOf(secret: string): string[] {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  return [...new Set([secret, b64(secret), b64(`\0${SMTP_USER}\0${secret}`), b64(`${SMTP_USER}\0${SMTP_USER}\0${secret}`), encodeURIComponent(secret)])];
}

/** dumpDatabase is every row of every table as text, as a backup would hold it. */
async function dumpDatabase(db: Db): Promise<string> {
  const tables = await db.introspection.getTables();
  const rows: string[] = [];
  for (const table of tables) {
    for (const row of await db
      .selectFrom(table.name as never)
      .selectAll()
      .execute()) {
      rows.push(
        `${table.name}: ${Object.values(row as Record<string, unknown>)
          .map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v)))
          .join(' | ')}`,
      );
    }
  }
  return rows.join('\n');
}

/** An upstream Orchestrator and identity server that refuse every sign-in, echoing what they were sent. */
async function refusingUpstream() {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_client', received: body }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describeEachDialect('an SMTP password and upstream secrets, wherever Tocsin keeps or shows anything', (dialect) => {
  let t: TestApp;
  let server: TestSmtpServer;
  let upstream: Awaited<ReturnType<typeof refusingUpstream>>;
  const logged = captureLog();
  const answers: string[] = [];
  let token: string;
  let tenantId: string;
  const call: TestApp['call'] = async (method, url, body, as = token) => {
    const res = await t.call(method, url, body, as);
    answers.push(`${method} ${url} ${res.statusCode} ${res.body}`);
    return res;
  };
  const smtp = (port: number, overrides: Record<string, unknown> = {}) => ({
    host: '127.0.0.1',
    port,
    security: 'none',
    allowPlaintextAuth: true,
    username: SMTP_USER,
    fromAddress: 'alerts@leaky.example.com',
    ...overrides,
  });

  beforeAll(async () => {
    t = await startTestApp(dialect, { LOG_LEVEL: 'trace' }, { logger: logged.log });
    server = await startTestSmtpServer({ auth: { username: SMTP_USER, password: SMTP_PASSWORD, methods: ['PLAIN', 'LOGIN'] } });
    upstream = await refusingUpstream();
    ({ token, tenantId } = await t.tenantWithUser('leaky'));
  });
  afterAll(async () => {
    await t.close();
    await server.close();
    await upstream.close();
  });

  it('goes to the SMTP server and nowhere else: answers, error bodies, transcripts, the delivery log, metrics, the trace log, the database', async () => {
    const base = '/api/v1/tenants/leaky';
    const saved = await call('PUT', `${base}/settings/mail`, {
      alertsEmailEnabled: true,
      useCustom: true,
      custom: smtp(server.port, { authMethod: 'login', password: SMTP_PASSWORD }),
    });
    expect(saved.statusCode, saved.body).toBe(200);
    // Refused inputs carrying the password, which a careless error would echo.
    for (const custom of [
      { password: SMTP_PASSWORD, port: 0 },
      { password: `${SMTP_PASSWORD}\r\nX` },
      { password: SMTP_PASSWORD, security: 'none', allowPlaintextAuth: false },
    ]) {
      expect((await call('PUT', `${base}/settings/mail`, { custom })).statusCode).toBe(400);
    }
    // Test Mail Settings: AUTH LOGIN and AUTH PLAIN with the saved password (transcripts), a wrong
    // password typed (535), and another host (asks for the password).
    const login = (await call('POST', `${base}/settings/mail/test`, { sendTo: 'qa@example.com' })).json();
    expect(login, JSON.stringify(login)).toMatchObject({ ok: true });
    expect(login.transcript.join('\n')).toMatch(/AUTH LOGIN/);
    const plain = (await call('POST', `${base}/settings/mail/test`, { sendTo: 'qa@example.com', settings: { authMethod: 'plain' } })).json();
    expect(plain.transcript.join('\n')).toMatch(/AUTH PLAIN/);
    const wrong = (await call('POST', `${base}/settings/mail/test`, { sendTo: 'qa@example.com', settings: { password: WRONG_PASSWORD } })).json();
    expect(wrong).toMatchObject({ ok: false, stage: 'auth', code: 535 });
    expect((await call('POST', `${base}/settings/mail/test`, { sendTo: 'qa@example.com', settings: { host: 'localhost' } })).statusCode).toBe(400);
    // The Orchestrator-compatible settings: listed masked, verified with a wrong password, updated with a bad port.
    const model = { Host: '127.0.0.1', Port: server.port, UserName: SMTP_USER, EnableSsl: false, DefaultFromAddress: 'alerts@leaky.example.com' };
    expect((await call('GET', '/odata/Settings')).statusCode).toBe(200);
    expect(
      (await call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'qa@example.com', smtpSettingModel: { ...model, Password: WRONG_PASSWORD } })).statusCode,
    ).toBe(400);
    const bulk = [
      { Name: 'Abp.Net.Mail.Smtp.Password', Value: SMTP_PASSWORD },
      { Name: 'Abp.Net.Mail.Smtp.Port', Value: 'not a port' },
    ];
    expect((await call('POST', `${ACTIONS}.UpdateBulk`, { settings: bulk })).statusCode).toBe(400);

    // Alert emails through the outbox: sent with the password, then failing with a wrong one.
    const db = t.tocsin.deps.storage.db;
    const before = server.messages.length;
    await enqueueDeliveries(db, [testDelivery(tenantId, 'one@example.com'), testDelivery(tenantId, 'two@example.com')]);
    await server.waitForMessages(before + 2, 30_000);
    await call('PUT', `${base}/settings/mail`, { custom: { password: WRONG_PASSWORD } });
    await enqueueDeliveries(db, [testDelivery(tenantId, 'refused@example.com')]);
    await vi.waitFor(
      async () => {
        const failed = (await call('GET', `${base}/deliveries?recipient=refused@example.com`)).json().items;
        expect(failed[0]).toMatchObject({ status: 'failed' });
      },
      { timeout: 30_000, interval: 100 },
    );
    await call('PUT', `${base}/settings/mail`, { custom: { password: SMTP_PASSWORD } });

    // An orchestrator-pull source of each sign-in kind, refused by an upstream that echoes what it got.
    for (const pull of [
      { tenancyName: 'plant', username: 'poller', password: UPSTREAM_PASSWORD },
      { clientId: 'tocsin-app', clientSecret: UPSTREAM_CLIENT_SECRET, identityUrl: `${upstream.url}/identity/connect/token` },
    ]) {
      const source = await call('POST', `${base}/sources`, {
        name: `pull-${Object.keys(pull)[0]}`,
        kind: 'orchestrator-pull',
        pull: { baseUrl: upstream.url, intervalSeconds: 1, ...pull },
      });
      expect(source.statusCode, source.body).toBe(201);
      await vi.waitFor(
        async () => {
          expect((await call('GET', `${base}/sources/${source.json().id}`)).json().stats.lastError).toMatch(/401/);
        },
        { timeout: 30_000, interval: 100 },
      );
      await call('GET', `${base}/sources/${source.json().id}/receptions`);
    }
    expect(upstream.bodies.join('\n')).toContain(UPSTREAM_PASSWORD);
    expect(upstream.bodies.join('\n')).toContain(UPSTREAM_CLIENT_SECRET);
    await call('GET', `${base}/sources`);
    await call('GET', `${base}/settings/mail`);
    await call('GET', `${base}/deliveries?limit=100`);
    await call('GET', '/api/v1/system/mail-settings', undefined, ADMIN_TOKEN);

    const metrics = (await t.tocsin.app.inject({ method: 'GET', url: '/metrics' })).body;
    const dump = await dumpDatabase(db);
    const log = logged.text();
    // Each place holds what the steps above left there, so the scan below looks at something.
    expect(dump).toContain('alerts@leaky.example.com');
    expect(log).toMatch(/delivery failed[\s\S]*pull from upstream failed|pull from upstream failed[\s\S]*delivery failed/);
    expect(metrics).toContain('tocsin_');
    const places = { answers: answers.join('\n'), metrics, log, database: dump };
    const found: string[] = [];
    for (const secret of [SMTP_PASSWORD, WRONG_PASSWORD, UPSTREAM_PASSWORD, UPSTREAM_CLIENT_SECRET]) {
      for (const form of formsOf(secret)) {
        for (const [place, text] of Object.entries(places)) if (text.includes(form)) found.push(`${secret} as ${form} in ${place}`);
      }
    }
    expect(found).toEqual([]);
    // The SMTP server did get it, by both methods: the scan above was looking at the right thing.
    expect(server.authSeen.map((a) => a.method)).toEqual(expect.arrayContaining(['LOGIN', 'PLAIN']));
  });

  it('keeps a password the server repeats in its refusal out of the test answer, the delivery log and the database', async () => {
    const echo = await startTestSmtpServer({ auth: { username: SMTP_USER, echo: true, methods: ['PLAIN'] } });
    try {
      const { token: echoToken, tenantId: echoTenant } = await t.tenantWithUser('echoed');
      const custom = smtp(echo.port, { authMethod: 'plain', password: SMTP_PASSWORD });
      await call('PUT', '/api/v1/tenants/echoed/settings/mail', { alertsEmailEnabled: true, useCustom: true, custom }, echoToken);
      const shown: string[] = [];
      const test = await call('POST', '/api/v1/tenants/echoed/settings/mail/test', { sendTo: 'qa@example.com' }, echoToken);
      expect(test.json()).toMatchObject({ ok: false, stage: 'auth', code: 535 });
      expect(test.json().message).toContain('Authentication failed for robot');
      shown.push(test.body);
      const model = { Host: '127.0.0.1', Port: echo.port, UserName: SMTP_USER, EnableSsl: false, DefaultFromAddress: 'alerts@leaky.example.com' };
      const verify = await call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'qa@example.com', smtpSettingModel: model }, echoToken);
      expect(verify.statusCode).toBe(400);
      shown.push(verify.body);
      // The outbox's attempt at an alert email, for comparison: it already masked what it stores.
      await enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(echoTenant, 'echo@example.com')]);
      await vi.waitFor(
        async () => {
          const failed = (await call('GET', '/api/v1/tenants/echoed/deliveries?recipient=echo@example.com', undefined, echoToken)).json().items;
          expect(failed[0]).toMatchObject({ status: 'failed' });
        },
        { timeout: 30_000, interval: 100 },
      );
      shown.push((await call('GET', '/api/v1/tenants/echoed/deliveries?limit=100', undefined, echoToken)).body);
      const places = { answers: shown.join('\n'), database: await dumpDatabase(t.tocsin.deps.storage.db) };
      const found = formsOf(SMTP_PASSWORD).flatMap((form) =>
        Object.entries(places).flatMap(([place, text]) => (text.includes(form) ? [`${form} in ${place}`] : [])),
      );
      expect(found).toEqual([]);
    } finally {
      await echo.close();
    }
  });

  it("refuses to open one tenant's sealed password in another tenant's row", async () => {
    const other = await t.tenantWithUser('copier');
    await call(
      'PUT',
      '/api/v1/tenants/copier/settings/mail',
      { useCustom: true, custom: smtp(server.port, { authMethod: 'plain', password: 'own password' }) },
      other.token,
    );
    const db = t.tocsin.deps.storage.db;
    const [leaky, copier] = await Promise.all(
      ['leaky', 'copier'].map((name) => db.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirstOrThrow()),
    );
    const sealed = await db.selectFrom('tenant_mail_settings').select('custom_password').where('tenant_id', '=', leaky!.id).executeTakeFirstOrThrow();
    await db.updateTable('tenant_mail_settings').set({ custom_password: sealed.custom_password }).where('tenant_id', '=', copier!.id).execute();
    const signIns = server.authSeen.length;
    const test = (await call('POST', '/api/v1/tenants/copier/settings/mail/test', { sendTo: 'qa@example.com' }, other.token)).json();
    expect(test).toMatchObject({ ok: false, stage: 'auth' });
    expect(test.message).toContain('no longer decrypts');
    expect(server.authSeen.length).toBe(signIns);
  });

  it("refuses to open one source's sealed secret or upstream password in another source's row, of another tenant", async () => {
    const mine = await t.tenantWithUser('source-owner');
    const theirs = await t.tenantWithUser('source-copier');
    const db = t.tocsin.deps.storage.db;
    // Receiving: an Alertmanager source's secret, copied into another tenant's source, opens nothing there.
    const owned = (await call('POST', '/api/v1/tenants/source-owner/sources', { name: 'owned', kind: 'alertmanager' }, mine.token)).json();
    const copier = (await call('POST', '/api/v1/tenants/source-copier/sources', { name: 'copier', kind: 'alertmanager' }, theirs.token)).json();
    const sealed = await db.selectFrom('source_secrets').select('sealed').where('source_id', '=', owned.id).executeTakeFirstOrThrow();
    await db.updateTable('source_secrets').set({ sealed: sealed.sealed }).where('source_id', '=', copier.id).execute();
    const receive = (source: { url: string }, secret: string) =>
      t.tocsin.app.inject({
        method: 'POST',
        url: new URL(source.url).pathname,
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        payload: '{"version":"4","status":"firing","alerts":[]}',
      });
    // As a secret the key no longer opens: the sender's events wait for a rotation (503, restored-key.test.ts), never taken.
    const refused = await receive(copier, owned.secret);
    expect(refused.statusCode).toBe(503);
    const shown = (await call('GET', `/api/v1/tenants/source-copier/sources/${copier.id}`, undefined, theirs.token)).json();
    expect(shown.stats.lastError).toMatch(/no longer decrypts/);
    // The control: the secret opens its own source.
    expect((await receive(owned, owned.secret)).statusCode).toBe(202);

    // Polling: an upstream password, copied into another tenant's pull source, is never sent upstream.
    const pull = { baseUrl: upstream.url, intervalSeconds: 3600, tenancyName: 'plant', username: 'poller' };
    const kept = await call(
      'POST',
      '/api/v1/tenants/source-owner/sources',
      { name: 'kept', kind: 'orchestrator-pull', enabled: false, pull: { ...pull, password: UPSTREAM_PASSWORD } },
      mine.token,
    );
    expect(kept.statusCode, kept.body).toBe(201);
    const copied = await call(
      'POST',
      '/api/v1/tenants/source-copier/sources',
      { name: 'copied', kind: 'orchestrator-pull', enabled: false, pull: { ...pull, password: 'their own password' } },
      theirs.token,
    );
    const password = await db.selectFrom('sources').select('pull_password').where('id', '=', kept.json().id).executeTakeFirstOrThrow();
    await db.updateTable('sources').set({ pull_password: password.pull_password }).where('id', '=', copied.json().id).execute();
    const asked = upstream.bodies.length;
    const test = await call('POST', `/api/v1/tenants/source-copier/sources/${copied.json().id}/test`, undefined, theirs.token);
    expect(test.body).toContain('no longer decrypts');
    expect(upstream.bodies.slice(asked).join('\n')).not.toContain(UPSTREAM_PASSWORD);
  });
});
