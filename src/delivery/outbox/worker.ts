import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import pino from 'pino';
import type { Clock } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import type { Dialect } from '../../storage/dialect.js';
import type { Storage } from '../../storage/storage.js';
import { type MailSender, type RenderedEmail, type SmtpEndpoint, SmtpDeliveryError } from '../contract.js';
import { type ConcurrencyLimits, admitClaimed, planClaim } from './capacity.js';
import {
  type BreakerPolicy,
  type BreakerState,
  DEFAULT_BREAKER_POLICY,
  breakerAdmit,
  breakerBlocked,
  breakerFailed,
  breakerSucceeded,
  closedBreaker,
} from './circuit-breaker.js';
import { type ComposerRegistry, MissingComposerError, renderDelivery } from './composers.js';
import type { Delivery } from './delivery.js';
import type { OutboxDoorbell } from './doorbell.js';
import { claimDue, releaseClaimed, renewLeases } from './leases.js';
import type { OutboxMetrics } from './metrics.js';
import { AttemptRecorder } from './attempt-recorder.js';
import type { AttemptResult } from './outcomes.js';
import { redactSecrets } from './redact.js';
import { type Random, decideAfterFailure } from './retry-policy.js';

/** WorkerSettings tune a DeliveryWorker; tests shorten the lease and the poll. */
export interface WorkerSettings {
  /** How long a claim holds a row; renewed every third of it while the send runs. */
  readonly leaseMs: number;
  readonly pollIntervalMs: number;
  /** Most rows taken by one claim statement. */
  readonly batchSize: number;
  readonly limits: ConcurrencyLimits;
  readonly breaker: BreakerPolicy;
  /** How long transient failures are retried when the row names no deadline (TOCSIN_DELIVERY_DEADLINE_HOURS). */
  readonly deliveryDeadlineMs: number;
  /** How long a tenant's resolved endpoint is reused, so settings are not decrypted per email. */
  readonly endpointCacheMs: number;
  /**
   * Shortest time between two commits of finished attempts: sends that finish within it share one
   * commit. It is also how long a crash may leave an accepted email unrecorded, and so sent twice.
   * Default by engine (COMMIT_WINDOW_MS).
   */
  readonly commitWindowMs?: number;
}

/**
 * COMMIT_WINDOW_MS: on SQLite a commit is an fsync that blocks the whole process (every SMTP
 * connection waits), so results are gathered for 25 ms; PostgreSQL commits without blocking, and
 * the results that finish during one commit already form the next batch.
 */
export const COMMIT_WINDOW_MS: Readonly<Record<Dialect, number>> = Object.freeze({ sqlite: 25, postgres: 0 });

/**
 * DEFAULT_WORKER_SETTINGS: a 60 s lease (far longer than one send's timeouts, short enough that a
 * killed worker's mail moves again within a minute), a 250 ms poll, and 400 sends in flight of
 * which at most 100 for one tenant. A send in flight may be queued in the sender's pool (10
 * connections per endpoint): claiming ahead in batches of 100 keeps the connections busy and the
 * commits few (each costs an fsync), and the per-tenant cap keeps one tenant from taking every slot.
 */
export const DEFAULT_WORKER_SETTINGS: WorkerSettings = Object.freeze({
  leaseMs: 60_000,
  pollIntervalMs: 250,
  batchSize: 100,
  limits: Object.freeze({ global: 400, perTenant: 100 }),
  breaker: DEFAULT_BREAKER_POLICY,
  deliveryDeadlineMs: 24 * 3_600_000,
  endpointCacheMs: 2_000,
});

/** EndpointResolution is a tenant's endpoint, or why it has none and whether that may pass (settings' resolveEndpoint). */
export type EndpointResolution =
  | { readonly endpoint: SmtpEndpoint }
  | { readonly endpoint: null; readonly message: string; readonly retryable: boolean };

/** EndpointResolver gives a tenant's effective SMTP endpoint (its custom settings or the system default). */
export type EndpointResolver = (tenantId: string) => Promise<EndpointResolution>;

