import { afterAll, describe, expect, it } from 'vitest';
import { createMailSender } from '../delivery/smtp/sender.js';
import { IDN_HOST } from '../../test/support/certificates.js';
import { startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { toEndpoint } from './endpoint.js';
import { mergeSmtp } from './smtp-settings.js';

describe('toEndpoint', () => {
  const sender = createMailSender();
  afterAll(() => sender.close());

  it('connects to an internationalized host by its punycode name, and verifies its certificate against that name', async () => {
    const server = await startTestSmtpServer({ tls: 'implicit' });
    try {
      const { smtp, secrets } = mergeSmtp(
        null,
        { password: null, accessToken: null },
        { host: IDN_HOST, port: server.port, security: 'tls', fromAddress: 'ops@bücher.example' },
      );
      expect(smtp.host).toBe(IDN_HOST);
      const endpoint = toEndpoint(smtp, secrets);
      expect(endpoint.host).toBe('smtp.xn--bcher-kva.example');
      // No DNS knows the name: the connection goes to the test server, as a checked address does (guardEndpoint).
      await sender.send(
        { ...endpoint, connectAddress: '127.0.0.1', ca: server.ca },
        {
          to: { address: 'ops@example.com' },
          messageId: '<idn@tocsin.test>',
          subject: 'IDN',
          text: 'hello',
          html: '<p>hello</p>',
          headers: { 'X-Tocsin-Kind': 'test', 'X-Tocsin-Tenant': 'acme' },
        },
      );
      expect(server.messages).toHaveLength(1);
      expect(server.messages[0]?.secure).toBe(true);
    } finally {
      await server.close();
    }
  });
});
