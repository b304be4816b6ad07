import net from 'node:net';
import { domainToASCII } from 'node:url';
import { z } from 'zod';
import type { SmtpAuthMethod, SmtpSecurity } from '../delivery/contract.js';
import { switchValue } from '../shared/switch.js';
import { isEmailAddress } from '../shared/email-address.js';
import { displayText, emailAddress, headerSafe, nameText, patchedValue } from '../shared/validation.js';

/** PERCENT_ENCODE_HINT says how to write a user name or password that has a character URLs give a meaning to. */
export const PERCENT_ENCODE_HINT = 'percent-encode / # ? @ : % in the user name and password, such as %2F for /';

/** DEFAULT_SYSTEM_SMTP_URL is the system SMTP when neither TOCSIN_SMTP_URL nor the built-in catcher is there. */
export const DEFAULT_SYSTEM_SMTP_URL = 'smtp://127.0.0.1:25';

/** catcherSmtpUrl is the system SMTP URL of the built-in mail catcher listening on `port`. */
export function catcherSmtpUrl(port: number): string {
  return `smtp://127.0.0.1:${port}?from=tocsin@localhost`;
}

/** DEFAULT_TIMEOUT_MS bounds each SMTP step (connect, greeting, each reply) unless a tenant says otherwise. */
const DEFAULT_TIMEOUT_MS = 30_000;

const SECURITIES = ['none', 'starttls', 'tls'] as const satisfies readonly SmtpSecurity[];
const AUTH_METHODS = ['auto', 'none', 'plain', 'login', 'xoauth2'] as const satisfies readonly SmtpAuthMethod[];
const ASCII_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/**
 * isHostName accepts what may name an SMTP server: an IPv4 or IPv6 address, or a DNS name of
 * letter-digit-hyphen labels (internationalized names too, checked in their ASCII form).
 */
export function isHostName(value: string): boolean {
  if (net.isIP(value)) return true;
  // domainToASCII silently drops tabs and line breaks; a host name never has any. It also reads a
  // URL's host, up to a `/`, `\`, `?` or `#`, with % escapes decoded: `smtp.gmail.com/` passed as
  // smtp.gmail.com, and was saved to fail at every lookup.
  if (/[\s\0-\x1f\x7f/\\?#%]/.test(value)) return false;
  const ascii = domainToASCII(value.replace(/\.$/, ''));
  return ascii.length > 0 && ascii.length <= 253 && ascii.split('.').every((label) => ASCII_LABEL.test(label));
}

/**
 * bareHost takes an IP address out of the brackets a URL (`smtp://[2001:db8::1]:587`) or an SMTP
 * address literal (`[IPv6:2001:db8::1]`, `[192.0.2.1]`) writes around it, where users copy hosts
 * from; anything else, a bracketed name included, stays as it is (and isHostName refuses it).
 */
function bareHost(value: string): string {
  const inside = /^\[(?:IPv6:)?([^[\]]+)\]$/i.exec(value)?.[1];
  return inside !== undefined && net.isIP(inside) ? inside : value;
}

const HOST = 'must be a host name or an IP address, such as smtp.example.com';
// What people paste into the host field from a URL or a provider's page ("smtp.gmail.com:587",
// smtp://…): "must be a host name" alone read as a refusal of the name they meant.
const HOST_ALONE = 'must be a host name or an IP address alone, without a scheme or a port, such as smtp.example.com: the port has a field of its own';

/** hostProblem is why a host that isHostName refuses is refused: a scheme or a port in it, or anything else. */
function hostProblem(value: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) || /^(?:[^:]+|\[[^\]]*\]):\d+$/.test(value) ? HOST_ALONE : HOST;
}

// One message for any wrong port (text, empty, a fraction, out of range): zod's own would say
// "Invalid input: expected number, received string" next to the console's Port field.
const PORT = 'must be a port number from 1 to 65535, such as 465 or 587';
// The console asks for the timeout in seconds: the range is said in both units.
const TIMEOUT = 'must be from 1,000 to 600,000 milliseconds (1 second to 10 minutes)';

// Secrets go into AUTH commands, where a line break or NUL would end or split the command.
const secret = headerSafe(4096).min(1);

