import { describe, expect, it } from 'vitest';
import { SETTLE_AFTER_FULL_GC_MS, quietSpan } from './idle-spans.js';

const INTERVAL = 180_000;
/** The memory reducer's full GC comes up to this long after a window end (its own full GC 2–5 s after it, then 100–108 s). */
const REDUCER_GC_AFTER_WINDOW_END_MS = 115_000;

describe('the idle span of bench:scheduler', () => {
  it("begins after the memory reducer's full GC that follows a window end, and ends before the next window end", () => {
    for (const now of [0, 1_000, 59_000, 100_000, 179_999, 180_000, 250_000]) {
      const { start, end } = quietSpan(now, now - 10 * INTERVAL, INTERVAL, 40);
      const lastWindowEnd = Math.floor(start / INTERVAL) * INTERVAL;
      expect(start - lastWindowEnd).toBeGreaterThanOrEqual(REDUCER_GC_AFTER_WINDOW_END_MS);
      expect(start).toBeGreaterThanOrEqual(now);
      expect(end - start).toBe(40_000);
      expect(end).toBeLessThan(lastWindowEnd + INTERVAL);
    }
  });

  it("begins after the memory reducer's full GC that follows the start-up look", () => {
    const readyAt = 1_000_000;
    const { start } = quietSpan(readyAt, readyAt, INTERVAL, 40);
    expect(start - readyAt).toBeGreaterThanOrEqual(REDUCER_GC_AFTER_WINDOW_END_MS);
    expect(start - readyAt).toBeGreaterThanOrEqual(SETTLE_AFTER_FULL_GC_MS);
  });
});
