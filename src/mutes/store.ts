import type { Actor } from '../alerts/action-audit.js';
import { newId } from '../shared/ids.js';
import { multiMap } from '../shared/multi-map.js';
import type { Db } from '../storage/database.js';
import { lockTransactionOn } from '../storage/transaction-lock.js';
import { MATCH_FIELDS, type Mute, type MuteMatch, type MuteScope, type WindowMute } from './model.js';
import type { MuteTables } from './tables.js';

/** muteFromRow reads a stored mute (the columns a mute is made of; the tenant and lifting are the query's). */
export function muteFromRow(row: Omit<MuteTables['alert_mutes'], 'tenant_id' | 'lifted_at'>): Mute {
  return {
    id: row.id,
    scope: row.scope as MuteScope,
    ownerId: row.owner_id,
    match: JSON.parse(row.match) as MuteMatch,
    until: Number(row.until),
    createdBy: { userId: row.created_by_id, name: row.created_by_name },
    createdAt: Number(row.created_at),
  };
}

/** NewMute is a mute to create; `ownerId` is the snoozing user of a `user` mute. */
export interface NewMute {
  readonly scope: MuteScope;
  readonly ownerId: string | null;
  readonly match: MuteMatch;
  readonly until: number;
}

/**
 * TENANT_MUTES_MAX is how many mutes and snoozes a tenant keeps in force at once: every alert of
 * the tenant is matched against all of them when its emails are decided and written, so a script
 * making them in a loop (20,000 in two minutes) slowed the storing of every Fatal alert tenfold,
 * and another tenant's behind it. Far more than people choose by hand.
 */
export const TENANT_MUTES_MAX = 1_000;

/** SNOOZES_PER_USER_MAX is how many snoozes one user keeps in force, so that one person cannot fill the tenant's room. */
export const SNOOZES_PER_USER_MAX = 100;

/**
 * mutesInForce counts a tenant's mutes and snoozes in force at `now`, and those of them that are
 * one user's snoozes (none asked for: 0).
 */
