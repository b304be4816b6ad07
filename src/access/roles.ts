import { z } from 'zod';
import { type FieldError, conflict, fieldErrors, notFound } from '../http/problem.js';
import { newId } from '../shared/ids.js';
import { acceptingAnswerFields, displayText } from '../shared/validation.js';
import type { Db } from '../storage/database.js';
import { classifyDbError } from '../storage/errors.js';
import { byNameIgnoringCase } from '../storage/text-order.js';
import { lockTransactionOn } from '../storage/transaction-lock.js';
import { type CallerMay, lockAccessChanges } from './access-changes.js';
import { PERMISSIONS } from './permissions.js';

/** roleInput is the body of POST /roles. */
export const roleInput = z
  .object({
    name: displayText,
    // The unknown one is named, as an unknown role is: a list of the ten names alone hid which was mistyped.
    permissions: z
      .array(z.enum(PERMISSIONS, { error: (issue) => `no permission named ${JSON.stringify(issue.input)}; the permissions are ${PERMISSIONS.join(', ')}` }))
      // A permission named twice is granted once (createRole), so the bound is not the ten: all ten
      // and one of them again is a fine list.
      .max(100),
  })
  .strict();

/** roleView is a role as the API shows it. */
export const roleView = z.object({
  id: z.string(),
  name: z.string(),
  permissions: z.array(z.string()),
  builtIn: z.boolean(),
});

/** listRoles returns a tenant's roles, built-in ones first; with `roleId`, only that one (if it is the tenant's). */
export async function listRoles(db: Db, tenantId: string, roleId?: string): Promise<RoleView[]> {
  let query = db.selectFrom('roles').selectAll().where('tenant_id', '=', tenantId);
  if (roleId !== undefined) query = query.where('id', '=', roleId);
  // Built-in first, each part by name (sort is stable).
  const rows = byNameIgnoringCase(await query.execute(), (r) => r.name).sort((a, b) => b.built_in - a.built_in);
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    permissions: JSON.parse(r.permissions) as string[],
    builtIn: r.built_in === 1,
  }));
}

/**
 * nameKey is what two spellings of one name (a role's, a group's, a user's signing in by it) share:
 * without the characters that show nothing (a zero-width space, a soft hyphen, a byte order mark:
 * "Alerts Viewer" with one read as the built-in role in every list), trimmed, composed (NFC: an
 * accent typed as its own combining character is the same letter) and in lower case.
 */
export function nameKey(name: string): string {
  return name
    .replace(/\p{Default_Ignorable_Code_Point}/gu, '')
    .trim()
    .normalize('NFC')
    .toLowerCase();
}

/**
 * sameName tells whether a name is taken among `names`, ignoring case and how its accents were
 * typed: "administrator" beside the built-in "Administrator" (or "ops" beside "Ops") reads as the
 * same thing in every list and picker. Compared here, not in SQL, where SQLite folds the case of
 * ASCII letters only.
 */
export function sameName(names: readonly string[], name: string): boolean {
  const key = nameKey(name);
  return names.some((n) => nameKey(n) === key);
}

/**
 * rolePatch is the body of PATCH /roles/{roleId}: a field left out keeps its value; neither may be
 * cleared. The answer's read-only fields may come back with it (a role read, changed, sent back).
 */
export const rolePatch = acceptingAnswerFields(roleInput.partial(), ['id', 'builtIn']);

/** RoleView is a role as the API shows it. */
export type RoleView = z.infer<typeof roleView>;

/**
 * assertRoleNameFree refuses (409) a name another role of the tenant has, ignoring case. The
 * database's constraint sees only the exact name, so callers hold the tenant's lock on role names
 * (lockRoleNames) from this check to their write: "Ops" and "ops" sent at once make one role, not two.
 */
async function assertRoleNameFree(tx: Db, tenantId: string, name: string, exceptId?: string) {
  let query = tx.selectFrom('roles').select('name').where('tenant_id', '=', tenantId);
  if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
  const names = (await query.execute()).map((r) => r.name);
  if (sameName(names, name)) throw conflict(`A role named "${name}" already exists.`, 'name');
}

const lockRoleNames = (tx: Db, tenantId: string) => lockTransactionOn(tx, `role-names:${tenantId}`);

/** createRole stores a custom role; names are unique within the tenant, ignoring case. */
export async function createRole(db: Db, tenantId: string, input: z.infer<typeof roleInput>): Promise<RoleView> {
  const permissions = [...new Set(input.permissions)];
  const id = newId();
  await db.transaction().execute(async (tx) => {
    await lockRoleNames(tx, tenantId);
    await assertRoleNameFree(tx, tenantId, input.name);
    await tx
      .insertInto('roles')
      .values({ id, tenant_id: tenantId, name: input.name, permissions: JSON.stringify(permissions), built_in: 0 })
      .execute();
  });
  return { id, name: input.name, permissions, builtIn: false };
}

/** requireRole returns one role of a tenant, or throws 404 (also for another tenant's role). */
export async function requireRole(db: Db, tenantId: string, roleId: string): Promise<RoleView> {
  const role = (await listRoles(db, tenantId, roleId))[0];
  if (!role) throw notFound('Role');
  return role;
}

