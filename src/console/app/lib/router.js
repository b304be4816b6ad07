import { useEffect, useLayoutEffect, useState } from 'preact/hooks';

/**
 * parseHash splits `#/alerts?severity=Error` into the path and its query parameters.
 * @param {string} hash
 * @returns {{ path: string, query: Record<string, string> }}
 */
export function parseHash(hash) {
  const text = (hash || '').replace(/^#/, '') || '/';
  const [path, search = ''] = text.split('?');
  return { path: path.replace(/\/+$/, '') || '/', query: Object.fromEntries(new URLSearchParams(search)) };
}

/**
 * href builds a hash link from a path and query parameters, leaving out empty ones.
 * @param {string} path
 * @param {Record<string, unknown>} [params]
 */
export function href(path, params = {}) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '' && value !== false) search.set(key, String(value));
  }
  const text = search.toString();
  return `#${path}${text ? `?${text}` : ''}`;
}

/** @type {string | null} What to ask before leaving the page shown (useLeaveGuard), or nothing. */
let leaveQuestion = null;
/** Whether the hash change under way replaces the entry shown (navigate's redirects) rather than adds one. */
let replacing = false;

/**
 * navigate goes to a hash route. With `replace`, the route takes the place of the current one in
 * the history: a redirect (home after signing in, or from a page the user may not open), which
 * Back would otherwise return to, and be sent on from again.
 * @param {string} path
 * @param {Record<string, unknown>} [params]
 * @param {{ replace?: boolean }} [options]
 */
export function navigate(path, params, { replace = false } = {}) {
  replacing = replace && href(path, params) !== location.hash;
  if (replace) location.replace(href(path, params));
  else location.hash = href(path, params);
}

/** useRoute is the current hash route, updated on every hash change. */
export function useRoute() {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    let shown = location.hash;
    // Each entry shown is marked, so a change to a marked one is Back or Forward, not a new link.
    const mark = () => history.replaceState({ ...history.state, shown: true }, '');
    mark();
    const update = () => {
      // A page with unsaved changes asks first (a menu link, Back, a link in the bell's panel alike);
      // the user who stays keeps the page, its address and what was typed: Back undoes a new entry
      // (a redirect's is replaced), and after Back or Forward it comes again, the entry left kept.
      if (leaveQuestion && location.hash !== shown && !confirm(leaveQuestion)) {
        if (history.state?.shown) history.pushState({ shown: true }, '', shown);
        else if (replacing) history.replaceState({ shown: true }, '', shown);
        else history.back();
        replacing = false;
        return;
      }
      shown = location.hash;
      replacing = false;
      mark();
      setRoute(parseHash(location.hash));
    };
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

/**
 * useLeaveGuard asks `question` before the console leaves the page while `unsaved` holds, and lets
 * the browser ask before a reload or closing the tab. Set with the render (a layout effect): a
 * click right after typing is asked about too.
 * @param {boolean} unsaved
 * @param {string} question
 */
export function useLeaveGuard(unsaved, question) {
  useLayoutEffect(() => {
    if (!unsaved) return;
    leaveQuestion = question;
    /** @param {BeforeUnloadEvent} event */
    const ask = (event) => {
      event.preventDefault();
      event.returnValue = '';
    };
    addEventListener('beforeunload', ask);
    return () => {
      if (leaveQuestion === question) leaveQuestion = null;
      removeEventListener('beforeunload', ask);
    };
  }, [unsaved, question]);
}
