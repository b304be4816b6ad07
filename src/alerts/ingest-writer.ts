import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { StorageUnavailableError, storageFailure } from '../storage/errors.js';
import type { NewAlert } from './input.js';

/**
 * IngestWriter group-commits alerts in a thread of its own, on its own connection to the SQLite
 * file. better-sqlite3 runs every statement, and the commit's disk flush, on the thread that calls
 * it: in the main thread that stalls every request being read and parsed for the whole commit.
 * With the writer in a thread, the main thread reads, parses and validates the next requests
 * while the previous ones are inserted and flushed, and the two share the machine's cores.
 */
export interface IngestWriter {
  /** raise stores the alerts durably and returns their ids once committed; failures are the ingest stage's StorageError. */
  raise(tenantId: string, alerts: readonly NewAlert[]): Promise<string[]>;
  /** usable is false once the thread has died: the caller stores in its own thread instead. */
  readonly usable: boolean;
  /** close lets the thread finish the commits under way, closes its connection and waits for it to end. */
  close(): Promise<void>;
}

/** WriterData is what the thread is started with. */
export interface WriterData {
  readonly databaseUrl: string;
  readonly floodWindowMs: number;
}

/** ToWriter are the main thread's messages: a batch to store, or the order to finish. */
export type ToWriter = { kind: 'raise'; id: number; tenantId: string; alerts: PackedAlerts } | { kind: 'close' };

/** The fields of a NewAlert, in the order packAlerts lays them out. */
const FIELDS = ['severity', 'component', 'event', 'message', 'data', 'source', 'folder', 'dedupKey', 'occurredAt'] satisfies (keyof NewAlert)[];

/** PackedAlerts are a batch's fields one after another, alert after alert (packAlerts). */
export type PackedAlerts = readonly NewAlert[keyof NewAlert][];

/**
 * packAlerts lays a batch out as one flat array of its values: copying it to the thread costs
 * less than half of copying the objects (whose every key is written again for each alert).
 */
export function packAlerts(alerts: readonly NewAlert[]): PackedAlerts {
  const out: NewAlert[keyof NewAlert][] = [];
  for (const alert of alerts) for (const field of FIELDS) out.push(alert[field]);
  return out;
}

/** unpackAlerts gives back the batch that packAlerts laid out. */
export function unpackAlerts(packed: PackedAlerts): NewAlert[] {
  const alerts: NewAlert[] = [];
  for (let i = 0; i < packed.length; i += FIELDS.length) {
    const values = packed.slice(i, i + FIELDS.length) as unknown[];
    alerts.push({
      severity: values[0] as NewAlert['severity'],
      component: values[1] as string,
      event: values[2] as string,
      message: values[3] as string,
      data: values[4] as string | null,
      source: values[5] as string | null,
      folder: values[6] as string | null,
      dedupKey: values[7] as string | null,
      occurredAt: values[8] as number | undefined,
    });
  }
  return alerts;
}

/** ToMain are the thread's messages: a batch's outcome, and what the main thread's pipeline must hear of a commit. */
export type ToMain =
  | { kind: 'stored'; id: number; ids: string[] }
  | { kind: 'failed'; id: number; error: { message: string; code?: string } }
  | { kind: 'undecided'; tenantId: string; alertIds: string[] }
  | { kind: 'ring' }
  | { kind: 'decision-failed'; message: string };

/** IngestWriterDeps: where the alerts go, and the main thread's ears for what a commit brings. */
export interface IngestWriterDeps extends WriterData {
  /** Hears the Fatal alerts a commit stored undecided (its decision in the commit failed). */
  readonly undecided: (tenantId: string, alertIds: readonly string[]) => void;
  /** Rings the outbox's doorbell once a commit queued immediate emails. */
  readonly ring: () => void;
  readonly logger?: Logger | undefined;
}

/**
 * startIngestWriter returns the writer; its thread starts with the first batch, so that a process
 * that ingests nothing spends nothing on it. Under tsx (tests, benchmarks) the thread's module is
 * TypeScript, so the thread registers tsx before importing it; the built service runs the .js.
 */
export function startIngestWriter(deps: IngestWriterDeps): IngestWriter {
  const pending = new Map<number, { resolve(ids: string[]): void; reject(err: unknown): void }>();
  let nextId = 0;
  let usable = true;
  let thread: Worker | undefined;
  let ended: Promise<void> = Promise.resolve();

  const fail = (err: unknown) => {
    usable = false;
    for (const waiter of pending.values()) waiter.reject(new StorageUnavailableError('ingest', err));
    pending.clear();
  };
  const hear = (message: ToMain) => {
    switch (message.kind) {
      case 'stored':
        pending.get(message.id)?.resolve(message.ids);
        pending.delete(message.id);
        return;
      case 'failed': {
        const cause = Object.assign(new Error(message.error.message), message.error.code === undefined ? {} : { code: message.error.code });
        pending.get(message.id)?.reject(storageFailure('ingest', cause));
        pending.delete(message.id);
        return;
      }
      case 'undecided':
        deps.undecided(message.tenantId, message.alertIds);
        return;
      case 'ring':
        deps.ring();
        return;
      case 'decision-failed':
        deps.logger?.error({ err: message.message }, 'deciding Fatal alerts in their commit failed; stored undecided, they are decided after it');
        return;
    }
  };
  const start = (): Worker => {
    const typescript = import.meta.url.endsWith('.ts');
    const entry = new URL(`./ingest-writer-thread.${typescript ? 'ts' : 'js'}`, import.meta.url);
    const workerData: WriterData = { databaseUrl: deps.databaseUrl, floodWindowMs: deps.floodWindowMs };
    const started = typescript
      ? new Worker(
          `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`,
          { eval: true, workerData },
        )
      : new Worker(entry, { workerData });
    // The HTTP server keeps the process alive while requests wait; an idle writer must not.
    started.unref();
    ended = new Promise<void>((resolve) => started.once('exit', () => resolve()));
    started.on('error', (err) => {
      deps.logger?.error({ err }, 'the ingest writer thread failed; alerts are stored by the main thread');
      fail(err);
    });
    started.once('exit', () => fail(new Error('the ingest writer thread ended')));
    started.on('message', hear);
    return started;
  };

  return {
    get usable() {
      return usable;
    },
    raise(tenantId, alerts) {
      thread ??= start();
      const writer = thread;
      return new Promise<string[]>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        writer.postMessage({ kind: 'raise', id, tenantId, alerts: packAlerts(alerts) } satisfies ToWriter);
      });
    },
    async close() {
      const wasUsable = usable;
      usable = false;
      if (wasUsable) thread?.postMessage({ kind: 'close' } satisfies ToWriter);
      await ended;
    },
  };
}
