import { sql } from 'kysely';
import { newId, randomToken } from '../../shared/ids.js';
import type { Db } from '../../storage/database.js';
import { asStage } from '../../storage/errors.js';
import type { Storage } from '../../storage/storage.js';
import { type Delivery, type DeliveryRow, toDelivery } from './delivery.js';
import { ENQUEUE_CHUNK_ROWS, type NewDelivery, deliveryRow } from './enqueue.js';

/**
 * isUnfinished is the predicate of the `deliveries_due` partial index, written with literals: SQLite
 * uses a partial index only for a query whose WHERE repeats the index's own condition.
 */
export const isUnfinished = sql<boolean>`${sql.ref('status')} in ('pending', 'sending', 'retrying')`;

/** ClaimRequest asks for up to `limit` due rows for one worker, leased until `now + leaseMs`. */
export interface ClaimRequest {
  readonly workerId: string;
  readonly now: number;
  readonly leaseMs: number;
  readonly limit: number;
  readonly excludeTenants?: readonly string[];
}

/** ClaimedBatch is what a claim took: the rows (attempts already counted) and their attempt-log ids. */
export interface ClaimedBatch {
  readonly deliveries: readonly Delivery[];
  /** delivery id → the id of the `delivery_attempts` row opened for this attempt. */
  readonly attemptIds: ReadonlyMap<string, string>;
}

/**
 * claimDue leases the oldest due rows (queued, waiting to retry, or leased by a worker whose lease
 * ran out) in one statement, counts the attempt, closes the attempt a dead worker left open as
 * `interrupted` and opens a new one, all in one transaction.
 *
 * The generated SQL (PostgreSQL; SQLite is the same without `for update skip locked`, its single
 * writer already serialising claims):
 * ```sql
 * update deliveries set status = 'sending', attempts = attempts + 1, lease_owner = $1, lease_token = $2,
 *   lease_expires_at = $3, next_attempt_at = $3
 * where id in (select id from deliveries where status in ('pending','sending','retrying')
 *   and next_attempt_at <= $4 and tenant_id not in (…) order by next_attempt_at limit $5 for update skip locked)
 * returning *
 * ```
 * A failure is the claim stage's StorageUnavailableError (back off) or StorageRejectedError.
 */
export async function claimDue(storage: Storage, request: ClaimRequest): Promise<ClaimedBatch> {
  if (request.limit <= 0) return { deliveries: [], attemptIds: new Map() };
  const token = randomToken();
  const leaseUntil = request.now + request.leaseMs;
  return asStage('claim', () =>
    storage.db.transaction().execute(async (tx) => {
      const rows = await tx
        .updateTable('deliveries')
        .set({
          status: 'sending',
          attempts: sql<number>`attempts + 1`,
          lease_owner: request.workerId,
          lease_token: token,
          lease_expires_at: leaseUntil,
          // A leased row becomes due again when its lease runs out: one index serves both cases.
          next_attempt_at: leaseUntil,
        })
        .where('id', 'in', (eb) => {
          let due = eb.selectFrom('deliveries').select('id').where(isUnfinished).where('next_attempt_at', '<=', request.now);
          if (request.excludeTenants?.length) due = due.where('tenant_id', 'not in', request.excludeTenants);
          due = due.orderBy('next_attempt_at').limit(request.limit);
          return storage.dialect === 'postgres' ? due.forUpdate().skipLocked() : due;
        })
        .returningAll()
        .execute();
      if (rows.length === 0) return { deliveries: [], attemptIds: new Map() };
      const ids = rows.map((r) => r.id);
      await tx
        .updateTable('delivery_attempts')
        .set({ outcome: 'interrupted', finished_at: request.now, response: 'the worker stopped during this attempt; its lease expired' })
        .where('delivery_id', 'in', ids)
        .where('outcome', '=', 'sending')
        .execute();
      return { deliveries: rows.map(toDelivery), attemptIds: await openAttempts(tx, rows, request.workerId, request.now) };
    }),
  );
}

/** openAttempts opens the `sending` attempt of rows just leased to a worker and returns delivery id → attempt id. */
async function openAttempts(tx: Db, rows: readonly DeliveryRow[], workerId: string, now: number): Promise<Map<string, string>> {
  const attemptIds = new Map(rows.map((r) => [r.id, newId()]));
  if (rows.length === 0) return attemptIds;
  await tx
    .insertInto('delivery_attempts')
    .values(
      rows.map((r) => ({
        id: attemptIds.get(r.id)!,
        delivery_id: r.id,
        tenant_id: r.tenant_id,
        attempt: r.attempts,
        worker: workerId,
        started_at: now,
        outcome: 'sending',
      })),
    )
    .execute();
  return attemptIds;
}

/**
 * InsertLease is a lease written on rows as they are queued, to a worker of the queuing process
 * (DeliveryWorker.leaseForInsert): the rows are that worker's at once, as if claimed, without a
 * claim statement. If the process dies before sending them, they are due again when it runs out.
 */
