import { afterAll, beforeAll, expect, it } from 'vitest';
import { FakeClock } from '../shared/clock.js';
import type { Storage } from '../storage/storage.js';
import { describeEachDialect, openTestStorage } from '../../test/support/storage.js';
import { newId, sha256 } from '../shared/ids.js';
import { Authenticator, MAX_CACHED_PRINCIPALS, PRINCIPAL_CACHE_MS, SESSION_TTL_MS, createSession, ensureAdminToken } from './credentials.js';
import { createTenant } from './tenants.js';
import { createApiToken } from './tokens.js';
import { AUTHENTICATE_TOKEN_NAME, AUTHENTICATE_TOKEN_TTL_MS } from './orchestrator-auth.js';
import { HOST_PRINCIPAL, type Principal } from './principal.js';
import { createUser, updateUser } from './users.js';
import { saveGroup } from './groups.js';
import { createRole } from './roles.js';
import { aroundStatement } from '../../test/support/between-reads.js';
import { recordingStatements } from '../../test/support/storage.js';

/** tokenReads counts the statements among `texts` that read API tokens. */
const tokenReads = (texts: readonly string[]) => texts.filter((text) => text.includes('api_tokens')).length;

describeEachDialect('bearer principals cached briefly', (dialect) => {
  const clock = new FakeClock(Date.UTC(2026, 10, 27, 12));
  let storage: Storage;
  let auth: Authenticator;
  let token: string;

  beforeAll(async () => {
    storage = await openTestStorage(dialect);
    const tenant = await createTenant(storage.db, { name: 'cache' }, clock);
    const userId = await createUser(storage.db, tenant.id, { email: 'robot@example.com', name: 'Robot', roles: ['Robot'] }, clock);
    ({ token } = await createApiToken(storage.db, tenant.id, userId, 'robot', clock));
    auth = new Authenticator(storage.db, 'not-the-admin', clock);
  });
  afterAll(() => storage.close());

  it('sees a token revoked by another process within the cache time, and at once after forget', async () => {
    expect((await auth.fromBearer(token))?.kind).toBe('user');
    await storage.db.deleteFrom('api_tokens').execute();
    expect((await auth.fromBearer(token))?.kind).toBe('user');
    clock.advance(PRINCIPAL_CACHE_MS);
    expect(await auth.fromBearer(token)).toBeUndefined();
  });

  it('does not cache unknown tokens, so a token created elsewhere works at once', async () => {
    const tenant = await storage.db.selectFrom('tenants').select('id').executeTakeFirstOrThrow();
    const user = await storage.db.selectFrom('users').select('id').executeTakeFirstOrThrow();
    const fresh = await createApiToken(storage.db, tenant.id, user.id, 'again', clock);
    expect((await auth.fromBearer(fresh.token))?.kind).toBe('user');
    await storage.db.deleteFrom('api_tokens').execute();
    auth.forget();
    expect(await auth.fromBearer(fresh.token)).toBeUndefined();
  });

  it('does not keep a principal read before a revocation that this process made meanwhile', async () => {
    // The token is read, then revoked through this process's API (which forgets what is kept) before
    // the read's answer is used: that answer may stand, but kept it made the token work 2 s more.
    const tenant = await storage.db.selectFrom('tenants').select('id').executeTakeFirstOrThrow();
    const user = await storage.db.selectFrom('users').select('id').executeTakeFirstOrThrow();
    const racing = await createApiToken(storage.db, tenant.id, user.id, 'racing', clock);
    const revoke = async () => {
      await storage.db.deleteFrom('api_tokens').where('id', '=', racing.id).execute();
      raced.forget();
    };
    const raced: Authenticator = new Authenticator(aroundStatement(storage.db, 0, revoke, { after: true }).db, 'not-the-admin', clock);
    expect((await raced.fromBearer(racing.token))?.kind).toBe('user');
    expect(await raced.fromBearer(racing.token)).toBeUndefined();
  });
  it("reads a robot token's principal in one statement once it is no longer kept", async () => {
    // Every request of a robot posting less often than every PRINCIPAL_CACHE_MS pays this read: it was three
    // statements (the token, its user's permissions, the user), one after the other.
    const tenant = await storage.db.selectFrom('tenants').select('id').executeTakeFirstOrThrow();
    await createRole(storage.db, tenant.id, { name: 'Raiser', permissions: ['Alerts.Create'] });
    const userId = await createUser(storage.db, tenant.id, { email: 'fleet@example.com', name: 'Fleet', roles: ['Raiser'] }, clock);
    await saveGroup(storage.db, tenant.id, undefined, { name: 'Viewers', members: [userId], roles: ['Alerts Viewer'] }, clock);
    const fleet = await createApiToken(storage.db, tenant.id, userId, 'fleet', clock);
    const recording = recordingStatements(storage.db);
    const principal = await new Authenticator(recording.db, 'not-the-admin', clock).fromBearer(fleet.token);
    expect(recording.texts).toHaveLength(1);
    expect(principal).toMatchObject({ kind: 'user', tenantId: tenant.id, userId, email: 'fleet@example.com' });
    // Its own role's permissions and its group's.
    expect([...(principal?.permissions ?? [])].sort()).toEqual(['Alerts.Create', 'Alerts.View']);
  });

  it("follows a change another process makes to a token's user within the cache time: a role or a group's role taken away, deactivated, deleted", async () => {
    const tenant = await storage.db.selectFrom('tenants').select('id').executeTakeFirstOrThrow();
    const userId = await createUser(storage.db, tenant.id, { email: 'changing@example.com', name: 'Changing', roles: ['Raiser'] }, clock);
    const groupId = await saveGroup(storage.db, tenant.id, undefined, { name: 'Readers', members: [userId], roles: ['Alerts Viewer'] }, clock);
    const { token: changing } = await createApiToken(storage.db, tenant.id, userId, 'changing', clock);
    const elsewhere = new Authenticator(storage.db, 'not-the-admin', clock);
    const permissions = async () => [...((await elsewhere.fromBearer(changing))?.permissions ?? [])];
    expect((await permissions()).sort()).toEqual(['Alerts.Create', 'Alerts.View']);

    await updateUser(storage.db, tenant.id, userId, { roles: null }, clock);
    expect(await permissions()).toContain('Alerts.Create');
    clock.advance(PRINCIPAL_CACHE_MS);
    expect(await permissions()).toEqual(['Alerts.View']);

    await storage.db.deleteFrom('group_roles').where('group_id', '=', groupId).execute();
    clock.advance(PRINCIPAL_CACHE_MS);
    expect((await elsewhere.fromBearer(changing))?.permissions.size).toBe(0);

    await updateUser(storage.db, tenant.id, userId, { active: false }, clock);
    expect((await elsewhere.fromBearer(changing))?.kind).toBe('user');
    clock.advance(PRINCIPAL_CACHE_MS);
    expect(await elsewhere.fromBearer(changing)).toBeUndefined();

    await updateUser(storage.db, tenant.id, userId, { active: true, roles: ['Raiser'] }, clock);
    expect((await elsewhere.fromBearer(changing))?.permissions.has('Alerts.Create')).toBe(true);
    await storage.db.deleteFrom('users').where('id', '=', userId).execute();
    clock.advance(PRINCIPAL_CACHE_MS);
    expect(await elsewhere.fromBearer(changing)).toBeUndefined();
  });

  it('keeps the principals of recent tokens when a fleet of more tokens than the bound fills the cache, losing only the one kept longest ago', async () => {
    // When full the cache was emptied: every robot of a fleet larger than the bound found its next request cold at once.
    const tenant = await storage.db.selectFrom('tenants').select('id').executeTakeFirstOrThrow();
    const user = await storage.db.selectFrom('users').select('id').executeTakeFirstOrThrow();
    const fleet = Array.from({ length: MAX_CACHED_PRINCIPALS + 1 }, (_, i) => `tcs_fleet_${i}`);
    for (let from = 0; from < fleet.length; from += 1_000) {
      const rows = fleet.slice(from, from + 1_000).map((token, i) => ({
        id: newId(),
        tenant_id: tenant.id,
        user_id: user.id,
        name: `fleet ${from + i}`,
        token_hash: sha256(token),
        created_at: clock.now(),
      }));
      await storage.db.insertInto('api_tokens').values(rows).execute();
    }
    const recording = recordingStatements(storage.db);
    const full = new Authenticator(recording.db, 'not-the-admin', clock);
    const statementsFor = async (token: string) => {
      const before = recording.texts.length;
      expect((await full.fromBearer(token))?.kind).toBe('user');
      return recording.texts.length - before;
    };
    // Each token read in turn; the last one read puts the cache past its bound.
    for (const token of fleet) await full.fromBearer(token);
    expect(await statementsFor(fleet[MAX_CACHED_PRINCIPALS - 1]!)).toBe(0);
    expect(await statementsFor(fleet[1]!)).toBe(0);
    expect(await statementsFor(fleet[0]!)).toBe(1);
    // Token 0 came back and pushed out token 1, the oldest kept. Once every principal has run out, token 3 is read
    // again and goes to the back: the two tokens that come next push out token 2 and token 4, not token 3.
    clock.advance(PRINCIPAL_CACHE_MS);
    expect(await statementsFor(fleet[3]!)).toBe(1);
    expect(await statementsFor(fleet[1]!)).toBe(1);
    expect(await statementsFor(fleet[2]!)).toBe(1);
    expect(await statementsFor(fleet[3]!)).toBe(0);
    expect(await statementsFor(fleet[4]!)).toBe(1);
  });

  it('asks the database once for a token that many requests in flight present as its cached principal runs out, and again after a change', async () => {
    const tenant = await storage.db.selectFrom('tenants').select('id').executeTakeFirstOrThrow();
    const user = await storage.db.selectFrom('users').select('id').executeTakeFirstOrThrow();
    const burst = await createApiToken(storage.db, tenant.id, user.id, 'burst', clock);
    const counting = recordingStatements(storage.db);
    const shared = new Authenticator(counting.db, 'not-the-admin', clock);
    // A robot's eight requests in flight, its principal not (or no longer) kept: one lookup, one answer for all.
    const answers = await Promise.all(Array.from({ length: 8 }, () => shared.fromBearer(burst.token)));
    expect(answers.map((p) => p?.kind)).toEqual(Array(8).fill('user'));
    expect(tokenReads(counting.texts)).toBe(1);
    // A change through the API (the token revoked) while a lookup begun before it is under way: the requests after
    // it read again rather than take that lookup's answer.
    clock.advance(PRINCIPAL_CACHE_MS);
    const before = shared.fromBearer(burst.token);
    await storage.db.deleteFrom('api_tokens').where('id', '=', burst.id).execute();
    shared.forget();
    const after = await Promise.all([shared.fromBearer(burst.token), shared.fromBearer(burst.token)]);
    await before;
    expect(after).toEqual([undefined, undefined]);
    expect(tokenReads(counting.texts)).toBe(3);
  });
  it('keeps the lookup begun after a change for the requests that come while it is under way, though one begun before the change ends first', async () => {
    const tenant = await storage.db.selectFrom('tenants').select('id').executeTakeFirstOrThrow();
    const user = await storage.db.selectFrom('users').select('id').executeTakeFirstOrThrow();
    const robot = await createApiToken(storage.db, tenant.id, user.id, 'after-change', clock);
    let before: Promise<Principal | undefined> | undefined;
    let during: Promise<Principal | undefined> | undefined;
    // The lookup begun after the change waits, before its read, for the one begun before it to end; then
    // another request comes.
    const counting = aroundStatement(storage.db, 1, async () => {
      await before;
      during = shared.fromBearer(robot.token);
    });
    const shared: Authenticator = new Authenticator(counting.db, 'not-the-admin', clock);
    before = shared.fromBearer(robot.token);
    shared.forget();
    expect((await shared.fromBearer(robot.token))?.kind).toBe('user');
    expect((await during)?.kind).toBe('user');
    // The request that came during the second lookup took its answer: no third read.
    expect(tokenReads(counting.texts)).toBe(2);
  });
});

