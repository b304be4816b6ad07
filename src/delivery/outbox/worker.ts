import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import pino from 'pino';
import type { Clock } from '../../shared/clock.js';
import { newId, randomToken } from '../../shared/ids.js';
import { multiMap } from '../../shared/multi-map.js';
import { isRetryable } from '../../shared/stage-error.js';
import { CONNECT_BACKOFF, backoffDelay } from '../../storage/connect.js';
import type { Dialect } from '../../storage/dialect.js';
import { OutageLog } from '../../storage/outage-log.js';
import type { ChangeMark } from '../../storage/change-mark.js';
import type { Storage } from '../../storage/storage.js';
import type { MailSender } from '../contract.js';
import { Admission, type HeldOut, type HeldRow } from './admission.js';
import { type AttemptContext, type AttemptOutcome, type EndpointResolver, attemptDelivery, onePerClaim } from './attempt.js';
import { AnsweredTime } from './answered-time.js';
import { AttemptRecorder } from './attempt-recorder.js';
import { idleWaitMs } from './idle-wait.js';
import type { ConcurrencyLimits } from './capacity.js';
import { type BreakerPolicy, DEFAULT_BREAKER_POLICY } from './circuit-breaker.js';
import type { ComposerRegistry } from './render.js';
import { fewRendersAtOnce } from './render-slots.js';
import type { OutboxDoorbell } from './doorbell.js';
import { type ClaimedBatch, type InsertLease, claimDue, releaseClaimed } from './leases.js';
import type { Delivery } from './delivery.js';
import { LeaseRenewal } from './leases-renewal.js';
import type { OutboxMetrics } from './metrics.js';
import { transientFailuresOf } from './outcomes.js';
import type { Random } from './retry-policy.js';
import { endedWithin } from '../../shared/stop-patience.js';
import type { UrgentSends } from '../../shared/urgent-sends.js';
import { isUrgentKind } from './urgency.js';

/** WorkerSettings tune a DeliveryWorker; tests shorten the lease and the poll. */
export interface WorkerSettings {
  /** How long a claim holds a row; renewed by the heartbeat, when about half of it is left, while the worker holds the row. */
  readonly leaseMs: number;
  readonly pollIntervalMs: number;
  /**
   * How long a worker whose claim found nothing due waits at most before looking again, when the
   * database told it when the next row falls due (it wakes then) and it hears of every other
   * process's rows (an `api` process's NOTIFY on PostgreSQL; on SQLite the file's ChangeMark,
   * looked at every poll): idleWaitMs. Unset: the poll.
   */
  readonly idlePollIntervalMs?: number;
  /** Most rows taken by one claim statement. */
  readonly batchSize: number;
  readonly limits: ConcurrencyLimits;
  readonly breaker: BreakerPolicy;
  /** How long transient failures are retried when the row names no deadline (TOCSIN_DELIVERY_DEADLINE_HOURS). */
  readonly deliveryDeadlineMs: number;
}

/**
 * COMMIT_WINDOW_MS is the shortest time between two commits of finished attempts: sends that finish
 * within it share one commit. It is also how long a crash may leave an accepted email unrecorded,
 * and so sent twice. On SQLite a commit is an fsync that blocks the whole process (every SMTP
 * connection waits), so results are gathered for 25 ms. PostgreSQL commits without blocking, yet
 * each commit is five statements (begin, mail health, results, attempt log, commit): with no window
 * a commit took what finished during the one before, so a worker sending half as fast, one of two
 * processes, made about twice the commits per email (0.034 against 0.057 in bench/scale-out.ts).
 * 25 ms there too bounds a busy worker to 40 commits a second, whatever its share of the queue; a
 * result after a quiet spell still commits at once.
 */
export const COMMIT_WINDOW_MS: Readonly<Record<Dialect, number>> = Object.freeze({ sqlite: 25, postgres: 25 });

