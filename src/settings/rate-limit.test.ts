import { describe, expect, it } from 'vitest';
import { FakeClock } from '../shared/clock.js';
import { RateLimiter } from './rate-limit.js';
import { TEST_MAILS_PER_MINUTE, testMailLimiter } from './routes.js';

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

describe('the limit of Test Mail Settings', () => {
  it(`never allows more than ${TEST_MAILS_PER_MINUTE} tests in any minute, across the edge of a minute too, and says how long to wait`, () => {
    const clock = new FakeClock(0);
    const limiter = testMailLimiter(clock);
    // One at the start of a minute, the rest at its very end: a fixed window allowed ten more a second later.
    expect(limiter.take('a')).toEqual({ allowed: true });
    clock.advance(59_000);
    for (let i = 1; i < TEST_MAILS_PER_MINUTE; i++) expect(limiter.take('a')).toEqual({ allowed: true });
    expect(limiter.take('b')).toEqual({ allowed: true });
    clock.advance(2_000);
    // The first has left the last minute: one more, then none until the others are a minute old.
    expect(limiter.take('a')).toEqual({ allowed: true });
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterMs: 58_000 });
    clock.advance(58_000);
    for (let i = 1; i < TEST_MAILS_PER_MINUTE; i++) expect(limiter.take('a')).toEqual({ allowed: true });
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterMs: 2_000 });
  });
});
