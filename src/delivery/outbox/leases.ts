import { CompiledQuery, type Expression, type ExpressionBuilder, type QueryCreator, type SqlBool, sql } from 'kysely';
import { newId, randomToken } from '../../shared/ids.js';
import type { Database, Db } from '../../storage/database.js';
import { asStage } from '../../storage/errors.js';
import { inListOf, sqlOnce } from '../../storage/sql-once.js';
import type { Storage } from '../../storage/storage.js';
import { lockTransactionOn } from '../../storage/transaction-lock.js';
import { type Delivery, type DeliveryRow, toDelivery } from './delivery.js';
import { ENQUEUE_CHUNK_ROWS, type NewDelivery, deliveryRow } from './enqueue.js';
import { rowsBehindLeavers } from './readdress.js';
import { isUrgent } from './urgency.js';

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
  /**
   * Asked once the claim's transaction has begun (the database answering it): whether rows whose
   * lease ran out may be taken over (AnsweredTime.wholeLease). Unset, they may.
   */
  readonly takeOver?: () => boolean;
}

/** ClaimedBatch is what a claim took: the rows, leased to the worker, this attempt counted. */
export interface ClaimedBatch {
  readonly deliveries: readonly Delivery[];
  /**
   * Set when the claim found nothing due: when the first row it could take falls due (a retry, a
   * report's first moment, a dead worker's lease running out), or null when it could take none
   * queued now. Whatever is queued later rings the doorbell (or changes the SQLite file: ChangeMark).
   */
  readonly nextDueAt?: number | null;
  /** How many rows whose lease ran out the claim left to their owner (`takeOver` said no), when any. */
  readonly leftToOwners?: number;
}

const NOTHING: ClaimedBatch = Object.freeze({ deliveries: Object.freeze([]) });

/** What a claim writes on each row it takes: leased to the worker, the attempt counted, due again when the lease runs out. */
function leaseColumns(request: ClaimRequest, token: string) {
  const until = request.now + request.leaseMs;
  return {
    status: 'sending',
    attempts: sql<number>`${sql.ref('deliveries.attempts')} + 1`,
    lease_owner: request.workerId,
    lease_token: token,
    lease_expires_at: until,
    // A leased row becomes due again when its lease runs out: one index serves both cases.
    next_attempt_at: until,
  };
}

/**
 * UNEXCLUDED_KIND is the kind of row a claim takes even from a tenant it leaves out: a mail health
 * notice goes through the system default, not the server that keeps its tenant out (paused); it
 * tells of that server's failure, so it must not wait for that server's next probe.
 */
const UNEXCLUDED_KIND = 'mail-health';

/** The unfinished rows a claim may take, first due first (now or later), those of one due time in the order they were queued. */
function queuedRows(db: QueryCreator<Database>, request: ClaimRequest) {
  let queued = db.selectFrom('deliveries').where(isUnfinished);
  const excluded = request.excludeTenants;
  if (excluded?.length) queued = queued.where((eb) => eb.or([eb('tenant_id', 'not in', excluded), eb('kind', '=', UNEXCLUDED_KIND)]));
  // Then by id: an alert's emails, queued together with one due time, come out together (20261208-30-deliveries-due-by-id).
  return queued.orderBy('next_attempt_at').orderBy('id');
}

/**
 * firstQueuedAt is when the first unfinished row a claim may take falls due (or fell due), null
 * when there is none: a claim's own look, leaving out the tenants it would leave out. Every claim
 * begins with it, busy or idle, so its text is built and compiled once per padded count of the
 * tenants left out (sqlOnce, inListOf: a repeated tenant leaves out no other).
 */
export async function firstQueuedAt(db: Db, excludeTenants: readonly string[]): Promise<number | null> {
  const excluded = excludeTenants.length > 0 ? inListOf(excludeTenants) : [];
  const text = sqlOnce(db, `firstQueuedAt ${excluded.length}`, () =>
    queuedRows(db, { workerId: '', now: 0, leaseMs: 0, limit: 1, excludeTenants: excluded }).select('next_attempt_at').limit(1),
  );
  // In the text's order: the tenants left out and the kind that is never left out (queuedRows), then the limit.
  const parameters = excluded.length > 0 ? [...excluded, UNEXCLUDED_KIND, 1] : [1];
  const [first] = (await db.executeQuery<{ next_attempt_at: number | string }>(CompiledQuery.raw(text, parameters))).rows;
  return first ? Number(first.next_attempt_at) : null;
}

