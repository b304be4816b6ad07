/**
 * Acceptance test told as a host administrator sees it: many tenants send through the system
 * default SMTP server, which takes its time (each message answered a fifth of a second late). One
 * tenant's alert flood fills its connections; meanwhile another tenant's robot dies, and its on-call
 * reader's Fatal email goes out within a turn of the server's connections, not behind the flood.
 * Driven over HTTP, the emails read, in the order they arrived, from a real SMTP server.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ListeningApp, startListeningApp } from '../support/http.js';
import { type TestSmtpServer, startTestSmtpServer } from '../support/smtp-servers.js';
import { describeEachDialect } from '../support/storage.js';
import { until } from '../support/until.js';

/** FLOOD is more Fatal alerts than a worker sends for one tenant at once (100), all waiting for the server's connections. */
const FLOOD = 120;

describeEachDialect('tenants sharing the system default server', (dialect) => {
  let shared: TestSmtpServer;
  let app: ListeningApp;
  beforeAll(async () => {
    shared = await startTestSmtpServer({ dataReplyDelayMs: 200 });
    app = await startListeningApp(dialect, `smtp://127.0.0.1:${shared.port}?from=alerts@example.com`);
  });
  afterAll(async () => {
    await app?.close();
    await shared?.close();
  });

  /** onCallTenant creates a tenant on the system default with one reader who wants Fatal alerts at once. */
  const onCallTenant = async (tenant: string) => {
    await app.api('POST', '', { name: tenant, timeZone: 'UTC' });
    await app.api('PUT', `/${tenant}/settings/mail`, { alertsEmailEnabled: true, useCustom: false });
    const { id } = await app.api('POST', `/${tenant}/users`, { email: `on-call@${tenant}.example`, name: 'On call', roles: ['Alerts Viewer'] });
    await app.api('PUT', `/${tenant}/users/${id}/alert-preferences`, { email: { fatalImmediately: true, tenMinuteSummary: false, dailyReport: false } });
  };

  it("take turns for its connections: one tenant's flood does not hold up another tenant's Fatal email", async () => {
    await onCallTenant('flooded');
    await onCallTenant('quiet');

    await app.api('POST', '/flooded/alerts', {
      alerts: Array.from({ length: FLOOD }, (_, n) => ({ severity: 'Fatal', component: 'Queues', message: `item ${n} failed` })),
    });
    // The flood is at the server: its first emails arrived, the rest wait for its connections.
    await shared.waitForMessages(1, 30_000);
    await app.api('POST', '/quiet/alerts', { severity: 'Fatal', component: 'Robots', message: 'robot 7 died' });

    await shared.waitForMessages(FLOOD + 1, 60_000);
    const arrivals = shared.messages.map((m) => m.envelope.to.join(','));
    const quietAt = arrivals.indexOf('on-call@quiet.example');
    // Ten connections, each a message every 0.2 s: it goes within a turn or two of them. Queued in
    // order behind the flood's waiting emails it went about 100th, 2 s late (20 s behind a server
    // taking a message a second); the margin is for a loaded machine's slower POST.
    expect(quietAt).toBeLessThan(40);
    const [quiet] = (await app.api('GET', '/quiet/deliveries?kind=immediate')).items as { createdAt: string; sentAt: string }[];
    const waitedMs = Date.parse(quiet!.sentAt) - Date.parse(quiet!.createdAt);
    expect(waitedMs).toBeLessThan(1_500);
    await until(async () => (await app.api('GET', '/flooded/deliveries?status=sent&limit=200')).items.length === FLOOD, 'the whole flood sent');
  }, 120_000);
});
