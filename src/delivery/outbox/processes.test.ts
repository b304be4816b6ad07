/**
 * Eight worker processes on one PostgreSQL outbox, as a team that outgrew one machine runs them:
 * every email arrives exactly once and is recorded sent (0 duplicates, 0 lost), and the connections the processes hold
 * never exceed the budget the README's formula gives (processes × (pool + 1 listener)).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../shared/clock.js';
import { connectionBudget, readServerRoom, roomFor } from '../../storage/connection-budget.js';
import { DIALECTS } from '../../../test/support/storage.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../../test/support/smtp-servers.js';
import { enqueueDeliveries } from './enqueue.js';
import { type TestOutboxDatabase, insertTestTenant, openTestOutboxDatabase, testDelivery } from '../../../test/support/outbox-fixtures.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const WORKERS = 8;
const POOL = 3;
const EMAILS = 1_200;
const KINDS = ['summary', 'daily', 'immediate'] as const;

describe.runIf(DIALECTS.includes('postgres'))('eight worker processes on one PostgreSQL', () => {
  let database: TestOutboxDatabase;
  let sink: TestSmtpServer;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    database = await openTestOutboxDatabase('postgres');
    sink = await startTestSmtpServer();
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await sink.close();
    await database.close();
  });

  function startWorker(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, '../../../test/support/processes/worker-process.ts')], {
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        SMTP_PORT: String(sink.port),
        CONNECTIONS: '4',
        POLL_MS: '250',
        TOCSIN_DB_POOL_SIZE: String(POOL),
        PGAPPNAME: 'tocsin-eight',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    return new Promise((resolve, reject) => {
      child.stderr!.on('data', (chunk: Buffer) => chunk.toString().includes('started') && resolve(child));
      child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    });
  }

  it('delivers every email exactly once and stays within its connection budget', async () => {
    const budget = WORKERS * connectionBudget('worker', POOL);
    // The budget must fit in the room the server has (this test's own pool already counted in use).
    expect(budget).toBeLessThanOrEqual(roomFor(await readServerRoom(database.storage)));

    const tenant = await insertTestTenant(database.storage.db, 'eight');
    await enqueueDeliveries(
      database.storage.db,
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
        peak = Math.max(peak, (await connections.execute(database.storage.db)).rows[0]!.n);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const workers = await Promise.all(Array.from({ length: WORKERS }, () => startWorker()));
    await sink.waitForMessages(EMAILS, 150_000);
    const unfinished = () => database.storage.db.selectFrom('deliveries').select('id').where('status', '!=', 'sent').execute();
    while ((await unfinished()).length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    sampling = false;
    await sampler;
    for (const worker of workers) worker.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((resolve) => (w.exitCode === null ? w.once('exit', resolve) : resolve(null)))));

    const ids = sink.messages.map((m) => m.messageId);
    process.stdout.write(`[8 workers] ${sink.messages.length} received, ${new Set(ids).size} unique, peak ${peak} connections of a budget of ${budget}\n`);
    expect(new Set(ids).size).toBe(EMAILS);
    expect(ids).toHaveLength(EMAILS);
    expect(peak).toBeGreaterThan(WORKERS);
    expect(peak).toBeLessThanOrEqual(budget);
  }, 240_000);
});
