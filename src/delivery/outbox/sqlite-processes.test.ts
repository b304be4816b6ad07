/**
 * R9 on SQLite: four worker processes claim, send and record from one SQLite file at once, as
 * several `tocsin serve --role worker` on one machine would. SQLite has one writer at a time: every
 * claim and every recorded result waits its turn (busy_timeout), so every email arrives exactly
 * once and no busy database reaches the code. Under load a heartbeat may come too late for a row not
 * sent yet, which its worker then leaves to the next claim: an extra attempt, never a second email.
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
    const attempts = await fixture.database.storage.db.selectFrom('delivery_attempts').select(['delivery_id', 'outcome', 'worker']).execute();
    const sent = attempts.filter((a) => a.outcome === 'sent');
    const workersThatSent = new Set(sent.map((a) => a.worker)).size;
    process.stdout.write(
      `[${WORKERS} SQLite workers] ${ids.length} received, ${new Set(ids).size} unique, ${attempts.length} attempts, ${workersThatSent} workers sent, ${logged.length} log lines\n`,
    );
    // Exactly once is what the sink saw: every email, none twice (the sink keeps every message it took).
    expect(new Set(ids).size).toBe(EMAILS);
    expect(ids).toHaveLength(EMAILS);
    // One sent attempt per email. Any other is a takeover, not a resend: a worker whose heartbeat did
    // not renew in time under load gives up a row it has not sent yet ('lease lost or in doubt before
    // the send; not sending'), and whoever claims it once the lease ran out logs that attempt as
    // interrupted and sends it (a run under load saw 405 attempts, its sink 400 emails, each once).
    expect(sent).toHaveLength(EMAILS);
    expect(new Set(sent.map((a) => a.delivery_id)).size).toBe(EMAILS);
    const others = attempts.filter((a) => a.outcome !== 'sent');
    expect(
      others.filter((a) => a.outcome !== 'interrupted'),
      JSON.stringify(others),
    ).toEqual([]);
    expect(workersThatSent).toBeGreaterThan(1);
    // Only those takeovers' own warnings: no busy database, failed claim or lost record reached the code.
    expect(
      logged.filter((line) => !line.includes('lease lost or in doubt before the send; not sending')),
      `${others.length} takeovers`,
    ).toEqual([]);
  }, 120_000);
});
