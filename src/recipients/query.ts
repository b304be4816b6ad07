import type { Permission } from '../access/permissions.js';
import { rolePermissionsOf } from '../access/principal.js';
import type { EmailKind } from '../delivery/contract.js';
import type { AccessTables } from '../access/tables.js';
import type { PreferenceLayer } from '../preferences/model.js';
import { loadLayers } from '../preferences/store.js';
import type { Db } from '../storage/database.js';
import { byNameIgnoringCase } from '../storage/text-order.js';
import { type AccessFacts, type GroupFacts, type Recipient, type TenantFacts, type UserFacts, groupRecipient, userRecipient } from './eligibility.js';
import { multiMap } from '../shared/multi-map.js';
import { emailKey, emailKeys } from '../shared/validation.js';
import { optOutsUnder } from '../reports/unsubscribe/apply.js';

/** RECIPIENT_PAGE_SIZE bounds how many users are in memory at once, whatever the tenant's size. */
export const RECIPIENT_PAGE_SIZE = 1000;

/** RecipientTenant is a tenant whose recipients are read: its id and its fallbacks. */
export type RecipientTenant = TenantFacts & { readonly id: string };

/** loadAccessFacts reads a tenant's roles and groups (few) once, for every page of users. */
export async function loadAccessFacts(db: Db, tenantId: string): Promise<AccessFacts> {
  return (await loadAccessFactsOf(db, [tenantId])).get(tenantId)!;
}

/** loadAccessFactsOf is loadAccessFacts of many tenants by the same four queries; every id asked for is in the answer. */
async function loadAccessFactsOf(db: Db, tenantIds: readonly string[]): Promise<Map<string, AccessFacts>> {
  if (tenantIds.length === 0) return new Map();
  const roles = await db.selectFrom('roles').select(['id', 'tenant_id', 'permissions']).where('tenant_id', 'in', tenantIds).execute();
  // In GET /groups' order: the first by name writes to an address two groups share.
  const groups = byNameIgnoringCase(await db.selectFrom('groups').selectAll().where('tenant_id', 'in', tenantIds).execute(), (g) => g.name);
  const ids = groups.map((g) => g.id);
  const groupRoles = ids.length === 0 ? [] : await db.selectFrom('group_roles').select(['group_id', 'role_id']).where('group_id', 'in', ids).execute();
  const rules = await loadLayers(db, 'group_alert_preferences', ids);
  return accessFactsFrom(tenantIds, { roles, groups, groupRoles, rules });
}

/** AccessRows are the rows AccessFacts are made of, however they were read; groups come ordered by name. */
export interface AccessRows {
  readonly roles: readonly { readonly id: string; readonly tenant_id: string; readonly permissions: string }[];
  readonly groups: readonly Pick<AccessTables['groups'], 'id' | 'tenant_id' | 'name' | 'email' | 'language' | 'expand_members'>[];
  readonly groupRoles: readonly { readonly group_id: string; readonly role_id: string }[];
  readonly rules: ReadonlyMap<string, PreferenceLayer>;
}

/** accessFactsFrom makes the AccessFacts of some tenants from their rows; every id asked for is in the answer. */
export function accessFactsFrom(tenantIds: readonly string[], rows: AccessRows): Map<string, AccessFacts> {
  const rolesOf = multiMap(rows.groupRoles.map((r) => [r.group_id, r.role_id] as const));
  const rolesByTenant = multiMap(rows.roles.map((r) => [r.tenant_id, r] as const));
  const groupsByTenant = multiMap(rows.groups.map((g) => [g.tenant_id, g] as const));
  return new Map(
    tenantIds.map((tenantId) => {
      const rolePermissions = new Map<string, ReadonlySet<Permission>>(
        (rolesByTenant.get(tenantId) ?? []).map((r) => [r.id, new Set(rolePermissionsOf(r.permissions))]),
      );
      const groups = new Map<string, GroupFacts>(
        (groupsByTenant.get(tenantId) ?? []).map((g) => [
          g.id,
          {
            id: g.id,
            name: g.name,
            email: g.email,
            language: g.language,
            expandMembers: g.expand_members === 1,
            roleIds: rolesOf.get(g.id) ?? [],
            rules: rows.rules.get(g.id),
          },
        ]),
      );
      return [tenantId, { rolePermissions, groups }] as const;
    }),
  );
}

