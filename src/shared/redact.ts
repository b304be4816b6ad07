/**
 * Redaction, in one place: what replaces a secret in the logs (values under secret-sounding keys,
 * URL passwords), in texts people read (the delivery log's server replies and errors, the SMTP
 * dialogue of Test Mail Settings, the start banner's SMTP URL), whatever form the secret takes
 * (as written, base64, inside an AUTH PLAIN or XOAUTH2 blob).
 */

/** REDACTED replaces a secret in a log line. */
const REDACTED = '[redacted]';

/** MASK replaces a secret in a text shown to people: the delivery log, a dialogue, the banner. */
const MASK = '***';

/** Shorter secrets would blank out ordinary words; no real password or token is this short. */
const MIN_SECRET_LENGTH = 4;

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
  const copy: Record<string, unknown> = value instanceof Error ? Object.create(Object.getPrototypeOf(value) as object) : {};
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

/** KnownSecrets are the secrets of one SMTP endpoint: a login name and the password or token. */
export interface KnownSecrets {
  readonly username?: string | undefined;
  readonly values: readonly (string | undefined)[];
}

/**
 * maskSecrets removes known secrets from a text before it is stored or shown (a server reply or
 * error in the delivery log, a dialogue line): each secret as written, in base64, and the AUTH
 * PLAIN (`\0user\0password`) and XOAUTH2 blobs. A server echoing a credential back must not put
 * it on the console.
 */
export function maskSecrets(text: string, secrets: KnownSecrets): string {
  const forms = new Set<string>();
  for (const secret of secrets.values) {
    if (!secret || secret.length < MIN_SECRET_LENGTH) continue;
    forms.add(secret);
    forms.add(Buffer.from(secret).toString('base64'));
    if (secrets.username !== undefined) {
      forms.add(Buffer.from(`\0${secrets.username}\0${secret}`).toString('base64'));
      forms.add(Buffer.from(`user=${secrets.username}\x01auth=Bearer ${secret}\x01\x01`).toString('base64'));
    }
  }
  let result = text;
  // Longest first, so a base64 form is not half-replaced through a shorter one it contains.
  for (const form of [...forms].sort((a, b) => b.length - a.length)) result = result.split(form).join(MASK);
  return result;
}

/**
 * SERVER_SAID_MAX_LENGTH bounds what is kept of a server's words: ten times the 512 octets of an
 * SMTP reply line (RFC 5321) would still be whole, a server's multi-line refusal too.
 */
const SERVER_SAID_MAX_LENGTH = 2_000;

/**
 * serverSaid is a server's words (its reply, or an error quoting it) as they are logged, stored and
 * answered: the secrets it may echo masked, and a NUL character, which PostgreSQL cannot store in
 * text, as U+FFFD. Refused, an alert email's attempt went unrecorded and the email out again at
 * every lease, and a Test Mail Settings that had reached the server was answered 400. Beyond
 * SERVER_SAID_MAX_LENGTH characters it is cut, saying how many were left out: a server may answer
 * with hundreds of kilobytes, which every attempt stored and every answer carried.
 */
export function serverSaid(text: string, secrets: KnownSecrets): string {
  const said = maskSecrets(text, secrets).replaceAll('\0', '\uFFFD');
  if (said.length <= SERVER_SAID_MAX_LENGTH) return said;
  return `${said.slice(0, SERVER_SAID_MAX_LENGTH)}… (${(said.length - SERVER_SAID_MAX_LENGTH).toLocaleString('en-US')} more characters)`;
}

/**
 * maskDialogueLine hides credentials in one SMTP dialogue line: the argument of a client AUTH
 * command, the client's answers to AUTH challenges, and the known secrets in any form.
 */
export function maskDialogueLine(line: string, secrets: KnownSecrets, inAuthExchange: boolean): string {
  let masked = line;
  const auth = /^(C: AUTH \S+)(\s.*)?$/i.exec(masked);
  if (auth) masked = auth[2] ? `${auth[1]} ${MASK}` : auth[1]!;
  else if (inAuthExchange && masked.startsWith('C: ')) masked = `C: ${MASK}`;
  return maskSecrets(masked, secrets);
}

/**
 * displaySmtpUrl is an SMTP URL as the banner and the logs show it: scheme, user, host and port,
 * e.g. `smtp://127.0.0.1:2525` or `smtps://ops:***@mail.example.com:465`. The password is masked
 * and the query (sender address, options) left out, so nothing in it can be read as credentials.
 */
export function displaySmtpUrl(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${u.username}${u.password ? `:${MASK}` : ''}@` : '';
    return `${u.protocol}//${user}${u.host}`;
  } catch {
    return '(invalid URL)';
  }
}
