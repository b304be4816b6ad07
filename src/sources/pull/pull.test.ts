import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, expect, it, onTestFinished, vi } from 'vitest';
import { loadConfig } from '../../config.js';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../../test/support/http.js';
import { captureLog, captureWarnings } from '../../../test/support/log-capture.js';
import { type Tocsin, startTocsin } from '../../server.js';
import { createTestDatabase, describeEachDialect, type TestDatabase } from '../../../test/support/storage.js';
import type { Dialect } from '../../storage/dialect.js';
import { SQLITE_BUSY_TIMEOUT_MS } from '../../storage/storage.js';
import { DELIVERY_KEY_DAYS, purgeOldDeliveries } from '../store.js';
import { systemClock } from '../../shared/clock.js';
import { importAlerts, startPullConnector } from './connector.js';
import type { UpstreamAlert } from './odata.js';
import { defaultTokenUrl } from './upstream.js';

const WAIT = { timeout: 30_000, interval: 100 };
/**
 * PULL: the importing Tocsin looks for due sources every 100 ms, not every second, so that a poll a
 * test waits for (intervalSeconds 1, a Retry-After, a backoff) starts close to when it is due.
 */
const PULL = { timings: { pullTickMs: 100 } };
const PASSWORD = 'upstream robot password';

/** upstreamOrchestrator is a Tocsin that plays Orchestrator: a tenant, a user who signs in, and alerts to list. */
async function upstreamOrchestrator(dialect: 'sqlite' | 'postgres') {
  const upstream = await startTestApp(dialect, {}, { listen: true });
  await upstream.call('POST', '/api/v1/tenants', { name: 'plant' });
  await upstream.call('POST', '/api/v1/tenants/plant/users', {
    email: 'poller@plant.example.com',
    name: 'Poller',
    password: PASSWORD,
    roles: ['Administrator'],
  });
  const raise = async (alerts: unknown[]) => {
    const res = await upstream.call('POST', '/api/v1/tenants/plant/alerts', { alerts });
    if (res.statusCode !== 202 && res.statusCode !== 201) throw new Error(`raising upstream alerts: ${res.statusCode} ${res.body}`);
    return res.json<{ ids: string[] }>().ids;
  };
  return { upstream, url: upstream.tocsin.url!, raise };
}

const pullBody = (baseUrl: string, extra: Record<string, unknown> = {}) => ({
  baseUrl,
  tenancyName: 'plant',
  username: 'poller@plant.example.com',
  password: PASSWORD,
  intervalSeconds: 1,
  since: new Date(Date.now() - 3_600_000).toISOString(),
  ...extra,
});