/**
 * DEFAULT_WORKER_SETTINGS: a 10 s lease extended by a heartbeat once 5 s are left, so a killed worker's
 * mail moves again within about 10 s while a live worker keeps its rows through sends of any
 * length (a send starts only while its lease is confirmed for 3.3 s more), a 250 ms poll, and 400 sends in flight of
 * which at most 100 for one tenant. A send in flight may be queued in the sender's pool (10
 * connections per endpoint): claiming ahead in batches of 100 keeps the connections busy and the
 * commits few (each costs an fsync), and the per-tenant cap keeps one tenant from taking every slot.
 */
export const DEFAULT_WORKER_SETTINGS: WorkerSettings = Object.freeze({
  leaseMs: 10_000,
  pollIntervalMs: 250,
  batchSize: 100,
  limits: Object.freeze({ global: 400, perTenant: 100 }),
  breaker: DEFAULT_BREAKER_POLICY,
  deliveryDeadlineMs: 24 * 3_600_000,
});

/** DUE_NOW keys the rows handed back due at once (#handBack): the time of their write. */
const DUE_NOW = -1;

/**
 * PAUSED_RECHECK_MS: how often, at most, a worker reads again the settings of the tenants it keeps
 * out of claims because their server is paused (a few reads, and only while a server is paused).
 */
const PAUSED_RECHECK_MS = 2_000;

/** DeliveryWorkerDeps are what a worker is built from; time, randomness and the transport are injected. */
export interface DeliveryWorkerDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly sender: MailSender;
  readonly resolveEndpoint: EndpointResolver;
  /** Whether a row's settings were saved since a moment (AttemptContext's); without it, a failure keeps its backoff. */
  readonly settingsSavedSince?: AttemptContext['settingsSavedSince'];
  /** The changes to who gets which email made through this process's API (AttemptContext's `changes`). */
  readonly recipientChanges?: { of(tenantId: string): number };
  readonly composers: ComposerRegistry;
  /**
   * Told of each urgent email (a Fatal alert's, a mail-health notice) from its start until its server
   * answered: the composers' report renders give way to them (UrgentSends).
   */
  readonly urgentSends?: Pick<UrgentSends, 'begin'>;
  /** Where finished attempts are committed; by default a recorder with the engine's commit window. */
  readonly recorder?: AttemptRecorder;
  readonly settings?: Partial<WorkerSettings>;
  readonly logger?: Logger;
  readonly metrics?: OutboxMetrics;
  readonly random?: Random;
  readonly doorbell?: OutboxDoorbell;
  readonly workerId?: string;
  /**
   * Told of each breaker verdict that holds tenants' emails out (the mail health's
   * mailHealthHeldOut): no attempt of theirs tells that their mail is not going out.
   */
  readonly heldOut?: (held: HeldOut) => Promise<void>;
}

/**
 * DeliveryWorker is the claim loop of the outbox: it claims due rows under a lease, hands each to
 * one attempt (attempt.ts: resolve the endpoint, render, send) as admission (admission.ts: slots
 * per tenant, breakers per server) lets it start, and records every attempt in group commits.
 * Rows claimed beyond a tenant's free slots wait in the worker under lease, so connections stay
 * busy while the database commits; `stop()` finishes the sends in flight and hands the waiting
 * rows back.
 */