/** smtpSettingsInput is the body of an SmtpSettings in a PUT: every field optional, `null` clears. */
export const smtpSettingsInput = z
  .object({
    host: z
      .string()
      .trim()
      .max(253)
      .transform(bareHost)
      .superRefine((value, ctx) => {
        if (!isHostName(value)) ctx.addIssue({ code: 'custom', message: hostProblem(value) });
      }),
    port: z.number({ error: PORT }).int(PORT).min(1, PORT).max(65535, PORT),
    security: z.enum(SECURITIES),
    // enableSsl is input only and the two *Set flags answers only: none keeps a value of its own
    // that null could clear, so null is taken as left out, as a script writing null into every
    // optional field expects (API.md: null clears an optional field).
    enableSsl: z.boolean().nullable(),
    domain: headerSafe(255).pipe(z.string().trim()).nullable(),
    username: headerSafe(320).pipe(z.string().trim()).nullable(),
    password: secret.nullable(),
    passwordSet: z.boolean().nullable(),
    // null sets the default back (API.md: null clears an optional field), as for the fields below.
    authMethod: z.enum(AUTH_METHODS).nullable(),
    accessToken: secret.nullable(),
    accessTokenSet: z.boolean().nullable(),
    fromAddress: emailAddress,
    // Empty or blank clears it, as for domain and username: the seed's form leaves the field empty
    // for no display name, and Orchestrator's model sends "" (a 400 'Too small' said nothing useful).
    fromDisplayName: nameText(200).pipe(z.string().trim()).nullable(),
    timeoutMs: z.number({ error: TIMEOUT }).int(TIMEOUT).min(1_000, TIMEOUT).max(600_000, TIMEOUT).nullable(),
    allowPlaintextAuth: z.boolean().nullable(),
  })
  .partial()
  .strict();

/** SmtpSettingsInput is a parsed SmtpSettings body. */
export type SmtpSettingsInput = z.infer<typeof smtpSettingsInput>;

/** StoredSmtp is an SmtpSettings without its secrets, as kept in the database (JSON). */
export interface StoredSmtp {
  host: string;
  port: number;
  security: SmtpSecurity;
  domain: string | null;
  username: string | null;
  authMethod: SmtpAuthMethod;
  fromAddress: string;
  fromDisplayName: string | null;
  timeoutMs: number;
  /** Whether credentials may go over a connection without TLS (`security: none`); false unless set explicitly. */
  allowPlaintextAuth: boolean;
}

/** SmtpSecrets are the write-only values, in clear, or null when not set. */
export interface SmtpSecrets {
  password: string | null;
  accessToken: string | null;
}

/** securityFromEnableSsl maps the seed's Enable SSL box: implicit TLS on 465, STARTTLS elsewhere. */
export function securityFromEnableSsl(enableSsl: boolean, port: number): SmtpSecurity {
  if (!enableSsl) return 'none';
  return port === 465 ? 'tls' : 'starttls';
}

/** PLAINTEXT_AUTH_REFUSED explains why credentials need TLS, and the way out for a server that truly has none. */
const PLAINTEXT_AUTH_REFUSED =
  'would be sent without encryption with security "none": choose security "starttls" or "tls", or set allowPlaintextAuth to true to accept that';

/**
 * plaintextCredentials names the credentials that `security: none` would send in clear
 * (`username`, `password`, `accessToken`, those set), none when it is allowed or `authMethod:
 * none` sends none (Orchestrator's UseDefaultCredentials, whose form keeps the user name and
 * password it then ignores, with Enable SSL off as that form requires). Each is named, so that a
 * script sending a user name and a password is told of the password too, the secret at stake.
 */
function plaintextCredentials(
  smtp: Pick<StoredSmtp, 'security' | 'username' | 'allowPlaintextAuth' | 'authMethod'>,
  secrets: SmtpSecrets,
): ('username' | 'password' | 'accessToken')[] {
  if (smtp.security !== 'none' || smtp.allowPlaintextAuth || smtp.authMethod === 'none') return [];
  return [
    ...(smtp.username ? ['username' as const] : []),
    ...(secrets.password ? ['password' as const] : []),
    ...(secrets.accessToken ? ['accessToken' as const] : []),
  ];
}

/**
 * MergeError names the field that is missing once an input is merged over what was stored (`path`,
 * `message`), and in `fields` every such field when several are (host, port and fromAddress).
 */
export class MergeError extends Error {
  override readonly name = 'MergeError';
  readonly fields: readonly { path: string; message: string }[];

  constructor(
    readonly path: string,
    message: string,
    more: readonly string[] = [],
  ) {
    super(message);
    this.fields = [path, ...more].map((field) => ({ path: field, message }));
  }
}

