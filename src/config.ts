import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_FLOOD_WINDOW_MS } from './alerts/store.js';
import { closestName } from './cli/suggest.js';
import { ConfigError } from './shared/config-error.js';
import { MAX_BEARER_LENGTH } from './shared/bearer.js';
import { hostAndPort } from './shared/host-port.js';
import { SWITCH_WORDS, switchValue } from './shared/switch.js';
import { inWords } from './shared/in-words.js';
import { MAX_API_PROCESSES, ROLES, type Role } from './shared/serve-roles.js';
import { PERCENT_ENCODE_HINT, SMTP_URL_PARAMETERS, type UrlSmtp, unreadUrlParameters, urlSmtp } from './settings/smtp-settings.js';
import type { DatabaseSetting } from './storage/connect.js';
import { DATABASE_URL_MESSAGE, DEFAULT_DB_POOL_SIZE, dialectOfUrl } from './storage/storage.js';

/** The HTTP listener's defaults (API.md: PORT 8080, HOST 127.0.0.1). */
const DEFAULT_PORT = 8080;
const DEFAULT_HOST = '127.0.0.1';

// In any case: a template writing a YAML boolean into the environment gives `False` or `TRUE`.
const booleanFromEnv = z.preprocess(
  (value) => (typeof value === 'string' ? value.toLowerCase() : value),
  z.enum(SWITCH_WORDS, { message: 'must be true or false (yes and no, 1 and 0 also do, in any case)' }).transform((value) => switchValue(value) === true),
);

/** What TOCSIN_SMTP_URL must be; a `/`, `#`, `?` or `@` of a password cuts the URL short unless percent-encoded. */
const SMTP_URL_MESSAGE = `is not a URL such as smtps://user:pass@host:465?from=alerts@example.com (${PERCENT_ENCODE_HINT})`;

/** PROXY_NAMES are proxy-addr's names of address ranges (127.0.0.1/8 and ::1; 169.254.0.0/16 and fe80::/10; private and fc00::/7). */
const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * isProxyAddress: an IP address, an address with a prefix length (`10.0.0.0/8`), or one of PROXY_NAMES.
 * The length is from 1: proxy-addr refuses /0 (every address, as `true` would be) only when the app is
 * built, with a stack trace after the migrations.
 */
function isProxyAddress(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [address = '', bits, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) >= 1 && Number(bits) <= (version === 4 ? 32 : 128));
}

/**
 * isClearPostgresUrl: a PostgreSQL URL whose host is the one meant. A `#` or `/` of a password left
 * as is ends the user and password early (`postgres://u:p@ss#1@db/x` names the host `ss`), and a `%`
 * not followed by two hex digits is no percent-encoding the driver can read.
 */
function isClearPostgresUrl(url: string): boolean {
  if (dialectOfUrl(url) !== 'postgres') return true;
  if (!URL.canParse(url)) return false;
  const parsed = new URL(url);
  if (/@/.test(parsed.pathname + parsed.hash)) return false;
  try {
    decodeURIComponent(parsed.username + parsed.password);
    return true;
  } catch {
    return false;
  }
}

/** SSL_MODES are the `sslmode` values node-postgres reads as their names say (see postgresTlsProblem). */
const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/**
 * postgresTlsProblem says what is wrong with the TLS parameters of a PostgreSQL URL, if anything.
 * node-postgres turns an `sslmode` it does not know (`disabled`, `DISABLE`, `off`, libpq's `allow`)
 * into TLS with the certificate verified, and reads an `ssl` other than `true`, `1` or `0` (`ssl=false`,
 * as other drivers' URLs write it) as on: a start meant to connect in clear failed with only "The
 * server does not support SSL connections", the opposite of what the URL said.
 */
