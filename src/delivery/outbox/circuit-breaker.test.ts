import { describe, expect, it } from 'vitest';
import { breakerAdmit, breakerBlocked, breakerFailed, breakerHoldsOut, breakerSucceeded, closedBreaker } from './circuit-breaker.js';

const policy = { failureThreshold: 3, initialCooldownMs: 1_000, maxCooldownMs: 4_000 };

function failTimes(n: number, now = 0) {
  let state = closedBreaker(policy);
  for (let i = 0; i < n; i++) state = breakerFailed(state, now, policy);
  return state;
}

describe('circuit breaker', () => {
  it('stays closed below the threshold and opens at it', () => {
    expect(failTimes(2).openUntil).toBeNull();
    expect(failTimes(3, 100).openUntil).toBe(1_100);
    expect(breakerBlocked(failTimes(3, 100), 500)).toBe(true);
  });

  it('defers sends while open, with the time to come back', () => {
    expect(breakerAdmit(failTimes(3, 0), 500)).toEqual({ allow: false, retryAt: 1_000 });
  });

  it('lets exactly one probe through after the cool-down', () => {
    const first = breakerAdmit(failTimes(3, 0), 1_000);
    expect(first.allow).toBe(true);
    if (!first.allow) return;
    expect(first.state.probing).toBe(true);
    expect(breakerAdmit(first.state, 1_001).allow).toBe(false);
    expect(breakerBlocked(first.state, 1_001)).toBe(true);
  });

  it('re-opens for twice as long when the probe fails, up to the maximum', () => {
    let state = failTimes(3, 0);
    for (const expected of [2_000, 4_000, 4_000]) {
      const probe = breakerAdmit(state, state.openUntil!);
      if (!probe.allow) throw new Error('probe refused');
      state = breakerFailed(probe.state, state.openUntil!, policy);
      expect(state.cooldownMs).toBe(expected);
      expect(state.probing).toBe(false);
    }
  });

  it('closes on success and forgets the failures', () => {
    const state = breakerSucceeded(policy);
    expect(state).toEqual(closedBreaker(policy));
    expect(breakerBlocked(state, 0)).toBe(false);
    expect(breakerBlocked(undefined, 0)).toBe(false);
  });

  it('leaves a dead server alone after five failures in a row, for 30 s at first', () => {
    // The server's own operators see Tocsin back off after a handful of tries, not a storm of them.
    let state = closedBreaker();
    for (let i = 0; i < 4; i++) state = breakerFailed(state, 0);
    expect(state.openUntil).toBeNull();
    expect(breakerFailed(state, 0).openUntil).toBe(30_000);
  });

  it('lets emails held behind a slow probe look again within 5 s, not after a whole cool-down', () => {
    // A probe taking its time then succeeding: the emails deferred meanwhile go out seconds later,
    // not 30 s (or, after relapses, up to 10 min) later.
    let state = closedBreaker();
    for (let i = 0; i < 5; i++) state = breakerFailed(state, 0);
    const probe = breakerAdmit(state, 30_000);
    if (!probe.allow) throw new Error('probe refused');
    expect(breakerAdmit(probe.state, 31_000)).toEqual({ allow: false, retryAt: 36_000, probing: true });
  });

  it('holds its tenants out from when it opened, through its relapses, at each verdict only', () => {
    const closed = closedBreaker(policy);
    expect(breakerHoldsOut(closed, breakerFailed(closed, 0, policy))).toBeNull();
    const opened = failTimes(3, 100);
    expect(breakerHoldsOut(failTimes(2, 100), opened)).toEqual({ since: 100, until: 1_100 });
    // A send already under way failing while it is open is no verdict.
    expect(breakerHoldsOut(opened, breakerFailed(opened, 200, policy))).toBeNull();
    const probe = breakerAdmit(opened, 1_100);
    if (!probe.allow) throw new Error('probe refused');
    const relapse = breakerFailed(probe.state, 1_200, policy);
    expect(breakerHoldsOut(probe.state, relapse)).toEqual({ since: 100, until: 3_200 });
    expect(breakerSucceeded(policy).openedAt).toBeNull();
  });
});
