import { describe, expect, it } from 'vitest';
import { countLoopTurns } from '../../test/support/loop-turn-counter.js';
import { LoopTurns } from './loop-turns.js';

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Synchronous work: nothing else of the process runs meanwhile.
  }
}

describe('LoopTurns', () => {
  it('lets a timer run between two pieces of work that wait for their turns together', async () => {
    const turns = new LoopTurns();
    const done: string[] = [];
    const timer = new Promise<void>((resolve) =>
      setTimeout(() => {
        done.push('timer');
        resolve();
      }, 1),
    );
    busy(5); // the timer is due before the first turn is given
    await Promise.all(
      ['a', 'b', 'c'].map(async (piece) => {
        await turns.next();
        busy(5);
        done.push(piece);
      }),
    );
    await timer;
    expect(done).toEqual(['a', 'timer', 'b', 'c']);
  });

  it('gives the waiters their turns in the order they asked, each in a turn of its own', async () => {
    const turns = new LoopTurns();
    const counter = countLoopTurns();
    const seen = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        await turns.next();
        return { i, turn: counter.turn };
      }),
    );
    counter.stop();
    expect(seen.map((s) => s.i)).toEqual([0, 1, 2, 3, 4]);
    expect(new Set(seen.map((s) => s.turn)).size).toBe(5);
  });
});
