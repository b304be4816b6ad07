import type { FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { findTenant } from '../http/access-hook.js';
import { caseInsensitiveBody } from '../http/openapi.js';
import { ORCHESTRATOR_TENANT_HEADER, UIPATH_TENANT_HEADER } from '../http/orchestrator-paths.js';
import type { RouteModule, TenantRow } from '../http/context.js';
import { formFields, inflateBody, jsonBodyParser } from '../http/input-guard.js';
import { badRequest, fieldError, notFound, unauthorized, zodIssuesToSay } from '../http/problem.js';
import type { Clock } from '../shared/clock.js';
import type { Db } from '../storage/database.js';
import { SIGN_IN_BODY_LIMIT_BYTES, passwordLogin, storeSignIn } from './password-login.js';
import { createApiToken } from './tokens.js';

/** AUTHENTICATE_TOKEN_NAME names the API tokens that `POST /api/Account/Authenticate` issues. */
export const AUTHENTICATE_TOKEN_NAME = 'Orchestrator Authenticate';

/**
 * AUTHENTICATE_TOKEN_TTL_MS is how long a token from Authenticate works (Authenticator.fromBearer):
 * Orchestrator's expire in 30 minutes, so its scripts sign in again; a day is kinder and still ends
 * a token that leaked. A user's older ones are removed at each new sign-in rather than accumulating.
 */
export const AUTHENTICATE_TOKEN_TTL_MS = 24 * 3_600_000;

/**
 * lowerCaseKeys copies an object with its keys lower-cased: Orchestrator's ASP.NET server binds
 * JSON case-insensitively, and its clients rely on it (`tenancyName`, `TenancyName`, …).
 */
export function lowerCaseKeys(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v]));
}

/**
 * textFields copies an object (with lower-cased keys) with each of `fields` that holds a JSON
 * number or boolean as the text .NET's binder makes of it for a string property, as Orchestrator
 * reads `"Message": 42` as "42" and `true` as "True"; PowerShell's ConvertTo-Json writes a number
 * variable so. Any other value, and any other field, is left as it is.
 */
export function textFields(value: unknown, fields: readonly string[]): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const copy: Record<string, unknown> = { ...value };
  for (const field of fields) {
    const given = copy[field];
    if (typeof given === 'number') copy[field] = String(given);
    else if (typeof given === 'boolean') copy[field] = given ? 'True' : 'False';
  }
  return copy;
}

/**
 * withTextFields is `schema` as the OpenAPI document shows it: each of `fields` a number or a
 * boolean too, which textFields reads as its text (the document's strings alone refused them).
 */
export function withTextFields(schema: z.ZodObject, fields: readonly string[]): z.ZodObject {
  return schema.extend(Object.fromEntries(fields.map((field) => [field, z.union([schema.shape[field] as z.ZodType, z.number(), z.boolean()])])));
}

/**
 * tenancyRef reads a tenant named on the Orchestrator-compatible routes case-insensitively, as
 * Orchestrator does (its first tenant is `Default`, which scripts write as such): Tocsin's names
 * and ids are lower case, so `Default` can only mean `default`.
 */
function tenancyRef(value: string): string {
  return value.trim().toLowerCase();
}

/**
 * tenancyOrOnlyTenant is the tenant an Authenticate names, or, with no TenancyName, the
 * installation's only tenant, as a single-tenant Orchestrator signs in without one. With several
 * tenants it is none: the sign-in fails with the 401 of an unknown tenant, never a guess.
 */
async function tenancyOrOnlyTenant(db: Db, tenancyName: string | null | undefined): Promise<string> {
  if (tenancyName != null && tenancyName.trim() !== '') return tenancyRef(tenancyName);
  const tenants = await db.selectFrom('tenants').select('id').limit(2).execute();
  return tenants.length === 1 ? tenants[0]!.id : '';
}

// TenancyName is optional in Orchestrator's swagger: Get-UiPathAuthToken leaves it out without -TenantName.
const authenticateBody = z.object({
  tenancyname: z.string().max(200).nullish(),
  usernameoremailaddress: z.string().min(1).max(254),
  password: z.string().min(1).max(256),
});

const FIELD_NAMES: Record<string, string> = {
  tenancyname: 'TenancyName',
  usernameoremailaddress: 'UsernameOrEmailAddress',
  password: 'Password',
};

/**
 * orchestratorTenant resolves the tenant of an Orchestrator-compatible route, which has no
 * `{tenant}` in its path: a user's token names its own tenant (an X-Tocsin-Tenant header naming
 * another one is a 404, never a way out); the host administrator must name one with the header
 * (or, when it is left out, with Orchestrator's X-UIPATH-TenantName). It is kept as the request's
 * tenant, as a path's is: a settings save then sends back its own tenant's waiting emails, not all.
 */
export async function orchestratorTenant(db: Db, request: FastifyRequest): Promise<TenantRow> {
  const principal = request.principal;
  if (!principal) throw unauthorized();
  const headerRef = (name: string) => {
    const value = request.headers[name];
    // Node joins a header sent twice with ', ', and no tenant's name or id holds a comma: it was
    // 404 "Tenant not found" for two tenants named, where the request named its tenant twice.
    if (typeof value === 'string' && value.includes(',')) throw fieldError(`header.${name}`, `is given more than once: give ${name} once`);
    return typeof value === 'string' && value.trim() !== '' ? tenancyRef(value).slice(0, 200) : undefined;
  };
  const named = headerRef(ORCHESTRATOR_TENANT_HEADER);
  if (principal.kind === 'user') {
    const tenant = await db.selectFrom('tenants').selectAll().where('id', '=', principal.tenantId).executeTakeFirst();
    if (!tenant || (named !== undefined && named !== tenant.id && named !== tenant.name)) throw notFound('Tenant');
    return (request.tenant = tenant);
  }
  // Orchestrator's own header, which its cloud clients send with every request, names it too.
  const ref = named ?? headerRef(UIPATH_TENANT_HEADER);
  if (ref === undefined) {
    throw fieldError('header.x-tocsin-tenant', 'the host administrator must name the tenant (its name or id) in the X-Tocsin-Tenant header');
  }
  const tenant = await findTenant(db, ref);
  if (!tenant) throw notFound('Tenant');
  return (request.tenant = tenant);
}

