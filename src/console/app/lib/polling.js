import { useEffect } from 'preact/hooks';
import { ALERTS_CHANGED } from './session.js';

/** POLL_MS is how often the bell and the lists ask for news. */
export const POLL_MS = 3000;

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
 * usePolling runs `load` now, every POLL_MS while the page is visible, and on ALERTS_CHANGED.
 * @param {() => void} load
 * @param {unknown[]} deps
 */
export function usePolling(load, deps) {
  useEffect(() => {
    let stopped = false;
    const run = () => {
      if (!stopped && document.visibilityState !== 'hidden') load();
    };
    run();
    const timer = setInterval(run, POLL_MS);
    addEventListener(ALERTS_CHANGED, run);
    document.addEventListener('visibilitychange', run);
    return () => {
      stopped = true;
      clearInterval(timer);
      removeEventListener(ALERTS_CHANGED, run);
      document.removeEventListener('visibilitychange', run);
    };
  }, deps);
}
