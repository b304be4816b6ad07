import { EMAIL_CHOICE_OF, applyPatch } from '../../preferences/model.js';
import { loadLayers, saveLayer } from '../../preferences/store.js';
import type { Clock } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import { lockTransactionOn } from '../../storage/transaction-lock.js';
import type { UnsubscribeTarget } from './token.js';

/** recipientExists tells whether a link's recipient (user or group) is still in its tenant. */
export async function recipientExists(db: Db, target: UnsubscribeTarget): Promise<boolean> {
  const { tenantId, recipient } = target;
  const found =
    recipient.type === 'group'
      ? await db.selectFrom('groups').select('id').where('tenant_id', '=', tenantId).where('id', '=', recipient.id).executeTakeFirst()
      : await db.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('id', '=', recipient.id).executeTakeFirst();
  return found !== undefined;
}

/**
 * optedOut tells whether an address took the one-click unsubscribe of a kind of email (a group
 * mailbox's, or the mail-health notices'), as recorded by applySubscription.
 */
export async function optedOut(db: Db, tenantId: string, address: string, kind: string): Promise<boolean> {
  const found = await db
    .selectFrom('email_unsubscribes')
    .select('kind')
    .where('tenant_id', '=', tenantId)
    .where('address_key', '=', address.toLowerCase())
    .where('kind', '=', kind)
    .executeTakeFirst();
  return found !== undefined;
}

/**
 * applySubscription turns one kind of email off (`subscribed` false) or back on for one recipient
 * and says whether the recipient still exists. A user's choice of an alert email goes into its own
 * preferences (where it can also be changed); a group mailbox's, and an administrator's of the
 * mail-health notices (which no preference holds), is an opt-out recorded against the address,
 * which turning back on removes. Doing either twice changes nothing more.
 */
export async function applySubscription(db: Db, target: UnsubscribeTarget, clock: Clock, subscribed: boolean): Promise<boolean> {
  const { tenantId, recipient, kind } = target;
  const choice = EMAIL_CHOICE_OF[kind];
  if (!(await recipientExists(db, target))) return false;
  if (recipient.type === 'group' || !choice) {
    const address_key = recipient.address.toLowerCase();
    if (subscribed) {
      await db.deleteFrom('email_unsubscribes').where('tenant_id', '=', tenantId).where('address_key', '=', address_key).where('kind', '=', kind).execute();
    } else {
      await db
        .insertInto('email_unsubscribes')
        .values({ tenant_id: tenantId, address_key, kind, created_at: clock.now() })
        .onConflict((oc) => oc.columns(['tenant_id', 'address_key', 'kind']).doNothing())
        .execute();
    }
    return true;
  }
  await db.transaction().execute(async (tx) => {
    // Two links of one user taken at once (its summary's and its Fatal email's) each change one choice of the same row.
    await lockTransactionOn(tx, `preferences:${recipient.id}`);
    const current = (await loadLayers(tx, 'user_alert_preferences', [recipient.id])).get(recipient.id);
    await saveLayer(tx, 'user_alert_preferences', tenantId, recipient.id, applyPatch(current, { email: { [choice]: subscribed } }), clock);
  });
  return true;
}
