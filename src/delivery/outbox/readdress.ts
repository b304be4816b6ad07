import { CompiledQuery } from 'kysely';
import { classifyDbError } from '../../storage/errors.js';
import { inListOf, sqlOnce } from '../../storage/sql-once.js';
import type { Db } from '../../storage/database.js';
import { sameMailbox } from '../../shared/validation.js';
import type { Delivery } from './delivery.js';
import type { NewDelivery } from './enqueue.js';
import type { DeliveryStatus } from './tables.js';

/**
 * Readdressed is what became of a claimed row moved to its reader's new address: `moved`; `taken`,
 * the new address has this email already (a row under the key it would move to that brings it
 * there: the email decided again for it, a Fatal flood repeating, or a group mailbox at that
 * address); `unleased`, the row is no longer this claim's; or, `inFlightUntil`, the row holding
 * that key is being sent by another claim, maybe to that mailbox (holderInFlight): not moved, it
 * is to be tried again once that send has ended, or its lease by then.
 */
export type Readdressed = 'moved' | 'taken' | 'unleased' | { readonly inFlightUntil: number };

/** KeyHolder is the row holding the idempotency key another row would move to: where it stands, and whose email it is. */
export interface KeyHolder {
  readonly id: string;
  readonly status: DeliveryStatus;
  readonly address: string;
  /** The user or group it was decided for (none for an email of no reader's, such as a test). */
  readonly recipient: { readonly type: 'user' | 'group'; readonly id: string } | undefined;
  /** The claim sending it, and until when, while it is `sending`. */
  readonly leaseToken: string | null;
  readonly leaseExpiresAt: number | null;
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
 * holderInFlight says whether the row holding a key, which no longer brings the email to its mailbox
 * (holderDelivers), is being sent by another claim right now: its message may be on its way to
 * that mailbox, written before its reader left it (its envelope out, or its 250 not yet recorded).
 * Taking its key then sent the mailbox a second copy; the row moving there waits for that send to
 * end. A row of the same claim was written from the same reads as the one asking (perClaim), so it
 * moves away or is called off before its message: waiting for it would hold two rows crossing
 * addresses in one claim each behind the other. A lease run out is a dead worker's send.
 */
export function holderInFlight(holder: Pick<KeyHolder, 'status' | 'leaseToken' | 'leaseExpiresAt'>, claimToken: string | null, now: number): boolean {
  return holder.status === 'sending' && holder.leaseToken !== claimToken && holder.leaseExpiresAt !== null && holder.leaseExpiresAt > now;
}

/**
 * releasedKey is the key a row gives up its own for: unique (it names the row), never one a decision makes, and
 * still naming what the email is about first (the retention reads an immediate email's flood from it).
 */
function releasedKey(key: string, holderId: string): string {
  return `${key}#released:${holderId}`;
}

/**
 * waitingKey is the key of a row decided for a mailbox whose key another reader's row still holds,
 * unsent (its reader left that address meanwhile: rowsBehindLeavers): one per holder, so that a
 * flood repeating queues no second one, and like releasedKey never one a decision makes.
 */
function waitingKey(key: string, holderId: string): string {
  return `${key}#after:${holderId}`;
}

/**
 * holdsReleasedKey says whether a row holds a key other than its mailbox's: it gave its key up to
 * another moving to its address (readdressDelivery), or was queued behind another reader's row
 * holding it (waitingKey). Its composer takes that key when it is tried (readdressDelivery), or yields.
 */
export function holdsReleasedKey(delivery: Pick<Delivery, 'id' | 'idempotencyKey'>): boolean {
  return delivery.idempotencyKey.endsWith(`#released:${delivery.id}`) || delivery.idempotencyKey.includes('#after:');
}

/** KeyHolderRow is what rowsBehindLeavers reads of a row holding a key. */
interface KeyHolderRow {
  readonly id: string;
  readonly tenant_id: string;
  readonly idempotency_key: string;
  readonly recipient_user_id: string | null;
  readonly recipient_group_id: string | null;
}

/** The kinds whose composers move a row to its reader's address now and take its key (moveToAddressNow). */
const FOLLOW_THEIR_READERS: ReadonlySet<string> = new Set(['summary', 'daily', 'immediate']);

/**
 * rowsBehindLeavers lists, of the rows an enqueue skipped because their key was taken (`offered`,
 * less the `inserted`), those whose key another reader's row holds unsent, each under a key of its
 * own behind that row (waitingKey): the reader who took an address while the email of its former
 * reader waits (a Fatal flood repeating for Al at Bea's former address, Bea's email still queued
 * there). Skipped, it was lost, Bea's row moving away or failing; queued behind, it takes the key
 * when tried, or yields to the holder that brings the email there (readdressDelivery). A key of the
 * same reader (a flood repeating, a decision made again) is the usual clash and queues nothing.
 * Reads the holders only when some row was skipped; `offered` is one insert's rows (at most
 * ENQUEUE_CHUNK_ROWS, which keeps the read's parameters within bounds too).
 */
export async function rowsBehindLeavers(
  db: Db,
  offered: readonly NewDelivery[],
  inserted: readonly { readonly tenant_id: string; readonly idempotency_key: string }[],
): Promise<NewDelivery[]> {
  if (inserted.length >= offered.length) return [];
  const taken = new Set(inserted.map((r) => `${r.tenant_id}\n${r.idempotency_key}`));
  const skipped = offered.filter((r) => FOLLOW_THEIR_READERS.has(r.kind) && !taken.has(`${r.tenantId}\n${r.idempotencyKey}`));
  if (skipped.length === 0) return [];
  // Read in a commit of Fatal alerts for each flood repeating: compiled once per list shape (sqlOnce).
  const tenantIds = inListOf([...new Set(skipped.map((r) => r.tenantId))]);
  const keys = inListOf(skipped.map((r) => r.idempotencyKey));
  const text = sqlOnce(db, `keyHolders ${tenantIds.length} ${keys.length}`, () =>
    db
      .selectFrom('deliveries')
      .select(['id', 'tenant_id', 'idempotency_key', 'recipient_user_id', 'recipient_group_id'])
      .where('tenant_id', 'in', tenantIds)
      .where('idempotency_key', 'in', keys)
      .where('status', '<>', 'sent'),
  );
  const { rows: holders } = await db.executeQuery<KeyHolderRow>(CompiledQuery.raw(text, [...tenantIds, ...keys, 'sent']));
  const holderOf = new Map(holders.map((h) => [`${h.tenant_id}\n${h.idempotency_key}`, h]));
  return skipped.flatMap((r) => {
    const holder = holderOf.get(`${r.tenantId}\n${r.idempotencyKey}`);
    const another = holder && (holder.recipient_user_id !== (r.recipient.userId ?? null) || holder.recipient_group_id !== (r.recipient.groupId ?? null));
    return another ? [{ ...r, idempotencyKey: waitingKey(r.idempotencyKey, holder.id) }] : [];
  });
}

/**
 * readdressDelivery moves a claimed row to another address before it is sent, and under that
 * address's idempotency key, when its reader's address changed after it was queued (a typo corrected
 * while the mail server was down): the email goes to the mailbox its reader has now, the delivery log
 * shows where it went, and the unique (tenant, idempotency key) keeps it one email for that address.
 * A row holding that key already keeps it when it brings the email there (`delivers`, holderDelivers
 * on its recipient's address now), and while another claim is sending it (holderInFlight, at `now`);
 * else it gives the key up (releasedKey) and this row takes it: the key stays the mailbox's one
 * email, whichever of two rows crossing addresses is tried first.
 */
export async function readdressDelivery(
  db: Db,
  delivery: Delivery,
  address: string,
  idempotencyKey: string,
  delivers: (holder: KeyHolder) => Promise<boolean>,
  now: number,
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
  // A holder read can change under this row (recorded sent or failed, claimed, moved): decided again on what it became.
  for (let round = 0; ; round++) {
    const moved = await move();
    if (moved !== 'unique') return moved;
    // Taken every time: by rows that bring the email there, or by a holder changing under it each time it was read.
    if (round === DECISION_ROUNDS) return 'taken';
    const holder = await keyHolder(db, delivery.tenantId, idempotencyKey);
    if (!holder) continue;
    if (await delivers(holder)) return 'taken';
    if (holderInFlight(holder, delivery.leaseToken, now)) return { inFlightUntil: holder.leaseExpiresAt! };
    await db
      .updateTable('deliveries')
      .set({ idempotency_key: releasedKey(idempotencyKey, holder.id) })
      .where('id', '=', holder.id)
      .where('idempotency_key', '=', idempotencyKey)
      .where('status', '<>', 'sent')
      // Not once another claim has taken it since it was read (holderInFlight): its send may be under way.
      .where((eb) =>
        eb.or([
          eb('status', '<>', 'sending'),
          eb('lease_token', '=', delivery.leaseToken),
          eb('lease_expires_at', 'is', null),
          eb('lease_expires_at', '<=', now),
        ]),
      )
      .execute();
  }
}

/**
 * How many times readdressDelivery reads the holder of the key it would move to, which can change under it, before
 * yielding; each read that gives the key up is followed by a move, the last one too.
 */
const DECISION_ROUNDS = 3;

/** keyHolder reads the row of a tenant holding an idempotency key (undefined once none does). */
async function keyHolder(db: Db, tenantId: string, idempotencyKey: string): Promise<KeyHolder | undefined> {
  const row = await db
    .selectFrom('deliveries')
    .select(['id', 'status', 'recipient_address', 'recipient_user_id', 'recipient_group_id', 'lease_token', 'lease_expires_at'])
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
  const leaseExpiresAt = row.lease_expires_at === null ? null : Number(row.lease_expires_at);
  return { id: row.id, status: row.status as DeliveryStatus, address: row.recipient_address, recipient, leaseToken: row.lease_token, leaseExpiresAt };
}
