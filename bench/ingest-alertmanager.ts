/**
 * Alertmanager's side of the ingestion comparison, driven the way bench/ingest.ts drives Tocsin:
 * the same keep-alive clients (post-client.ts) posting batches of distinct alerts to POST /api/v2/alerts.
 */
import { type Alertmanager, amAlert } from './alertmanager.js';
import { postClient } from './post-client.js';
import { percentile, runConcurrently } from './stats.js';
import { processStats } from './tocsin.js';

/** IngestShape is the workload: how many alerts, how many per request, how many concurrent clients. */
export interface IngestShape {
  readonly alerts: number;
  readonly batch: number;
  readonly clients: number;
  /** Requests of `batch` other alerts each server takes, untimed, before the window (bench/ingest.ts's `--warmup`). */
  readonly warmup: number;
}

/** IngestResult is one ingestion run's throughput and request latencies. */
export interface IngestResult {
  readonly alerts: number;
  readonly seconds: number;
  readonly alertsPerSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  /** Alerts Alertmanager counted as received (its own metric), proving none was refused. */
  readonly received: number;
  /** Alerts per CPU second Alertmanager's process spent (user + system, all its threads). */
  readonly alertsPerServerCpuSecond: number;
}

async function receivedAlerts(am: Pick<Alertmanager, 'url'>): Promise<number> {
  const text = await (await fetch(`${am.url}/metrics`)).text();
  return Number(/^alertmanager_alerts_received_total\{status="firing",version="v2"\} (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

/** alertmanagerIngest posts `shape.alerts` distinct alerts (fresh label sets for this run) and times it. */
export async function alertmanagerIngest(am: Pick<Alertmanager, 'url' | 'pid'>, shape: IngestShape, run: string): Promise<IngestResult> {
  const requests = Math.ceil(shape.alerts / shape.batch);
  const bodies = Array.from({ length: requests }, (_, r) =>
    JSON.stringify(Array.from({ length: shape.batch }, (_, i) => amAlert(r * shape.batch + i, ['critical', 'warning', 'info'][i % 3], run))),
  );
  const client = postClient(`${am.url}/api/v2/alerts`, shape.clients, {});
  const post = async (body: string) => {
    const { status, ms } = await client.post(body);
    if (status < 200 || status >= 300) throw new Error(`Alertmanager POST /api/v2/alerts: ${status}`);
    return ms;
  };
  // Warm-up with other label sets, not counted, as bench/ingest.ts does for Tocsin with the same count and batch.
  for (let r = 0; r < shape.warmup; r++) {
    await post(JSON.stringify(Array.from({ length: shape.batch }, (_, i) => amAlert(r * shape.batch + i, 'info', `${run}-warm`))));
  }
  const before = await receivedAlerts(am);
  const cpuBefore = processStats(am.pid).cpuSeconds;
  const latencies: number[] = [];
  const seconds = await runConcurrently(requests, shape.clients, async (i) => void latencies.push(await post(bodies[i]!)));
  const cpuSeconds = processStats(am.pid).cpuSeconds - cpuBefore;
  return {
    alerts: requests * shape.batch,
    seconds,
    alertsPerSecond: (requests * shape.batch) / seconds,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    received: (await receivedAlerts(am)) - before,
    alertsPerServerCpuSecond: (requests * shape.batch) / cpuSeconds,
  };
}
