/**
 * The delivery worker's timing figures, which its tests check only as behaviour (worker.test.ts:
 * "delivers a tenant’s mail while every send to another tenant’s hanging server is still waiting"
 * and "sends on a wake without waiting for its next poll"):
 *
 *   - isolation: how long tenant Y's 10 emails take to reach a healthy server while tenant X's 30
 *     older emails go to a server that accepts connections and never greets (8 slots, 3 per tenant);
 *   - wake: from wake() to the email at the server, with the next poll a minute away.
 *
 *   npm run bench:isolation -- [--dialect sqlite|postgres] [--runs 5]
 *
 * PostgreSQL needs TOCSIN_TEST_PG_URL. Figures are medians of the runs, printed with the load
 * average, since a shared machine slows them.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { enqueueDeliveries } from '../src/delivery/outbox/enqueue.js';
import { DeliveryWorker } from '../src/delivery/outbox/worker.js';
import type { SmtpEndpoint } from '../src/delivery/contract.js';
import { createMailSender } from '../src/delivery/smtp/sender.js';
import { systemClock } from '../src/shared/clock.js';
import type { Dialect } from '../src/storage/dialect.js';
import { insertTestTenant, openTestOutboxDatabase, testDelivery } from '../test/support/outbox-fixtures.js';
import { startSilentServer, startTestSmtpServer } from '../test/support/smtp-servers.js';
import { median } from './stats.js';

const { values: opts } = parseArgs({ options: { dialect: { type: 'string', default: 'sqlite' }, runs: { type: 'string', default: '5' } } });
const DIALECT = opts.dialect as Dialect;
const RUNS = Number(opts.runs);
const COMMAND = `npm run bench:isolation -- --dialect ${DIALECT} --runs ${RUNS}`;

const endpointFor = (port: number, timeoutMs: number): SmtpEndpoint => ({
  host: 'localhost',
  port,
  security: 'none',
  authMethod: 'none',
  fromAddress: 'alerts@example.com',
  timeoutMs,
});

/** once runs both measurements on a fresh database and returns them in milliseconds. */
async function once(): Promise<{ isolationMs: number; wakeMs: number }> {
  const database = await openTestOutboxDatabase(DIALECT);
  const hanging = await startSilentServer();
  const healthy = await startTestSmtpServer();
  const sender = createMailSender({ maxConnections: 5 });
  try {
    const [x, y] = [await insertTestTenant(database.storage.db, 'tenant-x'), await insertTestTenant(database.storage.db, 'tenant-y')];
    const endpoints = new Map([
      [x, endpointFor(hanging.port, 60_000)],
      [y, endpointFor(healthy.port, 2_000)],
    ]);
    const worker = (pollIntervalMs: number) =>
      new DeliveryWorker({
        storage: database.storage,
        clock: systemClock,
        sender,
        resolveEndpoint: async (tenantId) => endpoints.get(tenantId)!,
        composers: {},
        settings: { limits: { global: 8, perTenant: 3 }, batchSize: 8, pollIntervalMs },
      });

    await enqueueDeliveries(
      database.storage.db,
      Array.from({ length: 30 }, () => testDelivery(x, 'x@example.com')),
      systemClock,
    );
    await enqueueDeliveries(
      database.storage.db,
      Array.from({ length: 10 }, () => testDelivery(y, 'y@example.com')),
      systemClock,
    );
    const isolated = worker(20);
    const started = performance.now();
    isolated.start();
    await healthy.waitForMessages(10, 60_000);
    const isolationMs = performance.now() - started;
    await hanging.close();
    await isolated.stop();
    await database.storage.db.deleteFrom('deliveries').execute();

    const woken = worker(60_000);
    woken.start();
    await woken.idle();
    await enqueueDeliveries(database.storage.db, [testDelivery(y, 'now@example.com')], systemClock);
    const wokenAt = performance.now();
    woken.wake();
    await healthy.waitForMessages(11, 60_000);
    const wakeMs = performance.now() - wokenAt;
    await woken.stop();
    return { isolationMs, wakeMs };
  } finally {
    await sender.close();
    await healthy.close();
    await hanging.close();
    await database.close();
  }
}

const results = [];
for (let i = 0; i < RUNS; i++) results.push(await once());
const load = os.loadavg()[0]!.toFixed(2);
const fmt = (values: number[]) => `${median(values).toFixed(0)} ms (runs: ${values.map((v) => v.toFixed(0)).join(', ')})`;
process.stdout.write(
  `[${DIALECT}] tenant Y's 10 emails delivered while tenant X's server hangs: median ${fmt(results.map((r) => r.isolationMs))}\n` +
    `[${DIALECT}] wake() to the email at the server, next poll 60 s away: median ${fmt(results.map((r) => r.wakeMs))}\n` +
    `load average ${load} on ${os.cpus().length} cores; reproduce: ${COMMAND}\n`,
);
