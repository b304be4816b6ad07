/**
 * kill -9 in the middle of a batch: a worker process sends 1,000 emails to a real smtp-server that
 * records Message-IDs; it is SIGKILLed mid-batch and started again. Every email must arrive, and
 * the only duplicates allowed are emails whose send was in flight at the kill.
 */
import { useWorkerProcesses } from '../../../test/support/processes/worker-processes.js';
import { expect, it } from 'vitest';
import { systemClock } from '../../shared/clock.js';
import { describeEachDialect } from '../../../test/support/storage.js';
import { until } from '../../../test/support/until.js';
import { enqueueDeliveries } from './enqueue.js';
import { insertTestTenant, testDelivery } from '../../../test/support/outbox-fixtures.js';

const BATCH = 1_000;
const LEASE_MS = 1_500;

describeEachDialect('kill -9 of a worker in the middle of a batch', (dialect) => {
  // A short pause before the reply to "." widens the window in which a kill leaves a send in doubt.
  const fixture = useWorkerProcesses(dialect, { dataReplyDelayMs: 10 });
  const startWorker = () => fixture.start({ LEASE_MS: String(LEASE_MS), CONCURRENCY: '10' });

  const countByStatus = async () => {
    const rows = await fixture.database.storage.db
      .selectFrom('deliveries')
      .select(['status', (eb) => eb.fn.countAll<string | number>().as('n')])
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  };

  it('delivers all 1,000 emails; duplicates only for sends in flight at the kill', async () => {
    const tenant = await insertTestTenant(fixture.database.storage.db, 'batch');
    await enqueueDeliveries(
      fixture.database.storage.db,
      Array.from({ length: BATCH }, (_, i) => testDelivery(tenant, `r${i}@example.com`)),
      systemClock,
    );

    const first = await startWorker();
    await until(() => fixture.sink.messages.length >= BATCH / 3, 'a third of the batch', { everyMs: 20 });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const receivedAtKill = fixture.sink.messages.length;
    const inFlight = await fixture.database.storage.db.selectFrom('deliveries').select('message_id').where('status', '=', 'sending').execute();
    // Read before they were sent: their Message-IDs get the From address's domain when sent (bindMessageIds).
    const inFlightIds = new Set(inFlight.map((r) => r.message_id.slice(0, r.message_id.lastIndexOf('@'))));

    const killedAt = Date.now();
    const second = await startWorker();
    await until(async () => (await countByStatus()).sent === BATCH, 'every delivery to be sent', { timeoutMs: 60_000, everyMs: 20 });
    const recoveredInMs = Date.now() - killedAt;
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));

    const counts = new Map<string, number>();
    for (const m of fixture.sink.messages) counts.set(m.messageId!, (counts.get(m.messageId!) ?? 0) + 1);
    const duplicates = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    process.stdout.write(
      `[kill -9 ${dialect}] received before kill ${receivedAtKill}, in flight at kill ${inFlightIds.size}, ` +
        `unique received ${counts.size}/${BATCH}, duplicates ${duplicates.length}, all sent ${recoveredInMs} ms after the kill\n`,
    );
    expect(counts.size).toBe(BATCH);
    expect(duplicates.every((id) => inFlightIds.has(id.slice(0, id.lastIndexOf('@'))))).toBe(true);
    expect(duplicates.length).toBeLessThanOrEqual(inFlightIds.size);
    expect(await countByStatus()).toEqual({ sent: BATCH });
  }, 120_000);
});
