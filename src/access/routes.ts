import { z } from 'zod';
import type { RouteModule, TocsinApp } from '../http/context.js';
import { listOf } from '../http/openapi.js';
import { fieldError, forbidden, notFound, notThere, unauthorized } from '../http/problem.js';
import { displayText } from '../shared/validation.js';
import { deleteGroup, groupInput, groupPatch, groupView, listGroups, requireGroup, saveGroup } from './groups.js';
import { createRole, deleteRole, listRoles, nameKey, requireRole, roleInput, rolePatch, roleView, updateRole } from './roles.js';
import { AUTHENTICATE_TOKEN_NAME } from './orchestrator-auth.js';
import { PERMISSIONS, isPermission, listedInOrder } from './permissions.js';
import { inCodePointOrder } from '../storage/text-order.js';
import { createTenant, deleteTenant, showTenant, tenantInput, tenantPatch, tenantView, updateTenant } from './tenants.js';
import { createApiToken, listApiTokens, revokeApiToken } from './tokens.js';
import { endSignIns } from './credentials.js';
import { changeOwnPassword } from './password-login.js';
import { SESSION_COOKIE } from '../http/access-hook.js';
import {
  type MayGrant,
  consolePassword,
  createUser,
  deleteUser,
  findUser,
  listUsers,
  requireUser,
  updateUser,
  userInput,
  userPatch,
  userView,
} from './users.js';
import type { FastifyRequest } from 'fastify';
import type { Clock } from '../shared/clock.js';
import type { Db } from '../storage/database.js';
import type { Config } from '../config.js';
import { replyCreated } from '../http/created.js';
import type { CallerMay } from './access-changes.js';
import { assertHeld, groupPermissions, roleIdsPermissions, rolesPermissions } from './grants.js';
import { type Principal, grantedPermissions, userPrincipal } from './principal.js';

const ref = z.string().min(1).max(200);
const tenantParams = z.object({ tenant: ref });
const userParams = tenantParams.extend({ userId: ref });
const groupParams = tenantParams.extend({ groupId: ref });
const tokenParams = userParams.extend({ tokenId: ref });
const tokenView = z.object({ id: z.string(), name: z.string(), createdAt: z.iso.datetime() });
const roleParams = tenantParams.extend({ roleId: ref });
const permissionList = z.array(z.enum(PERMISSIONS)).describe("The effective permissions, in API.md's order");
/** meView documents GET /me: the host administrator, or a user (its fields, and again under `user`) with its permissions. */
const meView = z.union([
  z.object({
    kind: z.literal('host'),
    tenant: tenantView,
    user: userView.nullable().describe('null: the host administrator is no user'),
    permissions: permissionList,
  }),
  userView.extend({ kind: z.literal('user'), tenant: tenantView, user: userView, permissions: permissionList }),
]);
const createdToken = z.object({ id: z.string(), name: z.string(), token: z.string().describe('Shown only in this answer') });

/** tenantOf returns the tenant the access hook resolved for a `:tenant` route. */
export function tenantOf(request: FastifyRequest) {
  if (!request.tenant) throw notFound('Tenant');
  return request.tenant;
}

/** assertSelfOr lets a user act on itself (`userId`; undefined: not even on itself), or anyone holding the permission act on others. */
function assertSelfOr(request: FastifyRequest, userId: string | undefined, permission: 'Users.Edit' | 'Users.View') {
  principalMay(request.principal, userId, permission);
}

function principalMay(p: Principal | undefined, userId: string | undefined, permission: 'Users.Edit' | 'Users.View') {
  if (p?.kind === 'user' && userId !== undefined && p.userId === userId) return;
  if (!p?.permissions.has(permission)) throw forbidden(`This needs the ${permission} permission.`);
}

/**
 * stillSelfOr is assertSelfOr asked again of the caller as it is in the change's transaction
 * (CallerMay): 401 when its user went or was deactivated meanwhile, 403 when it lost the permission.
 */
function stillSelfOr(request: FastifyRequest, userId: string | undefined, permission: 'Users.Edit'): CallerMay {
  return async (tx) => {
    const caller = request.principal;
    if (caller?.kind !== 'user') return;
    const now = await userPrincipal(tx, caller.userId);
    if (!now) throw unauthorized();
    principalMay(now, userId, permission);
  };
}