/**
 * The oldest due rows (queued, waiting to retry, or, when `takeOver`, leased by a worker whose
 * lease ran out), as a claim sees them.
 */
function dueRows(db: QueryCreator<Database>, request: ClaimRequest, takeOver: boolean, urgentOnly = false) {
  const queued = queuedRows(db, request);
  const due = (urgentOnly ? queued.where(isUrgent) : queued).where('next_attempt_at', '<=', request.now);
  return (takeOver ? due : due.where('status', '<>', 'sending')).limit(request.limit);
}

/** expiredLeases counts the rows a claim may take but for `takeOver`: leased, and their lease ran out. */
async function expiredLeases(db: QueryCreator<Database>, request: ClaimRequest): Promise<number> {
  const { n } = await queuedRows(db, request)
    .clearOrderBy()
    .where('next_attempt_at', '<=', request.now)
    .where('status', '=', 'sending')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(n);
}

/**
 * claimedIn finishes a claim in its transaction: it asks the request whether leases that ran out
 * may be taken over, runs the claim, and counts the rows it left to their owner.
 */
async function claimedIn(tx: Db, request: ClaimRequest, claim: (takeOver: boolean) => Promise<readonly DeliveryRow[]>): Promise<ClaimedBatch> {
  const takeOver = request.takeOver?.() ?? true;
  const deliveries = (await claim(takeOver)).map(toDelivery);
  const left = takeOver ? 0 : await expiredLeases(tx, request);
  return left > 0 ? { deliveries, leftToOwners: left } : { deliveries };
}

/**
 * CLAIM_TURN names the lock PostgreSQL claims take turns on (lockTransactionOn), as SQLite's take
 * turns on its write lock. Two claims that ran at once skipped each other's locked rows one by one
 * and interleaved: an alert's emails, queued together, split between two workers (4–13 % of alerts
 * with two worker processes), each reading its facts and rendering its MIME. In turn, a claim takes
 * the next run of the queue; it waits for another's short transaction only, never for a send, and
 * SKIP LOCKED still passes over the rows other transactions (renewals, outcome commits) hold.
 */
const CLAIM_TURN = 'deliveries claim';

/** A row as it was before a claim took it: a row still `sending` was a dead worker's, its attempt interrupted. */
interface Before {
  readonly id: string;
  readonly status: string;
  readonly owner: string | null;
  readonly attempts: number;
  readonly until: number | null;
}

/**
 * claimDue leases the due urgent rows (isUrgent) and then the oldest other due rows (queued,
 * waiting to retry, or leased by a worker whose lease ran out) and counts the attempt. The attempt log gets a row only when an attempt ends (outcomes.ts),
 * so a claim writes nothing else, unless it takes a dead worker's row: that attempt is logged as
 * `interrupted` in the same transaction.
 *
 * Both engines first look for one due row outside any transaction, so that a claim that finds
 * nothing (a poll of an idle queue, or of a queue whose tenants are all at their limit, most claims
 * while a queue drains) is one read: no BEGIN, no COMMIT, no write lock. That read is an index
 * probe (`limit 1`) for the first row the claim may take, due or not, which also says when it
 * falls due (`nextDueAt`); a row it sees may be taken by another worker before the claim, which
 * then skips it, as it would have anyway.
 *
 * PostgreSQL, then, in a transaction (for the rare interrupted attempts) that first waits its turn
 * among claims (CLAIM_TURN), this statement, once
 * with `and kind in ('immediate','mail-health')` (the `deliveries_due_urgent` index) and, when that
 * did not fill the claim, once as it is for the rest:
 * ```sql
 * with due as (select id, status, lease_owner, attempts, lease_expires_at from deliveries
 *   where status in ('pending','sending','retrying') and next_attempt_at <= $1 and tenant_id not in (…)
 *   order by next_attempt_at limit $2 for update skip locked)
 * update deliveries set status = 'sending', attempts = attempts + 1, lease_owner = $3, lease_token = $4,
 *   lease_expires_at = $5, next_attempt_at = $5 from due where deliveries.id = due.id
 * returning deliveries.*, due.status, due.lease_owner, …
 * ```
 * (`and status <> 'sending'` added when `takeOver` says no: expired leases are left to their owner.)
 * SQLite (one writer at a time, and RETURNING sees only the new row): after the probe, the due rows
 * are read, the urgent ones first, and leased by id in one write transaction. A failure
 * is the claim stage's StorageUnavailableError (back off) or StorageRejectedError.
 */
