import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { zeroedCounter } from '../ops/metrics.js';
import type { Clock } from '../shared/clock.js';
import type { Db } from '../storage/database.js';
import { storageFailure } from '../storage/errors.js';
import type { Storage } from '../storage/storage.js';
import type { WriteTransactionOptions } from '../storage/write-transaction.js';
import type { FatalCommit, FatalSignal } from './fatal-signal.js';
import type { NewAlert } from './input.js';
import { multiMap } from '../shared/multi-map.js';
import { RESOLUTION_LOCK_BUCKETS, floodLockName, resolutionLocks } from './resolution-locks.js';
import { type AlertKind, CommittedKinds } from './kind-hours.js';
import { writeAlertsTelling } from './store.js';
import { floorTransaction } from './time-floor.js';
import { SEVERITIES } from './severity.js';

/**
 * AlongsideWrite is more to write in the transaction that stores a batch, given the batch's ids
 * (an inbound source's delivery key and counters): both commit, or neither.
 */
export type AlongsideWrite = (tx: Db, alertIds: readonly string[], shared: CommitShared) => Promise<void>;

/**
 * CommitShared is what the batches of one try of a group commit share in its transaction, keyed by
 * whoever put it there: what several batches would each read or write (an inbound source's
 * check, its counters) gathered, and read or written once. Made anew for each transaction.
 */
export type CommitShared = Map<unknown, unknown>;

/**
 * InCommit is what a batch reads and writes in the transaction that stores it, besides its alerts
 * (an inbound source's redeliveries, delivery keys and counters): all of it commits, or none.
 */
export interface InCommit {
  /**
   * enlist runs for every batch of the commit before any batch's choose, given what they share: a
   * batch puts there what its choose will read, so that the first choose reads it for all of them
   * in one statement (an inbound source's delivery keys) rather than each its own.
   */
  readonly enlist?: ((shared: CommitShared) => void) | undefined;
  /**
   * choose runs in the transaction before the commit writes any alert and returns which of the
   * batch's alerts to store (some of them, in their order; none for a redelivery). A read there
   * sees what no other commit can change before this one ends (SQLite's write lock), and on SQLite
   * costs a tenth of one made alone, which takes and drops the database's locks for itself.
   */
  readonly choose?: ((tx: Db, shared: CommitShared) => Promise<readonly NewAlert[]>) | undefined;
  /** alongside writes after the commit's alerts, given the ids of the batch's stored ones. */
  readonly alongside?: AlongsideWrite | undefined;
  /** settle runs once every batch's alongside has: it writes what the batches gathered in `shared`. */
  readonly settle?: ((tx: Db, shared: CommitShared) => Promise<void>) | undefined;
}

/** AlertIngest stores validated alerts for one running app and counts them for /metrics. */
export interface AlertIngest {
  /**
   * raise stores alerts durably (with what `inCommit` chooses and writes, in the same transaction)
   * and returns the ids of those stored once committed. It fails with the ingest stage's
   * StorageUnavailableError (retryable) or StorageRejectedError (permanent) when the database does.
   */
  raise(tenantId: string, alerts: readonly NewAlert[], inCommit?: InCommit): Promise<string[]>;
}

/** MAX_ALERTS_PER_COMMIT bounds one group commit, so that no transaction holds the writer long. */
const MAX_ALERTS_PER_COMMIT = 5_000;

/**
 * POSTGRES_COMMITS is how many group commits one process runs side by side on PostgreSQL, and when.
 * Each commit costs some six round trips and a WAL flush whatever its size, and a batch that finds
 * a slot free gets a commit of its own: with two slots always open, commits under bench:ingest held
 * 201–211 alerts on average with 1 api process and 127–143 with 2 (four commits in flight on one
 * tenant's rows, the flood locks and the WAL). So the second commit starts only once the one under
 * way has written its alerts (what is left of it, the Fatal decision and the commit's flush, a
 * third of its round trips, then overlaps the next one's begin, flood lookup and insert instead of
 * holding the batches that came meanwhile), or is stalled (waiting on a lock, such as a tenant being
 * deleted, or on a slow disk): one stalled commit holds the process's other tenants back that
 * long. Stalled is measured against the commits just made, so that on a loaded machine, where
 * every commit takes longer, one commit writing at a time stays the rule. Never more than two. A
 * batch of a dedup key whose flood a Success of the commit under way resolves waits for that commit
 * to end (resolvedFloods): its commit would wait for the key's resolution lock (resolution-locks.ts)
 * with the other batches it took. A commit takes batches up to RESOLUTION_LOCK_BUCKETS flood locks
 * (maxFloodLocks), as many as one tenant's batches can need: 50 tenants posting 1,000 new keys a
 * batch filled commits of five tenants' batches, some 3,200 flood locks each besides their up to
 * 1,024 resolution locks, and four such commits (two processes) are more than PostgreSQL's shared
 * lock table holds by default (some 12,500 here), when every transaction needing a lock fails
 * "out of shared memory".
 */
