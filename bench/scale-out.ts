/**
 * What a second worker process costs per email, counted: the delivery benchmark's PostgreSQL
 * runs (bench/delivery.ts: real immediate emails, `tocsin serve --role worker` processes, a sink
 * in its own process) with 1 and 2 workers alternately, each worker counting its statements
 * (bench/pg-statements.mjs) during the timed window. It prints, per run, CPU-ms per email,
 * commits per email (pg_stat_database), statements per email by kind, the claims' mean batch
 * and how many found nothing, and an idle worker's CPU per second. Counts, not speed: the load of
 * a shared machine changes them little (print `uptime` next to them anyway).
 *
 *   TOCSIN_TEST_PG_URL=… npx tsx bench/scale-out.ts [--emails 4000] [--runs 2] [--idle-seconds 10] [--warmup 3000] [--sqlite] [--cpu-prof] [--node-flags=--single-threaded-gc]
 *
 * The runs go in pairs (1 and 2 workers back to back, which first alternating); the last line
 * gives each pair's ratio of CPU per email, their median and spread, and whether they decide the
 * 1.1× target or scatter more than its margin (bench/stats.ts pairedVerdict).
 *
 * It also prints, per email: how many workers made each alert's email (1.00 when no alert's
 * recipients were split between the workers, each of which would read its facts and render its
 * MIME), the workers' CPU on their main threads and on their other threads (GC and compiler
 * helpers), their context switches (voluntary: a thread went idle; involuntary: it lost its core
 * to another process), and their garbage collections (`gc …` lines: collections, and their wall
 * time in µs as rows).
 * --node-flags: flags for the worker processes' node (V8's, which NODE_OPTIONS refuses).
 *
 * --warmup N: each worker process first sends N emails, untimed (SCALE_OUT_WARMUP, 3,000, as npm run bench's
 * scale-out pairs do: a worker is far from warm after a few hundred emails). The line of each run
 * says how many each worker sent in its warm-up.
 * --sqlite: the same runs on an SQLite file instead of PostgreSQL (the statements counted are
 * better-sqlite3's; `busy` ones were refused the write lock and tried again).
 * --control: after the pairs, the same two worker processes with nothing to coordinate: each
 * alone on a database and a sink of its own, sending half the emails, both at once. What they cost
 * per email over one worker alone is what two busy processes cost on this machine, not what the
 * claims, leases and shared queue of two workers on one database cost.
 * --same-processes: the pairs as npm run bench makes them (bench/scale-out-windows.ts): two worker
 * processes started and warmed once, then --runs pairs of windows of --emails each, one process
 * alone (the other paused) and both in turn; prints each window's CPU per email and the pairs'
 * verdict (no statement counts: the processes outlive the windows).
 * --cpu-prof: each worker's timed window is profiled (bench/window-profile.mjs) into
 * bench/profiles/scale-out/run<i>-<n>w/; read with bench/profile-summary.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type DeliveryResult, SCALE_OUT_LIMIT, SCALE_OUT_WARMUP, seedDatabase, tocsinDeliveryRate } from './delivery.js';
import { ROOT, postgresDatabase, releaseAll, releaseOnSignals, sleep, tempDir } from './lifecycle.js';
import { scaleOutRun } from './scale-out-windows.js';
import { startSinkProcess } from './sink-client.js';
import { describePairs, median, pairedVerdict } from './stats.js';
import { type ThreadStats, processStats, startTocsinServer, threadStats } from './tocsin.js';

const { values: args } = parseArgs({
  options: {
    emails: { type: 'string', default: '4000' },
    runs: { type: 'string', default: '2' },
    'idle-seconds': { type: 'string', default: '10' },
    warmup: { type: 'string', default: String(SCALE_OUT_WARMUP) },
    'cpu-prof': { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '' },
    control: { type: 'boolean', default: false },
    sqlite: { type: 'boolean', default: false },
    'same-processes': { type: 'boolean', default: false },
  },
});
const EMAILS = Number(args.emails);
const RUNS = Number(args.runs);
const IDLE_SECONDS = Number(args['idle-seconds']);
const WARMUP = Number(args.warmup);
const PRELOADS = ['pg-statements.mjs', ...(args['cpu-prof'] ? ['window-profile.mjs'] : [])].map((f) => `--import ${path.join(ROOT, 'bench', f)}`);
/** Where --cpu-prof writes the timed window's profiles, one folder per run. */
const PROFILES = path.join(ROOT, 'bench', 'profiles', 'scale-out');

