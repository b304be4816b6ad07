import type { UrgentSends } from './urgent-sends.js';

/**
 * LoopTurns hands out turns of the event loop, one waiter per turn, so that long synchronous work
 * (a report's render: tens of milliseconds for a day of hundreds of events) is done one piece per
 * turn, the timers and I/O of the process running between two pieces. Without it, work that waits
 * on one promise (a window's facts read once for all its readers) or on a synchronous database
 * (better-sqlite3 answers within the caller's microtasks) runs every piece back to back in one
 * turn: a claim of 100 daily reports held the thread for seconds, past the lease that the outbox's
 * heartbeat, a timer, could no longer renew.
 */
export class LoopTurns {
  readonly #waiting: (() => void)[] = [];
  #scheduled = false;

  /**
   * With `yieldTo`, no turn is given while it is pressing (UrgentSends: a Fatal alert's email being
   * sent), so that the steps of that send do not each wait behind a piece of this work.
   */
  constructor(private readonly yieldTo?: Pick<UrgentSends, 'pressing' | 'settled'>) {}

  /**
   * next resolves in a turn of the event loop of its own: after the waiters before it, each one a
   * turn later, and never within the caller's own turn.
   */
  next(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#waiting.push(resolve);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // A setImmediate set from a setImmediate callback runs at the next turn, after that turn's timers and I/O:
    // the waiter resolved here runs its work in this callback's microtasks, then the loop goes round.
    setImmediate(() => {
      if (this.yieldTo?.pressing) {
        // Still scheduled: asked again once it settles, a turn later.
        void this.yieldTo.settled().then(() => {
          this.#scheduled = false;
          this.#schedule();
        });
        return;
      }
      this.#scheduled = false;
      this.#waiting.shift()?.();
      if (this.#waiting.length > 0) this.#schedule();
    });
  }
}
