import type { Kysely } from 'kysely';
import { type ActionChannel, type Actor, recordAction } from '../alerts/action-audit.js';
import type { Database } from '../storage/database.js';
import type { Mute } from './model.js';
import { type NewMute, createMute, extendMute, findSameMute, liftMute } from './store.js';

/**
 * muteAlerts creates a mute (or a snooze) and records it in the audit list, in one transaction:
 * what the API does. With `once` (an email's action link, which its recipient may confirm twice:
 * a double click, a reload), a mute in force with the same scope, owner and match is kept instead,
 * ending at the later of the two ends, so the list does not show it twice.
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
    const same = once ? await findSameMute(tx, tenantId, mute, now) : undefined;
    let result: Mute;
    if (same) {
      result = { ...same, until: Math.max(same.until, mute.until) };
      if (result.until !== same.until) await extendMute(tx, tenantId, same.id, result.until);
    } else {
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

/**
 * liftAlertMute ends a mute now and records who lifted it in the audit list; false, recording
 * nothing, when another request lifted it first.
 */
export async function liftAlertMute(db: Kysely<Database>, tenantId: string, mute: Mute, actor: Actor, via: ActionChannel, now: number): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    if (!(await liftMute(tx, tenantId, mute.id, now))) return false;
    await recordAction(tx, tenantId, { actor, action: 'lift', via, detail: { muteId: mute.id, scope: mute.scope, match: mute.match }, at: now });
    return true;
  });
}
