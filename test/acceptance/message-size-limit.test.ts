/**
 * A big day against a server with a message size limit: the summary of a window full of long Error
 * alerts is larger than the server takes (EHLO SIZE n). Tocsin declares each message's size at MAIL
 * FROM (SIZE=), so the server refuses it there with its 552, before reading it, as Postfix's
 * message_size_limit does. The reader still gets a summary, a shorter one counting what it leaves out
 * and linking to the alert list, and the tenant's mail is not called failing for it.
 */
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ListeningApp, startListeningApp } from '../support/http.js';
import { dailyReportTimeAway } from '../support/report-runs.js';
import { type TestSmtpServer, startTestSmtpServer } from '../support/smtp-servers.js';
import { describeEachDialect } from '../support/storage.js';

/** declaredSizes are the SIZE= each MAIL FROM the server saw declared. */
const declaredSizes = (server: TestSmtpServer) => server.mailFromCommands.map((line) => Number(/ SIZE=(\d+)/.exec(line)?.[1]));

// Well under the full summary of the alerts below (about 150 KB), above what its shorter form needs.
const LIMIT = 40_000;

describeEachDialect('a summary larger than the SMTP server takes', (dialect) => {
  let smtp: TestSmtpServer;
  let tiny: TestSmtpServer;
  let app: ListeningApp;
  beforeAll(async () => {
    smtp = await startTestSmtpServer({ maxMessageBytes: LIMIT });
    tiny = await startTestSmtpServer({ maxMessageBytes: 2_000 });
    app = await startListeningApp(dialect, `smtp://127.0.0.1:${smtp.port}?from=alerts@example.com`);
  });
  afterAll(async () => {
    await app?.close();
    await smtp?.close();
    await tiny?.close();
  });

  const api: ListeningApp['api'] = (...args) => app.api(...args);
  const longAlerts = (count: number) =>
    Array.from({ length: count }, (_, i) => ({
      severity: 'Error',
      component: 'Jobs',
      message: `Job ${i} faulted: ${'System.Exception at UiPath.Core.Activities.Click.Execute(CodeActivityContext context) '.repeat(12)}`,
      source: { process: `Process_${i}`, robot: `ROBOT-${i}`, machine: `VM-${i}` },
    }));

  it('is sent again shorter, saying how many alerts it leaves out and linking to them, and no mail failure is raised', async () => {
    await api('POST', '', { name: 'bigday', timeZone: 'UTC' });
    await api('PUT', '/bigday/settings/mail', { alertsEmailEnabled: true, dailyReportTime: dailyReportTimeAway('UTC') });
    await api('POST', '/bigday/users', { email: 'ann@example.com', name: 'Ann', roles: ['Administrator'] });
    await api('POST', '/bigday/alerts', { alerts: longAlerts(60) });

    const [mail] = await smtp.waitForMessages(1, 30_000);
    // Refused at MAIL FROM for the size it declared, never read whole; the shorter one declared its size too.
    expect(smtp.tooLarge).toEqual([]);
    const [refused, shorter] = declaredSizes(smtp);
    expect(refused).toBeGreaterThan(LIMIT);
    expect(shorter).toBe(Buffer.byteLength(mail!.raw));
    expect(Buffer.byteLength(mail!.raw)).toBeLessThanOrEqual(LIMIT);
    const parsed = await simpleParser(mail!.raw);
    expect(parsed.headers.get('x-tocsin-kind')).toBe('summary');
    expect(parsed.subject).toContain('60 new error alerts');
    const shown = (parsed.text ?? '').split('\n').filter((line) => line.startsWith('[Error]')).length;
    expect(shown).toBeLessThan(60);
    expect(parsed.text).toContain(`${60 - shown} more alerts are not shown here.`);
    expect(parsed.text).toMatch(/See more: https:\/\/tocsin\.example\.com\/#\/alerts\?tenant=[^&]+&severity=Error&since=/);

    // Recorded once the server's 250 is read, a moment after the message reached it.
    const summary = async () => (await api('GET', '/bigday/deliveries?kind=summary')).items[0];
    await expect.poll(summary, { timeout: 10_000, interval: 50 }).toMatchObject({ status: 'sent', attempts: 2 });
    expect(await api('GET', '/bigday/settings/mail/health')).toMatchObject({ state: 'ok' });
  });

  it('fails, and the tenant is told, when even the shorter summary is too large: sent twice, not again and again', async () => {
    await api('POST', '', { name: 'tinylimit', timeZone: 'UTC' });
    await api('PUT', '/tinylimit/settings/mail', {
      alertsEmailEnabled: true,
      dailyReportTime: dailyReportTimeAway('UTC'),
      useCustom: true,
      custom: { host: '127.0.0.1', port: tiny.port, security: 'none', fromAddress: 'alerts@tinylimit.example' },
    });
    await api('POST', '/tinylimit/users', { email: 'tim@example.com', name: 'Tim', roles: ['Administrator'] });
    await api('POST', '/tinylimit/alerts', { alerts: longAlerts(5) });

    const failed = async () => (await api('GET', '/tinylimit/deliveries?kind=summary&status=failed')).items;
    await expect.poll(failed, { timeout: 30_000, interval: 100 }).toHaveLength(1);
    expect((await failed())[0]).toMatchObject({ attempts: 2, smtpResponse: '552 Error: message exceeds fixed maximum message size 2000' });
    expect(tiny.tooLarge).toEqual([]);
    const sizes = declaredSizes(tiny);
    expect(sizes).toHaveLength(2);
    expect(sizes[1]).toBeLessThan(sizes[0]!);
    await expect.poll(async () => (await api('GET', '/tinylimit/settings/mail/health')).state, { timeout: 10_000, interval: 100 }).toBe('failing');
  });
});
