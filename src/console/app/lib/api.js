// The console talks to Tocsin only through its public HTTP API, with the session cookie.

/**
 * @typedef {object} Problem An RFC 9457 problem document; `errors` name the fields at fault.
 * @property {string} [title]
 * @property {string} [detail]
 * @property {{ path: string, message: string }[]} [errors]
 */

/** ApiError is a failed API call; `problem` is its RFC 9457 problem document. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {Problem} problem
   * @param {number | null} [retryAfter] seconds to wait, from a 429's or 503's Retry-After
   */
  constructor(status, problem, retryAfter = null) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

/** REACHABLE is dispatched on window when Tocsin answers again after a call that could not reach it (or that it answered 503). */
export const REACHABLE = 'tocsin:reachable';

/** @type {{ csrfToken: string | null, onUnauthorized: () => void, onForbidden: () => void, unreachable: boolean, returns: number, ended: boolean }} */
const state = { csrfToken: null, onUnauthorized: () => {}, onForbidden: () => {}, unreachable: false, returns: 0, ended: false };

/**
 * sessionEnded says whether a call was answered 401 since the last session began: the page kept
 * under the sign-in form stops polling, which every call of would be refused.
 */
export function sessionEnded() {
  return state.ended;
}

/**
 * returnsSoFar counts Tocsin's returns (each REACHABLE): a read begun before the last one may be
 * one Tocsin is refusing, whose refusal has already been counted, so it is not one to share.
 */
export function returnsSoFar() {
  return state.returns;
}

/**
 * configureApi sets the CSRF token echoed on unsafe calls, what to do when the session ends, and
 * what to do on a refusal (the caller's roles may have changed since the console read them).
 * @param {{ csrfToken?: string | null, onUnauthorized?: () => void, onForbidden?: () => void }} settings
 */
export function configureApi({ csrfToken, onUnauthorized, onForbidden }) {
  if (csrfToken !== undefined) state.csrfToken = csrfToken;
  // A session's token: it has begun, and may be asked again.
  if (csrfToken) state.ended = false;
  if (onUnauthorized) state.onUnauthorized = onUnauthorized;
  if (onForbidden) state.onForbidden = onForbidden;
}

/**
 * api calls `api/v1/<path>` and returns the parsed answer. The URL is relative to the console's page, so
 * that a reverse proxy may serve Tocsin under a path of its own (`https://ops.example.com/tocsin/`).
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {{ quiet401?: boolean }} [options]
 * @returns {Promise<any>}
 */
export async function api(method, path, body, { quiet401 = false } = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json, application/problem+json, text/html;q=0.5' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && state.csrfToken) headers['x-csrf-token'] = state.csrfToken;
  /** @type {Response} */
  let response;
  try {
    response = await fetch(`api/v1/${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    // No answer at all (server down, network gone): the browser's words ("Failed to fetch") mean nothing to a user.
    state.unreachable = true;
    throw Object.assign(new Error(String(err)), { unreachable: true });
  }
  const type = response.headers.get('content-type') || '';
  const json = type.includes('json');
  // A 503 is Tocsin up but unable to serve (its database restarting): a page whose read it refused
  // waits for Tocsin to answer again, as one that could not reach it at all does. A 502 or 504 that
  // is not Tocsin's own answer (no JSON) is a reverse proxy's that could not reach Tocsin: the same.
  const proxyAlone = !json && (response.status === 502 || response.status === 504);
  if (response.status === 503 || proxyAlone) state.unreachable = true;
  else if (state.unreachable) {
    state.unreachable = false;
    state.returns += 1;
    dispatchEvent(new Event(REACHABLE));
  }
  if (response.status === 204) return null;
  // Said as when Tocsin cannot be reached at all, not with the proxy's HTML page.
  if (proxyAlone) throw Object.assign(new Error(`HTTP ${response.status}`), { unreachable: true });
  const data = json ? await response.json() : await response.text();
  if (!response.ok) {
    // An answer that is not a problem document (another proxy's error page) is named by its status, never shown as its HTML.
    const problem = typeof data === 'object' && data ? data : { title: `HTTP ${response.status} ${response.statusText}`.trim() };
    if (response.status === 401 && !quiet401) {
      state.ended = true;
      state.onUnauthorized();
    }
    if (response.status === 403) state.onForbidden();
    const wait = Number(response.headers.get('retry-after') ?? '');
    throw new ApiError(response.status, problem, Number.isFinite(wait) && wait > 0 ? Math.ceil(wait) : null);
  }
  return data;
}

/**
 * query turns an object into a query string, leaving out empty values.
 * @param {Record<string, unknown>} params
 */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '' && value !== false) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * fieldErrors maps a problem's `errors[].path` to messages keyed by field, under the first matching prefix.
 * @param {unknown} error
 * @param {string[]} [prefixes]
 * @returns {Record<string, string>}
 */
export function fieldErrors(error, prefixes = ['']) {
  /** @type {Record<string, string>} */
  const result = {};
  const problem = /** @type {{ problem?: Problem } | null | undefined} */ (error)?.problem;
  for (const item of problem?.errors ?? []) {
    const prefix = prefixes.find((candidate) => item.path.startsWith(candidate));
    // An item of a list (`roles.0`, `members.2`: a role or a user deleted meanwhile) is its list's field's error.
    const key = prefix === undefined ? '' : item.path.slice(prefix.length).replace(/(\.\d+)+$/, '');
    if (key && !(key in result)) result[key] = item.message;
  }
  return result;
}
