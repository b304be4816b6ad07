import type { Clock } from '../shared/clock.js';

/** RateTurn is whether an action may go now, or how long to wait. */
export type RateTurn = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * RateLimiter allows `limit` actions per key in each fixed window of `windowMs`, or, when
 * `sliding`, in any `windowMs` (a fixed window lets up to twice the limit through around its
 * edge). Sliding keeps each key's last `limit` times, so it suits small limits only.
 */
export class RateLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();
  /** Per key, the times of its last actions, oldest first (sliding). */
  readonly #times = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
    private readonly sliding = false,
  ) {}

  /** take counts one action for `key`; it answers how long to wait when the window is full. */
  take(key: string): RateTurn {
    return this.sliding ? this.#takeSliding(key, this.clock.now()) : this.#takeFixed(key, this.clock.now());
  }

  #takeFixed(key: string, now: number): RateTurn {
    for (const [k, w] of this.#windows) if (now - w.start >= this.windowMs) this.#windows.delete(k);
    const window = this.#windows.get(key) ?? { start: now, count: 0 };
    if (window.count >= this.limit) return { allowed: false, retryAfterMs: window.start + this.windowMs - now };
    window.count += 1;
    this.#windows.set(key, window);
    return { allowed: true };
  }

  #takeSliding(key: string, now: number): RateTurn {
    for (const [k, times] of this.#times) if (now - times[times.length - 1]! >= this.windowMs) this.#times.delete(k);
    const times = (this.#times.get(key) ?? []).filter((at) => now - at < this.windowMs);
    this.#times.set(key, times);
    if (times.length >= this.limit) return { allowed: false, retryAfterMs: times[0]! + this.windowMs - now };
    times.push(now);
    return { allowed: true };
  }
}
