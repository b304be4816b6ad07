import { isPermission, type Permission } from '../access/permissions.js';
import type { EmailKind } from '../delivery/contract.js';
import { loadLayers } from '../preferences/store.js';
import type { Db } from '../storage/database.js';
import { type AccessFacts, type GroupFacts, type Recipient, type TenantFacts, groupRecipient, userRecipient } from './eligibility.js';
import { multiMap } from '../shared/multi-map.js';

/** RECIPIENT_PAGE_SIZE bounds how many users are in memory at once, whatever the tenant's size. */
export const RECIPIENT_PAGE_SIZE = 1000;

/** loadAccessFacts reads a tenant's roles and groups (few) once, for every page of users. */
export async function loadAccessFacts(db: Db, tenantId: string): Promise<AccessFacts> {
  const roles = await db.selectFrom('roles').select(['id', 'permissions']).where('tenant_id', '=', tenantId).execute();
  const rolePermissions = new Map<string, ReadonlySet<Permission>>(
    roles.map((r) => [r.id, new Set((JSON.parse(r.permissions) as string[]).filter(isPermission))]),
  );
  const groupRows = await db.selectFrom('groups').selectAll().where('tenant_id', '=', tenantId).orderBy('name').execute();
  const ids = groupRows.map((g) => g.id);
  const groupRoles = ids.length === 0 ? [] : await db.selectFrom('group_roles').select(['group_id', 'role_id']).where('group_id', 'in', ids).execute();
  const rolesOf = multiMap(groupRoles.map((r) => [r.group_id, r.role_id] as const));
  const rules = await loadLayers(db, 'group_alert_preferences', ids);
  const groups = new Map<string, GroupFacts>(
    groupRows.map((g) => [
      g.id,
      {
        id: g.id,
        name: g.name,
        email: g.email,
        language: g.language,
        expandMembers: g.expand_members === 1,
        roleIds: rolesOf.get(g.id) ?? [],
        rules: rules.get(g.id),
      },
    ]),
  );
  return { rolePermissions, groups };
}

/**
 * recipientPages yields every mailbox of a tenant that may receive alert emails: first the group
 * addresses, then the users a page at a time (five queries a page, never one per user), so memory
 * stays flat however many users the tenant has. Each address appears once.
 */
export async function* recipientPages(db: Db, tenant: TenantFacts & { id: string }, pageSize = RECIPIENT_PAGE_SIZE): AsyncGenerator<Recipient[]> {
  const facts = await loadAccessFacts(db, tenant.id);
  yield await groupRecipients(db, tenant, facts);
  let after = '';
  for (;;) {
    const users = await db
      .selectFrom('users')
      .select(['id', 'email', 'name', 'language', 'time_zone', 'active'])
      .where('tenant_id', '=', tenant.id)
      .where('id', '>', after)
      .orderBy('id')
      .limit(pageSize)
      .execute();
    if (users.length === 0) return;
    after = users[users.length - 1]!.id;
    const ids = users.map((u) => u.id);
    const [roles, memberships, own] = await Promise.all([
      db.selectFrom('user_roles').select(['user_id', 'role_id']).where('user_id', 'in', ids).execute(),
      db.selectFrom('group_members').select(['user_id', 'group_id']).where('user_id', 'in', ids).execute(),
      loadLayers(db, 'user_alert_preferences', ids),
    ]);
    const rolesOf = multiMap(roles.map((r) => [r.user_id, r.role_id] as const));
    const groupsOf = multiMap(memberships.map((m) => [m.user_id, m.group_id] as const));
    const page: Recipient[] = [];
    for (const u of users) {
      const recipient = userRecipient(
        {
          id: u.id,
          email: u.email,
          name: u.name,
          language: u.language,
          timeZone: u.time_zone,
          active: u.active === 1,
          roleIds: rolesOf.get(u.id) ?? [],
          groupIds: groupsOf.get(u.id) ?? [],
          own: own.get(u.id),
        },
        facts,
        tenant,
      );
      if (recipient) page.push(recipient);
    }
    yield page;
    // A short page was the last: no query to learn that the next one is empty.
    if (users.length < pageSize) return;
  }
}

async function groupRecipients(db: Db, tenant: TenantFacts & { id: string }, facts: AccessFacts): Promise<Recipient[]> {
  const addressed = [...facts.groups.values()].filter((g) => g.email && !g.expandMembers);
  if (addressed.length === 0) return [];
  const keys = addressed.map((g) => g.email!.toLowerCase());
  const [personal, optOuts] = await Promise.all([
    db.selectFrom('users').select('email_key').where('tenant_id', '=', tenant.id).where('email_key', 'in', keys).execute(),
    db.selectFrom('email_unsubscribes').select(['address_key', 'kind']).where('tenant_id', '=', tenant.id).where('address_key', 'in', keys).execute(),
  ]);
  const personalKeys = new Set(personal.map((p) => p.email_key));
  const optedOutOf = multiMap(optOuts.map((o) => [o.address_key, o.kind] as const));
  const seen = new Set<string>();
  const result: Recipient[] = [];
  for (const group of addressed) {
    const key = group.email!.toLowerCase();
    const recipient = groupRecipient(group, facts, tenant, {
      addressOfAUser: personalKeys.has(key),
      optedOut: new Set((optedOutOf.get(key) ?? []) as EmailKind[]),
    });
    // Two groups sharing one address: the first by name writes to it.
    if (recipient && !seen.has(key)) {
      seen.add(key);
      result.push(recipient);
    }
  }
  return result;
}
