/** median is the middle value (the mean of the two middle ones for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** percentile is the nearest-rank p-th percentile (p in 0–100); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** runConcurrently calls `task(i)` for i in [0, count) from `clients` concurrent loops and returns the seconds it took. */
export async function runConcurrently(count: number, clients: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(clients, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
  return (performance.now() - started) / 1000;
}

/** PairedVerdict is what interleaved pairs of runs say of a ratio bounded by a limit (pairedVerdict). */
export interface PairedVerdict {
  /** Each pair's ratio, second over first, in the order the pairs ran. */
  readonly ratios: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max − min) / median: how far identical pairs landed apart. */
  readonly spread: number;
  /**
   * met or missed when every pair is on one side of the limit, or when the pairs straddle it but
   * scatter less than the margin (the median decides); undecided when they straddle it and
   * scatter more: the machine moved the figure more than the target's own margin, and one lucky
   * or unlucky pair would decide it.
   */
  readonly verdict: 'met' | 'missed' | 'undecided';
}

/**
 * pairedVerdict compares runs made in pairs close in time (a before and an after, 1 worker and 2),
 * whose load changes less within a pair than between pairs: each pair's ratio `second / first`,
 * their median and spread, and whether they show the ratio ≤ `limit` at the scatter `margin`
 * (a fraction, 0.1 for 10 %). Pairs with a figure missing are left out; none left is undefined.
 */
export function pairedVerdict(pairs: readonly (readonly [number, number])[], limit: number, margin: number): PairedVerdict | undefined {
  const ratios = pairs.map(([first, second]) => second / first).filter((r) => Number.isFinite(r));
  if (ratios.length === 0) return undefined;
  const mid = median(ratios);
  const min = Math.min(...ratios);
  const max = Math.max(...ratios);
  const spread = (max - min) / mid;
  const verdict = max <= limit ? 'met' : min > limit ? 'missed' : spread > margin ? 'undecided' : mid <= limit ? 'met' : 'missed';
  return { ratios, median: mid, min, max, spread, verdict };
}

/** describePairs prints a PairedVerdict in one line: each pair's ratio, the median, the spread against the margin, the verdict. */
export function describePairs(p: PairedVerdict, limit: number, margin: number): string {
  const scatter = `spread ${(p.spread * 100).toFixed(0)} % ${p.spread > margin ? '>' : '≤'} the ${(margin * 100).toFixed(0)} % margin`;
  const why =
    p.verdict === 'undecided'
      ? `undecided: the pairs fall on both sides of ${limit}× and scatter more than the margin, so run more pairs on a quieter machine`
      : `${p.verdict} (target ≤ ${limit}×)`;
  return `pairs ${p.ratios.map((r) => `${r.toFixed(2)}×`).join(', ')}; median ${p.median.toFixed(2)}×, ${scatter}; ${why}`;
}