/** UserRows are a page of users with their roles, groups and own preferences, however they were read. */
export interface UserRows {
  readonly users: readonly {
    readonly id: string;
    readonly tenant_id: string;
    readonly email: string;
    readonly name: string;
    readonly language: string | null;
    readonly time_zone: string | null;
    readonly active: number;
  }[];
  readonly roles: readonly { readonly user_id: string; readonly role_id: string }[];
  readonly memberships: readonly { readonly user_id: string; readonly group_id: string }[];
  readonly own: ReadonlyMap<string, PreferenceLayer>;
}

/**
 * userRecipientsFrom makes the recipients among a page of users (userRecipient, over their
 * userFactsFrom), by tenant in the users' order; `facts` and `tenants` hold every tenant of the page.
 */
export function userRecipientsFrom(
  users: readonly (UserFacts & { readonly tenantId: string })[],
  facts: ReadonlyMap<string, AccessFacts>,
  tenants: ReadonlyMap<string, RecipientTenant>,
): Map<string, Recipient[]> {
  const page: (readonly [string, Recipient])[] = [];
  for (const user of users) {
    const recipient = userRecipient(user, facts.get(user.tenantId)!, tenants.get(user.tenantId)!);
    if (recipient) page.push([user.tenantId, recipient]);
  }
  return multiMap(page);
}

/** userFactsFrom makes the UserFacts of a page of users (with each one's tenant), in the users' order. */
export function userFactsFrom(rows: UserRows): (UserFacts & { readonly tenantId: string })[] {
  const rolesOf = multiMap(rows.roles.map((r) => [r.user_id, r.role_id] as const));
  const groupsOf = multiMap(rows.memberships.map((m) => [m.user_id, m.group_id] as const));
  return rows.users.map((u) => ({
    tenantId: u.tenant_id,
    id: u.id,
    email: u.email,
    name: u.name,
    language: u.language,
    timeZone: u.time_zone,
    active: u.active === 1,
    roleIds: rolesOf.get(u.id) ?? [],
    groupIds: groupsOf.get(u.id) ?? [],
    own: rows.own.get(u.id),
  }));
}

/**
 * recipientPages yields every mailbox of a tenant that may receive alert emails: first the group
 * addresses, then the users a page at a time (five queries a page, never one per user), so memory
 * stays flat however many users the tenant has. Each address appears once.
 */
export async function* recipientPages(db: Db, tenant: RecipientTenant, pageSize = RECIPIENT_PAGE_SIZE): AsyncGenerator<Recipient[]> {
  for await (const page of recipientPagesOf(db, [tenant], pageSize)) yield page.get(tenant.id) ?? [];
}

/**
 * recipientPagesOf is recipientPages of many tenants at once, by the same queries: each page maps
 * a tenant to its recipients in it (first every tenant's group addresses, then pages of at most
 * `pageSize` users across the tenants, in tenant order), so deciding many small tenants together
 * costs a few queries, not a few per tenant.
 */
export async function* recipientPagesOf(db: Db, tenants: readonly RecipientTenant[], pageSize = RECIPIENT_PAGE_SIZE): AsyncGenerator<Map<string, Recipient[]>> {
  if (tenants.length === 0) return;
  const ids = tenants.map((t) => t.id);
  const byId = new Map(tenants.map((t) => [t.id, t]));
  const facts = await loadAccessFactsOf(db, ids);
  yield await groupRecipients(db, tenants, facts);
  let after: readonly [string, string] | undefined;
  for (;;) {
    const users = await db
      .selectFrom('users')
      .select(['id', 'tenant_id', 'email', 'name', 'language', 'time_zone', 'active'])
      .where('tenant_id', 'in', ids)
      .$if(after !== undefined, (q) => q.where((eb) => eb(eb.refTuple('tenant_id', 'id'), '>', eb.tuple(after![0], after![1]))))
      .orderBy('tenant_id')
      .orderBy('id')
      .limit(pageSize)
      .execute();
    if (users.length === 0) return;
    const last = users[users.length - 1]!;
    after = [last.tenant_id, last.id];
    const userIds = users.map((u) => u.id);
    const [roles, memberships, own] = await Promise.all([
      db.selectFrom('user_roles').select(['user_id', 'role_id']).where('user_id', 'in', userIds).execute(),
      db.selectFrom('group_members').select(['user_id', 'group_id']).where('user_id', 'in', userIds).execute(),
      loadLayers(db, 'user_alert_preferences', userIds),
    ]);
    yield userRecipientsFrom(userFactsFrom({ users, roles, memberships, own }), facts, byId);
    // A short page was the last: no query to learn that the next one is empty.
    if (users.length < pageSize) return;
  }
}

