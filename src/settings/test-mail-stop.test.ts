/**
 * Test Mail Settings when Tocsin stops: a test waiting on a silent server (a hung smarthost, a
 * firewall that accepts and drops) must not hold a SIGTERM for the test's whole timeout.
 */
import { expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestApp } from '../../test/support/http.js';
import { startSilentServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
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

  it('says the email may still arrive when Tocsin stops while the server has the message but has not answered its final "."', async () => {
    // The answer said "the test was called off. Try again" at stage connect while the server, which
    // had the whole message, queued it: the test email arrived, and a retry sent a second one.
    const smtp = await startTestSmtpServer();
    smtp.holdReplies();
    const t = await startTestApp(dialect, {}, { listen: true });
    try {
      await t.tenantWithUser('stopping-late');
      const answer = fetch(`${t.tocsin.url}/api/v1/tenants/stopping-late/settings/mail/test`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          sendTo: 'qa@example.com',
          settings: { host: '127.0.0.1', port: smtp.port, security: 'none', authMethod: 'none', fromAddress: 'alerts@example.com', timeoutMs: 120_000 },
        }),
      });
      await smtp.waitForHeld(1, 60_000);
      await t.close();
      const res = await answer;
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ok: false, stage: 'data', message: expect.stringMatching(/stopping.*may still arrive/) });
    } finally {
      smtp.releaseReplies();
      await smtp.close();
    }
  });
});
