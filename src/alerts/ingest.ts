import type { Kysely } from 'kysely';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../shared/clock.js';
import type { Database, Db } from '../storage/database.js';
import type { Storage } from '../storage/storage.js';
import type { FatalSignal } from './fatal-signal.js';
import type { NewAlert } from './input.js';
import { writeAlerts } from './store.js';

/**
 * AlongsideWrite is more to write in the transaction that stores a batch, given the batch's ids
 * (an inbound source's delivery key and counters): both commit, or neither.
 */
export type AlongsideWrite = (tx: Db, alertIds: readonly string[]) => Promise<void>;

/** AlertIngest stores validated alerts for one running app and counts them for /metrics. */
export interface AlertIngest {
  /** raise stores alerts durably (with `alongside`, in the same transaction) and returns their ids once committed. */
  raise(tenantId: string, alerts: readonly NewAlert[], alongside?: AlongsideWrite): Promise<string[]>;
}

/** MAX_ALERTS_PER_COMMIT bounds one group commit, so that no transaction holds the writer long. */
export const MAX_ALERTS_PER_COMMIT = 5_000;

interface Pending {
  readonly tenantId: string;
  readonly alerts: readonly NewAlert[];
  readonly alongside: AlongsideWrite | undefined;
  resolve(ids: string[]): void;
  reject(err: unknown): void;
}

/**
 * groupCommit stores the batches of concurrent requests together: while a commit is under way, new
 * batches queue, and the next commit takes them all in one transaction. A durable commit costs a
 * disk flush, so this turns one flush per request into one flush per busy moment. Every caller
 * still hears back only after its own rows are committed; if a shared commit fails, each batch is
 * retried alone so that one bad batch cannot fail its neighbours.
 */
export function groupCommit(db: Kysely<Database>, clock: Clock, windowMs: number, maxConcurrentCommits: number): AlertIngest['raise'] {
  const queue: Pending[] = [];
  let committing = 0;

  const take = (): Pending[] => {
    let count = 0;
    let n = 0;
    while (n < queue.length && (n === 0 || count + queue[n]!.alerts.length <= MAX_ALERTS_PER_COMMIT)) {
      count += queue[n]!.alerts.length;
      n += 1;
    }
    return queue.splice(0, n);
  };

  const write = async (tx: Db, item: Pending, now: number) => {
    const ids = await writeAlerts(tx, item.tenantId, item.alerts, now, windowMs);
    if (item.alongside) await item.alongside(tx, ids);
    return ids;
  };

  const commit = async (items: Pending[]) => {
    const now = clock.now();
    try {
      const ids = await db.transaction().execute(async (tx) => {
        const out: string[][] = [];
        for (const item of items) out.push(await write(tx, item, now));
        return out;
      });
      items.forEach((item, i) => {
        item.resolve(ids[i]!);
      });
    } catch (err) {
      if (items.length === 1) return items[0]!.reject(err);
      for (const item of items) {
        await db
          .transaction()
          .execute((tx) => write(tx, item, clock.now()))
          .then(item.resolve, item.reject);
      }
    }
  };

  const drain = async () => {
    committing += 1;
    try {
      // Let the requests already read in this turn of the event loop join the commit.
      await new Promise((resolve) => setImmediate(resolve));
      while (queue.length > 0) await commit(take());
    } finally {
      committing -= 1;
    }
  };

  return (tenantId, alerts, alongside) =>
    new Promise<string[]>((resolve, reject) => {
      queue.push({ tenantId, alerts, alongside, resolve, reject });
      if (committing < maxConcurrentCommits) void drain();
    });
}

/**
 * createAlertIngest builds a process's one AlertIngest, the pipeline's first stage (the REST and
 * the Orchestrator routes share it, and with it the group commit and the metric series). SQLite
 * has one writer, so one commit at a time; PostgreSQL takes a few side by side. Once committed,
 * the Fatal alerts are signalled to the decide stage.
 */
export function createAlertIngest(deps: {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly floodWindowMs: number;
  readonly registry: Registry;
  readonly fatalSignal: FatalSignal;
}): AlertIngest {
  const stored = new Counter({
    name: 'tocsin_alerts_stored_total',
    help: 'Alerts durably stored, by severity.',
    labelNames: ['severity'] as const,
    registers: [deps.registry],
  });
  const commit = groupCommit(deps.storage.db, deps.clock, deps.floodWindowMs, deps.storage.dialect === 'sqlite' ? 1 : 4);
  const fatalCommitted = coalescedFatalSignal(deps.fatalSignal);
  return {
    async raise(tenantId, alerts, alongside) {
      const ids = await commit(tenantId, alerts, alongside);
      const fatal = ids.filter((_, i) => alerts[i]!.severity === 'Fatal');
      if (fatal.length > 0) fatalCommitted(tenantId, fatal);
      const bySeverity = new Map<string, number>();
      for (const a of alerts) bySeverity.set(a.severity, (bySeverity.get(a.severity) ?? 0) + 1);
      for (const [severity, n] of bySeverity) stored.inc({ severity }, n);
      return ids;
    },
  };
}

/**
 * coalescedFatalSignal gathers the Fatal alerts that the requests of one group commit report, and
 * signals them once per tenant when that turn of the event loop is over: one immediate decision
 * per commit instead of one per request, each a few queries that compete with ingestion's writes.
 */
export function coalescedFatalSignal(signal: FatalSignal): (tenantId: string, alertIds: readonly string[]) => void {
  let pending: Map<string, string[]> | undefined;
  return (tenantId, alertIds) => {
    if (!pending) {
      const batch = (pending = new Map());
      setImmediate(() => {
        pending = undefined;
        for (const [tenant, ids] of batch) signal.notify({ tenantId: tenant, alertIds: ids });
      });
    }
    const ids = pending.get(tenantId);
    if (ids) ids.push(...alertIds);
    else pending.set(tenantId, [...alertIds]);
  };
}
