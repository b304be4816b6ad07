import https from 'node:https';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testCertificates } from '../../../test/support/certificates.js';
import { type TestApp, startTestApp } from '../../../test/support/http.js';
import { describeEachDialect } from '../../../test/support/storage.js';
import { unansweredDns } from '../../../test/support/unanswered-dns.js';
import pino from 'pino';
import { sourceInput } from '../model.js';
import { createSource } from '../store.js';
import { startPullConnector } from './connector.js';
import { REFUSED_URL_MESSAGE, fetchAt, signIn } from './upstream.js';

const WAIT = { timeout: 30_000, interval: 100 };
const UPSTREAM_TEXT = 'redis says NOAUTH on the inside';

/** listener is a server on loopback that answers any request with an error naming itself, and counts its connections. */
async function listener() {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    const body = JSON.stringify({ message: UPSTREAM_TEXT });
    socket.on('error', () => {});
    socket.end(`HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(resolve);
      }),
  };
}

const pullBody = (baseUrl: string, extra: Record<string, unknown> = {}) => ({
  baseUrl,
  tenancyName: 'plant',
  username: 'poller',
  password: 'pw',
  intervalSeconds: 1,
  ...extra,
});

describeEachDialect('orchestrator-pull with private hosts refused (TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS=false)', (dialect) => {
  let t: TestApp;
  let inside: Awaited<ReturnType<typeof listener>>;
  const base = '/api/v1/tenants/ops/sources';

  beforeAll(async () => {
    inside = await listener();
    t = await startTestApp(dialect, { TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS: 'false' }, { timings: { pullTickMs: 100 } });
    await t.call('POST', '/api/v1/tenants', { name: 'ops' });
  });
  afterAll(async () => {
    await t?.close();
    await inside?.close();
  });

  it('refuses a baseUrl or identityUrl on loopback, private or link-local addresses when saved, with one message naming the field', async () => {
    const messages = new Set<string>();
    const urls = [
      `http://127.0.0.1:${inside.port}`,
      `http://localhost:${inside.port}/orchestrator_`,
      `http://[::1]:${inside.port}`,
      `http://0x7f000001:${inside.port}`,
      `http://2130706433:${inside.port}`,
      'http://169.254.169.254/latest',
      'https://10.1.2.3',
      'https://[::ffff:127.0.0.1]',
      'https://[fd00::1]:8443',
      'http://100.64.0.1',
    ];
    for (const url of urls) {
      const res = await t.call('POST', base, { name: `at ${url}`, kind: 'orchestrator-pull', pull: pullBody(url) });
      expect(res.statusCode, url).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().errors, url).toEqual([{ path: 'pull.baseUrl', message: REFUSED_URL_MESSAGE }]);
      messages.add(res.json().detail);
    }
    const identity = await t.call('POST', base, {
      name: 'cloud',
      kind: 'orchestrator-pull',
      pull: {
        baseUrl: 'https://93.184.215.14/org/tenant/orchestrator_',
        clientId: 'app',
        clientSecret: 's',
        identityUrl: `http://127.0.0.1:${inside.port}/identity_`,
      },
    });
    expect(identity.statusCode).toBe(400);
    expect(identity.json().errors).toEqual([{ path: 'pull.identityUrl', message: REFUSED_URL_MESSAGE }]);

    // A PATCH too; a disabled source with a public address is saved (no poll runs, nothing connects).
    const created = await t.call('POST', base, { name: 'public', kind: 'orchestrator-pull', enabled: false, pull: pullBody('https://93.184.215.14') });
    expect(created.statusCode, created.body).toBe(201);
    const patched = await t.call('PATCH', `${base}/${created.json().id}`, { pull: { baseUrl: `http://127.0.0.1:${inside.port}` } });
    expect(patched.statusCode).toBe(400);
    expect(patched.json().errors).toEqual([{ path: 'pull.baseUrl', message: REFUSED_URL_MESSAGE }]);
    expect((await t.call('GET', `${base}/${created.json().id}`)).json().pull.baseUrl).toBe('https://93.184.215.14');
    await t.call('DELETE', `${base}/${created.json().id}`);

    expect(messages.size).toBe(1);
    expect(inside.connections()).toBe(0);
  });

  it('never connects to a private address saved while allowed: the test and the polls answer the generic refusal, no upstream text', async () => {
    const db = t.tocsin.deps.storage.db;
    const created = await t.call('POST', base, { name: 'saved before', kind: 'orchestrator-pull', enabled: false, pull: pullBody('https://93.184.215.14') });
    const id = created.json().id as string;
    const cloud = await t.call('POST', base, {
      name: 'cloud before',
      kind: 'orchestrator-pull',
      enabled: false,
      pull: { baseUrl: 'https://93.184.215.14/org/tenant/orchestrator_', clientId: 'app', clientSecret: 's' },
    });
    const cloudId = cloud.json().id as string;
    // As a source saved while the switch was true leaves them.
    const setPull = async (sourceId: string, change: Record<string, unknown>) => {
      const row = await db.selectFrom('sources').select('pull').where('id', '=', sourceId).executeTakeFirstOrThrow();
      await db
        .updateTable('sources')
        .set({ pull: JSON.stringify({ ...JSON.parse(row.pull!), ...change }) })
        .where('id', '=', sourceId)
        .execute();
    };
    await setPull(id, { baseUrl: `http://127.0.0.1:${inside.port}` });
    await setPull(cloudId, { identityUrl: `http://localhost:${inside.port}/identity_` });

    const tested = await t.call('POST', `${base}/${id}/test`);
    expect(tested.json()).toEqual({ ok: false, alertIds: [], status: 0, detail: `pull.baseUrl: ${REFUSED_URL_MESSAGE}` });
    const testedCloud = await t.call('POST', `${base}/${cloudId}/test`);
    expect(testedCloud.json()).toEqual({ ok: false, alertIds: [], status: 0, detail: `pull.identityUrl: ${REFUSED_URL_MESSAGE}` });

    // The worker's polls refuse it the same way.
    await db.updateTable('sources').set({ enabled: 1 }).where('id', '=', id).execute();
    await vi.waitFor(async () => {
      const { stats } = (await t.call('GET', `${base}/${id}`)).json();
      expect(stats.lastError).toBe(`pull.baseUrl: ${REFUSED_URL_MESSAGE}`);
    }, WAIT);
    const receptions = await t.call('GET', `${base}/${id}/receptions`);
    expect(receptions.body).not.toContain(UPSTREAM_TEXT);
    expect(tested.body + testedCloud.body).not.toContain(UPSTREAM_TEXT);
    expect(inside.connections()).toBe(0);
    await t.call('DELETE', `${base}/${id}`);
    await t.call('DELETE', `${base}/${cloudId}`);
  });
});

