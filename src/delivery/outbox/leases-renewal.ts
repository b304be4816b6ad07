import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.js';
import { OutageLog } from '../../storage/outage-log.js';
import type { Storage } from '../../storage/storage.js';
import { renewLeases } from './leases.js';

/** heartbeatMs is how often a worker renews its leases and asks whether the database answers: a sixth of the lease. */
export function heartbeatMs(leaseMs: number): number {
  return Math.max(50, Math.floor(leaseMs / 6));
}

/**
 * LeaseRenewal is a worker's heartbeat: it extends the leases of the rows `held()` names (id →
 * lease token) before they run short, so a long send or a row waiting for a slot is not taken
 * over, while a killed worker's rows are free again within one lease. It also knows until when
 * each held lease is confirmed, so that a send whose lease is lost or in doubt (renewals failing,
 * a process too slow to renew) is not started: another worker may already have the row.
 *
 * It ticks every sixth of the lease and renews, in one statement, only the rows whose lease would
 * otherwise have less than three ticks left (half a lease), a send needing two (a third of a lease)
 * to start: each renewal extends a lease by about half of it, and a row sent within half a lease of
 * its claim (the usual case) is never rewritten. Two ticks missed in a row still hold sends back.
 */
export class LeaseRenewal {
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #log: Logger;
  readonly #held: () => ReadonlyMap<string, string>;
  readonly #heldTenants: (() => ReadonlyMap<string, readonly string[]>) | undefined;
  /** Until when each held row's lease is known to run: from its claim, then from each renewal that extended it. */
  readonly #confirmedUntil = new Map<string, number>();
  /** Held rows found deleted with their tenant: no send of them starts, and they are not renewed again. */
  readonly #deleted = new Set<string>();
  /**
   * A send whose outcome cannot be recorded stays held through a database outage, and is renewed at
   * each tick: the outage is told once, as the other loops tell theirs, not with a stack per tick.
   */
  readonly #outage: OutageLog;
  #timer: NodeJS.Timeout | undefined;

  /**
   * `held` gives the rows held (id → lease token); `heldTenants` the same rows by tenant (tenant id →
   * row ids), whose deletion each tick looks for (#dropDeletedTenants).
   */
  constructor(deps: {
    storage: Storage;
    clock: Clock;
    leaseMs: number;
    log: Logger;
    held: () => ReadonlyMap<string, string>;
    heldTenants?: () => ReadonlyMap<string, readonly string[]>;
  }) {
    this.#storage = deps.storage;
    this.#clock = deps.clock;
    this.#leaseMs = deps.leaseMs;
    this.#log = deps.log;
    this.#held = deps.held;
    this.#heldTenants = deps.heldTenants;
    this.#outage = new OutageLog(deps.log, {
      failed: 'could not renew delivery leases; sends not started yet wait while the leases are in doubt',
      back: 'delivery leases renew again',
    });
  }

  /** deleted tells whether a held row was found deleted (with its tenant) while this worker held it. */
  deleted(id: string): boolean {
    return this.#deleted.has(id);
  }

  /** claimed notes rows just claimed, leased until `until`. */
  claimed(ids: readonly string[], until: number): void {
    for (const id of ids) this.#confirmedUntil.set(id, until);
  }

  /**
   * leased tells whether a send of the row may start: its lease is confirmed for at least two more
   * ticks (a third of a lease), which two missed renewals in a row (or a lost lease) no longer give.
   * A send under way asks for `ticks` = 1 before its message goes out: a renewal running a little
   * late takes a row just past two ticks, so two would call off a send that is still this worker's,
   * where a process frozen past its lease is more than a tick short.
   */
  leased(id: string, now: number, ticks = 2): boolean {
    return (this.#confirmedUntil.get(id) ?? -Infinity) - now >= ticks * this.tickMs;
  }

  /** tickMs is how often the heartbeat runs: a sixth of the lease. */
  get tickMs(): number {
    return heartbeatMs(this.#leaseMs);
  }

  /** start renews from now on (again calls do nothing while it runs). */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.#renewShort(), this.tickMs);
    this.#timer.unref();
  }

  /** stop ends the renewals, once the worker holds nothing. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#confirmedUntil.clear();
    this.#deleted.clear();
  }

  /** renewNow renews every held lease at once (tests call it). */
  renewNow(): Promise<void> {
    return this.#renew(() => true);
  }

  /** #renewShort is the tick: it renews the leases that would be in doubt before the tick after next. */
  async #renewShort(): Promise<void> {
    const due = this.#clock.now() + 3 * this.tickMs;
    await this.#renew((id) => (this.#confirmedUntil.get(id) ?? -Infinity) < due);
    await this.#dropDeletedTenants();
  }

  /**
   * #dropDeletedTenants looks, at each tick, for the tenants of the held rows that were deleted
   * (through any process): their rows went with them, and none of their sends may start. A renewal
   * finds a deleted row only once its lease is short; the rows claimed ahead (up to a hundred of a
   * tenant, waiting for a connection) went out for up to half a lease after the host administrator
   * deleted their tenant. One read of a few tenants' ids, by the tick, not by the email.
   */
  async #dropDeletedTenants(): Promise<void> {
    const byTenant = this.#heldTenants?.();
    if (!byTenant || byTenant.size === 0) return;
    let present: Set<string>;
    try {
      const rows = await this.#storage.db
        .selectFrom('tenants')
        .select('id')
        .where('id', 'in', [...byTenant.keys()])
        .execute();
      present = new Set(rows.map((r) => r.id));
    } catch {
      // The database away: the renewal says so, and its leases in doubt hold the sends back.
      return;
    }
    const gone = [...byTenant].flatMap(([tenantId, ids]) => (present.has(tenantId) ? [] : ids.filter((id) => !this.#deleted.has(id))));
    for (const id of gone) {
      this.#confirmedUntil.set(id, -Infinity);
      this.#deleted.add(id);
    }
    if (gone.length > 0) this.#log.info({ deliveries: gone }, 'emails deleted with their tenant before their send; not sending them');
  }

  async #renew(shortOf: (id: string) => boolean): Promise<void> {
    const all = this.#held();
    for (const id of this.#confirmedUntil.keys()) if (!all.has(id)) this.#confirmedUntil.delete(id);
    for (const id of this.#deleted) if (!all.has(id)) this.#deleted.delete(id);
    const held = new Map([...all].filter(([id]) => !this.#deleted.has(id) && shortOf(id)));
    if (held.size === 0) return;
    // The new lease runs from when the statement was sent, not from when its answer came back.
    const now = this.#clock.now();
    try {
      const { renewed, lost, gone } = await renewLeases(this.#storage, held, now, this.#leaseMs);
      this.#outage.worked();
      for (const id of renewed) this.#confirmedUntil.set(id, now + this.#leaseMs);
      // A row finished and handed on while the renewal ran is not this worker's to miss any more.
      const current = this.#held();
      const reallyLost = lost.filter((id) => current.get(id) === held.get(id));
      for (const id of reallyLost) this.#confirmedUntil.set(id, -Infinity);
      if (reallyLost.length > 0) this.#log.warn({ deliveries: reallyLost }, 'leases lost while sending');
      // A tenant deleted (maybe through another process) takes its emails with it: nobody lost anything.
      for (const id of gone) {
        this.#confirmedUntil.set(id, -Infinity);
        this.#deleted.add(id);
      }
      if (gone.length > 0) this.#log.info({ deliveries: gone }, 'emails deleted with their tenant while being sent; those not started are not sent');
    } catch (err) {
      this.#outage.failed(err);
    }
  }
}
