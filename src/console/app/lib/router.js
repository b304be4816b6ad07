import { useEffect, useState } from 'preact/hooks';

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

/**
 * navigate goes to a hash route. With `replace`, the route takes the place of the current one in
 * the history: a redirect (home after signing in, or from a page the user may not open), which
 * Back would otherwise return to, and be sent on from again.
 * @param {string} path
 * @param {Record<string, unknown>} [params]
 * @param {{ replace?: boolean }} [options]
 */
export function navigate(path, params, { replace = false } = {}) {
  if (replace) location.replace(href(path, params));
  else location.hash = href(path, params);
}

/** useRoute is the current hash route, updated on every hash change. */
export function useRoute() {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