function postgresTlsProblem(url: string): string | undefined {
  if (dialectOfUrl(url) !== 'postgres' || !URL.canParse(url)) return undefined;
  const query = new URL(url).searchParams;
  const mode = query.get('sslmode');
  if (mode !== null && !SSL_MODES.includes(mode)) {
    return `sslmode must be ${inWords(SSL_MODES)} (got "${mode}"): node-postgres reads any other value as verify-full, TLS with the certificate checked`;
  }
  const ssl = query.get('ssl');
  if (ssl !== null && !['true', '1', '0'].includes(ssl)) {
    return `ssl must be true, 1 or 0 (got "${ssl}"): node-postgres reads any other value as true; write sslmode=disable for a connection without TLS`;
  }
  return undefined;
}

/**
 * isListenHost: an IP address, or a host name that a URL can hold as its host (`http://HOST:PORT` is
 * the default base of every link): not `999.1.1.1`, a URL, or a name with a space or a path in it.
 */
function isListenHost(host: string): boolean {
  if (isIP(host) !== 0) return true;
  return /^[^\s/?#@\\[\]:]+$/.test(host) && URL.canParse(`http://${host}`);
}

/**
 * isLinkBase: an http(s) URL that a path can be appended to: no query, no fragment, no white space
 * or control character (the URL parser drops a tab or line break, the links would keep it), and no
 * user or password, which every email's links would show to its recipients.
 */
export function isLinkBase(url: string): boolean {
  if (!URL.canParse(url) || /[?#\s\p{Cc}]/u.test(url)) return false;
  const parsed = new URL(url);
  return /^https?:$/.test(parsed.protocol) && parsed.username === '' && parsed.password === '';
}

/**
 * wholeNumber reads a variable that is a whole number from min to max (at least min when max is
 * unset), with one message naming what it takes for every way it can be wrong: the validation
 * library's own ('Invalid input: expected number, received NaN', 'Too small: expected number to be
 * >=0') left an operator to guess what was wanted.
 */
function wholeNumber(min: number, max?: number, unit = '') {
  const message = `must be a whole number${unit ? ` of ${unit}` : ''} ${max === undefined ? `of at least ${min}` : `from ${min} to ${max}`}`;
  // Decimal digits only: Number() also reads 0x10 (16), 1e3, 0b1 and 0o17, so PORT=0x10 listened on port 16.
  const atLeast = z.number().int({ message }).min(min, { message });
  return z
    .string({ message })
    .trim()
    .regex(/^\d+$/, { message })
    .transform(Number)
    .pipe(max === undefined ? atLeast : atLeast.max(max, { message }));
}

/** oneOf reads a variable that is one of `values`, saying them in words when it is not ("must be api, worker or all"). */
function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { message: `must be ${inWords(values)}` });
}

/**
 * positiveNumber reads a variable that is a number above 0 (a fraction allowed), at most max when
 * given, in decimal digits as wholeNumber reads them: coerced, 0x18 was 24 hours and 1e2 a hundred.
 */
function positiveNumber(message: string, max?: number) {
  const positive = z.number().positive({ message });
  return z
    .string({ message })
    .trim()
    .regex(/^(\d+(\.\d*)?|\.\d+)$/, { message })
    .transform(Number)
    .pipe(max === undefined ? positive : positive.max(max, { message }));
}

/**
 * inHome reads a leading `~/` of a path as the home folder, as a shell would: set where no shell
 * expands it (a systemd unit, a container's environment, a quoted value), `sqlite:~/tocsin.db`
 * opened a file under a folder named `~` in the working folder. Only `~/` is: `~user` is not read.
 */
function inHome(file: string): string {
  return file.startsWith('~/') ? path.join(os.homedir(), file.slice(2)) : file;
}

const envSchema = z.object({
  // Checked here so that a wrong one stops the start with this message, not a stack trace when opened.
  DATABASE_URL: z
    .string()
    // A secret or ConfigMap file's last line break would end up in the database's name or file name.
    .trim()
    .min(1)
    .refine((url) => dialectOfUrl(url) !== undefined, DATABASE_URL_MESSAGE)
    // better-sqlite3 opens a temporary database for an empty path: the data would be gone at the next start.
    .refine((url) => url !== 'sqlite:', 'sqlite: needs the path of a file, such as sqlite:./data/tocsin.db')
    // POSIX reads `//x` as `/x`: `sqlite://tocsin.db`, meant relative as in other tools' URLs, opened /tocsin.db.
    .refine(
      (url) => !/^sqlite:\/\/[^/]/.test(url),
      'sqlite://NAME names the file /NAME at the root of the disk: write sqlite:./data/tocsin.db for a path from the working folder, or sqlite:/var/lib/tocsin/tocsin.db for an absolute one',
    )
    .refine(isClearPostgresUrl, `is not a URL such as postgres://user:pass@host:5432/db (${PERCENT_ENCODE_HINT})`)
    .superRefine((url, context) => {
      const problem = postgresTlsProblem(url);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    })
    .transform((url) => (url.startsWith('sqlite:') ? `sqlite:${inHome(url.slice('sqlite:'.length))}` : url))
    .optional(),
  PORT: wholeNumber(0, 65535).default(DEFAULT_PORT),
  HOST: z
    .string()
    .min(1)
    // Written as in a URL, `[::1]` is the IPv6 address ::1 (listen takes it without brackets).
    .transform((host) => (/^\[.*\]$/.test(host) && isIP(host.slice(1, -1)) === 6 ? host.slice(1, -1) : host))
    // Node listens on one, but no URL can hold it (the WHATWG URL has no zones), so the default public URL
    // http://HOST:PORT stopped the start with 'TypeError: Invalid URL' and its stack.
    .refine((host) => !(isIP(host) === 6 && host.includes('%')), {
      message: 'must be an address without an IPv6 zone (%eth0), which no URL can hold: listen on :: (every address) or a global address of this machine',
      abort: true,
    })
    .refine(isListenHost, 'must be an address or host name of this machine, such as 127.0.0.1, 0.0.0.0 (every address), ::1 or localhost')
    .default(DEFAULT_HOST),
  // Any value is taken (API.md: the admin token "is the value of" the variable), but for the spaces and
  // line breaks around it (a secret file's last line break), which no Authorization header can carry; a
  // short one is only warned about at start-up (configWarnings), so an operator's or a test's choice still starts.
  // One with white space inside or over 512 characters is refused: no Authorization header the API
  // reads carries it (access-hook's bearer), so it started and every request with it was a 401.
  TOCSIN_ADMIN_TOKEN: z
    .string()
    .trim()
    .refine((token) => !/\s/.test(token), 'must have no space, tab or line break inside: no Authorization header can carry one')
    .refine((token) => token.length <= MAX_BEARER_LENGTH, `must be at most ${MAX_BEARER_LENGTH} characters, the longest bearer token the API reads`)
    .optional(),
  TOCSIN_SECRET_KEY: z.string().optional(),
  TOCSIN_SMTP_URL: z.string().url(SMTP_URL_MESSAGE).optional(),
  TOCSIN_SUMMARY_INTERVAL_SECONDS: wholeNumber(1, 86_400, 'seconds').default(600),
  // Links are this base and a path: `host:8080` (a URL of scheme `host:`), a query or a fragment would make them dead.
  TOCSIN_PUBLIC_URL: z
    .string()
    .trim()
    .refine(isLinkBase, 'must be an http:// or https:// address without ? or #, spaces or a user and password, such as https://tocsin.example.com')
    .optional(),
  TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS: booleanFromEnv.default(true),
  // Only named proxies, never `true` or a hop count: either believes the X-Forwarded-For of any client
  // that reaches the port, who could then pose as a new address at each sign-in it tries.
  TOCSIN_TRUST_PROXY: z
    .string()
    .transform((value) => value.split(',').map((entry) => entry.trim()))
    .refine(
      (entries) => entries.every(isProxyAddress),
      'must be the addresses of the reverse proxies, comma-separated: IP addresses, ranges such as 10.0.0.0/8, or loopback, linklocal, uniquelocal',
    )
    .optional(),
  // A ConfigMap file's last line break made a folder of its own, with a new, empty database and key.
  TOCSIN_DATA_DIR: z.string().trim().min(1).transform(inHome).default('./data'),
  TOCSIN_MAIL_CATCHER_PORT: wholeNumber(0, 65535).default(2525),
  TOCSIN_DELIVERY_DEADLINE_HOURS: positiveNumber('must be a number of hours above 0, such as 24 or 0.5').default(24),
  TOCSIN_FLOOD_WINDOW_SECONDS: wholeNumber(0, 86_400, 'seconds').default(DEFAULT_FLOOD_WINDOW_MS / 1000),
  TOCSIN_SOURCE_REQUESTS_PER_MINUTE: wholeNumber(1).default(60_000),
  TOCSIN_HTTP_BODY_TIMEOUT_MS: wholeNumber(100, 3_600_000, 'milliseconds').default(30_000),
  TOCSIN_ACTION_LINK_DAYS: positiveNumber('must be a number of days above 0 and at most 365', 365).default(7),
  TOCSIN_ROLE: oneOf(ROLES).default('all'),
  TOCSIN_DB_POOL_SIZE: wholeNumber(1, 1_000).default(DEFAULT_DB_POOL_SIZE),
  TOCSIN_API_PROCESSES: wholeNumber(1, MAX_API_PROCESSES).default(1),
  TOCSIN_LEAN_HEAP: booleanFromEnv.default(false),
  TOCSIN_WARM_UP_ALERTS: wholeNumber(0, 1_000).default(0),
  // In any case, as the switches: operators write LOG_LEVEL=INFO (and pino knows only lower case).
  LOG_LEVEL: z
    .preprocess(
      (value) => (typeof value === 'string' ? value.trim().toLowerCase() : value),
      oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    )
    .default('info'),
});

/** SETTING_NAMES are the variables Tocsin reads: the server's, and TOCSIN_TOKEN of `tocsin raise`. */
const SETTING_NAMES: readonly string[] = [...Object.keys(envSchema.shape), 'TOCSIN_TOKEN'];

/** Config is the validated, immutable runtime configuration of one Tocsin process. */
export interface Config {
  readonly databaseUrl: string;
  /** Which variable chose the database: DATABASE_URL, or TOCSIN_DATA_DIR (its default SQLite file) when that is unset. */
  readonly databaseSetting: DatabaseSetting;
  readonly port: number;
  readonly host: string;
  readonly adminToken: string | undefined;
  readonly secretKey: string | undefined;
  /** The system default SMTP server; undefined means the built-in mail catcher. */
  readonly smtpUrl: string | undefined;
  /** TOCSIN_SMTP_URL read once: what every resolution of the system default starts from. */
  readonly systemSmtp: UrlSmtp | undefined;
  readonly summaryIntervalSeconds: number;
  readonly publicUrl: string;
  /** Whether TOCSIN_PUBLIC_URL was set: unset, publicUrl is http://HOST:PORT, which an operator may not know it names. */
  readonly publicUrlSet: boolean;
  readonly allowPrivateSmtpHosts: boolean;
  /**
   * The reverse proxies (addresses, ranges, proxy-addr names) whose X-Forwarded-For names the client
   * (TOCSIN_TRUST_PROXY); undefined: none, the client is the connection's peer.
   */
  readonly trustProxy: readonly string[] | undefined;
  readonly dataDir: string;
  readonly mailCatcherPort: number;
  readonly deliveryDeadlineMs: number;
  /** Repeats of a dedup key less than this apart are one flood (TOCSIN_FLOOD_WINDOW_SECONDS). */
  readonly floodWindowMs: number;
  /** How long the mute, snooze and acknowledge links of an email work (TOCSIN_ACTION_LINK_DAYS, default 7). */
  readonly actionLinkMs: number;
  /** Requests a minute each inbound source may send before its receive URL answers 503. */
  readonly sourceRequestsPerMinute: number;
  /** A request whose headers and body have not all arrived this long after it started is answered 408 and closed. */
  readonly httpBodyTimeoutMs: number;
  readonly role: Role;
  /** Most PostgreSQL connections this process's pool opens (TOCSIN_DB_POOL_SIZE); SQLite ignores it. */
  readonly dbPoolSize: number;
  /** How many `api` processes `tocsin serve --role api` runs on its one port (TOCSIN_API_PROCESSES, or --processes). */
  readonly apiProcesses: number;
  /**
   * Whether V8 keeps this process's heap small at a CPU cost (TOCSIN_LEAN_HEAP, off by default: it
   * costs delivery throughput): see servingHeap in cli/heap.ts.
   */
  readonly leanHeap: boolean;
  /**
   * How many Fatal alerts `tocsin serve` sends through a scratch server of its own before it starts
   * (TOCSIN_WARM_UP_ALERTS, 0 by default: off), so that V8 has compiled the path before the first
   * real Fatal alert: see ops/warm-up/fatal-path.ts.
   */
  readonly warmUpAlerts: number;
  readonly logLevel: string;
  /** TOCSIN_ variables set that are no setting but near one (TOCSIN_SUMARY_INTERVAL_SECONDS), with that one: said at start-up. */
  readonly misspeltVariables: readonly { readonly name: string; readonly near: string }[];
}

/** httpOrigin is `http://HOST:PORT`, an IPv6 address in brackets (`http://[::1]:8080`) so that it stays a URL. */
export function httpOrigin(host: string, port: number): string {
  return `http://${hostAndPort(host, port)}`;
}

/** publicUrlOf is the base of Tocsin's links: TOCSIN_PUBLIC_URL without trailing slashes, by default `http://HOST:PORT`. */
function publicUrlOf(publicUrl: string | undefined, host: string, port: number): string {
  // In its ASCII form (punycode host, percent-encoded path), as links and headers carry it: typed
  // https://例え.jp, it went raw into the Location header of every 201, which Node refused (a 500).
  return (publicUrl === undefined ? httpOrigin(host, port) : new URL(publicUrl).href).replace(/\/+$/, '');
}

/** publicPathOf is the path of a public URL without its trailing slashes: `/tocsin` of https://ops.example.com/tocsin/, empty at the root of a host. */
export function publicPathOf(publicUrl: string): string {
  return new URL(publicUrl).pathname.replace(/\/+$/, '');
}

/**
 * unsignedSender: a system SMTP URL that signs in with a user name that is no address and names no
 * `?from=`, so that its emails go out from `tocsin@` the server's host name (urlDefaultFrom), an
 * address a server that signs senders in lets no one send as (Amazon SES's user is an access key).
 */
function unsignedSender(smtp: UrlSmtp | undefined): boolean {
  return smtp !== undefined && smtp.smtp.username !== null && smtp.smtp.fromAddress !== smtp.smtp.username && !new URL(smtp.url).searchParams.has('from');
}

/** SHORT_SECRET_LENGTH: an admin token or secret key shorter than this is guessable enough to warn about. */
const SHORT_SECRET_LENGTH = 16;

/** UNSPECIFIED_HOSTS are the hostnames of "every address": one to listen on, never one to open. */
const UNSPECIFIED_HOSTS = new Set(['0.0.0.0', '[::]']);

/**
 * misspeltWarnings say each TOCSIN_ variable set that is no setting but near one, naming that one:
 * serve logs them, and migrate and test-mail print them, since `TOCSIN_DATA_DIRR=/var/lib/tocsin
 * tocsin migrate` migrated (and first made) ./data/tocsin.db without a word.
 */
export function misspeltWarnings(config: Pick<Config, 'misspeltVariables'>): string[] {
  return config.misspeltVariables.map(({ name, near }) => `${name} is not a setting of Tocsin and is not read: did you mean ${near}?`);
}

/**
 * configWarnings are what start-up logs about a configuration that works but is weak: an admin
 * token or secret key shorter than SHORT_SECRET_LENGTH characters (taken as given, see envSchema),
 * a public URL on every address (HOST=0.0.0.0 without TOCSIN_PUBLIC_URL, as in a container),
 * which no email link or receive URL built from it can reach, and parameters of TOCSIN_SMTP_URL it
 * does not read (`?secure=true`: the mail may not go as the operator meant); and a worker without
 * TOCSIN_PUBLIC_URL, whose email links would name the worker itself.
 */
export function configWarnings(
  config: Pick<Config, 'adminToken' | 'secretKey' | 'publicUrl' | 'publicUrlSet' | 'host' | 'systemSmtp' | 'role' | 'misspeltVariables'>,
): string[] {
  const short = (value: string | undefined) => value !== undefined && value.length < SHORT_SECRET_LENGTH;
  const everyAddress = UNSPECIFIED_HOSTS.has(new URL(config.publicUrl).hostname);
  const unread = config.systemSmtp ? unreadUrlParameters(config.systemSmtp.url) : [];
  return [
    ...misspeltWarnings(config),
    ...(unread.length > 0
      ? [
          `TOCSIN_SMTP_URL: ${unread.join(', ')} ${unread.length === 1 ? 'is not read and has' : 'are not read and have'} no effect (the URL takes ${SMTP_URL_PARAMETERS.join(', ')})`,
        ]
      : []),
    ...(unsignedSender(config.systemSmtp)
      ? [
          `TOCSIN_SMTP_URL has a user name but no from: its emails go out from ${config.systemSmtp!.smtp.fromAddress}, which a server that checks the sender against the sign-in (Amazon SES, Microsoft 365) refuses; add ?from= an address the user may send as, such as ?from=alerts@example.com`,
        ]
      : []),
    // Sent as Latin-1 by one client (Node's fetch) and as UTF-8 by another (curl), it matches for some only.
    ...(config.adminToken !== undefined && /[^\x21-\x7e]/.test(config.adminToken)
      ? ['TOCSIN_ADMIN_TOKEN has characters other than printable ASCII, which HTTP clients send each their own way: it may be refused as a bad token']
      : []),
    ...(short(config.adminToken) ? [`TOCSIN_ADMIN_TOKEN is shorter than ${SHORT_SECRET_LENGTH} characters: anyone who guesses it is host administrator`] : []),
    ...(short(config.secretKey)
      ? [`TOCSIN_SECRET_KEY is shorter than ${SHORT_SECRET_LENGTH} characters: the secrets it encrypts are only as safe as it is`]
      : []),
    ...(everyAddress
      ? [
          `${config.publicUrlSet ? `TOCSIN_PUBLIC_URL names ${config.publicUrl}` : `TOCSIN_PUBLIC_URL is unset and HOST is ${config.host}: the links in emails and the sources' receive URLs name ${config.publicUrl}`}, an address no one can open; set TOCSIN_PUBLIC_URL to the address people and senders reach, such as https://tocsin.example.com`,
        ]
      : []),
    // The worker sends the emails, but serves none of the pages their links open (the api processes do).
    ...(config.role === 'worker' && !config.publicUrlSet && !everyAddress
      ? [
          `TOCSIN_PUBLIC_URL is unset on a worker: the links in the emails it sends name ${config.publicUrl}, this worker, which serves none of their pages (unsubscribe, actions, the console); set it to the address of the api processes, as on them`,
        ]
      : []),
  ];
}

/**
 * readEnv reads the variables of `schema` from env, throwing a ConfigError that names each bad one.
 * A variable set to nothing (`PORT=` in a compose file or an env file) means its default, as if unset;
 * so does one of only spaces or a line break, which a number would otherwise read as 0 (PORT any port).
 */
function readEnv<S extends z.ZodTypeAny>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value?.trim() !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}

