import { Worker } from 'node:worker_threads';

/** CHECKPOINT_WORKER is the thread's module: plain JavaScript beside this one, in src/ and in dist/ alike (scripts/build.ts copies it). */
const CHECKPOINT_WORKER = new URL('./checkpoint-worker.js', import.meta.url);

/** CheckpointKind: the idle moment's checkpoint, which also restarts the WAL, or the one between busy commits, which only copies it. */
export type CheckpointKind = 'idle' | 'busy';

/** CheckpointThreadOptions: the SQLite file, its WAL's size limit, the checkpoint to run here once the thread failed, and where that is said. */
export interface CheckpointThreadOptions {
  readonly file: string;
  /**
   * The file the main connection opened: the thread opens the path only while it still names that
   * file, since a restored backup moved into place meanwhile would read the replaced file's WAL,
   * left at the path, as its own (sidecars.ts), and the checkpoint would copy it into the restored file.
   */
  readonly fileId: { readonly dev: number; readonly ino: number };
  /** journal_size_limit of the thread's connection, which restarts the WAL and so cuts it back. */
  readonly walSizeLimitBytes: number;
  /** The same checkpoint on the main thread's connection, run instead once the thread failed or ended. */
  readonly inThread: () => void;
  /** Told once, when the thread fails or ends unasked: the main thread checkpoints at idle moments, and SQLite's own between busy commits, from then on. */
  readonly failed: (err: Error) => void;
  /** The thread's module (tests hand one that fails). */
  readonly entry?: URL;
}

/**
 * CheckpointThread runs the idle checkpoint (idle-checkpoint.js), and the copy between busy commits
 * (IdleUpkeep's copyWhileBusy), on a connection of its own in a
 * worker thread, so that the main thread, which parses every request and sends every email, does
 * not wait through the checkpoint's four fsyncs: 2–30 ms under load, where the next alert met them
 * (bench/hot-paths.md, 2026-12-07). The thread starts with a server (start()) or else at the first
 * checkpoint, not with the storage: a CLI command or a test storage that never checkpoints starts none. It loads only better-sqlite3 and one
 * small module (no tsx, no TypeScript). A thread that fails to start, throws or ends unasked is
 * not started again: the main thread checkpoints as before, and `failed` says so.
 */
export class CheckpointThread {
  #worker: Worker | undefined;
  #inFlight: { readonly kind: CheckpointKind; readonly done: Promise<void>; readonly settle: () => void } | undefined;
  #failed = false;
  #closing = false;
  #exited: Promise<void> | undefined;

  constructor(private readonly options: CheckpointThreadOptions) {}

  /**
   * checkpoint asks the thread for a checkpoint and resolves once it is done (or could not be
   * done: busy, or the thread failed). `idle` (the default) copies the WAL and restarts it once all
   * of it was copied (checkpointAtIdle); `busy`, asked for between commits, only copies it (PASSIVE),
   * since the restart's write would take the write lock from the next group commit. A checkpoint
   * still under way is not asked for again: it copies what came meanwhile, or the next's does; an
   * idle one asked during a busy one runs after it, for the restart. Once the thread failed, an idle
   * checkpoint runs on the main thread (`inThread`), and a busy one is left to SQLite's own.
   */
  checkpoint(kind: CheckpointKind = 'idle'): Promise<void> {
    if (this.#closing) return Promise.resolve();
    if (this.#failed) {
      if (kind === 'idle') this.options.inThread();
      return Promise.resolve();
    }
    if (this.#inFlight) {
      if (kind === 'idle' && this.#inFlight.kind === 'busy') return this.#inFlight.done.then(() => this.checkpoint('idle'));
      return this.#inFlight.done;
    }
    const worker = (this.#worker ??= this.#start());
    let settle!: () => void;
    const done = new Promise<void>((resolve) => {
      settle = resolve;
    });
    this.#inFlight = { kind, done, settle };
    worker.postMessage(kind === 'idle' ? 'checkpoint' : 'copy');
    return done;
  }

  /** started says whether the thread was started (start(), or the first checkpoint). */
  get started(): boolean {
    return this.#worker !== undefined;
  }

  /**
   * start starts the thread now rather than at the first checkpoint: a server pays its start
   * (95–165 CPU-ms and 8–9 MB, on another thread that competes for the cores) before it says it is
   * ready, instead of at its first idle moment after 32 commits, among its first alerts.
   */
  start(): void {
    if (this.#failed || this.#closing) return;
    this.#worker ??= this.#start();
  }

  /** close ends the thread (its connection closed first) and resolves once it has exited. */
  close(): Promise<void> {
    this.#closing = true;
    this.#settle();
    // Held again while it ends: unref'd, a process whose last work is this close (a server's
    // shutdown, a command) ran out of events before the thread's exit, and the close never resolved.
    this.#worker?.ref();
    this.#worker?.postMessage('close');
    return this.#exited ?? Promise.resolve();
  }

  #start(): Worker {
    // execArgv empty: the main thread's (tsx's loader in development, --expose-gc) are not this thread's.
    const worker = new Worker(this.options.entry ?? CHECKPOINT_WORKER, {
      workerData: { file: this.options.file, fileId: this.options.fileId, walSizeLimitBytes: this.options.walSizeLimitBytes },
      execArgv: [],
    });
    // An idle thread must not keep the process alive; close() ends it.
    worker.unref();
    worker.on('message', () => this.#settle());
    worker.once('error', (err) => this.#fail(err));
    this.#exited = new Promise<void>((resolve) =>
      worker.once('exit', (code) => {
        if (!this.#closing) this.#fail(new Error(`the checkpoint thread ended with code ${code}`));
        resolve();
      }),
    );
    return worker;
  }

  #settle(): void {
    this.#inFlight?.settle();
    this.#inFlight = undefined;
  }

  /** A checkpoint under way when the thread failed is left to the next idle moment, which is the main thread's. */
  #fail(err: Error): void {
    if (this.#failed || this.#closing) return;
    this.#failed = true;
    this.#settle();
    this.options.failed(err);
  }
}