async function alertsOf(app: TestApp | Tocsin, tenant: string) {
  const call = 'call' in app ? app.call : (m: 'GET', url: string) => app.app.inject({ method: m, url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const res = await call('GET', `/api/v1/tenants/${tenant}/alerts?limit=1000`);
  return res.json<{ items: Record<string, any>[] }>().items;
}

/**
 * pollingApps hold one importing Tocsin per dialect (PULL, the default configuration), shared by the
 * tests that need nothing of their own, each on a tenant of its own: a Tocsin apiece cost each test
 * a database copied from the template and dropped, 1 to 3 s on a loaded PostgreSQL server.
 */
const pollingApps = new Map<Dialect, Promise<TestApp>>();
afterAll(async () => {
  for (const app of pollingApps.values()) await (await app).close();
});

/**
 * pollingApp is the dialect's shared importing Tocsin with `tenant` created in it; the test's end
 * deletes the tenant's sources, so that none of them polls on beside the tests after it.
 */
async function pollingApp(dialect: Dialect, tenant: string): Promise<TestApp> {
  if (!pollingApps.has(dialect)) pollingApps.set(dialect, startTestApp(dialect, {}, PULL));
  const t = await pollingApps.get(dialect)!;
  expect((await t.call('POST', '/api/v1/tenants', { name: tenant })).statusCode).toBe(201);
  onTestFinished(async () => {
    const sources = (await t.call('GET', `/api/v1/tenants/${tenant}/sources`)).json<{ items: { id: string }[] }>().items;
    for (const { id } of sources) await t.call('DELETE', `/api/v1/tenants/${tenant}/sources/${id}`);
  });
  return t;
}

describeEachDialect('orchestrator-pull: importing from a real Orchestrator-shaped server', (dialect) => {
  let orchestrator: Awaited<ReturnType<typeof upstreamOrchestrator>>;
  let t: TestApp;
  const base = '/api/v1/tenants/ops/sources';

  beforeAll(async () => {
    orchestrator = await upstreamOrchestrator(dialect);
    t = await startTestApp(dialect, {}, PULL);
    await t.call('POST', '/api/v1/tenants', { name: 'ops' });
  });
  afterAll(async () => {
    await t?.close();
    await orchestrator?.upstream.close();
  });

  it('signs in with Account/Authenticate, imports each upstream alert once with its fields mapped, and shows the lag', async () => {
    // A tenant of its own, and the upstream's alerts from now on: the other tests raise upstream
    // alerts and import them into ops, and in another order (or at a retry) they came first.
    const tenant = `signs-in-${crypto.randomUUID().slice(0, 8)}`;
    const mine = `/api/v1/tenants/${tenant}/sources`;
    expect((await t.call('POST', '/api/v1/tenants', { name: tenant })).statusCode).toBe(201);
    const since = new Date(Date.now() - 1).toISOString();
    await orchestrator.raise([
      {
        severity: 'Error',
        component: 'Jobs',
        event: 'Process.JobExecution.Faulted',
        message: 'Invoice job faulted',
        source: { process: 'Invoices', robot: 'robot-7' },
        folder: 'Finance',
      },
      { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'robot-7 is offline' },
    ]);
    const created = await t.call('POST', mine, { name: 'Plant Orchestrator', kind: 'orchestrator-pull', pull: pullBody(orchestrator.url, { since }) });
    expect(created.statusCode).toBe(201);
    const source = created.json();
    expect(source.url).toBeNull();

    await vi.waitFor(async () => expect(await alertsOf(t, tenant)).toHaveLength(2), WAIT);
    const imported = await alertsOf(t, tenant);
    const faulted = imported.find((a) => a.event === 'Process.JobExecution.Faulted')!;
    expect(faulted).toMatchObject({
      severity: 'Error',
      component: 'Jobs',
      message: 'Invoice job faulted',
      folder: 'Finance',
      source: { process: 'Invoices', robot: 'robot-7' },
    });
    expect(faulted.data.upstreamId).toEqual(expect.any(String));
    expect(imported.find((a) => a.event === 'Robot.StatusChanged.Offline')).toMatchObject({
      severity: 'Fatal',
      component: 'Robots',
      message: 'robot-7 is offline',
    });

    // A poll after the import reads the same alerts again (the overlap) and stores nothing new.
    const importedAt = Date.now();
    await vi.waitFor(async () => {
      const stats = (await t.call('GET', `${mine}/${source.id}`)).json().stats;
      expect(Date.parse(stats.pull.lastPolledAt)).toBeGreaterThan(importedAt);
    }, WAIT);
    expect(await alertsOf(t, tenant)).toHaveLength(2);
    const stats = (await t.call('GET', `${mine}/${source.id}`)).json().stats;
    expect(stats).toMatchObject({ accepted: 1, lastError: null, pull: { imported: 2, consecutiveFailures: 0, lagSeconds: expect.any(Number) } });
    const receptions = (await t.call('GET', `${mine}/${source.id}/receptions`)).json().items;
    expect(receptions[0]).toMatchObject({ outcome: 'accepted', status: 200, alertIds: expect.arrayContaining(imported.map((a) => a.id)) });

    // Upstream, nothing was marked read: the poller's alerts are all still unread.
    const upstreamAlerts = (await orchestrator.upstream.call('GET', '/api/v1/tenants/plant/alerts?limit=1000')).json().items.length;
    const signIn = await fetch(`${orchestrator.url}/api/Account/Authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ TenancyName: 'plant', UsernameOrEmailAddress: 'poller@plant.example.com', Password: PASSWORD }),
    });
    const unread = await fetch(`${orchestrator.url}/odata/Alerts/UiPath.Server.Configuration.OData.GetUnreadCount()`, {
      headers: { authorization: `Bearer ${((await signIn.json()) as { result: string }).result}` },
    });
    expect(((await unread.json()) as { value: number }).value).toBe(upstreamAlerts);

    await orchestrator.raise([{ severity: 'Warn', component: 'Queues', event: 'Queue.Sla.AtRisk', message: 'SLA at risk' }]);
    await vi.waitFor(async () => expect(await alertsOf(t, tenant)).toHaveLength(3), WAIT);
    await t.call('DELETE', `${mine}/${source.id}`);
  });

  it('tests an orchestrator-pull source by signing in upstream and reading its alerts, importing nothing', async () => {
    // Disabled: no poll runs beside the tests below, which must not import anything themselves.
    const pull = pullBody(orchestrator.url, { password: 'not it' });
    const created = (await t.call('POST', base, { name: 'Tested', kind: 'orchestrator-pull', enabled: false, pull })).json();
    const before = (await alertsOf(t, 'ops')).length;

    const refused = await t.call('POST', `${base}/${created.id}/test`);
    expect(refused.statusCode, refused.body).toBe(200);
    expect(refused.json()).toEqual({
      ok: false,
      alertIds: [],
      status: 401,
      detail: '/api/Account/Authenticate answered HTTP 401: The tenant, email or password is wrong.',
    });
    expect(refused.body).not.toContain('not it');

    await t.call('PATCH', `${base}/${created.id}`, { pull: { password: PASSWORD } });
    const passed = await t.call('POST', `${base}/${created.id}/test`);
    expect(passed.json()).toEqual({ ok: true, alertIds: [], status: 200, detail: null });
    expect(await alertsOf(t, 'ops')).toHaveLength(before);
    const { stats } = (await t.call('GET', `${base}/${created.id}`)).json();
    expect(stats).toMatchObject({ accepted: 0, rejected: 0, lastReceivedAt: null });
    await t.call('DELETE', `${base}/${created.id}`);
  });

  it('says where an upstream that redirects sends it (an http:// baseUrl of an https-only Orchestrator), following nothing', async () => {
    const redirecting = http.createServer((req, res) => res.writeHead(301, { location: `https://orchestrator.example.com${req.url}` }).end());
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    try {
      const pull = pullBody(`http://127.0.0.1:${(redirecting.address() as AddressInfo).port}`);
      const created = (await t.call('POST', base, { name: 'Redirected', kind: 'orchestrator-pull', enabled: false, pull })).json();
      expect((await t.call('POST', `${base}/${created.id}/test`)).json()).toEqual({
        ok: false,
        alertIds: [],
        status: 301,
        detail:
          '/api/Account/Authenticate answered HTTP 301, a redirect to https://orchestrator.example.com/api/Account/Authenticate: give the address it redirects to',
      });
      await t.call('DELETE', `${base}/${created.id}`);
    } finally {
      redirecting.close();
    }
  });

  it('imports upstream alerts holding a NUL character with U+FFFD in its place, rather than failing on them at every poll', async () => {
    // PostgreSQL stores no NUL in text: the page's import failed, and every poll after it read it again.
    const page = {
      value: [
        {
          Id: 'nul-in-data',
          NotificationName: 'Process.JobExecution.Faulted',
          Component: 'Jobs',
          Severity: 'Error',
          CreationTime: new Date().toISOString(),
          State: 'Unread',
          Data: JSON.stringify({ Message: 'Read \u0000 past the end', 'Robot\u0000Name': 'robot-9' }),
        },
        {
          Id: 'nul\u0000in-id',
          NotificationName: 'Robot.StatusChanged.Offline',
          Component: 'Robots',
          Severity: 'Fatal',
          CreationTime: new Date().toISOString(),
          State: 'Unread',
          Data: '{"Message":"robot-9 \u0000 offline"}',
        },
      ],
    };
    const nul = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.url!.startsWith('/api/Account/Authenticate') ? { result: 'token', success: true } : page));
    });
    await new Promise<void>((resolve) => nul.listen(0, '127.0.0.1', resolve));
    try {
      await t.call('POST', '/api/v1/tenants', { name: 'nul' });
      const pull = pullBody(`http://127.0.0.1:${(nul.address() as AddressInfo).port}`);
      const created = (await t.call('POST', '/api/v1/tenants/nul/sources', { name: 'NUL', kind: 'orchestrator-pull', pull })).json();
      await vi.waitFor(async () => expect(await alertsOf(t, 'nul')).toHaveLength(2), WAIT);
      const messages = (await alertsOf(t, 'nul')).map((a) => [a.message, a.data.upstreamId]);
      expect(messages.sort()).toEqual([
        ['Read \ufffd past the end', 'nul-in-data'],
        ['robot-9 \ufffd offline', 'nul\ufffdin-id'],
      ]);
      // The poll's count is written once its alerts are: wait for its end.
      await vi.waitFor(async () => {
        const { stats } = (await t.call('GET', `/api/v1/tenants/nul/sources/${created.id}`)).json();
        expect(stats).toMatchObject({ lastError: null, pull: { imported: 2, consecutiveFailures: 0 } });
      }, WAIT);
    } finally {
      nul.closeAllConnections();
      await new Promise<void>((resolve) => nul.close(() => resolve()));
    }
  });

  it("shows an upstream's refusal holding a NUL character as the last error, with U+FFFD in its place", async () => {
    // PostgreSQL stores no NUL in text: the failure was not recorded, and the source kept no last error.
    const refusing = http.createServer((req, res) => {
      req.resume();
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Invalid credentials\u0000, failed to login.' }));
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    try {
      const pull = pullBody(`http://127.0.0.1:${(refusing.address() as AddressInfo).port}`);
      const created = (await t.call('POST', base, { name: 'Refusal with a NUL', kind: 'orchestrator-pull', pull })).json();
      const said = '/api/Account/Authenticate answered HTTP 401: Invalid credentials\ufffd, failed to login.';
      await vi.waitFor(async () => expect((await t.call('GET', `${base}/${created.id}`)).json().stats.lastError).toBe(said), { ...WAIT, timeout: 15_000 });
      // The reception is written after the source's counters, so it may come a moment later.
      await vi.waitFor(async () => {
        const receptions = (await t.call('GET', `${base}/${created.id}/receptions`)).json().items;
        expect(receptions[0]).toMatchObject({ outcome: 'unavailable', status: 401, error: said });
      }, WAIT);
      await t.call('DELETE', `${base}/${created.id}`);
    } finally {
      refusing.closeAllConnections();
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
  });

  it('imports the history before the source was added without queuing its Fatal alerts for immediate emails', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'history' });
    // Disabled: no poll runs beside the import below.
    const created = (
      await t.call('POST', '/api/v1/tenants/history/sources', { name: 'Plant', kind: 'orchestrator-pull', enabled: false, pull: pullBody(orchestrator.url) })
    ).json();
    const db = t.tocsin.deps.storage.db;
    const row = await db.selectFrom('sources').select(['id', 'tenant_id', 'mapping', 'created_at']).where('id', '=', created.id).executeTakeFirstOrThrow();
    const offline = (id: string, at: number): UpstreamAlert => ({
      Id: id,
      NotificationName: 'Robot.StatusChanged.Offline',
      Component: 'Robots',
      Severity: 'Fatal',
      CreationTime: new Date(at).toISOString(),
      Data: JSON.stringify({ Message: `robot ${id} is offline` }),
      DeepLinkRelativeUrl: null,
    });
    const { ids } = await importAlerts(
      db,
      row,
      [offline('yesterday', row.created_at - 20 * 3_600_000), offline('now', row.created_at + 1)],
      Date.now(),
      600_000,
    );
    expect(ids).toHaveLength(2);
    // Both are listed; only the one that happened once the source existed waits for its immediate email.
    const undecided = await db.selectFrom('undecided_fatal_alerts').select('alert_id').where('alert_id', 'in', ids).execute();
    const stored = await db.selectFrom('alerts').select(['id', 'message']).where('id', 'in', ids).execute();
    const messageOf = new Map(stored.map((a) => [a.id, a.message]));
    expect(undecided.map((u) => messageOf.get(u.alert_id))).toEqual(['robot now is offline']);
  });

  it('imports nothing created before since, though each poll re-reads two minutes before its cursor', async () => {
    const [before] = await orchestrator.raise([{ severity: 'Fatal', component: 'Robots', message: 'offline before since' }]);
    const beforeAt = Date.parse(
      (await orchestrator.upstream.call('GET', `/api/v1/tenants/plant/alerts?limit=1000`)).json().items.find((a: { id: string }) => a.id === before).createdAt,
    );
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(beforeAt + 1));
    const since = new Date(beforeAt + 1).toISOString();
    await orchestrator.raise([{ severity: 'Error', component: 'Jobs', message: 'faulted after since' }]);
    await t.call('POST', '/api/v1/tenants', { name: 'since' });
    const created = (
      await t.call('POST', '/api/v1/tenants/since/sources', { name: 'From since', kind: 'orchestrator-pull', pull: pullBody(orchestrator.url, { since }) })
    ).json();
    await vi.waitFor(async () => expect((await alertsOf(t, 'since')).map((a) => a.message)).toContain('faulted after since'), WAIT);
    const importedAt = Date.now();
    await vi.waitFor(async () => {
      const stats = (await t.call('GET', `/api/v1/tenants/since/sources/${created.id}`)).json().stats;
      expect(Date.parse(stats.pull.lastPolledAt)).toBeGreaterThan(importedAt);
    }, WAIT);
    expect((await alertsOf(t, 'since')).map((a) => a.message)).toEqual(['faulted after since']);
  });

  it('shows a wrong password as the last error and backs off instead of hammering the upstream', async () => {
    const created = (
      await t.call('POST', base, { name: 'Wrong password', kind: 'orchestrator-pull', pull: pullBody(orchestrator.url, { password: 'not it' }) })
    ).json();
    await vi.waitFor(async () => {
      const stats = (await t.call('GET', `${base}/${created.id}`)).json().stats;
      expect(stats.pull.consecutiveFailures).toBeGreaterThanOrEqual(2);
    }, WAIT);
    const source = (await t.call('GET', `${base}/${created.id}`)).json();
    // The upstream's own words, which tell a wrong password from a wrong tenancy or an upstream down.
    expect(source.stats.lastError).toBe('/api/Account/Authenticate answered HTTP 401: The tenant, email or password is wrong.');
    expect(JSON.stringify(source)).not.toContain('not it');
    const failures = source.stats.pull.consecutiveFailures;
    const receptions = (await t.call('GET', `${base}/${created.id}/receptions`)).json().items;
    expect(receptions[0]).toMatchObject({ outcome: 'unavailable', status: 401 });
    // Waits grow: 2 s after the first failure, then 4 s, 8 s … (capped at 15 minutes). Read from the
    // times the poller recorded, not this test's clock, which a loaded machine may hold back.
    const failedAt = receptions.map((r: { receivedAt: string }) => Date.parse(r.receivedAt)).reverse();
    for (let n = 1; n < failedAt.length; n++) expect(failedAt[n] - failedAt[n - 1]).toBeGreaterThanOrEqual(2 ** n * 1000);
    // The receptions were read after the state, so the failure it counts last is among them.
    expect(Date.parse(source.stats.pull.nextPollAt) - failedAt[failures - 1]).toBeGreaterThanOrEqual(2 ** failures * 1000);
    await t.call('DELETE', `${base}/${created.id}`);
  });

  it('counts its failed polls in tocsin_source_pull_failures_total, by reason, so an operator can alert on pull sources that stopped importing', async () => {
    // A failed poll was a log line at info and the source's last error, which no scrape reads.
    const failures = async () => {
      const text = (await t.call('GET', '/metrics', undefined, '')).body;
      return Object.fromEntries(
        [...text.matchAll(/^tocsin_source_pull_failures_total\{reason="(\w+)"\} (\d+)$/gm)].map(([, reason, n]) => [reason, Number(n)]),
      );
    };
    const before = await failures();
    expect(Object.keys(before).sort()).toEqual(['secret_unreadable', 'store', 'upstream']);
    const created = (
      await t.call('POST', base, { name: 'Counted failures', kind: 'orchestrator-pull', pull: pullBody(orchestrator.url, { password: 'not it either' }) })
    ).json();
    await vi.waitFor(async () => {
      const stats = (await t.call('GET', `${base}/${created.id}`)).json().stats;
      expect(stats.pull.consecutiveFailures).toBeGreaterThanOrEqual(1);
    }, WAIT);
    const after = await failures();
    expect(after.upstream).toBeGreaterThan(before.upstream!);
    expect(after.store).toBe(before.store);
    await t.call('DELETE', `${base}/${created.id}`);
  });

  it('tries changed pull settings at once: a corrected password does not wait out the backoff of the wrong one', async () => {
    // A message of its own: a retried run raises it again upstream.
    const message = `imported once the password is right ${crypto.randomUUID().slice(0, 8)}`;
    await orchestrator.raise([{ severity: 'Error', component: 'Jobs', message }]);
    // The default interval: a failure waits 2 minutes, the next 4, … up to 15.
    const pull = pullBody(orchestrator.url, { password: 'not it', intervalSeconds: 60 });
    const created = (await t.call('POST', base, { name: 'Password corrected', kind: 'orchestrator-pull', pull })).json();
    onTestFinished(() => t.call('DELETE', `${base}/${created.id}`).then(() => undefined));
    await vi.waitFor(async () => expect((await t.call('GET', `${base}/${created.id}`)).json().stats.pull?.consecutiveFailures).toBe(1), WAIT);
    const patched = await t.call('PATCH', `${base}/${created.id}`, { pull: { password: PASSWORD } });
    expect(patched.statusCode, patched.body).toBe(200);
    await vi.waitFor(async () => {
      const imported = (await alertsOf(t, 'ops')).filter((a) => a.message === message);
      expect(imported).toHaveLength(1);
    }, WAIT);
    // A poll's pages are stored as they are read; its state (the failures reset) is written when the poll ends.
    await vi.waitFor(async () => expect((await t.call('GET', `${base}/${created.id}`)).json().stats.pull.consecutiveFailures).toBe(0), WAIT);
  });

  it('tries pull settings changed during a poll at once, when that poll (with the old ones) fails', async () => {
    // A message of its own: a retried run raises it again upstream.
    const message = `imported once the address is right ${crypto.randomUUID().slice(0, 8)}`;
    await orchestrator.raise([{ severity: 'Error', component: 'Jobs', message }]);
    // A wrong address whose server holds the request (an unreachable host answers no sooner).
    let release: (() => void) | undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let asked = 0;
    const stall = http.createServer((_req, res) => {
      asked += 1;
      void held.then(() => res.writeHead(503).end());
    });
    await new Promise<void>((resolve) => stall.listen(0, '127.0.0.1', resolve));
    try {
      const wrong = `http://127.0.0.1:${(stall.address() as AddressInfo).port}`;
      const pull = pullBody(wrong, { intervalSeconds: 60 });
      const created = (await t.call('POST', base, { name: 'Address corrected', kind: 'orchestrator-pull', pull })).json();
      onTestFinished(() => t.call('DELETE', `${base}/${created.id}`).then(() => undefined));
      await vi.waitFor(() => expect(asked).toBe(1), WAIT);
      expect((await t.call('PATCH', `${base}/${created.id}`, { pull: { baseUrl: orchestrator.url } })).statusCode).toBe(200);
      release!();
      // Without the change, the failed poll's backoff (two minutes here) would be waited out first.
      await vi.waitFor(async () => {
        const imported = (await alertsOf(t, 'ops')).filter((a) => a.message === message);
        expect(imported).toHaveLength(1);
      }, WAIT);
    } finally {
      release!();
      stall.closeAllConnections();
      await new Promise<void>((resolve) => stall.close(() => resolve()));
    }
  }, 60_000);

  it('says what is missing once the sign-in was cleared, without asking the upstream', async () => {
    const pull = pullBody(orchestrator.url, { password: 'not it', intervalSeconds: 60 });
    const created = (await t.call('POST', base, { name: 'Password cleared', kind: 'orchestrator-pull', pull })).json();
    await vi.waitFor(async () => expect((await t.call('GET', `${base}/${created.id}`)).json().stats.pull?.consecutiveFailures).toBe(1), WAIT);
    expect((await t.call('PATCH', `${base}/${created.id}`, { pull: { password: null } })).statusCode).toBe(200);
    await vi.waitFor(async () => {
      const { stats } = (await t.call('GET', `${base}/${created.id}`)).json();
      expect(stats.lastError).toBe('no sign-in: give pull.username and pull.password, or pull.clientId and pull.clientSecret');
    }, WAIT);
    await t.call('DELETE', `${base}/${created.id}`);
  });
});

