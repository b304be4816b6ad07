import { classifyDbError } from '../../storage/errors.js';
import type { Db } from '../../storage/database.js';
import { sameMailbox } from '../../shared/validation.js';
import type { Delivery } from './delivery.js';
import type { DeliveryStatus } from './tables.js';

/**
 * Readdressed is what became of a claimed row moved to its reader's new address: `moved`; `taken`,
 * the new address has this email already (a row under the key it would move to that brings it
 * there: the email decided again for it, a Fatal flood repeating, or a group mailbox at that
 * address); `unleased`, the row is no longer this claim's.
 */
export type Readdressed = 'moved' | 'taken' | 'unleased';

/** KeyHolder is the row holding the idempotency key another row would move to: where it stands, and whose email it is. */
export interface KeyHolder {
  readonly id: string;
  readonly status: DeliveryStatus;
  readonly address: string;
  /** The user or group it was decided for (none for an email of no reader's, such as a test). */
  readonly recipient: { readonly type: 'user' | 'group'; readonly id: string } | undefined;
}

/**
 * holderDelivers decides whether the row holding a key brings (or brought) that email to its
 * mailbox: sent, or still to be sent while its recipient gets alert emails there now (`addressNow`).
 * One that failed brought the mailbox nothing, and one whose recipient left that address will move
 * or fail when it is tried: either leaves the key to a row moving there (two readers who swapped
 * addresses, a reader taking the address a group mailbox left), which would otherwise be lost.
 */
export function holderDelivers(holder: Pick<KeyHolder, 'status' | 'address'>, addressNow: string | undefined): boolean {
  if (holder.status === 'sent') return true;
  if (holder.status === 'failed') return false;
  return addressNow !== undefined && sameMailbox(addressNow, holder.address);
}

/**
 * releasedKey is the key a row gives up its own for: unique (it names the row), never one a decision makes, and
 * still naming what the email is about first (the retention reads an immediate email's flood from it).
 */
function releasedKey(key: string, holderId: string): string {
  return `${key}#released:${holderId}`;
}

/** holdsReleasedKey says whether a row gave its key up to another moving to its address (readdressDelivery). */
export function holdsReleasedKey(delivery: Pick<Delivery, 'id' | 'idempotencyKey'>): boolean {
  return delivery.idempotencyKey.endsWith(`#released:${delivery.id}`);
}

/**
 * readdressDelivery moves a claimed row to another address before it is sent, and under that
 * address's idempotency key, when its reader's address changed after it was queued (a typo corrected
 * while the mail server was down): the email goes to the mailbox its reader has now, the delivery log
 * shows where it went, and the unique (tenant, idempotency key) keeps it one email for that address.
 * A row holding that key already keeps it when it brings the email there (`delivers`, holderDelivers
 * on its recipient's address now); else it gives the key up (releasedKey) and this row takes it: the
 * key stays the mailbox's one email, whichever of two rows crossing addresses is tried first.
 */
export async function readdressDelivery(
  db: Db,
  delivery: Delivery,
  address: string,
  idempotencyKey: string,
  delivers: (holder: KeyHolder) => Promise<boolean>,
): Promise<Readdressed> {
  if (delivery.leaseToken === null) return 'unleased';
  const move = async (): Promise<Readdressed | 'unique'> => {
    try {
      const moved = await db
        .updateTable('deliveries')
        .set({ recipient_address: address, idempotency_key: idempotencyKey })
        .where('id', '=', delivery.id)
        .where('lease_token', '=', delivery.leaseToken)
        .executeTakeFirst();
      return moved.numUpdatedRows > 0n ? 'moved' : 'unleased';
    } catch (err) {
      if (classifyDbError(err) === 'unique') return 'unique';
      throw err;
    }
  };
  const first = await move();
  if (first !== 'unique') return first;
  const holder = await keyHolder(db, delivery.tenantId, idempotencyKey);
  if (holder && (await delivers(holder))) return 'taken';
  if (holder) {
    await db
      .updateTable('deliveries')
      .set({ idempotency_key: releasedKey(idempotencyKey, holder.id) })
      .where('id', '=', holder.id)
      .where('idempotency_key', '=', idempotencyKey)
      .where('status', '<>', 'sent')
      .execute();
  }
  // Taken again meanwhile (sent, or another row moved in first): that one is the mailbox's.
  const again = await move();
  return again === 'unique' ? 'taken' : again;
}

/** keyHolder reads the row of a tenant holding an idempotency key (undefined once none does). */
async function keyHolder(db: Db, tenantId: string, idempotencyKey: string): Promise<KeyHolder | undefined> {
  const row = await db
    .selectFrom('deliveries')
    .select(['id', 'status', 'recipient_address', 'recipient_user_id', 'recipient_group_id'])
    .where('tenant_id', '=', tenantId)
    .where('idempotency_key', '=', idempotencyKey)
    .executeTakeFirst();
  if (!row) return undefined;
  const recipient =
    row.recipient_user_id !== null
      ? { type: 'user' as const, id: row.recipient_user_id }
      : row.recipient_group_id !== null
        ? { type: 'group' as const, id: row.recipient_group_id }
        : undefined;
  return { id: row.id, status: row.status as DeliveryStatus, address: row.recipient_address, recipient };
}