/**
 * selfOrBeforeBody is assertSelfOr as a preValidation hook, for every `:userId` route: a caller
 * acting on another user without the permission is told 403 before its path and body are judged, as
 * on the routes whose permission the access hook checks, not what was wrong with them (an id past
 * the path's bound was a 400 for GET /users/{id} and its tokens, a 403 for PATCH).
 */
export function selfOrBeforeBody(permission: 'Users.Edit' | 'Users.View') {
  return async (request: FastifyRequest) => assertSelfOr(request, (request.params as { userId?: string }).userId, permission);
}

/**
 * SELF_EDITABLE are the fields users may change on themselves without Users.Edit: how they are
 * called, in which language and time zone they read the console and their emails, and whether their
 * own inbox gets the mail-health notices (as their one-click link's page sets it). Their address,
 * password, roles and active flag stay with the holders of Users.Edit.
 */
const SELF_EDITABLE = ['name', 'language', 'timeZone', 'unsubscribed'] as const;

/**
 * assertMayActOn refuses (403) a change, by a holder of Users.Edit, of a user granted a permission
 * the caller lacks: its password, address, tokens or very existence would make the caller that user.
 */
async function assertMayActOn(db: Db, request: FastifyRequest, tenantId: string, userId: string): Promise<void> {
  assertHeld(request, await grantedPermissions(db, tenantId, userId), 'This user holds');
}

/** assertRolesHeld refuses (403) roles, given by name, that grant a permission the caller lacks. */
async function assertRolesHeld(db: Db, request: FastifyRequest, tenantId: string, roles: readonly string[] | null | undefined): Promise<void> {
  assertHeld(request, await rolesPermissions(db, tenantId, roles), roles?.length === 1 ? 'This role grants' : 'These roles grant');
}

/**
 * heldRoles is the MayGrant of a write made for the request: the roles it stores, by id, grant only
 * what the caller holds. assertRolesHeld checked their names first (a 403 before any other fault);
 * this checks what is written, as a role renamed in between (a name is no grant) takes the name.
 */
function heldRoles(db: Db, request: FastifyRequest, tenantId: string): MayGrant {
  return async (roleIds) =>
    assertHeld(request, await roleIdsPermissions(db, tenantId, roleIds), roleIds.length === 1 ? 'This role grants' : 'These roles grant');
}

/** assertRoleHeld refuses (403) a change of a role granting a permission the caller lacks: its holders would lose it. */
async function assertRoleHeld(db: Db, request: FastifyRequest, tenantId: string, roleId: string): Promise<void> {
  assertHeld(request, new Set((await requireRole(db, tenantId, roleId)).permissions.filter(isPermission)), 'This role grants');
}

