import type { FastifyReply, FastifyRequest } from 'fastify';
import { CompiledQuery } from 'kysely';
import { looksLikeTenantId } from '../access/tenants.js';
import { forbidden, notFound, unauthorized } from './problem.js';
import type { AppDeps, TenantRow } from './context.js';
import type { Db } from '../storage/database.js';
import { sqlOnce } from '../storage/sql-once.js';
import { StorageRejectedError } from '../storage/errors.js';
import type { Principal } from '../access/principal.js';
import type { ReadCache } from '../shared/read-cache.js';
import { MAX_BEARER_LENGTH } from '../shared/bearer.js';

/** SESSION_COOKIE is the name of the console's HTTP-only session cookie. */
export const SESSION_COOKIE = 'tocsin_session';
/** CSRF_HEADER must echo the session's CSRF token on every unsafe request made with the cookie. */
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
// Names are at most 63 characters and ids are UUIDs; anything longer cannot match.
const MAX_TENANT_REF = 200;

/**
 * findTenant resolves a `{tenant}` path segment, which is the tenant's id or its name. A name is
 * read in any case: names are lower case, so `Acme` can only mean `acme`, as the sign-in form,
 * Authenticate's TenancyName and the X-Tocsin-Tenant header take it. An id is opaque: only as given.
 */
export async function findTenant(db: Db, ref: string): Promise<TenantRow | undefined> {
  // No tenant has such a name or id, and PostgreSQL would refuse the NUL rather than say so.
  if (ref.length > MAX_TENANT_REF || ref.includes('\0')) return undefined;
  // Read on every request: compiled once (building the query cost more than SQLite's lookup).
  const by = looksLikeTenantId(ref) ? 'id' : 'name';
  const text = sqlOnce(db, `findTenant ${by}`, () => db.selectFrom('tenants').selectAll().where(by, '=', ref));
  const { rows } = await db.executeQuery<TenantRow>(CompiledQuery.raw(text, [by === 'name' ? ref.toLowerCase() : ref]));
  return rows[0];
}

/** RAISING is the permission of the routes that raise alerts: the hot path, thousands of requests a second. */
const RAISING = 'Alerts.Create';

const NO_TENANT = new Error('no such tenant');

/**
 * keptTenant resolves the tenant of a request raising alerts from `kept`, reading it only when not
 * kept (a tenant that does not exist is never kept): that lookup was a statement on every request
 * of the ingest path. Kept like an API token's principal: any change through this process's API
 * forgets it (forgetPrincipalsOnChange), another process's applies within READ_CACHE_MS.
 */
function keptTenant(kept: ReadCache, db: Db, ref: string): Promise<TenantRow | undefined> {
  return kept
    .get(ref, async () => {
      const tenant = await findTenant(db, ref);
      if (!tenant) throw NO_TENANT;
      return tenant;
    })
    .catch((err: unknown) => {
      if (err === NO_TENANT) return undefined;
      throw err;
    });
}

/** tenantFor is the tenant of a path for the caller: 404 when there is none or it is another tenant's. */
function tenantFor(principal: Principal, tenant: TenantRow | undefined): TenantRow {
  if (!tenant || (principal.kind === 'user' && principal.tenantId !== tenant.id)) throw notFound('Tenant');
  return tenant;
}

/**
 * raiseInTenant runs a write of alerts for the request's tenant. A tenant kept for raising alerts
 * (keptTenant) may have been deleted by another process since, and the write is then refused as a
 * lost race (foreign-key): the tenant is read again, and the write goes to the tenant now under
 * that name (re-created), or the request is answered 404 as for any tenant that does not exist.
 */
export async function raiseInTenant<T>(request: FastifyRequest, write: (tenantId: string) => Promise<T>): Promise<T> {
  const tenant = request.tenant;
  if (!tenant) throw notFound('Tenant');
  try {
    return await write(tenant.id);
  } catch (err) {
    if (!request.readTenantAgain || !(err instanceof StorageRejectedError) || err.kind !== 'foreign-key') throw err;
    const again = await request.readTenantAgain();
    if (again.id === tenant.id) throw err;
    return write(again.id);
  }
}

/**
 * accessHook runs before the body is parsed on every request (a preParsing hook): it finds the
 * caller (401), resolves the tenant of the path and hides other tenants (404), then checks the
 * route's permission (403). Doing this before the body is read or validated means a stranger
 * learns nothing from a 400, 413 or 415, and no stranger's body is read at all. The tenants of
 * requests raising alerts are kept in `raising` (keptTenant); every other request reads its tenant.
 */
