import { describe, expect, it } from 'vitest';
import { LoopTurns } from './loop-turns.js';
import { UrgentSends, rendersWait } from './urgent-sends.js';

describe('rendersWait', () => {
  it('waits while a send that began less than the hold ago is under way, until the youngest one’s hold ends', () => {
    expect(rendersWait([], 1_000, 2_000)).toEqual({ wait: false });
    expect(rendersWait([500, 900], 1_000, 2_000)).toEqual({ wait: true, until: 2_900 });
    expect(rendersWait([500], 2_500, 2_000)).toEqual({ wait: false });
  });
});

describe('UrgentSends', () => {
  it('gives no turn to the work that yields to it while an urgent send is under way, and gives it once that send ends', async () => {
    const urgent = new UrgentSends();
    const turns = new LoopTurns(urgent);
    const order: string[] = [];
    const ended = urgent.begin();
    const piece = turns.next().then(() => order.push('render'));
    // Turns of the event loop go by (a send's server replies) while the render waits.
    for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    order.push('answered');
    ended();
    await piece;
    expect(order).toEqual(['answered', 'render']);
  });

  it('gives the turn once the hold has passed, though the urgent send is still under way (a server that does not answer)', async () => {
    const urgent = new UrgentSends(20);
    const turns = new LoopTurns(urgent);
    urgent.begin();
    expect(urgent.pressing).toBe(true);
    await turns.next();
    expect(urgent.pressing).toBe(false);
  });
});
