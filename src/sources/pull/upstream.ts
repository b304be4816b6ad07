import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Readable } from 'node:stream';
import { wellFormedJson, withoutNul } from '../../http/input-guard.js';
import { type HostPolicy, RefusedHostError, type Resolver, checkPublicHost } from '../../settings/host-guard.js';
import { untilAborted } from '../../shared/deadline.js';
import { type KnownSecrets, maskSecrets } from '../../shared/redact.js';
import type { StoredPull } from '../model.js';
import { type UpstreamAlert, alertsUrl, readAlertsPage, retryAfterMs } from './odata.js';

/** UPSTREAM_TIMEOUT_MS bounds every request to an upstream Orchestrator or identity server, its DNS lookup included. */
export const UPSTREAM_TIMEOUT_MS = 15_000;

/** UpstreamError is a failed upstream exchange, with the wait the upstream asked for (429/503 Retry-After). */
export class UpstreamError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

/** Credentials are a source's pull settings with its two opened secrets. */
export interface Credentials extends StoredPull {
  readonly password: string | null;
  readonly clientSecret: string | null;
  /** TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS (allowed when absent): when false, every request goes to a checked public address only. */
  readonly hosts?: HostPolicy;
  /** How long a request may take, its lookup included: UPSTREAM_TIMEOUT_MS unless a test shortens it. */
  readonly timeoutMs?: number;
}

/**
 * REFUSED_URL_MESSAGE is the one answer for every refused upstream address (private hosts refused),
 * after the field it is in, so that refusals reveal nothing about the network.
 */
export const REFUSED_URL_MESSAGE = 'This address cannot be used: give a public host name or address.';

/** UrlField is the pull setting a request's address comes from, named when it is refused. */
type UrlField = 'pull.baseUrl' | 'pull.identityUrl';

/** urlHost is a URL's host as a resolver or net.isIP takes it (an IPv6 address without its brackets). */
export function urlHost(url: string): string {
  return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
}

/** UpstreamRequest is what exchange sends. */
interface UpstreamRequest {
  readonly method?: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/** NULL_BODY_STATUSES answer without a body (a Response given one for them throws). */
const NULL_BODY_STATUSES = [204, 205, 304];

/**
 * pinnedFetch is fetch (redirects not followed) for private hosts refused: it resolves the host once,
 * refuses it unless every address is public (RefusedHostError), and connects to the address checked,
 * so that a second resolution (DNS rebinding) cannot send the request elsewhere; TLS still verifies
 * the certificate against the host name. Node 20's fetch cannot be given the address (undici can), hence node:http.
 * The lookup ends with `signal` as the request does: a resolver that never answers holds the poll
 * no longer than a server that never answers (the request's timeout), nor a stopping worker.
 */
async function pinnedFetch(url: string, init: UpstreamRequest, signal: AbortSignal, resolve?: Resolver): Promise<Response> {
  const address = await untilAborted(checkPublicHost(urlHost(url), resolve), signal);
  return fetchAt(url, address, init, signal);
}

/** fetchAt sends a request to `url` over a connection to `address`, whatever the host name resolves to (pinnedFetch). */
export function fetchAt(url: string, address: string, init: UpstreamRequest, signal: AbortSignal): Promise<Response> {
  const family = net.isIP(address);
  const headers = init.body === undefined ? init.headers : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) };
  return new Promise<Response>((resolved, rejected) => {
    const request = (url.startsWith('https:') ? https : http).request(
      url,
      {
        method: init.method ?? 'GET',
        headers,
        signal,
        lookup: (_host, options, callback) =>
          (options as { all?: boolean }).all
            ? (callback as (err: null, all: { address: string; family: number }[]) => void)(null, [{ address, family }])
            : callback(null, address, family),
      },
      (res) => {
        try {
          const answer = new Headers();
          for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) answer.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
          const status = res.statusCode ?? 0;
          const body = NULL_BODY_STATUSES.includes(status) ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
          if (body === null) res.resume();
          resolved(new Response(body, { status, headers: answer }));
        } catch (err) {
          // A status a Response cannot have (under 200 or over 599).
          res.destroy();
          rejected(err);
        }
      },
    );
    // As fetch: an abort (the timeout, the worker stopping) rejects with the signal's reason.
    request.on('error', (err) => rejected(signal.aborted ? signal.reason : err));
    request.end(init.body);
  });
}

