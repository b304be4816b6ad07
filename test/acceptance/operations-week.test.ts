/**
 * Acceptance test told as an operations team's week, compressed into 1-second summary windows:
 * the built server run as `tocsin serve`, the tenant's own SMTP server (STARTTLS and AUTH) and the
 * system default as real SMTP servers, alerts arriving over REST, Alertmanager and Orchestrator's
 * webhook. At each step it checks what each person received — one summary per window at most,
 * each alert in exactly the emails it should be, nothing twice — and what the API shows.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testCertificates } from '../support/certificates.js';
import { freePort } from '../support/ports.js';
import { dailyReportTimeAway } from '../support/report-runs.js';
import { type ReceivedMessage, type TestSmtpServer, messageIdOf, startTestSmtpServer } from '../support/smtp-servers.js';
import { type TestDatabase, createTestDatabase, describeEachDialect } from '../support/storage.js';
import { until } from '../support/until.js';
import { type Started, cleanEnv, ensureBuilt, killGroup, start, stop } from './processes.js';

const ADMIN = 'operations-week-admin-token-0123456789';
const WINDOW_SECONDS = 1;

interface Mail {
  readonly to: string;
  readonly kind: string;
  readonly subject: string;
  readonly text: string;
  readonly messageId: string;
  readonly via: ReceivedMessage;
}

beforeAll(ensureBuilt, 180_000);

describeEachDialect("an operations team's week", (dialect) => {
  let database: TestDatabase;
  let system: TestSmtpServer;
  let own: TestSmtpServer;
  let server: Started | undefined;
  let url: string;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-week-'));
  const caFile = path.join(dataDir, 'ca.pem');
  // The tenant's SMTP account; its password is changed on the server mid-week.
  const account = { username: 'acme-relay', password: 'first-password' };
  const parsedCache = new Map<ReceivedMessage, Promise<Mail>>();

  async function serve(port: number): Promise<void> {
    server = start('node', ['bin/tocsin.js', 'serve'], {
      env: cleanEnv({
        NODE_EXTRA_CA_CERTS: caFile, // the tenant's server shows a certificate of the test CA
        DATABASE_URL: database.url,
        PORT: String(port),
        TOCSIN_ADMIN_TOKEN: ADMIN,
        TOCSIN_DATA_DIR: dataDir,
        TOCSIN_SMTP_URL: `smtp://127.0.0.1:${system.port}?from=tocsin@example.com`,
        TOCSIN_SUMMARY_INTERVAL_SECONDS: String(WINDOW_SECONDS),
        LOG_LEVEL: 'warn',
      }),
      group: true,
    });
    url = (await server.waitFor(/Tocsin is running: (http:\/\/[^\s/]+)\//))[1]!;
  }

  async function call(method: string, route: string, body?: unknown, token = ADMIN): Promise<{ status: number; json: any }> {
    const res = await fetch(`${url}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  }
  async function api(method: string, route: string, body?: unknown, token = ADMIN): Promise<any> {
    const res = await call(method, `/api/v1/tenants/acme${route}`, body, token);
    expect(res.status, `${method} ${route}: ${JSON.stringify(res.json)}`).toBeLessThan(300);
    return res.json;
  }

  async function mails(): Promise<Mail[]> {
    const all = [...system.messages, ...own.messages];
    return Promise.all(
      all.map((m) => {
        let parsed = parsedCache.get(m);
        if (!parsed) {
          parsed = simpleParser(m.raw).then((p: ParsedMail) => ({
            to: m.envelope.to[0]!,
            kind: String(p.headers.get('x-tocsin-kind')),
            subject: p.subject ?? '',
            text: p.text ?? '',
            messageId: messageIdOf(m.raw)!,
            via: m,
          }));
          parsedCache.set(m, parsed);
        }
        return parsed;
      }),
    );
  }
  /** received waits until the mail matching `which` numbers `count`, and returns it. */
  async function received(which: (m: Mail) => boolean, count: number, what: string): Promise<Mail[]> {
    let found: Mail[] = [];
    await until(async () => (found = (await mails()).filter(which)).length >= count, what, { timeoutMs: 15_000 });
    return found;
  }

  /**
   * summariesOf lists the delivery log's summaries of the window an alert was stored in, once its
   * decision is made (one transaction queues them all) and they are sent or failed. A window is
   * usually one interval long, longer when it catches up with intervals the scheduler decided late.
   */
  async function summariesOf(alert: { createdAt: string }): Promise<{ recipient: string; status: string; messageId: string; lastError: string | null }[]> {
    const at = Date.parse(alert.createdAt);
    let rows: any[] = [];
    await until(
      async () => {
        const log = await api('GET', '/deliveries?kind=summary&limit=1000');
        rows = log.items.filter((d: any) => Date.parse(d.windowStart) <= at && at < Date.parse(d.windowEnd));
        return rows.length > 0 && rows.every((d) => d.status === 'sent' || d.status === 'failed');
      },
      `the summaries of the window of ${alert.createdAt} to be decided and sent or failed`,
      { timeoutMs: 15_000 },
    ).catch(async (err) => {
      throw new Error(`${err.message}: ${JSON.stringify((await api('GET', '/deliveries?limit=1000')).items.slice(0, 12))}`);
    });
    return rows;
  }
  /** summaryMails waits for the summaries of an alert's window and returns the email each recipient got, by address. */
  async function summaryMails(alert: { createdAt: string }): Promise<Map<string, Mail>> {
    const sent = (await summariesOf(alert)).filter((d) => d.status === 'sent');
    const ids = new Set(sent.map((d) => d.messageId));
    const got = await received((m) => m.kind === 'summary' && ids.has(m.messageId), sent.length, `the summaries of ${alert.createdAt}`);
    return new Map(got.map((m) => [m.to, m]));
  }

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    system = await startTestSmtpServer();
    own = await startTestSmtpServer({ tls: 'starttls', auth: account });
    fs.writeFileSync(caFile, testCertificates().ca);
    await serve(await freePort());
  });
  afterAll(async () => {
    if (server) killGroup(server);
    await own?.close();
    await system?.close();
    await database?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('mails each person what they chose, once, through a flood, mutes, a changed SMTP password, a departure, a new report time and a restart', async () => {
    // Monday: the tenant, its own SMTP server, its people in three languages and time zones.
    expect((await call('POST', '/api/v1/tenants', { name: 'acme', displayName: 'ACME', timeZone: 'Europe/Paris', language: 'fr' })).status).toBe(201);
    const custom = {
      host: 'localhost',
      port: own.port,
      security: 'starttls',
      username: account.username,
      password: account.password,
      fromAddress: 'alerts@acme.example.com',
    };
    // The daily report far from now until Sunday moves it: the real clock could cross 10:00 in Paris mid-week.
    await api('PUT', '/settings/mail', { alertsEmailEnabled: true, useCustom: true, custom, dailyReportTime: dailyReportTimeAway('Europe/Paris') });
    const user = (email: string, extra: object) => api('POST', '/users', { email, name: email.split('@')[0], ...extra });
    const ana = await user('ana@acme.example.com', { language: 'fr', roles: ['Administrator'] });
    const ben = await user('ben@acme.example.com', { language: 'de', timeZone: 'America/New_York', roles: ['Alerts Viewer'] });
    const kenji = await user('kenji@acme.example.com', { language: 'ja', timeZone: 'Asia/Tokyo' }); // sees alerts through Ops
    const robot = await user('robot@acme.example.com', { roles: ['Robot'] }); // a robot's account, which wants no email
    await api('POST', '/groups', { name: 'Ops', email: 'ops@acme.example.com', language: 'es', roles: ['Alerts Viewer'], members: [kenji.id] });
    const token = async (u: { id: string }) => (await api('POST', `/users/${u.id}/tokens`, { name: 'week' })).token as string;
    const [anaToken, benToken, kenjiToken] = [await token(ana), await token(ben), await token(kenji)];
    const robotToken = await token(robot);
    await api('PUT', `/users/${robot.id}/alert-preferences`, { email: { tenMinuteSummary: false, dailyReport: false } });
    await api('PUT', `/users/${ben.id}/alert-preferences`, { subscriptions: { Robots: false } }, benToken);
    await api('PUT', '/me/alert-preferences', { email: { fatalImmediately: true } }, kenjiToken);
    const tested = await api('POST', '/settings/mail/test', {}, anaToken);
    expect(tested).toMatchObject({ ok: true });
    const alertmanager = await api('POST', '/sources', { name: 'Prometheus', kind: 'alertmanager' }, anaToken);
    const orchestrator = await api('POST', '/sources', { name: 'Orchestrator', kind: 'orchestrator-webhook' }, anaToken);
    const receive = async (source: { url: string }, headers: Record<string, string>, body: string) => {
      const res = await fetch(`${url}${new URL(source.url).pathname}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      expect(res.status, await res.clone().text()).toBe(202);
      return ((await res.json()) as { ids: string[] }).ids;
    };
    const fromOrchestrator = (event: object) => {
      const body = JSON.stringify({ EventId: crypto.randomUUID(), Timestamp: new Date().toISOString(), TenantId: 1, ...event });
      return receive(orchestrator, { 'x-uipath-signature': crypto.createHmac('sha256', orchestrator.secret).update(body).digest('base64') }, body);
    };
    const fromAlertmanager = (status: 'firing') => {
      const labels = { alertname: 'DiskFull', severity: 'critical', instance: 'db1' };
      const annotations = { summary: 'Disk full on db1' };
      const alert = {
        status,
        labels,
        annotations,
        startsAt: new Date().toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: '',
        fingerprint: 'd15cf011d15cf011',
      };
      const body = JSON.stringify({
        version: '4',
        groupKey: '{}:{alertname="DiskFull"}',
        truncatedAlerts: 0,
        status,
        receiver: 'tocsin',
        groupLabels: { alertname: 'DiskFull' },
        commonLabels: labels,
        commonAnnotations: annotations,
        externalURL: 'http://alertmanager.invalid',
        alerts: [alert],
      });
      return receive(alertmanager, { authorization: `Bearer ${alertmanager.secret}` }, body);
    };
    const raise = async (alert: object) => (await api('POST', '/alerts', alert, robotToken)).ids[0] as string;
    const queueStuck = (queue: string) =>
      raise({ severity: 'Error', component: 'Queues', event: 'Process.RaiseAlert', message: `${queue} queue stuck`, source: { queue } });
    const r7 = {
      severity: 'Error',
      component: 'Robots',
      event: 'Robot.StatusChanged.NotResponding',
      message: 'Robot R7 not responding',
      source: { robot: 'R7' },
      dedupKey: 'r7',
    };
    const alertById = async (id: string) => (await api('GET', '/alerts?limit=1000', undefined, anaToken)).items.find((a: any) => a.id === id);
    const testMail = await received((m) => m.kind === 'test', 1, 'the test email');
    expect(testMail[0]!.via).toMatchObject({ secure: true, user: account.username });

    // Tuesday: a robot fails over and over, a queue item fails, a disk fills up (Fatal).
    const flood = await Promise.all(Array.from({ length: 8 }, () => raise(r7)));
    const [queueItem] = await fromOrchestrator({
      Type: 'queueItem.transactionFailed',
      QueueItem: { Id: 5, Key: 'qi-5', RetryNumber: 0, ProcessingException: { Reason: 'Selector not found', Type: 'ApplicationException' } },
      Queue: { Name: 'invoices' },
    });
    const [disk] = await fromAlertmanager('firing');
    const byWindow = await Promise.all([flood[0]!, flood[7]!, queueItem!, disk!].map(async (id) => summaryMails(await alertById(id))));
    const tuesdayMail = new Map<string, Mail[]>();
    const seen = new Set<string>();
    for (const got of byWindow) {
      for (const [to, mail] of got) {
        if (seen.has(mail.messageId)) continue;
        seen.add(mail.messageId);
        tuesdayMail.set(to, [...(tuesdayMail.get(to) ?? []), mail]);
      }
    }
    expect([...tuesdayMail.keys()].sort()).toEqual(['ana@acme.example.com', 'ben@acme.example.com', 'kenji@acme.example.com', 'ops@acme.example.com']);
    // Each in its reader's language and time zone; a group's in the group's language and the tenant's zone.
    const reads = {
      ana: ['Bonjour ana,', 'Europe/Paris'],
      ben: ['Hallo ben,', 'America/New_York'],
      kenji: ['kenji 様', 'Asia/Tokyo'],
      ops: ['Hola', 'Europe/Paris'],
    };
    for (const [who, [greeting, zone]] of Object.entries(reads)) {
      for (const mail of tuesdayMail.get(`${who}@acme.example.com`)!) {
        expect(mail.text, who).toContain(greeting);
        expect(mail.text, who).toContain(zone);
      }
    }
    const text = (to: string) =>
      tuesdayMail
        .get(to)!
        .map((m) => m.text)
        .join('\n');
    for (const to of ['ana@acme.example.com', 'kenji@acme.example.com', 'ops@acme.example.com']) {
      expect(text(to), to).toContain('Robot R7 not responding');
      expect(text(to), to).toContain('Disk full on db1');
      expect(text(to), to).toContain('Selector not found');
    }
    expect(text('ben@acme.example.com')).not.toContain('Robot R7 not responding'); // he left Robots
    expect(text('ben@acme.example.com')).toContain('Disk full on db1');
    const [fatalMail] = await received((m) => m.kind === 'immediate', 1, "kenji's Fatal email");
    expect(fatalMail).toMatchObject({ to: 'kenji@acme.example.com' });
    expect(fatalMail!.text).toContain('Disk full on db1');
    expect(fatalMail!.via).toMatchObject({ secure: true, user: account.username });

    // Wednesday: Ben is on it, Ana mutes the robot for the tenant for an hour, Kenji snoozes Jobs.
    const acknowledged = await api('POST', `/alerts/${flood[0]}/acknowledge`, {}, benToken);
    expect(acknowledged.acknowledgedBy).toEqual({ userId: ben.id, name: 'ben' });
    expect((await api('POST', `/alerts/${flood[0]}/acknowledge`, {}, anaToken)).acknowledgedBy.name).toBe('ben'); // the first one stands
    const hour = new Date(Date.now() + 3_600_000).toISOString();
    await api('POST', '/mutes', { scope: 'tenant', match: { robot: 'R7' }, until: hour }, anaToken);
    await api('POST', '/mutes', { scope: 'user', match: { component: 'Jobs' }, until: hour }, kenjiToken);
    expect((await api('GET', '/mutes', undefined, benToken)).items).toHaveLength(1); // the tenant's mute, not Kenji's snooze
    expect((await api('GET', '/mutes', undefined, kenjiToken)).items).toHaveLength(2);
    await raise(r7);
    const payroll = await raise({
      severity: 'Fatal',
      component: 'Jobs',
      event: 'Process.JobExecution.Faulted',
      message: 'Payroll job crashed',
      source: { process: 'Payroll' },
    });
    const wednesday = await summaryMails(await alertById(payroll));
    expect([...wednesday.keys()].sort()).toEqual(['ana@acme.example.com', 'ben@acme.example.com', 'ops@acme.example.com']); // Kenji's only alert is snoozed
    for (const mail of wednesday.values()) {
      expect(mail.text).toContain('Payroll job crashed');
      expect(mail.text).not.toContain('Robot R7 not responding');
    }
    const fatalEmails = async () => (await mails()).filter((m) => m.kind === 'immediate').length;
    expect(await fatalEmails()).toBe(1); // none for the snoozed Payroll crash

    // Thursday: the SMTP password is changed on the server, not in Tocsin.
    account.password = 'second-password';
    own.dropConnections();
    const lost = await queueStuck('Payments');
    const failing = await summariesOf(await alertById(lost));
    expect(failing.map((d) => d.status)).toEqual(failing.map(() => 'failed')); // a 535 is permanent
    expect(failing.map((d) => d.recipient).sort()).toEqual(['ana@acme.example.com', 'ben@acme.example.com', 'kenji@acme.example.com', 'ops@acme.example.com']);
    for (const d of failing) expect(d.lastError).toMatch(/535/);
    const [failingNotice] = await received((m) => m.kind === 'mail-health', 1, 'the mail-health notice');
    expect(failingNotice).toMatchObject({ to: 'ana@acme.example.com' });
    expect(failingNotice!.via.envelope.from).toBe('tocsin@example.com'); // through the system default
    expect(await api('GET', '/settings/mail/health', undefined, anaToken)).toMatchObject({ state: 'failing', lastCode: 535 });
    const tocsinAlerts = (await api('GET', '/alerts?component=Tocsin', undefined, anaToken)).items;
    expect(tocsinAlerts.map((a: any) => [a.severity, a.event])).toEqual([['Error', 'Mail.DeliveryFailing']]);
    expect((await mails()).filter((m) => m.text.includes('Payments queue stuck'))).toEqual([]);

    // Friday: Ana types the new password, and Ben leaves the company. Mail flows again, to all
    // but Ben, and Ana is told it works, once.
    await api('PUT', '/settings/mail', { custom: { password: account.password } }, anaToken);
    await api('DELETE', `/users/${ben.id}`, undefined, anaToken);
    expect((await call('GET', '/api/v1/tenants/acme/me', undefined, benToken)).status).toBe(401);
    expect((await alertById(flood[0]!)).acknowledgedBy).toEqual({ userId: ben.id, name: 'ben' }); // what he did stays
    const fixed = await queueStuck('Ledger');
    const friday = await summaryMails(await alertById(fixed));
    expect([...friday.keys()].sort()).toEqual(['ana@acme.example.com', 'kenji@acme.example.com', 'ops@acme.example.com']);
    const notices = await received((m) => m.kind === 'mail-health', 2, 'the mail-works-again notice');
    expect(notices.map((m) => m.to)).toEqual(['ana@acme.example.com', 'ana@acme.example.com']);
    await until(async () => (await api('GET', '/settings/mail/health', undefined, anaToken)).state === 'ok', 'mail health ok');

    // Sunday: the daily report is moved to a few seconds from now (tenant time): one each.
    const paris = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    await api('PUT', '/settings/mail', { dailyReportTime: paris.format(new Date(Date.now() + 2_000)) }, anaToken);
    const dailies = await received((m) => m.kind === 'daily', 3, 'the daily reports');
    expect(dailies.map((m) => m.to).sort()).toEqual(['ana@acme.example.com', 'kenji@acme.example.com', 'ops@acme.example.com']);
    const anaDaily = dailies.find((m) => m.to === 'ana@acme.example.com')!;
    expect(anaDaily.text).toContain('Ledger');

    // Monday again: the server is stopped right after an alert, before its window ends, and started
    // again: the alert goes out once, in the catch-up summary of the windows missed.
    await queueStuck('Archive');
    expect((await stop(server!, 'SIGTERM', true)).code).toBe(0);
    await serve(Number(new URL(url).port));
    const monday = await received((m) => m.kind === 'summary' && m.text.includes('Archive queue stuck'), 3, 'the catch-up summaries');
    expect(monday.map((m) => m.to).sort()).toEqual(['ana@acme.example.com', 'kenji@acme.example.com', 'ops@acme.example.com']);
    await until(
      async () =>
        (await api('GET', '/deliveries?kind=summary&status=sent&limit=1000')).items.length === (await mails()).filter((m) => m.kind === 'summary').length,
      'the log to show every summary sent',
    );

    // All week: never the same email twice, never two summaries of one window to one address.
    const all = await mails();
    expect(new Set(all.map((m) => `${m.to} ${m.messageId}`)).size).toBe(all.length);
    const log = (await api('GET', '/deliveries?kind=summary&limit=1000')).items.filter((d: any) => d.status === 'sent');
    expect(new Set(log.map((d: any) => `${d.recipient} ${d.windowStart}`)).size).toBe(log.length);
    expect(all.filter((m) => m.kind === 'summary')).toHaveLength(log.length);
    expect(all.some((m) => m.to === 'robot@acme.example.com')).toBe(false);
  }, 60_000);
});