describeEachDialect('orchestrator-pull with private hosts allowed (the default)', (dialect) => {
  let t: TestApp;
  let inside: Awaited<ReturnType<typeof listener>>;
  beforeAll(async () => {
    inside = await listener();
    t = await startTestApp(dialect);
    await t.call('POST', '/api/v1/tenants', { name: 'ops' });
  });
  afterAll(async () => {
    await t?.close();
    await inside?.close();
  });

  it('saves and asks an Orchestrator on loopback, as an on-premises one on a private network', async () => {
    const base = '/api/v1/tenants/ops/sources';
    const created = await t.call('POST', base, {
      name: 'on-prem',
      kind: 'orchestrator-pull',
      enabled: false,
      pull: pullBody(`http://127.0.0.1:${inside.port}`),
    });
    expect(created.statusCode).toBe(201);
    const tested = await t.call('POST', `${base}/${created.json().id}/test`);
    expect(tested.json()).toMatchObject({ ok: false, status: 500, detail: `/api/Account/Authenticate answered HTTP 500: ${UPSTREAM_TEXT}` });
    expect(inside.connections()).toBe(1);
  });
});

describe('orchestrator-pull requests pinned to the address checked', () => {
  it('connects to the checked address while verifying the certificate against the host name, following no redirect', async () => {
    const certs = testCertificates();
    const seen: string[] = [];
    const server = https.createServer({ ...certs.wrongHost }, (req, res) => {
      seen.push(`${req.method} ${req.headers.host} ${req.url}`);
      if (req.url === '/moved') res.writeHead(301, { location: 'https://elsewhere.example/' }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"token"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const ca = https.globalAgent.options.ca;
    https.globalAgent.options.ca = certs.ca;
    try {
      const signal = AbortSignal.timeout(5_000);
      const ok = await fetchAt(
        `https://wrong.example:${port}/api/x`,
        '127.0.0.1',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' },
        signal,
      );
      expect([ok.status, await ok.json()]).toEqual([200, { result: 'token' }]);
      const moved = await fetchAt(`https://wrong.example:${port}/moved`, '127.0.0.1', { headers: {} }, signal);
      expect([moved.status, moved.headers.get('location')]).toEqual([301, 'https://elsewhere.example/']);
      await moved.body?.cancel();
      // The same address under a name the certificate is not for: refused by TLS.
      await expect(fetchAt(`https://other.example:${port}/api/x`, '127.0.0.1', { headers: {} }, signal)).rejects.toThrow(/altnames|other\.example/);
      expect(seen).toEqual([`POST wrong.example:${port} /api/x`, `GET wrong.example:${port} /moved`]);
    } finally {
      https.globalAgent.options.ca = ca;
      server.closeAllConnections();
      server.close();
    }
  });

  it('resolves a name once and refuses it when any address is private, before connecting', async () => {
    const asked: string[] = [];
    const credentials = {
      ...pullBody('https://orchestrator.example.com'),
      clientId: null,
      identityUrl: null,
      scope: null,
      organizationUnitId: null,
      intervalSeconds: 60,
      since: new Date().toISOString(),
      clientSecret: null,
      hosts: {
        allowPrivateHosts: false,
        resolver: async (host: string) => {
          asked.push(host);
          return ['93.184.215.14', '10.0.0.7'];
        },
      },
    };
    await expect(signIn(credentials, Date.now())).rejects.toMatchObject({ message: `pull.baseUrl: ${REFUSED_URL_MESSAGE}`, status: undefined });
    expect(asked).toEqual(['orchestrator.example.com']);
  });
});

describeEachDialect('orchestrator-pull with private hosts refused, when the DNS never answers', (dialect) => {
  // An `api` process runs no pull connector: the one each test starts is the only one polling.
  let t: TestApp;
  const base = '/api/v1/tenants/ops/sources';
  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    await t.call('POST', '/api/v1/tenants', { name: 'ops' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const connectorFor = (resolver: (host: string) => Promise<string[]>, upstreamTimeoutMs?: number) =>
    startPullConnector({
      db: t.tocsin.deps.storage.db,
      secretBox: t.tocsin.deps.secretBox,
      clock: t.tocsin.deps.clock,
      logger: pino({ level: 'silent' }),
      floodWindowMs: 0,
      tickMs: 60_000,
      hosts: { allowPrivateHosts: false, resolver },
      ...(upstreamTimeoutMs === undefined ? {} : { upstreamTimeoutMs }),
    });

  it("gives the lookup up at the poll's request timeout and shows it as the source's last error, as a server that never answers", async () => {
    const created = await t.call('POST', base, { name: 'unresolved', kind: 'orchestrator-pull', pull: pullBody('https://orchestrator.example.com:8443') });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    const dns = unansweredDns();
    const connector = connectorFor(dns.resolver, 50);
    try {
      // pollDue returns once the polls it started have ended: the lookup no longer holds the poll.
      await connector.pollDue();
      const said = 'orchestrator.example.com:8443: no answer within 0.05 s';
      const { stats } = (await t.call('GET', `${base}/${id}`)).json();
      expect(stats).toMatchObject({ lastError: said, pull: { consecutiveFailures: 1 } });
      const receptions = (await t.call('GET', `${base}/${id}/receptions`)).json().items;
      expect(receptions[0]).toMatchObject({ outcome: 'unavailable', status: 0, error: said });
      expect(dns.asked).toContain('orchestrator.example.com');
    } finally {
      await connector.stop();
      await t.call('DELETE', `${base}/${id}`);
    }
  });

  it('saves a source whose host does not answer within the lookup timeout, as one whose name does not resolve (every request looks it up again)', async () => {
    const { storage, secretBox, clock } = t.tocsin.deps;
    const tenant = (await t.call('GET', '/api/v1/tenants/ops')).json().id as string;
    const dns = unansweredDns();
    const input = sourceInput.parse({ name: 'saved unresolved', kind: 'orchestrator-pull', enabled: false, pull: pullBody('https://saved.example.com') });
    const { row } = await createSource(storage.db, secretBox, clock, tenant, input, { allowPrivateHosts: false, resolver: dns.resolver, lookupTimeoutMs: 50 });
    expect(dns.asked).toEqual(['saved.example.com']);
    expect((await t.call('GET', `${base}/${row.id}`)).json()).toMatchObject({ name: 'saved unresolved', pull: { baseUrl: 'https://saved.example.com' } });
    await t.call('DELETE', `${base}/${row.id}`);
  });

  it('stops at once while a lookup is under way, recording no failure of the upstream', async () => {
    const created = await t.call('POST', base, { name: 'stopping', kind: 'orchestrator-pull', pull: pullBody('https://orchestrator.example.com') });
    const id = created.json().id as string;
    const dns = unansweredDns();
    // A request timeout longer than the test's: only the stop can end the lookup in time.
    const connector = connectorFor(dns.resolver, 600_000);
    try {
      await dns.firstLookup;
    } finally {
      await connector.stop();
    }
    const { stats } = (await t.call('GET', `${base}/${id}`)).json();
    expect(stats.lastError).toBeNull();
    expect((await t.call('GET', `${base}/${id}/receptions`)).json().items).toEqual([]);
    await t.call('DELETE', `${base}/${id}`);
  });
});
