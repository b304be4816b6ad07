import { type ExpressionBuilder, sql } from 'kysely';
import { type Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { zeroedCounter } from '../../ops/metrics.js';
import type { Clock } from '../../shared/clock.js';
import { withinMs } from '../../shared/deadline.js';
import type { Storage } from '../../storage/storage.js';
import { firstQueuedAt, isUnfinished } from './leases.js';
import { FAILURE_STAGES } from './outcomes.js';
import { type DeliveryStatus, type OutboxTables, UNFINISHED_STATUSES } from './tables.js';

/**
 * SCRAPE_READ_MS bounds each database read of a scrape. A read that fails or does not answer in
 * time keeps the series' last value, so that /metrics still answers (the process and request
 * series with it) while the database is down, rather than failing or hanging the whole scrape.
 */
const SCRAPE_READ_MS = 2000;

async function scrapeRead(read: () => Promise<void>): Promise<void> {
  await withinMs(read(), SCRAPE_READ_MS, 'the database').catch(() => {});
}

/** COUNTED_STATUSES are the statuses of `tocsin_deliveries`: sent emails are the bulk of the outbox. */
const COUNTED_STATUSES: readonly DeliveryStatus[] = Object.freeze([...UNFINISHED_STATUSES, 'failed']);

/**
 * queuedCount counts a column of the `deliveries_due` index, not `*`: for count(*) SQLite without
 * statistics scans the covering deliveries_log_status, every email ever kept (105 ms at a million
 * rows, in the event loop), rather than the queue's own rows in deliveries_due.
 */
const queuedCount = (eb: ExpressionBuilder<OutboxTables, 'deliveries'>) => eb.fn.count<string | number>('next_attempt_at').as('n');

/**
 * countCounted reads the number of deliveries of each of COUNTED_STATUSES in one statement, from the
 * two partial indexes that hold only them (deliveries_due and deliveries_failed), so that a scrape's
 * cost follows the queue and the failures kept, not the outbox's history.
 */
async function countCounted(db: Storage['db']): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('deliveries')
    .select(['status', queuedCount])
    .where(isUnfinished)
    .groupBy('status')
    .unionAll((eb) =>
      eb
        .selectFrom('deliveries')
        .select([sql.lit('failed').as('status'), (e) => e.fn.count<string | number>('created_at').as('n')])
        .where(sql.ref('status'), '=', sql.lit('failed')),
    )
    .execute();
  return new Map(rows.map((r) => [r.status, Number(r.n)]));
}

/**
 * readGauge registers an unlabeled gauge read from the shared database at scrape time (aggregated as
 * the first process's value), with no sample until a read has answered: prom-client writes an
 * unlabeled gauge never set as 0, which for the queue depth and the oldest age said an empty queue
 * when a process's first scrape came while the database was down. Once read, a failed read keeps
 * the last value, as scrapeRead says.
 */
function readGauge(registry: Registry, name: string, help: string, read: () => Promise<number>): void {
  let known = false;
  const gauge = new Gauge({
    name,
    help,
    aggregator: 'first',
    registers: [registry],
    async collect() {
      await scrapeRead(async () => {
        this.set(await read());
        known = true;
      });
    },
  });
  const get = gauge.get.bind(gauge);
  gauge.get = async () => {
    const metric = await get();
    return known ? metric : { ...metric, values: [] };
  };
}

/**
 * OutboxMetrics are the delivery series: attempts by outcome, finished deliveries, SMTP latency,
 * and (read from the database at scrape time, so every process reports the shared queue)
 * deliveries by status, queue depth and the age of the oldest waiting delivery; in a process that
 * sends, how long the most overdue one has waited (watchDue).
 */
export class OutboxMetrics {
  readonly attempts: Counter<'outcome'>;
  readonly finished: Counter<'status'>;
  readonly smtpLatency: Histogram<'outcome'>;
  /** Failed attempts (retried or final) by where they failed: a kind of failure an operator alerts on. */
  readonly failures: Counter<'stage'>;
  /** Rows this process's worker took: by a claim statement, or leased to it as they were queued. */
  readonly claimed: Counter<'how'>;

  readonly #registry: Registry;
  readonly #storage: Storage;
  readonly #clock: Clock;

