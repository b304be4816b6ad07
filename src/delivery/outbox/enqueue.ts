import type { EmailKind, RenderedEmail } from '../contract.js';
import { newMessageId } from '../message-id.js';
import { type Clock, systemClock } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import type { Db } from '../../storage/database.js';
import { rowsBehindLeavers } from './readdress.js';

/** DeliveryRecipient is who one email goes to, with what its composer needs to localise it. */
export interface DeliveryRecipient {
  readonly address: string;
  readonly name?: string | undefined;
  readonly language: string;
  readonly timeZone: string;
  /** The user it is for, or the group whose own address it goes to (at most one of them). */
  readonly userId?: string | undefined;
  readonly groupId?: string | undefined;
}

/**
 * NewDelivery is one email to queue. Either `rendered` holds the finished email (test mails), or
 * `data` is what the kind's composer needs to render it at send time; both for an email written
 * when queued that its kind's composer, when one is registered, writes again when sent (mail-health).
 */
export interface NewDelivery {
  readonly tenantId: string;
  readonly kind: EmailKind;
  /** Same key, same email: a second enqueue with this key (in this tenant) is ignored. */
  readonly idempotencyKey: string;
  readonly recipient: DeliveryRecipient;
  readonly windowStart?: number | undefined;
  readonly windowEnd?: number | undefined;
  readonly rendered?: RenderedEmail | undefined;
  readonly data?: unknown;
  /** Epoch ms after which a transient failure is final (default: creation + the worker's configured deadline). */
  readonly deadline?: number | undefined;
  /** Epoch ms before which it must not be sent (default: now). */
  readonly notBefore?: number | undefined;
}

/** DeliveryPayload is the stored `payload` column: a finished email (with its composer's input, when it has one), or its composer's input. */
export type DeliveryPayload = { readonly rendered: RenderedEmail; readonly data?: unknown } | { readonly data: unknown };

/**
 * enqueueDeliveries queues emails inside the caller's transaction, so the decision to send and
 * the outbox row commit together, and returns how many rows are new: a row whose
 * (tenant, idempotency key) exists already is skipped (`on conflict do nothing`, on both engines),
 * unless another reader's row holds that key unsent: then it is queued behind it (rowsBehindLeavers).
 * Call the worker's `wake()` after the commit so immediate emails leave within milliseconds.
 *
 * @example
 * await db.transaction().execute(async (tx) => {
 *   await markWindowDone(tx, window);
 *   await enqueueDeliveries(tx, [{ tenantId, kind: 'summary', idempotencyKey: `summary:${userId}:${start}`, recipient, data }]);
 * });
 * worker.wake();
 */
export async function enqueueDeliveries(db: Db, rows: readonly NewDelivery[], clock: Clock = systemClock): Promise<number> {
  let inserted = 0;
  for (const n of (await enqueueDeliveriesPerTenant(db, rows, clock)).values()) inserted += n;
  return inserted;
}

/**
 * enqueueDeliveriesPerTenant is enqueueDeliveries of rows of many tenants at once, saying how many
 * new rows each tenant got (a tenant all of whose rows existed already is left out).
 */
export async function enqueueDeliveriesPerTenant(db: Db, rows: readonly NewDelivery[], clock: Clock = systemClock): Promise<Map<string, number>> {
  const inserted = new Map<string, number>();
  if (rows.length === 0) return inserted;
  const now = clock.now();
  const insert = (some: readonly NewDelivery[]) =>
    db
      .insertInto('deliveries')
      .values(some.map((row) => deliveryRow(row, now)))
      .onConflict((oc) => oc.columns(['tenant_id', 'idempotency_key']).doNothing())
      .returning(['tenant_id', 'idempotency_key'])
      .execute();
  for (let i = 0; i < rows.length; i += ENQUEUE_CHUNK_ROWS) {
    const some = rows.slice(i, i + ENQUEUE_CHUNK_ROWS);
    const result = await insert(some);
    // A key another reader's row holds, unsent (its reader left the address): queued behind it, not lost.
    const behind = await rowsBehindLeavers(db, some, result);
    if (behind.length > 0) result.push(...(await insert(behind)));
    for (const r of result) inserted.set(r.tenant_id, (inserted.get(r.tenant_id) ?? 0) + 1);
  }
  return inserted;
}

/** recipientColumns maps a recipient to its columns of a `deliveries` row. */
export function recipientColumns(recipient: DeliveryRecipient) {
  return {
    recipient_address: recipient.address,
    recipient_name: recipient.name ?? null,
    recipient_language: recipient.language,
    recipient_time_zone: recipient.timeZone,
    recipient_user_id: recipient.userId ?? null,
    recipient_group_id: recipient.groupId ?? null,
  };
}

/** ENQUEUE_CHUNK_ROWS keeps each insert far below PostgreSQL's 65,535 bind parameters (21 columns a row). */
export const ENQUEUE_CHUNK_ROWS = 500;

/** deliveryRow is the `deliveries` row of a new email, pending and due at once (or at its notBefore). */
export function deliveryRow(row: NewDelivery, now: number) {
  const id = newId();
  const payload: DeliveryPayload = row.rendered
    ? { rendered: row.rendered, ...(row.data === undefined ? {} : { data: row.data }) }
    : { data: row.data ?? null };
  return {
    id,
    tenant_id: row.tenantId,
    kind: row.kind,
    idempotency_key: row.idempotencyKey,
    ...recipientColumns(row.recipient),
    window_start: row.windowStart ?? null,
    window_end: row.windowEnd ?? null,
    payload: JSON.stringify(payload),
    message_id: newMessageId(id),
    status: 'pending',
    attempts: 0,
    next_attempt_at: row.notBefore ?? now,
    created_at: now,
    deadline: row.deadline ?? null,
  };
}