/**
 * customRole reads a role about to be changed or deleted: 404 when the tenant has none of that id,
 * 409 for a built-in one, which every tenant has as API.md lists it (its holders keep what it grants).
 */
async function customRole(tx: Db, tenantId: string, roleId: string): Promise<RoleView> {
  const role = await requireRole(tx, tenantId, roleId);
  if (role.builtIn) throw conflict(`The built-in role "${role.name}" cannot be changed or deleted; create a custom role instead.`);
  return role;
}

/**
 * updateRole renames a custom role or replaces its permissions; its holders, users and groups, hold
 * it by id, so they keep it under its new name and get its new permissions.
 */
export async function updateRole(db: Db, tenantId: string, roleId: string, patch: z.infer<typeof rolePatch>, callerMay?: CallerMay): Promise<RoleView> {
  return db.transaction().execute(async (tx) => {
    await lockAccessChanges(tx, tenantId, callerMay);
    await lockRoleNames(tx, tenantId);
    const role = await customRole(tx, tenantId, roleId);
    if (patch.name !== undefined) await assertRoleNameFree(tx, tenantId, patch.name, roleId);
    const permissions = patch.permissions === undefined ? role.permissions : [...new Set(patch.permissions)];
    const name = patch.name ?? role.name;
    const updated = await tx
      .updateTable('roles')
      .set({ name, permissions: JSON.stringify(permissions) })
      .where('id', '=', roleId)
      .executeTakeFirst();
    // Deleted since it was read (PostgreSQL: the update waited on that deletion): gone, as when deleted before.
    if (Number(updated.numUpdatedRows) === 0) throw notFound('Role');
    return { ...role, name, permissions };
  });
}

/** deleteRole deletes a custom role; the users and groups holding it lose it (and what it granted) with it. */
export async function deleteRole(db: Db, tenantId: string, roleId: string, callerMay?: CallerMay): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await lockAccessChanges(tx, tenantId, callerMay);
    await customRole(tx, tenantId, roleId);
    // Its holders' rows first, then the role: the order of a write replacing a user's or group's
    // roles (their rows, then the new roles' keys, locked by the foreign key's check). The role
    // first, then its rows (the cascade), deadlocked with such a write on PostgreSQL (a 503).
    await tx.deleteFrom('user_roles').where('role_id', '=', roleId).execute();
    await tx.deleteFrom('group_roles').where('role_id', '=', roleId).execute();
    // The rows written since go with it (ON DELETE CASCADE). None deleted: another request deleted it since it was read.
    const deleted = await tx.deleteFrom('roles').where('id', '=', roleId).executeTakeFirst();
    if (Number(deleted.numDeletedRows) === 0) throw notFound('Role');
  });
}

/**
 * resolveRoleIds maps role names (in any case) to the tenant's role ids, each once (a name given
 * twice grants it once); every unknown name is a 400 on `<field>.<index>`, so a typo never silently grants nothing.
 */
export async function resolveRoleIds(db: Db, tenantId: string, names: readonly string[], field: string) {
  const { ids, errors } = await roleIdsOf(db, tenantId, names, field);
  if (errors.length > 0) throw fieldErrors(errors);
  return ids;
}

/**
 * checkedAgain runs `write`, which stores references checked before it (roles by name, group
 * members): when the database refuses it because one of them was deleted meanwhile (PostgreSQL,
 * where the deletion commits between the check and the write; it answered the generic 409), it is
 * answered as `check` answers now, the 400 naming the field, as SQLite (one writer at a time) and
 * the same request a moment later answer it. With no such error now (the tenant, the user or the
 * group of the path went instead), the refusal stays, for the error handler's 404 (goneMeanwhile).
 */
export async function checkedAgain<T>(db: Db, tenantId: string, write: () => Promise<T>, check: () => Promise<readonly FieldError[]>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (classifyDbError(err) !== 'foreign-key') throw err;
    const tenant = await db.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst();
    const errors = tenant ? await check() : [];
    if (errors.length > 0) throw fieldErrors(errors);
    throw err;
  }
}

/** roleIdsOf is resolveRoleIds that returns the unknown names' errors instead of throwing them. */
export async function roleIdsOf(db: Db, tenantId: string, names: readonly string[], field: string): Promise<{ ids: string[]; errors: FieldError[] }> {
  if (names.length === 0) return { ids: [], errors: [] };
  // Names are unique ignoring case and stored trimmed (createRole), so `administrator` or ` Robot ` names one role.
  const rows = await db.selectFrom('roles').select(['id', 'name']).where('tenant_id', '=', tenantId).execute();
  const byName = new Map(rows.map((r) => [nameKey(r.name), r.id]));
  const ids = new Set<string>();
  const errors: FieldError[] = [];
  names.forEach((name, index) => {
    const id = byName.get(nameKey(name));
    if (id) ids.add(id);
    else errors.push({ path: `${field}.${index}`, message: `no role named "${name}" in this tenant` });
  });
  return { ids: [...ids], errors };
}
