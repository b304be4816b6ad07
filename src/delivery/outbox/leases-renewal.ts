import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.js';
import type { Storage } from '../../storage/storage.js';
import { renewLeases } from './leases.js';

/**
 * LeaseRenewal keeps a worker's rows leased while it holds any: every third of the lease it
 * extends the leases of the rows `held()` names (id → lease token), so a long send or a row
 * waiting for a slot is not taken over by another worker.
 */
export class LeaseRenewal {
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #log: Logger;
  readonly #held: () => ReadonlyMap<string, string>;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: { storage: Storage; clock: Clock; leaseMs: number; log: Logger; held: () => ReadonlyMap<string, string> }) {
    this.#storage = deps.storage;
    this.#clock = deps.clock;
    this.#leaseMs = deps.leaseMs;
    this.#log = deps.log;
    this.#held = deps.held;
  }

  /** start renews from now on (again calls do nothing while it runs). */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.renewNow(), Math.max(50, Math.floor(this.#leaseMs / 3)));
    this.#timer.unref();
  }

  /** stop ends the renewals, once the worker holds nothing. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** renewNow renews at once (the timer's tick; tests call it). */
  async renewNow(): Promise<void> {
    try {
      const held = this.#held();
      const lost = await renewLeases(this.#storage, held, this.#clock.now(), this.#leaseMs);
      // A row finished and handed on while the renewal ran is not this worker's to miss any more.
      const current = this.#held();
      const reallyLost = lost.filter((id) => current.get(id) === held.get(id));
      if (reallyLost.length > 0) this.#log.warn({ deliveries: reallyLost }, 'leases lost while sending');
    } catch (err) {
      this.#log.error({ err }, 'could not renew delivery leases');
    }
  }
}
