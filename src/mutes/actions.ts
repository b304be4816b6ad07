import type { Kysely } from 'kysely';
import { type ActionChannel, type Actor, recordAction } from '../alerts/action-audit.js';
import type { Database } from '../storage/database.js';
import type { Mute } from './model.js';
import { type NewMute, createMute, liftMute } from './store.js';

/**
 * muteAlerts creates a mute (or a snooze) and records it in the audit list, in one transaction:
 * what the API and an email's action link both do.
 */
export async function muteAlerts(db: Kysely<Database>, tenantId: string, mute: NewMute, actor: Actor, via: ActionChannel, now: number): Promise<Mute> {
  return db.transaction().execute(async (tx) => {
    const created = await createMute(tx, tenantId, mute, actor, now);
    await recordAction(tx, tenantId, {
      actor,
      action: mute.scope === 'tenant' ? 'mute' : 'snooze',
      via,
      detail: { muteId: created.id, scope: created.scope, match: created.match, until: new Date(created.until).toISOString() },
      at: now,
    });
    return created;
  });
}

/** liftAlertMute ends a mute now and records who lifted it in the audit list. */
export async function liftAlertMute(db: Kysely<Database>, tenantId: string, mute: Mute, actor: Actor, via: ActionChannel, now: number): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await liftMute(tx, tenantId, mute.id, now);
    await recordAction(tx, tenantId, { actor, action: 'lift', via, detail: { muteId: mute.id, scope: mute.scope, match: mute.match }, at: now });
  });
}
