import { z } from 'zod';
import { type FieldError, conflict, fieldErrors } from '../http/problem.js';
import { newId } from '../shared/ids.js';
import { displayText } from '../shared/validation.js';
import type { Db } from '../storage/database.js';
import { inCodePointOrder } from '../storage/text-order.js';
import { lockTransactionOn } from '../storage/transaction-lock.js';
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

/** listRoles returns a tenant's roles, built-in ones first. */
export async function listRoles(db: Db, tenantId: string): Promise<z.infer<typeof roleView>[]> {
  const rows = await db
    .selectFrom('roles')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('built_in', 'desc')
    .orderBy(inCodePointOrder(db, 'name'))
    .execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    permissions: JSON.parse(r.permissions) as string[],
    builtIn: r.built_in === 1,
  }));
}

/**
 * nameKey is what two spellings of one name (a role's, a group's, a user's signing in by it) share:
 * trimmed, composed (NFC: an accent typed as its own combining character is the same letter) and
 * in lower case.
 */
export function nameKey(name: string): string {
  return name.trim().normalize('NFC').toLowerCase();
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
 * createRole stores a custom role; names are unique within the tenant, ignoring case. The database's
 * constraint sees only the exact name, so the check and the insert run under the tenant's lock on
 * role names: "Ops" and "ops" sent at once make one role, not two.
 */
export async function createRole(db: Db, tenantId: string, input: z.infer<typeof roleInput>) {
  const permissions = [...new Set(input.permissions)];
  const id = newId();
  await db.transaction().execute(async (tx) => {
    await lockTransactionOn(tx, `role-names:${tenantId}`);
    const names = (await tx.selectFrom('roles').select('name').where('tenant_id', '=', tenantId).execute()).map((r) => r.name);
    if (sameName(names, input.name)) throw conflict(`A role named "${input.name}" already exists.`, 'name');
    await tx
      .insertInto('roles')
      .values({ id, tenant_id: tenantId, name: input.name, permissions: JSON.stringify(permissions), built_in: 0 })
      .execute();
  });
  return { id, name: input.name, permissions, builtIn: false };
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
