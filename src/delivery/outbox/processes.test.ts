/**
 * Eight worker processes on one PostgreSQL outbox, as a team that outgrew one machine runs them:
 * every email arrives exactly once and is recorded sent (0 duplicates, 0 lost), and the connections the processes hold
 * never exceed the budget the README's formula gives (processes × (pool + 1 listener)).
 */
import { sql } from 'kysely';
import { useWorkerProcesses } from '../../../test/support/processes/worker-processes.js';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../shared/clock.js';
import { connectionBudget, readServerRoom, roomFor } from '../../storage/connection-budget.js';
import { DIALECTS } from '../../../test/support/storage.js';
import { enqueueDeliveries } from './enqueue.js';
import { insertTestTenant, testDelivery } from '../../../test/support/outbox-fixtures.js';

const WORKERS = 8;
const POOL = 3;
const EMAILS = 1_200;
const KINDS = ['summary', 'daily', 'immediate'] as const;

describe.runIf(DIALECTS.includes('postgres'))('eight worker processes on one PostgreSQL', () => {
  const fixture = useWorkerProcesses('postgres');
  const startWorker = () => fixture.start({ CONNECTIONS: '4', POLL_MS: '250', TOCSIN_DB_POOL_SIZE: String(POOL), PGAPPNAME: 'tocsin-eight' });

  it('delivers every email exactly once and stays within its connection budget', async () => {
    const budget = WORKERS * connectionBudget('worker', POOL);
    // The budget must fit in the room the server has (this test's own pool already counted in use).
    expect(budget).toBeLessThanOrEqual(roomFor(await readServerRoom(fixture.database.storage)));

    const tenant = await insertTestTenant(fixture.database.storage.db, 'eight');
    await enqueueDeliveries(
      fixture.database.storage.db,
      Array.from({ length: EMAILS }, (_, i) => testDelivery(tenant, `r${i}@example.com`, { kind: KINDS[i % KINDS.length]! })),
      systemClock,
    );
    // The workers' connections (named by PGAPPNAME), sampled throughout.
    const connections = sql<{ n: number }>`
      select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'tocsin-eight'`;
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, (await connections.execute(fixture.database.storage.db)).rows[0]!.n);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const workers = await Promise.all(Array.from({ length: WORKERS }, () => startWorker()));
    await fixture.sink.waitForMessages(EMAILS, 150_000);
    const unfinished = () => fixture.database.storage.db.selectFrom('deliveries').select('id').where('status', '!=', 'sent').execute();
    while ((await unfinished()).length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    sampling = false;
    await sampler;
    for (const worker of workers) worker.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((resolve) => (w.exitCode === null ? w.once('exit', resolve) : resolve(null)))));

    const ids = fixture.sink.messages.map((m) => m.messageId);
    process.stdout.write(
      `[8 workers] ${fixture.sink.messages.length} received, ${new Set(ids).size} unique, peak ${peak} connections of a budget of ${budget}\n`,
    );
    expect(new Set(ids).size).toBe(EMAILS);
    expect(ids).toHaveLength(EMAILS);
    expect(peak).toBeGreaterThan(WORKERS);
    expect(peak).toBeLessThanOrEqual(budget);
  }, 240_000);
});