export async function claimDue(storage: Storage, request: ClaimRequest): Promise<ClaimedBatch> {
  if (request.limit <= 0) return NOTHING;
  return asStage('claim', async () => {
    // Expired leases count as due here: whether they may be taken over is asked in the transaction,
    // whose wait for SQLite's lock may have been an outage (another process holding it).
    const first = await firstQueuedAt(storage.db, request.excludeTenants ?? []);
    if (first === null) return { deliveries: [], nextDueAt: null };
    if (first > request.now) return { deliveries: [], nextDueAt: first };
    // The lease (a random token, the columns to set) is drawn only once rows are due: it cost about a third of an empty claim.
    const set = leaseColumns(request, randomToken());
    if (storage.dialect === 'postgres') {
      return storage.db.transaction().execute(async (tx) => {
        await lockTransactionOn(tx, CLAIM_TURN);
        return claimedIn(tx, request, async (takeOver) => {
          const take = (limit: number, urgentOnly: boolean) =>
            tx
              .with('due', (db) =>
                dueRows(db, { ...request, limit }, takeOver, urgentOnly)
                  .select(['id as due_id', 'status as was_status', 'lease_owner as was_owner', 'attempts as was_attempts', 'lease_expires_at as was_until'])
                  .forUpdate()
                  .skipLocked(),
              )
              .updateTable('deliveries')
              .from('due')
              .set(set)
              .whereRef('deliveries.id', '=', 'due.due_id')
              .returningAll('deliveries')
              .returning(['was_status', 'was_owner', 'was_attempts', 'was_until'])
              .execute();
          // The urgent rows first; the rows they leased are due no more (next_attempt_at is their
          // lease's end), so the second statement, by due time, does not see them again.
          const urgent = await take(request.limit, true);
          const rows = urgent.length < request.limit ? [...urgent, ...(await take(request.limit - urgent.length, false))] : urgent;
          const before = rows.map((r) => ({ id: r.id, status: r.was_status, owner: r.was_owner, attempts: r.was_attempts, until: r.was_until }));
          await logInterrupted(tx, rows, before, request);
          return rows;
        });
      });
    }
    // The due rows are read under the lock, so that the answer is exact even when another process
    // claimed since the probe.
    const read = (db: QueryCreator<Database>, takeOver: boolean, urgentOnly = false) =>
      dueRows(db, request, takeOver, urgentOnly).select(['id', 'status', 'lease_owner as owner', 'attempts', 'lease_expires_at as until']).execute();
    return storage.db.transaction().execute((tx) =>
      claimedIn(tx, request, async (takeOver) => {
        // The urgent rows first (isUrgent), then the others by due time, up to the limit.
        // The others' read may list the urgent rows again (due before the rest): they count once.
        const urgent = await read(tx, takeOver, true);
        const taken = new Set(urgent.map((r) => r.id));
        const others = urgent.length < request.limit ? (await read(tx, takeOver)).filter((r) => !taken.has(r.id)) : [];
        const due = [...urgent, ...others].slice(0, request.limit);
        if (due.length === 0) return [];
        const rows = await tx
          .updateTable('deliveries')
          .set(set)
          .where(
            'id',
            'in',
            due.map((r) => r.id),
          )
          .returningAll()
          .execute();
        // RETURNING follows the table, not the list of ids: the worker holds the rows in the claim's order.
        const order = new Map(due.map((r, i) => [r.id, i]));
        rows.sort((x, y) => order.get(x.id)! - order.get(y.id)!);
        await logInterrupted(tx, rows, due, request);
        return rows;
      }),
    );
  });
}

/**
 * logInterrupted closes, as `interrupted`, the attempt of each claimed row whose worker did not end
 * it before its lease ran out: a dead worker, or a live one that could not renew the lease and so
 * gave the email up unsent (worker.ts). When it started is not kept: the row's last lease start,
 * from its expiry, stands for it, the last moment that worker was known to be at work.
 */
