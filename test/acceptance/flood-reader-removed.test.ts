/**
 * Acceptance test: a flood of Fatal alerts drains through a slow SMTP server, its emails waiting
 * their turn for one of the server's connections. A reader deleted, or who snoozes the alerts,
 * while they wait gets none of those still waiting: only those already at the server arrive, and
 * the delivery log says why each other one was not sent. Driven over HTTP with real SMTP servers.
 */
import { expect, it } from 'vitest';
import { CONNECTIONS_PER_ENDPOINT } from '../../src/delivery/smtp/sender.js';
import { NOTHING_LEFT, NOT_A_READER } from '../../src/reports/composers.js';
import { tenantWithFatalReader, useListeningApp } from '../support/http.js';
import { describeEachDialect } from '../support/storage.js';
import { until } from '../support/until.js';

describeEachDialect('a reader removed while a flood of Fatal emails waits for the server', (dialect) => {
  const { api, serverOfTenant } = useListeningApp(dialect);

  const FLOOD = 40;
  for (const [change, why, code] of [
    ['deleted', NOT_A_READER, 'not-a-reader'],
    ['snoozes Jobs', NOTHING_LEFT, 'nothing-left'],
  ] as const) {
    it(`gets none of the emails still waiting once ${change}`, async () => {
      const server = await serverOfTenant();
      const tenant = change === 'deleted' ? 'gone-reader' : 'snoozer';
      const id = await tenantWithFatalReader(api, tenant, server.port);
      const { token } = await api('POST', `/${tenant}/users/${id}/tokens`, { name: 'phone' });

      // The server holds its answer to each message: the first emails are at it, the rest wait for a connection.
      server.holdReplies();
      await api('POST', `/${tenant}/alerts`, {
        alerts: Array.from({ length: FLOOD }, (_, n) => ({ severity: 'Fatal', component: 'Jobs', message: `robot ${n} died` })),
      });
      // Every connection the sender opens to one server (CONNECTIONS_PER_ENDPOINT) holds a message.
      await server.waitForHeld(CONNECTIONS_PER_ENDPOINT);
      const atServer = CONNECTIONS_PER_ENDPOINT;
      if (change === 'deleted') await api('DELETE', `/${tenant}/users/${id}`);
      else await api('POST', `/${tenant}/mutes`, { scope: 'user', match: { component: 'Jobs' }, until: new Date(Date.now() + 3_600_000).toISOString() }, token);
      server.releaseReplies();

      const deliveries = async () =>
        (await api('GET', `/${tenant}/deliveries?limit=100`)).items as { status: string; lastError: string | null; notSent: string | null }[];
      await until(async () => (await deliveries()).every((d) => d.status === 'sent' || d.status === 'failed'), 'every email decided', { timeoutMs: 30_000 });
      expect(server.messages).toHaveLength(atServer);
      const failed = (await deliveries()).filter((d) => d.status === 'failed');
      expect(failed).toHaveLength(FLOOD - atServer);
      expect(new Set(failed.map((d) => d.lastError))).toEqual(new Set([`render: ${why}`]));
      // The reason's code too, which the console words in its reader's language.
      expect(new Set(failed.map((d) => d.notSent))).toEqual(new Set([code]));
    }, 60_000);
  }
});