export const POSTGRES_COMMITS: CommitConcurrency = { max: 2, stalledAfterMs: 50, stalledAfterTypical: 4, maxFloodLocks: RESOLUTION_LOCK_BUCKETS };

/**
 * CommitConcurrency is how many group commits may run at once (`max`) and, when given, when a
 * running commit counts as stalled: writing for longer than `stalledAfterMs` and than
 * `stalledAfterTypical` times a recent commit's typical duration. A further commit starts only
 * while every one under way has written its alerts or is stalled. Without it, up to `max` start as
 * soon as there are batches.
 */
export interface CommitConcurrency {
  readonly max: number;
  readonly stalledAfterMs?: number | undefined;
  readonly stalledAfterTypical?: number | undefined;
  /**
   * The most flood locks (floodLockName of each dedup key of its batches) a commit may take: it takes
   * no batch that would pass them, but always its first. Without it, commits are bounded by
   * MAX_ALERTS_PER_COMMIT alone.
   */
  readonly maxFloodLocks?: number | undefined;
}

interface Pending {
  readonly tenantId: string;
  /** The batch's alerts: those stored, unless `inCommit.choose` picks some of them. */
  readonly alerts: readonly NewAlert[];
  readonly inCommit: InCommit | undefined;
  /** The flood locks its alerts' dedup keys may take (floodLocksOf), once asked. */
  floodLocks?: readonly string[];
  resolve(ids: string[]): void;
  reject(err: unknown): void;
}

/**
 * CommitDecision decides, inside the transaction that stores a group commit, what its Fatal alerts
 * bring (their immediate emails, queued with them), given those alerts per tenant, and returns
 * what to do once that transaction has committed: hand the queued rows to this process's sender,
 * returning a promise settled when their SMTP servers have answered, or ring the outbox's doorbell
 * (undefined). When it throws, the commit is made again without it: the alerts are stored
 * undecided, as if none were given, and decided after the commit or by the sweep.
 */
export type CommitDecision = (tx: Db, fatal: readonly FatalCommit[]) => Promise<() => Promise<unknown> | undefined>;

/**
 * ANSWER_WAIT_MS is the longest the callers of a commit that handed emails to this process's
 * sender wait for those emails' servers before they hear back (see answerAfter).
 */
const ANSWER_WAIT_MS = 25;

/**
 * answerAfter calls `answer` once `sent` settles, or after ANSWER_WAIT_MS, whichever comes first.
 * A Fatal alert's email is the most urgent thing the process has to do, and one JavaScript thread
 * does it all: the callers' answers (a 202 each, its hooks and socket writes, about half a
 * millisecond) written while the SMTP server's replies come in would make the email wait for them,
 * for the replies to MAIL, RCPT and DATA are read one turn of the event loop apart, and a woken
 * client shares the cores with the server it waits on. A prompt server has answered within a few
 * milliseconds; the cap keeps a slow or hanging one from holding the callers, whose alerts are
 * durable already.
 */
function answerAfter(sent: Promise<unknown>, answer: () => void): void {
  let answered = false;
  const once = () => {
    if (answered) return;
    answered = true;
    clearTimeout(cap);
    answer();
  };
  const cap = setTimeout(once, ANSWER_WAIT_MS);
  sent.then(once, once);
}

/** FatalDecisions are what a group commit does with the Fatal alerts it stores. */
export interface FatalDecisions {
  /** Decides them in the commit's own transaction; without it they are stored undecided. */
  readonly inCommit?: CommitDecision | undefined;
  /** Hears the Fatal alerts of a tenant that a commit stored undecided, once committed. */
  readonly undecided: (tenantId: string, alertIds: readonly string[]) => void;
  /** Hears why a decision in the commit failed (the commit was made again without it). */
  readonly failed?: ((err: unknown) => void) | undefined;
}

