import type { Clock } from '../shared/clock.js';
import type { Db } from '../storage/database.js';
import { holdTenantKey } from '../storage/transaction-lock.js';
import type { EmailChoice, PreferenceLayer, Preferences } from './model.js';
import type { PreferenceRow, PreferenceTables } from './tables.js';

/** PreferenceTable says whose layer a table holds: a user's own choices or a group's default rules. */
export type PreferenceTable = keyof PreferenceTables;

const CHOICE_COLUMNS = {
  tenMinuteSummary: 'ten_minute_summary',
  dailyReport: 'daily_report',
  fatalImmediately: 'fatal_immediately',
} as const satisfies Record<EmailChoice, keyof PreferenceRow>;

type ChoiceColumn = (typeof CHOICE_COLUMNS)[EmailChoice];

/** layerFromRow reads a stored row; a null column is a choice not made. */
export function layerFromRow(row: Pick<PreferenceRow, 'subscriptions' | ChoiceColumn>): PreferenceLayer {
  const email: Partial<Record<EmailChoice, boolean>> = {};
  for (const [choice, column] of Object.entries(CHOICE_COLUMNS) as [EmailChoice, ChoiceColumn][]) {
    const value = row[column];
    if (value !== null) email[choice] = value === 1;
  }
  return { subscriptions: JSON.parse(row.subscriptions) as Record<string, boolean>, email };
}

/** loadLayers reads the layers of many owners at once (absent owners set nothing). */
export async function loadLayers(db: Db, table: PreferenceTable, ownerIds: readonly string[]): Promise<Map<string, PreferenceLayer>> {
  const result = new Map<string, PreferenceLayer>();
  if (ownerIds.length === 0) return result;
  const rows = await db
    .selectFrom(table)
    .selectAll()
    .where('owner_id', 'in', [...ownerIds])
    .execute();
  for (const row of rows) result.set(row.owner_id, layerFromRow(row));
  return result;
}

/** saveLayer stores an owner's layer, replacing the previous one, in the caller's transaction. */
export async function saveLayer(db: Db, table: PreferenceTable, tenantId: string, ownerId: string, layer: PreferenceLayer, clock: Clock): Promise<void> {
  const values = {
    subscriptions: JSON.stringify(layer.subscriptions),
    ten_minute_summary: flag(layer.email.tenMinuteSummary),
    daily_report: flag(layer.email.dailyReport),
    fatal_immediately: flag(layer.email.fatalImmediately),
    updated_at: clock.now(),
  };
  // The tenant's key before the row, whose user and tenant keys the upsert checks in turn: holding the
  // user's, it waited on a tenant's deletion whose cascade waited on that user (PostgreSQL: a 503).
  await holdTenantKey(db, tenantId);
  await db
    .insertInto(table)
    .values({ owner_id: ownerId, tenant_id: tenantId, ...values })
    .onConflict((oc) => oc.column('owner_id').doUpdateSet(values))
    .execute();
}

function flag(value: boolean | undefined): number | null {
  return value === undefined ? null : value ? 1 : 0;
}

/** userPreferences loads what decides for one user: its own layer and its groups' layers. */
export async function userPreferences(db: Db, userId: string): Promise<Preferences> {
  return (await recipientsPreferences(db, [userId], [])).users.get(userId)!;
}

/**
 * recipientsPreferences loads what decides for many recipients at once, in at most three
 * statements whatever their number: for each user its own layer and its groups' layers, for each
 * group mailbox its group's own layer (a mailbox follows its group's rules alone). The emails of a
 * claim read their readers' preferences together so (reports/composers.ts), not two statements
 * each.
 */
export async function recipientsPreferences(
  db: Db,
  userIds: readonly string[],
  groupIds: readonly string[],
): Promise<{ users: Map<string, Preferences>; groups: Map<string, Preferences> }> {
  const own = await loadLayers(db, 'user_alert_preferences', userIds);
  const memberships =
    userIds.length === 0
      ? []
      : await db
          .selectFrom('group_members')
          .select(['user_id', 'group_id'])
          .where('user_id', 'in', [...userIds])
          .execute();
  const layers = await loadLayers(db, 'group_alert_preferences', [...new Set([...groupIds, ...memberships.map((m) => m.group_id)])]);
  const users = new Map<string, Preferences>(userIds.map((id) => [id, { own: own.get(id), groups: [] as PreferenceLayer[] }]));
  for (const { user_id, group_id } of memberships) {
    const layer = layers.get(group_id);
    if (layer) (users.get(user_id)!.groups as PreferenceLayer[]).push(layer);
  }
  return { users, groups: new Map(groupIds.map((id) => [id, { own: layers.get(id), groups: [] }])) };
}
