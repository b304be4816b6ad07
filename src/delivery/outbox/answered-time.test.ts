import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../shared/clock.js';
import type { Storage } from '../../storage/storage.js';
import { AnsweredTime } from './answered-time.js';

const LEASE_MS = 60_000;
const HEARTBEAT_MS = LEASE_MS / 6;

describe('AnsweredTime', () => {
  it('takes over expired leases once the database has answered for a whole lease, and counts again from its return after a third of a lease without answers', () => {
    // A worker that cannot reach the database for more than two heartbeats may see leases run out
    // that their living owner could not renew: it waits a whole lease of answers after that break.
    const clock = new FakeClock(0);
    const runs: number[] = [];
    const answered = new AnsweredTime({ storage: {} as Storage, clock, leaseMs: LEASE_MS, onRun: () => runs.push(clock.now()) });
    for (let at = 0; at < LEASE_MS; at += HEARTBEAT_MS) {
      clock.set(at);
      answered.answered();
      expect(answered.wholeLease()).toBe(false);
    }
    clock.set(LEASE_MS);
    expect(answered.wholeLease()).toBe(true);
    answered.answered();
    // Two and a half heartbeats without an answer: a break, even before the next answer comes.
    clock.advance(2.5 * HEARTBEAT_MS);
    expect(answered.wholeLease()).toBe(false);
    expect(answered.since).toBeUndefined();
    answered.answered();
    expect(runs).toEqual([0, LEASE_MS + 2.5 * HEARTBEAT_MS]);
    clock.advance(LEASE_MS - 1);
    answered.answered();
    expect(answered.wholeLease()).toBe(false);
  });

  it('counts a whole lease again from the clock stepped back, not from before the step', () => {
    // Stepped back an hour (NTP, on SQLite's machine or PostgreSQL's server), a worker's run of answers began an hour
    // ahead of its clock: it took over no lease for that hour, and a dead worker's emails waited all of it.
    const clock = new FakeClock(3_600_000);
    const answered = new AnsweredTime({ storage: {} as Storage, clock, leaseMs: LEASE_MS });
    for (let at = 0; at <= LEASE_MS; at += HEARTBEAT_MS) {
      clock.set(3_600_000 + at);
      answered.answered();
    }
    expect(answered.wholeLease()).toBe(true);
    clock.set(0);
    expect(answered.wholeLease()).toBe(false);
    for (let at = 0; at < LEASE_MS; at += HEARTBEAT_MS) {
      clock.set(at);
      answered.answered();
      expect(answered.wholeLease()).toBe(false);
    }
    clock.set(LEASE_MS);
    answered.answered();
    expect(answered.wholeLease()).toBe(true);
  });
});
