/**
 * Acceptance test: a Fatal alert's immediate email that waits in the queue before its first try
 * (its server paused after failing, down meanwhile) is written for the world as it is when it goes:
 * a reader who snoozed the alert or turned these emails off while it waited does not get it, and
 * the delivery log says why. Driven over HTTP, the emails read from real SMTP servers.
 */
import { expect, it } from 'vitest';
import { NOTHING_LEFT, TURNED_OFF } from '../../src/reports/composers.js';
import { useListeningApp } from '../support/http.js';
import { freePort } from '../support/ports.js';
import { describeEachDialect } from '../support/storage.js';
import { until } from '../support/until.js';

describeEachDialect('a Fatal email queued behind a paused server', (dialect) => {
  const { api, serverOfTenant } = useListeningApp(dialect);

  it('is not sent to a reader who snoozed its alert or turned Fatal emails off before its first try', async () => {
    const sink = await serverOfTenant();
    const serverOn = (port: number) => ({ useCustom: true, custom: { host: '127.0.0.1', port, security: 'none', fromAddress: 'alerts@acme.example' } });
    await api('POST', '', { name: 'acme' });
    await api('PUT', '/acme/settings/mail', { alertsEmailEnabled: true, ...serverOn(await freePort()) });
    const reader = async (name: string) => {
      const { id } = await api('POST', '/acme/users', { email: `${name}@acme.example`, name, roles: ['Alerts Viewer'] });
      await api('PUT', `/acme/users/${id}/alert-preferences`, { email: { fatalImmediately: true, tenMinuteSummary: false, dailyReport: false } });
      return id as string;
    };
    await reader('keep');
    const snoozer = await reader('snoozer');
    const off = await reader('off');
    const snoozerToken = (await api('POST', `/acme/users/${snoozer}/tokens`, { name: 'phone' })).token;
    const deliveries = async () =>
      (await api('GET', '/acme/deliveries?kind=immediate&limit=100')).items as {
        recipient: string;
        status: string;
        attempts: number;
        lastError: string | null;
      }[];

    // The tenant's server is down: two Fatal alerts' six emails fail to connect, which pauses it.
    await api('POST', '/acme/alerts', { alerts: [1, 2].map((n) => ({ severity: 'Fatal', component: 'Jobs', message: `robot ${n} died` })) });
    await until(async () => (await deliveries()).filter((d) => d.status === 'retrying').length === 6, 'six emails waiting for a retry');
    // A third one's emails wait for the server, never tried.
    await api('POST', '/acme/alerts', { severity: 'Fatal', component: 'Jobs', message: 'robot 3 died' });
    await until(async () => (await deliveries()).filter((d) => d.attempts === 0).length === 3, 'three emails waiting for their first try');

    // Meanwhile one reader snoozes Jobs, another turns Fatal emails off; then the server is fixed.
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
    await api('POST', '/acme/mutes', { scope: 'user', match: { component: 'Jobs' }, until: inAnHour }, snoozerToken);
    await api('PUT', `/acme/users/${off}/alert-preferences`, { email: { fatalImmediately: false } });
    await api('PUT', '/acme/settings/mail', serverOn(sink.port));

    await sink.waitForMessages(3);
    await until(async () => (await deliveries()).every((d) => d.status === 'sent' || d.status === 'failed'), 'every email decided');
    expect(sink.messages.flatMap((m) => m.envelope.to).sort()).toEqual(['keep@acme.example', 'keep@acme.example', 'keep@acme.example']);
    const of = async (recipient: string) => (await deliveries()).filter((d) => d.recipient === recipient).map((d) => [d.status, d.lastError]);
    expect(await of('snoozer@acme.example')).toEqual(Array(3).fill(['failed', `render: ${NOTHING_LEFT}`]));
    expect(await of('off@acme.example')).toEqual(Array(3).fill(['failed', `render: ${TURNED_OFF}`]));
  }, 60_000);
});
