/**
 * npm run bench — every benchmark of the project in one run, side by side with Prometheus
 * Alertmanager on the same machine and the same SMTP sink, written to docs/BENCHMARKS.md.
 *
 *   npm run bench -- [--runs 3] [--budget 26] [--quick] [--only ingest,latency,delivery,reports,outbox,scheduler,sources]
 *                    [--cpu-prof] [--out docs/BENCHMARKS.md]
 *
 * PostgreSQL figures need TOCSIN_BENCH_PG_URL (or TOCSIN_TEST_PG_URL) pointing at a role that may
 * create databases. The run keeps to its budget: each step is given what the later steps leave,
 * repeats fewer times when short of time (the document says so), and everything it started
 * (processes, databases, temp folders) is released at the end, on failure and on Ctrl-C.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureAlertmanager, startAlertmanager } from './alertmanager.js';
import {
  type DeliveryResult,
  OPERATORS,
  SCALE_OUT_LIMIT,
  SCALE_OUT_WARMUP,
  SEED_ALERTS,
  alertmanagerDeliveryRate,
  rawNodemailerRate,
  seedDatabase,
  tocsinDeliveryRate,
} from './delivery.js';
import { alertmanagerIngest } from './ingest-alertmanager.js';
import { type LatencyPhases, alertmanagerLatency, latencyPhases, tocsinFatalLatency } from './latency.js';
import { PG_URL, ROOT, postgresDatabase, releaseAll, releaseOnSignals, runScript, tempDir } from './lifecycle.js';
import { machine, versions } from './machine.js';
import { type Figure, type Section, type Target, formatNumber, medianOf, ratio, renderReport } from './report.js';
import { type ScaleOutRun, scaleOutRun } from './scale-out-windows.js';
import { startSinkProcess } from './sink-client.js';
import { describePairs, median, pairedVerdict } from './stats.js';
import { processStats, provisionTenant, startTocsinServer } from './tocsin.js';

/** The order the document reads in. */
const DOC_ORDER = ['ingest', 'sources', 'latency', 'delivery', 'reports', 'scheduler', 'outbox'] as const;
type Step = (typeof DOC_ORDER)[number];
/** The order the steps run in: the longest comparison first, while the budget is whole, so it gets the most runs. */
const STEPS: readonly Step[] = ['delivery', 'ingest', 'sources', 'latency', 'reports', 'scheduler', 'outbox'];

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    budget: { type: 'string', default: '26' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    out: { type: 'string', default: 'docs/BENCHMARKS.md' },
  },
});
const RUNS = Number(opts.runs);
const BUDGET_MINUTES = Number(opts.budget);
const QUICK = opts.quick;
const ONLY = new Set((opts.only?.split(',') ?? DOC_ORDER) as Step[]);
const CPU_PROF = opts['cpu-prof'];
const SIZES = {
  ingestAlerts: QUICK ? 10_000 : 50_000,
  // A p95 of 20 samples is their second largest: one stray pause decides it. 100 give a real 95th.
  latencyRepetitions: QUICK ? 20 : 100,
  deliveryEmails: QUICK ? 2_000 : 10_000,
  reportUsers: QUICK ? [1_000, 5_000] : [1_000, 10_000, 50_000],
  schedulerTenants: QUICK ? 2_000 : 10_000,
  sourceEvents: QUICK ? 1_500 : 3_000,
};
/** What one run of each step costs at least, so earlier steps leave the later ones their time. */
const MIN_STEP_MS: Record<Step, number> = {
  ingest: 120_000,
  sources: 90_000,
  latency: 100_000,
  delivery: 240_000,
  reports: 45_000,
  scheduler: 720_000,
  outbox: 100_000,
};
const BENCH = 'npm run bench --';
/** Findings from CPU profiles, written by hand and carried into every regenerated document. */
const HOT_PATHS = path.join(ROOT, 'bench', 'hot-paths.md');
/** Start-up time, memory and package count before and after the build, measured by hand (bench/startup.ts). */
const STARTUP = path.join(ROOT, 'bench', 'startup.md');
/** Worker memory before and after what was trimmed, measured by hand (bench/worker-rss.ts). */
const WORKER_RSS = path.join(ROOT, 'bench', 'worker-rss.md');
/** How soon a killed worker's emails are sent by another, measured by hand (bench/takeover.ts; README cites it). */
const TAKEOVER = path.join(ROOT, 'bench', 'takeover.md');

const started = Date.now();
const deadline = started + BUDGET_MINUTES * 60_000;
const caveats: string[] = [];
const sections: { step: Step; section: Section }[] = [];
const targets: { step: Step; target: Target }[] = [];
let currentStep: Step = STEPS[0]!;

function addSection(section: Section): void {
  sections.push({ step: currentStep, section });
}

function addTarget(target: Target): void {
  targets.push({ step: currentStep, target });
}

/** inDocOrder sorts what the steps produced into the document's order, keeping each step's own order. */
function inDocOrder<T extends { step: Step }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => DOC_ORDER.indexOf(a.step) - DOC_ORDER.indexOf(b.step));
}

function reserveAfter(step: Step): number {
  const later = STEPS.slice(STEPS.indexOf(step) + 1).filter((s) => ONLY.has(s));
  return later.reduce((sum, s) => sum + MIN_STEP_MS[s], 0);
}

/** repeat runs `once` up to RUNS times, stopping early when the time left is needed by later steps. */
async function repeat(step: Step, once: (run: number) => Promise<void>): Promise<void> {
  let perRun = 0;
  for (let run = 0; run < RUNS; run++) {
    const left = deadline - Date.now() - reserveAfter(step);
    if (run > 0 && left < perRun * 1.2) {
      caveats.push(`${step}: ${run} run${run === 1 ? '' : 's'} instead of ${RUNS}, to stay within the ${BUDGET_MINUTES}-minute budget.`);
      return;
    }
    const t0 = Date.now();
    await once(run);
    perRun = Math.max(perRun, Date.now() - t0);
  }
}

function figure(label: string, unit: string, command: string, note?: string): Figure & { runs: number[] } {
  return { label, unit, command, runs: [], ...(note ? { note } : {}) };
}

