import { findTenant } from '../http/access-hook.js';
import { conflict, fieldError, tooManyRequests, unauthorized } from '../http/problem.js';
import type { Db } from '../storage/database.js';
import { classifyDbError } from '../storage/errors.js';
import type { LoginKeys, LoginThrottle, SignInAttempt } from './login-throttle.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { nameKey } from './roles.js';
import { emailKeys } from '../shared/validation.js';
import type { Clock } from '../shared/clock.js';
import { endSignIns } from './credentials.js';
import { sha256 } from '../shared/ids.js';

/** PasswordAttempt is one sign-in with a tenant, an email and a password, from a client address. */
export interface PasswordAttempt {
  /** The tenant's name or id. */
  readonly tenant: string;
  readonly email: string;
  readonly password: string;
  /** The client's address, as fastify sees it (`request.ip`). */
  readonly address: string;
  /**
   * Whether `email` may also be the user's name (Orchestrator's UsernameOrEmailAddress): when no
   * address matches, the one user of the tenant with that name, in any case; none when several have it.
   */
  readonly orName?: boolean;
}

type LoginUser = { id: string; email_key: string; password_hash: string | null; active: number };

async function findLoginUser(db: Db, tenantId: string, typed: string, orName: boolean): Promise<LoginUser | undefined> {
  const columns = ['id', 'email_key', 'password_hash', 'active'] as const;
  const email = typed.toLowerCase();
  // A key stored before emailKey read decomposed accents as composed ones is its address in lower case, as typed.
  const keys = [...new Set([...emailKeys(typed), email])];
  const byEmail = await db.selectFrom('users').select(columns).where('tenant_id', '=', tenantId).where('email_key', 'in', keys).executeTakeFirst();
  if (byEmail || !orName || typed === '') return byEmail;
  // SQLite's lower() folds only ASCII, and PostgreSQL's as its locale says, so SQL only narrows the
  // search (a name with other letters among those as long) and JS's case folding decides on both.
  // Names are stored as typed, an accent maybe as its own combining character: a name spelt so is
  // as long as the typed one composed (NFC), decomposed (NFD) or between.
  const ascii = /^[\x20-\x7e]*$/.test(typed);
  const lengths = [[...typed.normalize('NFC')].length, [...typed.normalize('NFD')].length];
  const named = await db
    .selectFrom('users')
    .select(['id', 'name'])
    .where('tenant_id', '=', tenantId)
    .where((eb) => (ascii ? eb(eb.fn('lower', ['name']), '=', email) : eb.between(eb.fn('length', ['name']), lengths[0]!, lengths[1]!)))
    .execute();
  const key = nameKey(typed);
  const matching = named.filter((u) => nameKey(u.name) === key);
  if (matching.length !== 1) return undefined;
  return db.selectFrom('users').select(columns).where('id', '=', matching[0]!.id).executeTakeFirst();
}

let missingUserHash: Promise<string> | undefined;
// Verifying against a real hash when the account does not exist keeps timing from revealing accounts.
const hashForMissingUser = () => (missingUserHash ??= hashPassword('no such user, no such password'));

/**
 * accountKey names an account in the login throttle: its tenant and its address (users' email_key),
 * and the password it has (a digest of its hash, salted, so new even when the same password is set
 * again). A new password, an administrator's or the user's own, set through any api process, is a
 * new account to the throttle of every process: the user locked out for mistyping the old one signs
 * in with it at once, whichever process answers, where only the process that took it forgot the count.
 */
function accountKey(tenant: string, emailKey: string, passwordHash?: string | null): string {
  return passwordHash ? `${tenant}:${emailKey}:${sha256(passwordHash).slice(0, 16)}` : `${tenant}:${emailKey}`;
}

/**
 * beginSignIn throws 429, with the seconds to wait, when these keys failed too often, else counts
 * this sign-in until it is settled (see LoginThrottle.begin); while the ones of these keys still
 * being checked could yet make too many, it waits for them.
 */
export async function beginSignIn(throttle: LoginThrottle, keys: LoginKeys): Promise<SignInAttempt> {
  for (;;) {
    const waitMs = throttle.retryAfterMs(keys);
    if (waitMs > 0) throw tooManyRequests('Too many failed sign-ins; wait before trying again.', waitMs / 1000);
    if (!throttle.crowded(keys)) return throttle.begin(keys);
    await throttle.settled();
  }
}

/** PasswordOwner is whose a password sign-in is, with the stored hash the password was checked against. */
export interface PasswordOwner {
  readonly tenantId: string;
  readonly userId: string;
  readonly passwordHash: string;
}

/**
 * SIGN_IN_BODY_LIMIT_BYTES bounds the body of the routes that sign in with a password or the admin
 * token, which take one from anyone: their fields fit in a few kilobytes, escaped. Under the API's
 * 20 MB, one stranger's body of unknown keys held the event loop for seconds while it was read.
 */
export const SIGN_IN_BODY_LIMIT_BYTES = 64 * 1024;

/** WRONG_SIGN_IN is the one refusal of every failed password sign-in. */
const WRONG_SIGN_IN = 'The tenant, email or password is wrong.';

/**
 * passwordLogin checks a password sign-in and returns whose it is. Every failure is the same 401
 * (no hint whether the tenant, the email or the password was wrong) and counts against the
 * account and the address; too many failures answer 429 before any password is checked. What the
 * sign-in gives is stored with storeSignIn.
 */