function pick<T>(input: T | undefined, stored: T): T {
  return input === undefined ? stored : input;
}

/**
 * mergeSmtp applies an input over the stored settings and secrets: a field left out keeps its
 * value, `null` clears an optional one. `security` wins over `enableSsl`; without either the
 * stored security stays, or a new server gets TLS (implicit on 465, STARTTLS elsewhere).
 * Throws MergeError naming a required field that is still missing.
 */
export function mergeSmtp(stored: StoredSmtp | null, secrets: SmtpSecrets, input: SmtpSettingsInput): { smtp: StoredSmtp; secrets: SmtpSecrets } {
  const host = input.host ?? stored?.host;
  const port = input.port ?? stored?.port;
  const fromAddress = input.fromAddress ?? stored?.fromAddress;
  if (host === undefined || port === undefined || fromAddress === undefined) {
    const [first = 'host', ...more] = Object.entries({ host, port, fromAddress }).flatMap(([field, value]) => (value === undefined ? [field] : []));
    throw new MergeError(first, 'is required', more);
  }
  const security =
    input.security ?? (input.enableSsl != null ? securityFromEnableSsl(input.enableSsl, port) : (stored?.security ?? securityFromEnableSsl(true, port)));
  const smtp: StoredSmtp = {
    host,
    port,
    security,
    domain: pick(input.domain, stored?.domain ?? null) || null,
    username: pick(input.username, stored?.username ?? null) || null,
    authMethod: patchedValue(input.authMethod, stored?.authMethod ?? 'auto', 'auto'),
    fromAddress,
    fromDisplayName: pick(input.fromDisplayName, stored?.fromDisplayName ?? null) || null,
    timeoutMs: patchedValue(input.timeoutMs, stored?.timeoutMs ?? DEFAULT_TIMEOUT_MS, DEFAULT_TIMEOUT_MS),
    allowPlaintextAuth: patchedValue(input.allowPlaintextAuth, stored?.allowPlaintextAuth ?? false, false),
  };
  const merged: SmtpSecrets = {
    password: pick(input.password, secrets.password),
    accessToken: pick(input.accessToken, secrets.accessToken),
  };
  if (smtp.authMethod === 'xoauth2' && (!smtp.username || !merged.accessToken)) {
    throw new MergeError(smtp.username ? 'accessToken' : 'username', 'is required for XOAUTH2');
  }
  if ((smtp.authMethod === 'plain' || smtp.authMethod === 'login') && (!smtp.username || merged.password === null)) {
    throw new MergeError(smtp.username ? 'password' : 'username', `is required for ${smtp.authMethod.toUpperCase()}`);
  }
  const [inClear, ...moreInClear] = plaintextCredentials(smtp, merged);
  if (inClear) throw new MergeError(inClear, PLAINTEXT_AUTH_REFUSED, moreInClear);
  return { smtp, secrets: merged };
}

/** showSmtp is the answer for stored settings: never a secret, only `passwordSet`/`accessTokenSet`. */
export function showSmtp(smtp: StoredSmtp, secrets: { passwordSet: boolean; accessTokenSet: boolean }): SmtpSettingsView {
  return { ...smtp, enableSsl: smtp.security !== 'none', ...secrets };
}

const storedSmtp = z.object({
  host: z.string(),
  port: z.number().int(),
  security: z.enum(SECURITIES),
  domain: z.string().nullable(),
  username: z.string().nullable(),
  authMethod: z.enum(AUTH_METHODS),
  fromAddress: z.string(),
  fromDisplayName: z.string().nullable(),
  timeoutMs: z.number().int(),
  // Settings saved before the field existed that signed in without TLS carry it (migration 20261203-20); the others never allowed it.
  allowPlaintextAuth: z.boolean().default(false),
});

/** smtpSettingsView is an SmtpSettings as answered (and as the OpenAPI document shows it): no secrets, only whether they are set. */
export const smtpSettingsView = storedSmtp.extend({
  allowPlaintextAuth: z.boolean(),
  enableSsl: z.boolean(),
  passwordSet: z.boolean(),
  accessTokenSet: z.boolean(),
});
/** SmtpSettingsView is the type of smtpSettingsView. */
export type SmtpSettingsView = z.infer<typeof smtpSettingsView>;

