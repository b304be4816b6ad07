/**
 * What a reader sees in the alert emails, point by point against PRODUCT.md's "The emails": the
 * real app on both dialects with a one-second summary window, alerts raised through the API, and
 * each email read back from a real SMTP server with mailparser.
 */
import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPORTS_SOON, type TestApp, startTestApp } from '../../test/support/http.js';
import { decideReports, sendQueuedReports, useReportApp } from '../../test/support/report-runs.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { localeFormat } from '../i18n/format.js';
import { FakeClock } from '../shared/clock.js';
import { NOTHING_LEFT, NOT_A_READER, TURNED_OFF } from './composers.js';
import { UnsubscribeLinks } from './unsubscribe/links.js';

describeEachDialect('alert emails as their readers see them', (dialect) => {
  let t: TestApp;
  let smtp: TestSmtpServer;

  beforeAll(async () => {
    smtp = await startTestSmtpServer();
    t = await startTestApp(
      dialect,
      {
        TOCSIN_SMTP_URL: `smtp://127.0.0.1:${smtp.port}?from=alerts@example.com`,
        TOCSIN_SUMMARY_INTERVAL_SECONDS: '1',
        TOCSIN_PUBLIC_URL: 'https://tocsin.example.com',
      },
      // A window is decided a tenth of a second after its end, not one to two seconds: each summary test waits for one.
      REPORTS_SOON,
    );
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  /** ok calls the API as the host administrator and fails the test on any error answer. */
  async function ok(method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, body?: unknown) {
    const res = await t.call(method, `/api/v1/tenants${url}`, body);
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
    return res.body ? res.json() : undefined;
  }

  /** tenant creates a tenant with alert emails on and one user, returning the user's id. */
  async function tenant(name: string, tenantFields: object, user: object): Promise<string> {
    await ok('POST', '', { name, ...tenantFields });
    await ok('PUT', `/${name}/settings/mail`, { alertsEmailEnabled: true });
    return (await ok('POST', `/${name}/users`, { name: 'Reader', roles: ['Alerts Viewer'], ...user })).id;
  }

  /** mailsOf waits for `count` emails of a kind to an address and parses them, in the order they came. */
  async function mailsOf(address: string, kind: string, count: number): Promise<ParsedMail[]> {
    for (;;) {
      const mails: ParsedMail[] = [];
      for (const message of smtp.messages) {
        if (message.envelope.to[0] !== address) continue;
        const mail = await simpleParser(message.raw);
        if (mail.headers.get('x-tocsin-kind') === kind) mails.push(mail);
      }
      if (mails.length >= count) return mails;
      await smtp.waitForMessages(smtp.messages.length + 1, 20_000);
    }
  }
  const mailOf = async (address: string, kind: string) => (await mailsOf(address, kind, 1))[0]!;

  /**
   * reportSoon sets a UTC tenant's daily report time to a few seconds from now, once what its report
   * should hold is written: set before, the report time could pass first on a loaded machine, leaving
   * the alerts (or an acknowledgement) to the next day's report and the test waiting for an email.
   */
  async function reportSoon(name: string): Promise<void> {
    await ok('PUT', `/${name}/settings/mail`, { dailyReportTime: new Date(Date.now() + 4_000).toISOString().slice(11, 19) });
  }

  it('names Fatal in the summary subject, counting the repeats of a Fatal line, in the reader’s language', async () => {
    await tenant('fatals', {}, { email: 'fatals@example.com', language: 'fr' });
    const down = { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'R7 offline', dedupKey: 'r7' };
    await ok('POST', '/fatals/alerts', {
      alerts: [down, down, { ...down, message: 'R8 offline', dedupKey: 'r8' }, { severity: 'Error', component: 'Jobs', message: 'Billing failed' }],
    });
    // The window, last, is a second long here (INTERVAL): written to the second.
    expect((await mailOf('fatals@example.com', 'summary')).subject).toMatch(
      /^fatals\u00a0: 4 nouvelles alertes d’erreur, dont 3 Fatal \(\d\d:\d\d:\d\d–\d\d:\d\d:\d\d\)$/,
    );
  });

  it('gives a dedup key’s Fatal alert of another event its own summary line, counted as the only Fatal, even for a reader who left the first event out', async () => {
    // One key per robot: R7 stops responding (Error), then goes offline (Fatal), in one window.
    await tenant('keyed', {}, { email: 'all@keyed.example.com', language: 'en' });
    const picky = (await ok('POST', '/keyed/users', { name: 'Picky', email: 'picky@keyed.example.com', roles: ['Alerts Viewer'], language: 'en' })).id;
    await ok('PUT', `/keyed/users/${picky}/alert-preferences`, { subscriptions: { 'Robot.StatusChanged.NotResponding': false } });
    const r7 = { component: 'Robots', source: { robot: 'R7' }, dedupKey: 'robot-R7' };
    const payroll = { component: 'Process', event: 'Process.RaiseAlert', source: { process: 'Payroll' }, dedupKey: 'payroll' };
    await ok('POST', '/keyed/alerts', {
      alerts: [
        { ...r7, severity: 'Error', event: 'Robot.StatusChanged.NotResponding', message: 'R7 is not responding' },
        { ...r7, severity: 'Fatal', event: 'Robot.StatusChanged.Offline', message: 'R7 is offline' },
        { ...payroll, severity: 'Error', message: 'Payroll failed once' },
        { ...payroll, severity: 'Fatal', message: 'Payroll cannot start' },
      ],
    });
    const all = await mailOf('all@keyed.example.com', 'summary');
    expect(all.subject).toMatch(/^keyed: 4 new error alerts, 2 of them Fatal \(.+\)$/);
    expect(all.text).toContain('[Fatal] Robot offline\n  R7 is offline\n');
    expect(all.text).toContain('[Error] Robot not responding\n  R7 is not responding\n');
    const mine = await mailOf('picky@keyed.example.com', 'summary');
    expect(mine.subject).toMatch(/^keyed: 3 new error alerts, 2 of them Fatal \(.+\)$/);
    expect(mine.text).toContain('[Fatal] Robot offline\n  R7 is offline\n');
    expect(mine.text).not.toContain('R7 is not responding');
  });

  it('gives a summary a Message-ID and thread under the From address’s domain, the one the delivery log shows', async () => {
    await tenant('mids', {}, { email: 'mids@example.com' });
    await ok('POST', '/mids/alerts', { severity: 'Error', component: 'Jobs', message: 'Billing failed' });
    const mail = await mailOf('mids@example.com', 'summary');
    expect(mail.messageId).toMatch(/^<[^@<>]+@example\.com>$/);
    expect(mail.inReplyTo).toMatch(/^<alerts-\d{4}-\d{2}-\d{2}\.mids@example\.com>$/);
    expect(mail.references).toBe(mail.inReplyTo);
    await expect
      .poll(async () => (await ok('GET', '/mids/deliveries?kind=summary')).items.map((d: { messageId: string }) => d.messageId))
      .toEqual([mail.messageId]);
    const test = await ok('POST', '/mids/settings/mail/test', { sendTo: 'mids@example.com' });
    expect(test).toMatchObject({ ok: true, messageId: expect.stringMatching(/@example\.com>$/) });
    expect((await mailOf('mids@example.com', 'test')).messageId).toBe(test.messageId);
    expect((await ok('GET', '/mids/deliveries?kind=test')).items[0].messageId).toBe(test.messageId);
  });

  it('dates a summary line whose alert occurred on another day than the window, and writes the window’s own to the second', async () => {
    await tenant('late', { timeZone: 'Europe/Paris' }, { email: 'late@example.com', language: 'en' });
    // An alert imported late (a pull source's first import goes back 24 hours), beside a fresh one.
    const occurredAt = Date.parse('2026-03-02T05:04:07Z');
    await ok('POST', '/late/alerts', {
      alerts: [
        {
          severity: 'Error',
          component: 'Jobs',
          message: 'imported from yesterday',
          occurredAt: new Date(occurredAt).toISOString(),
          source: { process: 'Old' },
        },
        { severity: 'Error', component: 'Queues', message: 'failing now', source: { queue: 'Now' } },
      ],
    });
    const fresh = (await ok('GET', '/late/alerts?component=Queues')).items[0].occurredAt as string;
    const text = (await mailOf('late@example.com', 'summary')).text!;
    const fmt = localeFormat('en', 'Europe/Paris');
    const lineOf = (message: string) => text.split('\n').slice(text.split('\n').indexOf(`  ${message}`) + 1)[0];
    expect(lineOf('imported from yesterday')).toMatch(new RegExp(`^  ${fmt.dateTime(occurredAt)} · `));
    expect(text).toContain(`· ${fmt.dateTime(occurredAt)}\n`); // its source group's heading too
    expect(lineOf('failing now')).toMatch(new RegExp(`^  ${fmt.time(Date.parse(fresh))} · `));
  });

  it('keeps a summary of many long, differently sourced lines under Gmail’s clipping, counting the lines it leaves out', async () => {
    // An administrator: each line carries its three action links.
    await tenant('flood', { timeZone: 'UTC' }, { email: 'admin@flood.example.com', language: 'en', roles: ['Administrator'] });
    const message = (i: number) => `Job ${i} failed: System.IO.IOException at Write Range, C:\\Robots\\Invoices\\batch-${i}.xlsx is locked. ${'x'.repeat(200)}`;
    await ok('POST', '/flood/alerts', {
      alerts: Array.from({ length: 120 }, (_, i) => ({
        severity: 'Error',
        component: 'Jobs',
        message: message(i),
        source: {
          process: `Invoice-Processing-${i}`,
          robot: `ROBOT-PROD-${i}`,
          machine: 'VM-PROD-01',
          job: `9f2c4a1e-1b2c-4d5e-8f90-${String(i).padStart(12, '0')}`,
        },
        folder: 'Finance/Invoices',
      })),
    });
    const mail = await mailOf('admin@flood.example.com', 'summary');
    expect(Buffer.byteLength(mail.html as string)).toBeLessThanOrEqual(102 * 1024);
    const shown = (mail.text!.match(/^\[Error\] /gm) ?? []).length;
    expect(shown).toBeGreaterThan(10);
    expect(mail.text).toContain(`${120 - shown} more alerts are not shown here.`);
    // What clipping would hide is there: the link to the window's alerts and the one-click unsubscribe.
    expect(mail.html).toContain('See more');
    const unsubscribe = /^Unsubscribe from error summaries: (https:\S+)$/m.exec(mail.text!)![1]!;
    expect(mail.html).toContain(unsubscribe);
  });

  it('keeps a daily report of hundreds of events under Gmail’s clipping, still counting every alert', async () => {
    await tenant('rules', { timeZone: 'UTC' }, { email: 'admin@rules.example.com', language: 'en', roles: ['Administrator'] });
    // A tenant whose sources name an event per rule, as an Alertmanager with many rules does.
    await ok('POST', '/rules/alerts', {
      alerts: Array.from({ length: 300 }, (_, i) => ({ severity: 'Warn', component: 'Process', event: `Billing.Rule${i}.Breached`, message: `rule ${i}` })),
    });
    await reportSoon('rules');
    const mail = await mailOf('admin@rules.example.com', 'daily');
    expect(Buffer.byteLength(mail.html as string)).toBeLessThanOrEqual(102 * 1024);
    expect(mail.subject).toContain('300 alerts');
    const listed = (mail.text!.match(/^ +1 {2}\[Warning\] /gm) ?? []).length;
    expect(listed).toBeGreaterThan(10);
    expect(mail.text).toContain(`… and ${300 - listed} more events, counted in the total`);
    expect(mail.text).toMatch(/^ +300 {2}Total$/m);
    const unsubscribe = /^Unsubscribe from daily reports: (https:\S+)$/m.exec(mail.text!)![1]!;
    expect(mail.html).toContain(unsubscribe);
  });

  it('says under a source still failing in the daily report who is on it, in the words and look of a summary line, text and HTML', async () => {
    await tenant('oncall', { timeZone: 'UTC' }, { email: 'oncall@example.com', language: 'en' });
    const { ids } = await ok('POST', '/oncall/alerts', {
      alerts: [
        { severity: 'Error', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'R7 offline', source: { robot: 'R7' } },
        { severity: 'Error', component: 'Jobs', message: 'Billing failed', source: { process: 'Billing' } },
      ],
    });
    const acked = await ok('POST', `/oncall/alerts/${ids[0]}/acknowledge`);
    const said = `Acknowledged by ${acked.acknowledgedBy.name} on ${localeFormat('en', 'UTC').dateTime(Date.parse(acked.acknowledgedAt))}`;
    await reportSoon('oncall');
    const mail = await mailOf('oncall@example.com', 'daily');
    const lines = mail.text!.split('\n');
    const r7 = lines.findIndex((line) => line.startsWith('    Robot: R7 · '));
    const billing = lines.findIndex((line) => line.startsWith('    Process: Billing · '));
    expect(lines.indexOf('  Still failing')).toBeGreaterThan(-1);
    expect(lines.indexOf('  Still failing')).toBeLessThan(Math.min(r7, billing));
    expect(lines[r7 + 1]).toBe(`      ${said}`);
    // The source nobody is on says nothing of it.
    expect(lines[billing + 1]).toMatch(/^ {6}Show these alerts: https:/);
    expect(mail.text!.split(said)).toHaveLength(2);
    // As under a summary's line: a green tick and the same words.
    expect(mail.html).toMatch(
      new RegExp(`<div class="tocsin-break" style="[^"]*color:#15803d;[^"]*">&#10003; ${said.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}</div>`),
    );
  });

  it('names a custom Fatal alert by its message in the subject of its immediate email, where its event says only "Custom alert"', async () => {
    const reader = await tenant('robots', { displayName: 'Robots Inc', timeZone: 'UTC' }, { email: 'oncall@robots.example.com', language: 'en' });
    await ok('PUT', `/robots/users/${reader}/alert-preferences`, { email: { fatalImmediately: true } });
    // What the Raise Alert activity sends: no event, so Process.RaiseAlert.
    await ok('POST', '/robots/alerts', {
      severity: 'Fatal',
      component: 'Process',
      message: 'Invoice bot crashed:\n  SAP login refused',
      source: { process: 'InvoiceBot' },
    });
    await ok('POST', '/robots/alerts', { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'R9 offline' });
    // A message of blanks names nothing: the subject says what its event says, not "Fatal alert," and nothing.
    await ok('POST', '/robots/alerts', { severity: 'Fatal', component: 'Process', message: ' \n\t ' });
    const subjects = (await mailsOf('oncall@robots.example.com', 'immediate', 3)).map((mail) => mail.subject);
    expect(subjects.sort()).toEqual([
      'Robots Inc: Fatal alert, Custom alert',
      'Robots Inc: Fatal alert, Invoice bot crashed: SAP login refused (Process: InvoiceBot)',
      'Robots Inc: Fatal alert, Robot offline',
    ]);
  });

  it('names the robot (and process or queue) of a Fatal alert in its subject, so that two robots going down read apart in the inbox', async () => {
    const reader = await tenant('fleet', { displayName: 'Fleet', timeZone: 'UTC' }, { email: 'oncall@fleet.example.com', language: 'fr' });
    await ok('PUT', `/fleet/users/${reader}/alert-preferences`, { email: { fatalImmediately: true } });
    const offline = { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'offline' };
    await ok('POST', '/fleet/alerts', { ...offline, source: { robot: 'R7' } });
    await ok('POST', '/fleet/alerts', { ...offline, source: { robot: 'R8', machine: 'VM-8' } });
    await ok('POST', '/fleet/alerts', {
      severity: 'Fatal',
      component: 'Jobs',
      event: 'Process.JobExecution.Faulted',
      message: 'x',
      source: { process: 'Payroll', robot: 'R9' },
    });
    const subjects = (await mailsOf('oncall@fleet.example.com', 'immediate', 3)).map((mail) => mail.subject);
    expect(subjects.sort()).toEqual([
      'Fleet\u00a0: alerte Fatal, Robot hors ligne (Robot\u00a0: R7)',
      'Fleet\u00a0: alerte Fatal, Robot hors ligne (Robot\u00a0: R8)',
      'Fleet\u00a0: alerte Fatal, Échec de l’exécution de la tâche (Robot\u00a0: R9, Processus\u00a0: Payroll)',
    ]);
  });
});

describeEachDialect('a report whose alerts are gone by the time it is sent', (dialect) => {
  const START = Date.parse('2026-06-01T09:00:00Z');
  const INTERVAL = 600_000;
  const PUBLIC = 'https://tocsin.example.com';
  let t: TestApp;
  let smtp: TestSmtpServer;
  let clock: FakeClock;

  beforeAll(async () => {
    clock = new FakeClock(START);
    smtp = await startTestSmtpServer();
    // The API alone: this test decides and sends when it chooses, as after a mail server outage.
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  /** expectSummariesOnlyTo checks that the summaries of a tenant went to `kept` alone, those to `refused` failing with `reason` in the delivery log. */
  /** tenantOfReaders makes a UTC tenant with alert emails on, and gives the way to add a reader (Alerts Viewer) by address. */
  async function tenantOfReaders(name: string): Promise<(email: string) => Promise<string>> {
    const base = `/api/v1/tenants/${name}`;
    await t.call('POST', '/api/v1/tenants', { name, timeZone: 'UTC' });
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    return async (email) => (await t.call('POST', `${base}/users`, { email, name: email, roles: ['Alerts Viewer'] })).json().id as string;
  }

  /**
   * summariesSent is the summaries the server got from the tenant at `base`: the clock these tests share passes
   * window ends and the daily report's time in whichever test runs then (all of them, or a few chosen with -t), and
   * the emails then decided for other tests' tenants, or their dailies, are no business of the test running.
   */
  const summariesSent = (base: string) => {
    const tenant = new RegExp(`^X-Tocsin-Tenant: ${base.slice(base.lastIndexOf('/') + 1)}\\r?$`, 'im');
    return smtp.messages.filter((m) => /^X-Tocsin-Kind: summary\r?$/im.test(m.raw) && tenant.test(m.raw));
  };
  /**
   * pastWindowEnd is a second past the end of the window holding the clock's now, where the alerts just raised
   * are: each test reaches its own window's end whatever the tests before it left the clock at (on a window's
   * first instant too, where rounding up stayed in that window: a test run alone decided an empty one).
   */
  const pastWindowEnd = () => (Math.floor(clock.now() / INTERVAL) + 1) * INTERVAL + 1_000;

  /** addressesOf writes a parsed To header as its display names and addresses. */
  const addressesOf = (to: ParsedMail['to']) =>
    (Array.isArray(to) ? to : to ? [to] : [])
      .flatMap((a) => a.value)
      .map((v) => `${v.name} <${v.address}>`)
      .join(', ');

  async function expectSummariesOnlyTo(base: string, kept: string, refused: readonly string[], reason: string) {
    expect(summariesSent(base).filter((m) => refused.includes(m.envelope.to[0]!))).toEqual([]);
    expect(summariesSent(base).filter((m) => m.envelope.to[0] === kept)).toHaveLength(1);
    const log = (await t.call('GET', `${base}/deliveries?kind=summary`)).json().items as { recipient: string; status: string; lastError: string }[];
    expect(log.filter((d) => refused.includes(d.recipient))).toEqual(
      refused.map(() => expect.objectContaining({ status: 'failed', lastError: `render: ${reason}` })),
    );
  }

  it('is not sent as "0 new error alerts" to a reader who unsubscribed from them meanwhile, and says why in the delivery log', async () => {
    const base = '/api/v1/tenants/later';
    const user = await tenantOfReaders('later');
    const gone = await user('gone@example.com');
    await user('kept@example.com');
    clock.advance(60_000);
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: 'Billing failed' })).statusCode).toBe(202);

    // The window ends and is decided: both readers are due a summary.
    clock.set(START + INTERVAL + 1_000);
    await decideReports(t.tocsin, clock, INTERVAL);
    // Before it goes out, one of them drops Jobs.
    expect((await t.call('PUT', `${base}/users/${gone}/alert-preferences`, { subscriptions: { Jobs: false } })).statusCode).toBe(200);

    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
    expect(summariesSent(base).map((m) => m.envelope.to[0])).toEqual(['kept@example.com']);
    expect((await simpleParser(summariesSent(base)[0]!.raw)).subject).toBe('later: 1 new error alert (09:00–09:10)');
    const log = (await t.call('GET', `${base}/deliveries?kind=summary`)).json().items as { recipient: string; status: string; lastError: string }[];
    expect(log.find((d) => d.recipient === 'gone@example.com')).toMatchObject({ status: 'failed', lastError: `render: ${NOTHING_LEFT}` });
  });

  it('is not sent as an "all quiet" daily report, which the tenant did not ask for, to a reader who unsubscribed from them meanwhile', async () => {
    const base = '/api/v1/tenants/overnight';
    await t.call('POST', '/api/v1/tenants', { name: 'overnight', timeZone: 'UTC' });
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    const reader = (await t.call('POST', `${base}/users`, { email: 'night@example.com', name: 'Night', roles: ['Alerts Viewer'] })).json().id;
    clock.advance(60_000);
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Warn', component: 'Queues', message: 'Claims slow' })).statusCode).toBe(202);

    // 10:00 in the tenant's zone: the daily report is decided, then the reader drops Queues before it goes out.
    clock.set(Date.parse('2026-06-01T10:00:02Z'));
    await decideReports(t.tocsin, clock, INTERVAL);
    expect((await t.call('PUT', `${base}/users/${reader}/alert-preferences`, { subscriptions: { Queues: false } })).statusCode).toBe(200);

    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
    expect(smtp.messages.filter((m) => m.envelope.to[0] === 'night@example.com')).toEqual([]);
    const log = (await t.call('GET', `${base}/deliveries?kind=daily`)).json().items;
    expect(log).toMatchObject([{ recipient: 'night@example.com', status: 'failed', lastError: `render: ${NOTHING_LEFT}` }]);
  });

  it('is not sent late, after its server failed, to a reader who turned Fatal emails off meanwhile', async () => {
    const base = '/api/v1/tenants/retried';
    await t.call('POST', '/api/v1/tenants', { name: 'retried', timeZone: 'UTC' });
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    const reader = (await t.call('POST', `${base}/users`, { email: 'pager@example.com', name: 'Pager', roles: ['Alerts Viewer'] })).json().id;
    await t.call('PUT', `${base}/users/${reader}/alert-preferences`, { email: { fatalImmediately: true } });
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Fatal', component: 'Robots', message: 'R1 offline' })).statusCode).toBe(202);
    await t.tocsin.decisionsSettled();

    // The server refuses the first attempt for now (451); the email waits for its retry.
    const failing = await startTestSmtpServer({ failures: [{ at: 'rcpt', code: 451, times: 1 }] });
    try {
      await sendQueuedReports(t.tocsin, clock, failing, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
      expect((await t.call('GET', `${base}/deliveries?kind=immediate`)).json().items).toMatchObject([{ status: 'retrying', attempts: 1 }]);
      // Meanwhile the reader, who is dealing with it, turns Fatal emails off; an hour later the server is back.
      await t.call('PUT', `${base}/users/${reader}/alert-preferences`, { email: { fatalImmediately: false } });
      clock.advance(3_600_000);
      await sendQueuedReports(t.tocsin, clock, failing, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
      expect(failing.messages).toEqual([]);
      expect((await t.call('GET', `${base}/deliveries?kind=immediate`)).json().items).toMatchObject([
        { status: 'failed', attempts: 2, lastError: `render: ${TURNED_OFF}` },
      ]);
    } finally {
      await failing.close();
    }
  });

  it('is not sent to a reader deactivated, deleted or left without Alerts.View after it was decided', async () => {
    const base = '/api/v1/tenants/leavers';
    const user = await tenantOfReaders('leavers');
    const [deactivated, deleted, demoted] = [await user('left@example.com'), await user('deleted@example.com'), await user('demoted@example.com')];
    await user('stays@example.com');
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: 'Ledger failed' })).statusCode).toBe(202);
    clock.set(pastWindowEnd());
    await decideReports(t.tocsin, clock, INTERVAL);
    // Before the summaries go out (their server was down, say), three readers leave the team.
    expect((await t.call('PATCH', `${base}/users/${deactivated}`, { active: false })).statusCode).toBe(200);
    expect((await t.call('DELETE', `${base}/users/${deleted}`)).statusCode).toBe(204);
    expect((await t.call('PATCH', `${base}/users/${demoted}`, { roles: null })).statusCode).toBe(200);
    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
    const leavers = ['left@example.com', 'deleted@example.com', 'demoted@example.com'];
    await expectSummariesOnlyTo(base, 'stays@example.com', leavers, NOT_A_READER);
  });

  it('is not sent to a reader deactivated after it was decided whose Alerts.View comes from a group', async () => {
    const base = '/api/v1/tenants/grouped-leavers';
    await tenantOfReaders('grouped-leavers');
    const member = async (email: string) => (await t.call('POST', `${base}/users`, { email, name: email, roles: [] })).json().id as string;
    const [leaver, stayer] = [await member('grouped-left@example.com'), await member('grouped-stays@example.com')];
    const group = await t.call('POST', `${base}/groups`, { name: 'Readers', roles: ['Alerts Viewer'], members: [leaver, stayer] });
    expect(group.statusCode).toBe(201);
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: 'Ledger failed' })).statusCode).toBe(202);
    clock.set(pastWindowEnd());
    await decideReports(t.tocsin, clock, INTERVAL);
    // Deactivated before its summary goes out: still a member of the group, but no reader any more.
    expect((await t.call('PATCH', `${base}/users/${leaver}`, { active: false })).statusCode).toBe(200);
    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
    await expectSummariesOnlyTo(base, 'grouped-stays@example.com', ['grouped-left@example.com'], NOT_A_READER);
  });

  it('goes to the new address of a reader whose email was changed after it was decided, written and linked for it, never to the former', async () => {
    const base = '/api/v1/tenants/movers';
    const user = await tenantOfReaders('movers');
    const mover = await user('old-box@example.com');
    await user('steady@example.com');
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: 'Ledger failed' })).statusCode).toBe(202);
    clock.set(pastWindowEnd());
    await decideReports(t.tocsin, clock, INTERVAL);
    // Before the summaries go out (their server was down, say), the reader's address is corrected: the old mailbox is
    // someone else's now, and the reader still counts on this window's summary.
    expect((await t.call('PATCH', `${base}/users/${mover}`, { email: 'new-box@example.com' })).statusCode).toBe(200);
    const before = summariesSent(base).length;
    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC, withActions: true });
    const sent = summariesSent(base).slice(before);
    expect(sent.map((m) => m.envelope.to[0]).sort()).toEqual(['new-box@example.com', 'steady@example.com']);
    const mail = await simpleParser(sent.find((m) => m.envelope.to[0] === 'new-box@example.com')!.raw);
    expect(mail.to).toMatchObject({ value: [{ address: 'new-box@example.com' }] });
    // The delivery log says where it went.
    const log = (await t.call('GET', `${base}/deliveries?kind=summary`)).json().items as { recipient: string; status: string }[];
    expect(log.map((d) => `${d.recipient} ${d.status}`).sort()).toEqual(['new-box@example.com sent', 'steady@example.com sent']);
    // Its links are the new mailbox's: the one-click unsubscribe and "I'm on it" open.
    const unsubscribe = new URL(/^List-Unsubscribe:\s*<([^>]+)>/im.exec(sent.find((m) => m.envelope.to[0] === 'new-box@example.com')!.raw)![1]!).pathname;
    expect((await t.tocsin.app.inject({ method: 'GET', url: unsubscribe })).statusCode).toBe(200);
    const acknowledge = new URL(/I'm on it: (https:\S+)/.exec(mail.text!)![1]!).pathname;
    expect((await t.tocsin.app.inject({ method: 'GET', url: acknowledge })).statusCode).toBe(200);
  });

  it('sends a Fatal email that waited on a failing server to the reader’s new address, once, its flood repeating since', async () => {
    const base = '/api/v1/tenants/paged';
    const user = await tenantOfReaders('paged');
    const pager = await user('pager-old@example.com');
    await t.call('PUT', `${base}/users/${pager}/alert-preferences`, { email: { fatalImmediately: true } });
    const r1 = { severity: 'Fatal', component: 'Robots', message: 'R1 offline', dedupKey: 'r1' };
    expect((await t.call('POST', `${base}/alerts`, r1)).statusCode).toBe(202);
    await t.tocsin.decisionsSettled();
    // The server refuses the first attempt for now (451); the email waits for its retry.
    const failing = await startTestSmtpServer({ failures: [{ at: 'rcpt', code: 451, times: 1 }] });
    try {
      await sendQueuedReports(t.tocsin, clock, failing, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
      expect((await t.call('GET', `${base}/deliveries?kind=immediate`)).json().items).toMatchObject([{ status: 'retrying', attempts: 1 }]);
      // Meanwhile the reader's address is corrected; at the retry, the server is back.
      expect((await t.call('PATCH', `${base}/users/${pager}`, { email: 'pager-new@example.com' })).statusCode).toBe(200);
      clock.advance(60_000);
      await sendQueuedReports(t.tocsin, clock, failing, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
      expect(failing.messages.map((m) => m.envelope.to[0])).toEqual(['pager-new@example.com']);
      expect((await simpleParser(failing.messages[0]!.raw)).to).toMatchObject({ value: [{ address: 'pager-new@example.com' }] });
      expect((await t.call('GET', `${base}/deliveries?kind=immediate`)).json().items).toMatchObject([
        { recipient: 'pager-new@example.com', status: 'sent', attempts: 2 },
      ]);
      // The flood repeats, within its window: it is the same flood's email, which the new address has had.
      expect((await t.call('POST', `${base}/alerts`, r1)).statusCode).toBe(202);
      await t.tocsin.decisionsSettled();
      await sendQueuedReports(t.tocsin, clock, failing, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
      expect(failing.messages).toHaveLength(1);
      expect((await t.call('GET', `${base}/deliveries?kind=immediate`)).json().items).toHaveLength(1);
    } finally {
      await failing.close();
    }
  });

  it('sends a Fatal email decided before its reader’s address changed to the new address once, whether or not its flood was decided again for it', async () => {
    const base = '/api/v1/tenants/repaged';
    const user = await tenantOfReaders('repaged');
    const pager = await user('repager-old@example.com');
    await t.call('PUT', `${base}/users/${pager}/alert-preferences`, { email: { fatalImmediately: true } });
    const [r1, r2] = ['r1', 'r2'].map((robot) => ({ severity: 'Fatal', component: 'Robots', message: `${robot} offline`, dedupKey: robot }));
    expect((await t.call('POST', `${base}/alerts`, { alerts: [r1, r2] })).statusCode).toBe(202);
    await t.tocsin.decisionsSettled();
    // Both emails wait (no worker here, as while the server is paused); the address is corrected, then R1's flood repeats,
    // deciding its email again for the new address.
    expect((await t.call('PATCH', `${base}/users/${pager}`, { email: 'repager-new@example.com' })).statusCode).toBe(200);
    expect((await t.call('POST', `${base}/alerts`, r1)).statusCode).toBe(202);
    await t.tocsin.decisionsSettled();
    const before = smtp.messages.length;
    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
    const sent = await Promise.all(smtp.messages.slice(before).map(async (m) => `${m.envelope.to[0]} ${(await simpleParser(m.raw)).subject}`));
    expect(sent.sort()).toEqual(['repager-new@example.com repaged: Fatal alert, r1 offline', 'repager-new@example.com repaged: Fatal alert, r2 offline']);
    const log = (await t.call('GET', `${base}/deliveries?kind=immediate`)).json().items as { recipient: string; status: string }[];
    expect(log.filter((d) => d.status === 'sent').map((d) => d.recipient)).toEqual(['repager-new@example.com', 'repager-new@example.com']);
  });

  it('is sent to a reader and a group mailbox whose address was spelt again for the same mailbox after it was decided, its unsubscribe link working', async () => {
    const base = '/api/v1/tenants/respelt';
    const user = await tenantOfReaders('respelt');
    // Tocsin takes ann@xn--bcher-kva.example and Ann@Bücher.example for one mailbox (emailKey: no second user may have
    // it, and a group and a user sharing it get one email), but an address typed again in the other spelling (the
    // domain in Unicode where punycode was, as a directory export writes it) lost the summary already decided for it,
    // 'no longer gets alert emails at this address', and the unsubscribe link sent to it answered 404.
    const ann = await user('ann@xn--bcher-kva.example');
    const desk = (await t.call('POST', `${base}/groups`, { name: 'Desk', email: 'desk@xn--bcher-kva.example', roles: ['Alerts Viewer'] })).json().id;
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: 'Ledger failed' })).statusCode).toBe(202);
    clock.set(pastWindowEnd());
    await decideReports(t.tocsin, clock, INTERVAL);
    expect((await t.call('PATCH', `${base}/users/${ann}`, { email: 'Ann@Bücher.example' })).statusCode).toBe(200);
    expect((await t.call('PATCH', `${base}/groups/${desk}`, { email: 'Desk@bücher.example' })).statusCode).toBe(200);
    const before = summariesSent(base).length;
    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
    const log = (await t.call('GET', `${base}/deliveries?kind=summary`)).json().items as { recipient: string; status: string; lastError: string | null }[];
    expect(log.map((d) => `${d.recipient} ${d.status} ${d.lastError}`).sort()).toEqual([
      'ann@xn--bcher-kva.example sent null',
      'desk@xn--bcher-kva.example sent null',
    ]);
    // Written to the mailbox in Unicode, as the SMTP client writes an international domain.
    const toAnn = summariesSent(base)
      .slice(before)
      .find((m) => m.envelope.to[0] === 'ann@bücher.example')!.raw;
    const unsubscribe = new URL(/^List-Unsubscribe:\s*<([^>]+)>/im.exec(toAnn)![1]!).pathname;
    const page = await t.tocsin.app.inject({ method: 'GET', url: unsubscribe });
    expect(page.statusCode, page.body).toBe(200);
  });

  /**
   * summariesAfter raises an Error alert in a tenant, decides its window's summaries, makes `changes` while they wait
   * (their server down, say), then sends them: it returns the messages the server got, and the delivery log's rows.
   */
  async function summariesAfter(base: string, changes: () => Promise<void>) {
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Queues', message: 'Claims stuck' })).statusCode).toBe(202);
    clock.set(pastWindowEnd());
    await decideReports(t.tocsin, clock, INTERVAL);
    await changes();
    const before = summariesSent(base).length;
    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
    const log = (await t.call('GET', `${base}/deliveries?kind=summary`)).json().items as { recipient: string; status: string; lastError: string | null }[];
    return { sent: summariesSent(base).slice(before), log: log.map((d) => `${d.recipient} ${d.status} ${d.lastError}`).sort() };
  }
  const changed = async (method: 'PATCH' | 'DELETE', url: string, body?: object) =>
    expect((await t.call(method, url, body)).statusCode).toBe(method === 'PATCH' ? 200 : 204);

  it('is not sent to a group address deleted or expanded to its members after it was decided, its members getting theirs', async () => {
    const base = '/api/v1/tenants/desks';
    const user = await tenantOfReaders('desks');
    const group = async (email: string, extra: object = {}) =>
      (await t.call('POST', `${base}/groups`, { name: email, email, roles: ['Alerts Viewer'], ...extra })).json().id as string;
    const member = await user('member@example.com');
    const [deleted, expanded] = [await group('gone-desk@example.com'), await group('all-of-us@example.com', { members: [member] })];
    const kept = await group('desk@example.com', { members: [member] });
    const { log } = await summariesAfter(base, async () => {
      await changed('DELETE', `${base}/groups/${deleted}`);
      await changed('PATCH', `${base}/groups/${expanded}`, { expandMembers: true });
      // A group mailbox is the group's whoever its members are: one that lost its members meanwhile still gets it.
      await changed('PATCH', `${base}/groups/${kept}`, { members: [] });
    });
    // The members of a group expanded to them get theirs as readers of their own, decided with the group's.
    expect(log).toEqual([
      `all-of-us@example.com failed render: ${NOT_A_READER}`,
      'desk@example.com sent null',
      `gone-desk@example.com failed render: ${NOT_A_READER}`,
      'member@example.com sent null',
    ]);
  });

  it("goes to a group mailbox's new address when the group's address changed after it was decided, in the group's language, never to the former", async () => {
    // The team's shared mailbox moved (ops@ to oncall@) while the mail server was down: the team still counts on this
    // window's summary, and the former mailbox is no longer theirs. It was refused for good, 'no longer gets alert emails'.
    const base = '/api/v1/tenants/moved-desk';
    await tenantOfReaders('moved-desk');
    const desk = (await t.call('POST', `${base}/groups`, { name: 'Desk', email: 'old-desk@example.com', language: 'fr', roles: ['Alerts Viewer'] })).json().id;
    const { sent, log } = await summariesAfter(base, () => changed('PATCH', `${base}/groups/${desk}`, { email: 'new-desk@example.com' }));
    expect(sent.map((m) => m.envelope.to[0])).toEqual(['new-desk@example.com']);
    const mail = await simpleParser(sent[0]!.raw);
    expect(mail.to).toMatchObject({ value: [{ address: 'new-desk@example.com' }] });
    expect(mail.subject).toMatch(/^moved-desk\u00a0: 1 nouvelle alerte d’erreur/);
    expect(log).toEqual(['new-desk@example.com sent null']);
    // Its one-click link is the new mailbox's: taken, that mailbox shows unsubscribed.
    const unsubscribe = new URL(/^List-Unsubscribe:\s*<([^>]+)>/im.exec(sent[0]!.raw)![1]!).pathname;
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await t.tocsin.app.inject({ method: 'POST', url: unsubscribe, payload: 'List-Unsubscribe=One-Click', headers })).statusCode).toBe(200);
    expect((await t.call('GET', `${base}/groups/${desk}`)).json().unsubscribed).toEqual(['summary']);
  });

  it('is not sent to the new address of a group mailbox that turned these emails off there, the opt-out being the mailbox’s', async () => {
    // The group's mailbox moves to an address that takes its one-click unsubscribe from summaries while the summary
    // waits: the opt-out read was the former address's, and the mailbox got the summary it had turned off.
    const base = '/api/v1/tenants/quiet-desk';
    await tenantOfReaders('quiet-desk');
    const desk = (await t.call('POST', `${base}/groups`, { name: 'Desk', email: 'loud-desk@example.com', roles: ['Alerts Viewer'] })).json().id;
    const { sent, log } = await summariesAfter(base, async () => {
      await changed('PATCH', `${base}/groups/${desk}`, { email: 'quiet-desk@example.com' });
      await changed('PATCH', `${base}/groups/${desk}`, { unsubscribed: ['summary'] });
    });
    expect(sent).toEqual([]);
    expect(log).toEqual([`quiet-desk@example.com failed render: ${TURNED_OFF}`]);
  });

  it('gives a mailbox that a reader took from a group its reader’s email, once, and the group’s new mailbox the group’s', async () => {
    // While the summaries wait, the team mailbox moves (desk-a@ to desk-b@) and a person takes its former address:
    // both were lost, the group's refused at its former address and the person's kept from desk-a@ by the group's key.
    const base = '/api/v1/tenants/crossed';
    const user = await tenantOfReaders('crossed');
    const desk = (await t.call('POST', `${base}/groups`, { name: 'Desk', email: 'desk-a@example.com', roles: ['Alerts Viewer'] })).json().id;
    const ann = await user('ann@example.com');
    const { sent, log } = await summariesAfter(base, async () => {
      await changed('PATCH', `${base}/groups/${desk}`, { email: 'desk-b@example.com' });
      await changed('PATCH', `${base}/users/${ann}`, { email: 'desk-a@example.com' });
    });
    const groupsOwn = await Promise.all(sent.map(async (m) => `${m.envelope.to[0]} ${(await simpleParser(m.raw)).text?.includes('group Desk')}`));
    expect(groupsOwn.sort()).toEqual(['desk-a@example.com false', 'desk-b@example.com true']);
    expect(log).toEqual(['desk-a@example.com sent null', 'desk-b@example.com sent null']);
  });

  it('gives a group mailbox’s address that a reader took meanwhile the reader’s own email, once, as a decision then would', async () => {
    // A person takes the team mailbox's address while the summaries wait (the individual wins, as the decision has it:
    // their subscriptions and language); the mailbox got the group's, and the person's own was kept out by its key.
    const base = '/api/v1/tenants/taken-desk';
    const user = await tenantOfReaders('taken-desk');
    await t.call('POST', `${base}/groups`, { name: 'Desk', email: 'desk@example.com', language: 'fr', roles: ['Alerts Viewer'] });
    const bob = await user('bob@example.com');
    const { sent, log } = await summariesAfter(base, () => changed('PATCH', `${base}/users/${bob}`, { email: 'desk@example.com' }));
    expect(sent.map((m) => m.envelope.to[0])).toEqual(['desk@example.com']);
    expect((await simpleParser(sent[0]!.raw)).subject).toMatch(/^taken-desk: 1 new error alert/);
    expect(log).toEqual([`desk@example.com failed render: ${NOT_A_READER}`, 'desk@example.com sent null']);
  });

  it('gives each of two readers who passed an address on their own email at their new one, whichever is sent first', async () => {
    // Bea moves to a new address and Al takes Bea's former one (the addresses of a team reshuffled) while the
    // summaries wait: Al's, tried first, met the key of Bea's, still at that address, and was lost.
    const base = '/api/v1/tenants/reshuffled';
    const user = await tenantOfReaders('reshuffled');
    const al = await user('al@example.com');
    const bea = await user('bea@example.com');
    const { sent, log } = await summariesAfter(base, async () => {
      await changed('PATCH', `${base}/users/${bea}`, { email: 'bea-new@example.com' });
      await changed('PATCH', `${base}/users/${al}`, { email: 'bea@example.com' });
    });
    expect(sent.map((m) => m.envelope.to[0]).sort()).toEqual(['bea-new@example.com', 'bea@example.com']);
    expect(log).toEqual(['bea-new@example.com sent null', 'bea@example.com sent null']);
  });

  // Ann, Bob and Cy pass their addresses round while the summaries wait, one way or the other: each row moving in finds
  // the key held by a row whose reader left too (holderDelivers), which gives it up (releasedKey) and moves on in its
  // turn, or finds it free, its holder gone before it; a row that gave its key up moves on from it (holdsReleasedKey).
  it.each([
    ['ann', 'bob', 'cy'],
    ['ann', 'cy', 'bob'],
  ])('gives each of three readers who passed addresses round (%s takes %s’s) their own email at their new one', async (first, second, third) => {
    const tenant = `rotated-${second}`;
    const base = `/api/v1/tenants/${tenant}`;
    const user = await tenantOfReaders(tenant);
    const at = (name: string) => `${name}@${tenant}.example`;
    const id = { [first]: await user(at(first)), [second]: await user(at(second)), [third]: await user(at(third)) };
    const { sent, log } = await summariesAfter(base, async () => {
      await changed('PATCH', `${base}/users/${id[first]}`, { email: at('for-now') });
      await changed('PATCH', `${base}/users/${id[third]}`, { email: at(first) });
      await changed('PATCH', `${base}/users/${id[second]}`, { email: at(third) });
      await changed('PATCH', `${base}/users/${id[first]}`, { email: at(second) });
    });
    const toWhom = await Promise.all(
      sent
        .filter((m) => m.envelope.to[0]!.endsWith(`@${tenant}.example`))
        .map(async (m) => `${m.envelope.to[0]} ${addressesOf((await simpleParser(m.raw)).to)}`),
    );
    expect(toWhom.sort()).toEqual(
      [`${at(first)} ${at(third)} <${at(first)}>`, `${at(second)} ${at(first)} <${at(second)}>`, `${at(third)} ${at(second)} <${at(third)}>`].sort(),
    );
    expect(log).toEqual([`${at('ann')} sent null`, `${at('bob')} sent null`, `${at('cy')} sent null`]);
  });

  it('gives a reader who took an address while its former reader’s Fatal email waited there the email of that flood’s repeat', async () => {
    // Bea's Fatal email waits (the server down); Bea moves to a new address and Al, a new reader, takes her former one;
    // the flood repeats. Al's email met the key of Bea's row at the decision and was dropped, Bea's row then moving away.
    const base = '/api/v1/tenants/handed-over';
    const user = await tenantOfReaders('handed-over');
    const fatalOn = (id: string) => t.call('PUT', `${base}/users/${id}/alert-preferences`, { email: { fatalImmediately: true } });
    const bea = await user('bea@handed-over.example');
    await fatalOn(bea);
    const r1 = { severity: 'Fatal', component: 'Robots', message: 'R1 offline', dedupKey: 'r1' };
    expect((await t.call('POST', `${base}/alerts`, r1)).statusCode).toBe(202);
    await t.tocsin.decisionsSettled();
    await changed('PATCH', `${base}/users/${bea}`, { email: 'bea-new@handed-over.example' });
    const al = (await t.call('POST', `${base}/users`, { email: 'bea@handed-over.example', name: 'Al', roles: ['Alerts Viewer'] })).json().id as string;
    await fatalOn(al);
    expect((await t.call('POST', `${base}/alerts`, r1)).statusCode).toBe(202);
    await t.tocsin.decisionsSettled();
    const before = smtp.messages.length;
    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
    const toWhom = await Promise.all(smtp.messages.slice(before).map(async (m) => `${m.envelope.to[0]} ${addressesOf((await simpleParser(m.raw)).to)}`));
    expect(toWhom.sort()).toEqual([
      'bea-new@handed-over.example bea@handed-over.example <bea-new@handed-over.example>',
      'bea@handed-over.example Al <bea@handed-over.example>',
    ]);
    // Bea's first row, which the repeat's row at her new address made redundant, is the only one not sent.
    const log = (await t.call('GET', `${base}/deliveries?kind=immediate`)).json().items as { recipient: string; status: string; lastError: string | null }[];
    expect(log.map((d) => `${d.recipient} ${d.status} ${d.lastError}`).sort()).toEqual([
      'bea-new@handed-over.example sent null',
      `bea@handed-over.example failed render: ${NOT_A_READER}`,
      'bea@handed-over.example sent null',
    ]);
    // The flood repeating again queues nothing more.
    expect((await t.call('POST', `${base}/alerts`, r1)).statusCode).toBe(202);
    await t.tocsin.decisionsSettled();
    expect((await t.call('GET', `${base}/deliveries?kind=immediate`)).json().items).toHaveLength(3);
  });

  it('waits for the send of a former reader’s email still on its way to an address a reader took, rather than send that mailbox a second', async () => {
    // Another worker is sending Bea's summary to her former address (its message on its way) when Al, who took that
    // address, has his summary moved there: it took the key from Bea's row in flight, and the mailbox got both.
    const base = '/api/v1/tenants/in-flight';
    const user = await tenantOfReaders('in-flight');
    const [al, bea] = [await user('al@in-flight.example'), await user('bea@in-flight.example')];
    const db = t.tocsin.deps.storage.db;
    const beas = () => db.selectFrom('deliveries').select(['id', 'status']).where('recipient_user_id', '=', bea).executeTakeFirstOrThrow();
    const { sent, log } = await summariesAfter(base, async () => {
      await changed('PATCH', `${base}/users/${bea}`, { email: 'bea-new@in-flight.example' });
      await changed('PATCH', `${base}/users/${al}`, { email: 'bea@in-flight.example' });
      // Bea's row, claimed by another worker before her address changed, is being sent: its lease runs.
      await db
        .updateTable('deliveries')
        .set({
          status: 'sending',
          attempts: 1,
          lease_owner: 'another',
          lease_token: 'another',
          lease_expires_at: Date.now() + 600_000,
          next_attempt_at: clock.now() + 600_000,
        })
        .where('id', '=', (await beas()).id)
        .execute();
    });
    // (The tests before leave summaries of their own to send.)
    expect(sent.filter((m) => m.envelope.to[0]!.endsWith('@in-flight.example'))).toEqual([]);
    // Al's waits, untried, for that send to end.
    expect(log).toEqual(['al@in-flight.example pending null', 'bea@in-flight.example sending null']);
    // It ends: the message went to bea@ (the other worker records it), so Al's is not sent there again.
    await db
      .updateTable('deliveries')
      .set({ status: 'sent', lease_owner: null, lease_token: null, lease_expires_at: null })
      .where('id', '=', (await beas()).id)
      .execute();
    await db.updateTable('deliveries').set({ next_attempt_at: clock.now() }).where('recipient_user_id', '=', al).execute();
    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
    expect(summariesSent(base).filter((m) => m.envelope.to[0] === 'bea@in-flight.example')).toEqual([]);
    const after = (await t.call('GET', `${base}/deliveries?kind=summary`)).json().items as { recipient: string; status: string; lastError: string | null }[];
    expect(after.map((d) => `${d.recipient} ${d.status} ${d.lastError}`).sort()).toEqual([
      `al@in-flight.example failed render: ${NOT_A_READER}`,
      'bea@in-flight.example sent null',
    ]);
  });

  it("sends a group mailbox to the group's alert preferences, which decide what it gets, and a user to its own, naming the tenant by id to outlive a rename", async () => {
    const base = '/api/v1/tenants/prefdesk';
    const user = await tenantOfReaders('prefdesk');
    await user('own@example.com');
    const desk = (await t.call('POST', `${base}/groups`, { name: 'Desk', email: 'pref-desk@example.com', roles: ['Alerts Viewer'] })).json().id as string;
    const tenant = (await t.call('GET', base)).json().id as string;
    clock.advance(60_000);
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: 'Payroll failed' })).statusCode).toBe(202);
    clock.set(pastWindowEnd());
    await decideReports(t.tocsin, clock, INTERVAL);
    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
    const mailTo = async (address: string) => simpleParser(summariesSent(base).find((m) => m.envelope.to[0] === address)!.raw);
    const group = await mailTo('pref-desk@example.com');
    expect(group.text).toContain(`Alert preferences: ${PUBLIC}/#/preferences/group/${desk}?tenant=${tenant}`);
    expect(group.html).toContain(`href="${PUBLIC}/#/preferences/group/${desk}?tenant&#x3D;${tenant}"`);
    expect((await mailTo('own@example.com')).text).toContain(`Alert preferences: ${PUBLIC}/#/preferences?tenant=${tenant}`);
    // Every link names the tenant by id: an email sent before the tenant is renamed still opens its page.
    expect(group.text).toContain(`See more: ${PUBLIC}/#/alerts?tenant=${tenant}&severity=Error`);
    expect(group.text).not.toContain('tenant=prefdesk');
    // A group subscribed to nothing itself: its footer says why its mailbox gets the email.
    expect(group.text).toContain('You receive this email because this address is the mailbox of the group Desk, which receives the alerts of prefdesk.');
    expect(group.text).not.toContain('you subscribed');
    expect((await mailTo('own@example.com')).text).toContain('You receive this email because you subscribed to the alerts of prefdesk.');
  });

  it('is not sent to a reader who turned summaries off after it was decided', async () => {
    const base = '/api/v1/tenants/offnow';
    await t.call('POST', '/api/v1/tenants', { name: 'offnow', timeZone: 'UTC' });
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    const reader = (await t.call('POST', `${base}/users`, { email: 'done@example.com', name: 'Done', roles: ['Alerts Viewer'] })).json().id;
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: 'Payroll failed' })).statusCode).toBe(202);
    clock.set(pastWindowEnd());
    await decideReports(t.tocsin, clock, INTERVAL);
    await t.call('PUT', `${base}/users/${reader}/alert-preferences`, { email: { tenMinuteSummary: false } });
    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
    expect(summariesSent(base).filter((m) => m.envelope.to[0] === 'done@example.com')).toEqual([]);
    expect((await t.call('GET', `${base}/deliveries?kind=summary`)).json().items).toMatchObject([{ status: 'failed', lastError: `render: ${TURNED_OFF}` }]);
  });

  it('is not sent to a group mailbox that took its one-click unsubscribe after it was decided', async () => {
    const base = '/api/v1/tenants/mailbox';
    const tenantId = (await t.call('POST', '/api/v1/tenants', { name: 'mailbox', timeZone: 'UTC' })).json().id as string;
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    const group = async (email: string) => (await t.call('POST', `${base}/groups`, { name: email, email, roles: ['Alerts Viewer'] })).json().id as string;
    const leaving = await group('noisy-desk@example.com');
    await group('front-desk@example.com');
    clock.advance(60_000);
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: 'Payroll failed' })).statusCode).toBe(202);
    clock.set(pastWindowEnd());
    await decideReports(t.tocsin, clock, INTERVAL);
    // Before the summary goes out (its server was down, say), the mailbox's owner unsubscribes it from an earlier one.
    const links = new UnsubscribeLinks(t.tocsin.deps.storage.db, PUBLIC, clock);
    const link = await links.url({ tenantId, kind: 'summary', recipient: { type: 'group', id: leaving, address: 'noisy-desk@example.com' } });
    expect((await t.call('POST', new URL(link).pathname)).statusCode).toBe(200);
    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
    await expectSummariesOnlyTo(base, 'front-desk@example.com', ['noisy-desk@example.com'], TURNED_OFF);
  });

  it('is sent to a reader at an address a group mailbox unsubscribed from: the opt-out was the group’s, the reader keeps its own choices', async () => {
    const base = '/api/v1/tenants/handover';
    const tenantId = (await t.call('POST', '/api/v1/tenants', { name: 'handover', timeZone: 'UTC' })).json().id as string;
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    const desk = (await t.call('POST', `${base}/groups`, { name: 'Desk', email: 'handed-desk@example.com', roles: ['Alerts Viewer'] })).json().id as string;
    const links = new UnsubscribeLinks(t.tocsin.deps.storage.db, PUBLIC, clock);
    const link = await links.url({ tenantId, kind: 'summary', recipient: { type: 'group', id: desk, address: 'handed-desk@example.com' } });
    expect((await t.call('POST', new URL(link).pathname)).statusCode).toBe(200);
    // The mailbox is handed to a reader of its own, who wants summaries (the default): the individual wins the address.
    await t.call('POST', `${base}/users`, { email: 'handed-desk@example.com', name: 'Dana', roles: ['Alerts Viewer'] });
    clock.advance(60_000);
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: 'Payroll failed' })).statusCode).toBe(202);
    clock.set(pastWindowEnd());
    await decideReports(t.tocsin, clock, INTERVAL);
    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
    expect(summariesSent(base).filter((m) => m.envelope.to[0] === 'handed-desk@example.com')).toHaveLength(1);
    expect((await t.call('GET', `${base}/deliveries?kind=summary`)).json().items).toMatchObject([{ recipient: 'handed-desk@example.com', status: 'sent' }]);
  });
});

