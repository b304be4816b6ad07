/**
 * bench:ingest measures alert ingestion through the HTTP batch API, as robots would drive it:
 * a Tocsin server in a child process (so its CPU and memory are its own), a fresh database, and
 * several keep-alive clients (post-client.ts) posting batches of 100 alerts until 50,000 are stored. It runs on
 * SQLite, then on PostgreSQL when a server is given (TOCSIN_TEST_PG_URL or --pg), creating and
 * dropping its own database.
 *
 *   npm run bench:ingest -- [--alerts 50000] [--batch 100] [--clients 8] [--only sqlite|postgres]
 *                           [--processes 1,2] [--pg postgres://…] [--cpu-prof] [--warmup 20]
 *
 * `--processes` lists how many api processes to try (`tocsin serve --role api --processes N`, one
 * port); each count is a run of its own, and the server's CPU is that of all its processes.
 * `--cpu-prof` profiles each server process over the timed window only, into bench/profiles/<pid>.cpuprofile.
 * `--warmup` is how many requests each server takes, untimed, before the window: a fresh process runs
 * its request path in V8's baseline tiers and compiles it meanwhile for its first thousand or so
 * requests (bench/hot-paths.md, "a benchmark window that measures a cold process"), as the delivery benchmark warms its workers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { freePort } from './lifecycle.js';
import { postClient } from './post-client.js';

const ADMIN_TOKEN = `bench-admin-${crypto.randomBytes(8).toString('hex')}`;
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

const { values: opts } = parseArgs({
  options: {
    alerts: { type: 'string', default: '50000' },
    batch: { type: 'string', default: '100' },
    clients: { type: 'string', default: '8' },
    processes: { type: 'string', default: '1' },
    only: { type: 'string' },
    pg: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    warmup: { type: 'string', default: '20' },
  },
});
const TOTAL = Number(opts.alerts);
const BATCH = Number(opts.batch);
const CLIENTS = Number(opts.clients);
const WARMUP = Number(opts.warmup);
const PROCESSES = opts.processes!.split(',').map(Number);
const PG_URL = opts.pg ?? process.env.TOCSIN_TEST_PG_URL;
const PROFILE_DIR = path.join(ROOT, 'bench', 'profiles');

interface Target {
  name: 'sqlite' | 'postgres';
  url: string;
  drop(): Promise<void>;
  /** The CPU seconds the database server's own processes spent on this database so far (PostgreSQL's backends; 0 for SQLite, which runs inside the server). */
  cpuSeconds(): Promise<number>;
}

async function pgAdmin(statement: string): Promise<void> {
  const url = new URL(PG_URL!);
  const client = new pg.Client({ connectionString: PG_URL, user: decodeURIComponent(url.username) || 'postgres' });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function makeTarget(name: Target['name'], dir: string): Promise<Target> {
  if (name === 'sqlite') return { name, url: `sqlite:${path.join(dir, 'bench.db')}`, drop: async () => {}, cpuSeconds: async () => 0 };
  const db = `tocsin_bench_${crypto.randomBytes(4).toString('hex')}`;
  await pgAdmin(`create database ${db}`);
  const url = new URL(PG_URL!);
  url.pathname = `/${db}`;
  // Each backend's CPU as last seen, so that one ended meanwhile still counts.
  const seen = new Map<number, number>();
  const cpuSeconds = async () => {
    const client = new pg.Client({ connectionString: PG_URL, user: decodeURIComponent(url.username) || 'postgres' });
    await client.connect();
    try {
      const { rows } = await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [db]);
      for (const { pid } of rows) {
        const seconds = cpuOf(pid);
        if (seconds !== undefined) seen.set(pid, seconds);
      }
    } finally {
      await client.end();
    }
    return [...seen.values()].reduce((a, b) => a + b, 0);
  };
  return { name, url: url.toString(), drop: () => pgAdmin(`drop database if exists ${db} with (force)`), cpuSeconds };
}

/** cpuOf is a process's CPU seconds (user + system) from /proc, or undefined when it is gone (or on another machine). */
function cpuOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

