/**
 * XOAUTH2 access tokens expire, and Tocsin cannot renew one (the contract stores the access token
 * only, write-only): the tenant's administrators are warned once per token, through the system
 * default SMTP like the mail-health notices, before its known expiry. The expiry is known when the
 * token is a JWT (as Microsoft's are): its `exp` claim. An opaque token's expiry is unknown.
 */
import type { EndpointResolver } from '../delivery/outbox/attempt.js';
import { signsInWithToken } from '../delivery/contract.js';
import type { Db } from '../storage/database.js';
import { type NoticeContext, queueAdminNotices } from './notices.js';

/** TOKEN_WARNING_LEAD_MS: the administrators are warned once the token has less than this to live. */
export const TOKEN_WARNING_LEAD_MS = 24 * 3_600_000;

/**
 * accessTokenExpiry is when an access token expires (epoch ms), read from the `exp` claim of a
 * JWT's payload, or undefined for any other token. Nothing is verified: the time only informs.
 */
export function accessTokenExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as unknown;
    const exp = (payload as { exp?: unknown } | null)?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** tokenWarningDue tells whether a token expiring at `expiresAt` calls for the warning at `now`. */
export function tokenWarningDue(expiresAt: number | undefined, now: number): expiresAt is number {
  return expiresAt !== undefined && expiresAt - now <= TOKEN_WARNING_LEAD_MS;
}

/**
 * warnBeforeTokenExpiry queues the warning to the tenant's mail administrators when the token's
 * expiry is known and near, once per token: a notice row keyed by the expiry is claimed in the same
 * transaction, so workers and restarts add nothing. Returns whether it queued the warning.
 */
export async function warnBeforeTokenExpiry(db: Db, tenantId: string, accessToken: string, now: number, context: NoticeContext): Promise<boolean> {
  const expiresAt = accessTokenExpiry(accessToken);
  if (!tokenWarningDue(expiresAt, now)) return false;
  const kind = `token-expiring:${expiresAt}`;
  // Most calls come after the warning went out: one read, no transaction.
  const seen = await db
    .selectFrom('mail_health_notices')
    .select('kind')
    .where('tenant_id', '=', tenantId)
    .where('incident', '=', 0)
    .where('kind', '=', kind)
    .executeTakeFirst();
  if (seen) return false;
  return db.transaction().execute(async (tx) => {
    const claimed = await tx
      .insertInto('mail_health_notices')
      .values({ tenant_id: tenantId, incident: 0, kind, created_at: now })
      .onConflict((oc) => oc.columns(['tenant_id', 'incident', 'kind']).doNothing())
      .returning('kind')
      .executeTakeFirst();
    if (!claimed) return false;
    await queueAdminNotices(tx, tenantId, { kind: 'token-expiring', key: kind, at: expiresAt, lastError: null, now, context });
    return true;
  });
}

/**
 * warningBeforeTokenExpiry wraps the outbox's endpoint resolver: whenever a tenant's alert email is
 * about to go through its own server with an XOAUTH2 token (not the system default, whose token is
 * the host administrator's to renew, as the warning does not say), the warning is checked (and queued at
 * most once per token). A failure to warn is reported, never fails the email.
 */
export function warningBeforeTokenExpiry(
  resolve: EndpointResolver,
  db: Db,
  now: () => number,
  context: NoticeContext & { onQueued?: () => void; onError?: (err: unknown) => void },
): EndpointResolver {
  return async (tenantId, route, leaseToken, stop) => {
    const endpoint = await resolve(tenantId, route, leaseToken, stop);
    if (endpoint.own && endpoint.accessToken && signsInWithToken(endpoint.authMethod, endpoint)) {
      await warnBeforeTokenExpiry(db, tenantId, endpoint.accessToken, now(), context).then(
        (queued) => queued && context.onQueued?.(),
        (err: unknown) => context.onError?.(err),
      );
    }
    return endpoint;
  };
}