/**
 * cloudOrchestrator is a tiny Automation Cloud stand-in: an OAuth token endpoint and /odata/Alerts
 * that first answers 429 with Retry-After: 2, unless told not to (`throttleFirst: false`).
 */
async function cloudOrchestrator(rows: UpstreamAlert[], { throttleFirst = true } = {}) {
  const seen: { tokenForms: URLSearchParams[]; alertRequests: { at: number; headers: http.IncomingHttpHeaders; url: string }[] } = {
    tokenForms: [],
    alertRequests: [],
  };
  let throttled = !throttleFirst;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/identity_/connect/token') {
        seen.tokenForms.push(new URLSearchParams(Buffer.concat(chunks).toString()));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'cloud-token', expires_in: 3600, token_type: 'Bearer' }));
        return;
      }
      if (req.method === 'GET' && req.url?.startsWith('/org/tenant/orchestrator_/odata/Alerts?')) {
        seen.alertRequests.push({ at: Date.now(), headers: req.headers, url: req.url });
        if (req.headers.authorization !== 'Bearer cloud-token') return res.writeHead(401).end();
        if (!throttled) {
          throttled = true;
          return res.writeHead(429, { 'retry-after': '2' }).end();
        }
        const skip = Number(new URL(req.url, 'http://x').searchParams.get('$skip') ?? 0);
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ '@odata.context': 'https://x/odata/$metadata#Alerts', value: rows.slice(skip) }));
        return;
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { seen, origin: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** cloudAlert is the AlertDto the cloud stand-in lists: a failed queue item, created a minute ago. */
const cloudAlert = (): UpstreamAlert => ({
  Id: '0b7f0a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
  NotificationName: 'Queue.TransactionStatus.FailedWithApplicationException',
  Component: 'Transactions',
  Severity: 'Error',
  CreationTime: new Date(Date.now() - 60_000).toISOString(),
  Data: JSON.stringify({ QueueName: 'Invoices', Message: 'Item 42 failed: portal down', FolderName: 'Finance' }),
  DeepLinkRelativeUrl: '/queues/transactions?queueId=3',
});

describeEachDialect('orchestrator-pull: Automation Cloud (OAuth client credentials) and 429', (dialect) => {
  it('signs in with client credentials (at identity_ when no identityUrl is given), sends the folder header, waits out a 429 Retry-After, then imports', async () => {
    const cloud = await cloudOrchestrator([cloudAlert()]);
    const t = await pollingApp(dialect, 'cloudy');
    try {
      const created = await t.call('POST', '/api/v1/tenants/cloudy/sources', {
        name: 'Automation Cloud',
        kind: 'orchestrator-pull',
        pull: {
          baseUrl: `${cloud.origin}/org/tenant/orchestrator_`,
          clientId: 'app-id',
          clientSecret: 'app-secret',
          identityUrl: `${cloud.origin}/identity_/connect/token`,
          scope: 'OR.Monitoring.Read',
          organizationUnitId: 4,
          intervalSeconds: 1,
        },
      });
      expect(created.statusCode).toBe(201);
      await vi.waitFor(async () => expect(await alertsOf(t, 'cloudy')).toHaveLength(1), WAIT);
      const [alert] = await alertsOf(t, 'cloudy');
      expect(alert).toMatchObject({
        severity: 'Error',
        component: 'Transactions',
        message: 'Item 42 failed: portal down',
        folder: 'Finance',
        source: { queue: 'Invoices' },
      });

      const form = cloud.seen.tokenForms[0]!;
      expect(Object.fromEntries(form)).toEqual({
        grant_type: 'client_credentials',
        client_id: 'app-id',
        client_secret: 'app-secret',
        scope: 'OR.Monitoring.Read',
      });
      const [throttledRequest, retried] = cloud.seen.alertRequests;
      expect(throttledRequest!.headers['x-uipath-organizationunitid']).toBe('4');
      expect(retried!.at - throttledRequest!.at).toBeGreaterThanOrEqual(1_900);
      const receptions = (await t.call('GET', `/api/v1/tenants/cloudy/sources/${created.json().id}/receptions`)).json().items;
      expect(receptions.map((r: { outcome: string; status: number }) => [r.outcome, r.status])).toEqual([
        ['accepted', 200],
        ['unavailable', 429],
      ]);

      // Without identityUrl, the token endpoint of a baseUrl routed like Automation Cloud's is identity_, not identity.
      const bare = { baseUrl: `${cloud.origin}/org/tenant/orchestrator_`, clientId: 'app-id', clientSecret: 'app-secret', intervalSeconds: 1 };
      expect((await t.call('POST', '/api/v1/tenants/cloudy/sources', { name: 'No identityUrl', kind: 'orchestrator-pull', pull: bare })).statusCode).toBe(201);
      await vi.waitFor(async () => expect(await alertsOf(t, 'cloudy')).toHaveLength(2), WAIT);
      expect(cloud.seen.tokenForms).toHaveLength(2);
      expect(defaultTokenUrl('https://orchestrator.example.com')).toBe('https://orchestrator.example.com/identity/connect/token');

      // identityUrl given as the identity server's address (what UiPath's docs call it), not its token endpoint.
      const server = { ...bare, identityUrl: `${cloud.origin}/identity_/` };
      expect((await t.call('POST', '/api/v1/tenants/cloudy/sources', { name: 'Identity server', kind: 'orchestrator-pull', pull: server })).statusCode).toBe(
        201,
      );
      await vi.waitFor(async () => expect(await alertsOf(t, 'cloudy')).toHaveLength(3), WAIT);
      expect(cloud.seen.tokenForms).toHaveLength(3);
    } finally {
      await cloud.close();
    }
  });
});

describeEachDialect('orchestrator-pull: an upstream alert holding a lone UTF-16 surrogate', (dialect) => {
  it('keeps it as one U+FFFD on both dialects, escaped in the answer or in the Data text, as the REST API does', async () => {
    // SQLite stored a lone surrogate's three CESU-8 bytes and read back three U+FFFD; PostgreSQL one. An
    // upstream .NET serializer escapes one (\ud800) as JSON allows, from a text cut in the middle of an emoji.
    const escapedInData = { ...cloudAlert(), Id: 'a1', Data: JSON.stringify({ Message: 'a\ud800b', RobotName: 'R\udc00' }) };
    const escapedInAnswer = { ...cloudAlert(), Id: 'a2', Data: '{"Message":"c\udbffd"}' };
    // Not throttled: the 429's two seconds are the test above's.
    const cloud = await cloudOrchestrator([escapedInData, escapedInAnswer], { throttleFirst: false });
    const t = await pollingApp(dialect, 'surrogates');
    try {
      const pull = { baseUrl: `${cloud.origin}/org/tenant/orchestrator_`, clientId: 'app-id', clientSecret: 'app-secret', intervalSeconds: 1 };
      expect((await t.call('POST', '/api/v1/tenants/surrogates/sources', { name: 'Automation Cloud', kind: 'orchestrator-pull', pull })).statusCode).toBe(201);
      await vi.waitFor(async () => expect(await alertsOf(t, 'surrogates')).toHaveLength(2), WAIT);
      const byId = Object.fromEntries((await alertsOf(t, 'surrogates')).map((alert) => [alert.data.upstreamId, alert]));
      expect(byId.a1).toMatchObject({ message: 'a\ufffdb', source: { robot: 'R\ufffd' }, data: { Message: 'a\ufffdb' } });
      expect(byId.a2).toMatchObject({ message: 'c\ufffdd', data: { Message: 'c\ufffdd' } });
    } finally {
      await cloud.close();
    }
  });
});

/**
 * echoingOrchestrator refuses every sign-in with a 401 whose message repeats the request it got,
 * body and Authorization header, as a careless proxy or identity server's diagnostics do.
 */
async function echoingOrchestrator() {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const message = `Invalid sign-in: ${body} ${req.headers.authorization ?? ''}`;
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describeEachDialect('orchestrator-pull: an upstream that repeats the credentials in its refusal', (dialect) => {
  it('masks the password and client secret in the last error, the receptions, the test answer and the logs', async () => {
    const upstream = await echoingOrchestrator();
    // A quote and a backslash (escaped in the JSON echoed), a space and an & (encoded in the form echoed).
    const password = 'robot "pass" \\ word';
    const clientSecret = 'app secret & more';
    const logged = captureLog('debug');
    const t = await startTestApp(dialect, {}, { ...PULL, logger: logged.log });
    try {
      await t.call('POST', '/api/v1/tenants', { name: 'echo' });
      const base = '/api/v1/tenants/echo/sources';
      const ropc = { baseUrl: upstream.origin, tenancyName: 'plant', username: 'poller', password, intervalSeconds: 1 };
      const cloud = {
        baseUrl: upstream.origin,
        clientId: 'app-id',
        clientSecret,
        identityUrl: `${upstream.origin}/identity/connect/token`,
        intervalSeconds: 1,
      };
      const sources = [];
      for (const [name, pull] of [
        ['ROPC', ropc],
        ['Cloud', cloud],
      ] as const) {
        sources.push((await t.call('POST', base, { name, kind: 'orchestrator-pull', pull })).json());
      }
      const forms = [password, clientSecret, JSON.stringify(password).slice(1, -1), new URLSearchParams({ s: clientSecret }).toString().slice(2)];
      for (const source of sources) {
        const tested = await t.call('POST', `${base}/${source.id}/test`);
        expect(tested.json()).toMatchObject({ ok: false, status: 401 });
        expect(tested.json().detail).toContain('***');
        await vi.waitFor(async () => expect((await t.call('GET', `${base}/${source.id}`)).json().stats.lastError).toContain('***'), WAIT);
        const seen = [
          tested.body,
          (await t.call('GET', base)).body,
          (await t.call('GET', `${base}/${source.id}`)).body,
          (await t.call('GET', `${base}/${source.id}/receptions`)).body,
          logged.text(),
        ].join('\n');
        for (const form of forms) expect(seen).not.toContain(form);
      }
    } finally {
      await t.close();
      await upstream.close();
    }
  });
});

/**
 * pagingOrchestrator lists its alerts `pageSize` at a time whatever `$top` asks, with an
 * `@odata.nextLink` to the next page (OData's server-driven paging): on `nextOrigin` when given
 * (a proxy's inner address, unreachable from outside), else on its own. `ignoresFilter` lists
 * every row whatever `$filter` asks; `authenticatePath` is the one spelling its sign-in answers at
 * (its router minds the case, unlike Orchestrator's).
 */
async function pagingOrchestrator(
  rows: UpstreamAlert[],
  pageSize: number,
  {
    nextOrigin,
    ignoresFilter = false,
    authenticatePath = '/api/Account/Authenticate',
  }: { nextOrigin?: string; ignoresFilter?: boolean; authenticatePath?: string } = {},
) {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'POST' && url.pathname === authenticatePath) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: 'paging-token', success: true }));
        return;
      }
      if (req.method !== 'GET' || url.pathname !== '/odata/Alerts' || req.headers.authorization !== 'Bearer paging-token') return res.writeHead(404).end();
      const skip = Number(url.searchParams.get('$skip') ?? 0);
      const [, op, at] = /^CreationTime (gt|ge) (\S+)$/.exec(url.searchParams.get('$filter') ?? '') ?? [];
      const after = (r: UpstreamAlert) =>
        ignoresFilter || !at || (op === 'gt' ? Date.parse(r.CreationTime) > Date.parse(at) : Date.parse(r.CreationTime) >= Date.parse(at));
      const page = rows.filter(after).slice(skip, skip + pageSize);
      const body: Record<string, unknown> = { '@odata.context': `${origin}/odata/$metadata#Alerts`, value: page };
      if (skip + page.length < rows.filter(after).length) {
        url.searchParams.set('$skip', String(skip + page.length));
        body['@odata.nextLink'] = `${nextOrigin ?? origin}/odata/Alerts?${url.searchParams.toString()}`;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describeEachDialect('orchestrator-pull: an upstream that pages its answers itself', (dialect) => {
  it('imports every alert of an answer split by @odata.nextLink, however few rows each page holds', async () => {
    const created = new Date(Date.now() - 60_000).toISOString();
    const rows = Array.from({ length: 7 }, (_, i) => ({
      ...cloudAlert(),
      Id: `paged-${i}`,
      CreationTime: created,
      Data: JSON.stringify({ Message: `paged ${i}` }),
    }));
    const direct = await pagingOrchestrator(rows, 2);
    // Behind a proxy, OData writes its links with the address it was reached at inside.
    const proxied = await pagingOrchestrator(
      rows.map((r) => ({ ...r, Id: `proxied-${r.Id}` })),
      3,
      { nextOrigin: 'http://orchestrator.internal:8080' },
    );
    const t = await pollingApp(dialect, 'paged');
    try {
      for (const [name, upstream] of [
        ['Direct', direct],
        ['Proxied', proxied],
      ] as const) {
        const pull = { baseUrl: upstream.origin, tenancyName: 'Default', username: 'poller', password: 'pw', intervalSeconds: 1 };
        expect((await t.call('POST', '/api/v1/tenants/paged/sources', { name, kind: 'orchestrator-pull', pull })).statusCode).toBe(201);
      }
      await vi.waitFor(async () => expect((await alertsOf(t, 'paged')).length).toBe(14), WAIT);
      // Later polls (the same two minutes re-read) import nothing twice.
      const sources = (await t.call('GET', '/api/v1/tenants/paged/sources')).json().items as { id: string; stats: { pull: { lastPolledAt: string } } }[];
      const polled = Date.now();
      await vi.waitFor(async () => {
        for (const s of sources) {
          const { stats } = (await t.call('GET', `/api/v1/tenants/paged/sources/${s.id}`)).json();
          expect(Date.parse(stats.pull.lastPolledAt)).toBeGreaterThan(polled + 1_000);
          expect(stats.lastError).toBeNull();
        }
      }, WAIT);
      const messages = (await alertsOf(t, 'paged')).map((a) => a.message);
      expect(messages).toHaveLength(14);
      expect(new Set(messages).size).toBe(7);
    } finally {
      await direct.close();
      await proxied.close();
    }
  }, 60_000);

  it('goes on importing after an alert dated ahead of its clock (an upstream clock that ran fast, then was set right): the cursor never passes now', async () => {
    const rows = [
      { ...cloudAlert(), Id: 'ahead', CreationTime: new Date(Date.now() + 3_600_000).toISOString(), Data: JSON.stringify({ Message: 'dated ahead' }) },
    ];
    const upstream = await pagingOrchestrator(rows, 1000);
    const t = await pollingApp(dialect, 'ahead');
    try {
      const pull = { baseUrl: upstream.origin, tenancyName: 'Default', username: 'poller', password: 'pw', intervalSeconds: 1 };
      const created = (await t.call('POST', '/api/v1/tenants/ahead/sources', { name: 'Fast clock', kind: 'orchestrator-pull', pull })).json();
      await vi.waitFor(async () => expect((await alertsOf(t, 'ahead')).map((a) => a.message)).toEqual(['dated ahead']), WAIT);
      const { cursor } = (await t.call('GET', `/api/v1/tenants/ahead/sources/${created.id}`)).json().stats.pull;
      expect(Date.parse(cursor)).toBeLessThanOrEqual(Date.now());
      // Set right, the upstream's clock dates its next alert now: it is imported, and the one ahead not again.
      rows.push({ ...cloudAlert(), Id: 'on-time', CreationTime: new Date().toISOString(), Data: JSON.stringify({ Message: 'on time' }) });
      await vi.waitFor(async () => expect((await alertsOf(t, 'ahead')).map((a) => a.message).sort()).toEqual(['dated ahead', 'on time']), WAIT);
    } finally {
      await upstream.close();
    }
  }, 60_000);

  it('imports an answer of more rows than $top asked for (33,000: more than one statement binds) in batches, not failing at every poll', async () => {
    const created = Date.now() - 600_000;
    const rows = Array.from({ length: 33_000 }, (_, i) => ({
      ...cloudAlert(),
      Id: `big-${i}`,
      CreationTime: new Date(created + i).toISOString(),
      Data: JSON.stringify({ Message: `big ${i}` }),
    }));
    // An OData service (or a proxy dropping the query) that answers every row in one page.
    const upstream = await pagingOrchestrator(rows, rows.length);
    const t = await pollingApp(dialect, 'untopped');
    try {
      const pull = { baseUrl: upstream.origin, tenancyName: 'Default', username: 'poller', password: 'pw', intervalSeconds: 60 };
      const source = (await t.call('POST', '/api/v1/tenants/untopped/sources', { name: 'All at once', kind: 'orchestrator-pull', pull })).json();
      await vi.waitFor(
        async () => {
          const { stats } = (await t.call('GET', `/api/v1/tenants/untopped/sources/${source.id}`)).json();
          expect(stats.lastError).toBeNull();
          expect(stats.pull.imported).toBe(rows.length);
        },
        { timeout: 90_000, interval: 500 },
      );
    } finally {
      await upstream.close();
    }
  }, 120_000);

  it('ends an answer whose @odata.nextLink names the page just read, instead of reading it again and again', async () => {
    let reads = 0;
    const rows = [0, 1].map((i) => ({ ...cloudAlert(), Id: `looped-${i}`, Data: JSON.stringify({ Message: `looped ${i}` }) }));
    const looping = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'POST')
          return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: 'loop-token', success: true }));
        reads += 1;
        const self = `http://127.0.0.1:${(looping.address() as AddressInfo).port}${req.url}`;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: rows, '@odata.nextLink': self }));
      });
    });
    await new Promise<void>((resolve) => looping.listen(0, '127.0.0.1', resolve));
    const t = await pollingApp(dialect, 'looped');
    try {
      const pull = { baseUrl: `http://127.0.0.1:${(looping.address() as AddressInfo).port}`, username: 'poller', password: 'pw', intervalSeconds: 60 };
      const source = (await t.call('POST', '/api/v1/tenants/looped/sources', { name: 'Self link', kind: 'orchestrator-pull', pull })).json();
      // The poll ends (a looping one never would), having read the page once: the next is an interval (a minute) away.
      await vi.waitFor(async () => {
        const { stats } = (await t.call('GET', `/api/v1/tenants/looped/sources/${source.id}`)).json();
        expect(stats.pull).toMatchObject({ imported: 2, lastPolledAt: expect.any(String) });
      }, WAIT);
      expect(reads).toBe(1);
      expect((await alertsOf(t, 'looped')).length).toBe(2);
    } finally {
      await new Promise((resolve) => looping.close(resolve));
    }
  });

  it('imports nothing created before since from an upstream that lists its alerts without applying $filter', async () => {
    const since = Date.now() - 3_600_000;
    const rows = [
      { ...cloudAlert(), Id: 'before-since', CreationTime: new Date(since - 60_000).toISOString(), Data: JSON.stringify({ Message: 'before since' }) },
      { ...cloudAlert(), Id: 'after-since', CreationTime: new Date(since + 60_000).toISOString(), Data: JSON.stringify({ Message: 'after since' }) },
    ];
    const upstream = await pagingOrchestrator(rows, 1000, { ignoresFilter: true });
    const t = await pollingApp(dialect, 'unfiltered');
    try {
      const pull = {
        baseUrl: upstream.origin,
        tenancyName: 'Default',
        username: 'poller',
        password: 'pw',
        intervalSeconds: 1,
        since: new Date(since).toISOString(),
      };
      const created = (await t.call('POST', '/api/v1/tenants/unfiltered/sources', { name: 'Unfiltered', kind: 'orchestrator-pull', pull })).json();
      await vi.waitFor(async () => expect((await alertsOf(t, 'unfiltered')).map((a) => a.message)).toContain('after since'), WAIT);
      const imported = Date.now();
      await vi.waitFor(async () => {
        const { stats } = (await t.call('GET', `/api/v1/tenants/unfiltered/sources/${created.id}`)).json();
        expect(Date.parse(stats.pull.lastPolledAt)).toBeGreaterThan(imported);
      }, WAIT);
      expect((await alertsOf(t, 'unfiltered')).map((a) => a.message)).toEqual(['after since']);
    } finally {
      await upstream.close();
    }
  }, 60_000);

  it('signs in at /api/account/authenticate, as UiPath documents it, when the upstream knows only that spelling', async () => {
    const rows = [
      { ...cloudAlert(), Id: 'lower-case', CreationTime: new Date(Date.now() - 60_000).toISOString(), Data: JSON.stringify({ Message: 'signed in' }) },
    ];
    const upstream = await pagingOrchestrator(rows, 1000, { authenticatePath: '/api/account/authenticate' });
    const t = await pollingApp(dialect, 'spelling');
    try {
      const pull = { baseUrl: upstream.origin, tenancyName: 'Default', username: 'poller', password: 'pw', intervalSeconds: 1 };
      const created = (await t.call('POST', '/api/v1/tenants/spelling/sources', { name: 'Lower case', kind: 'orchestrator-pull', pull })).json();
      expect((await t.call('POST', `/api/v1/tenants/spelling/sources/${created.id}/test`)).json()).toMatchObject({ ok: true, status: 200 });
      await vi.waitFor(async () => expect((await alertsOf(t, 'spelling')).map((a) => a.message)).toEqual(['signed in']), WAIT);
    } finally {
      await upstream.close();
    }
  }, 60_000);

  it('goes on past a backlog longer than one poll reads, though it all falls within the two minutes each poll re-reads', async () => {
    // 60 alerts of the last 90 seconds, 2 a page: more than the 20 pages a poll reads.
    const start = Date.now() - 90_000;
    const rows = Array.from({ length: 60 }, (_, i) => ({
      ...cloudAlert(),
      Id: `burst-${String(i).padStart(2, '0')}`,
      CreationTime: new Date(start + i * 1_000).toISOString(),
      Data: JSON.stringify({ Message: `burst ${i}` }),
    }));
    const upstream = await pagingOrchestrator(rows, 2);
    const t = await pollingApp(dialect, 'burst');
    try {
      const pull = { baseUrl: upstream.origin, tenancyName: 'Default', username: 'poller', password: 'pw', intervalSeconds: 1 };
      expect((await t.call('POST', '/api/v1/tenants/burst/sources', { name: 'Burst', kind: 'orchestrator-pull', pull })).statusCode).toBe(201);
      await vi.waitFor(async () => expect((await alertsOf(t, 'burst')).length).toBe(60), WAIT);
      expect(new Set((await alertsOf(t, 'burst')).map((a) => a.message)).size).toBe(60);
    } finally {
      await upstream.close();
    }
  }, 60_000);
});

