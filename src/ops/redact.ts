/** REDACTED replaces a secret in a log line. */
export const REDACTED = '[redacted]';

// Keys whose string values are secrets wherever they appear: `password`, `smtpPassword`,
// `accessToken`, `authorization`, `set-cookie`, `TOCSIN_SECRET_KEY`, ...
const SECRET_KEY = /passw(or)?d|passphrase|^pass$|token|secret|authorization|cookie|api[-_]?key|credential/i;
// `scheme://user:password@host`: the password part of a URL with credentials. Neither part may
// hold `?` or `#`, so `smtp://127.0.0.1:2525?from=tocsin@localhost` (a port, then an address in
// the query) is left whole rather than read as `user 127.0.0.1, password 2525?from=tocsin`.
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^\s:@/?#]*:)[^\s@/?#]+@/gi;
// Deeper than this, a logged object is cut rather than walked (it may be cyclic or huge).
const MAX_DEPTH = 12;

/** scrubCredentials hides the passwords of URLs written in a text. */
export function scrubCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, `$1${REDACTED}@`);
}

/**
 * redactSecrets returns a copy of a value about to be logged, with the string values of
 * secret-sounding keys replaced at any depth, URL passwords scrubbed from every string, and errors
 * kept as errors (so the logger still prints their stack) but with their properties redacted.
 */
export function redactSecrets(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubCredentials(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Buffer.isBuffer(value) || value instanceof Date) return value;
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1, seen));
  const copy: Record<string, unknown> =
    value instanceof Error ? Object.create(Object.getPrototypeOf(value) as object) : {};
  if (value instanceof Error) {
    for (const key of ['name', 'message', 'stack'] as const) {
      Object.defineProperty(copy, key, { value: scrubCredentials(String(value[key] ?? '')), enumerable: false, writable: true });
    }
  }
  for (const [key, child] of Object.entries(value)) {
    copy[key] = SECRET_KEY.test(key) && (typeof child === 'string' || Array.isArray(child)) ? REDACTED : redactSecrets(child, depth + 1, seen);
  }
  return copy;
}