/**
 * issueAuthenticateToken gives a signed-in user a new bearer token, first removing its own
 * Authenticate tokens older than AUTHENTICATE_TOKEN_TTL_MS.
 */
async function issueAuthenticateToken(db: Db, clock: Clock, owner: { tenantId: string; userId: string }): Promise<{ id: string; token: string }> {
  await db
    .deleteFrom('api_tokens')
    .where('user_id', '=', owner.userId)
    .where('name', '=', AUTHENTICATE_TOKEN_NAME)
    .where('created_at', '<', clock.now() - AUTHENTICATE_TOKEN_TTL_MS)
    .execute();
  return createApiToken(db, owner.tenantId, owner.userId, AUTHENTICATE_TOKEN_NAME, clock);
}

/**
 * orchestratorAuthRoutes serve `POST /api/Account/Authenticate`, Orchestrator's sign-in for
 * scripts: a tenant user's email (or its name, when no other user has it) and console password
 * give a bearer token for every route.
 */
export const orchestratorAuthRoutes: RouteModule = (app, { storage, clock, loginThrottle }) =>
  void app.register(async (scope) => {
    // Orchestrator (ASP.NET) binds a form post as well as JSON, and scripts send one: PowerShell's
    // `Invoke-RestMethod -Method Post -Body @{tenancyName=…; …}` posts the hashtable form-encoded.
    // Read as a JSON body is (its Content-Encoding undone, in its charset), and JSON that curl -d labels a form as JSON.
    // Bounded by the sign-in's limit, once inflated too, as the JSON body is (the route's limit decides over a parser's).
    const json = jsonBodyParser(scope, SIGN_IN_BODY_LIMIT_BYTES);
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (request, bytes, done) => {
      try {
        const body = inflateBody(bytes as Buffer, request.headers['content-encoding'], request.routeOptions.bodyLimit ?? SIGN_IN_BODY_LIMIT_BYTES);
        if (/^\s*\{/.test(body.subarray(0, 64).toString('latin1'))) return json(request, bytes, done);
        return done(null, formFields(body, request.headers['content-type']));
      } catch (error) {
        return done(error as Error, undefined);
      }
    });
    const authenticate = async (request: FastifyRequest) => {
      const parsed = authenticateBody.safeParse(textFields(lowerCaseKeys(request.body), Object.keys(FIELD_NAMES)));
      if (!parsed.success) {
        const errors = zodIssuesToSay(parsed.error.issues).map((i) => ({ path: FIELD_NAMES[String(i.path[0])] ?? '(root)', message: i.message }));
        throw badRequest(`${errors[0]!.path}: ${errors[0]!.message}`, errors);
      }
      // The console's password check: same 401 for every failure, and the same throttle (429).
      const owner = await passwordLogin(storage.db, loginThrottle, {
        tenant: await tenancyOrOnlyTenant(storage.db, parsed.data.tenancyname),
        email: parsed.data.usernameoremailaddress,
        password: parsed.data.password,
        address: request.ip,
        orName: true,
      });
      const { token } = await storeSignIn(
        storage.db,
        owner,
        () => issueAuthenticateToken(storage.db, clock, owner),
        (issued) => storage.db.deleteFrom('api_tokens').where('id', '=', issued.id).execute(),
      );
      return { result: token, targetUrl: null, success: true, error: null, unAuthorizedRequest: false, __abp: true };
    };
    scope.withTypeProvider<ZodTypeProvider>().post(
      '/api/Account/Authenticate',
      {
        bodyLimit: SIGN_IN_BODY_LIMIT_BYTES,
        config: {
          access: 'public',
          problems: [401, 429],
          secret: true,
          answer: z.object({
            result: z.string().describe('The bearer token'),
            targetUrl: z.string().nullable(),
            success: z.boolean(),
            error: z.string().nullable(),
            unAuthorizedRequest: z.boolean(),
            __abp: z.boolean(),
          }),
        },
        schema: {
          body: caseInsensitiveBody(withTextFields(authenticateBody, Object.keys(FIELD_NAMES)), FIELD_NAMES),
          description:
            "{TenancyName, UsernameOrEmailAddress, Password} (key case ignored; JSON or form-encoded) → {result: <bearer token>, success: true}; 401 when wrong. Without TenancyName, the installation's only tenant (401 when there are several). The token works for 24 hours (Orchestrator's for 30 minutes), and ends sooner when the user's password changes or the user is deactivated.",
        },
      },
      authenticate,
    );
    // The login of the 2018.1 and 2018.2 swaggers and of older UiPath clients (uipath-orchestrator
    // before its 'use the correct login endpoint' fix), which Orchestrator still answers.
    scope.post('/api/Account', { bodyLimit: SIGN_IN_BODY_LIMIT_BYTES, config: { access: 'public', secret: true }, schema: { hide: true } }, authenticate);
  });
