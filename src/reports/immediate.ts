import type { Logger } from 'pino';
import type { FatalCommit } from '../alerts/fatal-signal.js';
import type { Clock } from '../shared/clock.js';
import type { Storage } from '../storage/storage.js';
import { committedFatalFloods } from './alert-facts.js';
import { type ReportSettingsSource, decideImmediate, reportTenants } from './decisions.js';

/** ImmediateDeciderDeps are what the decider is built from; the doorbell wakes this process's outbox. */
export interface ImmediateDeciderDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settingsOf: ReportSettingsSource;
  readonly doorbell?: { ring(): void } | undefined;
}

/** MAX_ALERTS_PER_DECISION bounds how many heard Fatal alerts one decision reads. */
export const MAX_ALERTS_PER_DECISION = 1_000;

/**
 * ImmediateDecider decides the immediate emails of Fatal alerts as soon as their commit is
 * signalled, instead of at the scheduler's next tick, which only reads alerts a settle delay old.
 * The scheduler still sees those alerts later (and in processes that heard no signal); the
 * idempotency keys of decideImmediate make that second decision queue nothing.
 */
export class ImmediateDecider {
  readonly #deps: ImmediateDeciderDeps;
  /** Fatal alert ids heard but not yet decided, by tenant. */
  readonly #pending = new Map<string, Set<string>>();
  #draining: Promise<void> | undefined;
  #stopped = false;

  constructor(deps: ImmediateDeciderDeps) {
    this.#deps = deps;
  }

  /**
   * hear queues a commit's Fatal alerts for deciding in the background. Decisions run one at a
   * time, and the commits heard meanwhile are merged per tenant: under a flood of Fatal alerts
   * one decision covers many commits instead of each commit starting its own transaction and
   * competing with ingestion for the database. A failure is logged and left to the scheduler's tick.
   */
  hear(commit: FatalCommit): void {
    if (this.#stopped || commit.alertIds.length === 0) return;
    const ids = this.#pending.get(commit.tenantId) ?? new Set<string>();
    for (const id of commit.alertIds) ids.add(id);
    this.#pending.set(commit.tenantId, ids);
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  async #drain(): Promise<void> {
    for (let next = this.#takeNext(); next; next = this.#takeNext()) {
      try {
        await this.decide(next);
      } catch (err) {
        this.#deps.logger.error({ err, tenantId: next.tenantId }, 'deciding immediate emails failed; the scheduler will');
      }
    }
  }

  #takeNext(): FatalCommit | undefined {
    const first = this.#pending.entries().next();
    if (first.done) return undefined;
    const [tenantId, ids] = first.value;
    // Bounded, so the `in (…)` list of one decision stays far below SQLite's bound-variable limit.
    const alertIds = [...ids].slice(0, MAX_ALERTS_PER_DECISION);
    if (alertIds.length === ids.size) this.#pending.delete(tenantId);
    else for (const id of alertIds) ids.delete(id);
    return { tenantId, alertIds };
  }

  /** decide queues the immediate emails of a commit's Fatal floods, rings the doorbell when it queued some, and says how many. */
  async decide(commit: FatalCommit): Promise<number> {
    const { storage, clock, settingsOf } = this.#deps;
    const [tenant] = await reportTenants(storage.db, commit.tenantId);
    if (!tenant) return 0;
    const floods = await committedFatalFloods(storage.db, tenant.id, commit.alertIds);
    if (floods.length === 0 || !(await settingsOf(storage.db, tenant.id)).alertsEmailEnabled) return 0;
    const queued = await decideImmediate(storage, tenant, floods, clock);
    if (queued > 0) this.#deps.doorbell?.ring();
    return queued;
  }

  /** stop hears nothing more and resolves once the decisions already heard have committed or rolled back. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#draining;
  }
}

