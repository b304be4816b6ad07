import crypto from 'node:crypto';
import type { Clock } from '../shared/clock.js';
import { randomToken, sha256 } from '../shared/ids.js';
import type { Db } from '../storage/database.js';
import { AUTHENTICATE_TOKEN_NAME, AUTHENTICATE_TOKEN_TTL_MS } from './orchestrator-auth.js';
import { HOST_PRINCIPAL, type Principal, sessionGrant, tokenGrant } from './principal.js';

const ADMIN_TOKEN_KEY = 'admin_token_hash';
/** How long a console session lasts after sign-in. */
export const SESSION_TTL_MS = 12 * 3_600_000;

/**
 * ensureAdminToken makes the host administrator's token known: the configured one (its hash is
 * stored, and the host's console sessions end when it replaces another), or the one stored
 * earlier, or a new one, which is returned so it can be printed once.
 */
export async function ensureAdminToken(db: Db, configured: string | undefined, clock: Clock): Promise<{ hash: string; generated?: string }> {
  const store = async (hash: string) =>
    db
      .insertInto('host_settings')
      .values({ key: ADMIN_TOKEN_KEY, value: hash, updated_at: clock.now() })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: hash, updated_at: clock.now() }))
      .execute();
  const stored = () => db.selectFrom('host_settings').select('value').where('key', '=', ADMIN_TOKEN_KEY).executeTakeFirst();
  if (configured) {
    const hash = sha256(configured);
    // A new token is set because the old one leaked (or its holder left): the console sessions
    // signed in with the old one end too, as a user's do when its password changes (endSignIns).
    // Removed before the new hash is stored, so a start cut short in between does it again.
    const before = await stored();
    if (before && before.value !== hash) await db.deleteFrom('sessions').where('user_id', 'is', null).execute();
    await store(hash);
    return { hash };
  }
  const existing = await stored();
  if (existing) return { hash: existing.value };
  const generated = randomToken('tcs_admin_');
  const hash = sha256(generated);
  // Processes started together on a new database (an api and a worker) each generate one: the first
  // stored is the token, and only the process that stored it prints it.
  await db
    .insertInto('host_settings')
    .values({ key: ADMIN_TOKEN_KEY, value: hash, updated_at: clock.now() })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const kept = (await stored())!.value;
  return kept === hash ? { hash, generated } : { hash: kept };
}

/**
 * takeBackGeneratedAdminToken removes the admin token a start generated (ensureAdminToken) and then
 * could not serve with (its port taken, its mail catcher's port taken): it was never printed, and
 * kept, every later start called it "kept from an earlier start", so no one could sign in as the
 * host administrator. Removed, the next start generates one and prints it. Only while it is still
 * the stored one.
 */