/** InCommitDecisionError wraps the failure of a CommitDecision, to tell it from a failure to store. */
class InCommitDecisionError extends Error {
  override readonly name = 'InCommitDecisionError';

  constructor(readonly reason: unknown) {
    super('the decision in the commit failed');
  }
}

/**
 * groupCommit stores the batches of concurrent requests together: while a commit is under way, new
 * batches queue, and the next commit takes them all in one transaction. A durable commit costs a
 * disk flush, so this turns one flush per request into one flush per busy moment. Every caller
 * still hears back only after its own rows are committed; if a shared commit fails, each batch is
 * retried alone so that one bad batch cannot fail its neighbours. The Fatal alerts are decided in
 * the same transaction when `fatal.inCommit` is given, so their emails need no commit of their own.
 * On SQLite (one commit at a time) a commit takes its batches once it holds the write lock, so
 * those that came while another process held it (writeTransaction) join it.
 */
export function groupCommit(
  storage: Storage,
  clock: Clock,
  windowMs: number,
  concurrency: number | CommitConcurrency,
  fatal?: FatalDecisions,
  lock?: WriteTransactionOptions,
): AlertIngest['raise'] {
  const queue: Pending[] = [];
  const { max, stalledAfterMs, stalledAfterTypical = 0, maxFloodLocks } = typeof concurrency === 'number' ? { max: concurrency } : concurrency;
  /**
   * A commit's typical duration in ms, a moving average over the last eight or so; each duration
   * counts at most twice the average, so that one stall (a lock held for seconds) does not make the
   * next stall look ordinary.
   */
  let typicalMs: number | undefined;
  /** The commits under way, one per running drain. */
  const running = new Set<Slot>();
  /** The timer that looks again once the youngest commit under way would count as stalled. */
  let recheck: NodeJS.Timeout | undefined;
  const transaction = floorTransaction(storage, lock);
  const committedKinds = new CommittedKinds();
  const takeOnceLocked = storage.dialect === 'sqlite';

  /**
   * resolvingElsewhere lists the floods that a Success stored by another commit under way resolves
   * (floodKey), until that commit has ended: a batch of one of those keys waits for it (heldBack).
   */
  const resolvingElsewhere = (slot: Slot | undefined): Set<string> => {
    const floods = new Set<string>();
    for (const other of running) if (other !== slot) for (const key of other.resolving ?? []) floods.add(key);
    return floods;
  };

  /** takable says whether the queue holds a batch that the commit of `slot` may take now (take). */
  const takable = (slot: Slot | undefined) => {
    const held = resolvingElsewhere(slot);
    return queue.some((item) => !heldBack(item, held));
  };

  /**
   * take takes the queued batches in their order, up to MAX_ALERTS_PER_COMMIT alerts and
   * maxFloodLocks flood locks (at least one batch), leaving those heldBack by a flood another commit
   * under way resolves for a later commit.
   */
  const take = (slot?: Slot): Pending[] => {
    const held = resolvingElsewhere(slot);
    const taken: Pending[] = [];
    const left: Pending[] = [];
    const floodLocks = new Set<string>();
    let count = 0;
    let i = 0;
    for (; i < queue.length; i++) {
      const item = queue[i]!;
      if (heldBack(item, held)) left.push(item);
      else if (taken.length > 0 && count + item.alerts.length > MAX_ALERTS_PER_COMMIT) break;
      else if (maxFloodLocks !== undefined && !tookFloodLocks(floodLocks, floodLocksOf(item), maxFloodLocks, taken.length === 0)) break;
      else {
        taken.push(item);
        count += item.alerts.length;
      }
    }
    // One splice for the whole look, as a queue of hundreds of batches is taken under load.
    queue.splice(0, i, ...left);
    return taken;
  };

  /**
   * write stores the batches of each tenant with one writeAlerts (one flood lookup and one insert
   * statement per tenant instead of per batch, floods grouped across them as if they had come one
   * by one), each batch's alerts as its `choose` picked them, then the writes that go alongside
   * each batch, given its own ids, and what they gathered to write once. It returns what it stored of each batch.
   */
  const write = async (tx: Db, items: readonly Pending[], now: number, decided: boolean, locked: boolean, kinds: Written[]): Promise<Stored[]> => {
    const shared: CommitShared = new Map();
    for (const item of items) item.inCommit?.enlist?.(shared);
    const chosen: (readonly NewAlert[])[] = [];
    for (const item of items) chosen.push(item.inCommit?.choose ? await item.inCommit.choose(tx, shared) : item.alerts);
    const out: string[][] = new Array(items.length);
    const mailing = new Map<string, boolean | undefined>();
    // Tenants in the order of their ids: their flood locks (writeAlerts) are then taken in one order by every commit.
    const byTenant = [...multiMap(items.map((item, i) => [item.tenantId, i] as const))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [tenantId, indexes] of byTenant) {
      const alerts = indexes.flatMap((i) => chosen[i]!);
      // Batches that chose nothing (redeliveries) write only alongside.
      const written =
        alerts.length === 0
          ? undefined
          : await writeAlertsTelling(tx, tenantId, alerts, now, windowMs, { undecided: !decided, resolutionsLocked: locked, committedKinds });
      if (written) kinds.push({ tenantId, now, kinds: written.kinds });
      const ids = written?.ids ?? [];
      mailing.set(tenantId, written?.mailing);
      let offset = 0;
      for (const i of indexes) {
        out[i] = ids.slice(offset, (offset += chosen[i]!.length));
      }
    }
    for (const [i, item] of items.entries()) await item.inCommit?.alongside?.(tx, out[i]!, shared);
    for (const item of items) await item.inCommit?.settle?.(tx, shared);
    return items.map((item, i) => ({ tenantId: item.tenantId, alerts: chosen[i]!, ids: out[i]!, mailing: mailing.get(item.tenantId) }));
  };

  /**
   * commit stores `given`, or when undefined what the queue holds once the transaction has begun,
   * in `slot`, which it marks as writing until the alerts are written.
   */
  const commit = async (slot: Slot, given: Pending[] | undefined, decide: CommitDecision | undefined): Promise<void> => {
    slot.writing = true;
    let items = given;
    let afterCommit: (() => Promise<unknown> | undefined) | undefined;
    let stored: Stored[];
    let written: Written[] = [];
    try {
      // Stamped no earlier than the report windows already judged (time-floor.ts): read before the clock.
      // Taken as the transaction begins, in its first round trip, when the batches are known by then (PostgreSQL).
      const locks = storage.dialect === 'postgres' && given ? resolutionLocks(given) : undefined;
      stored = await transaction(async (tx, floor) => {
        items ??= take(slot);
        written = [];
        const out = await write(tx, items, Math.max(clock.now(), floor), decide !== undefined, locks !== undefined, written);
        slot.resolving = resolvedFloods(out);
        wrote(slot);
        const commits = fatalCommits(out);
        if (decide && commits.length > 0) afterCommit = await decide(tx, commits).catch((err: unknown) => Promise.reject(new InCommitDecisionError(err)));
        return out;
      }, locks);
    } catch (err) {
      // Failed before it took its batches (no write lock within the busy timeout): they fail as it did.
      items ??= take(slot);
      slot.resolving = undefined;
      wrote(slot);
      if (err instanceof InCommitDecisionError) {
        fatal?.failed?.(err.reason);
        return commit(slot, items, undefined);
      }
      // Each caller hears the ingest stage's error: an outage (503, retry) or a refusal (4xx).
      if (items.length === 1) return items[0]!.reject(storageFailure('ingest', err));
      for (const item of items) await commit(slot, [item], decide);
      return;
    }
    slot.resolving = undefined;
    for (const w of written) committedKinds.remember(w.tenantId, w.now, w.kinds);
    let sent: Promise<unknown> | undefined;
    try {
      sent = afterCommit?.();
    } catch (err) {
      // The rows it queued are durable: they wait for a claim or their lease to run out.
      fatal?.failed?.(err);
    }
    if (!decide) for (const c of fatalCommits(stored)) fatal?.undecided(c.tenantId, c.alertIds);
    const answered = items!;
    const answer = () =>
      answered.forEach((item, i) => {
        item.resolve(stored[i]!.ids);
      });
    if (sent) answerAfter(sent, answer);
    else answer();
  };

  /** wrote marks the commit of `slot` as past its writes, which lets the next one start (startDrains). */
  const wrote = (slot: Slot) => {
    if (!slot.writing) return;
    slot.writing = false;
    startDrains();
  };

  const drain = async () => {
    const slot: Slot = { began: performance.now(), writing: true };
    running.add(slot);
    try {
      // Let the requests already read in this turn of the event loop join the commit.
      await new Promise((resolve) => setImmediate(resolve));
      // startDrains chose to start this commit; the batches that come during it wait for this one
      // only while no other commit writes (else for that one to have written, startDrains).
      for (let first = true; takable(slot) && (first || ![...running].some((other) => other !== slot && other.writing)); first = false) {
        slot.began = performance.now();
        await commit(slot, takeOnceLocked ? undefined : take(slot), fatal?.inCommit);
        const tookMs = performance.now() - slot.began;
        typicalMs = typicalMs === undefined ? tookMs : typicalMs + (Math.min(tookMs, 2 * typicalMs) - typicalMs) / 8;
      }
    } finally {
      running.delete(slot);
    }
  };

  /**
   * startDrains starts a commit for the queued batches when a slot is free and every commit under
   * way has written its alerts or is stalled.
   */
  const startDrains = () => {
    if (running.size >= max || !takable(undefined)) return;
    const writing = [...running].filter((r) => r.writing);
    if (writing.length === 0 || stalledAfterMs === undefined) return void drain();
    const youngest = Math.max(...writing.map((r) => r.began));
    const wait = youngest + Math.max(stalledAfterMs, stalledAfterTypical * (typicalMs ?? 0)) - performance.now();
    if (wait <= 0) return void drain();
    if (recheck) return;
    recheck = setTimeout(() => {
      recheck = undefined;
      startDrains();
    }, wait);
  };

  return (tenantId, alerts, inCommit) =>
    new Promise<string[]>((resolve, reject) => {
      queue.push({ tenantId, alerts, inCommit, resolve, reject });
      startDrains();
    });
}

