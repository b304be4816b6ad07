import { findTenant } from '../http/access-hook.js';
import { tooManyRequests, unauthorized } from '../http/problem.js';
import type { Db } from '../storage/database.js';
import type { LoginKeys, LoginThrottle } from './login-throttle.js';
import { hashPassword, verifyPassword } from './passwords.js';

/** PasswordAttempt is one sign-in with a tenant, an email and a password, from a client address. */
export interface PasswordAttempt {
  /** The tenant's name or id. */
  readonly tenant: string;
  readonly email: string;
  readonly password: string;
  /** The client's address, as fastify sees it (`request.ip`). */
  readonly address: string;
}

let missingUserHash: Promise<string> | undefined;
// Verifying against a real hash when the account does not exist keeps timing from revealing accounts.
const hashForMissingUser = () => (missingUserHash ??= hashPassword('no such user, no such password'));

/** assertNotThrottled throws 429, with the seconds to wait, when these keys failed too often. */
export function assertNotThrottled(throttle: LoginThrottle, keys: LoginKeys): void {
  const waitMs = throttle.retryAfterMs(keys);
  if (waitMs > 0) throw tooManyRequests('Too many failed sign-ins; wait before trying again.', waitMs / 1000);
}

/**
 * passwordLogin checks a password sign-in and returns whose it is. Every failure is the same 401
 * (no hint whether the tenant, the email or the password was wrong) and counts against the
 * account and the address; too many failures answer 429 before any password is checked.
 */
export async function passwordLogin(db: Db, throttle: LoginThrottle, attempt: PasswordAttempt): Promise<{ tenantId: string; userId: string }> {
  // Tenant names and ids are lower case, and stored emails trimmed: `Acme` or ` ops@acme.example ` typed
  // into the sign-in form is the same account, as Orchestrator's Authenticate takes it.
  const tenantRef = attempt.tenant.trim().toLowerCase();
  const tenant = await findTenant(db, tenantRef);
  const email = attempt.email.trim().toLowerCase();
  // The tenant's id when it exists, so its name and its id share one count.
  const keys: LoginKeys = { account: `${tenant?.id ?? tenantRef}:${email}`, address: attempt.address };
  assertNotThrottled(throttle, keys);
  const user = tenant
    ? await db
        .selectFrom('users')
        .select(['id', 'password_hash', 'active'])
        .where('tenant_id', '=', tenant.id)
        .where('email_key', '=', email)
        .executeTakeFirst()
    : undefined;
  const ok = await verifyPassword(user?.password_hash ?? (await hashForMissingUser()), attempt.password);
  if (!tenant || !user || !ok || user.active !== 1) {
    throttle.failed(keys);
    throw unauthorized('The tenant, email or password is wrong.');
  }
  throttle.succeeded(keys);
  return { tenantId: tenant.id, userId: user.id };
}
