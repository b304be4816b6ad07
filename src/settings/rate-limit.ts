import type { Clock } from '../shared/clock.js';

/** RateTurn is whether an action may go now, or how long to wait. */
export type RateTurn = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * RateLimiter allows `limit` actions per key in each fixed window of `windowMs`, in this process's
 * memory (a fixed window lets up to twice the limit through around its edge; see takeTestMailTurn
 * for a limit in any window, shared by every process).
 */
export class RateLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  /** take counts one action for `key`; it answers how long to wait when the window is full. */
  take(key: string): RateTurn {
    const now = this.clock.now();
    // A window that starts ahead of now was opened before the clock was stepped back: over too, or it would hold for the step.
    for (const [k, w] of this.#windows) if (now - w.start >= this.windowMs || now < w.start) this.#windows.delete(k);
    const window = this.#windows.get(key) ?? { start: now, count: 0 };
    if (window.count >= this.limit) return { allowed: false, retryAfterMs: window.start + this.windowMs - now };
    window.count += 1;
    this.#windows.set(key, window);
    return { allowed: true };
  }
}
