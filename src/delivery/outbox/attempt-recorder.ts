import { performance } from 'node:perf_hooks';
import type { Storage } from '../../storage/storage.js';
import { type AfterRecord, type FinishedAttempt, recordAttempts } from './outcomes.js';

/** A row binds about 15 parameters per statement: 500 rows stay far below SQLite's and PostgreSQL's limits. */
const MAX_BATCH = 500;

/**
 * AttemptRecorder is the group commit of finished attempts: the results that arrive within one
 * window share one transaction (one fsync on SQLite, where a commit blocks the whole process),
 * and each caller learns, once it is durable, whether its lease had been lost meanwhile.
 */
export class AttemptRecorder {
  readonly #storage: Storage;
  readonly #windowMs: number;
  readonly #afterRecord: AfterRecord | undefined;
  #queued: { attempt: FinishedAttempt; settle: (lost: boolean) => void; fail: (err: unknown) => void }[] = [];
  #scheduled = false;
  #lastCommitAt = 0;

  /** `windowMs` is the shortest time between two commits; `afterRecord` runs in each commit. */
  constructor(storage: Storage, windowMs: number, afterRecord?: AfterRecord) {
    this.#storage = storage;
    this.#windowMs = windowMs;
    this.#afterRecord = afterRecord;
  }

  /** record queues a finished attempt and resolves once it is committed: true when its lease was lost. */
  record(attempt: FinishedAttempt): Promise<boolean> {
    return new Promise((settle, fail) => {
      this.#queued.push({ attempt, settle, fail });
      if (!this.#scheduled) this.#schedule();
    });
  }

  #schedule(): void {
    this.#scheduled = true;
    const wait = this.#lastCommitAt + this.#windowMs - performance.now();
    // Even with no wait, let the I/O callbacks already due run first so their results join this
    // commit (better-sqlite3 commits synchronously: an immediate flush would take rows one by one).
    if (wait > 0) setTimeout(() => void this.#flush(), wait);
    else setImmediate(() => void this.#flush());
  }

  async #flush(): Promise<void> {
    const batch = this.#queued.splice(0, MAX_BATCH);
    try {
      const lost = new Set(
        await recordAttempts(
          this.#storage,
          batch.map((b) => b.attempt),
          this.#afterRecord,
        ),
      );
      for (const b of batch) b.settle(lost.has(b.attempt.deliveryId));
    } catch (err) {
      for (const b of batch) b.fail(err);
    }
    this.#lastCommitAt = performance.now();
    if (this.#queued.length > 0) this.#schedule();
    else this.#scheduled = false;
  }
}
