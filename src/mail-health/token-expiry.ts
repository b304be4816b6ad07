/**
 * XOAUTH2 access tokens expire, and Tocsin cannot renew one (the contract stores the access token
 * only, write-only): the tenant's administrators are warned once per token, through the system
 * default SMTP like the mail-health notices, before its known expiry, if it was issued to live longer
 * than the warning's lead (tokenWarningDue). The expiry is known when the token is a JWT (as
 * Microsoft's are): its `exp` claim. An opaque token's expiry is unknown.
 */
import type { EndpointResolver } from '../delivery/outbox/attempt.js';
import { signsInWithToken } from '../delivery/contract.js';
import type { Db } from '../storage/database.js';
import { type NoticeContext, queueAdminNotices } from './notices.js';

/** TOKEN_WARNING_LEAD_MS: the administrators are warned once the token has less than this to live. */
export const TOKEN_WARNING_LEAD_MS = 24 * 3_600_000;

/** TokenLife is what a JWT access token says of its life (epoch ms): when it expires, and when it was issued if it says. */
export interface TokenLife {
  readonly expiresAt: number;
  readonly issuedAt?: number | undefined;
}

/** epochMs is a JWT time claim (seconds) in epoch ms, or undefined when it is not one. */
function epochMs(claim: unknown): number | undefined {
  return typeof claim === 'number' && Number.isFinite(claim) && claim > 0 ? claim * 1000 : undefined;
}

/**
 * accessTokenLife reads the `exp` (and `iat`) claims of a JWT's payload, or undefined for any
 * other token, or one without a usable `exp`. Nothing is verified: the times only inform.
 */
export function accessTokenLife(token: string): TokenLife | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { exp?: unknown; iat?: unknown } | null;
    const expiresAt = epochMs(payload?.exp);
    return expiresAt === undefined ? undefined : { expiresAt, issuedAt: epochMs(payload?.iat) };
  } catch {
    return undefined;
  }
}

/**
 * tokenWarningDue tells whether a token of the life given calls for the emailed warning at `now`:
 * once it has less than TOKEN_WARNING_LEAD_MS to live, unless it was issued to live no longer than
 * that. Such a token (Microsoft's live 60 to 90 minutes) can only be kept up by the tenant's
 * automation putting a new one every hour, and each would be "expiring" from its first minute: an
 * email an hour to every administrator. One left to lapse makes the tenant's mail fail, which its
 * own notice tells.
 */
export function tokenWarningDue(life: TokenLife | undefined, now: number): life is TokenLife {
  if (life === undefined || life.expiresAt - now > TOKEN_WARNING_LEAD_MS) return false;
  return life.issuedAt === undefined || life.expiresAt - life.issuedAt > TOKEN_WARNING_LEAD_MS;
}

/**
 * warnBeforeTokenExpiry queues the warning to the tenant's mail administrators when the token's
 * expiry is known and near, once per token: a notice row keyed by the expiry is claimed in the same
 * transaction, so workers and restarts add nothing (tokenWarningDue: not for a short-lived token).
 * Returns whether it queued the warning.
 */
export async function warnBeforeTokenExpiry(db: Db, tenantId: string, accessToken: string, now: number, context: NoticeContext): Promise<boolean> {
  const life = accessTokenLife(accessToken);
  if (!tokenWarningDue(life, now)) return false;
  const { expiresAt } = life;
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