/** The worker processes' environment: the preloads, and where they write. */
function preloadEnv(statements: string, profiles?: string): Record<string, string> {
  return {
    TOCSIN_PG_STATEMENTS_DIR: statements,
    ...(profiles ? { TOCSIN_WINDOW_PROFILE_DIR: profiles } : {}),
    NODE_OPTIONS: [process.env.NODE_OPTIONS ?? '', ...PRELOADS].join(' ').trim(),
  };
}

type Totals = Record<string, { calls: number; rows: number; empty: number }>;

/** What each kind of statement is, from its first words. */
function kindOf(sql: string): string {
  if (/^with "due"/.test(sql)) return 'claim';
  if (/^gc /.test(sql)) return sql;
  if (/^busy: /.test(sql)) return `busy (SQLITE_BUSY): ${kindOf(sql.slice(6))}`;
  if (/^(begin|commit|rollback)/i.test(sql)) return sql.split(' ')[0]!.toLowerCase();
  if (/^update "deliveries" set "lease_expires_at"/.test(sql)) return 'lease renewal';
  if (/^update "deliveries" set "status" = case/.test(sql)) return 'release';
  if (/^select pg_notify|^LISTEN/.test(sql)) return 'notify/listen';
  const table = /(?:from|into|update) "?([a-z_]+)"?/i.exec(sql)?.[1] ?? '?';
  return `${sql.split(' ')[0]!.toLowerCase()} ${table}`;
}

/** readTotals sums the statement counts the worker processes of one run wrote. */
function readTotals(dir: string): Map<string, { calls: number; rows: number; empty: number }> {
  const sum = new Map<string, { calls: number; rows: number; empty: number }>();
  for (const file of fs.readdirSync(dir)) {
    const totals = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Totals;
    for (const [sql, t] of Object.entries(totals)) {
      const kind = kindOf(sql);
      const s = sum.get(kind) ?? { calls: 0, rows: 0, empty: 0 };
      s.calls += t.calls;
      s.rows += t.rows;
      s.empty += t.empty;
      sum.set(kind, s);
    }
  }
  return sum;
}

/** statementCalls: the statements of a run's totals (the preload's `gc …` lines are not). */
function statementCalls(totals: Map<string, { calls: number }>): number {
  return [...totals].reduce((sum, [kind, t]) => (kind.startsWith('gc ') ? sum : sum + t.calls), 0);
}

interface Run {
  readonly workers: number;
  readonly result: DeliveryResult;
  readonly statements: Map<string, { calls: number; rows: number; empty: number }>;
  /** The worker processes' threads in the timed window, summed. */
  readonly threads: ThreadStats;
}

/** The worker processes' threads, summed. */
function threadsOf(pids: readonly number[]): ThreadStats {
  return pids.map(threadStats).reduce((a, b) => ({
    mainCpuMs: a.mainCpuMs + b.mainCpuMs,
    otherCpuMs: a.otherCpuMs + b.otherCpuMs,
    voluntary: a.voluntary + b.voluntary,
    involuntary: a.involuntary + b.involuntary,
  }));
}

