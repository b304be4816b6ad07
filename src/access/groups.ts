import { z } from 'zod';
import { type FieldError, conflict, fieldErrors, notFound } from '../http/problem.js';
import { GROUP_EMAIL_KINDS, type GroupEmailKind, addressOptOuts, setAddressOptOuts } from '../reports/unsubscribe/apply.js';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import { multiMap } from '../shared/multi-map.js';
import { acceptingAnswerFields, displayText, emailAddress, instantText, language } from '../shared/validation.js';
import type { Db } from '../storage/database.js';
import { byNameIgnoringCase, inCodePointOrder } from '../storage/text-order.js';
import { lockTransactionOn, onPostgres } from '../storage/transaction-lock.js';
import { type CallerMay, lockAccessChanges } from './access-changes.js';
import { checkedAgain, roleIdsOf, sameName } from './roles.js';
import type { MayGrant } from './users.js';

const groupFields = {
  name: displayText,
  email: emailAddress.nullable(),
  language: language.nullable(),
  members: z.array(z.string().max(100)).max(10_000).nullable(),
  roles: z.array(z.string().max(200)).max(50).nullable(),
  expandMembers: z.boolean().nullable(),
};

/** groupInput is the body of POST /groups. */
export const groupInput = z.object(groupFields).partial().required({ name: true }).strict();

/**
 * groupPatch is the body of PATCH /groups/{groupId}: left out keeps, null clears (no members, no
 * roles, not expanded, no opt-out). `unsubscribed` sets what its mailbox opted out of (see groupView).
 */
export const groupPatch = acceptingAnswerFields(
  z
    .object({
      ...groupFields,
      unsubscribed: z.array(z.enum(GROUP_EMAIL_KINDS)).max(10).nullable(),
    })
    .partial()
    .strict(),
  ['id', 'createdAt'],
);

/** groupView is a group as the API shows it. */
export const groupView = z.object({
  id: z.string(),
  name: z.string(),
  email: z.string().nullable(),
  language: z.string().nullable(),
  members: z.array(z.string()),
  roles: z.array(z.string()),
  expandMembers: z.boolean(),
  /** The emails its address opted out of through their one-click links, which stop until turned back on. */
  unsubscribed: z.array(z.enum(GROUP_EMAIL_KINDS)),
  createdAt: instantText,
});

type GroupView = z.infer<typeof groupView>;

/**
 * Group names are unique in the tenant, ignoring case (see sameName). The database's constraint
 * sees only the exact name, so this runs in saveGroup's transaction, under its lock.
 */
async function assertNameFree(db: Db, tenantId: string, name: string, exceptId?: string) {
  let q = db.selectFrom('groups').select('name').where('tenant_id', '=', tenantId);
  if (exceptId) q = q.where('id', '!=', exceptId);
  const names = (await q.execute()).map((g) => g.name);
  if (sameName(names, name)) throw conflict(`A group named "${name}" already exists.`, 'name');
}

/** Members must be users of the same tenant; each that is not is reported on `members.<index>` of the request. */
async function memberErrors(db: Db, tenantId: string, members: readonly string[]): Promise<FieldError[]> {
  if (members.length === 0) return [];
  const found = new Set(
    (
      await db
        .selectFrom('users')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('id', 'in', [...new Set(members)])
        .execute()
    ).map((r) => r.id),
  );
  return members.flatMap((id, index) => (found.has(id) ? [] : [{ path: `members.${index}`, message: `no user ${id} in this tenant` }]));
}

/** setUnsubscribed records a group's opt-outs against its address (as saved in the same transaction), which one without an address cannot have. */
async function setUnsubscribed(tx: Db, tenantId: string, groupId: string, kinds: readonly GroupEmailKind[], clock: Clock) {
  const email = (await tx.selectFrom('groups').select('email').where('tenant_id', '=', tenantId).where('id', '=', groupId).executeTakeFirst())?.email;
  if (email) await setAddressOptOuts(tx, tenantId, email, GROUP_EMAIL_KINDS, kinds, clock);
  else if (kinds.length > 0) throw fieldErrors([{ path: 'unsubscribed', message: 'a group without an email address receives no email to opt out of' }]);
}

