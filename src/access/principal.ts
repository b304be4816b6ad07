import { CompiledQuery, sql } from 'kysely';
import type { Db } from '../storage/database.js';
import { serverPrepared } from '../storage/pg-prepared.js';
import { sqlOnce } from '../storage/sql-once.js';
import { type Permission, PERMISSIONS, isPermission } from './permissions.js';

/** Principal is who is calling: the host administrator, or a user of one tenant. */
export type Principal =
  | { readonly kind: 'host'; readonly permissions: ReadonlySet<Permission> }
  | {
      readonly kind: 'user';
      readonly tenantId: string;
      readonly userId: string;
      readonly email: string;
      readonly permissions: ReadonlySet<Permission>;
    };

/** HOST_PRINCIPAL is the host administrator, who holds every permission on every tenant. */
export const HOST_PRINCIPAL: Principal = Object.freeze({ kind: 'host', permissions: new Set(PERMISSIONS) });

/**
 * effectivePermissions unions the permissions of a user's own roles and of its groups' roles; an
 * inactive or deleted user has none. One statement: a late email's sender asks it of its
 * recipient, on the path of every Fatal email.
 */
export function effectivePermissions(db: Db, userId: string): Promise<Set<Permission>> {
  return rolePermissions(db, userId, { activeOnly: true });
}

/**
 * grantedPermissions is what a user of the tenant is granted through its roles and its groups',
 * active or not (a deactivated Administrator switched on again is an Administrator): none for a
 * user that is not the tenant's.
 */
export function grantedPermissions(db: Db, tenantId: string, userId: string): Promise<Set<Permission>> {
  return rolePermissions(db, userId, { activeOnly: false, tenantId });
}

async function rolePermissions(db: Db, userId: string, scope: { activeOnly: boolean; tenantId?: string }): Promise<Set<Permission>> {
  const { activeOnly, tenantId } = scope;
  let direct = db
    .selectFrom('user_roles')
    .innerJoin('users', 'users.id', 'user_roles.user_id')
    .innerJoin('roles', 'roles.id', 'user_roles.role_id')
    .select('roles.permissions')
    .where('user_roles.user_id', '=', userId);
  let viaGroups = db
    .selectFrom('group_members')
    .innerJoin('users', 'users.id', 'group_members.user_id')
    .innerJoin('group_roles', 'group_roles.group_id', 'group_members.group_id')
    .innerJoin('roles', 'roles.id', 'group_roles.role_id')
    .select('roles.permissions')
    .where('group_members.user_id', '=', userId);
  if (activeOnly) {
    direct = direct.where('users.active', '=', 1);
    viaGroups = viaGroups.where('users.active', '=', 1);
  }
  if (tenantId !== undefined) {
    direct = direct.where('users.tenant_id', '=', tenantId);
    viaGroups = viaGroups.where('users.tenant_id', '=', tenantId);
  }
  return permissionsOfRows(await direct.unionAll(viaGroups).execute());
}

/** permissionsOfRows unions the permissions of roles' rows (their JSON lists). */
export function permissionsOfRows(rows: readonly { permissions: string }[]): Set<Permission> {
  const result = new Set<Permission>();
  for (const row of rows) for (const p of rolePermissionsOf(row.permissions)) result.add(p);
  return result;
}

/**
 * rolePermissionsOf reads a role's permissions column (a JSON list), leaving out names this version
 * does not know: every reader of a role's permissions (a request's principal, a decision's
 * recipients, an email's action links) reads it so.
 */
export function rolePermissionsOf(column: string): Permission[] {
  return (JSON.parse(column) as string[]).filter(isPermission);
}

/**
 * userPrincipal loads an active user and its permissions, or undefined when inactive or gone. The
 * permissions are read first: a user (or its tenant) deleted between the two reads is then found
 * gone (401), where reading the user first made it a user without permissions (403).
 */