/** DeliveryWorkerDeps are what a worker is built from; time, randomness and the transport are injected. */
export interface DeliveryWorkerDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly sender: MailSender;
  readonly resolveEndpoint: EndpointResolver;
  readonly composers: ComposerRegistry;
  readonly settings?: Partial<WorkerSettings>;
  readonly logger?: Logger;
  readonly metrics?: OutboxMetrics;
  readonly random?: Random;
  readonly doorbell?: OutboxDoorbell;
  readonly workerId?: string;
}

type Outcome = AttemptResult | { readonly status: 'deferred'; readonly retryAt: number };

/**
 * DeliveryWorker moves the outbox: it claims due rows under a lease, sends each through its
 * tenant's endpoint, and records every attempt. It is a thin loop around pure decisions
 * (planClaim, admitClaimed, breakerAdmit, decideAfterFailure). Rows claimed beyond a tenant's free
 * slots wait in the worker under lease, so connections stay busy while the database commits;
 * `stop()` finishes the sends in flight and hands the waiting rows back.
 */
export class DeliveryWorker {
  readonly id: string;
  readonly settings: WorkerSettings;
  readonly #deps: DeliveryWorkerDeps;
  readonly #log: Logger;
  readonly #random: Random;
  /** Rows this worker is working on (sending, or sent and waiting for the commit), by id. */
  readonly #inFlight = new Map<string, { tenantId: string; token: string; done: Promise<void> }>();
  /** Sends talking to a server, by tenant and in all: what the concurrency limits bound. */
  readonly #sendingByTenant = new Map<string, number>();
  #sendingTotal = 0;
  /** Claimed rows whose tenant is at its limit: held under lease until one of its sends ends. */
  #waiting: { tenantId: string; delivery: Delivery; attemptId: string }[] = [];
  #stopping = false;
  /** The last claim took all it asked for, so more rows are probably due. */
  #lastClaimFull = false;
  readonly #breakers = new Map<string, BreakerState>();
  readonly #tenantEndpoint = new Map<string, string>();
  readonly #endpointCache = new Map<string, { resolution: Promise<EndpointResolution>; expiresAt: number }>();
  readonly #recorder: AttemptRecorder;
  #running = false;
  #loop: Promise<void> | undefined;
  #woken = false;
  #wakeSleeper: (() => void) | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(deps: DeliveryWorkerDeps) {
    this.#deps = deps;
    this.settings = Object.freeze({ ...DEFAULT_WORKER_SETTINGS, ...deps.settings });
    this.id = deps.workerId ?? `worker-${newId()}`;
    this.#log = deps.logger ?? pino({ level: 'silent' });
    this.#random = deps.random ?? Math.random;
    this.#recorder = new AttemptRecorder(deps.storage, this.settings.commitWindowMs ?? COMMIT_WINDOW_MS[deps.storage.dialect]);
  }

  /** start runs the claim loop until stop(); the doorbell and wake() cut a poll short. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#unsubscribe = this.#deps.doorbell?.subscribe(() => this.wake());
    this.#loop = this.#run();
  }

  /** stop claims nothing more and resolves once every send in flight is finished and recorded. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopping = true;
    this.#unsubscribe?.();
    this.wake();
    await this.#loop;
    // Rows not started yet go back to the queue for another worker rather than out at shutdown.
    await releaseClaimed(this.#deps.storage, this.#waiting.splice(0), this.#deps.clock.now());
    await this.drain();
  }

  /** wake makes the loop claim now rather than at its next poll. */
  wake(): void {
    this.#woken = true;
    this.#wakeSleeper?.();
  }

  /** runOnce claims one batch and waits until those sends are recorded; tests drive time with it. */
  async runOnce(): Promise<number> {
    const claimed = await this.#claimAndDispatch();
    await this.drain();
    return claimed;
  }

  /** drain waits for every send in flight to finish and be recorded. */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight.values()].map((f) => f.done));
  }

  /** inFlightCount is how many rows are being sent or recorded, for tests and graceful-stop logs. */
  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let full = false;
      try {
        const { claimed, limit } = await this.#claimAndDispatchSized();
        full = claimed > 0 && claimed === limit;
      } catch (err) {
        this.#log.error({ err }, 'delivery claim failed; retrying at the next poll');
      }
      // A full batch means more rows may be due: go again at once, without waiting a poll.
      if (this.#running && !full) await this.#sleep(this.settings.pollIntervalMs);
    }
  }

  async #sleep(ms: number): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeSleeper = done;
    });
    this.#wakeSleeper = undefined;
    this.#woken = false;
  }

  async #claimAndDispatch(): Promise<number> {
    return (await this.#claimAndDispatchSized()).claimed;
  }

  async #claimAndDispatchSized(): Promise<{ claimed: number; limit: number }> {
    const { storage, clock } = this.#deps;
    const now = clock.now();
    // A tenant's waiting rows count against its own limit only: rows held for a hanging server
    // must not use up the slots other tenants' mail needs.
    const held = new Map(this.#sendingByTenant);
    for (const w of this.#waiting) held.set(w.tenantId, (held.get(w.tenantId) ?? 0) + 1);
    const plan = planClaim({
      inFlightByTenant: held,
      inFlightTotal: this.#sendingTotal,
      limits: this.settings.limits,
      batchSize: this.settings.batchSize,
      blockedTenants: this.#blockedTenants(now),
    });
    if (plan.limit === 0) return { claimed: 0, limit: 0 };
    const batch = await claimDue(storage, {
      workerId: this.id,
      now,
      leaseMs: this.settings.leaseMs,
      limit: plan.limit,
      excludeTenants: plan.excludeTenants,
    });
    for (const delivery of batch.deliveries) {
      this.#waiting.push({ tenantId: delivery.tenantId, delivery, attemptId: batch.attemptIds.get(delivery.id)! });
    }
    this.#lastClaimFull = batch.deliveries.length === plan.limit;
    this.#pump();
    return { claimed: batch.deliveries.length, limit: plan.limit };
  }

  /** #held counts a tenant's rows in this worker: sending, or waiting for a slot. */
  #held(tenantId: string): number {
    let held = this.#sendingByTenant.get(tenantId) ?? 0;
    for (const w of this.#waiting) if (w.tenantId === tenantId) held += 1;
    return held;
  }

  /** #pump starts the held rows whose tenant has a free slot, oldest first. */
  #pump(): void {
    if (this.#stopping) return;
    const { start, wait } = admitClaimed(this.#waiting, this.#sendingByTenant, this.settings.limits.perTenant);
    this.#waiting = wait;
    for (const w of start) this.#dispatch(w.delivery, w.attemptId);
  }

  #blockedTenants(now: number): string[] {
    const blocked: string[] = [];
    for (const [tenant, key] of this.#tenantEndpoint) if (breakerBlocked(this.#breakers.get(key), now)) blocked.push(tenant);
    return blocked;
  }

  #dispatch(delivery: Delivery, attemptId: string): void {
    const tenantId = delivery.tenantId;
    this.#sendingByTenant.set(tenantId, (this.#sendingByTenant.get(tenantId) ?? 0) + 1);
    this.#sendingTotal += 1;
    // The slot frees when the server has answered, not when the result is committed: commits
    // are grouped, and waiting for one must not keep the connections idle.
    let slotFreed = false;
    const freeSlot = () => {
      if (slotFreed) return;
      slotFreed = true;
      this.#sendingTotal -= 1;
      const left = (this.#sendingByTenant.get(tenantId) ?? 1) - 1;
      if (left > 0) this.#sendingByTenant.set(tenantId, left);
      else this.#sendingByTenant.delete(tenantId);
      this.#pump();
      // Claim again only when it can bring something: a claim that finds nothing still costs a
      // transaction, and a tenant holding its limit would be left out of it anyway.
      const free = this.settings.limits.global - this.#sendingTotal;
      const roomy = free >= Math.ceil(Math.min(this.settings.batchSize, this.settings.limits.global) / 2);
      if (roomy && (this.#lastClaimFull || this.#held(tenantId) < this.settings.limits.perTenant)) this.wake();
    };
    const done = this.#deliver(delivery, attemptId, freeSlot)
      .catch((err: unknown) => {
        // The row keeps its lease and comes back when it expires: a duplicate at worst, never a loss.
        this.#log.error({ err, delivery: delivery.id }, 'could not record a delivery attempt');
      })
      .finally(() => {
        freeSlot();
        this.#inFlight.delete(delivery.id);
        if (this.#inFlight.size === 0) this.#stopRenewing();
      });
    this.#inFlight.set(delivery.id, { tenantId, token: delivery.leaseToken!, done });
    this.#startRenewing();
  }

  async #deliver(delivery: Delivery, attemptId: string, freeSlot: () => void): Promise<void> {
    const startedAt = this.#deps.clock.now();
    let outcome: Outcome;
    try {
      outcome = await this.#attempt(delivery);
    } finally {
      freeSlot();
    }
    const metrics = this.#deps.metrics;
    if (outcome.status === 'deferred') {
      await releaseClaimed(this.#deps.storage, [{ delivery, attemptId }], outcome.retryAt);
      metrics?.attempts.inc({ outcome: 'deferred' });
      return;
    }
    const lost = await this.#recorder.record({
      deliveryId: delivery.id,
      leaseToken: delivery.leaseToken!,
      attemptId,
      startedAt,
      finishedAt: this.#deps.clock.now(),
      result: outcome,
    });
    if (lost) {
      this.#log.warn({ delivery: delivery.id, outcome: outcome.status }, 'lease lost during a send; the new owner decides');
      metrics?.attempts.inc({ outcome: 'lost_lease' });
      return;
    }
    metrics?.attempts.inc({ outcome: outcome.status === 'retrying' ? 'retry' : outcome.status });
    if (outcome.status !== 'retrying') metrics?.finished.inc({ status: outcome.status });
  }

  async #attempt(delivery: Delivery): Promise<Outcome> {
    let resolution: EndpointResolution;
    let email: RenderedEmail;
    try {
      resolution = await this.#endpointFor(delivery.tenantId);
    } catch (err) {
      return this.#failure(delivery, true, `mail settings: ${messageOf(err)}`);
    }
    if (resolution.endpoint === null) return this.#failure(delivery, resolution.retryable, `mail settings: ${resolution.message}`);
    const endpoint = resolution.endpoint;
    const secrets = { username: endpoint.username, values: [endpoint.password, endpoint.accessToken] };
    try {
      email = await renderDelivery(delivery, this.#deps.composers);
    } catch (err) {
      return this.#failure(delivery, !(err instanceof MissingComposerError), redactSecrets(`render: ${messageOf(err)}`, secrets));
    }

    const key = endpointKey(endpoint);
    this.#tenantEndpoint.set(delivery.tenantId, key);
    const verdict = breakerAdmit(this.#breakers.get(key) ?? closedBreaker(this.settings.breaker), this.#deps.clock.now());
    if (!verdict.allow) {
      // A paused endpoint still cannot keep an email past its deadline: it fails then, like a retry would.
      if (this.#deps.clock.now() >= this.#deadlineOf(delivery)) return this.#failure(delivery, false, `connect: ${key} keeps failing; paused until the deadline passed`);
      return { status: 'deferred', retryAt: verdict.retryAt };
    }
    this.#breakers.set(key, verdict.state);

    const t0 = performance.now();
    try {
      const receipt = await this.#deps.sender.send(endpoint, {
        ...email,
        headers: { 'X-Tocsin-Kind': delivery.kind, ...email.headers },
        to: { address: delivery.recipient.address, name: delivery.recipient.name },
        messageId: delivery.messageId,
      });
      this.#deps.metrics?.smtpLatency.observe({ outcome: 'sent' }, (performance.now() - t0) / 1000);
      this.#breakers.set(key, breakerSucceeded(this.settings.breaker));
      return { status: 'sent', response: redactSecrets(receipt.response, secrets) };
    } catch (err) {
      this.#deps.metrics?.smtpLatency.observe({ outcome: 'error' }, (performance.now() - t0) / 1000);
      const smtp = err instanceof SmtpDeliveryError ? err : undefined;
      // Unknown errors are treated as transient: retrying until the deadline loses nothing.
      const retryable = smtp?.retryable ?? true;
      this.#noteEndpointHealth(key, retryable);
      return this.#failure(
        delivery,
        retryable,
        redactSecrets(smtp ? `${smtp.stage}: ${smtp.message}` : messageOf(err), secrets),
        smtp?.code,
        smtp?.response === undefined ? undefined : redactSecrets(smtp.response, secrets),
      );
    }
  }

  /** A transient failure counts against the endpoint; a definite answer (5xx) proves it is up. */
  #noteEndpointHealth(key: string, transient: boolean): void {
    const before = this.#breakers.get(key) ?? closedBreaker(this.settings.breaker);
    const after = transient ? breakerFailed(before, this.#deps.clock.now(), this.settings.breaker) : breakerSucceeded(this.settings.breaker);
    if (after.openUntil !== null && after.openUntil !== before.openUntil) {
      this.#log.warn({ endpoint: key, until: new Date(after.openUntil).toISOString() }, 'SMTP endpoint failing; pausing its deliveries');
    }
    this.#breakers.set(key, after);
  }

  #failure(delivery: Delivery, retryable: boolean, error: string, code?: number, response?: string): AttemptResult {
    const decision = decideAfterFailure({
      retryable,
      attempts: delivery.attempts,
      now: this.#deps.clock.now(),
      deadline: this.#deadlineOf(delivery),
      random: this.#random,
    });
    if (decision.status === 'failed') {
      this.#log.info({ delivery: delivery.id, tenant: delivery.tenantId, code, error }, 'delivery failed');
      return { status: 'failed', error, code, response };
    }
    return { status: 'retrying', nextAttemptAt: decision.nextAttemptAt, error, code, response };
  }

  #deadlineOf(delivery: Delivery): number {
    return delivery.deadline ?? delivery.createdAt + this.settings.deliveryDeadlineMs;
  }

  #endpointFor(tenantId: string): Promise<EndpointResolution> {
    const now = this.#deps.clock.now();
    const cached = this.#endpointCache.get(tenantId);
    if (cached && cached.expiresAt > now) return cached.resolution;
    const resolution = this.#deps.resolveEndpoint(tenantId);
    this.#endpointCache.set(tenantId, { resolution, expiresAt: now + this.settings.endpointCacheMs });
    resolution.catch(() => this.#endpointCache.delete(tenantId));
    return resolution;
  }

  #startRenewing(): void {
    if (this.#renewTimer) return;
    this.#renewTimer = setInterval(() => void this.#renew(), Math.max(50, Math.floor(this.settings.leaseMs / 3)));
    this.#renewTimer.unref();
  }

  #stopRenewing(): void {
    clearInterval(this.#renewTimer);
    this.#renewTimer = undefined;
  }

  async #renew(): Promise<void> {
    const leases = new Map([...this.#inFlight].map(([id, f]) => [id, f.token]));
    for (const w of this.#waiting) leases.set(w.delivery.id, w.delivery.leaseToken!);
    try {
      const lost = await renewLeases(this.#deps.storage, leases, this.#deps.clock.now(), this.settings.leaseMs);
      if (lost.length > 0) this.#log.warn({ deliveries: lost }, 'leases lost while sending');
    } catch (err) {
      this.#log.error({ err }, 'could not renew delivery leases');
    }
  }
}

/** endpointKey names an SMTP server for the circuit breaker: where the connection goes. */
export function endpointKey(endpoint: SmtpEndpoint): string {
  return `${endpoint.connectAddress ?? endpoint.host}:${endpoint.port}`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