async function logInterrupted(tx: Db, claimed: readonly DeliveryRow[], before: readonly Before[], request: ClaimRequest): Promise<void> {
  const was = new Map(before.map((b) => [b.id, b]));
  const values = claimed.flatMap((row) => {
    const b = was.get(row.id);
    if (b?.status !== 'sending') return [];
    const until = b.until === null ? request.now : Number(b.until);
    return [
      {
        id: newId(),
        delivery_id: row.id,
        tenant_id: row.tenant_id,
        attempt: Number(b.attempts),
        worker: b.owner ?? 'unknown',
        started_at: Math.min(request.now, until - request.leaseMs),
        finished_at: request.now,
        outcome: 'interrupted',
        response: 'the lease ran out before its worker ended this attempt: the worker stopped, or gave the email up unsent when it could not renew the lease',
      },
    ];
  });
  if (values.length > 0) await tx.insertInto('delivery_attempts').values(values).execute();
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
 * leased to a worker of this process, first attempt counted, as claimDue would leave them:
 * after the commit the worker sends them (DeliveryWorker.adopt) with no claim round trip. A row
 * whose (tenant, idempotency key) exists already is skipped and not in the batch, unless another
 * reader's row holds that key unsent: then it is queued behind it (rowsBehindLeavers), in the batch.
 */
export async function enqueueLeased(tx: Db, rows: readonly NewDelivery[], lease: InsertLease): Promise<ClaimedBatch> {
  const inserted: DeliveryRow[] = [];
  for (let i = 0; i < rows.length; i += ENQUEUE_CHUNK_ROWS) {
    const some = rows.slice(i, i + ENQUEUE_CHUNK_ROWS);
    const result = await insertLeased(tx, some, lease);
    // A key another reader's row holds, unsent (its reader left the address): queued behind it, not lost.
    const behind = await rowsBehindLeavers(tx, some, result);
    inserted.push(...result, ...(behind.length > 0 ? await insertLeased(tx, behind, lease) : []));
  }
  return { deliveries: inserted.map(toDelivery) };
}

/** insertLeased inserts at most ENQUEUE_CHUNK_ROWS rows leased (enqueueLeased), returning those that were new. */
async function insertLeased(tx: Db, rows: readonly NewDelivery[], lease: InsertLease): Promise<DeliveryRow[]> {
  const values = rows.map((row) => ({
    ...deliveryRow(row, lease.now),
    status: 'sending',
    attempts: 1,
    lease_owner: lease.workerId,
    lease_token: lease.token,
    lease_expires_at: lease.until,
    next_attempt_at: lease.until,
  }));
  const insert = () =>
    tx
      .insertInto('deliveries')
      .values(values)
      .onConflict((oc) => oc.columns(['tenant_id', 'idempotency_key']).doNothing())
      .returningAll();
  if (values.length > LEASED_INSERT_SHAPES) return insert().execute();
  // A Fatal alert's few emails, queued on its latency path: the statement is compiled once per
  // row count; its parameters are the rows' values, column by column in the rows' key order,
  // as Kysely binds them.
  const text = sqlOnce(tx, `enqueueLeased ${values.length}`, insert);
  const columns = Object.keys(values[0]!) as (keyof (typeof values)[number])[];
  const params = values.flatMap((v) => columns.map((c) => v[c]));
  return (await tx.executeQuery<DeliveryRow>(CompiledQuery.raw(text, params))).rows;
}

/** Up to this many rows, a leased insert's SQL is compiled once per row count (sqlOnce); more are rare and built each time. */
const LEASED_INSERT_SHAPES = 16;

/** RenewedLeases: the rows whose lease was extended, and those whose lease was really lost. */
export interface RenewedLeases {
  readonly renewed: readonly string[];
  readonly lost: readonly string[];
  /** Rows no longer there: deleted with their tenant (through any process) while being sent. */
  readonly gone: readonly string[];
}

/**
 * renewLeases extends the leases this worker still holds on rows it is sending. A lease is really
 * lost when another claim gave the row a new token, and the row gone when it was deleted with its tenant; a row that this worker finished
 * (recorded or handed back) while the renewal ran has no token any more and is neither: the
 * caller's snapshot of its rows is older than the statement. A row another transaction has
 * locked is left for the next renewal.
 */
export async function renewLeases(storage: Storage, leases: ReadonlyMap<string, string>, now: number, leaseMs: number): Promise<RenewedLeases> {
  if (leases.size === 0) return { renewed: [], lost: [], gone: [] };
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
  if (missed.length === 0) return { renewed: [...kept], lost: [], gone: [] };
  const current = await storage.db.selectFrom('deliveries').select(['id', 'lease_token']).where('id', 'in', missed).execute();
  const tokenNow = new Map(current.map((r) => [r.id, r.lease_token]));
  const lost = missed.filter((id) => tokenNow.has(id) && tokenNow.get(id) !== null && tokenNow.get(id) !== leases.get(id));
  return { renewed: [...kept], lost, gone: missed.filter((id) => !tokenNow.has(id)) };
}

/**
 * releaseClaimed gives rows back to the queue without counting an attempt (a tenant over its
 * concurrency limit, an endpoint whose breaker is open, a worker stopping), due again at
 * `retryAt`, in one statement; a row whose lease this worker lost is left to its new owner.
 */
export async function releaseClaimed(storage: Storage, deliveries: readonly Delivery[], retryAt: number): Promise<void> {
  if (deliveries.length === 0) return;
  await storage.db
    .updateTable('deliveries')
    .set({
      // Read before the write: attempts still counts the attempt being handed back.
      status: sql<string>`case when ${sql.ref('attempts')} > 1 then 'retrying' else 'pending' end`,
      attempts: sql<number>`attempts - 1`,
      lease_owner: null,
      lease_token: null,
      lease_expires_at: null,
      next_attempt_at: retryAt,
    })
    .where(
      'id',
      'in',
      deliveries.map((d) => d.id),
    )
    // The rows of one claim share its token; a row taken by another worker has a token of theirs.
    .where('lease_token', 'in', [...new Set(deliveries.map((d) => d.leaseToken!))])
    .execute();
}

/**
 * retryTenantNow makes a tenant's emails that wait for a retry, or for a paused server, due now,
 * after its mail settings changed: they try the new settings at once rather than at their next
 * retry, up to 30 minutes later. The mail health notices, which go through the system default,
 * keep their time. Returns how many rows moved.
 */
export async function retryTenantNow(db: Db, tenantId: string, now: number): Promise<number> {
  return retryNow(db, now, (eb) => eb.and([eb('tenant_id', '=', tenantId), eb('kind', '<>', 'mail-health')]));
}

/**
 * retryTenantAfterOutage makes due now a tenant's emails waiting for a retry after its server
 * failed them before any recipient was named (connect, TLS, auth, sender), once that server took
 * an email again: a short outage, too short for an incident, no longer holds a Fatal alert's email
 * back for up to 10 minutes. A recipient's or a message's own refusal (a full or greylisted mailbox,
 * a 4xx after DATA) says nothing of the server; those emails keep their time.
 */
export async function retryTenantAfterOutage(db: Db, tenantId: string, now: number): Promise<number> {
  return retryNow(db, now, (eb) =>
    eb.and([
      eb('tenant_id', '=', tenantId),
      eb('kind', '<>', 'mail-health'),
      eb('status', '=', 'retrying'),
      eb.or(OUTAGE_STAGES.map((stage) => eb('last_error', 'like', `${stage}: %`))),
    ]),
  );
}

/**
 * retryTenantBy makes the first of a tenant's alert emails waiting for a retry due at `at` when none
 * is due by then: the moment its run of failures for now passes the wait that makes its mail failing
 * (mail-health). A quiet tenant's one email, retried at 30 s, 2 min and 10 min, was next tried half
 * an hour later, and only that try found the mail failing, 40 minutes after it began.
 */
export async function retryTenantBy(db: Db, tenantId: string, at: number): Promise<void> {
  const first = await db
    .selectFrom('deliveries')
    .select(['id', 'next_attempt_at'])
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'retrying')
    .where('kind', 'not in', ['mail-health', 'test'])
    .orderBy('next_attempt_at')
    .limit(1)
    .executeTakeFirst();
  if (!first || Number(first.next_attempt_at) <= at) return;
  await db.updateTable('deliveries').set({ next_attempt_at: at }).where('id', '=', first.id).where('status', '=', 'retrying').execute();
}