export async function userPrincipal(db: Db, userId: string): Promise<Principal | undefined> {
  const permissions = await effectivePermissions(db, userId);
  const user = await db.selectFrom('users').select(['id', 'tenant_id', 'email', 'active']).where('id', '=', userId).executeTakeFirst();
  if (user?.active !== 1) return undefined;
  return { kind: 'user', tenantId: user.tenant_id, userId: user.id, email: user.email, permissions };
}

/** TokenGrant is what an API token gives: its name and when it was made, and its user's principal (undefined when inactive). */
export interface TokenGrant {
  readonly name: string;
  readonly createdAt: number;
  readonly principal: Principal | undefined;
}

/** A row of tokenGrant's statement: the token and its user (permissions null), or one of its roles' permissions. */
interface TokenGrantRow {
  readonly user_id: string | null;
  readonly tenant_id: string | null;
  readonly email: string | null;
  readonly name: string | null;
  readonly created_at: number | null;
  readonly active: number | null;
  readonly permissions: string | null;
}

/**
 * heldRoleBranches are the two role branches of tokenGrant's and sessionGrant's statements: the
 * permissions of the user's own roles and of its groups' roles, that user found from the row of
 * `holder` whose `key` is the branch's one parameter (a unique index), so that every dialect
 * plans each as short index walks. `padding` names the null columns before `permissions`.
 */
function heldRoleBranches(db: Db, holder: 'api_tokens' | 'sessions', key: 'token_hash' | 'id_hash', padding: readonly string[]) {
  // Both holders have user_id and their unique key: typed as api_tokens' for Kysely, whose column names are static.
  const userId = `${holder}.user_id` as 'api_tokens.user_id';
  const keyColumn = `${holder}.${key}` as 'api_tokens.token_hash';
  const nulls = padding.map((name) => sql<null>`null`.as(name));
  const direct = db
    .selectFrom(holder as 'api_tokens')
    .innerJoin('user_roles', 'user_roles.user_id', userId)
    .innerJoin('roles', 'roles.id', 'user_roles.role_id')
    .select([...nulls, 'roles.permissions'])
    .where(keyColumn, '=', '');
  const viaGroups = db
    .selectFrom(holder as 'api_tokens')
    .innerJoin('group_members', 'group_members.user_id', userId)
    .innerJoin('group_roles', 'group_roles.group_id', 'group_members.group_id')
    .innerJoin('roles', 'roles.id', 'group_roles.role_id')
    .select([...nulls, 'roles.permissions'])
    .where(keyColumn, '=', '');
  return [direct, viaGroups] as const;
}

/**
 * tokenGrantSql is the one statement of tokenGrant: the token with its user, then the permissions
 * of the user's own roles and of its groups' roles (heldRoleBranches). Compiled once, taking the
 * hash three times.
 */
function tokenGrantSql(db: Db): string {
  return sqlOnce(db, 'tokenGrant', () => {
    const none = sql<null>`null`;
    const user = db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select(['users.id as user_id', 'users.tenant_id', 'users.email', 'api_tokens.name', 'api_tokens.created_at', 'users.active', none.as('permissions')])
      .where('api_tokens.token_hash', '=', '');
    const [direct, viaGroups] = heldRoleBranches(db, 'api_tokens', 'token_hash', ['user_id', 'tenant_id', 'email', 'name', 'created_at', 'active']);
    return user.unionAll(direct as never).unionAll(viaGroups as never);
  });
}

/**
 * tokenGrant reads a user's API token, its user and the user's permissions in one statement (the
 * cold check of every robot request once its token's principal is no longer kept: three statements
 * before, a token, permissions and user read one after the other), or undefined for an unknown
 * token. One statement also reads them at one moment: a user deleted or stripped of a role while
 * they were read is found as it was before or after, never half of each.
 */
