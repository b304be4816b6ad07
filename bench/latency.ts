/**
 * One Fatal alert → its email accepted by the sink, repeated: Tocsin's Fatal-immediately (the
 * alert stored durably first, then decided and sent) against Alertmanager with `group_wait: 0s`.
 */
import { type Alertmanager, amAlert } from './alertmanager.js';
import type { SinkProcess } from './sink-client.js';
import { type SinkMessage, monotonicNow } from './sink.js';
import { openStorage } from '../src/storage/storage.js';
import { median, percentile } from './stats.js';
import { type BenchTenant, api } from './tocsin.js';

/** LatencyResult: each repetition's milliseconds from the POST to the sink's 250, and their p50/p95. */
export interface LatencyResult {
  readonly samplesMs: readonly number[];
  readonly p50Ms: number;
  readonly p95Ms: number;
}

/** summarise turns samples into a LatencyResult. */
export function summarise(samplesMs: readonly number[]): LatencyResult {
  return { samplesMs, p50Ms: percentile(samplesMs, 50), p95Ms: percentile(samplesMs, 95) };
}

async function measure(
  sink: SinkProcess,
  repetitions: number,
  warmUp: number,
  raise: (i: number) => Promise<void>,
  timeoutMs: number,
  wanted?: (message: SinkMessage) => boolean,
): Promise<LatencyResult> {
  const samples: number[] = [];
  for (let i = 0; i < warmUp + repetitions; i++) {
    const accepted = sink.nextAccepted(timeoutMs, wanted);
    const started = monotonicNow();
    await raise(i);
    const message = await accepted;
    if (i >= warmUp) samples.push(message.acceptedAt - started);
    // Let the previous email's connection settle, so each repetition starts from quiet.
    await new Promise((r) => setTimeout(r, 50));
  }
  return summarise(samples);
}

/** tocsinFatalLatency raises one Fatal alert at a time through the REST API. */
export function tocsinFatalLatency(base: string, tenant: BenchTenant, sink: SinkProcess, repetitions: number): Promise<LatencyResult> {
  return measure(
    sink,
    repetitions,
    2,
    (i) =>
      api(base, 'POST', `/api/v1/tenants/${tenant.name}/alerts`, tenant.robotToken, {
        severity: 'Fatal',
        component: 'Robots',
        event: 'Robot.StatusChanged.NotResponding',
        message: `Robot R${i} is not responding (latency run ${i})`,
        source: { robot: `R${i}` },
      }),
    10_000,
    // Only the immediate email counts, should a summary window close during the run.
    (message) => message.kind === 'immediate',
  );
}

/** alertmanagerLatency posts one alert with a new label set at a time (a new group, notified at once). */
export function alertmanagerLatency(am: Pick<Alertmanager, 'url'>, sink: SinkProcess, repetitions: number): Promise<LatencyResult> {
  const run = `lat${Date.now()}`;
  return measure(
    sink,
    repetitions,
    2,
    async (i) => {
      const res = await fetch(`${am.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([amAlert(i, 'critical', run)]),
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`Alertmanager POST /api/v2/alerts: ${res.status}`);
    },
    10_000,
  );
}

/** LatencyPhases split Tocsin's Fatal → email path, as its own tables recorded it (medians, ms). */
export interface LatencyPhases {
  readonly emails: number;
  /** From the alert's creation to its immediate email's row: the decision, in the alert's own transaction. */
  readonly decideMs: number;
  /** From the row to the worker's claim: 0 when the row was leased to the worker as it was queued. */
  readonly claimMs: number;
  /** From the claim (or the insert) to the server's 250 (the row's sent_at): the commit's flush, endpoint, render, SMTP. */
  readonly sendMs: number;
}

/** latencyPhases reads every immediate email of a database back with its alert and first attempt. */
export async function latencyPhases(databaseUrl: string): Promise<LatencyPhases> {
  const storage = await openStorage(databaseUrl, { poolSize: 1 });
  try {
    const rows = await storage.db
      .selectFrom('deliveries')
      .innerJoin('delivery_attempts', 'delivery_attempts.delivery_id', 'deliveries.id')
      .select(['deliveries.created_at as queued', 'deliveries.sent_at as sent', 'delivery_attempts.started_at as claimed', 'deliveries.payload'])
      .where('deliveries.kind', '=', 'immediate')
      .where('delivery_attempts.attempt', '=', 1)
      .execute();
    const alertIds = rows.map((r) => (JSON.parse(r.payload) as { data: { alertId: string } }).data.alertId);
    const created = new Map(
      (alertIds.length ? await storage.db.selectFrom('alerts').select(['id', 'created_at']).where('id', 'in', alertIds).execute() : []).map((a) => [
        a.id,
        Number(a.created_at),
      ]),
    );
    const phases = rows.flatMap((r, i) => {
      const alertAt = created.get(alertIds[i]!);
      if (alertAt === undefined || r.sent === null) return [];
      return [{ decide: Number(r.queued) - alertAt, claim: Number(r.claimed) - Number(r.queued), send: Number(r.sent) - Number(r.claimed) }];
    });
    return {
      emails: phases.length,
      decideMs: median(phases.map((p) => p.decide)),
      claimMs: median(phases.map((p) => p.claim)),
      sendMs: median(phases.map((p) => p.send)),
    };
  } finally {
    await storage.close();
  }
}
