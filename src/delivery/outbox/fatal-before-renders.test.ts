/**
 * A big tenant's daily reports are being rendered and sent through the system default server when
 * another tenant's robot dies: the on-call reader's Fatal email is sent with no report rendered
 * between its start and its server's answer. Each report renders in a turn of the event loop of
 * its own (tens of milliseconds), and each step of the Fatal email's send (its facts read, its
 * server's replies) waited behind one: 0.3-1.2 s instead of a few round trips during a batch of
 * 200 readers' dailies, seconds under load.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { type ListeningApp, startListeningApp } from '../../../test/support/http.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../../test/support/storage.js';
import { until } from '../../../test/support/until.js';
import { LoopTurns } from '../../shared/loop-turns.js';
import { UrgentSends } from '../../shared/urgent-sends.js';

/** READERS of the big tenant's daily report: its renders go on for a while, four at a time. */
const READERS = 100;

describeEachDialect("a Fatal email during another tenant's report batch", (dialect) => {
  let shared: TestSmtpServer;
  let app: ListeningApp;
  beforeAll(async () => {
    shared = await startTestSmtpServer();
    app = await startListeningApp(dialect, `smtp://127.0.0.1:${shared.port}?from=alerts@example.com`);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await app?.close();
    await shared?.close();
  });

  it("is sent with no report rendered between its start and its server's answer, and every report still goes, its own sends holding no render", async () => {
    await app.api('POST', '', { name: 'big', timeZone: 'UTC' });
    await app.api('PUT', '/big/settings/mail', { alertsEmailEnabled: true, useCustom: false, sendEmptyDailyReport: true });
    for (let from = 0; from < READERS; from += 25) {
      await Promise.all(
        Array.from({ length: 25 }, async (_, n) => {
          const { id } = await app.api('POST', '/big/users', { email: `reader-${from + n}@big.example`, name: `Reader ${from + n}`, roles: ['Alerts Viewer'] });
          await app.api('PUT', `/big/users/${id}/alert-preferences`, { email: { fatalImmediately: false, tenMinuteSummary: false, dailyReport: true } });
        }),
      );
    }
    await app.api('POST', '/big/alerts', {
      alerts: Array.from({ length: 200 }, (_, n) => ({
        severity: n % 2 ? 'Error' : 'Warn',
        component: 'Jobs',
        event: `job_${n % 40}`,
        message: `job ${n} failed`,
      })),
    });
    await app.api('POST', '', { name: 'quiet', timeZone: 'UTC' });
    await app.api('PUT', '/quiet/settings/mail', { alertsEmailEnabled: true, useCustom: false });
    const { id: onCall } = await app.api('POST', '/quiet/users', { email: 'on-call@quiet.example', name: 'On call', roles: ['Alerts Viewer'] });
    await app.api('PUT', `/quiet/users/${onCall}/alert-preferences`, { email: { fatalImmediately: true, tenMinuteSummary: false, dailyReport: false } });

    // When each report's render got its turn of the event loop.
    const renderedAt: number[] = [];
    const next = LoopTurns.prototype.next;
    vi.spyOn(LoopTurns.prototype, 'next').mockImplementation(function (this: LoopTurns) {
      return next.call(this).then(() => void renderedAt.push(Date.now()));
    });
    // The sends that hold the renders: the Fatal email's alone, not each report's (which would hold the batch's own renders).
    const begin = vi.spyOn(UrgentSends.prototype, 'begin');
    // Every reader's daily report falls due in two seconds.
    const utc = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    await app.api('PUT', '/big/settings/mail', { dailyReportTime: utc.format(new Date(Date.now() + 2_000)) });
    // The batch is under way: the first reports are at the server, the others being rendered.
    await shared.waitForMessages(1, 30_000);
    await app.api('POST', '/quiet/alerts', { severity: 'Fatal', component: 'Robots', message: 'robot 7 died' });
    await until(async () => (await app.api('GET', '/quiet/deliveries?kind=immediate')).items[0]?.status === 'sent', 'the Fatal email sent');
    const reportsBefore = shared.messages.filter((m) => m.envelope.to[0]?.endsWith('@big.example')).length;

    const db = app.tocsin.deps.storage.db;
    const attempt = await db
      .selectFrom('delivery_attempts')
      .innerJoin('tenants', 'tenants.id', 'delivery_attempts.tenant_id')
      .select(['finished_at', 'duration_ms'])
      .where('tenants.name', '=', 'quiet')
      .executeTakeFirstOrThrow();
    const finishedAt = Number(attempt.finished_at);
    const startedAt = finishedAt - Number(attempt.duration_ms);
    // Its render, MAIL, RCPT, DATA and message each waited for a report's render: 4 to 6 of them ran meanwhile here.
    expect(renderedAt.filter((at) => at > startedAt && at < finishedAt)).toEqual([]);
    // It did not wait for the batch to end, and the batch went on after it: every reader's report, once.
    expect(reportsBefore).toBeLessThan(READERS);
    expect(renderedAt.filter((at) => at >= finishedAt).length).toBeGreaterThan(0);
    await shared.waitForMessages(READERS + 1, 60_000);
    const reports = shared.messages.map((m) => m.envelope.to.join(',')).filter((to) => to.endsWith('@big.example'));
    expect(new Set(reports).size).toBe(READERS);
    expect(reports).toHaveLength(READERS);
    expect(begin).toHaveBeenCalledTimes(1);
  }, 120_000);
});
