/**
 * PRODUCT.md: one daily report per recipient per day, covering the last 24 hours to the tenant's
 * report time. An administrator who, after the morning's report, moves the time to one already
 * passed that day got at once a second "daily report" dated the same day, covering only the
 * stretch since the first. The real app on both dialects, a fake clock, settings changed over
 * HTTP, the emails read back from a real SMTP server.
 */
import { simpleParser } from 'mailparser';
import pino from 'pino';
import { expect, it } from 'vitest';
import { sendQueuedReports, useReportApp } from '../../test/support/report-runs.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { getMailSettings, getMailSettingsOf } from '../settings/mail-settings.js';
import { FakeClock } from '../shared/clock.js';
import { ReportScheduler } from './scheduler.js';

const INTERVAL = 600_000;
const PUBLIC = 'https://tocsin.example.com';
const at = (iso: string) => Date.parse(iso);

describeEachDialect('a daily report time moved to one already passed that day', (dialect) => {
  // 09:00 in Paris (UTC+01:00) on Wednesday 28 October 2026.
  const clock = new FakeClock(at('2026-10-28T08:00:00Z'));
  const app = useReportApp(dialect, clock);

  async function ok(method: 'POST' | 'PUT', url: string, body?: unknown) {
    const res = await app.t.call(method, `/api/v1/tenants${url}`, body);
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  }
  /** raise posts a Warn alert (in no summary) at an instant, its event naming it. */
  const raise = async (iso: string, name: string, tenant = 'moved') => {
    clock.set(at(iso));
    await ok('POST', `/${tenant}/alerts`, { severity: 'Warn', component: 'Process', event: `Billing.${name}.Breached`, message: name });
  };
  /** runAt moves the clock, lets the scheduler (with the tenant's real settings) decide, and sends what it queued. */
  const runAt = async (iso: string) => {
    clock.set(at(iso));
    await new ReportScheduler({
      storage: app.t.tocsin.deps.storage,
      clock,
      logger: pino({ level: 'silent' }),
      settingsOf: getMailSettings,
      settingsOfTenants: getMailSettingsOf,
      settings: { summaryIntervalMs: INTERVAL },
    }).tick();
    await sendQueuedReports(app.t.tocsin, clock, app.smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
  };
  const dailies = async (to = 'reader@moved.example.com') =>
    Promise.all(app.smtp.messages.filter((m) => m.envelope.to[0] === to && /^X-Tocsin-Kind: daily/im.test(m.raw)).map((m) => simpleParser(m.raw)));
  const events = (text: string) => (text.match(/Billing\.\w+\.Breached/g) ?? []).sort();

  it('sends nothing until the next day at the new time, then one report from the morning’s end with every alert since, once', async () => {
    await ok('POST', '', { name: 'moved', timeZone: 'Europe/Paris' });
    await ok('PUT', '/moved/settings/mail', { alertsEmailEnabled: true, dailyReportTime: '10:00:30' });
    await ok('POST', '/moved/users', { email: 'reader@moved.example.com', name: 'Reader', language: 'en', roles: ['Alerts Viewer'] });
    await runAt('2026-10-28T08:00:01Z');
    await raise('2026-10-28T08:30:00Z', 'Morning');
    // The morning's report, at 10:00:30 Paris.
    await runAt('2026-10-28T09:00:31.500Z');
    expect((await dailies()).map((m) => events(m.text!))).toEqual([['Billing.Morning.Breached']]);
    await raise('2026-10-28T09:30:00Z', 'HalfPastTen');
    await raise('2026-10-28T10:30:00Z', 'HalfPastEleven');
    // Noon in Paris: the report moves to 11:00, already passed today.
    clock.set(at('2026-10-28T11:00:00Z'));
    await ok('PUT', '/moved/settings/mail', { dailyReportTime: '11:00' });
    for (const iso of ['2026-10-28T11:00:01.500Z', '2026-10-28T11:05:00Z', '2026-10-28T17:00:01.500Z']) await runAt(iso);
    await raise('2026-10-28T12:00:00Z', 'Afternoon');
    await raise('2026-10-29T09:59:00Z', 'TomorrowBeforeEleven');
    for (const iso of ['2026-10-29T09:00:31.500Z', '2026-10-29T09:59:59Z']) await runAt(iso);
    // Nothing more the day the time moved, nor the next morning before 11:00.
    expect(await dailies()).toHaveLength(1);
    await runAt('2026-10-29T10:00:01.500Z');
    await raise('2026-10-29T10:00:02Z', 'AfterEleven');
    await runAt('2026-10-29T10:05:00Z');

    const mails = await dailies();
    expect(mails).toHaveLength(2);
    expect(mails[1]!.subject).toBe('moved: daily alerts summary, 4 alerts (Oct 29, 2026)');
    expect(mails[1]!.text).toContain('4 alerts from Oct 28, 2026, 10:00:30 to Oct 29, 2026, 11:00:00.');
    expect(events(mails[1]!.text!)).toEqual([
      'Billing.Afternoon.Breached',
      'Billing.HalfPastEleven.Breached',
      'Billing.HalfPastTen.Breached',
      'Billing.TomorrowBeforeEleven.Breached',
    ]);
    const rows = await app.t.tocsin.deps.storage.db
      .selectFrom('deliveries')
      .select(['window_start', 'window_end'])
      .where('kind', '=', 'daily')
      .orderBy('window_start')
      .execute();
    expect(rows.map((r) => [Number(r.window_start), Number(r.window_end)])).toEqual([
      [at('2026-10-27T09:00:30Z'), at('2026-10-28T09:00:30Z')],
      [at('2026-10-28T09:00:30Z'), at('2026-10-29T10:00:00Z')],
    ]);
  });

  it('sends a day’s report at once when, before it went out, its time moves to one already passed that day', async () => {
    clock.set(at('2026-10-30T08:00:00Z'));
    await ok('POST', '', { name: 'earlier', timeZone: 'Europe/Paris' });
    await ok('PUT', '/earlier/settings/mail', { alertsEmailEnabled: true });
    await ok('POST', '/earlier/users', { email: 'reader@earlier.example.com', name: 'Reader', language: 'en', roles: ['Alerts Viewer'] });
    await runAt('2026-10-30T08:00:01Z');
    await raise('2026-10-30T08:10:00Z', 'Morning', 'earlier');
    // Half a second after 10:00 in Paris, before the scheduler's look, the time moves to 09:30: that day's report is not skipped.
    clock.set(at('2026-10-30T09:00:00.500Z'));
    await ok('PUT', '/earlier/settings/mail', { dailyReportTime: '09:30' });
    await runAt('2026-10-30T09:00:01.500Z');
    expect((await dailies('reader@earlier.example.com')).map((m) => events(m.text!))).toEqual([['Billing.Morning.Breached']]);
  });
  it('sends no second report the same day when, after it, the tenant’s time zone moves the report time to one already passed', async () => {
    clock.set(at('2026-11-02T08:00:00Z'));
    await ok('POST', '', { name: 'zoned', timeZone: 'Europe/Paris' });
    await ok('PUT', '/zoned/settings/mail', { alertsEmailEnabled: true });
    await ok('POST', '/zoned/users', { email: 'reader@zoned.example.com', name: 'Reader', language: 'en', roles: ['Alerts Viewer'] });
    const mine = async () => (await dailies('reader@zoned.example.com')).map((m) => events(m.text!));
    await runAt('2026-11-02T08:00:01Z');
    await raise('2026-11-02T08:30:00Z', 'Morning', 'zoned');
    // The morning's report, at 10:00 Paris (09:00 UTC).
    await runAt('2026-11-02T09:00:01.500Z');
    expect(await mine()).toEqual([['Billing.Morning.Breached']]);
    await raise('2026-11-02T09:30:00Z', 'HalfPastTen', 'zoned');
    await raise('2026-11-02T10:30:00Z', 'HalfPastEleven', 'zoned');
    // 12:30 in Paris: the zone becomes UTC, whose 10:00 (11:00 Paris) has already passed today.
    clock.set(at('2026-11-02T11:30:00Z'));
    const res = await app.t.call('PATCH', '/api/v1/tenants/zoned', { timeZone: 'UTC' });
    expect(res.statusCode, res.body).toBe(200);
    for (const iso of ['2026-11-02T11:30:01.500Z', '2026-11-02T11:40:00Z', '2026-11-02T20:00:00Z']) await runAt(iso);
    await raise('2026-11-03T09:59:00Z', 'TomorrowBeforeTen', 'zoned');
    await runAt('2026-11-03T09:59:59Z');
    expect(await mine()).toHaveLength(1);
    await runAt('2026-11-03T10:00:01.500Z');
    await runAt('2026-11-03T10:05:00Z');
    expect(await mine()).toEqual([
      ['Billing.Morning.Breached'],
      ['Billing.HalfPastEleven.Breached', 'Billing.HalfPastTen.Breached', 'Billing.TomorrowBeforeTen.Breached'],
    ]);
    const tenantId = (await app.t.call('GET', '/api/v1/tenants/zoned')).json().id;
    const rows = await app.t.tocsin.deps.storage.db
      .selectFrom('deliveries')
      .select(['window_start', 'window_end'])
      .where('kind', '=', 'daily')
      .where('tenant_id', '=', tenantId)
      .orderBy('window_start')
      .execute();
    expect([...new Set(rows.map((r) => `${Number(r.window_start)}-${Number(r.window_end)}`))]).toEqual([
      `${at('2026-11-01T09:00:00Z')}-${at('2026-11-02T09:00:00Z')}`,
      `${at('2026-11-02T09:00:00Z')}-${at('2026-11-03T10:00:00Z')}`,
    ]);
  });
  it('sends no second report the same day when, after a midnight report, the time moves to one already passed', async () => {
    // The day's report went out at its very first instant (00:00): moved at noon to 06:00, that day's is sent already.
    clock.set(at('2026-11-05T20:00:00Z'));
    await ok('POST', '', { name: 'midnight', timeZone: 'UTC' });
    await ok('PUT', '/midnight/settings/mail', { alertsEmailEnabled: true, dailyReportTime: '00:00' });
    await ok('POST', '/midnight/users', { email: 'reader@midnight.example.com', name: 'Reader', language: 'en', roles: ['Alerts Viewer'] });
    const mine = async () => (await dailies('reader@midnight.example.com')).map((m) => events(m.text!));
    await runAt('2026-11-05T20:00:01Z');
    await raise('2026-11-05T22:00:00Z', 'Evening', 'midnight');
    await runAt('2026-11-06T00:00:01.500Z');
    expect(await mine()).toEqual([['Billing.Evening.Breached']]);
    await raise('2026-11-06T03:00:00Z', 'Night', 'midnight');
    clock.set(at('2026-11-06T12:00:00Z'));
    await ok('PUT', '/midnight/settings/mail', { dailyReportTime: '06:00' });
    for (const iso of ['2026-11-06T12:00:01.500Z', '2026-11-06T18:00:00Z', '2026-11-07T05:59:59Z']) await runAt(iso);
    expect(await mine()).toHaveLength(1);
    await runAt('2026-11-07T06:00:01.500Z');
    expect(await mine()).toEqual([['Billing.Evening.Breached'], ['Billing.Night.Breached']]);
  });
  it('sends no second report the same day when the time moves, at that very instant, to the time it is now', async () => {
    // Moved at 11:00:00.000 to 11:00: that report time has come as the change is made, so it is tomorrow's.
    clock.set(at('2026-11-08T08:00:00Z'));
    await ok('POST', '', { name: 'instant', timeZone: 'UTC' });
    await ok('PUT', '/instant/settings/mail', { alertsEmailEnabled: true });
    await ok('POST', '/instant/users', { email: 'reader@instant.example.com', name: 'Reader', language: 'en', roles: ['Alerts Viewer'] });
    const mine = async () => (await dailies('reader@instant.example.com')).map((m) => events(m.text!));
    await runAt('2026-11-08T08:00:01Z');
    await raise('2026-11-08T08:30:00Z', 'Morning', 'instant');
    await runAt('2026-11-08T10:00:01.500Z');
    await raise('2026-11-08T10:30:00Z', 'HalfPastTen', 'instant');
    clock.set(at('2026-11-08T11:00:00.000Z'));
    await ok('PUT', '/instant/settings/mail', { dailyReportTime: '11:00' });
    for (const iso of ['2026-11-08T11:00:01.500Z', '2026-11-08T18:00:00Z']) await runAt(iso);
    expect(await mine()).toEqual([['Billing.Morning.Breached']]);
    await runAt('2026-11-09T11:00:01.500Z');
    expect(await mine()).toEqual([['Billing.Morning.Breached'], ['Billing.HalfPastTen.Breached']]);
  });
});