export async function takeBackGeneratedAdminToken(db: Db, hash: string): Promise<void> {
  await db.deleteFrom('host_settings').where('key', '=', ADMIN_TOKEN_KEY).where('value', '=', hash).execute();
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/**
 * PRINCIPAL_CACHE_MS is how long a user's API token keeps the principal it resolved to without
 * asking the database again: a robot posting batches would otherwise pay a query per request.
 * Changes made through this process's API take effect at once (see Authenticator.forget); a change
 * made by another process (a second `api` process, the CLI) takes effect within this time.
 */
export const PRINCIPAL_CACHE_MS = 2_000;
/**
 * MAX_CACHED_PRINCIPALS bounds the cache's memory. When full, the principal kept longest ago goes
 * (a Map iterates in insertion order, and a principal read again goes to the end): emptied
 * instead, a fleet of more tokens than this made every robot's next request a cold read at once.
 */
export const MAX_CACHED_PRINCIPALS = 10_000;

/** Authenticator turns a bearer token or a session cookie into a Principal. */
export class Authenticator {
  private readonly principals = new Map<string, { principal: Principal; until: number }>();
  /**
   * The lookups under way, by token hash: the requests in flight when a token's cached principal
   * runs out (a robot's burst, every PRINCIPAL_CACHE_MS) share one, where each read the token and
   * its user's grants again. forget() drops them, so that a request after
   * a change never takes an answer read before it.
   */
  private readonly lookups = new Map<string, Promise<Principal | undefined>>();
  // Bumped by forget, so that a lookup that raced a change does not cache what it read before.
  private generation = 0;

  constructor(
    private readonly db: Db,
    private readonly adminTokenHash: string,
    private readonly clock: Clock,
  ) {}

  /** fromBearer resolves a bearer token: the host admin's, or a user's API token (cached briefly, see PRINCIPAL_CACHE_MS). */
  async fromBearer(token: string): Promise<Principal | undefined> {
    const hash = sha256(token);
    if (sameHash(hash, this.adminTokenHash)) return HOST_PRINCIPAL;
    const now = this.clock.now();
    const cached = this.principals.get(hash);
    if (cached && cached.until > now) return cached.principal;
    const under = this.lookups.get(hash);
    if (under) return under;
    const lookup = this.lookUp(hash, now).finally(() => {
      if (this.lookups.get(hash) === lookup) this.lookups.delete(hash);
    });
    this.lookups.set(hash, lookup);
    return lookup;
  }

  /** lookUp reads a user's API token and the principal it gives (one statement, tokenGrant), keeping the principal briefly. */
  private async lookUp(hash: string, now: number): Promise<Principal | undefined> {
    const generation = this.generation;
    const grant = await tokenGrant(this.db, hash);
    // A token that a password gave (Authenticate) ends a day after that sign-in; one made on purpose, when revoked.
    const expiresAt = grant?.name === AUTHENTICATE_TOKEN_NAME ? grant.createdAt + AUTHENTICATE_TOKEN_TTL_MS : Number.POSITIVE_INFINITY;
    const principal = expiresAt > now ? grant?.principal : undefined;
    // Unknown tokens are not cached: a token created by another process works at once.
    if (principal && generation === this.generation) {
      this.principals.delete(hash);
      if (this.principals.size >= MAX_CACHED_PRINCIPALS) this.principals.delete(this.principals.keys().next().value!);
      this.principals.set(hash, { principal, until: Math.min(now + PRINCIPAL_CACHE_MS, expiresAt) });
    }
    return principal;
  }

  /** forget drops every cached principal; called after any request that may change users, roles or tokens. */
  forget(): void {
    this.principals.clear();
    this.lookups.clear();
    this.generation += 1;
  }

  /** fromSession resolves a console session cookie, with the CSRF token that unsafe calls must echo. */
  async fromSession(cookie: string): Promise<{ principal: Principal; csrfToken: string } | undefined> {
    const grant = await sessionGrant(this.db, sha256(cookie), this.clock.now());
    return grant?.principal ? { principal: grant.principal, csrfToken: grant.csrfToken } : undefined;
  }

  /** isAdminToken tells whether a token is the host administrator's. */
  isAdminToken(token: string): boolean {
    return sameHash(sha256(token), this.adminTokenHash);
  }
}

/**
 * createSession opens a console session; the cookie value is returned once and stored hashed.
 * It first forgets every session that has expired (nothing else would: a user who never signs out
 * left one row per sign-in for ever), so the table holds only the last SESSION_TTL_MS of sign-ins.
 */
export async function createSession(
  db: Db,
  owner: { tenantId: string; userId: string } | 'host',
  clock: Clock,
): Promise<{ cookie: string; csrfToken: string; expiresAt: number }> {
  const cookie = randomToken();
  const csrfToken = randomToken();
  const now = clock.now();
  const expiresAt = now + SESSION_TTL_MS;
  await db.deleteFrom('sessions').where('expires_at', '<', now).execute();
  await db
    .insertInto('sessions')
    .values({
      id_hash: sha256(cookie),
      tenant_id: owner === 'host' ? null : owner.tenantId,
      user_id: owner === 'host' ? null : owner.userId,
      csrf_token: csrfToken,
      created_at: now,
      expires_at: expiresAt,
    })
    .execute();
  return { cookie, csrfToken, expiresAt };
}

/** deleteSession ends a console session (sign-out). */
export async function deleteSession(db: Db, cookie: string): Promise<void> {
  await db.deleteFrom('sessions').where('id_hash', '=', sha256(cookie)).execute();
}

/**
 * endSignIns ends what a user's password gave: its console sessions (but `keepCookie`'s, the one
 * making the change) and its tokens from the Orchestrator-compatible Authenticate. Run when the
 * password changes, since a password is changed because it leaked: what was signed in with the old
 * one must stop too; and when the user is deactivated. API tokens made on purpose (POST /tokens)
 * stay; they can be revoked one by one.
 */
export async function endSignIns(db: Db, userId: string, keepCookie?: string): Promise<void> {
  let sessions = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keepCookie) sessions = sessions.where('id_hash', '!=', sha256(keepCookie));
  await sessions.execute();
  await db.deleteFrom('api_tokens').where('user_id', '=', userId).where('name', '=', AUTHENTICATE_TOKEN_NAME).execute();
}
