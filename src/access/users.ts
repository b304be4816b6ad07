import { z } from 'zod';
import { type HttpError, conflict, notFound } from '../http/problem.js';
import type { Clock } from '../shared/clock.js';
import { USER_OPT_OUT_KINDS, addressOptOuts, setAddressOptOuts } from '../reports/unsubscribe/apply.js';
import { newId } from '../shared/ids.js';
import { multiMap } from '../shared/multi-map.js';
import { acceptingAnswerFields, displayText, emailAddress, emailKey, emailKeys, instantText, language, timeZone } from '../shared/validation.js';
import type { Db } from '../storage/database.js';
import { changedColumns, sameMembers } from '../storage/changed-columns.js';
import { byNameIgnoringCase, inCodePointOrder } from '../storage/text-order.js';
import { type CallerMay, lockAccessChanges } from './access-changes.js';
import { hashPassword } from './passwords.js';
import { checkedAgain, resolveRoleIds, roleIdsOf } from './roles.js';
import type { AccessTables } from './tables.js';

type UserRow = AccessTables['users'];

/** consolePassword is a console password as the API takes it, set by an administrator or by its user. */
export const consolePassword = z.string().min(8, 'must be at least 8 characters').max(256);

/** userInput is the body of POST /users. */
export const userInput = z
  .object({
    email: emailAddress,
    name: displayText,
    language: language.nullable().optional(),
    timeZone: timeZone.nullable().optional(),
    password: consolePassword.nullish(),
    roles: z.array(z.string().max(200)).max(50).nullish(),
    active: z.boolean().nullish(),
  })
  .strict();

/**
 * userPatch is the body of PATCH /users/{userId}: left out keeps, null clears (no roles; `active`
 * back to its default, true; no opt-out). `unsubscribed` sets what its address opted out of (see userView).
 */
export const userPatch = acceptingAnswerFields(
  z
    .object({
      email: emailAddress,
      name: displayText,
      language: language.nullable(),
      timeZone: timeZone.nullable(),
      password: consolePassword.nullable(),
      roles: z.array(z.string().max(200)).max(50).nullable(),
      active: z.boolean().nullable(),
      unsubscribed: z.array(z.enum(USER_OPT_OUT_KINDS)).max(10).nullable(),
    })
    .partial()
    .strict(),
  ['id', 'hasPassword', 'groups', 'createdAt', 'updatedAt'],
);

/** userView is a user as the API shows it: never a password or its hash. */
export const userView = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  language: z.string().nullable(),
  timeZone: z.string().nullable(),
  active: z.boolean(),
  hasPassword: z.boolean(),
  roles: z.array(z.string()),
  groups: z.array(z.string()),
  /** The emails no preference holds (the mail-health notices) that its address opted out of through their one-click links, which stop until turned back on. */
  unsubscribed: z.array(z.enum(USER_OPT_OUT_KINDS)),
  createdAt: instantText,
  updatedAt: instantText,
});

/** UserView is a user as the API answers it (userView's shape). */
export type UserView = z.infer<typeof userView>;

async function assertEmailFree(db: Db, tenantId: string, email: string, exceptUserId?: string) {
  let query = db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('email_key', 'in', emailKeys(email));
  if (exceptUserId) query = query.where('id', '!=', exceptUserId);
  if (await query.executeTakeFirst()) throw emailTaken(email);
}

/** emailTaken is the 409 for an email another user of the tenant has. */
export function emailTaken(email: string): HttpError {
  return conflict(`A user with the email ${email} already exists.`, 'email');
}

/**
 * MayGrant refuses (throws) roles, by the ids a write resolved its names to, that the caller may not
 * grant: asked of the ids that are stored, so a role renamed after the names were checked cannot take
 * a checked name's place.
 */
export type MayGrant = (roleIds: readonly string[]) => Promise<void>;