async function startWorker(database: TestDatabase, role: 'api' | 'worker', dataDir: string) {
  const config = loadConfig({
    DATABASE_URL: database.url,
    TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN,
    TOCSIN_DATA_DIR: dataDir,
    TOCSIN_SMTP_URL: 'smtp://127.0.0.1:1',
    TOCSIN_ROLE: role,
    PORT: '0',
    LOG_LEVEL: 'silent',
  });
  return startTocsin(config, { ...PULL, listen: false, logger: pino({ level: 'silent' }) });
}

describeEachDialect('orchestrator-pull: two workers', (dialect) => {
  let orchestrator: Awaited<ReturnType<typeof upstreamOrchestrator>>;
  let database: TestDatabase;
  let dataDir: string;
  const running: Tocsin[] = [];

  beforeAll(async () => {
    orchestrator = await upstreamOrchestrator(dialect);
    database = await createTestDatabase(dialect, { migrated: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-pull-'));
  });
  afterAll(async () => {
    for (const tocsin of running) await tocsin.close();
    await database?.drop();
    await orchestrator?.upstream.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('import each of 2,500 upstream alerts exactly once (more than two pages, all created in the same millisecond batches)', async () => {
    for (let batch = 0; batch < 3; batch += 1) {
      await orchestrator.raise(
        Array.from({ length: batch < 2 ? 1000 : 500 }, (_, i) => ({ severity: 'Warn', component: 'Robots', message: `upstream ${batch}-${i}` })),
      );
    }
    const api = await startWorker(database, 'api', dataDir);
    running.push(api);
    const call = (method: 'GET' | 'POST', url: string, payload?: object) =>
      api.app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, ...(payload ? { payload } : {}) });
    await call('POST', '/api/v1/tenants', { name: 'twins' });
    const source = (await call('POST', '/api/v1/tenants/twins/sources', { name: 'Plant', kind: 'orchestrator-pull', pull: pullBody(orchestrator.url) })).json();
    running.push(await startWorker(database, 'worker', dataDir), await startWorker(database, 'worker', dataDir));

    const tenantId = (await call('GET', '/api/v1/tenants/twins')).json().id as string;
    const count = async () =>
      Number(
        (
          await api.deps.storage.db
            .selectFrom('alerts')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('tenant_id', '=', tenantId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    await vi.waitFor(async () => expect(await count()).toBe(2500), { timeout: 60_000, interval: 200 });
    const settledAt = Date.now();
    await vi.waitFor(
      async () =>
        expect(Date.parse((await call('GET', `/api/v1/tenants/twins/sources/${source.id}`)).json().stats.pull.lastPolledAt)).toBeGreaterThan(settledAt + 1_000),
      WAIT,
    );
    expect(await count()).toBe(2500);
    const messages = await api.deps.storage.db.selectFrom('alerts').select('message').where('tenant_id', '=', tenantId).execute();
    expect(new Set(messages.map((m) => m.message)).size).toBe(2500);
  }, 120_000);

  it('lets only one of two racing imports of the same page commit', async () => {
    const [a, b] = running.slice(1);
    const sourceRow = await a!.deps.storage.db.selectFrom('sources').select(['id', 'tenant_id', 'mapping', 'created_at']).executeTakeFirstOrThrow();
    const page: UpstreamAlert[] = Array.from({ length: 50 }, (_, i) => ({
      Id: `race-${i}`,
      NotificationName: 'Process.RaiseAlert',
      Component: 'Jobs',
      Severity: 'Info',
      CreationTime: new Date().toISOString(),
      Data: JSON.stringify({ Message: `race ${i}` }),
      DeepLinkRelativeUrl: null,
    }));
    // On SQLite both workers' connections are in this thread: while the first holds the write lock
    // (awaiting its statements), the second's begin cannot wait for it, since its busy_timeout sleeps
    // the thread the first needs to commit. It waited out the whole timeout (10 s) to fail as it now
    // fails at once; in two processes it waits for the commit and then finds the keys taken.
    const sqlite = b!.deps.storage.sqlite;
    sqlite?.pragma('busy_timeout = 0');
    const results = await Promise.allSettled([
      importAlerts(a!.deps.storage.db, sourceRow, page, Date.now(), 600_000),
      importAlerts(b!.deps.storage.db, sourceRow, page, Date.now(), 600_000),
    ]).finally(() => sqlite?.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`));
    const stored = results.flatMap((r) => (r.status === 'fulfilled' ? r.value.ids : []));
    expect(stored).toHaveLength(50);
    const raced = await a!.deps.storage.db.selectFrom('alerts').select('id').where('message', 'like', 'race %').execute();
    expect(raced).toHaveLength(50);
  });
});

describeEachDialect('orchestrator-pull: a worker stopped in the middle of a poll', (dialect) => {
  it('counts what it imported, shows no failure, and leaves the source due at once: the next worker imports the rest, each alert once', async () => {
    const database = await createTestDatabase(dialect, { migrated: true });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-pull-stop-'));
    const created = Date.now() - 60_000;
    const rows = Array.from({ length: 5 }, (_, i) => ({
      ...cloudAlert(),
      Id: `deploy-${i}`,
      CreationTime: new Date(created + i * 1_000).toISOString(),
      Data: JSON.stringify({ Message: `deploy ${i}` }),
    }));
    // Pages of 2; the second page is held (the worker stopping aborts it) until released.
    let held = true;
    let heldRequests = 0;
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (req.method === 'POST') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: 'stop-token' }));
        const skip = Number(url.searchParams.get('$skip') ?? 0);
        if (skip > 0 && held) {
          heldRequests += 1;
          return;
        }
        const page = rows.slice(skip, skip + 2);
        const body: Record<string, unknown> = { value: page };
        if (skip + page.length < rows.length) {
          url.searchParams.set('$skip', String(skip + page.length));
          body['@odata.nextLink'] = `${origin}/odata/Alerts?${url.searchParams.toString()}`;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const running: Tocsin[] = [];
    try {
      const api = await startWorker(database, 'api', dataDir);
      running.push(api);
      const call = (method: 'GET' | 'POST', url: string, payload?: object) =>
        api.app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, ...(payload ? { payload } : {}) });
      await call('POST', '/api/v1/tenants', { name: 'deploy' });
      const pull = { baseUrl: origin, username: 'poller', password: 'pw', intervalSeconds: 3600, since: new Date(created - 1_000).toISOString() };
      const source = (await call('POST', '/api/v1/tenants/deploy/sources', { name: 'Plant', kind: 'orchestrator-pull', pull })).json();
      const stats = async () => (await call('GET', `/api/v1/tenants/deploy/sources/${source.id}`)).json().stats;
      const first = await startWorker(database, 'worker', dataDir);
      running.push(first);
      await vi.waitFor(() => expect(heldRequests).toBeGreaterThan(0), WAIT);
      await vi.waitFor(async () => expect((await stats()).accepted).toBe(1), WAIT);
      await first.close();
      running.splice(running.indexOf(first), 1);
      await vi.waitFor(async () => expect((await stats()).pull).toMatchObject({ imported: 2, consecutiveFailures: 0 }), WAIT);
      // Due at once (null: as due as a source never polled).
      const next = (await stats()).pull.nextPollAt as string | null;
      expect(next === null || Date.parse(next) <= Date.now()).toBe(true);

      held = false;
      running.push(await startWorker(database, 'worker', dataDir));
      await vi.waitFor(async () => expect((await stats()).pull).toMatchObject({ imported: 5, consecutiveFailures: 0 }), WAIT);
      const messages = (await alertsOf(api, 'deploy')).map((a) => a.message).sort();
      expect(messages).toEqual(['deploy 0', 'deploy 1', 'deploy 2', 'deploy 3', 'deploy 4']);
    } finally {
      for (const tocsin of running) await tocsin.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

describeEachDialect('orchestrator-pull: an upstream with nothing new for weeks', (dialect) => {
  it('imports its newest alert once, though every poll re-reads it (the overlap) past the days delivery keys are kept', async () => {
    const t = await pollingApp(dialect, 'quiet');
    // Disabled: this test polls by hand, day after day, with the nightly purge between.
    const pull = { baseUrl: 'https://orch.example.com', username: 'poller', password: 'pw' };
    const created = await t.call('POST', '/api/v1/tenants/quiet/sources', { name: 'Quiet plant', kind: 'orchestrator-pull', enabled: false, pull });
    expect(created.statusCode).toBe(201);
    const db = t.tocsin.deps.storage.db;
    const row = await db
      .selectFrom('sources')
      .select(['id', 'tenant_id', 'mapping', 'created_at'])
      .where('id', '=', created.json().id)
      .executeTakeFirstOrThrow();
    const newest: UpstreamAlert = {
      Id: 'last-before-the-holidays',
      NotificationName: 'Process.JobExecution.Faulted',
      Component: 'Jobs',
      Severity: 'Error',
      CreationTime: new Date().toISOString(),
      Data: JSON.stringify({ Message: 'the last fault for weeks' }),
      DeepLinkRelativeUrl: null,
    };
    let now = Date.now();
    expect((await importAlerts(db, row, [newest], now, 600_000)).ids).toHaveLength(1);
    for (let day = 1; day <= 3 * DELIVERY_KEY_DAYS; day++) {
      now += 86_400_000;
      await purgeOldDeliveries(db, now);
      expect((await importAlerts(db, row, [newest], now, 600_000)).ids, `day ${day}`).toEqual([]);
    }
    expect((await alertsOf(t, 'quiet')).map((a) => a.message)).toEqual(['the last fault for weeks']);
  });
});

describeEachDialect('orchestrator-pull: a source or tenant deleted while its poll runs', (dialect) => {
  it('ends the poll quietly, storing nothing and warning of no failed import', async () => {
    // An `api` process: the test's own connector below is the only one polling.
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    // What the upstream does while it is asked for alerts, before it answers: the sources are deleted meanwhile.
    let whileListing: () => Promise<void> = async () => {};
    let listed = 0;
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', async () => {
        if (req.method === 'POST') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: 'deleted-token' }));
        await whileListing();
        listed += 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: [{ ...cloudAlert(), Id: `gone-${listed}` }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { log, entries } = captureWarnings();
    // Started once the sources are there and the deletes wait for their listings: the connector's
    // first look runs at its start, and on a loaded machine it found the sources still being created.
    let connector: ReturnType<typeof startPullConnector> | undefined;
    try {
      const pull = { baseUrl: origin, username: 'poller', password: 'pw', intervalSeconds: 1 };
      for (const tenant of ['keeps', 'goes']) {
        await t.call('POST', '/api/v1/tenants', { name: tenant });
        const created = await t.call('POST', `/api/v1/tenants/${tenant}/sources`, { name: 'Plant', kind: 'orchestrator-pull', pull });
        expect(created.statusCode).toBe(201);
      }
      const sourceOf = async (tenant: string) => (await t.call('GET', `/api/v1/tenants/${tenant}/sources`)).json().items[0].id as string;
      const keptSource = await sourceOf('keeps');
      // The source alone, in one tenant; the whole tenant, with its source, in the other: both
      // deleted once both listings are asked for, and no listing answered before.
      let asked = 0;
      let bothAsked: () => void = () => {};
      const listingsAsked = new Promise<void>((resolve) => (bothAsked = resolve));
      let deleting: Promise<void> | undefined;
      whileListing = async () => {
        if (++asked === 2) bothAsked();
        await listingsAsked;
        deleting ??= (async () => {
          expect((await t.call('DELETE', `/api/v1/tenants/keeps/sources/${keptSource}`)).statusCode).toBe(204);
          expect((await t.call('DELETE', '/api/v1/tenants/goes')).statusCode).toBe(204);
        })();
        return deleting;
      };
      connector = startPullConnector({
        db: t.tocsin.deps.storage.db,
        secretBox: t.tocsin.deps.secretBox,
        clock: systemClock,
        logger: log,
        floodWindowMs: 0,
        tickMs: 3_600_000,
      });
      await connector.pollDue();
      expect(listed).toBe(2);
      expect(await alertsOf(t, 'keeps')).toEqual([]);
      expect(entries).toEqual([]);
    } finally {
      await connector?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await t.close();
    }
  }, 60_000);
});

describeEachDialect('orchestrator-pull: the alerts it imports in the metrics', (dialect) => {
  it('counts the alerts a pull source imports in tocsin_alerts_stored_total, by severity, as GET /alerts lists them', async () => {
    // They were stored without a count: a worker importing from Orchestrator showed 0 alerts stored.
    const created = new Date(Date.now() - 60_000).toISOString();
    const rows = ['Error', 'Fatal', 'Info', 'Error'].map((Severity, i) => ({
      ...cloudAlert(),
      Id: `counted-${i}`,
      Severity,
      CreationTime: created,
      Data: JSON.stringify({ Message: `counted ${i}` }),
    }));
    const upstream = await pagingOrchestrator(rows, 1000);
    const t = await startTestApp(dialect, {}, PULL);
    try {
      await t.call('POST', '/api/v1/tenants', { name: 'counted-pull' });
      const pull = { baseUrl: upstream.origin, tenancyName: 'Default', username: 'poller', password: 'pw', intervalSeconds: 1 };
      expect((await t.call('POST', '/api/v1/tenants/counted-pull/sources', { name: 'Counted', kind: 'orchestrator-pull', pull })).statusCode).toBe(201);
      await vi.waitFor(async () => expect((await alertsOf(t, 'counted-pull')).length).toBe(4), WAIT);
      const stored = async () => {
        const text = (await t.call('GET', '/metrics', undefined, '')).body;
        return Object.fromEntries(
          [...text.matchAll(/^tocsin_alerts_stored_total\{severity="(\w+)"\} (\d+)$/gm)].map(([, severity, n]) => [severity, Number(n)]),
        );
      };
      await vi.waitFor(async () => expect(await stored()).toEqual({ Info: 1, Success: 0, Warn: 0, Error: 2, Fatal: 1 }), WAIT);
    } finally {
      await t.close();
      await upstream.close();
    }
  }, 90_000);
});

describeEachDialect('orchestrator-pull: the upstream tokens a worker keeps', (dialect) => {
  it('forgets the token of a source deleted, alone or with its tenant, or disabled, rather than keep one per source ever polled', async () => {
    // A soak creating and deleting tenants with pull sources: each source's Orchestrator token stayed
    // in the worker's memory for the process's life, past its source and its expiry.
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'POST') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: 'a-token' }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: [] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const pull = { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, username: 'poller', password: 'pw', intervalSeconds: 1 };
    const connector = startPullConnector({
      db: t.tocsin.deps.storage.db,
      secretBox: t.tocsin.deps.secretBox,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      floodWindowMs: 0,
      tickMs: 3_600_000,
    });
    try {
      const sources: Record<string, string> = {};
      for (const tenant of ['alone', 'with-tenant', 'disabled', 'kept']) {
        await t.call('POST', '/api/v1/tenants', { name: tenant });
        const created = await t.call('POST', `/api/v1/tenants/${tenant}/sources`, { name: 'Plant', kind: 'orchestrator-pull', pull });
        expect(created.statusCode).toBe(201);
        sources[tenant] = created.json().id;
      }
      await connector.pollDue();
      expect(connector.tokensKept()).toBe(4);
      expect((await t.call('DELETE', `/api/v1/tenants/alone/sources/${sources.alone}`)).statusCode).toBe(204);
      expect((await t.call('DELETE', '/api/v1/tenants/with-tenant')).statusCode).toBe(204);
      expect((await t.call('PATCH', `/api/v1/tenants/disabled/sources/${sources.disabled}`, { enabled: false })).statusCode).toBe(200);
      await connector.pollDue();
      expect(connector.tokensKept()).toBe(1);
    } finally {
      await connector.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await t.close();
    }
  }, 60_000);
});

describeEachDialect("orchestrator-pull: one tenant's slow Orchestrator and another tenant's source", (dialect) => {
  it("polls another tenant's due source within a poll's length while one tenant's eight sources hold every slot, rather than never", async () => {
    // A worker polls 8 sources at once and took the due ones in the order the table lists them: a
    // tenant's 8 sources of a slow (yet working) Orchestrator, listed first and due again as each poll
    // ended, took every freed slot, and a tenant listed after them was never polled (seen on a built
    // server: 0 polls of its source in 30 s at intervalSeconds 1, while the slow ones were asked 64 times).
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    const SLOW_MS = 1_000;
    const asked: string[] = [];
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'POST') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: 'a-token' }));
        asked.push(req.url!.split('/')[1]!);
        const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: [] }));
        if (req.url!.startsWith('/other/')) answer();
        else setTimeout(answer, SLOW_MS);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const upstream = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const pull = (path: string) => ({ baseUrl: `${upstream}/${path}`, username: 'poller', password: 'pw', intervalSeconds: 1 });
    await t.call('POST', '/api/v1/tenants', { name: 'busy' });
    await t.call('POST', '/api/v1/tenants', { name: 'other' });
    for (let i = 1; i <= 8; i += 1) {
      const created = await t.call('POST', '/api/v1/tenants/busy/sources', { name: `Slow ${i}`, kind: 'orchestrator-pull', pull: pull(`slow-${i}`) });
      expect(created.statusCode).toBe(201);
    }
    const connector = startPullConnector({
      db: t.tocsin.deps.storage.db,
      secretBox: t.tocsin.deps.secretBox,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      floodWindowMs: 0,
      tickMs: 50,
    });
    try {
      // The slow sources hold every slot before the other tenant's source exists.
      await vi.waitFor(() => expect(new Set(asked).size).toBe(8), WAIT);
      const created = await t.call('POST', '/api/v1/tenants/other/sources', { name: 'Plant', kind: 'orchestrator-pull', pull: pull('other') });
      expect(created.statusCode).toBe(201);
      // It is due at once: it gets the next slot that frees, within one slow poll (and a tick).
      await vi.waitFor(() => expect(asked).toContain('other'), { timeout: 5 * SLOW_MS, interval: 50 });
    } finally {
      await connector.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await t.close();
    }
  }, 60_000);
});
