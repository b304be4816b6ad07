import type { FastifyRequest } from 'fastify';
import { forbidden } from '../http/problem.js';
import type { Db } from '../storage/database.js';
import { type Permission, PERMISSIONS } from './permissions.js';
import { permissionsOfRows } from './principal.js';
import { nameKey } from './roles.js';

/**
 * No escalation: a holder of Users.Edit grants only what it holds itself. Without this, a user
 * given a custom role of Users.Edit alone made itself an Administrator (through its own roles, a
 * group of Administrators it joined, a role it wrote with every permission), or acted as one (it
 * set an Administrator's password, or made itself an API token of that Administrator). The host
 * administrator and the tenant's Administrators hold every permission: nothing changes for them.
 */

/** rolesPermissions is what the tenant's roles of these names grant (an unknown name grants nothing: it is a 400 later). */
export async function rolesPermissions(db: Db, tenantId: string, names: readonly string[] | null | undefined): Promise<Set<Permission>> {
  if (!names || names.length === 0) return new Set();
  const keys = new Set(names.map(nameKey));
  const rows = await db.selectFrom('roles').select(['name', 'permissions']).where('tenant_id', '=', tenantId).execute();
  return permissionsOfRows(rows.filter((row) => keys.has(nameKey(row.name))));
}

/** roleIdsPermissions is what the tenant's roles of these ids grant (an id not the tenant's grants nothing). */
export async function roleIdsPermissions(db: Db, tenantId: string, ids: readonly string[]): Promise<Set<Permission>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('roles')
    .select('permissions')
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', [...ids])
    .execute();
  return permissionsOfRows(rows);
}

/** groupPermissions is what a group of the tenant grants its members now (nothing for a group not the tenant's). */
export async function groupPermissions(db: Db, tenantId: string, groupId: string): Promise<Set<Permission>> {
  const rows = await db
    .selectFrom('group_roles')
    .innerJoin('groups', 'groups.id', 'group_roles.group_id')
    .innerJoin('roles', 'roles.id', 'group_roles.role_id')
    .select('roles.permissions')
    .where('groups.tenant_id', '=', tenantId)
    .where('group_roles.group_id', '=', groupId)
    .execute();
  return permissionsOfRows(rows);
}

/**
 * assertHeld refuses (403) what would grant a permission the caller lacks, or let it act as one
 * who holds it; `what` names the grantor ("These roles grant", "This user holds").
 */
export function assertHeld(request: FastifyRequest, permissions: ReadonlySet<Permission>, what: string): void {
  const held = request.principal?.permissions;
  const missing = PERMISSIONS.filter((p) => permissions.has(p) && !held?.has(p));
  if (missing.length > 0) throw forbidden(`${what} ${missing.join(', ')}, which you do not hold.`);
}
