import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../../shared/clock.js';
import type { Storage } from '../../storage/storage.js';
import type { MailSender } from '../contract.js';
import { createMailSender } from '../smtp/sender.js';
import type { ComposerRegistry } from './render.js';
import { OutboxDoorbell } from './doorbell.js';
import { OutboxMetrics } from './metrics.js';
import type { EndpointResolver } from './attempt.js';
import { DeliveryWorker, type WorkerSettings } from './worker.js';

/** CONNECTIONS_PER_ENDPOINT is how many SMTP connections a worker opens to one server at most. */
export const CONNECTIONS_PER_ENDPOINT = 10;

/** DeliveryRuntimeDeps are what startTocsin hands the delivery path. */
export interface DeliveryRuntimeDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Whether this process sends (TOCSIN_ROLE `worker` or `all`); an `api` process only queues. */
  readonly runWorker: boolean;
  readonly deliveryDeadlineMs: number;
  readonly resolveEndpoint: EndpointResolver;
  readonly composers: ComposerRegistry;
  readonly sender?: MailSender;
  readonly settings?: Partial<WorkerSettings>;
}

/** DeliveryRuntime is the running delivery path of one process. */
export interface DeliveryRuntime {
  /** Ring after committing deliveries so this process's worker sends at once. */
  readonly doorbell: OutboxDoorbell;
  readonly worker: DeliveryWorker | undefined;
  /** stop finishes the sends in flight, then closes the SMTP pools. */
  stop(): Promise<void>;
}

/**
 * startDelivery registers the outbox metrics and, in a worker process, starts a DeliveryWorker
 * sending through pooled SMTP connections (CONNECTIONS_PER_ENDPOINT per server).
 */
export function startDelivery(deps: DeliveryRuntimeDeps): DeliveryRuntime {
  const doorbell = new OutboxDoorbell();
  const metrics = new OutboxMetrics(deps.registry, deps.storage, deps.clock);
  if (!deps.runWorker) return { doorbell, worker: undefined, stop: async () => {} };
  const settings = { ...deps.settings, deliveryDeadlineMs: deps.deliveryDeadlineMs };
  const sender = deps.sender ?? createMailSender({ maxConnections: CONNECTIONS_PER_ENDPOINT });
  const worker = new DeliveryWorker({
    storage: deps.storage,
    clock: deps.clock,
    sender,
    resolveEndpoint: deps.resolveEndpoint,
    composers: deps.composers,
    settings,
    logger: deps.logger.child({ component: 'delivery' }),
    metrics,
    doorbell,
  });
  worker.start();
  return {
    doorbell,
    worker,
    async stop() {
      await worker.stop();
      await sender.close();
    },
  };
}