/** Bearer is an upstream access token and when to stop reusing it (epoch ms). */
export interface Bearer {
  readonly token: string;
  readonly expiresAt: number;
}

// Orchestrator's Account/Authenticate tokens live 30 minutes by default and say nothing of it.
const ROPC_REUSE_MS = 20 * 60_000;

/**
 * secretsOf are a source's password and client secret in the forms they travel upstream in (as
 * written, escaped in Account/Authenticate's JSON, encoded in the token endpoint's form), so that
 * an upstream whose refusal repeats what it was sent does not put them in the last error, the
 * receptions, the test answer or the logs.
 */
function secretsOf(credentials: Credentials): KnownSecrets {
  const values = [credentials.password, credentials.clientSecret].flatMap((secret) =>
    secret ? [secret, JSON.stringify(secret).slice(1, -1), new URLSearchParams({ s: secret }).toString().slice(2), encodeURIComponent(secret)] : [],
  );
  return { values };
}

/** closedUnderneath says a request failed because its connection was closed or reset before any answer. */
function closedUnderneath(err: unknown): boolean {
  const code = (err as { cause?: { code?: unknown } } | null)?.cause?.code ?? (err as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET';
}

async function exchange(url: string, field: UrlField, init: UpstreamRequest, now: number, credentials: Credentials, stop?: AbortSignal): Promise<Response> {
  let res: Response;
  const secrets = secretsOf(credentials);
  const timeoutMs = credentials.timeoutMs ?? UPSTREAM_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = stop ? AbortSignal.any([timeout, stop]) : timeout;
  // Never followed (the credentials would go to another address), but said: an http:// baseUrl of an https-only server.
  const send = () =>
    credentials.hosts?.allowPrivateHosts === false
      ? pinnedFetch(url, init, signal, credentials.hosts.resolver)
      : fetch(url, { ...init, redirect: 'manual', signal });
  try {
    // A kept-alive connection that the upstream closes as the request goes out (its idle timeout
    // firing just then) fails it before any answer: asked again once, on a fresh connection, as
    // browsers do, rather than the poll failing and waiting a whole interval.
    res = await send().catch((err: unknown) => {
      if (signal.aborted || !closedUnderneath(err)) throw err;
      return send();
    });
  } catch (err) {
    if (err instanceof RefusedHostError) throw new UpstreamError(`${field}: ${REFUSED_URL_MESSAGE}`, undefined, undefined);
    const cause =
      (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : ((err as { cause?: Error }).cause?.message ?? (err as Error).message);
    throw new UpstreamError(maskSecrets(`${new URL(url).host}: ${cause}`, secrets), undefined, undefined);
  }
  const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
  if (location !== null) {
    await res.body?.cancel();
    const to = URL.canParse(location, url) ? new URL(location, url).href : location.slice(0, 200);
    throw new UpstreamError(
      `${new URL(url).pathname} answered HTTP ${res.status}, a redirect to ${to}: give the address it redirects to`,
      res.status,
      undefined,
    );
  }
  if (!res.ok) {
    const reason = await reasonOf(res, secrets);
    throw new UpstreamError(
      `${new URL(url).pathname} answered HTTP ${res.status}${reason ? `: ${reason}` : ''}`,
      res.status,
      retryAfterMs(res.headers.get('retry-after'), now),
    );
  }
  return res;
}

/** REASON_BYTES bounds what is read of a refusal's body. */
const REASON_BYTES = 4_096;

/**
 * reasonOf is what a refusal's JSON body says went wrong, on one line: OAuth's `error_description`
 * or `error` (invalid_client, invalid_scope), Orchestrator's `error.message` or `message` ("Invalid
 * credentials, failed to login."), a problem's `detail`. The status alone does not tell a wrong
 * password from a wrong tenancy or scope. Other bodies (an HTML error page) say nothing.
 */
async function reasonOf(res: Response, secrets: KnownSecrets): Promise<string | undefined> {
  let text = '';
  try {
    const reader = res.body?.getReader();
    const decoder = new TextDecoder();
    while (reader && text.length < REASON_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await reader?.cancel();
    // Its words become the source's last error: a NUL (which PostgreSQL cannot store, and the failure
    // would go unrecorded) or a lone surrogate reads as U+FFFD there, as in the alerts imported.
    const body = withoutNul(text, wellFormedJson(text, JSON.parse(text))) as Record<string, unknown>;
    const error = body.error;
    const said = [body.error_description, error, (error as { message?: unknown } | null)?.message, body.message, body.detail].find(
      (value): value is string => typeof value === 'string' && value.trim() !== '',
    );
    // Masked before the spaces are folded and the text cut, which would leave a secret's other forms (or half of one).
    return said === undefined ? undefined : maskSecrets(said, secrets).replace(/\s+/g, ' ').trim().slice(0, 200);
  } catch {
    return undefined;
  }
}

/**
 * MAX_ANSWER_BYTES bounds what is read of an upstream's answer: a page of 1,000 alerts is a few
 * MB. An answer without end (a broken or hostile server, which any tenant may name as its
 * baseUrl) was read whole into memory, by each of the polls a worker runs at once, until the
 * process shared by every tenant held gigabytes.
 */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** textOf is an answer's text, read no further than MAX_ANSWER_BYTES (UpstreamError beyond). */
async function textOf(res: Response, what: string): Promise<string> {
  const tooLarge = () => new UpstreamError(`${what} answered more than ${MAX_ANSWER_BYTES / (1024 * 1024)} MB`, res.status, undefined);
  if (Number(res.headers.get('content-length')) > MAX_ANSWER_BYTES) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  const reader = res.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  // As Response.text(): UTF-8, a leading byte order mark dropped, malformed bytes as U+FFFD.
  return new TextDecoder().decode(Buffer.concat(chunks));
}

async function json(res: Response, what: string): Promise<unknown> {
  const text = await textOf(res, what).catch((err: unknown) => {
    if (err instanceof UpstreamError) throw err;
    throw new UpstreamError(`${what} did not answer JSON`, res.status, undefined);
  });
  try {
    // A lone surrogate (an escape JSON allows) becomes U+FFFD, as in a body the REST API receives,
    // and so does a NUL, which PostgreSQL cannot store: refused, the page would be read again for ever.
    return withoutNul(text, wellFormedJson(text, JSON.parse(text)));
  } catch {
    throw new UpstreamError(`${what} did not answer JSON`, res.status, undefined);
  }
}

/**
 * defaultTokenUrl is the identity server's token endpoint when the source names none: Automation
 * Cloud and Automation Suite route their services under names ending in `_`
 * (`https://cloud.uipath.com/org/tenant/orchestrator_`, token at `/identity_/connect/token`), a
 * standalone Orchestrator's identity server answers at `/identity/connect/token` (reference §2).
 */
export function defaultTokenUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  const routed = url.pathname.split('/').some((segment) => segment.endsWith('_'));
  return `${url.origin}/${routed ? 'identity_' : 'identity'}/connect/token`;
}

/**
 * tokenUrlOf is where client credentials are exchanged: `identityUrl` as given, or with
 * `/connect/token` added when it names the identity server itself (`https://host/identity`,
 * `https://cloud.uipath.com/identity_`, what UiPath's docs call its address) rather than its
 * token endpoint; without one, defaultTokenUrl.
 */
function tokenUrlOf(credentials: Pick<Credentials, 'identityUrl' | 'baseUrl'>): string {
  if (credentials.identityUrl === null) return defaultTokenUrl(credentials.baseUrl);
  const url = new URL(credentials.identityUrl);
  const path = url.pathname.replace(/\/+$/, '');
  if (/(^|\/)identity_?$/i.test(path)) url.pathname = `${path}/connect/token`;
  return url.href;
}

/** AUTHENTICATE_PATHS are the two spellings of Orchestrator's sign-in: its client libraries' first, then its documentation's. */
const AUTHENTICATE_PATHS = ['/api/Account/Authenticate', '/api/account/authenticate'] as const;

/**
 * signIn gets a bearer token: with clientId and clientSecret, OAuth client credentials at
 * tokenUrlOf (form-encoded, the scope space-separated, Automation Cloud's external
 * applications); otherwise on-premises `POST {baseUrl}/api/Account/Authenticate`.
 */
export async function signIn(credentials: Credentials, now: number, stop?: AbortSignal): Promise<Bearer> {
  if (credentials.clientId !== null && credentials.clientSecret !== null) {
    const tokenUrl = tokenUrlOf(credentials);
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret });
    if (credentials.scope) form.set('scope', credentials.scope);
    const res = await exchange(
      tokenUrl,
      credentials.identityUrl === null ? 'pull.baseUrl' : 'pull.identityUrl',
      { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form.toString() },
      now,
      credentials,
      stop,
    );
    const body = (await json(res, 'the token endpoint')) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string') throw new UpstreamError('the token endpoint answered no access_token', res.status, undefined);
    const lifetime = typeof body.expires_in === 'number' ? body.expires_in * 1000 : ROPC_REUSE_MS;
    return { token: body.access_token, expiresAt: now + Math.max(0, lifetime - 60_000) };
  }
  if (credentials.username === null || credentials.password === null) {
    throw new UpstreamError('no sign-in: give pull.username and pull.password, or pull.clientId and pull.clientSecret', undefined, undefined);
  }
  const authenticate = (path: string) =>
    exchange(
      `${credentials.baseUrl.replace(/\/+$/, '')}${path}`,
      'pull.baseUrl',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          TenancyName: credentials.tenancyName ?? 'Default',
          UsernameOrEmailAddress: credentials.username,
          Password: credentials.password,
        }),
      },
      now,
      credentials,
      stop,
    );
  let res: Response;
  try {
    res = await authenticate(AUTHENTICATE_PATHS[0]);
  } catch (err) {
    // Orchestrator's routes ignore case, but a gateway or a stand-in in front of it may not: its
    // client libraries write one spelling, UiPath's documentation the other.
    if (!(err instanceof UpstreamError) || err.status !== 404) throw err;
    res = await authenticate(AUTHENTICATE_PATHS[1]);
  }
  const body = (await json(res, 'Account/Authenticate')) as { result?: unknown };
  if (typeof body.result !== 'string') throw new UpstreamError('Account/Authenticate answered no result token', res.status, undefined);
  return { token: body.result, expiresAt: now + ROPC_REUSE_MS };
}