function jsonLines(out: string): any[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

function log(message: string): void {
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
}

// ─── Ingestion ────────────────────────────────────────────────────────────────────────────────

/** How many api processes the ingestion step runs Tocsin with, each count a figure of its own. */
const API_PROCESSES = [1, 2] as const;

async function ingestStep(): Promise<void> {
  const n = SIZES.ingestAlerts;
  // As many warm-up requests as the window has (at most 500, as the delivery step's warm-up emails): a fresh Node
  // process's request path is still compiling through a shorter one (bench/hot-paths.md, "a benchmark window that
  // measures a cold process"); Alertmanager takes the same, for the same comparison.
  const warmup = Math.min(500, Math.ceil(n / 100));
  const shape = { alerts: n, batch: 100, clients: 8, warmup };
  const script = `npm run bench:ingest -- --alerts ${n} --batch 100 --clients 8 --processes ${API_PROCESSES.join(',')} --warmup ${warmup}`;
  const procs = (p: number) => `${p} api process${p === 1 ? '' : 'es'}`;
  const byProcesses = <T>(make: (p: number) => T) => new Map(API_PROCESSES.map((p) => [p as number, make(p)]));
  const sqlite = byProcesses((p) => figure(`Tocsin, SQLite (durable: WAL, synchronous=FULL), ${procs(p)}`, 'alerts/s', script));
  const postgres = byProcesses((p) => figure(`Tocsin, PostgreSQL, ${procs(p)}`, 'alerts/s', `TOCSIN_TEST_PG_URL=… ${script}`));
  const am = figure('Alertmanager POST /api/v2/alerts', 'alerts/s', `${BENCH} --only ingest`);
  const perCpu = {
    sqlite: byProcesses((p) => figure(`Tocsin SQLite, ${procs(p)}: alerts per server CPU second (all its processes)`, 'alerts/CPU-s', script)),
    am: figure('Alertmanager, alerts per server CPU second (all its threads)', 'alerts/CPU-s', `${BENCH} --only ingest`),
  };
  // PostgreSQL's own work runs in its backends, outside the server's CPU: counted apart, per 1,000 alerts.
  const pgCpu = byProcesses((p) =>
    figure(`Tocsin PostgreSQL, ${procs(p)}: the api processes, CPU-ms per 1,000 alerts`, 'CPU-ms', `TOCSIN_TEST_PG_URL=… ${script}`),
  );
  const pgBackendCpu = byProcesses((p) =>
    figure(`Tocsin PostgreSQL, ${procs(p)}: PostgreSQL's backends, CPU-ms per 1,000 alerts`, 'CPU-ms', `TOCSIN_TEST_PG_URL=… ${script}`),
  );
  const p95 = {
    sqlite: byProcesses((p) => figure(`Tocsin SQLite, ${procs(p)}: p95 per request of 100`, 'ms', script)),
    am: figure('Alertmanager, p95 per request of 100', 'ms', `${BENCH} --only ingest`),
  };
  await repeat('ingest', async (run) => {
    log(`ingest run ${run + 1}: Tocsin (bench/ingest.ts, ${API_PROCESSES.join(' and ')} api processes)`);
    const args = ['--alerts', String(n), '--batch', '100', '--clients', '8', '--processes', API_PROCESSES.join(','), '--warmup', String(warmup)];
    if (CPU_PROF) args.push('--cpu-prof');
    const out = await runScript('bench/ingest.ts', args, { env: { TOCSIN_TEST_PG_URL: PG_URL }, timeoutMs: 600_000 });
    for (const r of jsonLines(out)) {
      const p = Number(r.processes ?? 1);
      if (r.database === 'sqlite') {
        sqlite.get(p)?.runs.push(r.alertsPerSecond);
        p95.sqlite.get(p)?.runs.push(r.p95Ms);
        if (typeof r.alertsPerServerCpuSecond === 'number') perCpu.sqlite.get(p)?.runs.push(r.alertsPerServerCpuSecond);
      }
      if (r.database === 'postgres') {
        postgres.get(p)?.runs.push(r.alertsPerSecond);
        if (typeof r.serverCpuMsPer1000Alerts === 'number') pgCpu.get(p)?.runs.push(r.serverCpuMsPer1000Alerts);
        if (typeof r.databaseCpuMsPer1000Alerts === 'number') pgBackendCpu.get(p)?.runs.push(r.databaseCpuMsPer1000Alerts);
      }
    }
    log(`ingest run ${run + 1}: Alertmanager`);
    const instance = await startAlertmanager({ smtpPort: undefined, groupBy: ['alertname'] });
    try {
      const result = await alertmanagerIngest(instance, shape, `ingest${run}`);
      if (result.received !== result.alerts) caveats.push(`ingest: Alertmanager counted ${result.received} of ${result.alerts} alerts received.`);
      am.runs.push(result.alertsPerSecond);
      p95.am.runs.push(result.p95Ms);
      perCpu.am.runs.push(result.alertsPerServerCpuSecond);
    } finally {
      await instance.stop();
    }
  });
  // The best configuration on this machine: the process count with the highest median.
  const best = (figures: Map<number, Figure>) => {
    const [p, f] = [...figures].reduce((a, b) => (medianOf(b[1]) > medianOf(a[1]) || !Number.isFinite(medianOf(a[1])) ? b : a));
    return { p, f, value: medianOf(f) };
  };
  const bestSqlite = best(sqlite);
  const bestPg = best(postgres);
  const bestPerCpu = best(perCpu.sqlite);
  const amRate = medianOf(am);
  addSection({
    title: 'Ingestion: alerts per second',
    method:
      `${n.toLocaleString('en-US')} distinct alerts in HTTP batches of 100 from 8 concurrent keep-alive clients (node:http, bench/post-client.ts, the same for both), ` +
      `after ${warmup.toLocaleString('en-US')} untimed requests of 100 other alerts to each server (a fresh Node process still compiles its request path through a shorter ` +
      'warm-up: bench/hot-paths.md; Alertmanager, compiled ahead of time, takes the same). Tocsin runs as ' +
      `\`tocsin serve --role api --processes N\` (N = ${API_PROCESSES.join(' and ')}, one port, node:cluster) on a fresh database and answers 202 only after the batch is committed ` +
      '(bench/ingest.ts); its CPU is that of all its processes. Alertmanager 0.25 runs with clustering off, alerts grouped by `alertname` into a receiver that sends nothing ' +
      '(its ingestion alone; it keeps alerts in memory and writes nothing to disk per alert). Each alert has a distinct label set.',
    figures: [
      ...sqlite.values(),
      ...postgres.values(),
      am,
      ...p95.sqlite.values(),
      p95.am,
      ...perCpu.sqlite.values(),
      perCpu.am,
      ...(PG_URL ? [...pgCpu.values(), ...pgBackendCpu.values()] : []),
    ],
    notes: [
      `Best on this machine: SQLite with ${procs(bestSqlite.p)}${PG_URL ? `, PostgreSQL with ${procs(bestPg.p)}` : ''}. ` +
        `Tocsin on SQLite / Alertmanager: **${ratio(bestSqlite.value, amRate)}**; ${PG_URL ? `Tocsin on PostgreSQL / Alertmanager: ${ratio(bestPg.value, amRate)}; ` : ''}` +
        `alerts per CPU second, Tocsin SQLite (${procs(bestPerCpu.p)}) / Alertmanager: ${ratio(bestPerCpu.value, medianOf(perCpu.am))}.`,
    ],
  });
  const x = bestSqlite.value / amRate;
  addTarget({
    goal: 'ingestion on SQLite (durable) ≥ Alertmanager’s alerts/s',
    figure: `${formatNumber(bestSqlite.value)} (${procs(bestSqlite.p)}) vs ${formatNumber(amRate)} alerts/s = ${ratio(bestSqlite.value, amRate)}`,
    met: Number.isFinite(x) ? x >= 1 : undefined,
  });
  const perCpuX = bestPerCpu.value / medianOf(perCpu.am);
  addTarget({
    goal: 'ingestion on SQLite: alerts per server CPU-second ≥ Alertmanager’s',
    figure: `${formatNumber(bestPerCpu.value)} (${procs(bestPerCpu.p)}) vs ${formatNumber(medianOf(perCpu.am))} alerts/CPU-s = ${ratio(bestPerCpu.value, medianOf(perCpu.am))}`,
    met: Number.isFinite(perCpuX) ? perCpuX >= 1 : undefined,
  });
  if (!PG_URL) return;
  const pgX = bestPg.value / amRate;
  addTarget({
    goal: 'ingestion on PostgreSQL ≥ 0.8× Alertmanager’s alerts/s',
    figure: `${formatNumber(bestPg.value)} (${procs(bestPg.p)}) vs ${formatNumber(amRate)} alerts/s = ${ratio(bestPg.value, amRate)}`,
    met: Number.isFinite(pgX) ? pgX >= 0.8 : undefined,
  });
}

// ─── Inbound sources ──────────────────────────────────────────────────────────────────────────

const SOURCE_KINDS = ['rest', 'orchestrator-webhook', 'alertmanager', 'webhook'] as const;
const SOURCE_LABELS: Record<(typeof SOURCE_KINDS)[number], string> = {
  rest: 'REST POST /alerts, one alert per request',
  'orchestrator-webhook': 'orchestrator-webhook receiver (X-UiPath-Signature)',
  alertmanager: 'alertmanager receiver (bearer secret)',
  webhook: 'webhook receiver (Standard Webhooks signature)',
};

async function sourcesStep(): Promise<void> {
  const n = SIZES.sourceEvents;
  const script = `npm run bench:sources -- --events ${n} --clients 8 --pull-alerts 1000`;
  const rates = Object.fromEntries(SOURCE_KINDS.map((k) => [k, figure(`${SOURCE_LABELS[k]}, SQLite`, 'events/s', script)])) as Record<
    (typeof SOURCE_KINDS)[number],
    ReturnType<typeof figure>
  >;
  const cpu = Object.fromEntries(SOURCE_KINDS.map((k) => [k, figure(`${SOURCE_LABELS[k]}: the server's CPU per event`, 'CPU-µs', script)])) as Record<
    (typeof SOURCE_KINDS)[number],
    ReturnType<typeof figure>
  >;
  const lagP50 = figure('pull connector lag, p50 (interval 1 s)', 'ms', script);
  const lagP95 = figure('pull connector lag, p95 (interval 1 s)', 'ms', script);
  let duplicates = 0;
  await repeat('sources', async (run) => {
    log(`sources run ${run + 1} (bench/sources.ts)`);
    const out = await runScript('bench/sources.ts', ['--events', String(n), '--clients', '8', '--pull-alerts', '1000'], { timeoutMs: 600_000 });
    for (const r of jsonLines(out)) {
      if (r.bench === 'sources-push') {
        rates[r.kind as (typeof SOURCE_KINDS)[number]].runs.push(r.eventsPerSecond);
        cpu[r.kind as (typeof SOURCE_KINDS)[number]].runs.push(r.cpuUsPerEvent);
      }
      if (r.bench === 'sources-pull') {
        lagP50.runs.push(r.lagP50Ms);
        lagP95.runs.push(r.lagP95Ms);
        duplicates += r.duplicates;
      }
    }
  });
  const rest = medianOf(rates.rest);
  addSection({
    title: "Inbound sources: signed events per second, and the pull connector's lag",
    method:
      `bench/sources.ts. One \`tocsin serve --role api\` on SQLite with one source of each push kind; ${n.toLocaleString('en-US')} distinct events per kind, ` +
      'one event per request from 8 keep-alive clients, each signed the way its sender signs (before the clock starts), every answer a 202 ' +
      'after the commit; REST gets the same load (one alert per request, a robot token) in the same server, the kinds interleaved in 3 rounds ' +
      'after a warm-up. Pull: a second Tocsin plays Orchestrator (Account/Authenticate, /odata/Alerts); 1,000 alerts are raised on it at 100 a ' +
      "second while an orchestrator-pull source (interval 1 s) imports them; the lag is each alert's import time minus its CreationTime upstream.",
    figures: [...SOURCE_KINDS.map((k) => rates[k]), ...SOURCE_KINDS.map((k) => cpu[k]), lagP50, lagP95],
    notes: [
      `Per event, against REST in the same run: ${SOURCE_KINDS.slice(1)
        .map((k) => `${k} ${ratio(medianOf(rates[k]), rest)}`)
        .join(', ')}; per server CPU-second: ${SOURCE_KINDS.slice(1)
        .map((k) => `${k} ${ratio(medianOf(cpu.rest), medianOf(cpu[k]))}`)
        .join(', ')} (CPU per event: user + system of the server process over the timed rounds, which load elsewhere distorts less than rates).`,
      `Pull: ${duplicates} duplicates over all runs (each upstream alert is imported once).`,
    ],
  });
  for (const k of SOURCE_KINDS.slice(1)) {
    const x = medianOf(rates[k]) / rest;
    addTarget({
      goal: `${k} receiver ≥ 0.8× REST per event`,
      figure: `${formatNumber(medianOf(rates[k]))} vs ${formatNumber(rest)} events/s = ${ratio(medianOf(rates[k]), rest)}`,
      met: Number.isFinite(x) ? x >= 0.8 : undefined,
    });
  }
}

// ─── Latency ──────────────────────────────────────────────────────────────────────────────────

/**
 * LINK_MS is the round trip added to every SMTP reply in the latency step's second half: the mail
 * server one network link away (a relay in the same data centre), as it is wherever it is not on
 * Tocsin's own host. The sink holds each reply (FastSinkOptions.replyDelayMs); the TCP handshake
 * is not delayed, which flatters a client that connects per email (Alertmanager).
 */
const LINK_MS = 2;

async function latencyStep(): Promise<void> {
  await latencyOver(0);
  await latencyOver(LINK_MS);
}

/** latencyOver measures one Fatal alert → email for Tocsin and Alertmanager, the sink's replies `linkMs` late. */
async function latencyOver(linkMs: number): Promise<void> {
  const reps = SIZES.latencyRepetitions;
  const sink = await startSinkProcess({ replyDelayMs: linkMs });
  const where = linkMs > 0 ? `, SMTP server ${linkMs} ms away` : '';
  const dir = tempDir(linkMs > 0 ? 'latency-link' : 'latency');
  const databaseUrl = `sqlite:${path.join(dir, 'tocsin.db')}`;
  const tocsin = await startTocsinServer({ databaseUrl, role: 'all', smtpPort: sink.port, cpuProfile: CPU_PROF });
  const tenant = await provisionTenant(tocsin.url, 'latency', { fatalImmediately: true });
  const am = await startAlertmanager({ smtpPort: sink.port, groupBy: ['...'] });
  const cmd = `${BENCH} --only latency`;
  const f = {
    tp50: figure(`Tocsin Fatal-immediately (SQLite, stored durably first)${where}, p50`, 'ms', cmd),
    tp95: figure(`Tocsin Fatal-immediately${where}, p95`, 'ms', cmd),
    ap50: figure(`Alertmanager, group_wait 0s${where}, p50`, 'ms', cmd),
    ap95: figure(`Alertmanager${where}, p95`, 'ms', cmd),
    tcpu: figure(`Tocsin server CPU per Fatal alert → email${where} (the run’s pauses included)`, 'CPU-ms', cmd),
    acpu: figure(`Alertmanager CPU per alert → email${where} (the run’s pauses included)`, 'CPU-ms', cmd),
  };
  // CPU, unlike time, is not stretched by other processes waiting for the cores: the figure that a loaded machine distorts least.
  const cpuMsPerAlert = async (pid: number, measure: () => Promise<unknown>) => {
    const before = processStats(pid).cpuSeconds;
    await measure();
    return ((processStats(pid).cpuSeconds - before) * 1000) / (reps + 2);
  };
  try {
    await repeat('latency', async (run) => {
      log(`latency${where} run ${run + 1}: Tocsin`);
      f.tcpu.runs.push(
        await cpuMsPerAlert(tocsin.pid, async () => {
          const t = await tocsinFatalLatency(tocsin.url, tenant, sink, reps);
          f.tp50.runs.push(t.p50Ms);
          f.tp95.runs.push(t.p95Ms);
        }),
      );
      log(`latency${where} run ${run + 1}: Alertmanager`);
      f.acpu.runs.push(
        await cpuMsPerAlert(am.pid, async () => {
          const a = await alertmanagerLatency(am, sink, reps);
          f.ap50.runs.push(a.p50Ms);
          f.ap95.runs.push(a.p95Ms);
        }),
      );
    });
  } finally {
    await am.stop();
    await tocsin.stop();
    await sink.stop();
  }
  const phases: LatencyPhases | undefined = await latencyPhases(databaseUrl).catch(() => undefined);
  addSection({
    title:
      linkMs > 0 ? `Latency with the SMTP server one link away: every reply ${linkMs} ms late` : 'Latency: one Fatal alert to its email accepted by the sink',
    method:
      (linkMs > 0
        ? `As the section above, but the sink holds every reply (its greeting too) ${linkMs} ms before writing it, as a mail server one network link away ` +
          'answers; the TCP handshake is not delayed, which flatters a client that connects per email (Alertmanager). The clock still stops when the sink ' +
          'has the message’s final ".", before its held 250. '
        : '') +
      `${reps} repetitions per run (after 2 not counted), one alert at a time, from the start of the POST to the sink's 250 after DATA. ` +
      'Tocsin: `tocsin serve --role all` on SQLite; an operator opted in to Fatal-immediately; the robot posts one Fatal alert to ' +
      '`POST /api/v1/tenants/{tenant}/alerts` (202 after commit); Tocsin decides and queues the immediate email in the alert’s own commit, leased to the worker of the same process, which sends it once that one commit is durable (no claim). ' +
      "Alertmanager: each alert a new label set, `group_by: ['...']`, `group_wait: 0s`, one email receiver to the same sink. " +
      'Per run the p50 and p95 of its repetitions; the table shows their medians over the runs.',
    figures: [f.tp50, f.tp95, f.ap50, f.ap95, f.tcpu, f.acpu],
    notes: phases
      ? [
          `Where Tocsin's time goes, from its own tables (median of ${phases.emails} immediate emails, warm-ups included): alert stored → email decided and queued ` +
            `${formatNumber(phases.decideMs)} ms, queued → taken by the worker (0 when leased at insert) ` +
            `${formatNumber(phases.claimMs)} ms, taken → the server's 250 (the commit's flush, endpoint, render, SMTP) ${formatNumber(phases.sendMs)} ms.`,
        ]
      : [],
  });
  const tp95 = medianOf(f.tp95);
  const ap95 = medianOf(f.ap95);
  addTarget({
    goal: `Fatal → email p95 ≤ Alertmanager’s${linkMs > 0 ? ` (the SMTP server ${linkMs} ms away)` : ''}`,
    figure: `${formatNumber(tp95)} ms vs ${formatNumber(ap95)} ms`,
    met: Number.isFinite(tp95 / ap95) ? tp95 <= ap95 : undefined,
  });
}

// ─── Delivery and scale-out ───────────────────────────────────────────────────────────────────

function databaseWork(results: readonly DeliveryResult[]): string {
  const measured = results.flatMap((r) => (r.database ? [r.database] : []));
  if (measured.length === 0) return 'not measured';
  const commits = median(measured.map((d) => d.commitsPerEmail));
  const rows = median(measured.map((d) => d.rowsWrittenPerEmail));
  return `${commits.toFixed(2)} commits and ${rows.toFixed(1)} rows written (median of ${measured.length} runs)`;
}

/** cpuMsPerEmail is the median over runs of the sending side's CPU milliseconds per email (NaN when not measured). */
function cpuMsPerEmail(results: readonly DeliveryResult[]): number {
  const measured = results.flatMap((r) => (r.clientCpuMsPerEmail === undefined ? [] : [r.clientCpuMsPerEmail]));
  return measured.length ? median(measured) : Number.NaN;
}

/**
 * Pairs of scale-out windows (1 worker, 2 workers) per delivery run, by the same two warm processes
 * (bench/scale-out-windows.ts): with the default 3 runs, 12 pairs to see the scatter by, each
 * window half the delivery figures' emails. The emails timed are those of the 2 pairs of fresh
 * processes per run this replaced, in about the time those took with their 6 starts and warm-ups.
 */
const SCALE_OUT_PAIRS = 4;

function deliveryFigures(label: string, command: string) {
  return { rate: figure(label, 'emails/s', command), results: [] as DeliveryResult[] };
}

async function deliveryStep(): Promise<void> {
  const n = SIZES.deliveryEmails;
  const cmd = `${BENCH} --only delivery`;
  const plain = await startSinkProcess();
  const tls = await startSinkProcess({ tls: true });
  const sqliteUrl = `sqlite:${path.join(tempDir('delivery'), 'tocsin.db')}`;
  const pgUrl = PG_URL ? await postgresDatabase() : undefined;
  log('delivery: seeding one real immediate email per database');
  const bytes = await seedDatabase(sqliteUrl, plain);
  if (pgUrl) await seedDatabase(pgUrl, plain);
  const raw = deliveryFigures('raw nodemailer pool, 10 connections, no TLS', cmd);
  const rawTls = deliveryFigures('raw nodemailer pool, 10 connections, STARTTLS', cmd);
  const am = deliveryFigures('Alertmanager, one email per alert (new connection each)', cmd);
  const one = deliveryFigures('Tocsin, 1 worker process, SQLite', cmd);
  const worst = deliveryFigures('Tocsin, 1 worker process, SQLite, worst case: every email about another alert (one run)', cmd);
  const onePg = deliveryFigures('Tocsin, 1 worker process, PostgreSQL', cmd);
  const twoPg = deliveryFigures('Tocsin, 2 worker processes, PostgreSQL', cmd);
  const timeoutMs = 120_000;
  /** The 1-minute load average after each scale-out pair. */
  const pairLoads: number[] = [];
  /** The scale-out runs (one per delivery run), for their warm-ups and database counts. */
  const scaleOutRuns: ScaleOutRun[] = [];
  // Each worker process sends as many untimed emails first as the raw pool does (rawNodemailerRate).
  const warmup = Math.min(500, Math.ceil(n / 10));
  try {
    await repeat('delivery', async (run) => {
      log(`delivery run ${run + 1}: raw nodemailer`);
      raw.results.push(await rawNodemailerRate(plain, { emails: n, connections: 10, bytes, starttls: false }));
      rawTls.results.push(await rawNodemailerRate(tls, { emails: n, connections: 10, bytes, starttls: true }));
      log(`delivery run ${run + 1}: Alertmanager`);
      const instance = await startAlertmanager({ smtpPort: plain.port, groupBy: ['...'] });
      try {
        am.results.push(await alertmanagerDeliveryRate(instance, plain, n, timeoutMs));
      } finally {
        await instance.stop();
      }
      log(`delivery run ${run + 1}: Tocsin workers`);
      one.results.push(await tocsinDeliveryRate(sqliteUrl, plain, { emails: n, workers: 1, warmup, timeoutMs, cpuProfile: CPU_PROF }));
      // Once: how far the per-alert MIME cache carries the figure above (each email rendered and encoded anew).
      if (run === 0) worst.results.push(await tocsinDeliveryRate(sqliteUrl, plain, { emails: n, workers: 1, warmup, timeoutMs, order: 'round-robin' }));
      if (pgUrl) {
        // The same two warm processes, alone and together in turn (scaleOutPlan): each pair's
        // windows share the machine's load of their minute and the processes' JIT and heaps.
        const scaleOut = await scaleOutRun(pgUrl, plain, {
          emails: n / 2,
          pairs: SCALE_OUT_PAIRS,
          warmup: SCALE_OUT_WARMUP,
          timeoutMs,
          atEnd: (_pids, window) => {
            if (window % 2 === 1) pairLoads.push(machine().loadAverage[0]!);
          },
        });
        scaleOutRuns.push(scaleOut);
        onePg.results.push(...scaleOut.pairs.map((p) => p.one));
        twoPg.results.push(...scaleOut.pairs.map((p) => p.two));
      }
    });
  } finally {
    await tls.stop();
    await plain.stop();
  }
  const all = [raw, rawTls, am, one, worst, onePg, twoPg].filter((d) => d.results.length > 0);
  for (const d of all) d.rate.runs.push(...d.results.map((r) => r.emailsPerSecond));
  const counts = (d: { results: DeliveryResult[] }) => {
    const sum = (k: 'received' | 'duplicates' | 'lost') => d.results.reduce((s, r) => s + r[k], 0);
    return `${sum('received').toLocaleString('en-US')} received, ${sum('duplicates')} duplicates, ${sum('lost')} lost`;
  };
  const rawRate = medianOf(raw.rate);
  addSection({
    title: 'Delivery: emails per second into the sink',
    method:
      `${n.toLocaleString('en-US')} emails per figure and run (PostgreSQL: each of the scale-out section's windows of ${(n / 2).toLocaleString('en-US')}, below), each about ${bytes.toLocaleString('en-US')} bytes (the size of Tocsin's real immediate email). ` +
      'Raw: one nodemailer pool of 10 connections in the benchmark process, 20 sends in flight. Alertmanager: alerts with distinct label sets ' +
      "posted in batches of 100 (`group_by: ['...']`, `group_wait: 0s`), timed until the sink has them all. Tocsin: Tocsin itself decides and queues " +
      `the immediate emails of ${SEED_ALERTS.toLocaleString('en-US')} distinct Fatal alerts to one operator; ${OPERATORS - 1} more operators of the tenant then ask for immediate emails, and the benchmark queues ` +
      `${n.toLocaleString('en-US')} emails due at one instant, copied from those: ${n / OPERATORS} alerts' emails, each alert's ${OPERATORS} together (one to each operator, with the operator's own address, name, unsubscribe link and action links), as Tocsin's decision queues an alert's emails in one insert. ` +
      'The worst case (one run) queues them round-robin instead, every email about another alert than the one before, to the first operator, so no email shares the rendering and MIME encoding of another. ' +
      '`tocsin serve --role worker` processes (one tenant, so at most 10 connections per process) claim, render from the database, send and record them; timed from that instant to the ' +
      `last new Message-ID at the sink. Like the raw pool, each worker process first sends ${warmup.toLocaleString('en-US')} emails, untimed (its JIT, connections and caches warm: a fresh process's first emails cost more, once per process, which is not what a second worker costs per email). The sink runs in a process of its own.`,
    figures: all.map((d) => d.rate),
    notes: [
      `Tocsin 1 worker / raw (no TLS): SQLite **${ratio(medianOf(one.rate), rawRate)}**${pgUrl ? `, PostgreSQL ${ratio(medianOf(onePg.rate), rawRate)}; 2 workers on PostgreSQL **${ratio(medianOf(twoPg.rate), rawRate)}**` : ''}.`,
      `Tocsin 1 worker (SQLite) / Alertmanager: ${ratio(medianOf(one.rate), medianOf(am.rate))}.`,
      `CPU spent sending, per email (median over runs): ${all
        .filter((d) => d.results.some((r) => r.clientCpuMsPerEmail !== undefined))
        .map((d) => `${d.rate.label} ${cpuMsPerEmail(d.results).toFixed(2)} ms`)
        .join(
          '; ',
        )} (raw: the benchmark process; Tocsin: its worker processes, rendering included). On 2 cores shared with the sink and PostgreSQL, this is what bounds the rate.`,
      `bench:deliver (below) queues small pre-rendered emails into an in-process worker; here every email is the real immediate email (${bytes.toLocaleString('en-US')} bytes), rendered at send time from the database.`,
      ...all.map((d) => `${d.rate.label}: ${counts(d)} (Message-IDs counted at the sink, all runs).`),
    ],
  });
  if (pgUrl) {
    addSection({
      title: 'Scale-out: worker processes on one PostgreSQL',
      method:
        'Queues drained by 1 and by 2 `tocsin serve --role worker` processes on one PostgreSQL database (claims with ' +
        '`FOR UPDATE SKIP LOCKED` under a lease). Every email has its own Message-ID; the sink counts duplicates and the missing. ' +
        `Each delivery run starts two worker processes, each in a session of its own (Linux shares the CPU between sessions, autogroup), and each first sends ${SCALE_OUT_WARMUP.toLocaleString('en-US')} emails untimed (the delivery runs above: 500; a worker's CPU per email still falls for thousands of emails). ` +
        `The same two processes then drain ${SCALE_OUT_PAIRS} pairs of queues of ${(n / 2).toLocaleString('en-US')} emails, one alone (the other paused, SIGSTOP, once every email before is recorded) and both together, back to back, in the order A AB, AB B, B AB, AB A: ` +
        'which figure goes first alternates, and the lone worker is each process in turn, so a pair compares 1 and 2 workers made by the same warm processes, not one process’s JIT, heap and warm-up with two others’ (fresh processes per run scattered the pairs by ±15 %, bench/hot-paths.md). ' +
        'CPU per email: the worker processes’ user and system time from /proc at the window’s edges (when the emails fall due, when the sink has them all). ' +
        'The target is judged on each pair’s ratio: their median and spread, and undecided when the pairs fall on both sides of the limit and scatter more than its 10 % margin. ' +
        'Statements per email by kind, claim sizes and an idle worker’s CPU per second: `TOCSIN_TEST_PG_URL=… npx tsx bench/scale-out.ts` (bench/hot-paths.md).',
      figures: [onePg.rate, twoPg.rate],
      notes: [
        `1 worker: ${counts(onePg)}.`,
        `2 workers: ${counts(twoPg)}.`,
        `2 workers / 1 worker: ${ratio(medianOf(twoPg.rate), medianOf(onePg.rate))}; emails sent by each of the 2 workers, per window: ${twoPg.results.map((r) => r.perWorker?.join(' + ') ?? 'n/a').join('; ')} (in their warm-ups, per run: ${scaleOutRuns.map((r) => r.warmupPerWorker.join(' + ')).join('; ')}); workers that made each alert’s emails (1.00: no alert’s recipients split between them, each reading its facts and rendering its MIME), per window: ${twoPg.results.map((r) => (r.alertShares ? (r.alertShares.shares / Math.max(1, r.alertShares.alerts)).toFixed(2) : 'n/a')).join('; ')}.`,
        `PostgreSQL work per email sent (pg_stat_database, all sessions of the worker processes, their schedulers included, each window's): ${databaseWork([...onePg.results, ...twoPg.results])}.`,
        `CPU-ms per email, 1 → 2 workers, per pair (back to back, alternating which goes first): ${onePg.results.map((r, i) => `${r.clientCpuMsPerEmail?.toFixed(2)} → ${twoPg.results[i]!.clientCpuMsPerEmail?.toFixed(2)} (load ${pairLoads[i]})`).join('; ')}.`,
      ],
    });
  }
  log('delivery: bytes per email template');
  addSection({
    title: 'Email sizes per template',
    method:
      'The sample of each template (docs/emails) in each language: its HTML part, its text part, and the whole message as the sender ' +
      'writes it (headers, both parts quoted-printable). Reproduce with `npx tsx bench/email-sizes.ts`.\n\n' +
      (await runScript('bench/email-sizes.ts', [], { timeoutMs: 120_000 })).trim(),
    figures: [],
    notes: [],
  });
  log('delivery: commits and rows written per email');
  addSection({
    title: 'Commits and rows written per email',
    method:
      'Counted, not timed, in one in-process worker sending 500 ready-rendered emails to a real SMTP server, outcomes recorded one commit per ' +
      'email (before group commits) and in group commits (AttemptRecorder, as shipped). SQLite: write transactions that changed rows; ' +
      'PostgreSQL: pg_stat_database of the run’s database. Reproduce with `TOCSIN_TEST_PG_URL=… npx tsx bench/record-counts.ts --emails 500`.\n\n' +
      (await runScript('bench/record-counts.ts', ['--emails', '500'], { env: { TOCSIN_TEST_PG_URL: PG_URL }, timeoutMs: 600_000 })).trim(),
    figures: [],
    notes: [],
  });
  const amRate = medianOf(am.rate);
  addTarget({
    goal: 'delivery, 1 worker process (SQLite, real rendered emails) ≥ Alertmanager’s emails/s',
    figure: `${formatNumber(medianOf(one.rate))} vs ${formatNumber(amRate)} emails/s = ${ratio(medianOf(one.rate), amRate)}`,
    met: one.rate.runs.length && am.rate.runs.length ? medianOf(one.rate) >= amRate : undefined,
  });
  const oneCpu = cpuMsPerEmail(one.results);
  const rawCpu = cpuMsPerEmail(raw.results);
  addTarget({
    goal: 'delivery, 1 worker process (SQLite): emails per sending CPU-second ≥ the raw nodemailer pool’s',
    figure: `${formatNumber(1000 / oneCpu)} vs ${formatNumber(1000 / rawCpu)} emails/CPU-s = ${ratio(rawCpu, oneCpu)}`,
    met: Number.isFinite(oneCpu / rawCpu) ? oneCpu <= rawCpu : undefined,
  });
  if (pgUrl) {
    const oneCpuPg = cpuMsPerEmail(onePg.results);
    const twoCpuPg = cpuMsPerEmail(twoPg.results);
    const bad = [...onePg.results, ...twoPg.results].reduce((s, r) => s + r.duplicates + r.lost, 0);
    // Each pair's own ratio, not the ratio of the medians: the load moves both figures of a pair alike.
    const pairs = pairedVerdict(
      onePg.results.map((r, i) => [r.clientCpuMsPerEmail ?? Number.NaN, twoPg.results[i]!.clientCpuMsPerEmail ?? Number.NaN]),
      SCALE_OUT_LIMIT,
      SCALE_OUT_LIMIT - 1,
    );
    addTarget({
      goal: `scale-out (PostgreSQL): 2 workers’ CPU per email ≤ ${SCALE_OUT_LIMIT}× one worker’s, 0 duplicates, 0 lost`,
      figure: `${oneCpuPg.toFixed(2)} → ${twoCpuPg.toFixed(2)} CPU-ms per email (medians); ${pairs ? describePairs(pairs, SCALE_OUT_LIMIT, SCALE_OUT_LIMIT - 1) : 'no pair measured'}; ${counts({ results: [...onePg.results, ...twoPg.results] })}`,
      met: bad > 0 ? false : pairs === undefined ? undefined : pairs.verdict === 'undecided' ? 'undecided' : pairs.verdict === 'met',
    });
  } else {
    caveats.push('delivery: PostgreSQL not configured (TOCSIN_BENCH_PG_URL / TOCSIN_TEST_PG_URL), so no scale-out figures.');
  }
}

// ─── Reports at scale ─────────────────────────────────────────────────────────────────────────

const numberIn = (text: unknown) => Number(/([\d.]+)/.exec(String(text))?.[1] ?? Number.NaN);

async function reportsStep(): Promise<void> {
  const decide: Figure[] = [];
  const rss: Figure[] = [];
  const growth: Figure[] = [];
  const sizes = SIZES.reportUsers;
  const target = sizes.includes(10_000) ? 10_000 : sizes[sizes.length - 1]!;
  for (const users of sizes) {
    const cmd = `BENCH_USERS=${users} npm run bench:reports`;
    const d = figure(`${users.toLocaleString('en-US')} users: daily reports decided and queued`, 's', cmd);
    const r = figure(`${users.toLocaleString('en-US')} users: peak RSS of the process`, 'MB', cmd);
    const g = figure(`${users.toLocaleString('en-US')} users: RSS growth while deciding`, 'MB', cmd);
    const once = async () => {
      log(`reports: ${users} users`);
      const out = await runScript('bench/reports.ts', [], { env: { BENCH_USERS: String(users) }, timeoutMs: 240_000 });
      const line = jsonLines(out).pop();
      d.runs.push(numberIn(line.dailyDecideAndQueue));
      r.runs.push(numberIn(line.maxRssOfProcess));
      g.runs.push(numberIn(line.peakRssGrowthWhileDeciding));
    };
    // Only the target size is repeated; the curve's other points are one run each.
    if (users === target) await repeat('reports', once);
    else if (deadline - Date.now() - reserveAfter('reports') > 60_000) await once();
    else caveats.push(`reports: ${users} users skipped to stay within the budget.`);
    decide.push(d);
    rss.push(r);
    growth.push(g);
  }
  const at = (figures: Figure[], users: number) => figures[sizes.indexOf(users)];
  const d10 = at(decide, target)!;
  const r10 = at(rss, target)!;
  const curve = rss.filter((f) => f.runs.length > 0).map(medianOf);
  const flat = curve.length >= 2 ? Math.max(...curve) <= 1.25 * Math.min(...curve) : undefined;
  addSection({
    title: 'Reports at scale',
    method:
      'bench/reports.ts: one tenant with N subscribed users and 100,000 alerts in the day, on SQLite; the daily report of every user ' +
      'decided and queued in one transaction (rendering happens at send time in the outbox; the bench then renders a sample of 200 daily ' +
      "and 200 summary emails in the same process). Peak RSS is the process's maximum resident set over the whole run, setup and the " +
      'render sample included. The process sizes its heap as a worker does (src/cli/heap.ts: the role whose scheduler decides reports), ' +
      'inserts the 100,000 alerts 1,000 at a time, and loads no test tooling (it loaded vitest and a second copy of the storage modules ' +
      'through test/support/storage.ts until 2026-11-30: about 40 MB); it runs src/ through tsx, whose loader thread and in-process MJML ' +
      'compile of the emails at the first render the compiled build has not (`npm run build && BENCH_USERS=10000 npm run bench:reports -- --built`: ' +
      `about 45 MB less). Only the ${target.toLocaleString('en-US')}-user point is repeated.`,
    figures: [...decide, ...rss, ...growth],
    notes: [`peak RSS by users: ${sizes.map((u, i) => `${u.toLocaleString('en-US')} → ${formatNumber(medianOf(rss[i]!))} MB`).join(', ')}.`],
  });
  addTarget({
    goal: `${target.toLocaleString('en-US')} users: daily reports queued ≤ 30 s`,
    figure: `${formatNumber(medianOf(d10))} s`,
    met: d10.runs.length ? medianOf(d10) <= 30 : undefined,
  });
  addTarget({
    goal: `${target.toLocaleString('en-US')} users: peak RSS ≤ 300 MB`,
    figure: `${formatNumber(medianOf(r10))} MB (largest on the curve: ${formatNumber(Math.max(...curve))} MB)`,
    met: r10.runs.length ? medianOf(r10) <= 300 : undefined,
  });
  addTarget({ goal: 'reports: RSS flat as users grow (largest ≤ 1.25× smallest)', figure: curve.map((c) => `${formatNumber(c)} MB`).join(' → '), met: flat });
}

// ─── The report scheduler with many tenants ───────────────────────────────────────────────────

async function schedulerStep(): Promise<void> {
  if (!PG_URL) {
    caveats.push('scheduler: skipped, it runs on PostgreSQL only.');
    return;
  }
  const tenants = SIZES.schedulerTenants;
  const cmd = `TOCSIN_TEST_PG_URL=… npm run bench:scheduler -- --tenants ${tenants}`;
  log('scheduler (bench/scheduler.ts, one run: its waits are for the clock)');
  const out = await runScript('bench/scheduler.ts', ['--tenants', String(tenants)], { env: { TOCSIN_TEST_PG_URL: PG_URL }, timeoutMs: 1_200_000 });
  const lines = jsonLines(out);
  const find = (name: string, extra: (l: any) => boolean = () => true) => lines.find((l) => l.figure === name && extra(l));
  const idleNone = find('idle', (l) => l.tenants === 0);
  const idleMany = find('idle', (l) => l.tenants === tenants);
  const end = find('window end');
  const amortized = find('idle at the default interval');
  const daily = [1, 2].map((w) => find('daily in one minute', (l) => l.workers === w));
  const cost = find('daily decision cost');
  const one = (label: string, unit: string, value: number | undefined) => ({ ...figure(label, unit, cmd), runs: value === undefined ? [] : [value] });
  const n = tenants.toLocaleString('en-US');
  addSection({
    title: 'Report scheduler with many tenants (PostgreSQL)',
    method:
      `bench/scheduler.ts, one run. Idle: \`tocsin serve --role all\` on a database with no tenant, then on one with ${n} tenants (alert emails ` +
      'on, one operator each, no alert), side by side, both with a 180-second summary interval so that a window end falls within the run; CPU is the ' +
      "server process's (/proc), the database's work is pg_stat_database's committed transactions (each query outside a transaction is one), " +
      'both measured over the same 40 s with no window end, begun 125 s after the last one and 125 s or more after the servers were ready ' +
      "(so that neither the start-up's garbage nor a window end's is collected within it: V8's memory reducer collects in full up to 108 s " +
      "after the last full GC). What one window end costs (every tenant's empty summary window decided, the full GC of their garbage " +
      "within seconds and the memory reducer's when V8 runs one, 67–108 s later) is measured from 3 s before one to 122 s after it, " +
      'and the average at the default 600-second interval follows. Daily: ' +
      `${n} tenants whose daily report ("all quiet" ones included, one operator each) is due at the same minute, decided by 1 and then 2 ` +
      '`tocsin serve --role worker` processes on a fresh database, sending to the sink.',
    figures: [
      one('idle, no tenant: CPU', '%', idleNone?.cpuPercent),
      one(`idle, ${n} tenants, between window ends: CPU`, '%', idleMany?.cpuPercent),
      one('idle, no tenant: database transactions', '/s', idleNone?.transactionsPerSecond),
      one(`idle, ${n} tenants: database transactions`, '/s', idleMany?.transactionsPerSecond),
      one(`one summary window end (${n} empty windows): CPU`, 's', end?.cpuSeconds),
      one(`idle, ${n} tenants, window ends included, at the 600 s interval: CPU`, '%', amortized?.cpuPercent),
      ...daily.map((d, i) => one(`${n} daily reports of one minute, ${i + 1} worker${i ? 's' : ''}: last decided after`, 's', d?.decidedWithinSeconds)),
      ...daily.map((d, i) =>
        one(`${n} daily reports of one minute, ${i + 1} worker${i ? 's' : ''}: decided in the first 60 s`, 'reports', d?.decidedInTheFirstMinute),
      ),
      one('daily reports decided: SQL statements per 1,000 tenants (in process, counted)', 'statements', cost && cost.statementsPerTenant * 1000),
      one('daily reports decided: PostgreSQL transactions per 1,000 tenants', 'transactions', cost && cost.transactionsPerTenant * 1000),
    ],
    notes: [
      ...daily.flatMap((d, i) =>
        d
          ? [
              `${i + 1} worker${i ? 's' : ''}: ${d.reportsQueued} daily reports queued for ${d.tenantsWithAReport} tenants, ${d.tenantsWithTwo} tenants with two (duplicates); worker CPU seconds ${d.workerCpuSeconds.join(', ')} (deciding and sending every report).`,
            ]
          : [],
      ),
      ...(cost
        ? [
            `Cost of deciding, counted in one process on a fake clock (not timed, so the machine's load does not change it): ${cost.decided} of ${cost.tenants} tenants' daily reports ` +
              `by ${formatNumber(cost.statementsPerTenant * 1000)} SQL statements and ${formatNumber(cost.transactionsPerTenant * 1000)} PostgreSQL transactions per 1,000 tenants ` +
              '(many tenants to a transaction: set-based reads and bulk inserts; one tenant at a time it was about 13,000 statements and 2,100 transactions per 1,000).',
          ]
        : []),
    ],
  });
  const within = amortized && idleNone ? amortized.cpuPercent - idleNone.cpuPercent : Number.NaN;
  addTarget({
    goal: `${n} idle tenants: CPU within 1 point of no tenant`,
    figure: `${formatNumber(amortized?.cpuPercent ?? Number.NaN)} % (window ends included) vs ${formatNumber(idleNone?.cpuPercent ?? Number.NaN)} %`,
    met: Number.isFinite(within) ? within <= 1 : undefined,
  });
  for (const [i, d] of daily.entries()) {
    addTarget({
      goal: `${n} same-minute daily reports, ${i + 1} worker${i ? 's' : ''}: all decided ≤ 60 s, none twice`,
      figure: d ? `${formatNumber(d.decidedWithinSeconds)} s, ${d.tenantsWithTwo} twice` : 'n/a',
      met: d ? d.decidedWithinSeconds <= 60 && d.tenantsWithTwo === 0 && d.tenantsWithAReport === tenants : undefined,
    });
  }
}

// ─── The outbox benchmark of the delivery domain ──────────────────────────────────────────────

async function outboxStep(): Promise<void> {
  const emails = QUICK ? 1_000 : 3_000;
  // Its rounds take about a third of MIN_STEP_MS each: fewer when the budget is short.
  const rounds = deadline - Date.now() > MIN_STEP_MS.outbox * 1.5 ? RUNS : 1;
  if (rounds < RUNS) caveats.push(`outbox: ${rounds} round instead of ${RUNS}, to stay within the ${BUDGET_MINUTES}-minute budget.`);
  const cmd = `npm run bench:deliver -- --emails ${emails} --rounds ${rounds}`;
  log('outbox (bench/deliver.ts, its own rounds)');
  // The script interleaves its own rounds (raw, sender, outbox moments apart) and prints each.
  const out = await runScript('bench/deliver.ts', ['--emails', String(emails), '--rounds', String(rounds)], {
    env: { TOCSIN_TEST_PG_URL: PG_URL },
    timeoutMs: 300_000,
  });
  const figures = [...out.matchAll(/^\s*(.+?)\s+median\s+[\d.]+ emails\/s.*\(rounds: ([\d., ]+)\)/gm)].map((m) => ({
    ...figure(m[1]!, 'emails/s', cmd),
    runs: m[2]!.split(',').map(Number),
  }));
  if (figures.length === 0) throw new Error(`could not read bench/deliver.ts's output: ${out.trim().split('\n').slice(-3).join(' | ')}`);
  const raw = figures.find((f) => /^raw/.test(f.label));
  addSection({
    title: 'Outbox in process (bench/deliver.ts)',
    method:
      `The delivery domain's own benchmark: ${emails.toLocaleString('en-US')} emails per round through a DeliveryWorker in the benchmark ` +
      "process, to nodemailer's smtp-server over STARTTLS (which waits 100 ms before greeting, once per pooled connection), each round " +
      'measuring the raw pool, the sender alone and the outbox moments apart.',
    figures,
    notes: raw ? figures.filter((f) => f !== raw).map((f) => `${f.label} / raw: ${ratio(medianOf(f), medianOf(raw))}.`) : [],
  });

  // The worker's timings that its tests check only as an order of events (worker.test.ts).
  log('outbox isolation and wake (bench/worker-isolation.ts)');
  const timings: (Figure & { runs: number[] })[] = [];
  for (const dialect of PG_URL ? ['sqlite', 'postgres'] : ['sqlite']) {
    const isolationCmd = `npm run bench:isolation -- --dialect ${dialect} --runs ${RUNS}`;
    const timed = await runScript('bench/worker-isolation.ts', ['--dialect', dialect, '--runs', String(RUNS)], {
      env: { TOCSIN_TEST_PG_URL: PG_URL },
      timeoutMs: 120_000,
    });
    for (const m of timed.matchAll(/^\[\w+\] (.+?): median [\d.]+ ms \(runs: ([\d., ]+)\)/gm)) {
      timings.push({ ...figure(`${m[1]!} (${dialect})`, 'ms', isolationCmd), runs: m[2]!.split(',').map(Number) });
    }
  }
  if (timings.length === 0) throw new Error("could not read bench/worker-isolation.ts's output");
  addSection({
    title: "Outbox worker: one tenant's hanging server, and a wake (bench/worker-isolation.ts)",
    method:
      "Tenant X's 30 older emails go to a server that accepts connections and never greets, tenant Y's 10 to a healthy one " +
      "(8 slots, 3 per tenant): how long until Y's 10 arrive. Then, with the next poll a minute away, from wake() to the email at the server.",
    figures: timings,
    notes: [],
  });
}

// ─── Main ─────────────────────────────────────────────────────────────────────────────────────

const STEP_RUNNERS: Record<Step, () => Promise<void>> = {
  ingest: ingestStep,
  sources: sourcesStep,
  latency: latencyStep,
  delivery: deliveryStep,
  reports: reportsStep,
  scheduler: schedulerStep,
  outbox: outboxStep,
};

/** writeReport writes what was measured so far; a run stopped over budget still leaves its figures. */
function writeReport(before: ReturnType<typeof machine>, runVersions: Record<string, string>): void {
  const report = renderReport({
    startedAt: new Date(started),
    minutes: (Date.now() - started) / 60_000,
    budgetMinutes: BUDGET_MINUTES,
    runs: RUNS,
    machine: before,
    loadAfter: machine().loadAverage,
    versions: runVersions,
    targets: inDocOrder(targets).map((t) => t.target),
    sections: inDocOrder(sections).map((s) => s.section),
    caveats,
    startup: fs.existsSync(STARTUP) ? fs.readFileSync(STARTUP, 'utf8') : undefined,
    hotPaths: fs.existsSync(HOT_PATHS) ? fs.readFileSync(HOT_PATHS, 'utf8') : undefined,
    workerRss: fs.existsSync(WORKER_RSS) ? fs.readFileSync(WORKER_RSS, 'utf8') : undefined,
    takeover: fs.existsSync(TAKEOVER) ? fs.readFileSync(TAKEOVER, 'utf8') : undefined,
  });
  const out = path.resolve(ROOT, opts.out!);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, report);
  log(`wrote ${path.relative(ROOT, out)}`);
}