/** createUser stores a user with its roles; the email is unique in the tenant, ignoring case and Unicode spelling, its domain in Unicode or punycode (emailKeys). */
export async function createUser(db: Db, tenantId: string, input: z.infer<typeof userInput>, clock: Clock, mayGrant?: MayGrant) {
  await assertEmailFree(db, tenantId, input.email);
  const roleIds = await resolveRoleIds(db, tenantId, input.roles ?? [], 'roles');
  await mayGrant?.(roleIds);
  const now = clock.now();
  const id = newId();
  const row: UserRow = {
    id,
    tenant_id: tenantId,
    email: input.email,
    email_key: emailKey(input.email),
    name: input.name,
    language: input.language ?? null,
    time_zone: input.timeZone ?? null,
    active: input.active === false ? 0 : 1,
    password_hash: input.password ? await hashPassword(input.password) : null,
    created_at: now,
    updated_at: now,
  };
  const rolesNow = async () => (await roleIdsOf(db, tenantId, input.roles ?? [], 'roles')).errors;
  await checkedAgain(
    db,
    tenantId,
    () =>
      db.transaction().execute(async (tx) => {
        await tx.insertInto('users').values(row).execute();
        if (roleIds.length > 0) {
          await tx
            .insertInto('user_roles')
            .values(roleIds.map((role_id) => ({ user_id: id, role_id })))
            .execute();
        }
      }),
    rolesNow,
  );
  return id;
}

/**
 * updateUser applies a patch; `roles`, when given, replaces the user's own roles, and
 * `unsubscribed` its address's opt-outs, against the address as saved by the same patch.
 */
export async function updateUser(
  db: Db,
  tenantId: string,
  userId: string,
  patch: z.infer<typeof userPatch>,
  clock: Clock,
  mayGrant?: MayGrant,
  callerMay?: CallerMay,
): Promise<void> {
  if (patch.email !== undefined) await assertEmailFree(db, tenantId, patch.email, userId);
  const roleIds = patch.roles === undefined ? undefined : await resolveRoleIds(db, tenantId, patch.roles ?? [], 'roles');
  if (roleIds) await mayGrant?.(roleIds);
  const passwordHash = patch.password === undefined ? undefined : patch.password === null ? null : await hashPassword(patch.password);
  const rolesNow = async () => (await roleIdsOf(db, tenantId, patch.roles ?? [], 'roles')).errors;
  const columns = {
    ...(patch.email !== undefined ? { email: patch.email, email_key: emailKey(patch.email) } : {}),
    ...(patch.name !== undefined ? { name: patch.name } : {}),
    ...(patch.language !== undefined ? { language: patch.language } : {}),
    ...(patch.timeZone !== undefined ? { time_zone: patch.timeZone } : {}),
    ...(patch.active !== undefined ? { active: patch.active === false ? 0 : 1 } : {}),
    ...(passwordHash !== undefined ? { password_hash: passwordHash } : {}),
  };
  // A PATCH with no field to set ({}, or a GET answer's read-only fields) changes nothing, updatedAt included.
  if (Object.keys(columns).length === 0 && roleIds === undefined && patch.unsubscribed === undefined) return;
  await checkedAgain(
    db,
    tenantId,
    () =>
      db.transaction().execute(async (tx) => {
        await lockAccessChanges(tx, tenantId, callerMay);
        const row = await tx.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', userId).executeTakeFirst();
        if (!row) throw notFound('User');
        // A field sent with its own value is no change (changedColumns): updatedAt moves only when one did.
        const changed = changedColumns(row, columns);
        const rolesChange = roleIds !== undefined && !sameMembers(roleIds, await ownRoleIds(tx, userId));
        const address = changed.email ?? row.email;
        const optOuts = patch.unsubscribed === undefined ? undefined : (patch.unsubscribed ?? []);
        const optOutsChange = optOuts !== undefined && !sameMembers(optOuts, (await addressOptOuts(tx, tenantId, [address], USER_OPT_OUT_KINDS))(address));
        if (Object.keys(changed).length === 0 && !rolesChange && !optOutsChange) return;
        const updated = await tx
          .updateTable('users')
          .set({ ...changed, updated_at: clock.now() })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', userId)
          .executeTakeFirst();
        // Deleted since the route found it (on PostgreSQL the update waited for the deletion's commit): the
        // 404 a moment later gives, not a 500 from reading its address for the opt-outs below.
        if (Number(updated.numUpdatedRows) === 0) throw notFound('User');
        if (rolesChange) {
          await tx.deleteFrom('user_roles').where('user_id', '=', userId).execute();
          if (roleIds.length > 0) {
            await tx
              .insertInto('user_roles')
              .values(roleIds.map((role_id) => ({ user_id: userId, role_id })))
              .execute();
          }
        }
        if (optOutsChange) await setAddressOptOuts(tx, tenantId, address, USER_OPT_OUT_KINDS, optOuts, clock);
      }),
    rolesNow,
  );
}

