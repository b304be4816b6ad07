import { describe, expect, it } from 'vitest';
import type { RenderedEmail } from '../../delivery/contract.js';
import { SHORTER_HTML_BUDGET, fitUnderBudget } from './fit.js';

/** A list whose items take 300 to 700 bytes each (names and links of different lengths) under a frame of 20 KB. */
const itemBytes = (i: number) => 300 + ((i * 7919) % 401);
const FRAME = 20_000;

function renderer(most: number) {
  const renders: number[] = [];
  const render = (shown: number): RenderedEmail => {
    let html = 'x'.repeat(FRAME);
    for (let i = 0; i < shown; i++) html += 'y'.repeat(itemBytes(i));
    renders.push(html.length);
    return { subject: `${shown} of ${most}`, text: '', html, headers: {} };
  };
  return { render, renders };
}

/** largestFitting is the most items, fewer than `most`, whose email is within the budget: what the search must find. */
function largestFitting(most: number, budget: number): number {
  let bytes = FRAME;
  let shown = 0;
  while (shown < most - 1 && bytes + itemBytes(shown) <= budget) bytes += itemBytes(shown++);
  return shown;
}

describe('fitUnderBudget', () => {
  it('shows the most items that keep the HTML within the budget, whatever the list’s length', () => {
    for (const most of [1, 2, 3, 50, 170, 171, 300, 1_000, 3_000]) {
      for (const budget of [100 * 1024, SHORTER_HTML_BUDGET + FRAME, 60_000]) {
        const { render } = renderer(most);
        const email = fitUnderBudget(most, render, budget);
        const all = FRAME + Array.from({ length: most }, (_, i) => itemBytes(i)).reduce((a, b) => a + b, 0);
        expect(email.subject, `${most} items, budget ${budget}`).toBe(`${all <= budget ? most : largestFitting(most, budget)} of ${most}`);
      }
    }
  });

  it('shows the items of an email exactly as large as the budget: the budget is the most bytes allowed', () => {
    const exactly = FRAME + Array.from({ length: 40 }, (_, i) => itemBytes(i)).reduce((a, b) => a + b, 0);
    const { render } = renderer(300);
    expect(fitUnderBudget(300, render, exactly).subject).toBe('40 of 300');
  });

  it('sends the email without items when not even it fits', () => {
    const { render } = renderer(10);
    expect(fitUnderBudget(10, render, FRAME - 1).subject).toBe('0 of 10');
  });

  it('renders a list far over the budget a few times near the budget, not halving it from the whole list', () => {
    const { render, renders } = renderer(3_000);
    const email = fitUnderBudget(3_000, render);
    expect(email.subject).toBe(`${largestFitting(3_000, 100 * 1024)} of 3000`);
    // The whole list once (1.5 MB), the frame alone once, then renders about the size of the budget:
    // before, a binary search over the 3,000 rendered 750 KB, 375 KB… twelve more times.
    const [, ...afterTheWhole] = renders;
    expect(afterTheWhole.length).toBeLessThanOrEqual(7);
    expect(Math.max(...afterTheWhole.slice(1))).toBeLessThan(1.1 * 100 * 1024);
  });
});