/**
 * groupRecipients lists the recipients among the tenants' group addresses (groupRecipient): two
 * queries (one when the caller gives the tenants' user recipients, `readers`, already made), three
 * more when users have those addresses, none when no group of theirs has an address of its own.
 */
export async function groupRecipients(
  db: Db,
  tenants: readonly RecipientTenant[],
  facts: ReadonlyMap<string, AccessFacts>,
  readers?: ReadonlyMap<string, readonly Recipient[]>,
): Promise<Map<string, Recipient[]>> {
  const addressed = tenants.flatMap((tenant) =>
    [...facts.get(tenant.id)!.groups.values()].filter((g) => g.email && !g.expandMembers).map((group) => ({ tenant, group })),
  );
  if (addressed.length === 0) return new Map();
  const tenantIds = [...new Set(addressed.map((a) => a.tenant.id))];
  // Users and opt-outs are kept by emailKey, under which a mailbox is one whatever the spelling of its
  // domain (Unicode or punycode), and so is a group's here (opt-outs recorded before under the lower case: optOutsUnder).
  const keys = [...new Set(addressed.flatMap((a) => emailKeys(a.group.email!)))];
  const [personal, optOuts] = await Promise.all([
    readers ?? readersAt(db, tenants, facts, [...new Set(addressed.flatMap((a) => emailKeys(a.group.email!)))]),
    db
      .selectFrom('email_unsubscribes')
      .select(['tenant_id', 'address_key', 'kind'])
      .where('tenant_id', 'in', tenantIds)
      .where('address_key', 'in', keys)
      .execute(),
  ]);
  // Only a user who receives alert emails at that address takes it from the group: an inactive
  // user, or one without Alerts.View (a console account of the team mailbox), would leave it with none.
  const personalKeys = new Set<string>();
  for (const [tenantId, users] of personal) for (const user of users) personalKeys.add(`${tenantId}\n${emailKey(user.address)}`);
  const optedOutOf = multiMap<string, string>(optOuts.map((o) => [`${o.tenant_id}\n${o.address_key}`, o.kind] as const));
  const seen = new Set<string>();
  const result: (readonly [string, Recipient])[] = [];
  for (const { tenant, group } of addressed) {
    const key = `${tenant.id}\n${emailKey(group.email!)}`;
    const recipient = groupRecipient(group, facts.get(tenant.id)!, tenant, {
      addressOfAReader: personalKeys.has(key),
      optedOut: new Set(optOutsUnder((address) => optedOutOf.get(`${tenant.id}\n${address}`), group.email!) as EmailKind[]),
    });
    // Two groups sharing one address: the first by name writes to it.
    if (recipient && !seen.has(key)) {
      seen.add(key);
      result.push([tenant.id, recipient]);
    }
  }
  return multiMap(result);
}

/** readersAt makes the user recipients (userRecipient) whose address is stored under one of `keys` (emailKeys), by tenant. */
async function readersAt(db: Db, tenants: readonly RecipientTenant[], facts: ReadonlyMap<string, AccessFacts>, keys: readonly string[]) {
  const users = await db
    .selectFrom('users')
    .select(['id', 'tenant_id', 'email', 'name', 'language', 'time_zone', 'active'])
    .where('tenant_id', 'in', [...facts.keys()])
    .where('email_key', 'in', [...keys])
    .execute();
  if (users.length === 0) return new Map<string, Recipient[]>();
  const userIds = users.map((u) => u.id);
  const [roles, memberships] = await Promise.all([
    db.selectFrom('user_roles').select(['user_id', 'role_id']).where('user_id', 'in', userIds).execute(),
    db.selectFrom('group_members').select(['user_id', 'group_id']).where('user_id', 'in', userIds).execute(),
  ]);
  return userRecipientsFrom(userFactsFrom({ users, roles, memberships, own: new Map() }), facts, new Map(tenants.map((t) => [t.id, t])));
}