async function main(): Promise<void> {
  releaseOnSignals();
  const before = machine();
  if (!PG_URL) caveats.push('PostgreSQL not configured: set TOCSIN_BENCH_PG_URL or TOCSIN_TEST_PG_URL for the PostgreSQL and scale-out figures.');
  if (QUICK) caveats.push('--quick: reduced sizes (not the sizes of issues 7 and 12).');
  caveats.push('Every Tocsin server of the run has TOCSIN_SUMMARY_INTERVAL_SECONDS=86400, so that no 10-minute summary adds mail to what the sink counts.');
  const runVersions = await versions(PG_URL, ensureAlertmanager());
  const hardStop = setTimeout(
    () => {
      caveats.push(`stopped ${BUDGET_MINUTES + 1} minutes in, over budget: the step under way is missing.`);
      writeReport(before, runVersions);
      process.kill(process.pid, 'SIGTERM');
    },
    deadline - Date.now() + 60_000,
  );
  hardStop.unref();
  const loads: string[] = [];
  for (const step of STEPS) {
    if (!ONLY.has(step)) continue;
    currentStep = step;
    loads.push(`${step} ${machine().loadAverage[0]}`);
    const left = deadline - Date.now() - reserveAfter(step);
    if (left < MIN_STEP_MS[step] / 2) {
      caveats.push(`${step}: skipped, not enough of the budget left.`);
      continue;
    }
    try {
      await STEP_RUNNERS[step]();
    } catch (err) {
      caveats.push(`${step}: failed: ${String((err as Error)?.message ?? err).split('\n')[0]}`);
      log(`${step} failed: ${String((err as Error)?.stack ?? err)}`);
    }
    await releaseAll();
  }
  clearTimeout(hardStop);
  caveats.push(`1-minute load average at the start of each step (2 cores; other work on the machine shows here): ${loads.join(', ')}.`);
  writeReport(before, runVersions);
  for (const { target: t } of targets)
    log(`${t.met === undefined ? 'n/a   ' : t.met === 'undecided' ? 'UNSURE' : t.met ? 'MET   ' : 'MISSED'} ${t.goal}: ${t.figure}`);
}

try {
  await main();
} finally {
  await releaseAll();
}
