import fs from 'node:fs';

/**
 * ASK_AFTER_MS is how long a statement waits for SQLite's write lock before it asks for its turn.
 * One group commit holds the lock for a few milliseconds to a few tens: a wait this long has lost
 * the lock to several of them in a row.
 */
export const ASK_AFTER_MS = 100;

/**
 * ASKED_FRESH_MS is how long a request for the turn holds once its waiter stopped renewing it (it
 * renews it at each try, every millisecond or so): a waiter killed while asking holds the group
 * commits back this long at most, once; one descheduled that long on a busy machine loses its turn.
 */
export const ASKED_FRESH_MS = 500;

/**
 * WriteTurn gives a waiter its turn at SQLite's write lock across the processes on one file.
 * SQLite keeps no queue: the lock goes to whichever connection tries at the moment it is free.
 * The api processes' group commits try again every millisecond and take it back to back, while
 * a worker's lone statement, which pauses longer between tries so as not to spin, rarely found
 * it free: under 1,000-alert batches without pause a worker's lease renewal and its results
 * waited past its 10 s lease, and another worker took over rows whose emails the first had sent,
 * which arrived twice. So a statement that has waited ASK_AFTER_MS asks for its turn (it renews
 * a small file beside the database, FILE-turn, at each try, and then tries every millisecond), and
 * the group commits, which look at that file before each try (one stat a commit, not an alert),
 * let the lock go to it while the request is fresh. The waiter removes the file once it has the
 * lock. A file that cannot be written (a read-only folder) only leaves the waits unfair.
 */
export class WriteTurn {
  readonly #path: string;

  /** `database` is the SQLite file's path. */
  constructor(database: string) {
    this.#path = `${database}-turn`;
  }

  /** ask asks for the turn, or renews the request: called by a waiter at each try once it has waited ASK_AFTER_MS. */
  ask(): void {
    const now = new Date();
    try {
      fs.utimesSync(this.#path, now, now);
    } catch {
      try {
        fs.writeFileSync(this.#path, '');
      } catch {
        // Unfair waits, as without the file: the waiter still has its deadline.
      }
    }
  }

  /** done withdraws a request once its waiter has the lock (or gave up); another waiter asks again at its next try. */
  done(): void {
    try {
      fs.rmSync(this.#path, { force: true });
    } catch {
      // Left behind, it goes stale within ASKED_FRESH_MS.
    }
  }

  /** asked tells a group commit whether a waiter has asked for the turn and still waits: it then does not take the lock. */
  asked(): boolean {
    try {
      const request = fs.statSync(this.#path, { throwIfNoEntry: false });
      return request !== undefined && Date.now() - request.mtimeMs < ASKED_FRESH_MS;
    } catch {
      return false;
    }
  }
}