async function deliveryRun(url: string, sink: Awaited<ReturnType<typeof startSinkProcess>>, workers: number, run: number, emails = EMAILS): Promise<Run> {
  const dir = tempDir('statements');
  const profiles = args['cpu-prof'] ? path.join(PROFILES, `run${run}-${workers}w`) : undefined;
  if (profiles) fs.mkdirSync(profiles, { recursive: true });
  const signal = (pids: readonly number[]) => {
    for (const pid of pids) process.kill(pid, 'SIGUSR2');
  };
  let threadsAtStart: ThreadStats | undefined;
  let threads: ThreadStats | undefined;
  const result = await tocsinDeliveryRate(url, sink, {
    emails,
    workers,
    warmup: WARMUP,
    timeoutMs: 180_000,
    env: preloadEnv(dir, profiles),
    nodeFlags: args['node-flags'] ? args['node-flags'].split(' ') : undefined,
    ownSessions: true,
    // The statement counts start from zero, and the profiler (--cpu-prof) starts, then stops.
    atStart: (pids) => {
      threadsAtStart = threadsOf(pids);
      signal(pids);
    },
    atEnd: (pids) => {
      const end = threadsOf(pids);
      const start = threadsAtStart!;
      threads = {
        mainCpuMs: end.mainCpuMs - start.mainCpuMs,
        otherCpuMs: end.otherCpuMs - start.otherCpuMs,
        voluntary: end.voluntary - start.voluntary,
        involuntary: end.involuntary - start.involuntary,
      };
      if (profiles) signal(pids);
    },
  });
  return { workers, result, statements: readTotals(dir), threads: threads! };
}

