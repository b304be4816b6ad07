import type { Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * /metrics of several api processes on one port (`tocsin serve --role api --processes N`): the
 * primary hands each scrape's connection to one process, which alone would answer with its own
 * counts, so a scraper would see the counters jump between the processes' values (a reset, to
 * Prometheus) and never their sum. The process that takes a scrape asks the primary instead, which
 * gathers every process's registry (prom-client's AggregatorRegistry: counters and histograms
 * summed, each gauge as its own `aggregator` says) and answers the whole.
 */

/** CHANNEL marks the cluster messages that are about metrics. */
const CHANNEL = 'tocsin:metrics';

interface MetricsRequest {
  readonly channel: typeof CHANNEL;
  readonly id: number;
}

interface MetricsAnswer {
  readonly channel: typeof CHANNEL;
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}

const isMetricsMessage = <T extends { channel: string }>(message: unknown): message is T =>
  typeof message === 'object' && message !== null && (message as { channel?: unknown }).channel === CHANNEL;

/** shareMetrics answers one api process's scrape with every api process's metrics (the primary's side). */
export function shareMetrics(aggregator: Pick<AggregatorRegistry<never>, 'clusterMetrics'>, worker: Worker): void {
  worker.on('message', (message: unknown) => {
    if (!isMetricsMessage<MetricsRequest>(message)) return;
    const answer = (fields: Pick<MetricsAnswer, 'text' | 'error'>) => {
      if (worker.isConnected()) worker.send({ channel: CHANNEL, id: message.id, ...fields } satisfies MetricsAnswer);
    };
    aggregator.clusterMetrics().then(
      (text) => answer({ text }),
      (err: unknown) => answer({ error: (err as Error).message }),
    );
  });
}

/** metricsFromPrimary makes `registry` this api process's share of the whole and returns how to read the whole. */
export function metricsFromPrimary(registry: Registry): () => Promise<string> {
  // Constructing one is what makes prom-client answer the primary's requests for this process's share.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  let next = 0;
  const waiting = new Map<number, (answer: MetricsAnswer) => void>();
  process.on('message', (message: unknown) => {
    if (!isMetricsMessage<MetricsAnswer>(message)) return;
    waiting.get(message.id)?.(message);
    waiting.delete(message.id);
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, (answer) => (answer.text === undefined ? reject(new Error(`metrics of the api processes: ${answer.error}`)) : resolve(answer.text)));
      process.send!({ channel: CHANNEL, id } satisfies MetricsRequest, undefined, undefined, (err: Error | null) => {
        if (!err) return;
        waiting.delete(id);
        reject(err);
      });
    });
}
