import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { SmtpEndpoint } from '../contract.js';
import { Admission, serverAddress } from './admission.js';

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

describe('Admission breakers', () => {
  const policy = { failureThreshold: 1, initialCooldownMs: 1_000, maxCooldownMs: 4_000 };
  const server = endpoint('smtp.example.com');
  const paused = () => {
    const admission = new Admission({ global: 10, perTenant: 10 }, 10, policy, pino({ level: 'silent' }));
    admission.endpointFailed(server, 0);
    return admission;
  };

  it("tells the sends waiting on a server's probe how it went", async () => {
    const admission = paused();
    expect(admission.admitEndpoint('t', server, 500)).toEqual({ allow: false, retryAt: 1_000 });
    expect(admission.admitEndpoint('t', server, 1_000)).toEqual({ allow: true, probe: true });
    const waiting = admission.admitEndpoint('t', server, 1_001);
    if (waiting.allow || !waiting.probe) throw new Error('expected to wait on the probe');
    admission.endpointAnswered(server);
    expect(await waiting.probe).toBe(true);
    expect(admission.admitEndpoint('t', server, 1_002)).toEqual({ allow: true, probe: false });
  });

  it('hands the probe on when it never reached the server, rather than keeping the server paused for good', async () => {
    const admission = paused();
    expect(admission.admitEndpoint('t', server, 1_000)).toEqual({ allow: true, probe: true });
    const waiting = admission.admitEndpoint('t', server, 1_001);
    if (waiting.allow || !waiting.probe) throw new Error('expected to wait on the probe');
    admission.probeUntried(server);
    expect(await waiting.probe).toBe(false);
    expect(admission.pausedTenants(1_002)).toEqual([]);
    expect(admission.admitEndpoint('t', server, 1_002)).toEqual({ allow: true, probe: true });
  });

  it('hands on each verdict that holds tenants out, once, with the tenants whose health is theirs, since the breaker opened', () => {
    const admission = new Admission({ global: 10, perTenant: 10 }, 10, policy, pino({ level: 'silent' }));
    admission.seenServer('a', server);
    admission.seenServer('b', server);
    admission.seenServer('stood-in-for', { ...server, fallback: true });
    admission.seenServer('elsewhere', endpoint('smtp.other.example'));
    admission.endpointFailed(server, 100);
    expect(admission.takeHeldOut()).toEqual([
      { tenantIds: ['a', 'b'], since: 100, until: 1_100, at: 100, error: expect.stringContaining('smtp.example.com:587') },
    ]);
    expect(admission.takeHeldOut()).toEqual([]);
    // A failure while open (a send already under way) is no new verdict; the failed probe is.
    admission.endpointFailed(server, 200);
    expect(admission.takeHeldOut()).toEqual([]);
    expect(admission.admitEndpoint('a', server, 1_100)).toEqual({ allow: true, probe: true });
    admission.endpointFailed(server, 1_200);
    expect(admission.takeHeldOut()).toEqual([{ tenantIds: ['a', 'b'], since: 100, until: 3_200, at: 1_200, error: expect.any(String) }]);
    admission.endpointAnswered(server);
    expect(admission.takeHeldOut()).toEqual([]);
  });
});
