/**
 * Acceptance test told as an operations team sees it: the daily report of a tenant with many readers
 * falls due at once, its SMTP server is slow (a quarter of a second for each message), and a
 * backlog of reports forms; then a robot dies, and the one reader who wants Fatal alerts at once
 * gets its email before that backlog has drained, while every report still arrives, once. Driven
 * over HTTP, the emails read, in the order they arrived, from a real SMTP server.
 */
import { expect, it } from 'vitest';
import { useListeningApp } from '../support/http.js';
import { dailyReportTimeAway } from '../support/report-runs.js';
import { kindOf } from '../support/smtp-servers.js';
import { describeEachDialect } from '../support/storage.js';

/** READERS of the daily report: more than a worker sends to one tenant at once (100), so some wait in the queue. */
const READERS = 120;

describeEachDialect('a Fatal email while a backlog of daily reports is being sent', (dialect) => {
  const { api, serverOfTenant } = useListeningApp(dialect);

  it('reaches its reader before the backlog has drained, and every report still arrives once', async () => {
    const sink = await serverOfTenant({ dataReplyDelayMs: 250 });
    await api('POST', '', { name: 'acme', timeZone: 'UTC' });
    await api('PUT', '/acme/settings/mail', {
      alertsEmailEnabled: true,
      useCustom: true,
      custom: { host: '127.0.0.1', port: sink.port, security: 'none', fromAddress: 'alerts@acme.example' },
      sendEmptyDailyReport: true,
      dailyReportTime: dailyReportTimeAway('UTC'),
    });
    const reader = async (name: string, email: { fatalImmediately: boolean; dailyReport: boolean }) => {
      const { id } = await api('POST', '/acme/users', { email: `${name}@acme.example`, name, roles: ['Alerts Viewer'] });
      await api('PUT', `/acme/users/${id}/alert-preferences`, { email: { tenMinuteSummary: false, ...email } });
    };
    await reader('on-call', { fatalImmediately: true, dailyReport: false });
    for (let from = 0; from < READERS; from += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, READERS - from) }, (_, n) => reader(`reader-${from + n}`, { fatalImmediately: false, dailyReport: true })),
      );
    }

    // The daily report falls due in two seconds: every reader's at once.
    const utc = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    await api('PUT', '/acme/settings/mail', { dailyReportTime: utc.format(new Date(Date.now() + 2_000)) });
    // The backlog has formed: the first reports are at the server, the rest queued behind them.
    await sink.waitForMessages(1, 30_000);
    await api('POST', '/acme/alerts', { severity: 'Fatal', component: 'Robots', message: 'robot 7 died' });

    await sink.waitForMessages(READERS + 1, 60_000);
    const arrivals = sink.messages.map((m) => ({ kind: kindOf(m.raw), to: m.envelope.to.join(',') }));
    const fatalAt = arrivals.findIndex((m) => m.kind === 'immediate');
    expect(arrivals[fatalAt]?.to).toBe('on-call@acme.example');
    // It passed the reports queued when it came, those waiting for one of the server's connections
    // included (100, a tenant's sends at once): it went 101st, 2.5 s behind them here, and behind a
    // server taking a message a second it would have waited 10 s. It comes some 20th now; the margin
    // is for a loaded machine's slower POST (each 25 ms lets one more report through).
    expect(fatalAt).toBeLessThan(90);
    const reports = arrivals.filter((m) => m.kind === 'daily').map((m) => m.to);
    expect(reports).toHaveLength(READERS);
    expect(new Set(reports).size).toBe(READERS);
  }, 120_000);
});
