/**
 * Acceptance test told as a host administrator sees it: six tenants' SMTP servers misbehave at
 * once, each tenant with a flood of 100 Fatal alerts queued for it: two accept connections and never
 * greet, two take the message and never answer its "." (a 20-second timeout each), one greylists
 * every recipient (451 at RCPT) and one answers each message three seconds late: the four hanging
 * ones hold every one of the worker's 400 slots. Meanwhile a tenant on its own server and a tenant
 * on the system default each have a robot die and a summary window close: their Fatal emails and
 * summaries go within seconds, as the delivery log shows, and the misbehaving tenants' emails wait
 * for a retry. Driven over HTTP, the emails read from real SMTP servers.
 */
import { afterAll, expect, it } from 'vitest';
import { useListeningApp } from '../support/http.js';
import { type SilentServer, startDribblingServer, startSilentServer } from '../support/smtp-servers.js';
import { describeEachDialect } from '../support/storage.js';
import { until } from '../support/until.js';

/** FLOOD is each misbehaving tenant's Fatal alerts, each an email to its on-call reader. */
const FLOOD = 100;

/** HANG_MS is the hanging servers' tenants' timeout: far longer than the good tenants' emails may wait. */
const HANG_MS = 20_000;

interface Delivery {
  readonly kind: string;
  readonly status: string;
  readonly createdAt: string;
  readonly sentAt: string | null;
}

describeEachDialect("one tenant's bad mail server", (dialect) => {
  const { api, serverOfTenant } = useListeningApp(dialect);
  const raw: SilentServer[] = [];
  afterAll(async () => {
    for (const server of raw) await server.close();
  });

  /** tenantOn creates a tenant whose on-call reader wants Fatal alerts at once and the summaries, on its own server (a port) or the system default. */
  const tenantOn = async (tenant: string, port: number | 'default', timeoutMs = 1_000) => {
    await api('POST', '', { name: tenant, timeZone: 'UTC' });
    await api('PUT', `/${tenant}/settings/mail`, {
      alertsEmailEnabled: true,
      ...(port === 'default'
        ? { useCustom: false }
        : { useCustom: true, custom: { host: '127.0.0.1', port, security: 'none', fromAddress: `alerts@${tenant}.example`, timeoutMs } }),
    });
    const { id } = await api('POST', `/${tenant}/users`, { email: `on-call@${tenant}.example`, name: 'On call', roles: ['Alerts Viewer'] });
    await api('PUT', `/${tenant}/users/${id}/alert-preferences`, { email: { fatalImmediately: true, tenMinuteSummary: true, dailyReport: false } });
  };
  const deliveries = async (tenant: string): Promise<Delivery[]> => (await api('GET', `/${tenant}/deliveries?limit=200`)).items;

  it("leaves the other tenants' Fatal emails and summaries on time", async () => {
    const hangs = {
      silent: await startSilentServer(),
      mute: await startSilentServer(),
      hanging: await startDribblingServer(1_000),
      stalled: await startDribblingServer(1_000),
    };
    raw.push(...Object.values(hangs));
    for (const [tenant, server] of Object.entries(hangs)) await tenantOn(tenant, server.port, HANG_MS);
    const greylisting = await serverOfTenant({ failures: [{ at: 'rcpt', code: 451, message: '4.7.1 Greylisted, try again later' }] });
    await tenantOn('greylisting', greylisting.port);
    await tenantOn('slow', (await serverOfTenant({ dataReplyDelayMs: 3_000 })).port);
    const bad = [...Object.keys(hangs), 'greylisting', 'slow'];
    const own = await serverOfTenant();
    await tenantOn('own', own.port);
    await tenantOn('shared', 'default');

    for (const tenant of bad) {
      await api('POST', `/${tenant}/alerts`, {
        alerts: Array.from({ length: FLOOD }, (_, n) => ({ severity: 'Fatal', component: 'Queues', message: `item ${n} failed` })),
      });
    }
    for (const tenant of ['own', 'shared']) {
      await api('POST', `/${tenant}/alerts`, { severity: 'Fatal', component: 'Robots', message: 'robot 7 died' });
    }

    // Each good tenant's Fatal email, and the summary of the 2-second window it fell in.
    const sent = async (tenant: string) => (await deliveries(tenant)).filter((d) => d.status === 'sent');
    await until(async () => (await sent('own')).length === 2 && (await sent('shared')).length === 2, 'the good tenants’ emails sent', {
      timeoutMs: 30_000,
    });
    for (const tenant of ['own', 'shared']) {
      const emails = await sent(tenant);
      expect(emails.map((d) => d.kind).sort()).toEqual(['immediate', 'summary']);
      // Queued to sent, as the delivery log says: within seconds (0.4 to 1.5 s here), not after the
      // hanging servers' timeouts (18.7 to 22.4 s while their sends held all 400 slots).
      for (const email of emails) expect(Date.parse(email.sentAt!) - Date.parse(email.createdAt), `${tenant}'s ${email.kind}`).toBeLessThan(5_000);
    }
    // The hanging servers give up (closed here rather than waiting out their timeout): their emails,
    // like the greylisted ones, wait for a retry; none is lost or failed.
    for (const server of raw.splice(0)) await server.close();
    for (const tenant of [...Object.keys(hangs), 'greylisting']) {
      await until(async () => (await deliveries(tenant)).some((d) => d.status === 'retrying'), `a retry of ${tenant}'s emails`, { timeoutMs: 30_000 });
      expect((await deliveries(tenant)).filter((d) => d.status === 'failed')).toEqual([]);
    }
  }, 120_000);
});
