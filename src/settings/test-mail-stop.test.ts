/**
 * Test Mail Settings when Tocsin stops: a test waiting on a silent server (a hung smarthost, a
 * firewall that accepts and drops) must not hold a SIGTERM for the test's whole timeout.
 */
import { expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApp } from '../../test/support/http.js';
import { startSilentServer } from '../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { until } from '../../test/support/until.js';

describeEachDialect('Test Mail Settings while Tocsin stops', (dialect) => {
  it('answers a test still waiting for a silent server that Tocsin is stopping, and stops without waiting for the timeout', async () => {
    const silent = await startSilentServer();
    const t = await startTestApp(dialect, {}, { listen: true });
    try {
      await t.tenantWithUser('stopping');
      const answer = fetch(`${t.tocsin.url}/api/v1/tenants/stopping/settings/mail/test`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          sendTo: 'qa@example.com',
          settings: { host: '127.0.0.1', port: silent.port, security: 'none', authMethod: 'none', fromAddress: 'alerts@example.com', timeoutMs: 120_000 },
        }),
      });
      await until(() => silent.connections() > 0, 'the test to connect');
      // The stop (SIGTERM's) waits for requests in flight: this one is answered, the greeting's two minutes not waited for.
      await t.close();
      const res = await answer;
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ok: false, stage: 'connect', message: expect.stringContaining('stopping') });
      await silent.allClosed();
    } finally {
      await silent.close();
    }
  });
});