export class DeliveryWorker {
  readonly id: string;
  readonly settings: WorkerSettings;
  readonly #deps: DeliveryWorkerDeps;
  readonly #log: Logger;
  readonly #admission: Admission;
  readonly #attempt: AttemptContext;
  readonly #renewal: LeaseRenewal;
  readonly #recorder: AttemptRecorder;
  readonly #answered: AnsweredTime;
  /** The run of answers (its start) in which the rows left to their owner were last logged. */
  #leftLoggedIn: number | undefined;
  /** Rows this worker is working on (sending, or sent and waiting for the commit), by id. */
  readonly #inFlight = new Map<string, { token: string; tenantId: string; done: Promise<void> }>();
  /** adopt's waits for the server's answer to rows leased at insert, by id. */
  readonly #answerWaiters = new Map<string, () => void>();
  #stopping = false;
  /** The rows handed back meanwhile, gathered into one write per time they are due again (#handBack). */
  readonly #handingBack = new Map<number, { readonly rows: Delivery[]; readonly done: Promise<void> }>();
  /** Aborted by stop(): the sends still waiting for a connection are called off and handed back. */
  readonly #stopSends = new AbortController();
  #running = false;
  #loop: Promise<void> | undefined;
  #woken = false;
  /** Claims in a row that failed for an outage: the claim loop waits a back-off while there are any. */
  #claimFailures = 0;
  /** Logs an outage of the claim once when it begins and once when it ends, not each failed claim. */
  readonly #claimOutage: OutageLog;
  #wakeSleeper: (() => void) | undefined;
  #unsubscribe: (() => void) | undefined;
  /** Callers of idle() waiting for the loop's next idle moment. */
  #idleWaiters: (() => void)[] = [];
  /** When the paused tenants' settings were last read again (performance.now(): a rate, not a time of the clock). */
  #pausedCheckedAt = Number.NEGATIVE_INFINITY;
  /** The paused tenants whose settings are being read again (#recheckPaused). */
  readonly #rechecking = new Set<string>();

