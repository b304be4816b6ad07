import { sql } from 'kysely';
import type { Clock } from '../../shared/clock.js';
import { type Storage, withoutBusyWait } from '../../storage/storage.js';
import { heartbeatMs } from './leases-renewal.js';

/**
 * AnsweredTime is how long the database has been answering this worker's writes without a break:
 * a row whose lease ran out is taken over only once that has lasted a whole lease (`wholeLease`).
 *
 * A lease running out proves nothing while the database was away: its owner, alive, could not
 * renew it, and may hold the SMTP server's 250 for it with the result not yet recorded. Its owner
 * renews by token, expired or not, at its first heartbeat once the database answers; so a row
 * still expired after the database has answered for a whole lease (the owner renewing every sixth
 * of one) was not renewed by anyone in all that time: its owner is dead, or stopped or cut off
 * for that long. Counted by the claimer in its own answers, time in which the database was away
 * (or the claimer itself stalled) does not count, whatever the scheduling of either process:
 * a claimer that was late only takes over later.
 *
 * An answer is a heartbeat (`beat`, every sixth of a lease while the worker runs) or the start of
 * a claim's transaction; a break is two heartbeats (a third of a lease) with no answer, or the clock
 * stepped back (#broken). A fresh worker, too, takes over nothing in its first lease. `onRun` hears
 * of each new run of answers (the first, and each after a break): the database is back.
 */
export class AnsweredTime {
  readonly #storage: Storage;
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #onRun: () => void;
  /** When the current unbroken run of answers began; undefined before the first answer. */
  #since: number | undefined;
  #last = Number.NEGATIVE_INFINITY;
  #beating = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: { storage: Storage; clock: Clock; leaseMs: number; onRun?: () => void }) {
    this.#storage = deps.storage;
    this.#clock = deps.clock;
    this.#leaseMs = deps.leaseMs;
    this.#onRun = deps.onRun ?? (() => {});
  }

  /** start beats now and every heartbeat until stop() (again calls do nothing while it runs). */
  start(): void {
    if (this.#timer) return;
    void this.beat();
    this.#timer = setInterval(() => void this.beat(), heartbeatMs(this.#leaseMs));
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * beat asks the database whether it would take a write now and notes the answer; a refusal or an
   * error is a missed beat. SQLite: an empty `begin immediate` (the write lock, not waited for:
   * another process holding it, a backup or a shell, is the outage a read in WAL mode would not
   * see), or this process's own transaction holding the lock already. PostgreSQL: `select 1`
   * (refused connections, a restart, fail every statement alike).
   */
  async beat(): Promise<void> {
    if (this.#beating) return;
    this.#beating = true;
    try {
      const sqlite = this.#storage.sqlite;
      if (!sqlite) await sql`select 1`.execute(this.#storage.db);
      else if (!sqlite.inTransaction) {
        withoutBusyWait(sqlite, () => sqlite.exec('begin immediate'));
        try {
          sqlite.exec('commit');
        } finally {
          // Never left open: every transaction of this process would fail behind it.
          if (sqlite.inTransaction) sqlite.exec('rollback');
        }
      }
      this.answered();
    } catch {
      // Missed: the next answer after a break starts a new run.
    } finally {
      this.#beating = false;
    }
  }

  /** answered notes that the database answered this worker just now. */
  answered(): void {
    const now = this.#clock.now();
    const run = this.#since === undefined || this.#broken(now);
    if (run) this.#since = now;
    this.#last = run ? now : Math.max(this.#last, now);
    if (run) this.#onRun();
  }

  /** wholeLease tells whether the database has answered this worker without a break for a whole lease, up to now. */
  wholeLease(): boolean {
    const now = this.#clock.now();
    return this.#since !== undefined && !this.#broken(now) && now - this.#since >= this.#leaseMs;
  }

  /** since is when the current run of answers began (undefined before the first, or in a break). */
  get since(): number | undefined {
    return this.#since === undefined || this.#broken(this.#clock.now()) ? undefined : this.#since;
  }

  /**
   * #broken: two heartbeats without an answer, or the clock gone back more than a heartbeat since the
   * last (stepped back): counted from before the step, the run would last a whole lease only once the
   * clock had caught up, and no lease would be taken over meanwhile, a dead worker's emails waiting for it.
   */
  #broken(now: number): boolean {
    const beat = heartbeatMs(this.#leaseMs);
    return now - this.#last > 2 * beat || this.#last - now > beat;
  }
}