/** parseStoredSmtp reads the JSON column back, or null. */
export function parseStoredSmtp(json: string | null): StoredSmtp | null {
  return json === null ? null : storedSmtp.parse(JSON.parse(json));
}

/** UrlSmtp is an SMTP URL read once at start-up (TOCSIN_SMTP_URL or the catcher's): the URL and what it says. */
export interface UrlSmtp {
  readonly url: string;
  readonly smtp: StoredSmtp;
  readonly secrets: SmtpSecrets;
}

/** SMTP_URL_PARAMETERS are the query parameters an SMTP URL may carry (smtpFromUrl). */
export const SMTP_URL_PARAMETERS: readonly string[] = ['from', 'fromName', 'starttls', 'security', 'domain', 'timeoutMs', 'allowPlaintextAuth'];

/**
 * unreadUrlParameters are the query parameters of an SMTP URL that smtpFromUrl does not read
 * (`?secure=true`, `?fromname=`, a nodemailer-style `?pool=true`): start-up warns of them rather
 * than stop, since a URL that worked before must still start.
 */
export function unreadUrlParameters(url: string): string[] {
  // Each named once: a repeated one was said twice ('pool, pool are not read').
  return [...new Set(new URL(url).searchParams.keys())].filter((key) => !SMTP_URL_PARAMETERS.includes(key));
}

/**
 * repeatedParameter is the first parameter smtpFromUrl reads that the URL gives more than once
 * (`?from=a@example.com&from=b@example.com`), if any: only the first was read, without a word,
 * so which one the operator meant is unknown. Unread parameters are warned of as such.
 */
function repeatedParameter(query: URLSearchParams): string | undefined {
  return SMTP_URL_PARAMETERS.find((name) => query.getAll(name).length > 1);
}

/** urlSwitch reads a switch parameter of an SMTP URL as the environment's switches are read (`?starttls=yes`): absent is false. */
function urlSwitch(query: URLSearchParams, name: string): boolean {
  const text = query.get(name);
  if (text === null) return false;
  const value = switchValue(text);
  if (value === undefined) throw new Error(`${name} must be true or false (or yes, no, 1, 0)`);
  return value;
}

/** urlSmtp reads an SMTP URL once, for the process's lifetime; throws as smtpFromUrl does. */
export function urlSmtp(url: string): UrlSmtp {
  return { url, ...smtpFromUrl(url) };
}

/**
 * decodedUserInfo decodes the user name or password of an SMTP URL (null when empty). A `%` that starts
 * no escape (`50%off`) made decodeURIComponent stop the start with only 'URI malformed'; it says how to write one.
 */
function decodedUserInfo(encoded: string): string | null {
  try {
    return decodeURIComponent(encoded) || null;
  } catch {
    throw new Error(`the user name or password has a % that starts no %XX escape: ${PERCENT_ENCODE_HINT}, %25 for %`);
  }
}

/** NAMED_ADDRESS is `Name <address>` or `"Name" <address>` (RFC 5322 name-addr), the name possibly empty. */
const NAMED_ADDRESS = /^\s*(?:"((?:[^"\\]|\\.)*)"|([^"<>]*?))\s*<([^<>]*)>\s*$/;

/**
 * urlFrom reads the `?from=` of an SMTP URL: an address, or `Name <address>` as other tools' MAIL_FROM
 * settings write it (which stopped the start as no email address), whose name stands for `?fromName=`.
 */
function urlFrom(text: string): { address: string; name: string | null } {
  const named = NAMED_ADDRESS.exec(text);
  // An address has no space: a '+' there (a space once the query is decoded) is the address's own (alerts+ops@example.com).
  if (named === null) return { address: text.replaceAll(' ', '+'), name: null };
  const name = (named[1]?.replace(/\\(.)/g, '$1') ?? named[2] ?? '').trim();
  return { address: (named[3] ?? '').trim().replaceAll(' ', '+'), name: name || null };
}

/**
 * urlDefaultFrom is the From of an SMTP URL without `?from=`: its user name when that is an address,
 * as a server that signs senders in takes only the address signed in (Microsoft 365 refuses any other
 * with 554 SendAsDenied, Postfix with reject_sender_login_mismatch), where every email went out from
 * `tocsin@` the server's own host name; else `tocsin@` that name (`localhost` for an address), as before.
 */
function urlDefaultFrom(host: string, username: string | null): string {
  if (username !== null && isEmailAddress(username)) return username;
  return `tocsin@${host.includes(':') || net.isIP(host) ? 'localhost' : host}`;
}