/** accessRoutes are the host's tenants and each tenant's users, groups, roles and tokens. */
export const accessRoutes: RouteModule = (app, { storage, clock, loginThrottle, config }) => {
  const db = storage.db;
  // A user or group deleted answers 204 with no body (so the OpenAPI document says).
  const deletes = { permission: 'Users.Edit', status: 204 } as const;
  const showsUser = { answer: userView };
  const editsUser = { answer: userView, problems: [409] };
  const viewsGroup = { permission: 'Users.View', answer: groupView } as const;
  const listsOf = (item: z.ZodType) => ({ permission: 'Users.View', answer: listOf(item) }) as const;
  tenantsRoutes(app, db, clock, config);

  app.get('/api/v1/tenants/:tenant/me', { config: { answer: meView }, schema: { params: tenantParams } }, async (request) => {
    const p = request.principal!;
    const tenant = tenantOf(request);
    const permissions = listedInOrder(p.permissions);
    if (p.kind === 'host') return { kind: 'host', tenant: showTenant(tenant), user: null, permissions };
    // API.md: "the caller, with its effective permissions": the user's own fields at the top,
    // and again under `user` beside its tenant for the console.
    const user = (await findUser(db, tenant.id, p.userId)) ?? null;
    return { ...user, kind: 'user', tenant: showTenant(tenant), user, permissions };
  });

  app.post(
    '/api/v1/tenants/:tenant/me/password',
    {
      config: { status: 204, problems: [404, 409, 429] },
      schema: {
        params: tenantParams,
        body: z.object({ currentPassword: z.string().min(1).max(256), newPassword: consolePassword }).strict(),
        description:
          "The caller changes its own console password, giving the current one (no permission needed): a wrong one is a 400 naming currentPassword and counts as a failed sign-in (429 after too many); 409 for a user without a password yet. The caller's other sessions and Authenticate tokens end; its API tokens stay. 404 for the host administrator, who has none.",
      },
    },
    async (request, reply) => {
      const p = request.principal;
      if (p?.kind !== 'user') throw notThere("The host administrator has no console password: only a tenant's users have one.");
      await changeOwnPassword(db, loginThrottle, clock, {
        tenantId: tenantOf(request).id,
        userId: p.userId,
        currentPassword: request.body.currentPassword,
        newPassword: request.body.newPassword,
        address: request.ip,
        keepCookie: request.cookies?.[SESSION_COOKIE],
      });
      return reply.status(204).send();
    },
  );
  app.post(
    '/api/v1/tenants/:tenant/users',
    { config: { permission: 'Users.Edit', problems: [409], created: true }, schema: { params: tenantParams, body: userInput, response: { 201: userView } } },
    async (request, reply) => {
      const tenant = tenantOf(request);
      await assertRolesHeld(db, request, tenant.id, request.body.roles);
      const id = await createUser(db, tenant.id, request.body, clock, heldRoles(db, request, tenant.id));
      return replyCreated(request, reply, config, await requireUser(db, tenant.id, id));
    },
  );
  app.get('/api/v1/tenants/:tenant/users', { config: listsOf(userView), schema: { params: tenantParams } }, async (request) => ({
    items: await listUsers(db, tenantOf(request).id),
  }));
  app.get(
    '/api/v1/tenants/:tenant/users/:userId',
    { config: showsUser, preValidation: selfOrBeforeBody('Users.View'), schema: { params: userParams, description: 'Users.View, or the user itself.' } },
    async (request) => requireUser(db, tenantOf(request).id, request.params.userId),
  );
  app.patch(
    '/api/v1/tenants/:tenant/users/:userId',
    {
      config: editsUser,
      preValidation: selfOrBeforeBody('Users.Edit'),
      schema: {
        params: userParams,
        body: userPatch,
        description: `Users.Edit, or the user itself for its own ${SELF_EDITABLE.join(', ')}.`,
      },
    },
    async (request) => {
      const selfEditable = Object.keys(request.body).every((field) => (SELF_EDITABLE as readonly string[]).includes(field));
      assertSelfOr(request, selfEditable ? request.params.userId : undefined, 'Users.Edit');
      const tenant = tenantOf(request);
      await requireUser(db, tenant.id, request.params.userId);
      if (!selfEditable) {
        await assertMayActOn(db, request, tenant.id, request.params.userId);
        await assertRolesHeld(db, request, tenant.id, request.body.roles);
      }
      const callerMay = stillSelfOr(request, selfEditable ? request.params.userId : undefined, 'Users.Edit');
      await updateUser(db, tenant.id, request.params.userId, request.body, clock, heldRoles(db, request, tenant.id), callerMay);
      // Deactivated too: switched on again, the user signs in anew rather than finding its old sessions alive,
      // even the one with which it deactivated itself (kept only for a password change).
      if (request.body.active === false) await endSignIns(db, request.params.userId);
      else if (request.body.password !== undefined) await endSignIns(db, request.params.userId, request.cookies?.[SESSION_COOKIE]);
      return requireUser(db, tenant.id, request.params.userId);
    },
  );
  app.delete('/api/v1/tenants/:tenant/users/:userId', { config: deletes, schema: { params: userParams } }, async (request, reply) => {
    await assertMayActOn(db, request, tenantOf(request).id, request.params.userId);
    if (!(await deleteUser(db, tenantOf(request).id, request.params.userId, stillSelfOr(request, undefined, 'Users.Edit')))) throw notFound('User');
    return reply.status(204).send();
  });
  app.post(
    '/api/v1/tenants/:tenant/users/:userId/tokens',
    {
      config: { status: 201, answer: createdToken, created: true, secret: true },
      preValidation: selfOrBeforeBody('Users.Edit'),
      schema: {
        params: userParams,
        body: z.object({ name: displayText }).strict(),
        description:
          'A new API token of the user, shown only in this answer: Users.Edit (403 for a user holding a permission the caller lacks), or the user itself.',
      },
    },
    async (request, reply) => {
      // The tokens Authenticate issues go by this name: one made here would end with them (a password change, a day).
      if (nameKey(request.body.name) === nameKey(AUTHENTICATE_TOKEN_NAME)) {
        throw fieldError('name', `is the name of the tokens Authenticate issues, which end after a day: choose another`);
      }
      const tenant = tenantOf(request);
      await requireUser(db, tenant.id, request.params.userId);
      await assertMayActOn(db, request, tenant.id, request.params.userId);
      return replyCreated(request, reply, config, await createApiToken(db, tenant.id, request.params.userId, request.body.name, clock));
    },
  );
  // A token that leaked, or whose script is gone, is revoked on its own: without these, only
  // deactivating or deleting its user stopped it.
  app.get(
    '/api/v1/tenants/:tenant/users/:userId/tokens',
    {
      config: { answer: listOf(tokenView) },
      preValidation: selfOrBeforeBody('Users.View'),
      schema: { params: userParams, description: "The user's API tokens (id, name, createdAt), never the tokens: Users.View, or the user itself." },
    },
    async (request) => {
      const tenant = tenantOf(request);
      await requireUser(db, tenant.id, request.params.userId);
      return { items: await listApiTokens(db, tenant.id, request.params.userId) };
    },
  );
  // The Location that POST .../tokens answers (RFC 9110, 201): what was made, never the token.
  app.get(
    '/api/v1/tenants/:tenant/users/:userId/tokens/:tokenId',
    {
      config: { answer: tokenView },
      preValidation: selfOrBeforeBody('Users.View'),
      schema: { params: tokenParams, description: 'One API token of the user (id, name, createdAt), never the token: Users.View, or the user itself.' },
    },
    async (request) => {
      const [token] = await listApiTokens(db, tenantOf(request).id, request.params.userId, request.params.tokenId);
      if (token === undefined) throw notFound('Token');
      return token;
    },
  );
  app.delete(
    '/api/v1/tenants/:tenant/users/:userId/tokens/:tokenId',
    {
      config: { status: 204 },
      preValidation: selfOrBeforeBody('Users.Edit'),
      schema: {
        params: tokenParams,
        description: 'Revokes one API token at once: Users.Edit (403 for a user holding a permission the caller lacks), or the user itself.',
      },
    },
    async (request, reply) => {
      // Revoking an Administrator's token is acting on it, as deactivating it is.
      await assertMayActOn(db, request, tenantOf(request).id, request.params.userId);
      if (!(await revokeApiToken(db, tenantOf(request).id, request.params.userId, request.params.tokenId))) throw notFound('Token');
      return reply.status(204).send();
    },
  );

  app.post(
    '/api/v1/tenants/:tenant/groups',
    { config: { permission: 'Users.Edit', problems: [409], created: true }, schema: { params: tenantParams, body: groupInput, response: { 201: groupView } } },
    async (request, reply) => {
      const tenant = tenantOf(request);
      await assertRolesHeld(db, request, tenant.id, request.body.roles);
      const id = await saveGroup(
        db,
        tenant.id,
        undefined,
        request.body,
        clock,
        heldRoles(db, request, tenant.id),
        stillSelfOr(request, undefined, 'Users.Edit'),
      );
      return replyCreated(request, reply, config, await requireGroup(db, tenant.id, id));
    },
  );
  app.get('/api/v1/tenants/:tenant/groups', { config: listsOf(groupView), schema: { params: tenantParams } }, async (request) => ({
    items: await listGroups(db, tenantOf(request).id),
  }));
  app.get('/api/v1/tenants/:tenant/groups/:groupId', { config: viewsGroup, schema: { params: groupParams } }, async (request) => {
    return requireGroup(db, tenantOf(request).id, request.params.groupId);
  });
  app.patch(
    '/api/v1/tenants/:tenant/groups/:groupId',
    { config: { permission: 'Users.Edit', answer: groupView, problems: [409] }, schema: { params: groupParams, body: groupPatch } },
    async (request) => {
      const tenant = tenantOf(request);
      await requireGroup(db, tenant.id, request.params.groupId);
      // Its members (old, new) gain or lose what it grants, now and as it will be: as deleting it, only
      // by one who holds it all, whether its roles change or its members (null clears them). So does
      // its address, which gets its alert emails as a user's does: moved, the Administrators' went to
      // one who could not read them.
      if (request.body.roles !== undefined) await assertRolesHeld(db, request, tenant.id, request.body.roles);
      if (request.body.roles !== undefined || request.body.members !== undefined || request.body.email !== undefined) {
        assertHeld(request, await groupPermissions(db, tenant.id, request.params.groupId), 'This group grants');
      }
      await saveGroup(
        db,
        tenant.id,
        request.params.groupId,
        request.body,
        clock,
        heldRoles(db, request, tenant.id),
        stillSelfOr(request, undefined, 'Users.Edit'),
      );
      return requireGroup(db, tenant.id, request.params.groupId);
    },
  );
  app.delete('/api/v1/tenants/:tenant/groups/:groupId', { config: deletes, schema: { params: groupParams } }, async (request, reply) => {
    // Its members lose what it grants: as a PATCH of its members, only by one who holds it all.
    assertHeld(request, await groupPermissions(db, tenantOf(request).id, request.params.groupId), 'This group grants');
    if (!(await deleteGroup(db, tenantOf(request).id, request.params.groupId, stillSelfOr(request, undefined, 'Users.Edit')))) throw notFound('Group');
    return reply.status(204).send();
  });

  app.get('/api/v1/tenants/:tenant/roles', { config: listsOf(roleView), schema: { params: tenantParams } }, async (request) => ({
    items: await listRoles(db, tenantOf(request).id),
  }));
  app.post(
    '/api/v1/tenants/:tenant/roles',
    { config: { permission: 'Users.Edit', problems: [409], created: true }, schema: { params: tenantParams, body: roleInput, response: { 201: roleView } } },
    async (request, reply) => {
      assertHeld(request, new Set(request.body.permissions), 'This role would grant');
      return replyCreated(request, reply, config, await createRole(db, tenantOf(request).id, request.body));
    },
  );
  // Beyond API.md: a custom role made with a typo or too wide could otherwise never be corrected nor removed.
  app.get(
    '/api/v1/tenants/:tenant/roles/:roleId',
    { config: { permission: 'Users.View', answer: roleView }, schema: { params: roleParams } },
    async (request) => requireRole(db, tenantOf(request).id, request.params.roleId),
  );
  app.patch(
    '/api/v1/tenants/:tenant/roles/:roleId',
    {
      config: { permission: 'Users.Edit', answer: roleView, problems: [409] },
      schema: {
        params: roleParams,
        body: rolePatch,
        description:
          'Renames a custom role or replaces its permissions; its users and groups keep it and get what it now grants. 409 for a built-in role or a name another role has (ignoring case).',
      },
    },
    async (request) => {
      if (request.body.permissions) {
        assertHeld(request, new Set(request.body.permissions), 'This role would grant');
        // Its holders lose what it grants now: as deleting it, only by one who holds them all.
        await assertRoleHeld(db, request, tenantOf(request).id, request.params.roleId);
      }
      return updateRole(db, tenantOf(request).id, request.params.roleId, request.body, stillSelfOr(request, undefined, 'Users.Edit'));
    },
  );
  app.delete(
    '/api/v1/tenants/:tenant/roles/:roleId',
    {
      config: { ...deletes, problems: [409] },
      schema: { params: roleParams, description: 'Deletes a custom role; its users and groups lose it. 409 for a built-in role.' },
    },
    async (request, reply) => {
      const tenantId = tenantOf(request).id;
      // Its holders lose what it grants: as a change of its permissions, only by one who holds them all.
      await assertRoleHeld(db, request, tenantId, request.params.roleId);
      await deleteRole(db, tenantId, request.params.roleId, stillSelfOr(request, undefined, 'Users.Edit'));
      return reply.status(204).send();
    },
  );
};