/** saveGroup creates (no id) or patches a group, replacing members and roles when given (those `mayGrant` lets through, by id). */
export async function saveGroup(
  db: Db,
  tenantId: string,
  groupId: string | undefined,
  input: z.infer<typeof groupPatch>,
  clock: Clock,
  mayGrant?: MayGrant,
  callerMay?: CallerMay,
): Promise<string> {
  const members = input.members === undefined ? undefined : [...new Set(input.members ?? [])];
  const roles = input.roles === undefined ? undefined : await roleIdsOf(db, tenantId, input.roles ?? [], 'roles');
  const errors = [...(input.members ? await memberErrors(db, tenantId, input.members) : []), ...(roles?.errors ?? [])];
  if (errors.length > 0) throw fieldErrors(errors);
  const roleIds = roles?.ids;
  if (roleIds) await mayGrant?.(roleIds);
  const id = groupId ?? newId();
  const referencesNow = async () => [
    ...(input.members ? await memberErrors(db, tenantId, input.members) : []),
    ...(input.roles ? (await roleIdsOf(db, tenantId, input.roles, 'roles')).errors : []),
  ];
  await checkedAgain(
    db,
    tenantId,
    () =>
      db.transaction().execute(async (tx) => {
        // One writer of the tenant's groups at a time: "Ops" and "ops" sent at once make one group, not
        // two, and two PATCHes of the members (or roles) leave one list or the other, not both nor a 409.
        await lockAccessChanges(tx, tenantId, callerMay);
        await lockTransactionOn(tx, `groups:${tenantId}`);
        if (input.name !== undefined) await assertNameFree(tx, tenantId, input.name, groupId);
        if (groupId === undefined) {
          await tx
            .insertInto('groups')
            .values({
              id,
              tenant_id: tenantId,
              name: input.name ?? '',
              email: input.email ?? null,
              language: input.language ?? null,
              expand_members: input.expandMembers ? 1 : 0,
              created_at: clock.now(),
            })
            .execute();
        } else {
          const set = {
            ...(input.name !== undefined ? { name: input.name } : {}),
            ...(input.email !== undefined ? { email: input.email } : {}),
            ...(input.language !== undefined ? { language: input.language } : {}),
            ...(input.expandMembers !== undefined ? { expand_members: input.expandMembers ? 1 : 0 } : {}),
          };
          if (Object.keys(set).length > 0) {
            await tx.updateTable('groups').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
          }
        }
        if (members) {
          await tx.deleteFrom('group_members').where('group_id', '=', id).execute();
          if (members.length > 0) {
            await tx
              .insertInto('group_members')
              .values(members.map((user_id) => ({ group_id: id, user_id })))
              .execute();
          }
        }
        if (roleIds) {
          await tx.deleteFrom('group_roles').where('group_id', '=', id).execute();
          if (roleIds.length > 0) {
            await tx
              .insertInto('group_roles')
              .values(roleIds.map((role_id) => ({ group_id: id, role_id })))
              .execute();
          }
        }
        if (input.unsubscribed !== undefined) await setUnsubscribed(tx, tenantId, id, input.unsubscribed ?? [], clock);
      }),
    referencesNow,
  );
  return id;
}

/**
 * deleteGroup deletes a group of a tenant with all it owns; false when there was none. Its member
 * and role rows go first, then the group: the order of a PATCH replacing them (their rows, then
 * the group's key, locked by the foreign key's check). The group first, then its rows (the
 * cascade), deadlocked with such a PATCH on PostgreSQL (a 503).
 */
export async function deleteGroup(db: Db, tenantId: string, groupId: string, callerMay?: CallerMay): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    await lockAccessChanges(tx, tenantId, callerMay);
    // The group's row first, as a PATCH takes it when it also sets its name (or email, language):
    // its rows then, the deletion waited on that row while the PATCH waited on the rows it had taken.
    // FOR NO KEY UPDATE, not FOR UPDATE: a PATCH of the members alone writes them again meanwhile,
    // locking the group's key (FOR KEY SHARE), which that lock lets it take.
    const read = tx.selectFrom('groups').select('id').where('tenant_id', '=', tenantId).where('id', '=', groupId);
    const group = await (onPostgres(tx) ? read.forNoKeyUpdate() : read).executeTakeFirst();
    if (!group) return false;
    await tx.deleteFrom('group_members').where('group_id', '=', groupId).execute();
    await tx.deleteFrom('group_roles').where('group_id', '=', groupId).execute();
    const deleted = await tx.deleteFrom('groups').where('tenant_id', '=', tenantId).where('id', '=', groupId).executeTakeFirst();
    return Number(deleted.numDeletedRows) > 0;
  });
}

/** listGroups returns a tenant's groups (all, or one) with members and role names. */
export async function listGroups(db: Db, tenantId: string, groupId?: string): Promise<GroupView[]> {
  let q = db.selectFrom('groups').selectAll().where('tenant_id', '=', tenantId);
  if (groupId !== undefined) q = q.where('id', '=', groupId);
  const rows = byNameIgnoringCase(await q.execute(), (r) => r.name);
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  // By id: as stored, they came back in SQLite's index order and PostgreSQL's order of writing.
  const members = await db.selectFrom('group_members').selectAll().where('group_id', 'in', ids).orderBy(inCodePointOrder(db, 'user_id')).execute();
  const roles = await db
    .selectFrom('group_roles')
    .innerJoin('roles', 'roles.id', 'group_roles.role_id')
    .select(['group_roles.group_id', 'roles.name'])
    .where('group_roles.group_id', 'in', ids)
    .execute();
  const membersOf = multiMap(members.map((m) => [m.group_id, m.user_id]));
  const rolesOf = multiMap(roles.map((x) => [x.group_id, x.name]));
  const optOuts = await addressOptOuts(
    db,
    tenantId,
    rows.map((r) => r.email),
    GROUP_EMAIL_KINDS,
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    email: r.email,
    language: r.language,
    members: membersOf.get(r.id) ?? [],
    roles: byNameIgnoringCase(rolesOf.get(r.id) ?? [], (name) => name),
    expandMembers: r.expand_members === 1,
    unsubscribed: optOuts(r.email),
    createdAt: new Date(r.created_at).toISOString(),
  }));
}

/** requireGroup returns one group of a tenant, or throws 404 (also for another tenant's group). */
export async function requireGroup(db: Db, tenantId: string, groupId: string): Promise<GroupView> {
  const group = (await listGroups(db, tenantId, groupId))[0];
  if (!group) throw notFound('Group');
  return group;
}