export async function tokenGrant(db: Db, tokenHash: string): Promise<TokenGrant | undefined> {
  const { rows } = await db.executeQuery<TokenGrantRow>(CompiledQuery.raw(serverPrepared(tokenGrantSql(db)), [tokenHash, tokenHash, tokenHash]));
  return grantOfRows(rows);
}

/** grantOfRows builds a TokenGrant from tokenGrant's rows: none without the token's own row, no principal when its user is inactive. */
function grantOfRows(rows: readonly TokenGrantRow[]): TokenGrant | undefined {
  const token = rows.find((row) => row.permissions === null);
  if (!token || token.user_id === null || token.tenant_id === null || token.email === null || token.name === null || token.created_at === null)
    return undefined;
  return { name: token.name, createdAt: Number(token.created_at), principal: heldPrincipal(token.user_id, token, rows) };
}

/**
 * heldPrincipal is the principal of a token's or a session's user, from its statement's rows (the
 * user's, then its roles' with `permissions`): undefined when the user is gone or inactive.
 */
function heldPrincipal(
  userId: string,
  user: { readonly tenant_id: string | null; readonly email: string | null; readonly active: number | null },
  rows: readonly { readonly permissions: string | null }[],
): Principal | undefined {
  if (user.active !== 1 || user.tenant_id === null || user.email === null) return undefined;
  const roles = rows.flatMap((row) => (row.permissions === null ? [] : [{ permissions: row.permissions }]));
  return { kind: 'user', tenantId: user.tenant_id, userId, email: user.email, permissions: permissionsOfRows(roles) };
}

/** SessionGrant is what a live console session gives: its principal (undefined when its user is inactive or gone) and its CSRF token. */
export interface SessionGrant {
  readonly csrfToken: string;
  readonly principal: Principal | undefined;
}

/** A row of sessionGrant's statement: the session and its user (permissions null), or one of its roles' permissions. */
interface SessionGrantRow {
  readonly user_id: string | null;
  readonly tenant_id: string | null;
  readonly email: string | null;
  readonly active: number | null;
  readonly csrf_token: string | null;
  readonly permissions: string | null;
}

/**
 * sessionGrantSql is the one statement of sessionGrant: the live session with its user (none for
 * the host administrator's), then the permissions of the user's own roles and of its groups'
 * roles (heldRoleBranches). Compiled once; it takes the hash, the time, then the hash twice.
 */
function sessionGrantSql(db: Db): string {
  return sqlOnce(db, 'sessionGrant', () => {
    const none = sql<null>`null`;
    const session = db
      .selectFrom('sessions')
      .leftJoin('users', 'users.id', 'sessions.user_id')
      .select(['sessions.user_id', 'users.tenant_id', 'users.email', 'users.active', 'sessions.csrf_token', none.as('permissions')])
      .where('sessions.id_hash', '=', '')
      .where('sessions.expires_at', '>', 0);
    const [direct, viaGroups] = heldRoleBranches(db, 'sessions', 'id_hash', ['user_id', 'tenant_id', 'email', 'active', 'csrf_token']);
    return session.unionAll(direct as never).unionAll(viaGroups as never);
  });
}

/**
 * sessionGrant reads a console session that has not expired by `now`, its user and the user's
 * permissions in one statement (every console request's check: a session, the user's permissions
 * and the user were read one after the other), or undefined for no such session. A host
 * administrator's session (no user) gives HOST_PRINCIPAL.
 */
export async function sessionGrant(db: Db, idHash: string, now: number): Promise<SessionGrant | undefined> {
  const { rows } = await db.executeQuery<SessionGrantRow>(CompiledQuery.raw(serverPrepared(sessionGrantSql(db)), [idHash, now, idHash, idHash]));
  const session = rows.find((row) => row.permissions === null);
  if (!session || session.csrf_token === null) return undefined;
  const principal = session.user_id === null ? HOST_PRINCIPAL : heldPrincipal(session.user_id, session, rows);
  return { csrfToken: session.csrf_token, principal };
}
