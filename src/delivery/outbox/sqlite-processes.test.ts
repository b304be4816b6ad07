/**
 * R9 on SQLite: four worker processes claim, send and record from one SQLite file at once, as
 * several `tocsin serve --role worker` on one machine would. SQLite has one writer at a time: every
 * claim and every recorded result waits its turn (busy_timeout), so every email arrives exactly
 * once and no worker logs a single warning (a SQLITE_BUSY reaching the code would be one).
 */
import { useWorkerProcesses } from '../../../test/support/processes/worker-processes.js';
import { describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../shared/clock.js';
import { enqueueDeliveries } from './enqueue.js';
import { insertTestTenant, testDelivery } from '../../../test/support/outbox-fixtures.js';

const WORKERS = 4;
const EMAILS = 400;

describe('four worker processes on one SQLite file', () => {
  const logged: string[] = [];
  // worker-process logs at warn and above only: any line it logs is a warning.
  const fixture = useWorkerProcesses('sqlite');
  const startWorker = () => fixture.start({ CONCURRENCY: '10', POLL_MS: '20' }, (line) => logged.push(line));

  it('sends every email exactly once, records it sent, and surfaces no busy database', async () => {
    const tenant = await insertTestTenant(fixture.database.storage.db, 'four');
    await enqueueDeliveries(
      fixture.database.storage.db,
      Array.from({ length: EMAILS }, (_, i) => testDelivery(tenant, `r${i}@example.com`)),
      systemClock,
    );
    const workers = await Promise.all(Array.from({ length: WORKERS }, () => startWorker()));
    await fixture.sink.waitForMessages(EMAILS, 60_000);
    // The last results are committed after their 250: wait for the rows, not a pause.
    await vi.waitFor(
      async () => expect(await fixture.database.storage.db.selectFrom('deliveries').select('id').where('status', '!=', 'sent').execute()).toEqual([]),
      {
        timeout: 20_000,
        interval: 50,
      },
    );
    for (const worker of workers) worker.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((resolve) => (w.exitCode === null ? w.once('exit', resolve) : resolve(null)))));

    const ids = fixture.sink.messages.map((m) => m.messageId);
    const attempts = await fixture.database.storage.db.selectFrom('delivery_attempts').select(['outcome', 'worker']).execute();
    const workersThatSent = new Set(attempts.map((a) => a.worker)).size;
    process.stdout.write(
      `[${WORKERS} SQLite workers] ${ids.length} received, ${new Set(ids).size} unique, ${workersThatSent} workers sent, ${logged.length} log lines\n`,
    );
    expect(new Set(ids).size).toBe(EMAILS);
    expect(ids).toHaveLength(EMAILS);
    // One attempt per email, each ended sent: no row was claimed twice, none was interrupted.
    expect(attempts).toHaveLength(EMAILS);
    expect(attempts.every((a) => a.outcome === 'sent')).toBe(true);
    expect(workersThatSent).toBeGreaterThan(1);
    expect(logged).toEqual([]);
  }, 120_000);
});