function startServer(target: Target, port: number, dataDir: string, processes: number): ChildProcess {
  // Only the timed window is profiled (bench/window-profile.mjs, SIGUSR2), without start-up and warm-up.
  const profile = opts['cpu-prof']
    ? {
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${path.join(ROOT, 'bench', 'window-profile.mjs')}`,
        TOCSIN_WINDOW_PROFILE_DIR: PROFILE_DIR,
      }
    : {};
  return spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'serve', '--processes', String(processes)], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...profile,
      DATABASE_URL: target.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN,
      TOCSIN_DATA_DIR: dataDir,
      TOCSIN_SMTP_URL: 'smtp://127.0.0.1:1',
      TOCSIN_ROLE: 'api',
      LOG_LEVEL: 'warn',
    },
    // stdout is read for the banner, printed once every api process listens.
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** waitReady waits for the banner (every api process listens) and a ready /readyz. */
async function waitReady(base: string, child: ChildProcess): Promise<void> {
  // Generous: on a machine shared with other work, three tsx start-ups at once have taken over 180 s.
  const deadline = Date.now() + 300_000;
  let printed = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    printed += chunk.toString();
  });
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if (printed.includes('Tocsin is running') && (await fetch(`${base}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('server did not become ready in 300 s');
}

/** descendants lists a process's children, their children and so on, from /proc. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const child of parents.get(p) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(pid);
  return out;
}

/** Server CPU seconds (user + system) of the process and all its descendants (the api processes), and the largest peak RSS among them, from /proc. */
function processStats(pid: number): { cpuSeconds: number; peakRssMb: number; byProcess: Map<number, number> } {
  let seconds = 0;
  let hwm = 0;
  const byProcess = new Map<number, number>();
  for (const p of [pid, ...descendants(pid)]) {
    try {
      const own = cpuOf(p) ?? 0;
      byProcess.set(p, own);
      seconds += own;
      const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
      hwm = Math.max(hwm, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {
      // gone meanwhile
    }
  }
  return { cpuSeconds: seconds, peakRssMb: hwm / 1024, byProcess };
}

async function call(base: string, method: string, url: string, token: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Batches vary like real traffic: mixed severities and components, one in ten with a dedup key. */
function batchBodies(count: number): string[] {
  const severities = ['Info', 'Success', 'Warn', 'Error', 'Fatal'];
  const components = ['Robots', 'Jobs', 'Queues', 'Transactions', 'Schedules'];
  return Array.from({ length: count }, (_, b) =>
    JSON.stringify({
      alerts: Array.from({ length: BATCH }, (_, i) => ({
        severity: severities[(b + i) % 5],
        component: components[(b * 7 + i) % 5],
        event: i % 3 === 0 ? 'Process.JobExecution.Faulted' : 'Process.RaiseAlert',
        message: `Job ${b}-${i} of process Invoices faulted: System.Exception: the remote server returned 503`,
        source: { process: 'Invoices', robot: `R${i % 20}`, job: `job-${b}-${i}` },
        ...(i % 10 === 0 ? { dedupKey: `robot-${i % 20}`, data: { attempt: b, queue: 'invoices' } } : {}),
      })),
    }),
  );
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function run(name: Target['name'], processes: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-bench-'));
  const target = await makeTarget(name, dir);
  const port = await freePort();
  const child = startServer(target, port, dir, processes);
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(base, child);
    await call(base, 'POST', '/api/v1/tenants', ADMIN_TOKEN, { name: 'bench' });
    const user = await call(base, 'POST', '/api/v1/tenants/bench/users', ADMIN_TOKEN, { email: 'robot@bench.example.com', name: 'Robot', roles: ['Robot'] });
    const { token } = (await call(base, 'POST', `/api/v1/tenants/bench/users/${user.id as string}/tokens`, ADMIN_TOKEN, { name: 'bench' })) as {
      token: string;
    };
    const bodies = batchBodies(50);
    const poster = postClient(`${base}/api/v1/tenants/bench/alerts`, CLIENTS, { authorization: `Bearer ${token}` });
    const post = async (body: string) => {
      const { status, ms } = await poster.post(body);
      if (status !== 202) throw new Error(`POST alerts: ${status}`);
      return ms;
    };
    for (let i = 0; i < WARMUP; i++) await post(bodies[i % bodies.length]!); // warm-up, not counted
    const requests = Math.ceil(TOTAL / BATCH);
    let next = 0;
    const latencies: number[] = [];
    const before = processStats(child.pid!);
    const databaseBefore = await target.cpuSeconds();
    const profiled = opts['cpu-prof'] ? [child.pid!, ...descendants(child.pid!)] : [];
    if (profiled.length > 0) fs.mkdirSync(PROFILE_DIR, { recursive: true });
    for (const pid of profiled) process.kill(pid, 'SIGUSR2');
    const started = performance.now();
    const clientBefore = process.cpuUsage();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < requests) {
          const i = next++;
          latencies.push(await post(bodies[i % bodies.length]!));
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const client = process.cpuUsage(clientBefore);
    const after = processStats(child.pid!);
    for (const pid of profiled) process.kill(pid, 'SIGUSR2');
    const databaseCpuSeconds = (await target.cpuSeconds()) - databaseBefore;
    const stored = (await call(base, 'GET', '/api/v1/tenants/bench/alerts/unread-count', ADMIN_TOKEN)) as { unread: number };
    latencies.sort((a, b) => a - b);
    return {
      database: name,
      processes,
      alerts: requests * BATCH,
      stored: stored.unread - WARMUP * BATCH,
      seconds: Number(seconds.toFixed(2)),
      alertsPerSecond: Math.round((requests * BATCH) / seconds),
      p50Ms: Number(percentile(latencies, 50).toFixed(1)),
      p95Ms: Number(percentile(latencies, 95).toFixed(1)),
      serverCpuSeconds: Number((after.cpuSeconds - before.cpuSeconds).toFixed(2)),
      serverCpuPercent: Math.round(((after.cpuSeconds - before.cpuSeconds) / seconds) * 100),
      // What one fully available core would take: the figure to compare on a busy, shared machine.
      alertsPerServerCpuSecond: Math.round((requests * BATCH) / Math.max(0.01, after.cpuSeconds - before.cpuSeconds)),
      serverPeakRssMb: Math.round(after.peakRssMb),
      // PostgreSQL's own CPU per alert (its backends for this database); SQLite's work is in the server's.
      ...(name === 'postgres' ? { databaseCpuMsPer1000Alerts: Math.round((databaseCpuSeconds * 1e6) / (requests * BATCH)) } : {}),
      serverCpuMsPer1000Alerts: Math.round(((after.cpuSeconds - before.cpuSeconds) * 1e6) / (requests * BATCH)),
      // This benchmark's own CPU (the 8 clients): on a 2-core machine it competes with the server.
      clientCpuMsPer1000Alerts: Math.round((client.user + client.system) / 1000 / ((requests * BATCH) / 1000)),
      // Each server process's share, the one started first (with several api processes, the primary) first.
      ...(processes > 1
        ? {
            cpuMsPer1000AlertsByProcess: [...after.byProcess].map(([p, cpu]) =>
              Math.round(((cpu - (before.byProcess.get(p) ?? 0)) * 1e6) / (requests * BATCH)),
            ),
          }
        : {}),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await target.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const names: Target['name'][] = opts.only ? [opts.only as Target['name']] : PG_URL ? ['sqlite', 'postgres'] : ['sqlite'];
  if (!PG_URL && names.includes('postgres')) throw new Error('PostgreSQL needs --pg or TOCSIN_TEST_PG_URL');
  console.log(
    `tocsin bench:ingest — ${TOTAL} alerts in batches of ${BATCH}, ${CLIENTS} concurrent keep-alive clients, ` +
      `${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}`,
  );
  const results = [];
  for (const name of names) {
    for (const processes of PROCESSES) {
      const result = await run(name, processes);
      console.log(JSON.stringify(result));
      results.push(result);
    }
  }
  console.table(results);
  if (!PG_URL) console.log('PostgreSQL skipped: set TOCSIN_TEST_PG_URL (or --pg) to include it.');
  console.log(
    `reproduce: ${PG_URL ? 'TOCSIN_TEST_PG_URL=… ' : ''}npm run bench:ingest -- --alerts ${TOTAL} --batch ${BATCH} --clients ${CLIENTS} --processes ${PROCESSES.join(',')}${WARMUP === 20 ? '' : ` --warmup ${WARMUP}`}`,
  );
}

await main();
