/**
 * Summaries and daily reports grouped by what failed, end to end on both dialects: alerts raised
 * through the API on two days under a fake clock, the scheduler deciding, the composers rendering
 * at send time, a real SMTP server receiving, and mailparser reading both parts back.
 */
import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { decideReports, sendQueuedReports } from '../../test/support/report-runs.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { FakeClock } from '../shared/clock.js';

const DAY_BEFORE = Date.parse('2026-06-01T07:00:00Z'); // 09:00 in Paris, before the 10:00 report
const INTERVAL = 600_000;
const PUBLIC = 'https://tocsin.example.com';

describeEachDialect('emails grouped by what failed', (dialect) => {
  let t: TestApp;
  let clock: FakeClock;
  let smtp: TestSmtpServer;
  const mails = new Map<string, ParsedMail>();
  let quietDaily: ParsedMail | undefined;
  let lateDaily: ParsedMail | undefined;
  const batched = new Map<string, ParsedMail>();
  const base = '/api/v1/tenants/failing';

  const raise = async (alerts: object[]) => {
    clock.advance(60_000);
    expect((await t.call('POST', `${base}/alerts`, { alerts })).statusCode).toBe(202);
  };
  const robot = (robot: string, severity: string, message: string) => ({ severity, component: 'Robots', message, source: { robot } });
  const job = (process: string, severity: string, message: string) => ({ severity, component: 'Jobs', message, source: { process, robot: 'R-any' } });

  beforeAll(async () => {
    clock = new FakeClock(DAY_BEFORE);
    smtp = await startTestSmtpServer();
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'failing', timeZone: 'Europe/Paris' });
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    await t.call('POST', `${base}/users`, { email: 'ops@example.com', name: 'Ops', roles: ['Alerts Viewer'] });
    // A second reader who wants nothing of Queues: the reports of one period are worked out together.
    const quiet = (await t.call('POST', `${base}/users`, { email: 'quiet@example.com', name: 'Quiet', roles: ['Alerts Viewer'] })).json().id;
    await t.call('PUT', `${base}/users/${quiet}/alert-preferences`, { subscriptions: { Queues: false } });
    // The day before: R-old fails (and then says nothing), Billing fails.
    await raise([robot('R-old', 'Error', 'old robot down'), job('Billing', 'Error', 'billing failed yesterday')]);
    await raise([robot('R7', 'Info', 'R7 fine yesterday')]);
    // 10:00 in Paris: the day before's summary and daily report go out (a tenant's first daily report
    // begins at the report time before its creation: deciding only the next day would put the day
    // before in it, as after downtime).
    clock.set(Date.parse('2026-06-01T08:00:02Z'));
    await decideReports(t.tocsin, clock, INTERVAL);
    await t.tocsin.deps.storage.db.deleteFrom('deliveries').execute();
    // The report's day, from 11:00 in Paris.
    clock.set(Date.parse('2026-06-01T09:00:00Z'));
    await raise([job('Billing', 'Error', 'billing failed 1'), robot('R7', 'Error', 'R7 lost its machine')]);
    await raise([job('Billing', 'Fatal', 'billing failed 2'), robot('R7', 'Success', 'R7 back')]);
    await raise(Array.from({ length: 6 }, (_, i) => ({ severity: 'Warn', component: 'Queues', message: `slow ${i}`, source: { queue: 'Claims' } })));
    await raise([{ severity: 'Error', component: 'Queues', message: 'no source at all' }]);
    // Another tenant's robot whose failure of 05:00 arrives at 11:05 (a pull source catching up, a robot that reports late).
    await t.call('POST', '/api/v1/tenants', { name: 'late', timeZone: 'Europe/Paris' });
    await t.call('PUT', '/api/v1/tenants/late/settings/mail', { alertsEmailEnabled: true });
    await t.call('POST', '/api/v1/tenants/late/users', { email: 'late@example.com', name: 'Late', roles: ['Alerts Viewer'] });
    const late = { ...robot('R-late', 'Error', 'R-late down since dawn'), occurredAt: '2026-06-01T03:00:00Z' };
    expect((await t.call('POST', '/api/v1/tenants/late/alerts', { alerts: [late] })).statusCode).toBe(202);
    // A third tenant's robots fail and come back within one batch, in one millisecond: R8 fails then recovers, R9 the other way round.
    await t.call('POST', '/api/v1/tenants', { name: 'batched', timeZone: 'Europe/Paris' });
    await t.call('PUT', '/api/v1/tenants/batched/settings/mail', { alertsEmailEnabled: true });
    await t.call('POST', '/api/v1/tenants/batched/users', { email: 'batched@example.com', name: 'Batched', roles: ['Alerts Viewer'] });
    const batch = [robot('R8', 'Error', 'R8 down'), robot('R8', 'Success', 'R8 back'), robot('R9', 'Success', 'R9 fine'), robot('R9', 'Error', 'R9 down')];
    expect((await t.call('POST', '/api/v1/tenants/batched/alerts', { alerts: batch })).statusCode).toBe(202);
    await t.tocsin.decisionsSettled();
    // The next day at 10:00:02 in Paris: the daily report's window has ended, and so has a catch-up summary's.
    clock.set(Date.parse('2026-06-02T08:00:02Z'));
    await decideReports(t.tocsin, clock, INTERVAL);

    await t.tocsin.deps.storage.db.deleteFrom('deliveries').where('kind', '=', 'immediate').execute();
    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
    for (const message of smtp.messages) {
      const mail = await simpleParser(message.raw);
      if (message.envelope.to[0] === 'ops@example.com') mails.set(String(mail.headers.get('x-tocsin-kind')), mail);
      else if (message.envelope.to[0] === 'batched@example.com') batched.set(String(mail.headers.get('x-tocsin-kind')), mail);
      else if (message.envelope.to[0] === 'late@example.com') {
        if (mail.headers.get('x-tocsin-kind') === 'daily') lateDaily = mail;
      } else if (mail.headers.get('x-tocsin-kind') === 'daily') quietDaily = mail;
    }
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('groups the summary by process, robot or queue, each with whether it is still failing or recovered, its count, first and last time and a link to its alerts', () => {
    const summary = mails.get('summary')!;
    const text = summary.text!;
    const headings = text.split('\n').filter((line) => line.startsWith('== '));
    // The Fatal group first; one catch-up window since 10:00 the day before, when the day before's failures went out.
    // R7's Success after its Error is no line of the summary, but says that it recovered.
    expect(headings).toEqual([
      '== Process: Billing · Still failing · Alerts: 2 · Jun 1, 2026, 11:01 – Jun 1, 2026, 11:02',
      '== Robot: R7 · Recovered · Alerts: 1 · Jun 1, 2026, 11:01',
      '== Component: Queues · Alerts: 1 · Jun 1, 2026, 11:04',
    ]);
    expect(summary.html).toMatch(/<strong>Robot: R7<\/strong> &#183; <strong>Recovered<\/strong>/);
    expect(text).toMatch(/Show these alerts: https:\/\/tocsin\.example\.com\/#\/alerts\?tenant=(?!failing&)[\w-]+&severity=Error&process=Billing&since=/);
    const html = (summary.html as string).replaceAll('&#x3D;', '=');
    expect(html).toContain('Process: Billing');
    expect(html).toMatch(/href="https:\/\/tocsin\.example\.com\/#\/alerts\?tenant=(?!failing&)[\w-]+&amp;severity=Error&amp;process=Billing&amp;since=/);
  });

  it('follows a group link to exactly its alerts in the alert list', async () => {
    const link = /Show these alerts: (\S+robot=R7\S+)/.exec(mails.get('summary')!.text!)![1]!;
    const query = new URL(link).hash.split('?')[1]!;
    const params = new URLSearchParams(query);
    params.delete('tenant');
    const listed = (await t.call('GET', `${base}/alerts?${params}`)).json().items.map((a: { message: string }) => a.message);
    expect(listed).toEqual(['R7 lost its machine']);
  });

  it('tells a source that failed and recovered within one batch from one that recovered and failed again, by their order in it', () => {
    const summary = batched.get('summary')!.text!;
    expect(summary).toContain('== Robot: R8 · Recovered · Alerts: 1');
    expect(summary).toContain('== Robot: R9 · Still failing · Alerts: 1');
    const daily = batched.get('daily')!.text!;
    const section = (heading: string) => daily.slice(daily.indexOf(`  ${heading}\n`)).split('\n\n')[0]!;
    expect(section('Still failing')).toContain('Robot: R9');
    expect(section('Still failing')).not.toContain('Robot: R8');
    expect(section('Recovered')).toContain('Robot: R8');
  });

  it('gives the daily report a health section: components against the day before, still failing, recovered, noisiest', () => {
    const text = mails.get('daily')!.text!;
    const health = text.slice(text.indexOf('\nHealth\n'));
    // Queues: six Warn alerts of Claims and one Error of no source; Robots: R7's two (R-old and R7's Info the day before).
    expect(health).toMatch(/Alerts by component \(Alerts \/ Day before\)\n\s+7\s+0\s+Queues\n\s+2\s+2\s+Robots\n\s+2\s+1\s+Jobs\n/);
    const headings = ['Still failing', 'Recovered', 'Noisiest sources', 'View all alerts'];
    const list = (heading: string) => {
      const next = headings[headings.indexOf(heading) + 1]!;
      return health.slice(health.indexOf(`  ${heading}\n`), health.indexOf(next));
    };
    expect(list('Still failing')).toMatch(/Process: Billing · Alerts: 2 · last failure Jun 1, 2026, 11:02/);
    expect(list('Still failing')).not.toContain('R7');
    expect(list('Recovered')).toContain('Robot: R7');
    expect(list('Recovered')).toContain('Robot: R-old');
    expect(
      list('Noisiest sources')
        .split('\n')
        .filter((line) => /^ {4}\S/.test(line)),
    ).toEqual(['    Queue: Claims · Alerts: 6', '    Process: Billing · Alerts: 2', '    Robot: R7 · Alerts: 2']);
    const html = (mails.get('daily')!.html as string).replaceAll('&#x3D;', '=');
    for (const words of ['Health', 'Day before', 'Still failing', 'Recovered', 'Noisiest sources']) expect(html).toContain(words);
    expect(html).toMatch(/href="https:\/\/tocsin\.example\.com\/#\/alerts\?tenant=(?!failing&)[\w-]+&amp;queue=Claims&amp;since=/);
  });

  it("writes each reader's daily report from their own subscriptions, though the reports of a period are rendered together", () => {
    const quiet = quietDaily!.text!;
    expect(mails.get('daily')!.text).toContain('Queue: Claims');
    expect(quiet).not.toContain('Queue: Claims');
    expect(quiet).not.toMatch(/^\s+\d+\s+\d+\s+Queues$/m);
    expect(quiet).toMatch(/Process: Billing · Alerts: 2 · last failure/);
  });

  it("dates a source's last failure by when it failed, as the summary does, not by when its alert arrived", () => {
    expect(lateDaily!.text).toMatch(/Robot: R-late · Alerts: 1 · last failure Jun 1, 2026, 05:00\n/);
  });
});