/**
 * Slot is one running drain's commit: when it began (performance.now()), whether it is still writing
 * its alerts, and, once written and until it ends, the floods its Success alerts resolve (floodKey).
 */
interface Slot {
  began: number;
  writing: boolean;
  resolving?: ReadonlySet<string> | undefined;
}

/** floodKey names the flood of a tenant's dedup key. */
const floodKey = (tenantId: string, dedupKey: string) => `${tenantId}\n${dedupKey}`;

/**
 * resolvedFloods lists the floods (floodKey) that a commit's Success alerts resolve, undefined when
 * none. Until that commit ends another commit would not see the resolution, and one storing those
 * keys waits for it, at its first statement, for their resolution locks (resolution-locks.ts): the
 * batches of those keys wait in this process's queue instead, and the others are not held back with them.
 */
function resolvedFloods(batches: readonly Stored[]): Set<string> | undefined {
  let floods: Set<string> | undefined;
  for (const { tenantId, alerts } of batches) {
    for (const alert of alerts) if (alert.severity === 'Success' && alert.dedupKey !== null) (floods ??= new Set()).add(floodKey(tenantId, alert.dedupKey));
  }
  return floods;
}

/** floodLocksOf lists the flood locks a batch's dedup keys may take (floodLockName), each once; worked out once a batch. */
function floodLocksOf(item: Pending): readonly string[] {
  if (item.floodLocks === undefined) {
    const names = new Set<string>();
    for (const alert of item.alerts) if (alert.dedupKey !== null) names.add(floodLockName(item.tenantId, alert.dedupKey));
    item.floodLocks = [...names];
  }
  return item.floodLocks;
}

