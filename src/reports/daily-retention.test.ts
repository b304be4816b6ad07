/**
 * PRODUCT.md: the daily report covers the day to the tenant's report time, correct across
 * daylight-saving changes; a tenant may keep its alerts for as little as one day (retentionDays 1).
 * On the day Paris's clocks go back the report's window is 25 hours long, and the purge, which runs
 * every minute, deleted its first hour an hour before the report was decided: the report counted
 * one alert of two. The real app on both dialects, a fake clock, the purge and the scheduler as the
 * server runs them, the email read back from a real SMTP server.
 */
import { simpleParser } from 'mailparser';
import { expect, it } from 'vitest';
import { decideReports, sendQueuedReports, useReportApp } from '../../test/support/report-runs.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { purgeExpiredAlerts } from '../alerts/retention.js';
import { FakeClock } from '../shared/clock.js';

const INTERVAL = 600_000;
const at = (iso: string) => Date.parse(iso);

describeEachDialect('a daily report of a tenant keeping its alerts one day', (dialect) => {
  // Saturday 24 October 2026, 09:55 in Paris (UTC+02:00); the clocks go back that night.
  const clock = new FakeClock(at('2026-10-24T07:55:00Z'));
  const app = useReportApp(dialect, clock);

  /** runAt moves the clock, purges as the minute's retention run does, decides (a 10:00 report) and sends. */
  const runAt = async (iso: string) => {
    clock.set(at(iso));
    await purgeExpiredAlerts(app.t.tocsin.deps.storage.db, clock.now());
    await decideReports(app.t.tocsin, clock, INTERVAL);
    await sendQueuedReports(app.t.tocsin, clock, app.smtp, { summaryIntervalMs: INTERVAL, publicUrl: 'https://tocsin.example.com' });
  };
  const raise = async (iso: string, message: string) => {
    clock.set(at(iso));
    const res = await app.t.call('POST', '/api/v1/tenants/brief/alerts', { severity: 'Warn', component: 'Queues', message });
    expect(res.statusCode, res.body).toBe(202);
  };

  it('counts every alert of the 25 hours to 10:00 on the day the clocks go back, none purged before it is sent', async () => {
    expect((await app.t.call('POST', '/api/v1/tenants', { name: 'brief', timeZone: 'Europe/Paris', retentionDays: 1 })).statusCode).toBe(201);
    await app.t.call('POST', '/api/v1/tenants/brief/users', { email: 'ops@brief.example.com', name: 'Ops', language: 'en', roles: ['Alerts Viewer'] });
    // Saturday's report, at 10:00 summer time, starts the chain.
    await runAt('2026-10-24T08:00:01Z');
    // 10:30 on Saturday (summer time), then 09:00 on Sunday (winter time).
    await raise('2026-10-24T08:30:00Z', 'Saturday morning');
    await raise('2026-10-25T08:00:00Z', 'Sunday morning');
    // The purge runs every minute: at 09:45 on Sunday, Saturday's 10:30 is 24 h 15 min old.
    await runAt('2026-10-25T08:45:00Z');
    await runAt('2026-10-25T09:00:01Z');

    const mails = await Promise.all(app.smtp.messages.filter((m) => /^X-Tocsin-Kind: daily/im.test(m.raw)).map((m) => simpleParser(m.raw)));
    expect(mails.map((m) => m.subject)).toEqual(['brief: daily alerts summary, 2 alerts (Oct 25, 2026)']);
    expect(mails[0]!.text).toContain('2 alerts from Oct 24, 2026, 10:00 (UTC+02:00) to Oct 25, 2026, 10:00 (UTC+01:00).');
    // Once it went out, the purge keeps the retention of one day again.
    await runAt('2026-10-25T09:01:00Z');
    const left = await app.t.call('GET', '/api/v1/tenants/brief/alerts');
    expect(left.json().items.map((a: { message: string }) => a.message)).toEqual(['Sunday morning']);
  });
});