describeEachDialect('the admin token', (dialect) => {
  const clock = new FakeClock(Date.UTC(2026, 11, 1, 10));
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
  });
  afterAll(() => storage.close());

  it('is generated once when processes start together on a new database, and only the token that works is printed', async () => {
    // An api and a worker (or two replicas) started at once: each printed a token of its own, and the last one stored won.
    const starts = await Promise.all(Array.from({ length: 4 }, () => ensureAdminToken(storage.db, undefined, clock)));
    const printed = starts.flatMap((start) => (start.generated ? [start.generated] : []));
    expect(printed).toHaveLength(1);
    for (const start of starts) expect(start.hash).toBe(sha256(printed[0]!));
    const restart = await ensureAdminToken(storage.db, undefined, clock);
    expect(restart).toEqual({ hash: sha256(printed[0]!) });
  });

  it("ends the console sessions signed in with the old admin token, and keeps the tenant users' sessions", async () => {
    // The admin token leaked and the operator restarts with another: a console signed in with the leaked one kept host access for 12 hours.
    const old = await ensureAdminToken(storage.db, 'leaked-admin-token', clock);
    const hostSession = await createSession(storage.db, 'host', clock);
    const tenant = await createTenant(storage.db, { name: 'rotation' }, clock);
    const userId = await createUser(storage.db, tenant.id, { email: 'ops@example.com', name: 'Ops', roles: ['Administrator'] }, clock);
    const userSession = await createSession(storage.db, { tenantId: tenant.id, userId }, clock);

    const again = await ensureAdminToken(storage.db, 'leaked-admin-token', clock);
    expect(await new Authenticator(storage.db, again.hash, clock).fromSession(hostSession.cookie)).toBeDefined();

    const rotated = await ensureAdminToken(storage.db, 'new-admin-token', clock);
    expect(rotated.hash).not.toBe(old.hash);
    const auth = new Authenticator(storage.db, rotated.hash, clock);
    expect(await auth.fromSession(hostSession.cookie)).toBeUndefined();
    expect((await auth.fromSession(userSession.cookie))?.principal.kind).toBe('user');
    // A console signed in with the new token stays signed in across restarts with it.
    const fresh = await createSession(storage.db, 'host', clock);
    await ensureAdminToken(storage.db, 'new-admin-token', clock);
    expect(await auth.fromSession(fresh.cookie)).toBeDefined();
  });
});

