import { EMAIL_CHOICE_OF, applyPatch } from '../../preferences/model.js';
import { loadLayers, saveLayer } from '../../preferences/store.js';
import type { Clock } from '../../shared/clock.js';
import { emailKey } from '../../shared/validation.js';
import type { Db } from '../../storage/database.js';
import { lockTransactionOn } from '../../storage/transaction-lock.js';
import type { UnsubscribeTarget } from './token.js';

/**
 * recipientExists tells whether a link's recipient is still in its tenant: the group, or the user
 * still at the address the link was sent to. Whoever reads a user's former address (a mailbox
 * handed on) must not turn that user's reports off. A group's link turns off only its own address.
 */
export async function recipientExists(db: Db, target: UnsubscribeTarget): Promise<boolean> {
  const { tenantId, recipient } = target;
  if (recipient.type === 'group') {
    return (await db.selectFrom('groups').select('id').where('tenant_id', '=', tenantId).where('id', '=', recipient.id).executeTakeFirst()) !== undefined;
  }
  const user = await db.selectFrom('users').select('email').where('tenant_id', '=', tenantId).where('id', '=', recipient.id).executeTakeFirst();
  // Compared as the addresses are, not through the stored email_key: rows older than its normalisation keep theirs.
  return user !== undefined && emailKey(user.email) === emailKey(recipient.address);
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
