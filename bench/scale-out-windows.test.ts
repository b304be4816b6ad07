import { describe, expect, it } from 'vitest';
import { scaleOutPlan } from './scale-out-windows.js';

describe('the scale-out windows’ order', () => {
  it('pairs one worker alone with both, alternating which comes first and which process is alone', () => {
    expect(scaleOutPlan(4)).toEqual([
      [0, 'both'],
      ['both', 1],
      [1, 'both'],
      ['both', 0],
    ]);
  });

  it('gives each process as many windows alone, and each figure as many first places, over every two pairs', () => {
    for (const pairs of [2, 4, 6]) {
      const plan = scaleOutPlan(pairs);
      const alone = plan.map(([a, b]) => (a === 'both' ? b : a));
      expect(alone.filter((w) => w === 0)).toHaveLength(pairs / 2);
      expect(plan.filter(([first]) => first === 'both')).toHaveLength(pairs / 2);
    }
  });

  it('pauses or resumes a process only where the lone worker changes: back-to-back windows share who works', () => {
    const windows = scaleOutPlan(6).flat();
    const changes = windows.slice(1).filter((w, i) => w !== windows[i]).length;
    // A AB | AB B | B AB | AB A | A AB | AB B: six pairs, six changes of who works.
    expect(changes).toBe(6);
  });

  it('balances the working processes’ age over two pairs: as many emails behind them alone as together', () => {
    // Each window of n emails: alone, that process sends n; together, each about n / 2.
    const n = 2;
    const sent = [0, 0];
    const age: Record<'alone' | 'both', number[]> = { alone: [], both: [] };
    for (const w of scaleOutPlan(2).flat()) {
      if (w === 'both') {
        age.both.push(sent[0]! + n / 4, sent[1]! + n / 4);
        sent[0]! += n / 2;
        sent[1]! += n / 2;
      } else {
        age.alone.push(sent[w]! + n / 2);
        sent[w]! += n;
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(age.alone)).toBe(mean(age.both));
  });
});
