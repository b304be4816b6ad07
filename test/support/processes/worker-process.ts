/**
 * worker-process is a delivery worker in a process of its own, for the kill -9 test: it sends
 * every tenant's mail from DATABASE_URL to the plain SMTP server on 127.0.0.1:SMTP_PORT (lease
 * LEASE_MS, poll POLL_MS, sends in flight CONCURRENCY, SMTP connections CONNECTIONS, database pool
 * TOCSIN_DB_POOL_SIZE when given), says `started` on stderr, and stops gracefully on SIGTERM.
 */
import pino from 'pino';
import { systemClock } from '../../../src/shared/clock.js';
import { openStorage } from '../../../src/storage/storage.js';
import { createMailSender } from '../../../src/delivery/smtp/sender.js';
import { OutboxDoorbell, listenForOutbox } from '../../../src/delivery/outbox/doorbell.js';
import { DeliveryWorker } from '../../../src/delivery/outbox/worker.js';

const storage = await openStorage(process.env.DATABASE_URL!, { poolSize: Number(process.env.TOCSIN_DB_POOL_SIZE ?? 4) });
// On PostgreSQL a worker also listens for new mail, as `tocsin serve --role worker` does: one more connection.
const doorbell = new OutboxDoorbell();
const listener =
  storage.dialect === 'postgres' ? await listenForOutbox(process.env.DATABASE_URL!, doorbell, pino({ level: 'warn' }, pino.destination(2))) : undefined;
const concurrency = process.env.CONCURRENCY ? Number(process.env.CONCURRENCY) : undefined;
// CONNECTIONS alone keeps the production limits: rows are claimed ahead and wait for a connection.
const sender = createMailSender({ maxConnections: Number(process.env.CONNECTIONS ?? concurrency ?? 10) });
const endpoint = {
  host: '127.0.0.1',
  port: Number(process.env.SMTP_PORT),
  security: 'none',
  authMethod: 'none',
  fromAddress: 'alerts@example.com',
  timeoutMs: 5_000,
} as const;
const worker = new DeliveryWorker({
  storage,
  clock: systemClock,
  sender,
  resolveEndpoint: async () => endpoint,
  composers: {},
  settings: {
    // Without LEASE_MS and POLL_MS the worker runs the production lease, heartbeat and poll.
    ...(process.env.LEASE_MS ? { leaseMs: Number(process.env.LEASE_MS) } : {}),
    pollIntervalMs: Number(process.env.POLL_MS ?? 50),
    ...(concurrency ? { limits: { global: concurrency, perTenant: concurrency } } : {}),
  },
  logger: pino({ level: 'warn' }, pino.destination(2)),
  doorbell,
});
worker.start();
process.stderr.write('started\n');
process.once('SIGTERM', () => {
  void worker.stop().then(async () => {
    await sender.close();
    await listener?.stop();
    await storage.close();
    process.exit(0);
  });
});
