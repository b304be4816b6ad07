import type { Kysely } from 'kysely';
import type { Database, Db } from '../storage/database.js';
import { notSearchable } from '../storage/not-searchable.js';
import { type ActionChannel, type Actor, recordAction } from './action-audit.js';

/** Acknowledgement is "I'm on it" for a flood: who, and when. */
export interface Acknowledgement {
  readonly by: Actor;
  readonly at: number;
}

/**
 * acknowledgeFlood marks a flood (its group id; a lone alert's own id) as acknowledged by the
 * actor and returns the flood's acknowledgement. The first one stands: a second person's click
 * changes nothing, so "acknowledged by NAME at TIME" names whoever took it on first.
 */
export async function acknowledgeFlood(db: Db, tenantId: string, groupId: string, actor: Actor, now: number): Promise<Acknowledgement> {
  await db
    .insertInto('alert_acknowledgements')
    .values({ tenant_id: tenantId, group_id: groupId, user_id: actor.userId, user_name: actor.name, acknowledged_at: now })
    .onConflict((oc) => oc.columns(['tenant_id', 'group_id']).doNothing())
    .execute();
  const found = (await acknowledgementsOf(db, tenantId, [groupId])).get(groupId);
  return found ?? { by: actor, at: now };
}

/** acknowledgementsOf reads the acknowledgements of some floods of a tenant, by group id. */
export async function acknowledgementsOf(db: Db, tenantId: string, groupIds: readonly string[]): Promise<Map<string, Acknowledgement>> {
  const unique = [...new Set(groupIds)];
  if (unique.length === 0) return new Map();
  const rows = await db.selectFrom('alert_acknowledgements').selectAll().where('tenant_id', '=', tenantId).where('group_id', 'in', unique).execute();
  return new Map(rows.map((r) => [r.group_id, acknowledgementFromRow(r)]));
}

/**
 * acknowledgementsOfAlerts reads, for some alerts of a tenant, the acknowledgement of the flood each
 * belongs to (its group id, or its own id for a flood's first alert), by alert id; alerts whose
 * flood nobody acknowledged are left out.
 */
export async function acknowledgementsOfAlerts(db: Db, tenantId: string, alertIds: readonly string[]): Promise<Map<string, Acknowledgement>> {
  const unique = [...new Set(alertIds)];
  if (unique.length === 0) return new Map();
  const rows = await db
    .selectFrom('alerts as a')
    .innerJoin('alert_acknowledgements as k', (join) =>
      join.onRef('k.tenant_id', '=', 'a.tenant_id').on((eb) => eb('k.group_id', '=', eb.fn.coalesce('a.group_id', 'a.id'))),
    )
    .select(['a.id', 'k.user_id', 'k.user_name', 'k.acknowledged_at'])
    // By the ids, the tenant only checked: searched by the tenant, SQLite walked all its alerts.
    .where(notSearchable('a.tenant_id'), '=', tenantId)
    .where('a.id', 'in', unique)
    .execute();
  return new Map(rows.map((r) => [r.id, acknowledgementFromRow(r)]));
}

/** acknowledgementFromRow reads a stored acknowledgement's who and when. */
export function acknowledgementFromRow(row: {
  readonly user_id: string;
  readonly user_name: string;
  readonly acknowledged_at: number | string;
}): Acknowledgement {
  return { by: { userId: row.user_id, name: row.user_name }, at: Number(row.acknowledged_at) };
}

/**
 * acknowledgeAlert acknowledges an alert's flood and records who did it, how and when in the
 * audit list, in one transaction: what the API route and an email's action link both do.
 */
export async function acknowledgeAlert(
  db: Kysely<Database>,
  tenantId: string,
  alert: { readonly id: string; readonly groupId: string },
  actor: Actor,
  via: ActionChannel,
  now: number,
): Promise<Acknowledgement> {
  return db.transaction().execute(async (tx) => {
    const result = await acknowledgeFlood(tx, tenantId, alert.groupId, actor, now);
    await recordAction(tx, tenantId, { actor, action: 'acknowledge', via, detail: { alertId: alert.id, groupId: alert.groupId }, at: now });
    return result;
  });
}
