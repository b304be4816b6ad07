/**
 * Acceptance test: an administrator who saves new mail settings (another server, a corrected
 * password) while an email is being sent through the old ones does not leave that email behind.
 * The save makes due at once the emails then waiting; the one in flight, refused for now by the old
 * server a moment later, tries the new settings at once too, not after its 30-second (up to
 * 30-minute) backoff. Driven over HTTP, the emails read from real SMTP servers.
 */
import { expect, it } from 'vitest';
import { tenantWithFatalReader, useListeningApp } from '../support/http.js';
import { describeEachDialect } from '../support/storage.js';

describeEachDialect('mail settings saved while an email is in flight', (dialect) => {
  const { api, serverOfTenant } = useListeningApp(dialect);
  const serverOn = (port: number) => ({ useCustom: true, custom: { host: '127.0.0.1', port, security: 'none', fromAddress: 'alerts@acme.example' } });

  it('sends the email the old server refused for now through the new one at once', async () => {
    const old = await serverOfTenant({ failures: [{ at: 'data', code: 451, message: '4.3.0 try again later' }] });
    const fixed = await serverOfTenant();
    await tenantWithFatalReader(api, 'acme', old.port);

    // The Fatal alert's email is at the old server, waiting for its answer to the message.
    old.holdReplies();
    await api('POST', '/acme/alerts', { severity: 'Fatal', component: 'Jobs', message: 'robot 7 died' });
    await old.waitForHeld(1);
    // The administrator moves the tenant to another server; then the old one says "try again later".
    await api('PUT', '/acme/settings/mail', serverOn(fixed.port));
    old.releaseReplies();

    // Its first retry would be 24 to 36 s later; the new server gets it well before.
    const [mail] = await fixed.waitForMessages(1, 15_000);
    expect(mail!.envelope.to).toEqual(['ann@acme.example']);
    const { items } = await api('GET', '/acme/deliveries?kind=immediate');
    expect(items.map((d: { attempts: number }) => d.attempts)).toEqual([2]);
  }, 60_000);
});