describeEachDialect('console sessions', (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
  });
  afterAll(() => storage.close());

  it('are forgotten once expired, at the next sign-in, and a live one is kept', async () => {
    const clock = new FakeClock(Date.UTC(2026, 11, 1, 8));
    const tenant = await createTenant(storage.db, { name: 'sessions' }, clock);
    const userId = await createUser(storage.db, tenant.id, { email: 'ops@example.com', name: 'Ops', roles: ['Administrator'] }, clock);
    const owner = { tenantId: tenant.id, userId };
    // Signed in, never signed out.
    await createSession(storage.db, owner, clock);
    clock.advance(SESSION_TTL_MS - 60_000);
    const live = await createSession(storage.db, owner, clock);
    clock.advance(120_000);
    // The first session has expired, the second has not: a new sign-in (of anyone) removes only the first.
    const next = await createSession(storage.db, 'host', clock);
    const stored = (await storage.db.selectFrom('sessions').select('id_hash').execute()).map((row) => row.id_hash).sort();
    expect(stored).toEqual([sha256(live.cookie), sha256(next.cookie)].sort());
    const auth = new Authenticator(storage.db, 'not-the-admin', clock);
    expect(await auth.fromSession(live.cookie)).toBeDefined();
  });

  it("read a session's principal in one statement: a user's with its own and its groups' roles, the host administrator's, none for an inactive user", async () => {
    // Every console request resolves its session: it was three statements (the session, its user's permissions, the user), one after the other.
    const clock = new FakeClock(Date.UTC(2026, 11, 3, 8));
    const tenant = await createTenant(storage.db, { name: 'one read' }, clock);
    await createRole(storage.db, tenant.id, { name: 'Raiser', permissions: ['Alerts.Create'] });
    const userId = await createUser(storage.db, tenant.id, { email: 'console@example.com', name: 'Console', roles: ['Raiser'] }, clock);
    await saveGroup(storage.db, tenant.id, undefined, { name: 'Viewers', members: [userId], roles: ['Alerts Viewer'] }, clock);
    const session = await createSession(storage.db, { tenantId: tenant.id, userId }, clock);
    const host = await createSession(storage.db, 'host', clock);
    const recording = recordingStatements(storage.db);
    const auth = new Authenticator(recording.db, 'not-the-admin', clock);

    const signedIn = await auth.fromSession(session.cookie);
    expect(recording.texts).toHaveLength(1);
    expect(signedIn).toMatchObject({ csrfToken: session.csrfToken, principal: { kind: 'user', tenantId: tenant.id, userId, email: 'console@example.com' } });
    expect([...(signedIn?.principal.permissions ?? [])].sort()).toEqual(['Alerts.Create', 'Alerts.View']);

    expect(await auth.fromSession(host.cookie)).toEqual({ csrfToken: host.csrfToken, principal: HOST_PRINCIPAL });
    expect(recording.texts).toHaveLength(2);

    await storage.db.updateTable('users').set({ active: 0 }).where('id', '=', userId).execute();
    expect(await auth.fromSession(session.cookie)).toBeUndefined();
    expect(await auth.fromSession('no such cookie')).toBeUndefined();
  });

  it('stop working the moment they expire, though no sign-in has removed them since', async () => {
    // Expired rows are deleted only by the next sign-in: on a quiet console none comes, and the cookie must not outlive its 12 hours.
    const clock = new FakeClock(Date.UTC(2026, 11, 2, 8));
    const tenant = await createTenant(storage.db, { name: 'expiry' }, clock);
    const userId = await createUser(storage.db, tenant.id, { email: 'ops@example.com', name: 'Ops', roles: ['Administrator'] }, clock);
    const session = await createSession(storage.db, { tenantId: tenant.id, userId }, clock);
    const auth = new Authenticator(storage.db, 'not-the-admin', clock);
    clock.advance(SESSION_TTL_MS - 1);
    expect(await auth.fromSession(session.cookie)).toBeDefined();
    clock.advance(1);
    expect(await auth.fromSession(session.cookie)).toBeUndefined();
  });
});