/** OUTAGE_STAGES are the stages of a failed send (the start of its `last_error`) that are the server's, whoever the email is for. */
const OUTAGE_STAGES = ['connect', 'tls', 'auth', 'sender'] as const;

/**
 * retrySystemRouteNow does the same after the system default changed, for every email that goes
 * through it: the mail health notices, and the emails of the tenants that do not use their own
 * server (or may fall back from it to the system default).
 */
export async function retrySystemRouteNow(db: Db, now: number): Promise<number> {
  return retryNow(db, now, (eb) =>
    eb.or([
      eb('kind', '=', 'mail-health'),
      eb('tenant_id', 'not in', eb.selectFrom('tenant_mail_settings').select('tenant_id').where('use_custom', '=', 1).where('fallback_to_default', '=', 0)),
    ]),
  );
}

/** retryNow makes the chosen queued rows due now; rows leased to a worker are left to it. */
async function retryNow(db: Db, now: number, which: (eb: ExpressionBuilder<Database, 'deliveries'>) => Expression<SqlBool>): Promise<number> {
  const moved = await db
    .updateTable('deliveries')
    .set({ next_attempt_at: now })
    .where('status', 'in', ['pending', 'retrying'])
    .where('next_attempt_at', '>', now)
    .where(which)
    .executeTakeFirst();
  return Number(moved.numUpdatedRows);
}
