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

/**
 * ImmediateDecider decides the immediate emails of Fatal alerts as soon as their commit is
 * signalled, instead of at the scheduler's next tick, which only reads alerts a settle delay old.
 * The scheduler still sees those alerts later (and in processes that heard no signal); the
 * idempotency keys of decideImmediate make that second decision queue nothing.
 */
export class ImmediateDecider {
  readonly #deps: ImmediateDeciderDeps;
  readonly #inFlight = new Set<Promise<unknown>>();
  #stopped = false;

  constructor(deps: ImmediateDeciderDeps) {
    this.#deps = deps;
  }

  /** hear starts deciding a commit in the background; a failure is logged and left to the scheduler's tick. */
  hear(commit: FatalCommit): void {
    if (this.#stopped) return;
    const decided = this.decide(commit)
      .catch((err: unknown) => this.#deps.logger.error({ err, tenantId: commit.tenantId }, 'deciding immediate emails failed; the scheduler will'))
      .finally(() => this.#inFlight.delete(decided));
    this.#inFlight.add(decided);
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

  /** stop hears nothing more and resolves once the decisions under way have committed or rolled back. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#inFlight);
  }
}