/**
 * tookFloodLocks adds a batch's flood locks to those of the commit taking it and says so, or says
 * that they would make more than `max` and adds none; the commit's first batch is always taken.
 */
function tookFloodLocks(taken: Set<string>, batch: readonly string[], max: number, first: boolean): boolean {
  if (!first) {
    let added = 0;
    for (const name of batch) if (!taken.has(name)) added += 1;
    if (taken.size + added > max) return false;
  }
  for (const name of batch) taken.add(name);
  return true;
}

/** heldBack says whether a queued batch has an alert of a flood in `resolving` (resolvedFloods): it waits for that commit to end. */
function heldBack(item: Pick<Pending, 'tenantId' | 'alerts'>, resolving: ReadonlySet<string>): boolean {
  return resolving.size > 0 && item.alerts.some((alert) => alert.dedupKey !== null && resolving.has(floodKey(item.tenantId, alert.dedupKey)));
}

/** Written is what a commit wrote of a tenant's kinds for the hour of `now`: remembered once it has committed. */
interface Written {
  readonly tenantId: string;
  readonly now: number;
  readonly kinds: readonly AlertKind[];
}

/** Stored is what a commit wrote of one batch: its alerts and their ids, in the same order. */
interface Stored {
  readonly tenantId: string;
  readonly alerts: readonly NewAlert[];
  readonly ids: string[];
  /** Whether the tenant's alert emails are on, as the commit's insert read it (FatalCommit's `mailing`). */
  readonly mailing: boolean | undefined;
}

