/**
 * fatal-ingest-process stores one Fatal alert for TENANT_ID in DATABASE_URL through the ingest
 * stage, its immediate emails decided in the alert's commit and leased (LEASE_MS) to this
 * process's worker, and SIGKILLs itself the moment the worker would take them: a crash after the
 * commit and before the first SMTP byte.
 */
import pino from 'pino';
import { FatalSignal } from '../../../src/alerts/fatal-signal.js';
import { createAlertIngest } from '../../../src/alerts/ingest.js';
import { DeliveryWorker } from '../../../src/delivery/outbox/worker.js';
import { createMailSender } from '../../../src/delivery/smtp/sender.js';
import { immediateInCommit } from '../../../src/reports/runtime.js';
import { systemClock } from '../../../src/shared/clock.js';
import { openStorage } from '../../../src/storage/storage.js';

const storage = await openStorage(process.env.DATABASE_URL!, { poolSize: 2 });
const logger = pino({ level: 'warn' }, pino.destination(2));
const worker = new DeliveryWorker({
  storage,
  clock: systemClock,
  sender: createMailSender(),
  resolveEndpoint: () => Promise.reject(new Error('never reached: the process dies first')),
  composers: {},
  settings: { leaseMs: Number(process.env.LEASE_MS) },
  logger,
});
worker.start();
const ingest = createAlertIngest({
  storage,
  clock: systemClock,
  floodWindowMs: 600_000,
  countStored: () => {},
  fatalSignal: new FatalSignal(),
  decideInCommit: immediateInCommit({
    clock: systemClock,
    sender: {
      leaseForInsert: (now) => worker.leaseForInsert(now),
      adopt: () => {
        process.kill(process.pid, 'SIGKILL');
        return Promise.resolve();
      },
    },
    doorbell: { ring() {} },
  }),
  logger,
});
await ingest.raise(process.env.TENANT_ID!, [
  {
    severity: 'Fatal',
    component: 'Robots',
    event: 'Robot.StatusChanged.Offline',
    message: 'robot 9 is offline',
    data: null,
    source: JSON.stringify({ robot: 'R9' }),
    folder: null,
    dedupKey: null,
    occurredAt: undefined,
  },
]);
// Only reached if the emails were not leased to this process's worker.
process.stderr.write('the alert committed without leasing its emails here\n');
process.exit(1);
