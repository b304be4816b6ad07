/**
 * kill -9 in the middle of a batch: a worker process sends 1,000 emails to a real smtp-server that
 * records Message-IDs; it is SIGKILLed mid-batch and started again. Every email must arrive, and
 * the only duplicates allowed are emails whose send was in flight at the kill.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { systemClock } from '../../shared/clock.js';
import { describeEachDialect } from '../../../test/support/storage.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../../test/support/smtp-servers.js';
import { enqueueDeliveries } from './enqueue.js';
import { type TestOutboxDatabase, insertTestTenant, openTestOutboxDatabase, testDelivery } from '../../../test/support/outbox-fixtures.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BATCH = 1_000;
const LEASE_MS = 1_500;

describeEachDialect('kill -9 of a worker in the middle of a batch', (dialect) => {
  let database: TestOutboxDatabase;
  let sink: TestSmtpServer;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    database = await openTestOutboxDatabase(dialect);
    // A short pause before the reply to "." widens the window in which a kill leaves a send in doubt.
    sink = await startTestSmtpServer({ dataReplyDelayMs: 10 });
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await sink.close();
    await database.close();
  });

  async function startWorker(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, '../../../test/support/processes/worker-process.ts')], {
      env: { ...process.env, DATABASE_URL: database.url, SMTP_PORT: String(sink.port), LEASE_MS: String(LEASE_MS), CONCURRENCY: '10' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (chunk: Buffer) => chunk.toString().includes('started') && resolve());
      child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    });
    return child;
  }

  async function until(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  const countByStatus = async () => {
    const rows = await database.storage.db
      .selectFrom('deliveries')
      .select(['status', (eb) => eb.fn.countAll<string | number>().as('n')])
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  };

  it('delivers all 1,000 emails; duplicates only for sends in flight at the kill', async () => {
    const tenant = await insertTestTenant(database.storage.db, 'batch');
    await enqueueDeliveries(
      database.storage.db,
      Array.from({ length: BATCH }, (_, i) => testDelivery(tenant, `r${i}@example.com`)),
      systemClock,
    );

    const first = await startWorker();
    await until(() => sink.messages.length >= BATCH / 3, 20_000, 'a third of the batch');
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const receivedAtKill = sink.messages.length;
    const inFlight = await database.storage.db.selectFrom('deliveries').select('message_id').where('status', '=', 'sending').execute();
    const inFlightIds = new Set(inFlight.map((r) => r.message_id));

    const killedAt = Date.now();
    const second = await startWorker();
    await until(async () => (await countByStatus()).sent === BATCH, 60_000, 'every delivery to be sent');
    const recoveredInMs = Date.now() - killedAt;
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));

    const counts = new Map<string, number>();
    for (const m of sink.messages) counts.set(m.messageId!, (counts.get(m.messageId!) ?? 0) + 1);
    const duplicates = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    process.stdout.write(
      `[kill -9 ${dialect}] received before kill ${receivedAtKill}, in flight at kill ${inFlightIds.size}, ` +
        `unique received ${counts.size}/${BATCH}, duplicates ${duplicates.length}, all sent ${recoveredInMs} ms after the kill\n`,
    );
    expect(counts.size).toBe(BATCH);
    expect(duplicates.every((id) => inFlightIds.has(id))).toBe(true);
    expect(duplicates.length).toBeLessThanOrEqual(inFlightIds.size);
    expect(await countByStatus()).toEqual({ sent: BATCH });
  }, 120_000);
});
