/**
 * bench:sources measures the inbound sources against REST ingestion in the same run and server:
 * signed events per second into each receiver (orchestrator-webhook, alertmanager, webhook), one
 * event per request, beside `POST /alerts` with one alert per request, all from the same
 * keep-alive clients; then the pull connector's lag (an alert's creation upstream → its import)
 * with 1,000 alerts raised on an upstream Tocsin that plays Orchestrator. Each line of JSON on
 * stdout is one result; the rest is for people.
 *
 *   npm run bench:sources -- [--events 3000] [--clients 8] [--pull-alerts 1000] [--only push|pull] [--kinds rest,alertmanager,…] [--pg] [--cpu-prof]
 *
 * Beside each rate, the server's CPU per event (user + system of its process over the timed
 * rounds, /proc): load elsewhere on the machine slows the rates but hardly changes it.
 * `--cpu-prof` profiles the push server into bench/profiles (the warm-up included).
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { signingKey } from '../src/sources/secrets.js';
import { signOrchestrator, signStandardWebhook } from '../src/sources/signatures.js';
import { PG_URL, postgresDatabase, releaseAll, releaseOnSignals, tempDir, waitUntil } from './lifecycle.js';
import { percentile, runConcurrently } from './stats.js';
import { BENCH_ADMIN_TOKEN, api, processStats, provisionTenant, startTocsinServer } from './tocsin.js';

const { values: opts } = parseArgs({
  options: {
    events: { type: 'string', default: '3000' },
    clients: { type: 'string', default: '8' },
    'pull-alerts': { type: 'string', default: '1000' },
    only: { type: 'string' },
    // The push kinds to time (all by default): one kind alone shows its own statements and commits (bench/statement-times.mjs).
    kinds: { type: 'string' },
    pg: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
  },
});
const EVENTS = Number(opts.events);
const CLIENTS = Number(opts.clients);
const PULL_ALERTS = Number(opts['pull-alerts']);
const COMMAND = `npm run bench:sources -- --events ${EVENTS} --clients ${CLIENTS} --pull-alerts ${PULL_ALERTS}${opts.pg ? ' --pg' : ''}`;
// Receivers hold each source to a rate; the benchmark measures the receivers, not the limiter.
const SERVER_ENV = { TOCSIN_SOURCE_REQUESTS_PER_MINUTE: '100000000' };

type Push = 'rest' | 'orchestrator-webhook' | 'alertmanager' | 'webhook';

/** A request ready to send: the signing is done before the clock starts, as a sender's own cost. */
interface Prepared {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const JSON_TYPE = { 'content-type': 'application/json' };

/** prepare builds the i-th distinct event of a kind, signed the way its sender signs. */
function prepare(kind: Push, i: number, target: { url: string; secret: string }, run: string): Prepared {
  const id = `${run}-${i}`;
  const robot = `R${i % 20}`;
  if (kind === 'rest') {
    const body = JSON.stringify({
      severity: 'Error',
      component: 'Jobs',
      event: 'Process.JobExecution.Faulted',
      message: `Job ${id} of process Invoices faulted`,
      source: { process: 'Invoices', robot },
    });
    return { url: target.url, headers: { ...JSON_TYPE, authorization: `Bearer ${target.secret}` }, body };
  }
  if (kind === 'orchestrator-webhook') {
    const body = JSON.stringify({
      Type: 'job.faulted',
      EventId: crypto.randomUUID(),
      Timestamp: new Date().toISOString(),
      Job: {
        Id: i,
        Key: crypto.randomUUID(),
        State: 'Faulted',
        Info: `Job ${id} faulted: System.Exception: the remote server returned 503`,
        Robot: { Id: i % 20, Name: robot, MachineName: 'PC-01' },
        Release: { Key: crypto.randomUUID(), ProcessKey: 'Invoices' },
      },
      TenantId: 1,
      OrganizationUnitId: 1,
    });
    return { url: target.url, headers: { ...JSON_TYPE, 'x-uipath-signature': signOrchestrator(signingKey(kind, target.secret), body) }, body };
  }
  if (kind === 'alertmanager') {
    const labels = { alertname: 'JobFaulted', severity: 'error', component: 'Jobs', instance: `host-${id}` };
    const body = JSON.stringify({
      version: '4',
      groupKey: `{}:{instance="host-${id}"}`,
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'tocsin',
      groupLabels: { instance: `host-${id}` },
      commonLabels: labels,
      commonAnnotations: { summary: `Job ${id} faulted` },
      externalURL: 'http://alertmanager.invalid',
      alerts: [
        {
          status: 'firing',
          labels,
          annotations: { summary: `Job ${id} faulted` },
          startsAt: new Date().toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: '',
          fingerprint: crypto.createHash('sha256').update(id).digest('hex').slice(0, 16),
        },
      ],
    });
    return { url: target.url, headers: { ...JSON_TYPE, authorization: `Bearer ${target.secret}` }, body };
  }
  const body = JSON.stringify({ severity: 'Error', component: 'Jobs', event: 'CI.Build.Failed', message: `Build ${id} failed`, source: { job: id } });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = signStandardWebhook(signingKey(kind, target.secret), id, timestamp, body);
  return { url: target.url, headers: { ...JSON_TYPE, 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature }, body };
}

/** send posts the prepared requests from CLIENTS keep-alive clients; every answer must be 202. */
async function send(requests: readonly Prepared[]): Promise<{ eventsPerSecond: number; p95Ms: number }> {
  const durations: number[] = [];
  const seconds = await runConcurrently(requests.length, CLIENTS, async (i) => {
    const r = requests[i]!;
    const t0 = performance.now();
    const res = await fetch(r.url, { method: 'POST', headers: r.headers, body: r.body });
    const text = await res.text();
    if (res.status !== 202) throw new Error(`${r.url}: ${res.status} ${text.slice(0, 300)}`);
    durations.push(performance.now() - t0);
  });
  return { eventsPerSecond: requests.length / seconds, p95Ms: percentile(durations, 95) };
}

async function databaseUrl(name: string): Promise<{ url: string; database: 'sqlite' | 'postgres' }> {
  if (opts.pg) {
    if (!PG_URL) throw new Error('--pg needs TOCSIN_BENCH_PG_URL or TOCSIN_TEST_PG_URL');
    return { url: await postgresDatabase(), database: 'postgres' };
  }
  return { url: `sqlite:${path.join(tempDir(name), 'tocsin.db')}`, database: 'sqlite' };
}

async function pushBench(): Promise<void> {
  const { url: dbUrl, database } = await databaseUrl('sources-push');
  const server = await startTocsinServer({ databaseUrl: dbUrl, role: 'api', env: SERVER_ENV, cpuProfile: opts['cpu-prof'] });
  const tenant = await provisionTenant(server.url, 'sources');
  const targets: Record<Push, { url: string; secret: string }> = {
    rest: { url: `${server.url}/api/v1/tenants/${tenant.name}/alerts`, secret: tenant.robotToken },
  } as Record<Push, { url: string; secret: string }>;
  for (const kind of ['orchestrator-webhook', 'alertmanager', 'webhook'] as const) {
    const source = await api(server.url, 'POST', `/api/v1/tenants/${tenant.name}/sources`, BENCH_ADMIN_TOKEN, { name: kind, kind });
    // The receive URL from the source's own answer, on the address this server listens on.
    targets[kind] = { url: `${server.url}${new URL(source.url).pathname}`, secret: source.secret };
  }
  const kinds = (['rest', 'orchestrator-webhook', 'alertmanager', 'webhook'] as const).filter((k) => !opts.kinds || opts.kinds.split(',').includes(k));
  try {
    // A warm-up of each path, not counted; then the kinds interleaved, so load elsewhere on the machine falls on all of them.
    for (const kind of kinds) await send(Array.from({ length: 200 }, (_, i) => prepare(kind, i, targets[kind], `warm-${kind}`)));
    const results = new Map<Push, { eventsPerSecond: number; p95Ms: number }[]>(kinds.map((k) => [k, []]));
    const cpuSeconds = new Map<Push, number>(kinds.map((k) => [k, 0]));
    for (let round = 0; round < 3; round++) {
      for (const kind of kinds) {
        const requests = Array.from({ length: Math.ceil(EVENTS / 3) }, (_, i) => prepare(kind, i, targets[kind], `r${round}-${kind}`));
        const before = processStats(server.pid).cpuSeconds;
        results.get(kind)!.push(await send(requests));
        cpuSeconds.set(kind, cpuSeconds.get(kind)! + processStats(server.pid).cpuSeconds - before);
      }
    }
    const cpuUsPerEvent = (kind: Push) => Math.round((cpuSeconds.get(kind)! * 1e6) / (3 * Math.ceil(EVENTS / 3)));
    const rest = results.has('rest') ? sum(results.get('rest')!) : undefined;
    for (const kind of kinds) {
      const r = sum(results.get(kind)!);
      const line = {
        bench: 'sources-push',
        database,
        kind,
        events: EVENTS,
        clients: CLIENTS,
        eventsPerSecond: round1(r.eventsPerSecond),
        p95Ms: round1(r.p95Ms),
        cpuUsPerEvent: cpuUsPerEvent(kind),
        ...(rest ? { vsRest: round2(r.eventsPerSecond / rest.eventsPerSecond), cpuVsRest: round2(cpuUsPerEvent('rest') / cpuUsPerEvent(kind)) } : {}),
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
      process.stderr.write(
        `${database} ${kind.padEnd(21)} ${line.eventsPerSecond.toFixed(0).padStart(6)} events/s  p95 ${line.p95Ms} ms  ${line.cpuUsPerEvent} CPU-µs/event` +
          `${rest ? `  ${line.vsRest}× REST (per CPU ${line.cpuVsRest}×)` : ''}\n`,
      );
    }
  } finally {
    await server.stop();
  }
}

/** sum pools the rounds: total events over total time (each round sent the same number), and the worst p95. */
function sum(rounds: readonly { eventsPerSecond: number; p95Ms: number }[]) {
  const seconds = rounds.reduce((s, r) => s + 1 / r.eventsPerSecond, 0);
  return { eventsPerSecond: rounds.length / seconds, p95Ms: Math.max(...rounds.map((r) => r.p95Ms)) };
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;

async function pullBench(): Promise<void> {
  const upstreamDb = await databaseUrl('sources-upstream');
  const downstreamDb = await databaseUrl('sources-downstream');
  // The upstream plays Orchestrator: its /api/Account/Authenticate and /odata/Alerts.
  const upstream = await startTocsinServer({ databaseUrl: upstreamDb.url, role: 'api' });
  const downstream = await startTocsinServer({ databaseUrl: downstreamDb.url, role: 'all', env: SERVER_ENV });
  try {
    const plant = await provisionTenant(upstream.url, 'plant');
    await api(upstream.url, 'POST', '/api/v1/tenants/plant/users', BENCH_ADMIN_TOKEN, {
      email: 'poller@plant.example.com',
      name: 'Poller',
      password: 'poller password 123',
      roles: ['Alerts Viewer'],
    });
    await api(downstream.url, 'POST', '/api/v1/tenants', BENCH_ADMIN_TOKEN, { name: 'ops' });
    const source = await api(downstream.url, 'POST', '/api/v1/tenants/ops/sources', BENCH_ADMIN_TOKEN, {
      name: 'Plant Orchestrator',
      kind: 'orchestrator-pull',
      pull: {
        baseUrl: upstream.url,
        tenancyName: 'plant',
        username: 'poller@plant.example.com',
        password: 'poller password 123',
        intervalSeconds: 1,
        since: new Date().toISOString(),
      },
    });
    // Alerts arrive upstream as a busy Orchestrator raises them: 10 at a time, 100 a second.
    const started = Date.now();
    for (let b = 0; b < PULL_ALERTS / 10; b++) {
      const alerts = Array.from({ length: 10 }, (_, i) => ({
        severity: 'Error',
        component: 'Jobs',
        event: 'Process.JobExecution.Faulted',
        message: `upstream ${b * 10 + i}`,
      }));
      await api(upstream.url, 'POST', '/api/v1/tenants/plant/alerts', plant.robotToken, { alerts });
      const due = started + (b + 1) * 100;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    const count = async () => (await api(downstream.url, 'GET', '/api/v1/tenants/ops/alerts?limit=1000', BENCH_ADMIN_TOKEN)).items.length as number;
    await waitUntil(`${PULL_ALERTS} alerts imported`, async () => (await count()) >= PULL_ALERTS, 120_000, 200);
    const items = (await api(downstream.url, 'GET', '/api/v1/tenants/ops/alerts?limit=1000', BENCH_ADMIN_TOKEN)).items as {
      occurredAt: string;
      createdAt: string;
    }[];
    // occurredAt is the upstream CreationTime, createdAt when Tocsin stored the import.
    const lags = items.map((a) => Date.parse(a.createdAt) - Date.parse(a.occurredAt));
    const stats = (await api(downstream.url, 'GET', `/api/v1/tenants/ops/sources/${source.id}`, BENCH_ADMIN_TOKEN)).stats;
    const line = {
      bench: 'sources-pull',
      database: downstreamDb.database,
      alerts: items.length,
      intervalSeconds: 1,
      lagP50Ms: percentile(lags, 50),
      lagP95Ms: percentile(lags, 95),
      lagMaxMs: Math.max(...lags),
      imported: stats.pull?.imported,
      duplicates: items.length - new Set(items.map((a: any) => a.message)).size,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    process.stderr.write(
      `pull: ${line.alerts} alerts, lag p50 ${line.lagP50Ms} ms, p95 ${line.lagP95Ms} ms, max ${line.lagMaxMs} ms (interval 1 s), ${line.duplicates} duplicates\n`,
    );
  } finally {
    await downstream.stop();
    await upstream.stop();
  }
}

releaseOnSignals();
try {
  process.stderr.write(`${COMMAND}\n`);
  if (opts.only !== 'pull') await pushBench();
  if (opts.only !== 'push') await pullBench();
} finally {
  await releaseAll();
}