/** ownRoleIds are the ids of the roles given to a user itself (not through its groups). */
async function ownRoleIds(db: Db, userId: string): Promise<string[]> {
  return (await db.selectFrom('user_roles').select('role_id').where('user_id', '=', userId).execute()).map((r) => r.role_id);
}

/**
 * deleteUser deletes a user of a tenant with all it owns; false when there was none. Its group
 * memberships go first, then the user: the order of a PATCH replacing a group's members (their
 * rows, then the new members' keys, locked by the foreign key's check). The user first, then its
 * memberships (the cascade), deadlocked with such a PATCH on PostgreSQL (a 503).
 */
export async function deleteUser(db: Db, tenantId: string, userId: string, callerMay?: CallerMay): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    await lockAccessChanges(tx, tenantId, callerMay);
    const user = await tx.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('id', '=', userId).executeTakeFirst();
    if (!user) return false;
    await tx.deleteFrom('group_members').where('user_id', '=', userId).execute();
    const deleted = await tx.deleteFrom('users').where('tenant_id', '=', tenantId).where('id', '=', userId).executeTakeFirst();
    return Number(deleted.numDeletedRows) > 0;
  });
}

/** listUsers returns users of a tenant (all, or the given ids) as the API shows them, by email. */
export async function listUsers(db: Db, tenantId: string, ids?: readonly string[]): Promise<UserView[]> {
  let query = db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId);
  if (ids) {
    if (ids.length === 0) return [];
    query = query.where('id', 'in', [...ids]);
  }
  const rows = await query.orderBy(inCodePointOrder(db, 'email_key')).execute();
  if (rows.length === 0) return [];
  const userIds = rows.map((r) => r.id);
  const roles = await db
    .selectFrom('user_roles')
    .innerJoin('roles', 'roles.id', 'user_roles.role_id')
    .select(['user_roles.user_id', 'roles.name'])
    .where('user_roles.user_id', 'in', userIds)
    .execute();
  // By id: as stored, they came back in each engine's own order (an index's, or that of writing).
  const groups = await db
    .selectFrom('group_members')
    .select(['user_id', 'group_id'])
    .where('user_id', 'in', userIds)
    .orderBy(inCodePointOrder(db, 'group_id'))
    .execute();
  const rolesOf = multiMap(roles.map((x) => [x.user_id, x.name]));
  const groupsOf = multiMap(groups.map((x) => [x.user_id, x.group_id]));
  const optOuts = await addressOptOuts(
    db,
    tenantId,
    rows.map((r) => r.email),
    USER_OPT_OUT_KINDS,
  );
  return rows.map((r) => ({
    id: r.id,
    email: r.email,
    name: r.name,
    language: r.language,
    timeZone: r.time_zone,
    active: r.active === 1,
    hasPassword: r.password_hash !== null,
    roles: byNameIgnoringCase(rolesOf.get(r.id) ?? [], (name) => name),
    groups: groupsOf.get(r.id) ?? [],
    unsubscribed: optOuts(r.email),
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  }));
}

/** findUser returns one user of a tenant, or undefined (also for another tenant's user). */
export async function findUser(db: Db, tenantId: string, userId: string): Promise<UserView | undefined> {
  return (await listUsers(db, tenantId, [userId]))[0];
}

/** requireUser returns one user of a tenant, or throws 404 (also for another tenant's user). */
export async function requireUser(db: Db, tenantId: string, userId: string): Promise<UserView> {
  const user = await findUser(db, tenantId, userId);
  if (!user) throw notFound('User');
  return user;
}