function tenantsRoutes(app: TocsinApp, db: Db, clock: Clock, config: Config) {
  app.post(
    '/api/v1/tenants',
    { config: { access: 'host', problems: [409], created: true }, schema: { body: tenantInput, response: { 201: tenantView } } },
    async (request, reply) => replyCreated(request, reply, config, showTenant(await createTenant(db, request.body, clock))),
  );
  app.get('/api/v1/tenants', { config: { access: 'host', answer: listOf(tenantView) } }, async () => ({
    items: (await db.selectFrom('tenants').selectAll().orderBy(inCodePointOrder(db, 'name')).execute()).map(showTenant),
  }));
  app.get('/api/v1/tenants/:tenant', { config: { answer: tenantView }, schema: { params: tenantParams } }, async (request) => showTenant(tenantOf(request)));
  app.patch(
    '/api/v1/tenants/:tenant',
    { config: { access: 'host', answer: tenantView, problems: [409] }, schema: { params: tenantParams, body: tenantPatch } },
    async (request) => showTenant(await updateTenant(db, tenantOf(request), request.body, clock)),
  );
  app.delete('/api/v1/tenants/:tenant', { config: { access: 'host', status: 204 }, schema: { params: tenantParams } }, async (request, reply) => {
    if (!(await deleteTenant(db, tenantOf(request).id))) throw notFound('Tenant');
    return reply.status(204).send();
  });
}