export interface InsertLease {
  readonly workerId: string;
  readonly token: string;
  /** When the rows were queued (their attempt's start). */
  readonly now: number;
  /** When the lease runs out unless the worker renews it. */
  readonly until: number;
}

/**
 * enqueueLeased queues emails inside the caller's transaction like enqueueDeliveries, but already
 * leased to a worker of this process, first attempt counted and open, as claimDue would leave them:
 * after the commit the worker sends them (DeliveryWorker.adopt) with no claim round trip. A row
 * whose (tenant, idempotency key) exists already is skipped and not in the batch.
 */
export async function enqueueLeased(tx: Db, rows: readonly NewDelivery[], lease: InsertLease): Promise<ClaimedBatch> {
  const inserted: DeliveryRow[] = [];
  for (let i = 0; i < rows.length; i += ENQUEUE_CHUNK_ROWS) {
    const values = rows.slice(i, i + ENQUEUE_CHUNK_ROWS).map((row) => ({
      ...deliveryRow(row, lease.now),
      status: 'sending',
      attempts: 1,
      lease_owner: lease.workerId,
      lease_token: lease.token,
      lease_expires_at: lease.until,
      next_attempt_at: lease.until,
    }));
    inserted.push(
      ...(await tx
        .insertInto('deliveries')
        .values(values)
        .onConflict((oc) => oc.columns(['tenant_id', 'idempotency_key']).doNothing())
        .returningAll()
        .execute()),
    );
  }
  return { deliveries: inserted.map(toDelivery), attemptIds: await openAttempts(tx, inserted, lease.workerId, lease.now) };
}

/** RenewedLeases: the rows whose lease was extended, and those whose lease was really lost. */
export interface RenewedLeases {
  readonly renewed: readonly string[];
  readonly lost: readonly string[];
}

/**
 * renewLeases extends the leases this worker still holds on rows it is sending. A lease is really
 * lost when the row is gone or another claim gave it a new token; a row that this worker finished
 * (recorded or handed back) while the renewal ran has no token any more and is neither: the
 * caller's snapshot of its rows is older than the statement. A row another transaction has
 * locked is left for the next renewal.
 */
export async function renewLeases(storage: Storage, leases: ReadonlyMap<string, string>, now: number, leaseMs: number): Promise<RenewedLeases> {
  if (leases.size === 0) return { renewed: [], lost: [] };
  const until = now + leaseMs;
  const renewed = await storage.db
    .updateTable('deliveries')
    .set({ lease_expires_at: until, next_attempt_at: until })
    .where('id', 'in', (eb) => {
      // The rows of one claim share its token: a row is still this worker's when its token is one
      // this worker holds (one parameter per row and per claim, not a pair of them per row).
      const held = eb
        .selectFrom('deliveries')
        .select('id')
        .where('id', 'in', [...leases.keys()])
        .where('lease_token', 'in', [...new Set(leases.values())])
        .where('status', '=', 'sending');
      // A row locked by the commit of its result needs no renewal; waiting for it could deadlock
      // with that commit, which locks the same rows in another order.
      return storage.dialect === 'postgres' ? held.forUpdate().skipLocked() : held;
    })
    .returning('id')
    .execute();
  const kept = new Set(renewed.map((r) => r.id));
  const missed = [...leases.keys()].filter((id) => !kept.has(id));
  if (missed.length === 0) return { renewed: [...kept], lost: [] };
  const current = await storage.db.selectFrom('deliveries').select(['id', 'lease_token']).where('id', 'in', missed).execute();
  const tokenNow = new Map(current.map((r) => [r.id, r.lease_token]));
  const lost = missed.filter((id) => !tokenNow.has(id) || (tokenNow.get(id) !== null && tokenNow.get(id) !== leases.get(id)));
  return { renewed: [...kept], lost };
}

/**
 * releaseClaimed gives rows back to the queue without counting an attempt (a tenant over its
 * concurrency limit, an endpoint whose breaker is open), due again at `retryAt`.
 */
export async function releaseClaimed(
  storage: Storage,
  rows: readonly { readonly delivery: Delivery; readonly attemptId: string }[],
  retryAt: number,
): Promise<void> {
  if (rows.length === 0) return;
  await storage.db.transaction().execute(async (tx) => {
    for (const { delivery } of rows) {
      await tx
        .updateTable('deliveries')
        .set({
          status: delivery.attempts > 1 ? 'retrying' : 'pending',
          attempts: sql<number>`attempts - 1`,
          lease_owner: null,
          lease_token: null,
          lease_expires_at: null,
          next_attempt_at: retryAt,
        })
        .where('id', '=', delivery.id)
        .where('lease_token', '=', delivery.leaseToken)
        .execute();
    }
    await tx
      .deleteFrom('delivery_attempts')
      .where(
        'id',
        'in',
        rows.map((r) => r.attemptId),
      )
      .execute();
  });
}
