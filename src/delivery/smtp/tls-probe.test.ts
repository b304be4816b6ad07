import { describe, expect, it } from 'vitest';
import { type SmtpEndpoint, SmtpDeliveryError } from '../contract.js';
import { explainSilentGreeting } from './tls-probe.js';

const STARTTLS_ON_465: SmtpEndpoint = {
  host: 'smtp.example.com',
  port: 465,
  security: 'starttls',
  authMethod: 'auto',
  fromAddress: 'alerts@example.com',
  timeoutMs: 30_000,
};

describe('a port that expects implicit TLS', () => {
  it('is named by its key, for mail health to word in each reader’s language, the API keeping its sentence', async () => {
    const timeout = new SmtpDeliveryError('greeting timed out (30 s)', 'connect', true);
    const failure = await explainSilentGreeting(STARTTLS_ON_465, timeout, Promise.resolve(true));
    expect(failure.message).toBe(
      'the server sent no SMTP greeting: it expects implicit TLS from the first byte on port 465, not STARTTLS (choose security "tls", the Enable SSL box, usually with port 465)',
    );
    expect([failure.stage, failure.retryable, failure.code]).toEqual(['tls', false, undefined]);
    expect(failure.unreached).toEqual({ cause: 'implicit-tls', detail: '' });
    // A port that does not answer a handshake either: the timeout as it was, no cause of this kind.
    expect(await explainSilentGreeting(STARTTLS_ON_465, timeout, Promise.resolve(false))).toBe(timeout);
  });
});
