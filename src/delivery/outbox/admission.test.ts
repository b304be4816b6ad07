import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { SmtpEndpoint } from '../contract.js';
import type { Delivery } from './delivery.js';
import { Admission, FORGET_UNSEEN_MS, type HeldRow, serverAddress } from './admission.js';

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

/** A connection refused, as classify.ts words it, which mail health words per reader by its cause. */
const refused = {
  error: 'connect: connect ECONNREFUSED 192.0.2.25:587',
  unreached: { cause: 'refused' as const, detail: 'connect ECONNREFUSED 192.0.2.25:587' },
};

describe('Admission breakers', () => {
  const policy = { failureThreshold: 1, initialCooldownMs: 1_000, maxCooldownMs: 4_000 };
  const server = endpoint('smtp.example.com');
  const paused = () => {
    const admission = new Admission({ global: 10, perTenant: 10 }, 10, policy, pino({ level: 'silent' }));
    admission.endpointFailed(server, 0, refused);
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

  it("hands on each verdict that holds tenants out, once, with the tenants whose health is theirs, since the breaker opened, and the server's own failure", () => {
    // Mail health quoted "connect: smtp.example.com:587 keeps failing; its emails are paused until
    // 2026-…Z", Tocsin's own words and a UTC time, as the server's last reply: the held-out tenants'
    // failing notice and alert never said why (a refused connection, a 421).
    const busy = { error: 'data: 421 4.3.2 Too busy, try later', code: 421 };
    const admission = new Admission({ global: 10, perTenant: 10 }, 10, policy, pino({ level: 'silent' }));
    admission.seenServer('a', server);
    admission.seenServer('b', server);
    admission.seenServer('stood-in-for', { ...server, fallback: true });
    admission.seenServer('elsewhere', endpoint('smtp.other.example'));
    admission.endpointFailed(server, 100, refused);
    expect(admission.takeHeldOut()).toEqual([{ tenantIds: ['a', 'b'], since: 100, until: 1_100, at: 100, failure: refused }]);
    expect(admission.takeHeldOut()).toEqual([]);
    // A failure while open (a send already under way) is no new verdict; the failed probe is.
    admission.endpointFailed(server, 200, refused);
    expect(admission.takeHeldOut()).toEqual([]);
    expect(admission.admitEndpoint('a', server, 1_100)).toEqual({ allow: true, probe: true });
    admission.endpointFailed(server, 1_200, busy);
    expect(admission.takeHeldOut()).toEqual([{ tenantIds: ['a', 'b'], since: 100, until: 3_200, at: 1_200, failure: busy }]);
    admission.endpointAnswered(server);
    expect(admission.takeHeldOut()).toEqual([]);
  });
});

describe('Admission memory', () => {
  const policy = { failureThreshold: 1, initialCooldownMs: 1_000, maxCooldownMs: 4_000 };
  const admission = () => new Admission({ global: 10, perTenant: 10 }, 10, policy, pino({ level: 'silent' }));

  it('forgets the tenants that stopped sending and the servers that work again, so that tenants deleted or moved elsewhere are not kept for ever', () => {
    // A soak with tenants created and deleted kept one entry per tenant that ever sent, and one
    // breaker per server ever used, for the process's life; each claim's plan looked through them.
    const gate = new Admission({ global: 10, perTenant: 10 }, 10, { ...policy, failureThreshold: 5 }, pino({ level: 'silent' }));
    gate.plan(0);
    for (let i = 0; i < 1_000; i++) {
      const answered = endpoint(`smtp${i}.example.com`);
      gate.admitEndpoint(`tenant-${i}`, answered, i);
      gate.endpointFailed(answered, i, refused);
      gate.admitEndpoint(`tenant-${i}`, answered, i);
      gate.endpointAnswered(answered);
      // A server that failed once and was never used again (the tenant's settings changed).
      const left = endpoint(`left${i}.example.com`);
      gate.admitEndpoint(`moved-${i}`, left, i);
      gate.endpointFailed(left, i, refused);
      // And one left while paused: its tenant moved to another server after it opened.
      const paused = endpoint(`paused${i}.example.com`);
      for (let n = 0; n < 5; n++) gate.endpointFailed(paused, i, refused);
    }
    gate.plan(FORGET_UNSEEN_MS);
    gate.plan(2 * FORGET_UNSEEN_MS);
    expect(gate.tracked()).toEqual({ tenants: 0, breakers: 0 });
  });

  it('keeps the tenants seen since the last look and those of a paused server still tried, whom its verdicts hold out', () => {
    const gate = admission();
    const paused = endpoint('smtp.example.com');
    const other = endpoint('smtp.other.example');
    const hour = FORGET_UNSEEN_MS;
    gate.plan(0);
    gate.seenServer('a', paused);
    gate.seenServer('b', paused);
    gate.endpointFailed(paused, 100, refused);
    gate.seenServer('idle', other);
    gate.plan(hour);
    // a's rows probe the paused server, which fails again; b has sent nothing since, but is held out as much.
    expect(gate.admitEndpoint('a', paused, hour + 1)).toEqual({ allow: true, probe: true });
    gate.endpointFailed(paused, hour + 1, refused);
    gate.seenServer('recent', other);
    gate.plan(2 * hour);
    expect(gate.tracked()).toEqual({ tenants: 3, breakers: 1 });
    gate.takeHeldOut();
    expect(gate.admitEndpoint('a', paused, 2 * hour)).toEqual({ allow: true, probe: true });
    gate.endpointFailed(paused, 2 * hour, refused);
    gate.endpointFailed(other, 2 * hour, refused);
    expect(gate.takeHeldOut().map((held) => held.tenantIds)).toEqual([['a', 'b'], ['recent']]);
    // Left for an hour (the tenants moved or deleted), the paused server is forgotten with them.
    gate.plan(3 * hour);
    gate.plan(4 * hour);
    expect(gate.tracked()).toEqual({ tenants: 0, breakers: 0 });
  });
});

describe('Admission waiting rows', () => {
  const row = (id: string, kind: Delivery['kind']): HeldRow => ({ tenantId: 't', delivery: { id, kind } as Delivery, claimedAt: 0 });

  it("starts a Fatal email or a mail-health notice claimed later before the tenant's reports already waiting", () => {
    const admission = new Admission(
      { global: 10, perTenant: 1 },
      10,
      { failureThreshold: 5, initialCooldownMs: 1_000, maxCooldownMs: 4_000 },
      pino({ level: 'silent' }),
    );
    admission.hold([row('daily-1', 'daily'), row('daily-2', 'daily'), row('daily-3', 'daily')], true);
    expect(admission.admit().map((r) => r.delivery.id)).toEqual(['daily-1']);
    admission.hold([row('summary-1', 'summary'), row('fatal-1', 'immediate'), row('health-1', 'mail-health')], false);
    const started: string[] = [];
    for (let i = 0; i < 5; i++) {
      admission.release('t');
      started.push(...admission.admit().map((r) => r.delivery.id));
    }
    expect(started).toEqual(['fatal-1', 'health-1', 'daily-2', 'daily-3', 'summary-1']);
  });
});

describe('Admission in the reserve', () => {
  const row = (tenantId: string, id: string): HeldRow => ({ tenantId, delivery: { id, kind: 'summary' } as Delivery, claimedAt: 0 });

  it('starts a bunch of a tenant’s rows at most once every global slot is taken, however many it claimed in the reserve', () => {
    // A claim in the reserve may bring one tenant's rows only: started all at once, one more hanging
    // server would hold the whole reserve, and the next tenant's email would wait for its timeout again.
    const admission = new Admission(
      { global: 2, perTenant: 10 },
      10,
      { failureThreshold: 5, initialCooldownMs: 1_000, maxCooldownMs: 4_000 },
      pino({ level: 'silent' }),
    );
    admission.hold([row('hanging', 'h-1'), row('hanging', 'h-2')], true);
    expect(admission.admit()).toHaveLength(2);
    admission.hold(
      Array.from({ length: 5 }, (_, i) => row('fresh', `f-${i}`)),
      false,
    );
    // A bunch of a tenant of 10 is one.
    expect(admission.admit().map((r) => r.delivery.id)).toEqual(['f-0']);
    expect(admission.waiting).toHaveLength(4);
  });
});
