/**
 * The ingest writer thread (started by ingest-writer.ts): it opens its own connection to the
 * SQLite file and group-commits the batches the process's main thread hands it, deciding their
 * Fatal alerts in the same transaction, as the main thread's own group commit would. Its replies
 * come only after the commit (synchronous=FULL), so a 202 still means durably stored.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { immediateInCommit } from '../reports/runtime.js';
import { systemClock } from '../shared/clock.js';
import { openStorage } from '../storage/storage.js';
import { groupCommit } from './ingest.js';
import { type ToMain, type ToWriter, type WriterData, unpackAlerts } from './ingest-writer.js';

const port = parentPort!;
const { databaseUrl, floodWindowMs } = workerData as WriterData;
const post = (message: ToMain) => port.postMessage(message);

const storage = await openStorage(databaseUrl);
const commit = groupCommit(storage.db, systemClock, floodWindowMs, 1, {
  inCommit: immediateInCommit({ clock: systemClock, doorbell: { ring: () => post({ kind: 'ring' }) } }),
  undecided: (tenantId, alertIds) => post({ kind: 'undecided', tenantId, alertIds: [...alertIds] }),
  failed: (err) => post({ kind: 'decision-failed', message: String((err as Error | undefined)?.message ?? err) }),
});

const inFlight = new Set<Promise<void>>();
port.on('message', (message: ToWriter) => {
  if (message.kind === 'close') {
    void Promise.allSettled(inFlight)
      .then(() => storage.close())
      .finally(() => port.close());
    return;
  }
  const done = commit(message.tenantId, unpackAlerts(message.alerts)).then(
    (ids) => post({ kind: 'stored', id: message.id, ids }),
    (err: unknown) => post({ kind: 'failed', id: message.id, error: wireError(err) }),
  );
  inFlight.add(done);
  void done.finally(() => inFlight.delete(done));
});

/** wireError keeps what the main thread needs to classify a failure again: the database's code and words. */
function wireError(err: unknown): { message: string; code?: string } {
  const cause = (err as { cause?: unknown } | null)?.cause ?? err;
  const code = (cause as { code?: unknown } | null)?.code;
  const message = String((cause as Error | undefined)?.message ?? cause);
  return typeof code === 'string' ? { message, code } : { message };
}
