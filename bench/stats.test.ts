import { describe, expect, it } from 'vitest';
import { describePairs, median, pairedVerdict, percentile, runConcurrently } from './stats.js';

describe('bench statistics', () => {
  it('takes the median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('takes nearest-rank percentiles', () => {
    const twenty = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(percentile(twenty, 50)).toBe(10);
    expect(percentile(twenty, 95)).toBe(19);
    expect(percentile(twenty, 100)).toBe(20);
    expect(percentile([7], 95)).toBe(7);
  });

  it('runs every task once, at most `clients` at a time', async () => {
    const seen: number[] = [];
    let running = 0;
    let most = 0;
    await runConcurrently(10, 3, async (i) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 1));
      seen.push(i);
      running--;
    });
    expect(seen.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(most).toBe(3);
  });

  it('decides a paired ratio only when the pairs agree or scatter less than the margin', () => {
    const verdictOf = (...pairs: [number, number][]) => pairedVerdict(pairs, 1.1, 0.1)?.verdict;
    // Every pair under the limit, or over it: decided whatever the scatter.
    expect(verdictOf([2, 2.1], [1, 1.05])).toBe('met');
    expect(verdictOf([1, 1.2], [2, 2.8])).toBe('missed');
    // Both sides of the limit: the median decides when the pairs lie close together...
    expect(verdictOf([1, 1.08], [1, 1.12], [1, 1.09])).toBe('met');
    expect(verdictOf([1, 1.08], [1, 1.12], [1, 1.13])).toBe('missed');
    // ...and nothing does when they scatter more than the margin (last night's 1.08× and 1.15×, and a third).
    const wide = pairedVerdict(
      [
        [1.23, 1.42],
        [1, 1.08],
        [1, 1.3],
      ],
      1.1,
      0.1,
    )!;
    expect(wide.verdict).toBe('undecided');
    expect(wide.ratios.map((r) => r.toFixed(2))).toEqual(['1.15', '1.08', '1.30']);
    expect(wide.median.toFixed(2)).toBe('1.15');
    expect(describePairs(wide, 1.1, 0.1)).toBe(
      'pairs 1.15×, 1.08×, 1.30×; median 1.15×, spread 19 % > the 10 % margin; undecided: the pairs fall on both sides of 1.1× and scatter more than the margin, so run more pairs on a quieter machine',
    );
    // A pair with a figure missing counts for nothing.
    expect(verdictOf([Number.NaN, 1])).toBeUndefined();
    expect(
      pairedVerdict(
        [
          [Number.NaN, 1],
          [1, 1.05],
        ],
        1.1,
        0.1,
      )?.ratios,
    ).toEqual([1.05]);
  });
});
