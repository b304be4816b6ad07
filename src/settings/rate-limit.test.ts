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

  it('starts a new window when the clock was stepped back past the start of the one that is full', () => {
    // A source at its rate when NTP stepped the clock back an hour was refused 503 for that hour and a minute.
    const clock = new FakeClock(3_600_000);
    const limiter = new RateLimiter(2, 60_000, clock);
    limiter.take('a');
    limiter.take('a');
    clock.set(0);
    expect(limiter.take('a')).toEqual({ allowed: true });
  });
});
