/**
 * Where bench:scheduler measures an idle server: spans clear of what a window end, or the start,
 * leaves for V8 to collect. Pure, so that the choice is tested apart from the clock's waits.
 */

/**
 * SETTLE_AFTER_FULL_GC_MS is how long the aftermath of a burst of garbage (a window end's
 * decisions, the start-up look at every tenant) lasts. The burst ends in a full GC within seconds
 * (the old generation's limit met); V8's memory reducer then looks every 8 s (kLongDelayMs) for a
 * quiet heap and collects it in full once more (`Mark-Compact (reduce)` in --trace-gc, one to three
 * of them) when the allocation rate looks low, or at the latest when its watchdog (kWatchdogDelayMs,
 * 100 s) runs out: 67–108 s after the last full GC in the traces, 0.3–0.5 CPU-s at 10,000 tenants
 * (bench/hot-paths.md, rv77e). 125 s holds both and a margin.
 */
export const SETTLE_AFTER_FULL_GC_MS = 125_000;

/** How long before the next window end a quiet span stops at the latest. */
const BEFORE_WINDOW_END_MS = 2_000;

/** nextWindowEnd is the next multiple of the interval after `now`. */
export function nextWindowEnd(now: number, intervalMs: number): number {
  return (Math.floor(now / intervalMs) + 1) * intervalMs;
}

/**
 * quietSpan is the first span of `seconds` (shorter if the next window end comes first) that
 * begins SETTLE_AFTER_FULL_GC_MS after a window end and no earlier than SETTLE_AFTER_FULL_GC_MS
 * after `readyAt` (when the server had looked at every tenant), nor before `now`.
 */
export function quietSpan(now: number, readyAt: number, intervalMs: number, seconds: number): { start: number; end: number } {
  const earliest = Math.max(now, readyAt + SETTLE_AFTER_FULL_GC_MS);
  let start = nextWindowEnd(earliest, intervalMs) - intervalMs + SETTLE_AFTER_FULL_GC_MS;
  if (start < earliest) start += intervalMs;
  const end = Math.min(start + seconds * 1000, nextWindowEnd(start, intervalMs) - BEFORE_WINDOW_END_MS);
  return { start, end };
}