export async function mutesInForce(db: Db, tenantId: string, ownerId: string | null, now: number): Promise<{ tenant: number; owner: number }> {
  const row = await db
    .selectFrom('alert_mutes')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('tenant'),
      eb.fn
        .count<number | string>(
          eb
            .case()
            .when('owner_id', '=', ownerId ?? '')
            .then(1)
            .end(),
        )
        .as('owner'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('until', '>', now)
    .where('lifted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return { tenant: Number(row.tenant), owner: ownerId === null ? 0 : Number(row.owner) };
}

/** createMute stores a mute made by an actor now and returns it. */
export async function createMute(db: Db, tenantId: string, mute: NewMute, actor: Actor, now: number): Promise<Mute> {
  const row = {
    id: newId(),
    tenant_id: tenantId,
    scope: mute.scope,
    owner_id: mute.ownerId,
    match: JSON.stringify(mute.match),
    until: mute.until,
    created_by_id: actor.userId,
    created_by_name: actor.name,
    created_at: now,
    lifted_at: null,
  };
  await db.insertInto('alert_mutes').values(row).execute();
  return muteFromRow(row);
}

/**
 * activeMutes reads a tenant's mutes and snoozes in force at `now` (not lifted, not ended): what
 * deciding and composing alert emails filter with. A tenant has few, so all are read at once.
 */
export async function activeMutes(db: Db, tenantId: string, now: number): Promise<Mute[]> {
  const rows = await db
    .selectFrom('alert_mutes')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('until', '>', now)
    .where('lifted_at', 'is', null)
    .orderBy('until')
    .orderBy('id')
    .execute();
  return rows.map((r) => muteFromRow(r));
}

/**
 * windowMutesOf reads the mutes and snoozes of some tenants that were in force after `since` (a
 * window's start): those in force still, and those that ended, expiring or lifted, after it, each
 * with its end (the earlier of its `until` and its lifting) as `until`. What a window's emails are
 * judged by (see windowMutes): a mute that ended inside the window still covers the alerts stored
 * before its end.
 */
export async function windowMutesOf(db: Db, tenantIds: readonly string[], since: number): Promise<Map<string, WindowMute[]>> {
  if (tenantIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('alert_mutes')
    .selectAll()
    .where('tenant_id', 'in', tenantIds)
    .where('until', '>', since)
    .where((eb) => eb.or([eb('lifted_at', 'is', null), eb('lifted_at', '>', since)]))
    .orderBy('until')
    .orderBy('id')
    .execute();
  return multiMap(
    rows.map((r) => {
      const mute = muteFromRow(r);
      const liftedAt = r.lifted_at === null ? null : Number(r.lifted_at);
      return [r.tenant_id, { ...mute, until: liftedAt === null ? mute.until : Math.min(mute.until, liftedAt), liftedAt }] as const;
    }),
  );
}

/** findActiveMute returns one of the tenant's mutes that is neither lifted nor ended, or undefined. */
export async function findActiveMute(db: Db, tenantId: string, id: string, now: number): Promise<Mute | undefined> {
  const row = await db
    .selectFrom('alert_mutes')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('until', '>', now)
    .where('lifted_at', 'is', null)
    .executeTakeFirst();
  return row ? muteFromRow(row) : undefined;
}

/**
 * lockTenantMutes makes the transaction `tx` hold, until it ends, the tenant's lock on creating mutes
 * (PostgreSQL; SQLite has one writer at a time): what it reads next (the same mute, how many are in
 * force) is what the transactions that held the lock before committed, so two requests at once
 * neither both make the same mute (a link confirmed twice in a row) nor both take the last place
 * under TENANT_MUTES_MAX or SNOOZES_PER_USER_MAX.
 */
export async function lockTenantMutes(tx: Db, tenantId: string): Promise<void> {
  await lockTransactionOn(tx, `mutes:${tenantId}`);
}

/**
 * findSameMute returns a mute in force with the same scope, owner and match as a new one, or
 * undefined. A tenant has few mutes, so those of the scope and owner are read and compared here;
 * under lockTenantMutes, so that it also sees one made by a request at the same time.
 */
export async function findSameMute(db: Db, tenantId: string, mute: NewMute, now: number): Promise<Mute | undefined> {
  const rows = await db
    .selectFrom('alert_mutes')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('scope', '=', mute.scope)
    .where('owner_id', mute.ownerId === null ? 'is' : '=', mute.ownerId)
    .where('until', '>', now)
    .where('lifted_at', 'is', null)
    .execute();
  return rows.map(muteFromRow).find((found) => MATCH_FIELDS.every((field) => found.match[field] === mute.match[field]));
}

/** extendMute moves the end of a mute in force to `until`. */
export async function extendMute(db: Db, tenantId: string, id: string, until: number): Promise<void> {
  await db.updateTable('alert_mutes').set({ until }).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
}

/**
 * liftMute ends a mute now; its row stays, so the audit list can still say what it was. False when
 * it was lifted already (by a request that ran at the same time): a mute is lifted once.
 */
export async function liftMute(db: Db, tenantId: string, id: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('alert_mutes')
    .set({ lifted_at: now })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .where('lifted_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** MuteView is a Mute as API.md shows it. */
export interface MuteView {
  readonly id: string;
  readonly scope: MuteScope;
  readonly match: MuteMatch;
  readonly until: string;
  readonly createdBy: Actor;
  readonly createdAt: string;
}

/** showMute maps a mute to the API's shape. */
export function showMute(mute: Mute): MuteView {
  return {
    id: mute.id,
    scope: mute.scope,
    match: mute.match,
    until: new Date(mute.until).toISOString(),
    createdBy: mute.createdBy,
    createdAt: new Date(mute.createdAt).toISOString(),
  };
}
