/**
 * Acceptance test of issue 5, told as a timeline: the real server listening on a port with a
 * 2-second summary window, alerts raised over HTTP, and the emails read from a real SMTP server.
 * The right people get them, once, in their own language, with the alerts they subscribe to.
 */
import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ListeningApp, startListeningApp } from '../support/http.js';
import { dailyReportTimeAway } from '../support/report-runs.js';
import { type TestSmtpServer, startTestSmtpServer } from '../support/smtp-servers.js';
import { describeEachDialect } from '../support/storage.js';

describeEachDialect('alert emails, end to end', (dialect) => {
  let smtp: TestSmtpServer;
  let app: ListeningApp;
  const api: ListeningApp['api'] = (...args) => app.api(...args);
  const parsed = async (): Promise<(ParsedMail & { raw: string })[]> =>
    Promise.all(smtp.messages.map(async (m) => Object.assign(await simpleParser(m.raw), { raw: m.raw })));
  const to = (mail: ParsedMail) => (Array.isArray(mail.to) ? mail.to[0] : mail.to)!.value[0]!.address!;
  const kind = (mail: ParsedMail) => mail.headers.get('x-tocsin-kind');

  beforeAll(async () => {
    smtp = await startTestSmtpServer();
    app = await startListeningApp(dialect, `smtp://127.0.0.1:${smtp.port}?from=alerts@example.com`);
  });
  afterAll(async () => {
    await app?.close();
    await smtp?.close();
  });

  it('sends each subscribed viewer one summary in their language, a Fatal email to who opted in, and nothing to anyone else', async () => {
    // 1. An administrator sets up a tenant and its people.
    await api('POST', '', { name: 'acme', displayName: 'ACME', timeZone: 'Europe/Paris' });
    await api('PUT', '/acme/settings/mail', { alertsEmailEnabled: true }); // the guide's first step: new tenants start with it off
    // The daily report far from now: this test counts every email, and the real clock could cross 10:00 in Paris.
    await api('PUT', '/acme/settings/mail', { dailyReportTime: dailyReportTimeAway('Europe/Paris') });
    const user = async (email: string, extra: object) => (await api('POST', '/acme/users', { email, name: email.split('@')[0], ...extra })).id;
    await user('ana@example.com', { language: 'fr', roles: ['Alerts Viewer'] });
    const ben = await user('ben@example.com', { language: 'de', roles: ['Alerts Viewer'] });
    await user('cy@example.com', { language: 'en', roles: [] }); // may not see alerts
    const dora = await user('dora@example.com', { language: 'ja', timeZone: 'Asia/Tokyo', roles: ['Alerts Viewer'] });
    await user('eve@example.com', { roles: ['Alerts Viewer'], active: false }); // deactivated
    await api('POST', '/acme/groups', { name: 'Ops', email: 'ops@example.com', language: 'es', roles: ['Alerts Viewer'] });

    // 2. People choose what they receive: Ben drops Robots, Dora wants Fatal alerts at once.
    await api('PUT', `/acme/users/${ben}/alert-preferences`, { subscriptions: { Robots: false } });
    await api('PUT', `/acme/users/${dora}/alert-preferences`, { email: { fatalImmediately: true } });

    // 3. Robots raise alerts over HTTP, in one batch so that they fall in one 2-second window.
    const invoice = { severity: 'Error', component: 'Jobs', event: 'Process.JobExecution.Faulted', message: 'Invoice run 42 failed', dedupKey: 'invoice-42' };
    await api('POST', '/acme/alerts', {
      alerts: [
        invoice,
        invoice,
        invoice,
        { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'Robot R2 went offline' },
        { severity: 'Info', component: 'Robots', event: 'Robot.StatusChanged.Available', message: 'Robot R3 is available' },
      ],
    });

    // 4. Within seconds: Dora's Fatal email, then the window's summaries.
    await smtp.waitForMessages(5, 15_000);
    // 5. A few more windows pass, with no alerts: nothing more is sent, and nothing twice. The
    // scheduler records each window it decides, so the test waits for two empty ones to be decided
    // after the window that mailed, then finds nothing else queued and everything queued sent.
    const db = app.tocsin.deps.storage.db;
    const acme = (await db.selectFrom('tenants').select('id').where('name', '=', 'acme').executeTakeFirstOrThrow()).id;
    const summaryWindows = () =>
      db.selectFrom('report_windows').select(['window_end', 'deliveries']).where('tenant_id', '=', acme).where('kind', '=', 'summary').execute();
    const mailedUpTo = Math.max(...(await summaryWindows()).filter((w) => w.deliveries > 0).map((w) => w.window_end));
    await expect
      .poll(async () => (await summaryWindows()).filter((w) => w.window_end > mailedUpTo).length, { timeout: 20_000, interval: 100 })
      .toBeGreaterThanOrEqual(2);
    const statuses = async () => (await db.selectFrom('deliveries').select('status').where('tenant_id', '=', acme).execute()).map((d) => d.status);
    await expect.poll(statuses, { timeout: 5_000, interval: 50 }).toEqual(['sent', 'sent', 'sent', 'sent', 'sent']);
    const mails = await parsed();
    const summaries = mails.filter((m) => kind(m) === 'summary');
    const immediate = mails.filter((m) => kind(m) === 'immediate');
    expect(summaries.map(to).sort()).toEqual(['ana@example.com', 'ben@example.com', 'dora@example.com', 'ops@example.com']);
    expect(immediate.map(to)).toEqual(['dora@example.com']);
    expect(mails).toHaveLength(5);

    const byAddress = new Map(summaries.map((m) => [to(m), m]));
    // Each in its own language, counting the repeats of the invoice as one line of three.
    expect(byAddress.get('ana@example.com')!.subject).toContain('4 nouvelles alertes d’erreur');
    expect(byAddress.get('ben@example.com')!.subject).toContain('3 neue Fehleralarme');
    expect(byAddress.get('dora@example.com')!.subject).toContain('新しいエラー アラート 4 件');
    expect(byAddress.get('ops@example.com')!.subject).toContain('4 nuevas alertas de error');
    for (const mail of summaries) {
      expect(mail.text).toContain('Invoice run 42 failed');
      expect(mail.text).toMatch(/×\s?3/);
      expect(mail.text).not.toContain('Robot R3 is available');
      expect(mail.headers.get('x-tocsin-tenant')).toBe('acme');
      expect(mail.raw).toMatch(/^List-Unsubscribe:\s+<https:\/\/tocsin\.example\.com\/unsubscribe\/[\w.-]+>/m);
      expect(mail.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click/m);
      expect(mail.html).toBeTruthy();
    }
    // Ben unsubscribed from Robots: the offline robot is not in his summary.
    expect(byAddress.get('ben@example.com')!.text).not.toContain('Robot R2 went offline');
    expect(byAddress.get('ana@example.com')!.text).toContain('Robot R2 went offline');
    expect(immediate[0]!.text).toContain('Robot R2 went offline');
  });
});
