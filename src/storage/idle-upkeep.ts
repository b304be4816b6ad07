import { type EventLoopUtilization, performance } from 'node:perf_hooks';

/** IdleUpkeepOptions: how long without a commit counts as idle, and how many commits make a checkpoint worth it. */
export interface IdleUpkeepOptions {
  /** Milliseconds after the last commit before the checkpoint is tried. */
  readonly idleMs?: number;
  /** Commits since the last checkpoint before one is worth its fsync. */
  readonly minCommits?: number;
  /** Called after each checkpoint this runs (tests wait on it). */
  readonly onCheckpoint?: () => void;
  /** Called after each busy checkpoint (copyWhileBusy) is done (tests wait on it). */
  readonly onBusyCheckpoint?: () => void;
}

/**
 * CHECKPOINT_AFTER_COMMITS is how many commits make an idle checkpoint worth its four fsyncs (two
 * for the copy, two for the WAL's restart). A checkpoint copies each page once however many
 * commits rewrote it, and a Fatal alert's two commits rewrite the same few pages (the tables' last
 * leaves and their indexes): after 8 commits, one checkpoint every 4 alerts in the latency
 * benchmark, it cost about 0.37 CPU-ms per alert; after 32, one every 16 alerts, 0.12
 * (bench/hot-paths.md, 2026-12-07). The WAL then holds about 300 frames at most between idle
 * moments, well below the 1,000 pages of SQLite's own checkpoint.
 */
const CHECKPOINT_AFTER_COMMITS = 32;

/**
 * CHECKPOINT_AFTER_CHANGES is how many rows changed make an idle checkpoint due however few the
 * commits: an ingest batch of 100 alerts changes a few hundred rows and writes tens of pages, so
 * 32 such commits would take the WAL past SQLite's own checkpoint (1,000 pages), which then runs
 * inside a request's commit. A Fatal alert's two commits change about five rows, 80 in 32 commits.
 */
const CHECKPOINT_AFTER_CHANGES = 256;

/**
 * BUSY_CHECKPOINT_AFTER_CHANGES is how many rows changed since the last busy checkpoint make one
 * due right after a commit, idle moment or not: about 500 WAL pages of the ingest benchmark's
 * alerts, half of what SQLite's own checkpoint waited for (1,000 pages) before the main connection's
 * bound was raised (SQLITE_AUTOCHECKPOINT_PAGES). Under a steady stream of ingest batches no idle
 * moment comes, and SQLite's own checkpoint ran inside a group commit's COMMIT on the main thread:
 * 5.8 % of its samples, and a 6–30 ms fsync in the latency of the requests of that commit
 * (bench/hot-paths.md, rv76b).
 */
export const BUSY_CHECKPOINT_AFTER_CHANGES = 1_500;

/** Above this share of the wait spent running JavaScript, the process is busy: the checkpoint waits again. */
const MAX_UTILIZATION = 0.5;

/**
 * IdleUpkeep does, at the first idle moment after writes, the upkeep that would otherwise fall on
 * the path of a later request or email. SQLite checkpoints in the commit that takes the WAL past
 * its bound (wal_autocheckpoint, 1,000 pages by default): copying the pages into the database file and its fsync then
 * land on that commit, about once every 50 Fatal alerts on their way to an email. Once the process
 * has committed nothing for `idleMs`, its event loop was mostly idle meanwhile and no urgent email is under way (waitWhile), this runs a
 * PASSIVE checkpoint (it blocks no reader nor writer of another process) if enough commits came
 * since the last, or enough rows changed, so the next commit starts with an empty WAL, and `scavenge` (V8's young
 * generation, collected when half full). Under a steady stream of writes no idle moment comes,
 * and V8's own scavenges stay the bound there; the WAL's is `copyWhileBusy`, asked for after the
 * commit that took the connection's changed rows BUSY_CHECKPOINT_AFTER_CHANGES past the last one's,
 * on the checkpoint's thread, with SQLite's automatic checkpoint as the safety net behind it.
 */
export class IdleUpkeep {
  readonly #idleMs: number;
  readonly #minCommits: number;
  #commits = 0;
  #changesAtCheckpoint = 0;
  #changesAtBusyCheckpoint = 0;
  #timer: NodeJS.Timeout | undefined;
  #since: EventLoopUtilization | undefined;
  #closed = false;
  #pressing: (() => boolean) | undefined;

