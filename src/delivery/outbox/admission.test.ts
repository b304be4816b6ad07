import { describe, expect, it } from 'vitest';
import type { SmtpEndpoint } from '../contract.js';
import { serverAddress } from './admission.js';

const endpoint = (host: string, connectAddress?: string): SmtpEndpoint => ({
  host,
  port: 587,
  security: 'starttls',
  authMethod: 'none',
  fromAddress: 'alerts@example.com',
  timeoutMs: 30_000,
  connectAddress,
});

describe('serverAddress', () => {
  it('writes an IPv6 server in brackets, as a URL does, so that the delivery log tells its port from its last group', () => {
    // "connect: 2001:db8::25:587 keeps failing" named no port a reader could find.
    expect(serverAddress(endpoint('2001:db8::25'))).toBe('[2001:db8::25]:587');
    expect(serverAddress(endpoint('smtp.example.com', '2001:db8::26'))).toBe('[2001:db8::26]:587');
    expect(serverAddress(endpoint('smtp.example.com'))).toBe('smtp.example.com:587');
    expect(serverAddress(endpoint('smtp.example.com', '192.0.2.25'))).toBe('192.0.2.25:587');
  });
});