/**
 * fatalCommits lists the Fatal alerts of a commit's batches, by tenant in the order first met, with
 * whether the tenant mails where the commit's insert read it.
 */
function fatalCommits(batches: readonly Stored[]): FatalCommit[] {
  const byTenant = new Map<string, { alertIds: string[]; mailing: boolean | undefined }>();
  for (const { tenantId, alerts, ids, mailing } of batches) {
    alerts.forEach((alert, j) => {
      if (alert.severity !== 'Fatal') return;
      const commit = byTenant.get(tenantId) ?? { alertIds: [], mailing };
      if (commit.alertIds.length === 0) byTenant.set(tenantId, commit);
      commit.alertIds.push(ids[j]!);
    });
  }
  return [...byTenant].map(([tenantId, { alertIds, mailing }]) => (mailing === undefined ? { tenantId, alertIds } : { tenantId, alertIds, mailing }));
}

/** CountStored counts alerts once their transaction committed (tocsin_alerts_stored_total). */
export type CountStored = (alerts: readonly { readonly severity: string }[]) => void;

/**
 * storedAlertsCounter registers a process's one tocsin_alerts_stored_total: the alerts its ingest
 * stores (REST, Orchestrator, sources' receive URLs) and those its pull sources import, which went
 * uncounted, so a worker importing from Orchestrator showed none stored while GET /alerts listed them.
 */
export function storedAlertsCounter(registry: Registry): CountStored {
  const stored = zeroedCounter(registry, {
    name: 'tocsin_alerts_stored_total',
    help: 'Alerts durably stored, by severity.',
    label: 'severity',
    values: SEVERITIES,
  });
  return (alerts) => {
    const bySeverity = new Map<string, number>();
    for (const a of alerts) bySeverity.set(a.severity, (bySeverity.get(a.severity) ?? 0) + 1);
    for (const [severity, n] of bySeverity) stored.inc({ severity }, n);
  };
}

/**
 * createAlertIngest builds a process's one AlertIngest, the pipeline's first stage (the REST and
 * the Orchestrator routes share it, and with it the group commit and the metric series). SQLite
 * has one writer, so one commit at a time; PostgreSQL one, and more only while those under way
 * are stalled (POSTGRES_COMMITS). The Fatal alerts are decided in the transaction that stores
 * them (decideInCommit); without it, or when it fails, they are stored undecided and signalled to
 * the decide stage once committed.
 */
export function createAlertIngest(deps: {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly floodWindowMs: number;
  /** Counts what it stores (storedAlertsCounter), with what the process's pull sources import. */
  readonly countStored: CountStored;
  readonly fatalSignal: FatalSignal;
  /** Decides the Fatal alerts in the transaction that stores them; those it could not are signalled. */
  readonly decideInCommit?: CommitDecision | undefined;
  readonly logger?: Logger | undefined;
}): AlertIngest {
  const commit = groupCommit(deps.storage, deps.clock, deps.floodWindowMs, deps.storage.dialect === 'sqlite' ? 1 : POSTGRES_COMMITS, {
    inCommit: deps.decideInCommit,
    undecided: coalescedFatalSignal(deps.fatalSignal),
    failed: (err) => deps.logger?.error({ err }, 'deciding Fatal alerts in their commit failed; stored undecided, they are decided after it'),
  });
  return {
    async raise(tenantId, alerts, inCommit) {
      // Counted as stored: the alerts the batch's choose picked in the transaction that committed (its last).
      let chosen = alerts;
      const choose = inCommit?.choose;
      const ids = await commit(tenantId, alerts, choose ? { ...inCommit, choose: async (tx, shared) => (chosen = await choose(tx, shared)) } : inCommit);
      deps.countStored(chosen);
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