describeEachDialect('a daily report across a daylight-saving change', (dialect) => {
  // Paris leaves summer time on Sunday 25 Oct 2026 at 03:00 (UTC+02:00 → UTC+01:00).
  const clock = new FakeClock(Date.parse('2026-10-24T12:00:00Z'));
  const app = useReportApp(dialect, clock);

  it('covers the 25 hours to 10:00 in Paris on the autumn change, each time labelled with its own offset', async () => {
    const base = '/api/v1/tenants/autumn';
    await app.t.call('POST', '/api/v1/tenants', { name: 'autumn', timeZone: 'Europe/Paris' });
    await app.t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    await app.t.call('POST', `${base}/users`, { email: 'paris@example.com', name: 'Paris', language: 'en', roles: ['Alerts Viewer'] });
    const warn = { severity: 'Warn', component: 'Queues', message: 'Queue slow' };
    expect((await app.t.call('POST', `${base}/alerts`, warn)).statusCode).toBe(202);
    // 02:30 in Paris, in the hour that comes twice (its second time, UTC+01:00).
    clock.set(Date.parse('2026-10-25T01:30:00Z'));
    expect((await app.t.call('POST', `${base}/alerts`, warn)).statusCode).toBe(202);

    clock.set(Date.parse('2026-10-25T09:00:01Z'));
    await decideReports(app.t.tocsin, clock, 600_000);
    await sendQueuedReports(app.t.tocsin, clock, app.smtp, { summaryIntervalMs: 600_000, publicUrl: 'https://tocsin.example.com' });
    const rows = await app.t.tocsin.deps.storage.db
      .selectFrom('deliveries')
      .select(['window_start', 'window_end', 'status'])
      .where('kind', '=', 'daily')
      .execute();
    expect(rows).toEqual([{ window_start: Date.parse('2026-10-24T08:00:00Z'), window_end: Date.parse('2026-10-25T09:00:00Z'), status: 'sent' }]);
    const mail = await simpleParser(app.smtp.messages.find((m) => /^X-Tocsin-Kind: daily/m.test(m.raw))!.raw);
    expect(mail.subject).toBe('autumn: daily alerts summary, 2 alerts (Oct 25, 2026)');
    expect(mail.text).toContain('2 alerts from Oct 24, 2026, 10:00 (UTC+02:00) to Oct 25, 2026, 10:00 (UTC+01:00).');
    expect(mail.text).toContain('Times are shown in Europe/Paris.');
  });
});