/** idleCpuPerSecond: CPU-ms per second of `workers` worker processes with nothing to send, and their statements per second. */
async function idleCost(url: string, workers: number): Promise<{ cpuMsPerSecond: number; statementsPerSecond: number; statements: string }> {
  const dir = tempDir('idle');
  const servers = await Promise.all(
    Array.from({ length: workers }, () =>
      startTocsinServer({
        databaseUrl: url,
        role: 'worker',
        env: preloadEnv(dir),
      }),
    ),
  );
  try {
    // Past start-up's one-off work first.
    await sleep(3_000);
    for (const s of servers) process.kill(s.pid, 'SIGUSR2');
    const cpu = () => servers.reduce((sum, s) => sum + processStats(s.pid).cpuSeconds, 0);
    const before = cpu();
    await sleep(IDLE_SECONDS * 1000);
    const cpuMs = (cpu() - before) * 1000;
    await sleep(600);
    const totals = readTotals(dir);
    const calls = statementCalls(totals);
    const statements = [...totals]
      .sort((a, b) => b[1].calls - a[1].calls)
      .map(([kind, t]) => `${kind} ${(t.calls / IDLE_SECONDS).toFixed(1)}/s`)
      .join(', ');
    return { cpuMsPerSecond: cpuMs / IDLE_SECONDS, statementsPerSecond: calls / IDLE_SECONDS, statements };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** perEmail is `n` (a count or CPU-ms of a run) per email the sink received, as printed. */
function perEmail(run: Run, n: number): string {
  return (n / Math.max(1, run.result.received)).toFixed(3);
}

/** alertsMadeBy says how many alerts a run sent and how many workers made each one's emails (1.00: none split between them). */
function alertsMadeBy(r: DeliveryResult): string {
  return `${r.alertShares?.alerts} alerts, made by ${r.alertShares ? (r.alertShares.shares / Math.max(1, r.alertShares.alerts)).toFixed(2) : '-'} workers each`;
}

function describe(run: Run): string {
  const r = run.result;
  const per = (n: number) => perEmail(run, n);
  const claim = run.statements.get('claim');
  const lines = [
    `${run.workers} worker(s): ${r.emailsPerSecond.toFixed(0)} emails/s, ${r.clientCpuMsPerEmail?.toFixed(2)} CPU-ms/email, ` +
      `${r.database?.commitsPerEmail.toFixed(3) ?? '-'} commits/email, ${r.database?.rowsWrittenPerEmail.toFixed(2) ?? '-'} rows written/email; ` +
      `${r.received} received, ${r.duplicates} duplicates, ${r.lost} lost; per worker ${r.perWorker?.join(' + ')} (warm-up ${r.warmupPerWorker?.join(' + ') ?? 'none'}); ` +
      alertsMadeBy(r),
    `  CPU-ms/email: main threads ${per(run.threads.mainCpuMs)}, other threads ${per(run.threads.otherCpuMs)}; ` +
      `context switches/email: voluntary ${per(run.threads.voluntary)}, involuntary ${per(run.threads.involuntary)}`,
    `  statements/email ${per(statementCalls(run.statements))}; claims: ${claim?.calls ?? 0} ` +
      `(${claim?.empty ?? 0} empty), ${claim ? (claim.rows / Math.max(1, claim.calls)).toFixed(1) : '-'} rows each`,
    ...[...run.statements]
      .sort((a, b) => b[1].calls - a[1].calls)
      .map(([kind, t]) => `    ${kind.padEnd(28)} ${per(t.calls)}/email  (${t.calls} calls, ${t.empty} returned no row, ${t.rows} rows)`),
  ];
  return lines.join('\n');
}

/**
 * independentPair runs the control of --control: one worker alone on `url` and `sink`, then two
 * workers that share nothing (the second on a database and a sink of its own), each sending half
 * the emails at the same time, and compares their CPU per email with the lone worker's.
 */
async function independentPair(url: string, sink: Awaited<ReturnType<typeof startSinkProcess>>): Promise<string> {
  const otherUrl = await postgresDatabase();
  const otherSink = await startSinkProcess();
  await seedDatabase(otherUrl, otherSink);
  // Run numbers after the pairs' (they name --cpu-prof's folders), one per worker process.
  const alone = await deliveryRun(url, sink, 1, RUNS);
  const both = await Promise.all([deliveryRun(url, sink, 1, RUNS + 1, EMAILS / 2), deliveryRun(otherUrl, otherSink, 1, RUNS + 2, EMAILS / 2)]);
  const cpu = (r: Run) => r.result.clientCpuMsPerEmail ?? Number.NaN;
  const together = (cpu(both[0]) + cpu(both[1])) / 2;
  const window = (r: Run) => `${r.result.emailsPerSecond.toFixed(0)} emails/s`;
  return [
    `control, 1 worker alone: ${cpu(alone).toFixed(2)} CPU-ms/email (${window(alone)})`,
    `control, 2 independent workers at once (a database and a sink each): ${cpu(both[0]).toFixed(2)} and ${cpu(both[1]).toFixed(2)} CPU-ms/email ` +
      `(${window(both[0])}, ${window(both[1])}) = ${(together / cpu(alone)).toFixed(3)}× the lone worker's; ` +
      `${both[0].result.lost + both[1].result.lost} lost, ${both[0].result.duplicates + both[1].result.duplicates} duplicates`,
    `  CPU-ms/email, main threads: alone ${perEmail(alone, alone.threads.mainCpuMs)}, together ${both
      .map((r) => perEmail(r, r.threads.mainCpuMs))
      .join(' and ')}; involuntary context switches/email: alone ${perEmail(alone, alone.threads.involuntary)}, together ${both
      .map((r) => perEmail(r, r.threads.involuntary))
      .join(' and ')}`,
  ].join('\n');
}

/** sameProcessPairs runs --same-processes: RUNS pairs of windows of EMAILS by the same two warm worker processes. */
async function sameProcessPairs(url: string, sink: Awaited<ReturnType<typeof startSinkProcess>>): Promise<void> {
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(', ');
  const run = await scaleOutRun(url, sink, {
    emails: EMAILS,
    pairs: RUNS,
    warmup: WARMUP,
    timeoutMs: 180_000,
    atEnd: (_pids, window) => console.log(`  window ${window + 1} ends; load: ${load()}`),
  });
  const line = (r: DeliveryResult) =>
    `${r.emailsPerSecond.toFixed(0)} emails/s, ${r.clientCpuMsPerEmail?.toFixed(3)} CPU-ms/email, per worker ${r.perWorker?.join(' + ')}, ` +
    `${r.received} received, ${r.duplicates} duplicates, ${r.lost} lost; ` +
    `${r.database?.commitsPerEmail.toFixed(3) ?? '-'} commits/email, ${r.database?.rowsWrittenPerEmail.toFixed(2) ?? '-'} rows written/email; ${alertsMadeBy(r)}`;
  console.log(`warm-up per worker: ${run.warmupPerWorker.join(' + ')}`);
  for (const [k, p] of run.pairs.entries()) console.log(`pair ${k + 1}: 1 worker ${line(p.one)}\n        2 workers ${line(p.two)}`);
  const verdict = pairedVerdict(
    run.pairs.map((p) => [p.one.clientCpuMsPerEmail ?? Number.NaN, p.two.clientCpuMsPerEmail ?? Number.NaN]),
    SCALE_OUT_LIMIT,
    SCALE_OUT_LIMIT - 1,
  );
  if (verdict) console.log(`2 workers / 1 worker, CPU per email, pair by pair: ${describePairs(verdict, SCALE_OUT_LIMIT, SCALE_OUT_LIMIT - 1)}`);
  console.log(`load: ${load()}`);
}

async function main(): Promise<void> {
  releaseOnSignals();
  console.log(
    `load: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`,
  );
  const url = args.sqlite ? `sqlite:${path.join(tempDir('scale-out'), 'tocsin.db')}` : await postgresDatabase();
  const sink = await startSinkProcess();
  try {
    await seedDatabase(url, sink);
    if (RUNS === 0 && IDLE_SECONDS > 0) {
      const idle = await idleCost(url, 1);
      console.log(`idle, 1 worker: ${idle.cpuMsPerSecond.toFixed(1)} CPU-ms/s (${idle.statements})`);
      return;
    }
    if (args['same-processes']) {
      await sameProcessPairs(url, sink);
      return;
    }
    const runs: Run[] = [];
    const pairs: [number, number][] = [];
    for (let i = 0; i < RUNS; i++) {
      // Each pair back to back, the first of it alternating (1 2, 2 1, …): a load that rises or
      // falls through the pair weighs on the 1-worker and the 2-worker figure alike across pairs.
      const cpuOf: Record<number, number> = {};
      for (const workers of i % 2 === 0 ? [1, 2] : [2, 1]) {
        const run = await deliveryRun(url, sink, workers, i);
        runs.push(run);
        cpuOf[workers] = run.result.clientCpuMsPerEmail ?? Number.NaN;
        console.log(describe(run));
        console.log(
          `  load: ${os
            .loadavg()
            .map((l) => l.toFixed(2))
            .join(', ')}`,
        );
      }
      pairs.push([cpuOf[1]!, cpuOf[2]!]);
    }
    const cpu = (w: number) => median(runs.filter((r) => r.workers === w).map((r) => r.result.clientCpuMsPerEmail ?? Number.NaN));
    console.log(`median CPU-ms/email: 1 worker ${cpu(1).toFixed(2)}, 2 workers ${cpu(2).toFixed(2)} = ${(cpu(2) / cpu(1)).toFixed(3)}×`);
    const verdict = pairedVerdict(pairs, SCALE_OUT_LIMIT, SCALE_OUT_LIMIT - 1);
    if (verdict) console.log(`2 workers / 1 worker, CPU per email, pair by pair: ${describePairs(verdict, SCALE_OUT_LIMIT, SCALE_OUT_LIMIT - 1)}`);
    if (args.control) console.log(await independentPair(url, sink));
    if (IDLE_SECONDS > 0) {
      for (const workers of [1, 2]) {
        const idle = await idleCost(url, workers);
        console.log(
          `idle, ${workers} worker(s): ${idle.cpuMsPerSecond.toFixed(1)} CPU-ms/s, ${idle.statementsPerSecond.toFixed(1)} statements/s (${idle.statements})`,
        );
      }
    }
    console.log(
      `load: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(', ')}`,
    );
  } finally {
    await sink.stop();
    await releaseAll();
  }
}

await main();