  constructor(registry: Registry, storage: Storage, clock: Clock) {
    this.#registry = registry;
    this.#storage = storage;
    this.#clock = clock;
    this.attempts = zeroedCounter(registry, {
      name: 'tocsin_delivery_attempts_total',
      help: 'Delivery attempts by outcome (sent, retry, failed, deferred, lost_lease).',
      label: 'outcome',
      values: ['sent', 'retry', 'failed', 'deferred', 'lost_lease'],
    });
    this.finished = zeroedCounter(registry, {
      name: 'tocsin_deliveries_finished_total',
      help: 'Deliveries that reached a final status in this process (sent or failed).',
      label: 'status',
      values: ['sent', 'failed'],
    });
    // By kind, since the outcome alone lumps a refused password (every email of the server fails)
    // with one reader's mistyped address: an alert on failed attempts fired on the second too.
    this.failures = zeroedCounter(registry, {
      name: 'tocsin_delivery_failures_total',
      help: 'Failed delivery attempts, retried or final, by stage: connect, tls, auth, sender, recipient, data (the SMTP dialogue), settings (the mail settings cannot be used), render, local (this process, such as no file descriptor).',
      label: 'stage',
      values: FAILURE_STAGES,
    });
    this.claimed = zeroedCounter(registry, {
      name: 'tocsin_deliveries_taken_total',
      help: 'Deliveries this process took to send: by a claim (how="claim") or leased to it by the transaction that queued them (how="insert", no claim needed).',
      label: 'how',
      values: ['claim', 'insert'],
    });
    this.smtpLatency = new Histogram({
      name: 'tocsin_smtp_send_duration_seconds',
      help: 'Time from starting an SMTP send to the server reply after DATA (or the failure); a Fatal alert’s first email renders within it.',
      labelNames: ['outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
    new Gauge({
      name: 'tocsin_deliveries',
      // Read from the shared database: several api processes each read the same value (cluster-metrics.ts).
      aggregator: 'first',
      help: 'Deliveries in the outbox by status: those not yet finished (pending, sending, retrying) and the failed ones it still keeps. Sent ones are not counted (each scrape would read the whole outbox): tocsin_deliveries_finished_total counts them as they are sent.',
      labelNames: ['status'] as const,
      registers: [registry],
      async collect() {
        await scrapeRead(async () => {
          const counts = await countCounted(storage.db);
          for (const status of COUNTED_STATUSES) this.set({ status }, counts.get(status) ?? 0);
        });
      },
    });
    readGauge(registry, 'tocsin_delivery_queue_depth', 'Deliveries not yet finished (pending, sending or retrying).', async () => {
      const row = await storage.db.selectFrom('deliveries').select(queuedCount).where(isUnfinished).executeTakeFirst();
      return Number(row?.n ?? 0);
    });
    readGauge(registry, 'tocsin_delivery_oldest_pending_age_seconds', 'Age of the oldest delivery not yet finished, 0 when the queue is empty.', async () => {
      const row = await storage.db
        .selectFrom('deliveries')
        .select((eb) => eb.fn.min<number | null>('created_at').as('oldest'))
        .where(isUnfinished)
        .executeTakeFirst();
      const oldest = row?.oldest == null ? null : Number(row.oldest);
      return oldest === null ? 0 : Math.max(0, (clock.now() - oldest) / 1000);
    });
  }

  /**
   * watchDue adds, in a process that sends, how long the most overdue email has waited for a worker.
   * The queue's ages above count an email waiting for its retry, or for its tenant's paused server,
   * as they count one no worker takes; this grows only for the second (workers stuck or behind), so
   * that a tenant's broken SMTP server pages no one. A row is due at next_attempt_at (a leased row's
   * being its lease's expiry, so a dead worker's rows count too); the tenants whose server this
   * worker paused are left out as its claims leave them out, which only a sending process knows.
   */
  watchDue(pausedTenants: (now: number) => readonly string[]): void {
    readGauge(
      this.#registry,
      'tocsin_delivery_oldest_due_age_seconds',
      'How long the most overdue delivery has waited for this worker (0 when none is overdue); emails waiting for a retry or a paused server are not overdue.',
      async () => {
        const now = this.#clock.now();
        const due = await firstQueuedAt(this.#storage.db, pausedTenants(now));
        return due === null ? 0 : Math.max(0, (now - due) / 1000);
      },
    );
  }
}
