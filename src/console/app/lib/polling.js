import { useEffect } from 'preact/hooks';
import { REACHABLE, sessionEnded } from './api.js';
import { ALERTS_CHANGED } from './session.js';

/** POLL_MS is how often the bell and the lists ask for news. */
export const POLL_MS = 3000;

/**
 * CHART_POLL_MS is how often the alerts chart asks for its counts: they read every alert of the
 * chart's range (50,000 a day on a big day, 30 days of them), which on SQLite holds the server for
 * a quarter of a second to seconds; bars of hours and days need no 3-s freshness, and the chart
 * still asks at once after the user's own changes (ALERTS_CHANGED) and when the page is shown again.
 */
export const CHART_POLL_MS = 30_000;

/** MAX_LIMIT is the API's largest page. */
export const MAX_LIMIT = 1000;
/** PAGE_SIZE is how many rows a list reads at a time. */
export const PAGE_SIZE = 50;

/**
 * pageLimit is how many rows a polled list asks for after `more` clicks on Load more: the list
 * refreshes as one page, so new rows appear at the top without losing the ones loaded below.
 * @param {number} more
 */
export function pageLimit(more) {
  return Math.min(MAX_LIMIT, PAGE_SIZE * (more + 1));
}

/**
 * usePolling runs `load` now, every `everyMs` (POLL_MS) while the page is visible and its session has
 * not ended (sessionEnded), and on ALERTS_CHANGED. A
 * load that returns a promise is not asked again while that promise is pending: a Tocsin that
 * stops answering (restarting, overloaded, a network gone quiet) gets one question per list, not
 * one more every POLL_MS to be answered all at once when it comes back. A change made meanwhile
 * (ALERTS_CHANGED, the page shown again) asks once more as soon as the pending answer is in, since
 * that answer may predate it.
 * @param {() => unknown} load
 * @param {unknown[]} deps
 * @param {number} [everyMs]
 */
export function usePolling(load, deps, everyMs = POLL_MS) {
  useEffect(() => {
    let stopped = false;
    let pending = false;
    let again = false;
    const ask = () => {
      if (stopped || document.visibilityState === 'hidden' || sessionEnded()) return;
      const answer = load();
      if (!(answer instanceof Promise)) return;
      pending = true;
      answer
        .catch(() => {})
        .finally(() => {
          pending = false;
          if (again) {
            again = false;
            ask();
          }
        });
    };
    const tick = () => {
      if (!pending) ask();
    };
    const changed = () => {
      if (pending) again = true;
      else ask();
    };
    ask();
    const timer = setInterval(tick, everyMs);
    addEventListener(ALERTS_CHANGED, changed);
    document.addEventListener('visibilitychange', changed);
    return () => {
      stopped = true;
      clearInterval(timer);
      removeEventListener(ALERTS_CHANGED, changed);
      document.removeEventListener('visibilitychange', changed);
    };
  }, deps);
}

/**
 * useLoadWhenBack runs `load` again when Tocsin answers after being unreachable, as long as the
 * page has not `loaded`: a page opened while Tocsin was restarting or the network was gone (its
 * one read said so) shows itself once Tocsin is back, without a reload; a page already shown,
 * a form being edited, is left as it is.
 * @param {() => unknown} load
 * @param {boolean} loaded
 */
export function useLoadWhenBack(load, loaded) {
  useEffect(() => {
    if (loaded) return undefined;
    addEventListener(REACHABLE, load);
    return () => removeEventListener(REACHABLE, load);
  }, [loaded, load]);
}