export async function passwordLogin(db: Db, throttle: LoginThrottle, attempt: PasswordAttempt): Promise<PasswordOwner> {
  // Tenant names and ids are lower case, and stored emails trimmed: `Acme` or ` ops@acme.example ` typed
  // into the sign-in form is the same account, as Orchestrator's Authenticate takes it.
  const tenantRef = attempt.tenant.trim().toLowerCase();
  const tenant = await findTenant(db, tenantRef);
  const typed = attempt.email.trim();
  const user = tenant ? await findLoginUser(db, tenant.id, typed, attempt.orName === true) : undefined;
  // The tenant's id when it exists, so its name and its id share one count; the account's address
  // when it is known, so its email and its name share one too.
  const keys: LoginKeys = {
    account: accountKey(tenant?.id ?? tenantRef, user?.email_key ?? typed.toLowerCase(), user?.password_hash),
    address: attempt.address,
  };
  const signIn = await beginSignIn(throttle, keys);
  try {
    const ok = await verifyPassword(user?.password_hash ?? (await hashForMissingUser()), attempt.password);
    // A user without a password signs in with none: its check, against the missing account's hash
    // (of a phrase anyone could read here and type), only takes as long as a real one.
    if (!tenant || !user?.password_hash || !ok || user.active !== 1) {
      signIn.failed();
      throw unauthorized(WRONG_SIGN_IN);
    }
    signIn.succeeded();
    return { tenantId: tenant.id, userId: user.id, passwordHash: user.password_hash };
  } finally {
    signIn.end();
  }
}

/**
 * storeSignIn stores what a password sign-in gives (a console session, an Authenticate token), then
 * makes sure the password it checked is still the user's and the user still active: a password
 * changed (or a user deactivated) while the sign-in was being checked ended the user's sign-ins
 * before this one was stored, which outlived the change it was made with the old password. Then
 * it is taken back (`undo`) and refused as a wrong password. Stored first and checked after, no
 * order of the two escapes: a check that still reads the old hash came before the change, whose
 * ending of the sign-ins then finds this one stored.
 */
export async function storeSignIn<T>(db: Db, owner: PasswordOwner, store: () => Promise<T>, undo: (stored: T) => Promise<unknown>): Promise<T> {
  let stored: T;
  try {
    stored = await store();
  } catch (err) {
    // The user (or its tenant) deleted since its password was checked: a wrong sign-in now, not a conflict to retry.
    if (classifyDbError(err) === 'foreign-key') throw unauthorized(WRONG_SIGN_IN);
    throw err;
  }
  const user = await db.selectFrom('users').select(['password_hash', 'active']).where('id', '=', owner.userId).executeTakeFirst();
  if (user?.password_hash === owner.passwordHash && user.active === 1) return stored;
  await undo(stored);
  throw unauthorized(WRONG_SIGN_IN);
}

/** OwnPasswordChange is a signed-in user changing its own console password. */
export interface OwnPasswordChange {
  readonly tenantId: string;
  readonly userId: string;
  readonly currentPassword: string;
  readonly newPassword: string;
  /** The client's address, as fastify sees it (`request.ip`). */
  readonly address: string;
  /** The session cookie making the change, which stays signed in. */
  readonly keepCookie?: string | undefined;
}

/** WRONG_CURRENT_PASSWORD is the refusal of a change whose current password is not the user's. */
const WRONG_CURRENT_PASSWORD = 'is not your current password';

/**
 * changeOwnPassword sets a user's console password when the current one is given: a session or a
 * token left open (a borrowed laptop, a script's token) must not be enough to take the account.
 * A wrong current password counts as a failed sign-in of the account, so the form cannot be used to
 * guess it faster than the sign-in page; too many answer 429. A user without a password (one that
 * signs in with tokens only) gets its first one from an administrator. What the old password signed
 * in ends, as when an administrator replaces it, but the session making the change.
 */
export async function changeOwnPassword(db: Db, throttle: LoginThrottle, clock: Clock, change: OwnPasswordChange): Promise<void> {
  const user = await db
    .selectFrom('users')
    .select(['email_key', 'password_hash'])
    .where('tenant_id', '=', change.tenantId)
    .where('id', '=', change.userId)
    .executeTakeFirst();
  if (!user?.password_hash) throw conflict('You have no console password yet: an administrator sets the first one in Manage Access.');
  const keys: LoginKeys = { account: accountKey(change.tenantId, user.email_key, user.password_hash), address: change.address };
  const signIn = await beginSignIn(throttle, keys);
  try {
    if (!(await verifyPassword(user.password_hash, change.currentPassword))) {
      signIn.failed();
      throw fieldError('currentPassword', WRONG_CURRENT_PASSWORD);
    }
    signIn.succeeded();
  } finally {
    signIn.end();
  }
  if (change.newPassword.normalize('NFC') === change.currentPassword.normalize('NFC'))
    throw fieldError('newPassword', 'is your current password: choose another one');
  const passwordHash = await hashPassword(change.newPassword);
  // Only over the password checked: one changed meanwhile (another change, an administrator's reset)
  // is no longer the current one, and stays.
  const changed = await db
    .updateTable('users')
    .set({ password_hash: passwordHash, updated_at: clock.now() })
    .where('tenant_id', '=', change.tenantId)
    .where('id', '=', change.userId)
    .where('password_hash', '=', user.password_hash)
    .executeTakeFirst();
  if (Number(changed.numUpdatedRows) === 0) throw fieldError('currentPassword', WRONG_CURRENT_PASSWORD);
  await endSignIns(db, change.userId, change.keepCookie);
}