  constructor(deps: DeliveryWorkerDeps) {
    this.#deps = deps;
    this.settings = Object.freeze({ ...DEFAULT_WORKER_SETTINGS, ...deps.settings });
    this.id = deps.workerId ?? `worker-${newId()}`;
    this.#log = deps.logger ?? pino({ level: 'silent' });
    this.#claimOutage = new OutageLog(this.#log, { failed: 'delivery claim failed; backing off', back: 'the delivery claim works again' });
    this.#admission = new Admission(this.settings.limits, this.settings.batchSize, this.settings.breaker, this.#log);
    this.#attempt = {
      clock: deps.clock,
      sender: deps.sender,
      endpointOf: onePerClaim(deps.resolveEndpoint, deps.clock, this.#stopSends.signal),
      composers: fewRendersAtOnce(deps.composers),
      gate: this.#admission,
      log: this.#log,
      random: deps.random ?? Math.random,
      deliveryDeadlineMs: this.settings.deliveryDeadlineMs,
      metrics: deps.metrics,
      leased: (delivery, ticks) => this.#renewal.leased(delivery.id, deps.clock.now(), ticks),
      stopping: this.#stopSends.signal,
      failedBefore: (delivery) => transientFailuresOf(deps.storage, delivery.id),
      settingsSavedSince: deps.settingsSavedSince,
      changes: deps.recipientChanges && ((tenantId) => deps.recipientChanges!.of(tenantId)),
      localFailures: new OutageLog(this.#log, {
        failed: 'emails cannot be sent for a cause of this process, not of their SMTP server; they are retried',
        back: 'emails can be sent again',
      }),
    };
    // Every send waiting for a connection listens to it (hundreds under a burst): no leak to warn of.
    setMaxListeners(0, this.#stopSends.signal);
    this.#renewal = new LeaseRenewal({
      storage: deps.storage,
      clock: deps.clock,
      leaseMs: this.settings.leaseMs,
      log: this.#log,
      held: () => {
        const leases = new Map([...this.#inFlight].map(([id, f]) => [id, f.token]));
        for (const w of this.#admission.waiting) leases.set(w.delivery.id, w.delivery.leaseToken!);
        return leases;
      },
      heldTenants: () =>
        multiMap([
          ...Array.from(this.#inFlight, ([id, f]) => [f.tenantId, id] as const),
          ...Array.from(this.#admission.waiting, (w) => [w.delivery.tenantId, w.delivery.id] as const),
        ]),
    });
    this.#recorder = deps.recorder ?? new AttemptRecorder(deps.storage, COMMIT_WINDOW_MS[deps.storage.dialect]);
    this.#answered = new AnsweredTime({
      storage: deps.storage,
      clock: deps.clock,
      leaseMs: this.settings.leaseMs,
      // A claim loop backing off through an outage (up to 15 s a wait) claims as soon as the
      // database answers a heartbeat again, rather than sending up to a back-off late.
      onRun: () => {
        if (this.#claimFailures > 0) this.wake();
      },
    });
  }

  /** start runs the claim loop until stop(); the doorbell and wake() cut a poll short. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#unsubscribe = this.#deps.doorbell?.subscribe(() => this.wake());
    this.#answered.start();
    this.#loop = this.#run();
  }

  /**
   * stop claims nothing more and resolves once every send a connection has taken is finished and
   * recorded; the rows still waiting (for a slot, or for a connection to a slow server) go back to
   * the queue unsent, so that a stop takes one server reply at most, not the whole backlog. With
   * `patience` (a stopping process's), a claim or that hand-back is not waited for past it
   * (endedWithin): their rows come back when their leases end. Sends in flight are always waited
   * for: the server may have taken them, and only their record keeps them from going twice.
   */
  async stop(patience?: AbortSignal): Promise<void> {
    this.#running = false;
    this.#stopping = true;
    this.#stopSends.abort();
    this.#unsubscribe?.();
    this.wake();
    await endedWithin(this.#loop, patience, this.#log, "the outbox worker's claim");
    this.#answered.stop();
    this.#settleIdle();
    // Rows not started yet go back to the queue for another worker rather than out at shutdown.
    const waiting = this.#admission.takeWaiting().map((w) => w.delivery);
    if (waiting.length > 0) {
      const handedBack = releaseClaimed(this.#deps.storage, waiting, this.#deps.clock.now()).catch((err: unknown) =>
        this.#log.warn({ err }, 'could not hand back the emails not started; they are claimed again when their leases end'),
      );
      await endedWithin(handedBack, patience, this.#log, 'the hand-back of the emails not started');
    }
    await this.drain();
  }

  /** wake makes the loop claim now rather than at its next poll. */
  wake(): void {
    this.#woken = true;
    this.#wakeSleeper?.();
  }

  /**
   * heartbeat asks the database whether it answers now (AnsweredTime.beat): the running worker does
   * every sixth of a lease; a test driving a fake clock calls it as it moves the clock.
   */
  heartbeat(): Promise<void> {
    return this.#answered.beat();
  }

  /** runOnce claims one batch and waits until those sends are recorded; tests drive time with it. */
  async runOnce(): Promise<number> {
    const { claimed } = await this.#claimAndDispatch();
    await this.drain();
    return claimed;
  }

  /** drain waits for every send in flight to finish and be recorded. */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight.values()].map((f) => f.done));
  }

  /**
   * idle resolves the next time the claim loop finds nothing to claim with no send in flight, as it
   * starts waiting for its next poll or wake (or at once when the worker stops): a test waits on it
   * to know that everything due has been sent, instead of sleeping to see that nothing more happens.
   */
  idle(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #settleIdle(): void {
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** inFlightCount is how many rows are being sent or recorded, for tests and graceful-stop logs. */
  /** pausedTenants are the tenants this worker keeps out of its claims now, their server being paused. */
  pausedTenants(now: number): readonly string[] {
    return this.#admission.pausedTenants(now);
  }

  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let full = false;
      let waitMs = this.settings.pollIntervalMs;
      let look: (() => boolean) | undefined;
      try {
        const claim = await this.#claimAndDispatch();
        const { claimed, limit } = claim;
        this.#claimFailures = 0;
        this.#claimOutage.worked();
        full = claimed > 0 && claimed === limit;
        ({ waitMs, look } = this.#waitAfter(claim));
        if (claimed === 0 && this.#inFlight.size === 0 && this.#admission.waiting.length === 0) this.#settleIdle();
      } catch (err) {
        // The claim stage's error says whether waiting helps: an outage backs off (doubling from a
        // poll up to CONNECT_BACKOFF's ceiling), so a database that is down is not hammered every poll.
        if (isRetryable(err)) {
          waitMs = backoffDelay(this.#claimFailures++, { firstMs: this.settings.pollIntervalMs, maxMs: CONNECT_BACKOFF.maxMs }, this.#attempt.random);
          this.#claimOutage.failed(err, waitMs);
        } else {
          this.#log.error({ err }, 'the database refused the delivery claim; trying again at the next poll');
        }
      }
      // A full batch means more rows may be due: go again at once, without waiting a poll.
      if (this.#running && !full) await this.#sleep(waitMs, look);
    }
  }

  /**
   * #waitAfter is how long the loop sleeps after a claim (idleWaitMs): with nothing due, until the
   * first queued row falls due, or a wake (new rows, a slot freed), and on SQLite until its look at
   * a poll sees the file changed or that time reached (#sleep).
   */
  #waitAfter(claim: { nextDueAt?: number | null; mark?: string; pausedAtClaim?: boolean }): { waitMs: number; look?: () => boolean } {
    const now = this.#deps.clock.now();
    const { changeMark } = this.#deps.storage;
    const { mark, nextDueAt } = claim;
    const waitMs = idleWaitMs({
      nextDueAt,
      now,
      pollMs: this.settings.pollIntervalMs,
      idlePollMs: this.settings.idlePollIntervalMs,
      heard: changeMark === undefined ? 'notified' : mark === undefined ? 'unseen' : 'watched',
      // A pause that ended during the claim still left its tenant's rows out of it, and they may be older than
      // the mark: only a poll finds them.
      paused: claim.pausedAtClaim === true || this.#admission.pausedTenants(now).length > 0,
    });
    if (!changeMark || mark === undefined || waitMs <= this.settings.pollIntervalMs) return { waitMs };
    const due = nextDueAt ?? Number.POSITIVE_INFINITY;
    return { waitMs, look: () => fileChanged(changeMark, mark) || this.#deps.clock.now() >= due };
  }

  /**
   * #sleep waits `ms`, or until a wake, or, with `look`, until it says so at one of the polls: on
   * SQLite, the file changed since the claim looked (another process's rows: an api process's Fatal
   * email, a stopping worker's hand-back, a renewal that moves a lease's end), or the clock reached
   * the next due row's time (a clock stepped forward; a test's fake one). Those come as soon as the
   * poll would have found them, and a poll whose look finds neither costs no claim.
   */
  async #sleep(ms: number, look?: () => boolean): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const looks = look && setInterval(() => look() && done(), this.settings.pollIntervalMs);
      function done() {
        clearTimeout(timer);
        if (looks) clearInterval(looks);
        resolve();
      }
      this.#wakeSleeper = done;
    });
    this.#wakeSleeper = undefined;
    this.#woken = false;
  }

  /**
   * leaseForInsert is the lease a transaction that queues mail in this process may write on its
   * rows (enqueueLeased), so that this worker sends them once it commits (adopt) without claiming
   * them: none when the worker is stopping or has no room for more, and the rows then wait for a
   * claim, this worker's or another's.
   */
  leaseForInsert(now: number): InsertLease | undefined {
    if (!this.#running || this.#admission.plan(now).limit === 0) return undefined;
    return { workerId: this.id, token: randomToken(), now, until: now + this.settings.leaseMs };
  }

  /**
   * adopt takes the rows leased to this worker at insert, once their transaction has committed,
   * and sends them as it sends claimed ones. A worker stopped meanwhile hands them back. The
   * promise settles once the SMTP server of each row started at once has answered its attempt
   * (accepted, refused or failed); rows admission holds back for a free slot are not waited for.
   */
  adopt(batch: ClaimedBatch, lease: InsertLease): Promise<void> {
    if (batch.deliveries.length === 0) return Promise.resolve();
    this.#deps.metrics?.claimed.inc({ how: 'insert' }, batch.deliveries.length);
    if (this.#stopping) {
      releaseClaimed(this.#deps.storage, batch.deliveries, this.#deps.clock.now()).catch((err: unknown) =>
        this.#log.error({ err }, 'could not hand back the rows leased at insert; they are due again when the lease runs out'),
      );
      return Promise.resolve();
    }
    const answered = batch.deliveries.map((d) => new Promise<void>((resolve) => this.#answerWaiters.set(d.id, resolve)));
    this.#take(batch, lease.now, lease.until);
    for (const d of batch.deliveries) if (!this.#inFlight.has(d.id)) this.#heardBack(d.id);
    return Promise.all(answered).then(() => undefined);
  }

  /** #heardBack settles adopt's wait for one row, if it has one. */
  #heardBack(deliveryId: string): void {
    const waiter = this.#answerWaiters.get(deliveryId);
    if (!waiter) return;
    this.#answerWaiters.delete(deliveryId);
    waiter();
  }

  /**
   * #claimAndDispatch claims a batch and hands it to admission. With nothing due it says when the
   * next row is, and the SQLite file's ChangeMark as it was before the claim looked (`mark`): a
   * commit after that look makes the file's mark differ (#sleep); `pausedAtClaim`, whether it left
   * a paused server's tenants out, whose rows neither that time nor the mark tells of.
   */
  async #claimAndDispatch(): Promise<{ claimed: number; limit: number; nextDueAt?: number | null; mark?: string; pausedAtClaim?: boolean }> {
    const now = this.#deps.clock.now();
    this.#recheckPaused(now);
    const plan = this.#admission.plan(now);
    if (plan.limit === 0) return { claimed: 0, limit: 0 };
    // Once the database is back from an outage, this worker's results first (recorder.caughtUp).
    await this.#recorder.caughtUp();
    const mark = this.#deps.storage.changeMark?.();
    const batch = await claimDue(this.#deps.storage, {
      workerId: this.id,
      now,
      leaseMs: this.settings.leaseMs,
      limit: plan.limit,
      excludeTenants: plan.excludeTenants,
      takeOver: () => {
        this.#answered.answered();
        return this.#answered.wholeLease();
      },
    });
    if (batch.leftToOwners !== undefined) this.#logLeftToOwners(batch.leftToOwners);
    if (batch.deliveries.length > 0) this.#deps.metrics?.claimed.inc({ how: 'claim' }, batch.deliveries.length);
    this.#take(batch, now, now + this.settings.leaseMs, batch.deliveries.length === plan.limit);
    const pausedAtClaim = this.#admission.pausedTenants(now).length > 0;
    return { claimed: batch.deliveries.length, limit: plan.limit, nextDueAt: batch.nextDueAt, mark, pausedAtClaim };
  }

  /**
   * #logLeftToOwners says, once per run of the database's answers, that rows whose lease ran out
   * wait for their owner to renew them (after an outage, or this worker's start) rather than being
   * taken over now, and from when they may be.
   */
  #logLeftToOwners(count: number): void {
    const since = this.#answered.since;
    if (since === undefined || since === this.#leftLoggedIn) return;
    this.#leftLoggedIn = since;
    this.#log.info(
      { deliveries: count, takeOverFrom: new Date(since + this.settings.leaseMs).toISOString() },
      'emails whose lease ran out are left to their worker until the database has answered this one for a whole lease; their worker may be alive, its results not yet recorded',
    );
  }

  /**
   * #recheckPaused reads again which server the tenants kept out for a paused one send through: an
   * administrator who fixed the settings that paused it (a wrong port refusing connections) sees
   * the emails brought forward by the save go out now, not after the old server's cool-down, up to
   * 10 minutes. A tenant with no endpoint now stays out; its rows fail on their next claim. The
   * reads run beside the claims, one at a time per tenant, and a tenant moved off its paused server
   * wakes the loop: a read may take the tenant's whole timeout (its server's name looked up under
   * TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS=false, DNS not answering), and awaited by the claim it held
   * every other tenant's mail that long, every 2 s.
   */
  #recheckPaused(now: number): void {
    const at = performance.now();
    if (at - this.#pausedCheckedAt < PAUSED_RECHECK_MS) return;
    this.#pausedCheckedAt = at;
    for (const tenantId of this.#admission.pausedTenants(now)) {
      if (this.#rechecking.has(tenantId)) continue;
      this.#rechecking.add(tenantId);
      this.#deps
        .resolveEndpoint(tenantId, 'tenant', null, this.#stopSends.signal)
        .then(
          (endpoint) => {
            this.#admission.seenServer(tenantId, endpoint);
            if (!this.#admission.pausedTenants(this.#deps.clock.now()).includes(tenantId)) this.wake();
          },
          // Alerts email switched off, settings refused, the database away: it stays out until its server's cool-down ends.
          () => {},
        )
        .finally(() => this.#rechecking.delete(tenantId));
    }
  }

  /** #take holds leased rows (claimed, or leased at insert) and starts those admission lets start. */
  #take(batch: ClaimedBatch, claimedAt: number, leasedUntil: number, full?: boolean): void {
    this.#renewal.claimed(
      batch.deliveries.map((d) => d.id),
      leasedUntil,
    );
    const rows = batch.deliveries.map((delivery) => ({ tenantId: delivery.tenantId, delivery, claimedAt }));
    this.#admission.hold(rows, full);
    this.#pump();
  }

  /** #pump starts the held rows whose tenant has a free slot, oldest first. */
  #pump(): void {
    if (this.#stopping) return;
    for (const row of this.#admission.admit()) this.#dispatch(row);
  }

  #dispatch(row: HeldRow): void {
    const { tenantId, delivery } = row;
    // The slot frees when the server has answered, not when the result is committed: commits
    // are grouped, and waiting for one must not keep the connections idle.
    let slotFreed = false;
    // Until its server answers: recording the result needs no haste.
    const urgentEnded = isUrgentKind(delivery.kind) ? this.#deps.urgentSends?.begin() : undefined;
    const freeSlot = () => {
      if (slotFreed) return;
      slotFreed = true;
      urgentEnded?.();
      this.#heardBack(delivery.id);
      this.#admission.release(tenantId);
      this.#pump();
      if (this.#admission.worthClaiming(tenantId)) this.wake();
    };
    const done = this.#deliver(row, freeSlot)
      .catch((err: unknown) => {
        // The row keeps its lease and comes back when it expires: a duplicate at worst, never a loss.
        this.#log.error({ err, delivery: delivery.id }, 'could not record a delivery attempt');
      })
      .finally(() => {
        freeSlot();
        this.#inFlight.delete(delivery.id);
        if (this.#inFlight.size === 0) this.#renewal.stop();
      });
    this.#inFlight.set(delivery.id, { token: delivery.leaseToken!, tenantId: delivery.tenantId, done });
    this.#renewal.start();
  }

  /** #tellHeldOut hands the breakers' verdicts that held tenants out to the mail health, once each. */
  async #tellHeldOut(): Promise<void> {
    for (const held of this.#admission.takeHeldOut()) {
      try {
        await this.#deps.heldOut?.(held);
      } catch (err) {
        this.#log.error({ err, tenants: held.tenantIds.length }, 'could not record the mail health of the tenants a paused server holds out');
      }
    }
  }

  /**
   * #handBack puts a row this worker did not send back in the queue. A stop calls off every send
   * still waiting for a connection at once (hundreds): one write each waited its turn for SQLite's
   * lock beside busy api processes, 15 s, past the stop's grace; and so does a server's pause, which
   * calls off its sends still waiting for one of its connections (up to a tenant's 100) until it ends.
   * The rows handed back together go in one write per time they are due again, at the next turn of
   * the event loop: those due now (a stop) at the time of that write, the others keeping theirs.
   */
  #handBack(delivery: Delivery, retryAt: number): Promise<void> {
    const now = this.#deps.clock.now();
    const key = retryAt <= now ? DUE_NOW : retryAt;
    const gathering = this.#handingBack.get(key);
    if (gathering) {
      gathering.rows.push(delivery);
      return gathering.done;
    }
    const rows = [delivery];
    const done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.#handingBack.delete(key);
      return releaseClaimed(this.#deps.storage, rows, key === DUE_NOW ? this.#deps.clock.now() : key);
    });
    this.#handingBack.set(key, { rows, done });
    return done;
  }

  async #deliver({ delivery, claimedAt }: HeldRow, freeSlot: () => void): Promise<void> {
    const startedAt = this.#deps.clock.now();
    let outcome: AttemptOutcome;
    try {
      outcome = await attemptDelivery(this.#attempt, delivery);
    } finally {
      freeSlot();
    }
    await this.#tellHeldOut();
    const metrics = this.#deps.metrics;
    if (outcome.status === 'unleased') {
      // Not sent: the row's next owner (maybe this worker, once the lease ran out) sends it; a row
      // deleted with its tenant has none, and nothing went wrong.
      if (this.#renewal.deleted(delivery.id)) this.#log.debug({ delivery: delivery.id }, 'email deleted with its tenant before the send; not sending');
      else this.#log.warn({ delivery: delivery.id }, 'lease lost or in doubt before the send; not sending');
      metrics?.attempts.inc({ outcome: 'lost_lease' });
      return;
    }
    if (outcome.status === 'deferred') {
      await this.#handBack(delivery, outcome.retryAt);
      metrics?.attempts.inc({ outcome: 'deferred' });
      return;
    }
    const recorded = await this.#recorder.record({
      deliveryId: delivery.id,
      tenantId: delivery.tenantId,
      leaseToken: delivery.leaseToken!,
      attempt: delivery.attempts,
      worker: this.id,
      claimedAt,
      startedAt,
      finishedAt: this.#deps.clock.now(),
      result: outcome,
    });
    if (recorded === true) {
      this.#log.warn({ delivery: delivery.id, outcome: outcome.status }, 'lease lost during a send; the new owner decides');
      metrics?.attempts.inc({ outcome: 'lost_lease' });
      return;
    }
    // A row deleted with its tenant lost no lease: the attempt went as the server answered (an
    // email it took counts as sent, as its logs count it); only a final status is gone with the row.
    metrics?.attempts.inc({ outcome: outcome.status === 'retrying' ? 'retry' : outcome.status });
    if (outcome.status !== 'sent') metrics?.failures.inc({ stage: outcome.stage });
    if (recorded === 'gone') this.#log.debug({ delivery: delivery.id, outcome: outcome.status }, 'email deleted with its tenant during its send');
    else if (outcome.status !== 'retrying') metrics?.finished.inc({ status: outcome.status });
  }
}

/**
 * fileChanged says whether the SQLite file's mark differs from `mark`; inside a transaction it cannot
 * tell (ChangeMark), and says no until the next look. A mark that cannot be read at all (the
 * connection closed under a running worker, the file gone) says yes: the claim then meets what is
 * wrong and backs off through its outage, where a throw in the poll's timer was an uncaught
 * exception that ended the process.
 */
function fileChanged(changeMark: ChangeMark, mark: string): boolean {
  try {
    const now = changeMark();
    return now !== undefined && now !== mark;
  } catch {
    return true;
  }
}
