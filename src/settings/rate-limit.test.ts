import { describe, expect, it } from 'vitest';
import { FakeClock } from '../shared/clock.js';
import { RateLimiter } from './rate-limit.js';

describe('RateLimiter', () => {
  it('allows the limit per key and window, then says how long to wait', () => {
    const clock = new FakeClock(0);
    const limiter = new RateLimiter(2, 60_000, clock);
    expect(limiter.take('a')).toEqual({ allowed: true });
    expect(limiter.take('a')).toEqual({ allowed: true });
    expect(limiter.take('b')).toEqual({ allowed: true });
    clock.advance(15_000);
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterMs: 45_000 });
    clock.advance(45_000);
    expect(limiter.take('a')).toEqual({ allowed: true });
  });
});
