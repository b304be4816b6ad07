import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CSRF_HEADER, SESSION_COOKIE } from '../http/access-hook.js';
import type { RouteModule } from '../http/context.js';
import { fieldErrors, unauthorized, zodFieldErrors } from '../http/problem.js';
import { createSession, deleteSession, SESSION_TTL_MS } from './credentials.js';
import { SIGN_IN_BODY_LIMIT_BYTES, beginSignIn, passwordLogin, storeSignIn } from './password-login.js';
import { PERMISSIONS, listedInOrder } from './permissions.js';
import { HOST_PRINCIPAL, userPrincipal } from './principal.js';
import { noBody } from '../shared/validation.js';

const passwordSignIn = z.object({ tenant: z.string().min(1).max(200), email: z.string().min(1).max(254), password: z.string().min(1).max(256) });
const tokenSignIn = z.object({ adminToken: z.string().min(1).max(512) });
const loginBody = z.union([passwordSignIn, tokenSignIn]);

/** The signed-in console's session, as sign-in and the session probe answer it. */
const sessionFields = {
  csrfToken: z.string().describe('Echo it in the header csrfHeader names on every change made with the session cookie'),
  csrfHeader: z.literal(CSRF_HEADER),
  kind: z.enum(['host', 'user']),
  tenantId: z.string().nullable().describe('null for the host administrator'),
  userId: z.string().nullable().describe('null for the host administrator'),
  permissions: z.array(z.enum(PERMISSIONS)),
};
const signedIn = z.object({ ...sessionFields, expiresAt: z.iso.datetime() });
const sessionProbe = z.union([z.object({ signedIn: z.literal(false) }), z.object({ signedIn: z.literal(true), ...sessionFields })]);

/**
 * namedSignInFields checks a sign-in body the way it means to sign in (with adminToken, else with a
 * password) before the union does, so a 400 names the field: a body that fits neither way was
 * '(root): Invalid input', whatever field was wrong.
 */
async function namedSignInFields(request: FastifyRequest): Promise<void> {
  const body = request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
  const parsed = ('adminToken' in body ? tokenSignIn : passwordSignIn).safeParse(body);
  if (!parsed.success) throw fieldErrors(zodFieldErrors(parsed.error.issues));
}

/**
 * cookiePath is the folder of the console's page as the browser sees it, read from the Referer of
 * its sign-in and sign-out (the console's fetches send their page's address: its Referrer-Policy is
 * same-origin): `/tocsin/` behind a reverse proxy serving Tocsin under that path, else `/`. At
 * Path=/, two Tocsins under paths of one host (production and staging) took each other's cookie,
 * signing out of one whoever signed in to the other, and the host's other applications were sent
 * it. A request without a Referer (a script) or with one that a cookie's Path cannot hold gets `/`.
 */
function cookiePath(referer: string | undefined): string {
  if (!referer || !URL.canParse(referer)) return '/';
  const folder = new URL(referer).pathname.replace(/[^/]*$/, '');
  return /^\/[\w\-.~%!$&'()*+,=:@/]{0,500}$/.test(folder) ? folder : '/';
}

/**
 * sessionRoutes sign the console in and out. The session lives in an HTTP-only, SameSite=Strict
 * cookie, kept to the console's path (cookiePath); the CSRF token returned here must be echoed in the `x-csrf-token` header.
 */
export const sessionRoutes: RouteModule = (app, { storage, clock, authenticator, config, loginThrottle }) => {
  const db = storage.db;
  const secure = config.publicUrl.startsWith('https://');

  app.post(
    '/api/v1/auth/login',
    {
      bodyLimit: SIGN_IN_BODY_LIMIT_BYTES,
      config: { access: 'public', problems: [401, 429], answer: signedIn, secret: true },
      preValidation: namedSignInFields,
      schema: { body: loginBody },
    },
    async (request, reply) => {
      const body = request.body;
      let owner: { tenantId: string; userId: string } | 'host';
      let session: Awaited<ReturnType<typeof createSession>>;
      if ('adminToken' in body) {
        const signIn = await beginSignIn(loginThrottle, { address: request.ip });
        if (!authenticator.isAdminToken(body.adminToken)) {
          signIn.failed();
          throw unauthorized('The admin token is not valid.');
        }
        signIn.succeeded();
        owner = 'host';
        session = await createSession(db, owner, clock);
      } else {
        const user = await passwordLogin(db, loginThrottle, { ...body, address: request.ip });
        owner = { tenantId: user.tenantId, userId: user.userId };
        session = await storeSignIn(
          db,
          user,
          () => createSession(db, owner, clock),
          (stored) => deleteSession(db, stored.cookie),
        );
      }
      void reply.setCookie(SESSION_COOKIE, session.cookie, {
        httpOnly: true,
        sameSite: 'strict',
        secure,
        path: cookiePath(request.headers.referer),
        maxAge: Math.floor(SESSION_TTL_MS / 1000),
      });
      const principal = owner === 'host' ? HOST_PRINCIPAL : await userPrincipal(db, owner.userId);
      return {
        csrfToken: session.csrfToken,
        csrfHeader: CSRF_HEADER,
        kind: owner === 'host' ? 'host' : 'user',
        tenantId: owner === 'host' ? null : owner.tenantId,
        userId: owner === 'host' ? null : owner.userId,
        permissions: principal ? listedInOrder(principal.permissions) : [],
        expiresAt: new Date(session.expiresAt).toISOString(),
      };
    },
  );

  app.get('/api/v1/auth/session', { config: { access: 'public', answer: sessionProbe, secret: true } }, async (request) => {
    const cookie = request.cookies[SESSION_COOKIE];
    const session = cookie ? await authenticator.fromSession(cookie) : undefined;
    // Not being signed in is this probe's ordinary answer (the console asks on every visit), not an error:
    // a 401 here would put an error in the browser's console on every sign-in page.
    if (!session) return { signedIn: false };
    const p = session.principal;
    return {
      signedIn: true,
      csrfToken: session.csrfToken,
      csrfHeader: CSRF_HEADER,
      kind: p.kind,
      tenantId: p.kind === 'user' ? p.tenantId : null,
      userId: p.kind === 'user' ? p.userId : null,
      permissions: listedInOrder(p.permissions),
    };
  });

  app.post('/api/v1/auth/logout', { config: { access: 'authenticated', status: 204 }, schema: { body: noBody } }, async (request, reply) => {
    const cookie = request.cookies[SESSION_COOKIE];
    if (cookie) await deleteSession(db, cookie);
    void reply.clearCookie(SESSION_COOKIE, { path: cookiePath(request.headers.referer) });
    return reply.status(204).send();
  });
};