  /**
   * `checkpoint` runs the checkpoint (or has it run, resolving once done), `scavenge` collects what is worth collecting of the heap;
   * `inTransaction` tells whether the connection is inside a transaction (the upkeep then waits);
   * `changes` counts the rows the connection changed so far (SQLite's total_changes()), if known;
   * `copyWhileBusy` copies the WAL without waiting for an idle moment nor holding up the commits
   * (a PASSIVE checkpoint on another thread, resolving once done), asked for only where `changes` is known.
   */
  constructor(
    private readonly work: {
      readonly checkpoint: () => void | Promise<void>;
      readonly scavenge: () => void;
      readonly inTransaction: () => boolean;
      readonly changes?: () => number;
      readonly copyWhileBusy?: () => Promise<void>;
    },
    private readonly options: IdleUpkeepOptions = {},
  ) {
    this.#idleMs = options.idleMs ?? 20;
    this.#minCommits = options.minCommits ?? CHECKPOINT_AFTER_COMMITS;
  }

  /**
   * noteCommit is told of each commit of the connection; the wait for an idle moment starts again,
   * and the busy checkpoint is asked for once enough rows changed since its last.
   */
  noteCommit(): void {
    if (this.#closed) return;
    this.#commits++;
    this.#copyIfDue();
    this.#since = performance.eventLoopUtilization();
    if (this.#timer) this.#timer.refresh();
    else this.#timer = setTimeout(() => this.#fire(), this.#idleMs).unref();
  }

  /**
   * noteOthersWriting is told each time another connection (another process on the file) held
   * SQLite's write lock when this one asked for it: the file is not idle, however idle this
   * process's event loop looks while it waits for its turn. The wait for an idle moment starts
   * again, as after a commit. Without it, an api process beside another (`--processes 2`) waited
   * 20 ms for the other's commit in most of its own turns and checkpointed then: 76–89 idle
   * checkpoints in a bench:ingest run of 2 processes against 17–29 with it (6 with 1 process), each
   * copying again pages that the next commits rewrite (bench/hot-paths.md, rv75d).
   */
  noteOthersWriting(): void {
    if (this.#closed || !this.#timer) return;
    this.#since = performance.eventLoopUtilization();
    this.#timer.refresh();
  }

  /**
   * waitWhile has the upkeep wait, as inside a transaction, while `pressing` says so: an urgent email
   * under way (UrgentSends), whose server's replies would otherwise be read only once the scavenge is
   * done. A send waits for its server with the event loop idle, and one that outlasts `idleMs` (a
   * server some tens of milliseconds away, any server on a loaded machine) met the upkeep meanwhile:
   * 15-57 ms of scavenge inside a Fatal alert's send at load 20 (bench/hot-paths.md, 2026-12-07, rv75b).
   */
  waitWhile(pressing: () => boolean): void {
    this.#pressing = pressing;
  }

  /** close stops waiting: nothing runs on the connection once it is closed. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #copyIfDue(): void {
    const { copyWhileBusy, changes } = this.work;
    if (!copyWhileBusy || !changes) return;
    const now = changes();
    if (now - this.#changesAtBusyCheckpoint < BUSY_CHECKPOINT_AFTER_CHANGES) return;
    this.#changesAtBusyCheckpoint = now;
    void copyWhileBusy().then(() => this.options.onBusyCheckpoint?.());
  }

  #fire(): void {
    if (this.#closed) return;
    const busy = performance.eventLoopUtilization(this.#since).utilization > MAX_UTILIZATION;
    if (busy || this.work.inTransaction() || this.#pressing?.()) {
      this.#since = performance.eventLoopUtilization();
      this.#timer?.refresh();
      return;
    }
    this.#timer = undefined;
    this.work.scavenge();
    const changes = this.work.changes?.() ?? this.#changesAtCheckpoint;
    if (this.#commits < this.#minCommits && changes - this.#changesAtCheckpoint < CHECKPOINT_AFTER_CHANGES) return;
    this.#commits = 0;
    this.#changesAtCheckpoint = changes;
    const done = () => this.options.onCheckpoint?.();
    try {
      const running = this.work.checkpoint();
      if (running) {
        void running.then(done);
        return;
      }
    } catch {
      // A checkpoint that cannot run now (the database busy or closing) is SQLite's automatic one's to do.
    }
    done();
  }
}
