import { classifyDbError } from '../../storage/errors.js';
import type { Db } from '../../storage/database.js';
import type { Delivery } from './delivery.js';

/**
 * Readdressed is what became of a claimed row moved to its reader's new address: `moved`; `taken`,
 * the new address has this email already (a row under the key it would move to: the email decided
 * again for it, a Fatal flood repeating, or a group mailbox at that address); `unleased`, the row
 * is no longer this claim's.
 */
export type Readdressed = 'moved' | 'taken' | 'unleased';

/**
 * readdressDelivery moves a claimed row to another address before it is sent, and under that
 * address's idempotency key, when its reader's address changed after it was queued (a typo corrected
 * while the mail server was down): the email goes to the mailbox its reader has now, the delivery log
 * shows where it went, and the unique (tenant, idempotency key) keeps it one email for that address,
 * whichever row takes the key first: a decision made for the new address later queues nothing more.
 */
export async function readdressDelivery(db: Db, delivery: Delivery, address: string, idempotencyKey: string): Promise<Readdressed> {
  if (delivery.leaseToken === null) return 'unleased';
  try {
    const moved = await db
      .updateTable('deliveries')
      .set({ recipient_address: address, idempotency_key: idempotencyKey })
      .where('id', '=', delivery.id)
      .where('lease_token', '=', delivery.leaseToken)
      .executeTakeFirst();
    return moved.numUpdatedRows > 0n ? 'moved' : 'unleased';
  } catch (err) {
    if (classifyDbError(err) === 'unique') return 'taken';
    throw err;
  }
}
