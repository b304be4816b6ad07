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
    this.#timer = setInterval(() => void this.#renew(), Math.max(50, Math.floor(this.#leaseMs / 3)));
    this.#timer.unref();
  }

  /** stop ends the renewals, once the worker holds nothing. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #renew(): Promise<void> {
    try {
      const lost = await renewLeases(this.#storage, this.#held(), this.#clock.now(), this.#leaseMs);
      if (lost.length > 0) this.#log.warn({ deliveries: lost }, 'leases lost while sending');
    } catch (err) {
      this.#log.error({ err }, 'could not renew delivery leases');
    }
  }
}
