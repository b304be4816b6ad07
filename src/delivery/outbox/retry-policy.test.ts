import { describe, expect, it } from 'vitest';
import { decideAfterFailure, retryDelayMs } from './retry-policy.js';

const middle = () => 0.5;

describe('retry policy', () => {
  it('climbs 30 s, 2 min, 10 min, then waits 30 min between tries', () => {
    expect([1, 2, 3, 4, 9].map((n) => retryDelayMs(n, middle))).toEqual([30_000, 120_000, 600_000, 1_800_000, 1_800_000]);
  });

  it('jitters each delay by at most 20 % either way', () => {
    expect(retryDelayMs(1, () => 0)).toBe(24_000);
    expect(retryDelayMs(1, () => 0.999999)).toBeLessThanOrEqual(36_000);
    expect(retryDelayMs(1, () => 0.999999)).toBeGreaterThan(35_999);
  });

  it('fails a permanent error at once, even long before the deadline', () => {
    expect(decideAfterFailure({ retryable: false, attempts: 1, now: 0, deadline: 1e9, random: middle })).toEqual({ status: 'failed' });
  });

  it('retries a transient error, never later than the deadline, and fails it at the deadline', () => {
    expect(decideAfterFailure({ retryable: true, attempts: 1, now: 1_000, deadline: 1e9, random: middle })).toEqual({
      status: 'retrying',
      nextAttemptAt: 31_000,
    });
    expect(decideAfterFailure({ retryable: true, attempts: 4, now: 1_000, deadline: 60_000, random: middle })).toEqual({
      status: 'retrying',
      nextAttemptAt: 60_000,
    });
    expect(decideAfterFailure({ retryable: true, attempts: 5, now: 60_000, deadline: 60_000, random: middle })).toEqual({ status: 'failed' });
  });
});