/**
 * smtpFromUrl reads TOCSIN_SMTP_URL (`smtp://` plain, `smtps://` implicit TLS, `?starttls=true`
 * or `?security=`, `?from=`, `?fromName=`, user and password in the URL). Throws on a bad URL, and
 * on credentials without TLS unless the URL says `?allowPlaintextAuth=true`.
 */
export function smtpFromUrl(url: string): { smtp: StoredSmtp; secrets: SmtpSecrets } {
  const parsed = new URL(url);
  // `smtps://ops:123/x@mail.example.com` parses, as the host `ops` on port 123: the `/` of the password ended it.
  if (/@/.test(parsed.pathname + parsed.hash)) throw new Error(`the URL's host is unclear: ${PERCENT_ENCODE_HINT}`);
  const implicit = parsed.protocol === 'smtps:';
  if (!implicit && parsed.protocol !== 'smtp:') throw new Error('the SMTP URL must start with smtp:// or smtps://');
  const query = parsed.searchParams;
  const repeated = repeatedParameter(query);
  if (repeated !== undefined) throw new Error(`${repeated} is given more than once: give each parameter once`);
  const security = (query.get('security') ?? (urlSwitch(query, 'starttls') ? 'starttls' : implicit ? 'tls' : 'none')) as SmtpSecurity;
  if (!SECURITIES.includes(security)) throw new Error('security must be none, starttls or tls');
  // The scheme asks for TLS and the banner shows it: a parameter silently sending every email in clear is refused.
  if (implicit && security === 'none') throw new Error('smtps:// is implicit TLS, which ?security=none would turn off: write smtp:// for a server without TLS');
  const host = bareHost(parsed.hostname);
  // In decimal digits, as the variables' whole numbers are: Number() also read 0x2710 and 1e4.
  const timeoutText = query.get('timeoutMs') ?? String(DEFAULT_TIMEOUT_MS);
  const timeoutMs = /^\d+$/.test(timeoutText) ? Number(timeoutText) : Number.NaN;
  if (!isHostName(host)) throw new Error('the SMTP URL needs a host name or address');
  // The bounds of a tenant's timeoutMs: past 2^31 ms Node's timers fire at once, failing every send as timed out.
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1_000 || timeoutMs > 600_000) {
    throw new Error('timeoutMs must be a whole number of milliseconds, at least 1000 and at most 600000 (10 minutes)');
  }
  const port = parsed.port ? Number(parsed.port) : implicit ? 465 : 25;
  if (port === 0) throw new Error('the port must be from 1 to 65535, such as 465 or 587');
  const username = decodedUserInfo(parsed.username);
  const password = decodedUserInfo(parsed.password);
  const fromText = query.get('from');
  const { address: from, name: nameInFrom } = fromText === null ? { address: null, name: null } : urlFrom(fromText);
  // Every email of every tenant on the default would have failed at the sender (or carried a header of its own).
  if (from !== null && !isEmailAddress(from)) throw new Error('from must be an email address such as alerts@example.com, or Name <alerts@example.com>');
  const fromName = query.get('fromName') || nameInFrom;
  if (fromName && !displayText.safeParse(fromName).success)
    throw new Error('fromName must be one line of at most 200 characters, without control characters such as ESC or DEL');
  const domain = query.get('domain') || null;
  // The SMTP Domain, joined with the user name when signing in (DOMAIN\user): one line, as a tenant's domain must be.
  if (domain && !headerSafe(255).safeParse(domain).success) throw new Error('domain must be one line of at most 255 characters');
  const allowPlaintextAuth = urlSwitch(query, 'allowPlaintextAuth');
  if (plaintextCredentials({ security, username, allowPlaintextAuth, authMethod: 'auto' }, { password, accessToken: null }).length > 0) {
    throw new Error(
      'the URL has a user name or password but no TLS, so they would cross the network in clear: use smtps://, add ?starttls=true, or add ?allowPlaintextAuth=true to accept that',
    );
  }
  return {
    smtp: {
      host,
      port,
      security,
      domain,
      username,
      authMethod: 'auto',
      fromAddress: from ?? urlDefaultFrom(host, username),
      fromDisplayName: fromName || 'Tocsin',
      timeoutMs,
      allowPlaintextAuth,
    },
    secrets: { password, accessToken: null },
  };
}
