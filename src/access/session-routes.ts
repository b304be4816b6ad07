import { z } from 'zod';
import { CSRF_HEADER, SESSION_COOKIE, findTenant } from '../http/access-hook.js';
import type { RouteModule } from '../http/context.js';
import { unauthorized } from '../http/problem.js';
import { createSession, deleteSession, SESSION_TTL_MS } from './credentials.js';
import { verifyPassword } from './passwords.js';
import { userPrincipal } from './principal.js';

const loginBody = z.union([
  z.object({ tenant: z.string().min(1).max(200), email: z.string().min(1).max(254), password: z.string().min(1).max(256) }),
  z.object({ adminToken: z.string().min(1).max(512) }),
]);

// A fixed hash to verify against when the user does not exist, so timing does not reveal accounts.
const DUMMY_HASH =
  '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Xg0oZ3Kk5b8xq8S8aJm7m0wEo1yqgk7xXv7yq6Uj2bE';

/**
 * sessionRoutes sign the console in and out. The session lives in an HTTP-only, SameSite=Strict
 * cookie; the CSRF token returned here must be echoed in the `x-csrf-token` header.
 */
export const sessionRoutes: RouteModule = (app, { storage, clock, authenticator, config }) => {
  const db = storage.db;
  const secure = config.publicUrl.startsWith('https://');

  app.post('/api/v1/auth/login', { config: { access: 'public', problems: [401, 429] }, schema: { body: loginBody } }, async (request, reply) => {
    const body = request.body;
    let owner: { tenantId: string; userId: string } | 'host';
    if ('adminToken' in body) {
      if (!authenticator.isAdminToken(body.adminToken)) throw unauthorized('The admin token is not valid.');
      owner = 'host';
    } else {
      const tenant = await findTenant(db, body.tenant);
      const user = tenant
        ? await db
            .selectFrom('users')
            .select(['id', 'password_hash', 'active'])
            .where('tenant_id', '=', tenant.id)
            .where('email_key', '=', body.email.toLowerCase())
            .executeTakeFirst()
        : undefined;
      const ok = await verifyPassword(user?.password_hash ?? DUMMY_HASH, body.password);
      if (!tenant || !user || !ok || user.active !== 1) throw unauthorized('The tenant, email or password is wrong.');
      owner = { tenantId: tenant.id, userId: user.id };
    }
    const session = await createSession(db, owner, clock);
    void reply.setCookie(SESSION_COOKIE, session.cookie, {
      httpOnly: true,
      sameSite: 'strict',
      secure,
      path: '/',
      maxAge: Math.floor(SESSION_TTL_MS / 1000),
    });
    const principal = owner === 'host' ? undefined : await userPrincipal(db, owner.userId);
    return {
      csrfToken: session.csrfToken,
      csrfHeader: CSRF_HEADER,
      kind: owner === 'host' ? 'host' : 'user',
      tenantId: owner === 'host' ? null : owner.tenantId,
      userId: owner === 'host' ? null : owner.userId,
      permissions: principal ? [...principal.permissions].sort() : [],
      expiresAt: new Date(session.expiresAt).toISOString(),
    };
  });

  app.get('/api/v1/auth/session', { config: { access: 'public' } }, async (request) => {
    const cookie = request.cookies[SESSION_COOKIE];
    const session = cookie ? await authenticator.fromSession(cookie) : undefined;
    if (!session) throw unauthorized('Not signed in.');
    const p = session.principal;
    return {
      csrfToken: session.csrfToken,
      csrfHeader: CSRF_HEADER,
      kind: p.kind,
      tenantId: p.kind === 'user' ? p.tenantId : null,
      userId: p.kind === 'user' ? p.userId : null,
      permissions: [...p.permissions].sort(),
    };
  });

  app.post('/api/v1/auth/logout', { config: { access: 'authenticated' } }, async (request, reply) => {
    const cookie = request.cookies[SESSION_COOKIE];
    if (cookie) await deleteSession(db, cookie);
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.status(204).send();
  });
};
