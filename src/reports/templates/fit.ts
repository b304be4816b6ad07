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
 * shown. Most emails fit at once. One that does not is rendered without items, which with the
 * first render tells about how many bytes an item takes, and then around the count that guess
 * allows until the largest that fits is found: a day of hundreds of events renders a few emails
 * near the budget, not a binary search from all of them (each render of the whole list was a
 * megabyte of HTML, and a report of 300 rows took ten renders).
 */
export function fitUnderBudget(most: number, render: (shown: number) => RenderedEmail, budget = HTML_BUDGET): RenderedEmail {
  const bytes = (email: RenderedEmail) => Buffer.byteLength(email.html);
  const all = render(most);
  if (most === 0 || bytes(all) <= budget) return all;
  // Nothing but the email without items fits, or not even it: it is what is sent.
  const none = render(0);
  if (bytes(none) > budget) return none;
  const perItem = (bytes(all) - bytes(none)) / most;
  const guess = Math.min(most - 1, Math.floor((budget - bytes(none)) / perItem));
  // The largest count known to fit and the smallest known not to, closed in on from the guess outwards, then halved.
  let fits = { shown: 0, email: none };
  let tooMany = most;
  const tried = (shown: number): boolean => {
    const email = render(shown);
    if (bytes(email) > budget) {
      tooMany = shown;
      return false;
    }
    fits = { shown, email };
    return true;
  };
  if (tried(guess)) {
    for (let step = 1; fits.shown + step < tooMany && tried(fits.shown + step); step *= 2);
  } else {
    for (let step = 1; tooMany - step > fits.shown && !tried(tooMany - step); step *= 2);
  }
  while (tooMany - fits.shown > 1) tried(Math.floor((fits.shown + tooMany) / 2));
  return fits.email;
}