describeEachDialect('Authenticate tokens', (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
  });
  afterAll(() => storage.close());

  it('stop working a day after their sign-in, as the next sign-in removes them, while API tokens made on purpose go on', async () => {
    // A token that a password gave (Orchestrator's expire in 30 minutes) worked for ever unless its user signed in again.
    const clock = new FakeClock(Date.UTC(2026, 11, 1, 8));
    const tenant = await createTenant(storage.db, { name: 'authenticate' }, clock);
    const userId = await createUser(storage.db, tenant.id, { email: 'ops@example.com', name: 'Ops', roles: ['Robot'] }, clock);
    const signedIn = await createApiToken(storage.db, tenant.id, userId, AUTHENTICATE_TOKEN_NAME, clock);
    const script = await createApiToken(storage.db, tenant.id, userId, 'nightly script', clock);
    const auth = new Authenticator(storage.db, 'not-the-admin', clock);
    clock.advance(AUTHENTICATE_TOKEN_TTL_MS - 1);
    auth.forget();
    expect((await auth.fromBearer(signedIn.token))?.kind).toBe('user');
    clock.advance(1);
    auth.forget();
    expect(await auth.fromBearer(signedIn.token)).toBeUndefined();
    expect((await auth.fromBearer(script.token))?.kind).toBe('user');
  });
});