/** SERVER_URL_SCHEMA is what names the server's own URL: TOCSIN_PUBLIC_URL, else HOST and PORT. */
const SERVER_URL_SCHEMA = envSchema.pick({ PORT: true, HOST: true, TOCSIN_PUBLIC_URL: true });

/**
 * serverUrlFromEnv is the URL the server these variables configure names itself by (publicUrlOf),
 * for `tocsin raise` without --url; a bad one throws the ConfigError the server would stop with:
 * `PORT=abc` was tried as http://127.0.0.1:NaN ('Invalid URL', exit 1), and a TOCSIN_PUBLIC_URL
 * that is no URL stopped raise with a TypeError's stack.
 */
export function serverUrlFromEnv(env: NodeJS.ProcessEnv): string {
  const e = readEnv(SERVER_URL_SCHEMA, env);
  return publicUrlOf(e.TOCSIN_PUBLIC_URL, e.HOST, e.PORT);
}

/**
 * loadConfig reads and validates the environment once, at start-up, so that a bad knob stops the
 * process with a message naming the variable instead of failing on the first request.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const e = readEnv(envSchema, env);
  let systemSmtp: UrlSmtp | undefined;
  try {
    systemSmtp = e.TOCSIN_SMTP_URL === undefined ? undefined : urlSmtp(e.TOCSIN_SMTP_URL);
  } catch (err) {
    // Every tenant on the default would fail later; stop at start-up instead, naming the variable.
    throw new ConfigError(`invalid configuration:\n  TOCSIN_SMTP_URL: ${(err as Error).message}`);
  }
  const dataDir = path.resolve(e.TOCSIN_DATA_DIR);
  // A misspelt name is no setting, so its value went unread without a word.
  const misspeltVariables = Object.keys(env)
    .filter((name) => name.startsWith('TOCSIN_') && !SETTING_NAMES.includes(name))
    .flatMap((name) => {
      const near = closestName(name, SETTING_NAMES);
      return near === undefined ? [] : [{ name, near }];
    });
  return Object.freeze({
    databaseUrl: e.DATABASE_URL ?? `sqlite:${path.join(dataDir, 'tocsin.db')}`,
    databaseSetting: e.DATABASE_URL === undefined ? 'TOCSIN_DATA_DIR' : 'DATABASE_URL',
    port: e.PORT,
    host: e.HOST,
    adminToken: e.TOCSIN_ADMIN_TOKEN || undefined,
    secretKey: e.TOCSIN_SECRET_KEY,
    smtpUrl: e.TOCSIN_SMTP_URL,
    systemSmtp,
    summaryIntervalSeconds: e.TOCSIN_SUMMARY_INTERVAL_SECONDS,
    publicUrl: publicUrlOf(e.TOCSIN_PUBLIC_URL, e.HOST, e.PORT),
    publicUrlSet: e.TOCSIN_PUBLIC_URL !== undefined,
    allowPrivateSmtpHosts: e.TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS,
    trustProxy: e.TOCSIN_TRUST_PROXY,
    dataDir,
    mailCatcherPort: e.TOCSIN_MAIL_CATCHER_PORT,
    deliveryDeadlineMs: e.TOCSIN_DELIVERY_DEADLINE_HOURS * 3_600_000,
    floodWindowMs: e.TOCSIN_FLOOD_WINDOW_SECONDS * 1000,
    actionLinkMs: e.TOCSIN_ACTION_LINK_DAYS * 86_400_000,
    sourceRequestsPerMinute: e.TOCSIN_SOURCE_REQUESTS_PER_MINUTE,
    httpBodyTimeoutMs: e.TOCSIN_HTTP_BODY_TIMEOUT_MS,
    role: e.TOCSIN_ROLE,
    dbPoolSize: e.TOCSIN_DB_POOL_SIZE,
    apiProcesses: e.TOCSIN_API_PROCESSES,
    leanHeap: e.TOCSIN_LEAN_HEAP,
    warmUpAlerts: e.TOCSIN_WARM_UP_ALERTS,
    logLevel: e.LOG_LEVEL,
    misspeltVariables,
  });
}
