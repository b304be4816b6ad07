import type { Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { answerOnChannel, callOnChannel } from '../shared/cluster-channel.js';

/**
 * /metrics of several api processes on one port (`tocsin serve --role api --processes N`): the
 * primary hands each scrape's connection to one process, which alone would answer with its own
 * counts, so a scraper would see the counters jump between the processes' values (a reset, to
 * Prometheus) and never their sum. The process that takes a scrape asks the primary instead, which
 * gathers every process's registry (prom-client's AggregatorRegistry: counters and histograms
 * summed, each gauge as its own `aggregator` says) and answers the whole.
 */

/** CHANNEL is the cluster channel of the scrapes' requests. */
const CHANNEL = 'tocsin:metrics';

/** shareMetrics answers one api process's scrape with every api process's metrics (the primary's side). */
export function shareMetrics(aggregator: Pick<AggregatorRegistry<never>, 'clusterMetrics'>, worker: Worker): void {
  answerOnChannel<null, string>(worker, CHANNEL, () => aggregator.clusterMetrics());
}

/** metricsFromPrimary makes `registry` this api process's share of the whole and returns how to read the whole. */
export function metricsFromPrimary(registry: Registry): () => Promise<string> {
  // Constructing one is what makes prom-client answer the primary's requests for this process's share.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  const ask = callOnChannel<null, string>(CHANNEL, 'metrics of the api processes');
  return () => ask(null);
}
