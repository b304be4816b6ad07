/**
 * Acceptance test of a stop during a network partition, told as a timeline: the built server run
 * as `tocsin serve` reaches PostgreSQL through a TCP proxy that stops forwarding (the connections
 * stay open and silent), the operator's supervisor sends SIGTERM, and a new process takes over
 * once the network is back. The stop must end inside serve's 15 s grace with exit code 0 (it
 * waited for each loop's statements one after the other, 9 to 28 s, and exited 1), and no email
 * may go twice.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TenantsApi, tenantsApi } from '../support/http.js';
import { type TestSmtpServer, startTestSmtpServer } from '../support/smtp-servers.js';
import { TEST_PG_URL, type TestDatabase, createTestDatabase } from '../support/storage.js';
import { type TcpProxy, proxyFor, viaProxy } from '../support/tcp-proxy.js';
import { until } from '../support/until.js';
import { type Started, ensureBuilt, killGroup, serveBuilt, stop } from './processes.js';

const ADMIN = 'stop-during-partition-admin-token-0123456789';

beforeAll(ensureBuilt, 180_000);

describe.runIf(TEST_PG_URL)('a stop while PostgreSQL answers nothing (a network partition)', () => {
  let database: TestDatabase;
  let smtp: TestSmtpServer;
  let proxy: TcpProxy;
  const servers: Started[] = [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-partition-'));

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    smtp = await startTestSmtpServer();
    proxy = await proxyFor(database.url);
  }, 60_000);
  afterAll(async () => {
    for (const server of servers) killGroup(server);
    proxy?.cut();
    await proxy?.close();
    await smtp?.close();
    await database?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** serve starts an instance of the built server (api and worker) on `databaseUrl`. */
  const serve = async (databaseUrl: string): Promise<TenantsApi> =>
    tenantsApi(await serveBuilt({ databaseUrl, adminToken: ADMIN, dataDir, smtpPort: smtp.port }, servers), ADMIN);

  /** fatal raises a Fatal alert and waits until its email is recorded sent. */
  const fatal = async (api: TenantsApi, message: string) => {
    await api('POST', '/acme/alerts', { alerts: [{ severity: 'Fatal', component: 'Robots', message }] });
    await until(
      async () => (await api('GET', '/acme/deliveries?kind=immediate')).items.filter((d: { status: string }) => d.status === 'sent').length === fatalsSent + 1,
      `the email of "${message}" to be recorded sent`,
      { timeoutMs: 30_000 },
    );
    fatalsSent += 1;
  };
  let fatalsSent = 0;

  it('exits 0 well inside its grace, and the next process sends each email once', async () => {
    // 1. An operator wants Fatal alerts; one is raised and its email sent and recorded.
    const first = await serve(viaProxy(database.url, proxy));
    await first('POST', '', { name: 'acme' });
    await first('PUT', '/acme/settings/mail', { alertsEmailEnabled: true });
    const ops = await first('POST', '/acme/users', { email: 'ops@example.com', name: 'Ops', roles: ['Alerts Viewer'] });
    await first('PUT', `/acme/users/${ops.id}/alert-preferences`, { email: { fatalImmediately: true, tenMinuteSummary: false, dailyReport: false } });
    await fatal(first, 'Robot R1 is down');

    // 2. The network to PostgreSQL goes silent; the supervisor stops Tocsin meanwhile.
    proxy.stall();
    const stopped = await stop(servers[0]!, 'SIGTERM', true);
    expect(stopped).toMatchObject({ code: 0, signal: null });
    // Its loops' work in progress given up after 2 s, its connections' goodbyes after 3 s: not the grace's 15 s.
    expect(stopped.ms).toBeLessThan(10_000);

    // 3. The network back, a new process takes over: a new alert's email goes, the first one's never again.
    proxy.cut();
    proxy.restore();
    const next = await serve(database.url);
    await fatal(next, 'Robot R2 is down');
    expect(smtp.messages.map((m) => /Robot R\d/.exec(m.raw)?.[0])).toEqual(['Robot R1', 'Robot R2']);
  }, 120_000);
});
