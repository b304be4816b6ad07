import type { RenderedEmail } from '../../delivery/contract.js';

/**
 * HTML_BUDGET is the most bytes of HTML an email may carry: Gmail clips a message whose HTML is over
 * 102 KB behind "[Message clipped] View entire message", which hides the end of the email, where
 * the "See more" link, the preferences and the unsubscribe link are. A little is left for what
 * the transfer adds.
 */
const HTML_BUDGET = 100 * 1024;

/**
 * SHORTER_HTML_BUDGET is the HTML budget of a report sent again after the reader's server refused
 * it as too large (a message size limit, "552 5.3.4"): with its text part and transfer encoding,
 * about 30 KB in all, under any size limit a mail server still in use sets, and still showing the
 * first lines, the count of the others and the link to them.
 */
export const SHORTER_HTML_BUDGET = 16 * 1024;

/**
 * fitUnderBudget renders an email showing as many of its items (lines, rows) as keep its HTML
 * within HTML_BUDGET, at most `most`: `render(n)` shows the first n and counts the rest as not
 * shown. Most emails fit at once; one that does not is rendered again a few times (a binary
 * search), since a line's size depends on its text, links and language.
 */
export function fitUnderBudget(most: number, render: (shown: number) => RenderedEmail, budget = HTML_BUDGET): RenderedEmail {
  const fits = (email: RenderedEmail) => Buffer.byteLength(email.html) <= budget;
  const all = render(most);
  if (most === 0 || fits(all)) return all;
  let best: RenderedEmail | undefined;
  let low = 0;
  let high = most - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    const email = render(middle);
    if (fits(email)) {
      [best, low] = [email, middle];
    } else {
      high = middle - 1;
    }
  }
  // Nothing but the email without items fits (or only it was left to try): it is what is sent.
  return best ?? render(0);
}