/** PageRequest says which page fetchAlertsPage reads: the one `skip` rows after the cursor, or the upstream's own next link. */
export interface PageRequest {
  readonly cursorTime: number;
  /** Going on with a backlog: from the cursor itself, without the overlap (alertsUrl). */
  readonly continuing: boolean;
  readonly skip: number;
  /** The previous page's `@odata.nextLink`, when it is on the upstream's own origin. */
  readonly link?: string;
}

/**
 * fetchAlertsPage reads one page of upstream alerts after the cursor, with the folder header
 * when the source names one. It never marks anything read: that would change what people see
 * upstream. `stop` aborts it (the worker is shutting down). `more` says the upstream paged its
 * answer itself (`@odata.nextLink`, however few rows this page holds); `link` is that link
 * (resolved) when it is on the origin asked, to follow as it is. A link elsewhere (a proxy's
 * inner address, written by an OData server behind it) is not followed: the next page is asked
 * for with `$skip`, which Orchestrator takes.
 */
export async function fetchAlertsPage(
  credentials: Credentials,
  bearer: Bearer,
  at: PageRequest,
  now: number,
  stop?: AbortSignal,
): Promise<{ alerts: UpstreamAlert[]; rows: number; more: boolean; link?: string }> {
  const headers: Record<string, string> = { authorization: `Bearer ${bearer.token}`, accept: 'application/json' };
  if (credentials.organizationUnitId !== null) headers['x-uipath-organizationunitid'] = String(credentials.organizationUnitId);
  const sinceMs = Date.parse(credentials.since);
  const url = at.link ?? alertsUrl(credentials.baseUrl, at.cursorTime, at.skip, sinceMs, at.continuing);
  const res = await exchange(url, 'pull.baseUrl', { headers }, now, credentials, stop);
  const page = readAlertsPage(await json(res, '/odata/Alerts'));
  if ('invalid' in page) throw new UpstreamError(page.invalid, res.status, undefined);
  const next = page.nextLink !== undefined && URL.canParse(page.nextLink, url) ? new URL(page.nextLink, url) : undefined;
  // A link to the page just read (a broken server or proxy) ends the answer: followed, it was read
  // again and again, 20 times a poll and a poll at once after each, for as long as the source ran.
  const loops = next?.href === new URL(url).href;
  const link = next?.origin === new URL(url).origin && !loops ? next.href : undefined;
  // An upstream that lists without applying $filter (an older or proxied OData service) still must
  // not import what was created before `since`: the import starts there (API.md).
  const alerts = page.alerts.filter((a) => Date.parse(a.CreationTime) >= sinceMs);
  return { alerts, rows: page.rows, more: page.nextLink !== undefined && !loops, ...(link ? { link } : {}) };
}
