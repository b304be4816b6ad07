import { performance } from 'node:perf_hooks';
import { isRetryable } from '../../shared/stage-error.js';
import { type BackoffPolicy, backoffDelay } from '../../storage/connect.js';
import type { Storage } from '../../storage/storage.js';
import { type AfterCommit, type AfterRecord, type FinishedAttempt, recordAttempts } from './outcomes.js';

/** A row binds about 15 parameters per statement: 500 rows stay far below SQLite's and PostgreSQL's limits. */
const MAX_BATCH = 500;

/**
 * RECORD_BACKOFF: a commit that failed for a reason that may pass (the record stage's
 * StorageUnavailableError: the database restarting, refusing connections, its lock held) is tried
 * again after 100 ms, doubling up to 1.6 s, until it is committed. It is not given up: the server
 * took these emails, and a result dropped would leave its row to be claimed and sent again once
 * its lease ran out, every email the server took during an outage of more than a few seconds
 * arriving twice. Meanwhile the worker keeps renewing those leases (by token, expired or not), and
 * no other worker takes them over before the database has answered it for a whole lease
 * (answered-time.ts), so the rows stay this worker's until their results are in. A process
 * stopping during an outage is ended by its shutdown grace, like a kill.
 */
const RECORD_BACKOFF: BackoffPolicy = Object.freeze({ firstMs: 100, maxMs: 1_600 });

/**
 * RecordResult is what became of a finished attempt's result: false, recorded; true, lost (another
 * worker took the row's lease meanwhile, its new owner decides); 'gone', its row was deleted with
 * its tenant (through any process) while it was sent.
 */
export type RecordResult = boolean | 'gone';

/**
 * AttemptRecorder is the group commit of finished attempts: the results that arrive within one
 * window share one transaction (one fsync on SQLite, where a commit blocks the whole process),
 * and each caller learns, once it is durable, whether its lease had been lost meanwhile.
 */
export class AttemptRecorder {
  readonly #storage: Storage;
  readonly #windowMs: number;
  /**
   * What the current commit's AfterRecord left to do once it commits (log a tenant's mail incident):
   * set by #inCommit, run after recordAttempts succeeds, dropped when that commit fails (a retry
   * sets it again). One field, as commits run one at a time: nothing allocated per commit.
   */
  #afterCommit: AfterCommit | undefined;
  readonly #inCommit: AfterRecord | undefined;
  #queued: { attempt: FinishedAttempt; settle: (result: RecordResult) => void; fail: (err: unknown) => void }[] = [];
  #scheduled = false;
  #lastCommitAt = 0;
  /** Set while a commit that failed is being tried again; settled once it is committed (or refused). */
  #behind: { readonly done: Promise<void>; readonly settle: () => void } | undefined;

  /** `windowMs` is the shortest time between two commits; `afterRecord` runs in each commit. */
  constructor(storage: Storage, windowMs: number, afterRecord?: AfterRecord) {
    this.#storage = storage;
    this.#windowMs = windowMs;
    this.#inCommit =
      afterRecord &&
      (async (tx, recorded) => {
        this.#afterCommit = (await afterRecord(tx, recorded)) ?? undefined;
      });
  }

  /** record queues a finished attempt and resolves once it is committed, saying whether its lease held. */
  record(attempt: FinishedAttempt): Promise<RecordResult> {
    return new Promise((settle, fail) => {
      this.#queued.push({ attempt, settle, fail });
      if (!this.#scheduled) this.#schedule();
    });
  }

  /**
   * caughtUp resolves at once, or, while a commit that failed (the database away) is being tried
   * again, once it is committed or refused: a worker claims nothing before its own results are in,
   * since the leases of their rows may have run out during the outage and a claim would take
   * them back and send them again.
   */
  caughtUp(): Promise<void> {
    return this.#behind?.done ?? Promise.resolve();
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
    let committed: AfterCommit | undefined;
    for (let failures = 0; ; failures++) {
      this.#afterCommit = undefined;
      try {
        const gone = new Set<string>();
        const lost = new Set(
          await recordAttempts(
            this.#storage,
            batch.map((b) => b.attempt),
            this.#inCommit,
            gone,
          ),
        );
        // Committed: now, and only now, what the commit changed is told (never twice, never for a rollback),
        // outside this try, so that it cannot pass for a failed commit and record the batch again.
        committed = this.#afterCommit;
        for (const b of batch) {
          const id = b.attempt.deliveryId;
          b.settle(gone.has(id) ? 'gone' : lost.has(id));
        }
        this.#catchUp();
        break;
      } catch (err) {
        // A permanent failure (the database refused the write) would be refused again: fail now.
        if (isRetryable(err)) {
          if (!this.#behind) {
            let settle = () => {};
            const done = new Promise<void>((resolve) => (settle = resolve));
            this.#behind = { done, settle };
          }
          const waitMs = backoffDelay(failures, RECORD_BACKOFF, Math.random);
          await new Promise((resolve) => setTimeout(resolve, waitMs));
          continue;
        }
        for (const b of batch) b.fail(err);
        this.#catchUp();
        break;
      }
    }
    this.#afterCommit = undefined;
    committed?.();
    this.#lastCommitAt = performance.now();
    if (this.#queued.length > 0) this.#schedule();
    else this.#scheduled = false;
  }

  #catchUp(): void {
    this.#behind?.settle();
    this.#behind = undefined;
  }
}
