import type { Permission } from '../access/permissions.js';
import type { EmailKind } from '../delivery/contract.js';
import { DEFAULT_LANGUAGE, LANGUAGES, type Language } from '../i18n/languages.js';
import { EMAIL_CHOICE_OF, NO_PREFERENCES, type PreferenceLayer, type Preferences, wantsEmail } from '../preferences/model.js';
import { firstKnownZone } from '../shared/validation.js';

/** Recipient is one mailbox that may receive alert emails, with how to write to it. */
export interface Recipient {
  /** A user, or a group's own address (a group that is not expanded to its members). */
  readonly type: 'user' | 'group';
  readonly id: string;
  readonly address: string;
  readonly name: string;
  readonly language: Language;
  readonly timeZone: string;
  readonly preferences: Preferences;
  /** Kinds of email this mailbox unsubscribed from by its one-click link (group mailboxes). */
  readonly optedOut: ReadonlySet<EmailKind>;
}

/** TenantFacts are the tenant's fallbacks for language and time zone. */
export interface TenantFacts {
  readonly language: string;
  readonly timeZone: string;
}

/** UserFacts are what decides whether and how a user is written to. */
export interface UserFacts {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly language: string | null;
  readonly timeZone: string | null;
  readonly active: boolean;
  readonly roleIds: readonly string[];
  readonly groupIds: readonly string[];
  readonly own: PreferenceLayer | undefined;
}

/** GroupFacts are what decides whether and how a group's own address is written to. */
export interface GroupFacts {
  readonly id: string;
  readonly name: string;
  readonly email: string | null;
  readonly language: string | null;
  readonly expandMembers: boolean;
  readonly roleIds: readonly string[];
  readonly rules: PreferenceLayer | undefined;
}

/** AccessFacts are the tenant's roles (id → permissions) and groups, loaded once per tenant. */
export interface AccessFacts {
  readonly rolePermissions: ReadonlyMap<string, ReadonlySet<Permission>>;
  readonly groups: ReadonlyMap<string, GroupFacts>;
}

const VIEW: Permission = 'Alerts.View';

function grantsView(facts: AccessFacts, roleIds: readonly string[]): boolean {
  return roleIds.some((id) => facts.rolePermissions.get(id)?.has(VIEW));
}

/**
 * userPermissions is what a user may do now, from its tenant's facts loaded in bulk: nothing while
 * inactive, else the permissions of its own roles and of its groups' roles, as effectivePermissions
 * reads them from the database for one user.
 */
export function userPermissions(user: Pick<UserFacts, 'active' | 'roleIds' | 'groupIds'>, facts: AccessFacts): Set<Permission> {
  const result = new Set<Permission>();
  if (!user.active) return result;
  const roleIds = [...user.roleIds, ...user.groupIds.flatMap((id) => facts.groups.get(id)?.roleIds ?? [])];
  for (const id of roleIds) for (const p of facts.rolePermissions.get(id) ?? []) result.add(p);
  return result;
}

/** languageOf picks the first supported language of the candidates (recipient's, then tenant's). */
export function languageOf(...candidates: (string | null)[]): Language {
  for (const c of candidates) if (c && (LANGUAGES as readonly string[]).includes(c)) return c as Language;
  return DEFAULT_LANGUAGE;
}

/**
 * userRecipient decides whether a user may receive alert emails at all: active, with an address,
 * holding Alerts.View through its own roles or a group's (as effectivePermissions does, here on
 * facts loaded in bulk). Its preferences are its own choices over its groups' rules.
 */
export function userRecipient(user: UserFacts, facts: AccessFacts, tenant: TenantFacts): Recipient | undefined {
  if (!user.active || !user.email) return undefined;
  const groups = user.groupIds.map((id) => facts.groups.get(id)).filter((g): g is GroupFacts => g !== undefined);
  if (!grantsView(facts, user.roleIds) && !groups.some((g) => grantsView(facts, g.roleIds))) return undefined;
  return {
    type: 'user',
    id: user.id,
    address: user.email,
    name: user.name,
    language: languageOf(user.language, tenant.language),
    timeZone: firstKnownZone(user.timeZone, tenant.timeZone),
    preferences: { own: user.own, groups: groups.flatMap((g) => (g.rules ? [g.rules] : [])) },
    optedOut: new Set(),
  };
}

/** writesToGroupAddress tells whether a group's own address may get alert emails: it has one, is not expanded to its members, and holds Alerts.View. */
function writesToGroupAddress(group: GroupFacts, facts: AccessFacts): group is GroupFacts & { readonly email: string } {
  return Boolean(group.email) && !group.expandMembers && grantsView(facts, group.roleIds);
}

/**
 * groupRecipient decides whether a group's own address receives alert emails: it has one, is not
 * expanded to its members, holds Alerts.View, and no user of the tenant receives alert emails at
 * that address (`addressOfAReader`: the individual wins, so that address never gets two copies).
 * Its rules are its preferences; it writes in its own language.
 */
export function groupRecipient(
  group: GroupFacts,
  facts: AccessFacts,
  tenant: TenantFacts,
  context: { addressOfAReader: boolean; optedOut: ReadonlySet<EmailKind> },
): Recipient | undefined {
  if (context.addressOfAReader || !writesToGroupAddress(group, facts)) return undefined;
  return {
    type: 'group',
    id: group.id,
    address: group.email,
    name: group.name,
    language: languageOf(group.language, tenant.language),
    timeZone: tenant.timeZone,
    preferences: group.rules ? { own: group.rules, groups: [] } : NO_PREFERENCES,
    optedOut: context.optedOut,
  };
}

/** wantsKind says whether a recipient takes this kind of email (its choice, and no opt-out). */
export function wantsKind(recipient: Recipient, kind: EmailKind): boolean {
  const choice = EMAIL_CHOICE_OF[kind];
  if (!choice) return true;
  return !recipient.optedOut.has(kind) && wantsEmail(recipient.preferences, choice);
}
