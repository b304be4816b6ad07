/**
 * API.md: alert lines in immediate, summary and daily emails carry links to `/actions/{token}`
 * (mute, snooze, acknowledge). A daily report's source still failing is where its reader takes a
 * failure on: it carries the reader's "I'm on it" link for its last failure's flood, as a summary
 * line does, and the next report says who is on it. End to end on both dialects under a fake
 * clock: the scheduler deciding, the composers rendering with action links, a real SMTP server
 * receiving, the link followed through the app's own `/actions/` pages.
 */
import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { decideReports, sendQueuedReports } from '../../test/support/report-runs.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { localeFormat } from '../i18n/format.js';
import { FakeClock } from '../shared/clock.js';

const INTERVAL = 600_000;
const PUBLIC = 'https://tocsin.example.com';
const base = '/api/v1/tenants/onit';

describeEachDialect('the acknowledge link of a daily report’s source still failing', (dialect) => {
  let t: TestApp;
  let clock: FakeClock;
  let smtp: TestSmtpServer;
  let r7: string;

  async function ok(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown) {
    const res = await t.call(method, `${base}${url}`, body);
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
    return res.json();
  }
  /** dailiesTo are the daily reports a mailbox got so far, in the order they came. */
  const dailiesTo = async (address: string): Promise<ParsedMail[]> => {
    const mails = await Promise.all(smtp.messages.filter((m) => m.envelope.to[0] === address).map((m) => simpleParser(m.raw)));
    return mails.filter((mail) => mail.headers.get('x-tocsin-kind') === 'daily');
  };
  /** reportAt decides the daily reports due at an instant and sends them, with their action links. */
  const reportAt = async (iso: string) => {
    clock.set(Date.parse(iso));
    await decideReports(t.tocsin, clock, INTERVAL);
    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC, withActions: true });
  };
  /** under is the lines of a text part under a line that starts with `head`, up to the next source or blank line. */
  const under = (text: string, head: string): string[] => {
    const lines = text.split('\n');
    const at = lines.findIndex((line) => line.startsWith(head));
    expect(at, `${head} in\n${text}`).toBeGreaterThan(-1);
    const rest = lines.slice(at + 1);
    const end = rest.findIndex((line) => !line.startsWith('      '));
    return rest.slice(0, end);
  };
  const acknowledgeLinkOf = (lines: readonly string[]) => lines.find((line) => line.startsWith("      I'm on it: "))?.slice("      I'm on it: ".length);

  beforeAll(async () => {
    clock = new FakeClock(Date.parse('2026-06-01T09:50:00Z'));
    smtp = await startTestSmtpServer();
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api', TOCSIN_PUBLIC_URL: PUBLIC }, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'onit', timeZone: 'UTC' });
    await ok('PUT', '/settings/mail', { alertsEmailEnabled: true });
    await ok('POST', '/users', { email: 'reader@onit.example.com', name: 'Reader', language: 'en', roles: ['Alerts Viewer'] });
    // A shared mailbox: it reads the report, but links are a person's.
    await ok('POST', '/groups', { name: 'Desk', email: 'desk@onit.example.com', roles: ['Alerts Viewer'] });
    clock.set(Date.parse('2026-06-01T09:55:00Z'));
    // R7 goes on failing (one flood, by its dedup key); Billing fails once; R8 fails and comes back.
    r7 = (await ok('POST', '/alerts', { severity: 'Error', component: 'Robots', message: 'R7 offline', source: { robot: 'R7' }, dedupKey: 'r7' })).ids[0];
    await ok('POST', '/alerts', {
      alerts: [
        { severity: 'Error', component: 'Jobs', message: 'Billing failed', source: { process: 'Billing' } },
        { severity: 'Error', component: 'Robots', message: 'R8 offline', source: { robot: 'R8' } },
        { severity: 'Success', component: 'Robots', message: 'R8 back', source: { robot: 'R8' } },
        // A warning someone may take on before it fails: its row is one flood too.
        { severity: 'Warn', component: 'Queues', message: 'Invoices queue slow' },
      ],
    });
    await t.tocsin.decisionsSettled();
    // A tenant's first daily report covers the day up to its report time (10:00 here).
    await reportAt('2026-06-01T10:00:02Z');
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('gives each source still failing the reader’s acknowledge link, in the text and HTML parts, and none to a source recovered', async () => {
    const [daily] = await dailiesTo('reader@onit.example.com');
    const text = daily!.text!;
    const links = ['    Robot: R7 · ', '    Process: Billing · '].map((head) => acknowledgeLinkOf(under(text, head)));
    for (const link of links) {
      expect(link).toMatch(/^https:\/\/tocsin\.example\.com\/actions\/[\w-]+$/);
      expect(daily!.html).toContain(`href="${link}"`);
    }
    expect(links[0]).not.toBe(links[1]);
    // None for R8, recovered.
    expect(under(text, '    Robot: R8 · ').some((line) => line.includes("I'm on it"))).toBe(false);
  });

  it('gives an event row the acknowledge link of its one flood, as a summary line, a Warn’s too, and none to a row of several floods or of a Success', async () => {
    const [daily] = await dailiesTo('reader@onit.example.com');
    const text = daily!.text!;
    const row = (head: RegExp) => {
      const lines = text.split('\n');
      const at = lines.findIndex((line) => head.test(line));
      expect(at, `${head} in\n${text}`).toBeGreaterThan(-1);
      const rest = lines.slice(at + 1);
      return rest.slice(
        0,
        rest.findIndex((line) => !line.startsWith('          ')),
      );
    };
    // Billing's one alert: its row offers "I'm on it" beside the event's snooze.
    const billing = row(/^ +1 {2}\[Error\] .* \(Jobs\)$/);
    expect(billing[0]).toMatch(/^ {10}I'm on it: https:\/\/tocsin\.example\.com\/actions\//);
    expect(billing[1]).toMatch(/^ {10}Snooze for me: https:/);
    // A Warn is taken on as an Error is: its one flood's row offers "I'm on it" too.
    expect(row(/^ +1 {2}\[Warning\] .* \(Queues\)$/)[0]).toMatch(/^ {10}I'm on it: https:\/\/tocsin\.example\.com\/actions\//);
    // R7's flood and R8's alert: two floods, none of them the row's to take on; R8's Success: nothing to take on.
    expect(row(/^ +2 {2}\[Error\] .* \(Robots\)$/).some((line) => line.includes("I'm on it"))).toBe(false);
    expect(row(/^ +1 {2}\[Success\] .* \(Robots\)$/).some((line) => line.includes("I'm on it"))).toBe(false);
  });

  it('gives a group mailbox’s daily report no action link', async () => {
    const [daily] = await dailiesTo('desk@onit.example.com');
    expect(daily!.text).toContain('    Robot: R7 · ');
    expect(daily!.text).not.toContain('/actions/');
    expect(daily!.html).not.toContain('/actions/');
  });

  it('acknowledges the flood of the source’s last failure when followed (a GET changes nothing), which the next report says', async () => {
    const [daily] = await dailiesTo('reader@onit.example.com');
    const path = new URL(acknowledgeLinkOf(under(daily!.text!, '    Robot: R7 · '))!).pathname;
    const page = await t.call('GET', path, undefined, '');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('R7 offline');
    expect((await ok('GET', `/alerts/${r7}`)).acknowledgedBy).toBeNull();

    clock.set(Date.parse('2026-06-01T10:01:00Z'));
    expect((await t.call('POST', path, undefined, '')).statusCode).toBe(200);
    const acked = await ok('GET', `/alerts/${r7}`);
    expect(acked.acknowledgedBy).toMatchObject({ name: 'Reader' });
    // R7 fails again within its flood; the next day's report finds it still failing, and who is on it.
    clock.set(Date.parse('2026-06-01T10:03:00Z'));
    await ok('POST', '/alerts', { severity: 'Error', component: 'Robots', message: 'R7 still offline', source: { robot: 'R7' }, dedupKey: 'r7' });
    await t.tocsin.decisionsSettled();
    await reportAt('2026-06-02T10:00:02Z');
    const next = (await dailiesTo('reader@onit.example.com'))[1]!;
    const said = `Acknowledged by Reader on ${localeFormat('en', 'UTC').dateTime(Date.parse(acked.acknowledgedAt))}`;
    const lines = under(next.text!, '    Robot: R7 · ');
    expect(lines[0]).toBe(`      ${said}`);
    // Still offered, as under a summary's line: its page says who is on it.
    expect(acknowledgeLinkOf(lines)).toMatch(/^https:\/\/tocsin\.example\.com\/actions\//);
  });
});