export function accessHook(deps: AppDeps, raising: ReadCache) {
  return async function checkAccess(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const config = request.routeOptions.config;
    const params = (request.params ?? {}) as Record<string, string>;
    const access = config.access ?? (params.tenant !== undefined ? 'tenant' : 'authenticated');
    if (access === 'public' || request.routeOptions.url === undefined) return;

    const principal = await authenticate(deps, request);
    if (!principal) throw unauthorized();
    request.principal = principal;

    // The tenant comes before the host check, so another tenant's path is a 404 on every route.
    if (params.tenant !== undefined) {
      const ref = params.tenant;
      const readAgain = async () => {
        raising.drop(ref);
        request.tenant = tenantFor(principal, await findTenant(deps.storage.db, ref));
        return request.tenant;
      };
      if (config.permission !== RAISING) {
        request.tenant = tenantFor(principal, await findTenant(deps.storage.db, ref));
      } else {
        const kept = await keptTenant(raising, deps.storage.db, ref);
        // A user's own tenant not the one kept under its name: re-created by another process since.
        if (kept && principal.kind === 'user' && principal.tenantId !== kept.id) await readAgain();
        else request.tenant = tenantFor(principal, kept);
        request.readTenantAgain = readAgain;
      }
    }
    if (access === 'host' && principal.kind !== 'host') {
      throw forbidden('Only the host administrator may do this.');
    }
    const needed = config.permission === undefined ? [] : [config.permission].flat();
    if (needed.length > 0 && !needed.some((permission) => principal.permissions.has(permission))) {
      throw forbidden(`This needs the ${needed.join(' or ')} permission.`);
    }
    void reply;
  };
}

/**
 * forgetPrincipalsOnChange is an onSend hook: after any unsafe request but raising alerts (Alerts.Create, a receive URL) or marking them read or unread (forgetsNothing), the
 * authenticator's cached principals and what the send path keeps (mail settings, tenant names,
 * permissions) and the tenants kept for raising alerts (`raising`) are dropped before the answer
 * leaves, so a revoked token, a deactivated user, a removed role or a renamed or deleted tenant
 * stops working for the very next request, and a change applies from the very next email.
 */
export function forgetPrincipalsOnChange(deps: AppDeps, raising: ReadCache) {
  return async function forgetPrincipals(request: FastifyRequest): Promise<void> {
    const config = request.routeOptions.config;
    if (SAFE_METHODS.has(request.method) || config?.permission === RAISING || config?.forgetsNothing) return;
    deps.authenticator.forget();
    deps.kept?.forget();
    raising.forget();
    const url = request.routeOptions.url ?? '';
    if (NO_RECIPIENT_CHANGE.test(url) || (request.method === 'POST' && url === TENANTS)) return;
    await deps.recipientChanges?.bump(request.tenant?.id);
  };
}

/** TENANTS is the route that creates a tenant: no emails are of it yet, and no other tenant's change. */
const TENANTS = '/api/v1/tenants';

/**
 * NO_RECIPIENT_CHANGE are the unsafe routes that change nothing of who gets which alert email, nor
 * how: an alert's state (read, acknowledged), sources, sign-ins and sign-outs (the console's and
 * Orchestrator's), passwords, tokens and test emails (Orchestrator's VerifySmtpSetting too). They are
 * the frequent ones; a change through any other sends back to the queue the emails of its tenant
 * (the path's, or the one an Orchestrator route resolves), of every tenant when none (the system
 * default), that were rendered before it and still wait for a connection (ChangeCount). An email's
 * action and unsubscribe links count their own (actions/routes.ts, reports/unsubscribe/routes.ts):
 * a snooze, mute or unsubscribe for its tenant, an "I'm on it" clicked from every inbox of a flood
 * none, where this hook, not knowing the link's tenant, would send back every tenant's.
 */
const NO_RECIPIENT_CHANGE =
  /\/(alerts|Alerts|sources|session|tokens|password|test|mail-catcher|actions|unsubscribe|auth)\b|\/api\/Account\b|\.VerifySmtpSetting$/;

/** BEARER reads the token of an `Authorization: Bearer <token>` header: no white space, MAX_BEARER_LENGTH at most. */
const BEARER = new RegExp(`^Bearer\\s+(\\S{1,${MAX_BEARER_LENGTH}})\\s*$`, 'i');

/** The requests an `Authorization: Bearer` header authenticated (authenticate), not a session cookie. */
const byBearer = new WeakSet<FastifyRequest>();

/**
 * authenticatedByBearer tells whether an `Authorization: Bearer` token authenticated the request,
 * which no browser sends cross-site without a CORS preflight: false for the console's session
 * cookie, a stranger, and a public route (which authenticates no one).
 */
export function authenticatedByBearer(request: FastifyRequest): boolean {
  return byBearer.has(request);
}

async function authenticate(deps: AppDeps, request: FastifyRequest) {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.length > 0) {
    const match = BEARER.exec(header);
    const principal = match?.[1] ? await deps.authenticator.fromBearer(match[1]) : undefined;
    if (principal) byBearer.add(request);
    return principal;
  }
  const cookie = request.cookies?.[SESSION_COOKIE];
  if (!cookie) return undefined;
  const session = await deps.authenticator.fromSession(cookie);
  if (!session) return undefined;
  // SameSite=Strict already stops other sites; the echoed token also stops same-site forgeries.
  if (!SAFE_METHODS.has(request.method) && request.headers[CSRF_HEADER] !== session.csrfToken) {
    throw forbidden(`Requests made with the session cookie must send the ${CSRF_HEADER} header.`);
  }
  return session.principal;
}
