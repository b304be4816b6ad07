import type { Kysely } from 'kysely';
import { type ActionChannel, type Actor, recordAction } from '../alerts/action-audit.js';
import { conflict } from '../http/problem.js';
import type { Database } from '../storage/database.js';
import { holdTenantKey } from '../storage/transaction-lock.js';
import type { Mute } from './model.js';
import {
  type NewMute,
  SNOOZES_PER_USER_MAX,
  TENANT_MUTES_MAX,
  createMute,
  extendMute,
  findSameMute,
  liftMute,
  lockTenantMutes,
  mutesInForce,
} from './store.js';

/**
 * muteAlerts creates a mute (or a snooze) and records it in the audit list, in one transaction:
 * what the API does. With `once` (an email's action link, which its recipient may confirm twice:
 * a double click, a reload), a mute in force with the same scope, owner and match is kept instead,
 * ending at the later of the two ends, so the list does not show it twice. A new one past
 * TENANT_MUTES_MAX in the tenant, or SNOOZES_PER_USER_MAX of its owner, is refused (409); the
 * checks and the write hold the tenant's lock on mutes (lockTenantMutes), so requests at once take turns.
 */
export async function muteAlerts(
  db: Kysely<Database>,
  tenantId: string,
  mute: NewMute,
  actor: Actor,
  via: ActionChannel,
  now: number,
  { once = false }: { once?: boolean } = {},
): Promise<Mute> {
  return db.transaction().execute(async (tx) => {
    await holdTenantKey(tx, tenantId);
    await lockTenantMutes(tx, tenantId);
    const same = once ? await findSameMute(tx, tenantId, mute, now) : undefined;
    let result: Mute;
    if (same) {
      result = { ...same, until: Math.max(same.until, mute.until) };
      if (result.until !== same.until) await extendMute(tx, tenantId, same.id, result.until);
    } else {
      await refuseOverLimits(tx, tenantId, mute, now);
      result = await createMute(tx, tenantId, mute, actor, now);
    }
    await recordAction(tx, tenantId, {
      actor,
      action: mute.scope === 'tenant' ? 'mute' : 'snooze',
      via,
      detail: { muteId: result.id, scope: result.scope, match: result.match, until: new Date(result.until).toISOString() },
      at: now,
    });
    return result;
  });
}

async function refuseOverLimits(db: Kysely<Database>, tenantId: string, mute: NewMute, now: number): Promise<void> {
  const count = await mutesInForce(db, tenantId, mute.ownerId, now);
  if (count.owner >= SNOOZES_PER_USER_MAX) {
    throw conflict(`You have ${SNOOZES_PER_USER_MAX} snoozes in force, the most one user keeps: lift some (DELETE /mutes/{muteId}) or let them end first.`);
  }
  if (count.tenant >= TENANT_MUTES_MAX) {
    throw conflict(
      `The tenant has ${TENANT_MUTES_MAX.toLocaleString('en')} mutes and snoozes in force, the most it keeps: lift some (DELETE /mutes/{muteId}) or let them end first.`,
    );
  }
}

/**
 * liftAlertMute ends a mute now and records who lifted it in the audit list; false, recording
 * nothing, when another request lifted it first.
 */
export async function liftAlertMute(db: Kysely<Database>, tenantId: string, mute: Mute, actor: Actor, via: ActionChannel, now: number): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    await holdTenantKey(tx, tenantId);
    if (!(await liftMute(tx, tenantId, mute.id, now))) return false;
    await recordAction(tx, tenantId, { actor, action: 'lift', via, detail: { muteId: mute.id, scope: mute.scope, match: mute.match }, at: now });
    return true;
  });
}
