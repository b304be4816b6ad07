/**
 * A Tocsin server as the benchmarks run it: `tocsin serve` in a child process of its own (so its
 * CPU and memory are its own), on a database the run created, and helpers to provision a tenant.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, startProcess, tempDir, tsxArgs, waitUntil, freePort } from './lifecycle.js';

/** BENCH_ADMIN_TOKEN is the host administrator's token of every Tocsin the run starts. */
export const BENCH_ADMIN_TOKEN = `bench-admin-${crypto.randomBytes(8).toString('hex')}`;

/** PROFILE_DIR is where `--cpu-prof` writes the servers' profiles. */
export const PROFILE_DIR = path.join(ROOT, 'bench', 'profiles');

/** TocsinServer is one running `tocsin serve`. */
export interface TocsinServer {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** TocsinServerOptions: the database, the role, the SMTP server of the system settings. */
export interface TocsinServerOptions {
  readonly databaseUrl: string;
  readonly role: 'api' | 'worker' | 'all';
  /** The sink's port; unset means a closed port (nothing is meant to be sent). */
  readonly smtpPort?: number | undefined;
  readonly cpuProfile?: boolean;
  /** Flags for node itself, before the entry (V8's flags, which NODE_OPTIONS refuses: e.g. --single-threaded-gc). */
  readonly nodeFlags?: readonly string[];
  /** Run the built JavaScript (`node dist/cli/main.js`, as `npm start` does) instead of the sources through tsx. */
  readonly built?: boolean;
  readonly env?: Record<string, string>;
  /**
   * Start the server in a session of its own (setsid). Linux's autogroup scheduling
   * (/proc/sys/kernel/sched_autogroup_enabled) shares the CPU fairly between sessions, not
   * processes: on a loaded machine two worker processes in the benchmark's session split the one
   * share that one worker had, as no two workers on two hosts or services would.
   */
  readonly ownSession?: boolean;
}

/** startTocsinServer starts `tocsin serve --role …` and waits for /readyz. */
export async function startTocsinServer(options: TocsinServerOptions): Promise<TocsinServer> {
  const port = await freePort();
  const dataDir = tempDir('tocsin');
  if (options.cpuProfile) fs.mkdirSync(PROFILE_DIR, { recursive: true });
  const profile = [...(options.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []), ...(options.nodeFlags ?? [])];
  const entry = options.built ? [...profile, path.join(ROOT, 'dist', 'cli', 'main.js')] : tsxArgs('src/cli/main.ts', profile);
  if (options.built && !fs.existsSync(entry.at(-1)!)) throw new Error('dist/cli/main.js is missing: run npm run build first');
  const { child, stop } = startProcess('tocsin serve', process.execPath, [...entry, 'serve', '--role', options.role], {
    cwd: ROOT,
    detached: options.ownSession ?? false,
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      TOCSIN_ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      TOCSIN_SECRET_KEY: 'bench-secret-key-0123456789',
      TOCSIN_DATA_DIR: dataDir,
      TOCSIN_SMTP_URL: `smtp://127.0.0.1:${options.smtpPort ?? 1}?from=tocsin@bench.example.com`,
      // No 10-minute summary closes during a run and adds mail to what the sink counts.
      TOCSIN_SUMMARY_INTERVAL_SECONDS: '86400',
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    graceMs: 15_000,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(
    'tocsin serve to be ready',
    async () => {
      if (child.exitCode !== null) throw new Error(`tocsin serve exited with ${child.exitCode}`);
      return fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    // Generous: on a machine shared with other work, a tsx start-up alone has taken 30 s.
    120_000,
    100,
  );
  return { url, pid: child.pid!, stop };
}

/** api calls Tocsin's HTTP API and returns the JSON answer, throwing on a status of 300 or more. */
export async function api(base: string, method: string, url: string, token: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** BenchTenant is a tenant with one subscribed operator and a robot's token to raise alerts with. */
export interface BenchTenant {
  readonly name: string;
  readonly robotToken: string;
  readonly operatorId: string;
}

/**
 * provisionTenant creates a tenant whose alert emails are on (system SMTP), an operator who may
 * see alerts (with Fatal-immediately when asked), and a robot token.
 */
export async function provisionTenant(base: string, name: string, options: { fatalImmediately?: boolean } = {}): Promise<BenchTenant> {
  const t = `/api/v1/tenants/${name}`;
  await api(base, 'POST', '/api/v1/tenants', BENCH_ADMIN_TOKEN, { name });
  await api(base, 'PUT', `${t}/settings/mail`, BENCH_ADMIN_TOKEN, { alertsEmailEnabled: true, useCustom: false });
  const operator = await api(base, 'POST', `${t}/users`, BENCH_ADMIN_TOKEN, { email: `ops@${name}.example.com`, name: 'Operator', roles: ['Alerts Viewer'] });
  if (options.fatalImmediately) {
    await api(base, 'PUT', `${t}/users/${operator.id}/alert-preferences`, BENCH_ADMIN_TOKEN, { email: { fatalImmediately: true } });
  }
  const robot = await api(base, 'POST', `${t}/users`, BENCH_ADMIN_TOKEN, { email: `robot@${name}.example.com`, name: 'Robot', roles: ['Robot'] });
  const { token } = await api(base, 'POST', `${t}/users/${robot.id}/tokens`, BENCH_ADMIN_TOKEN, { name: 'bench' });
  return { name, robotToken: token, operatorId: operator.id };
}

/**
 * addOperators adds `count` more operators to a tenant made by provisionTenant, each asking for
 * immediate emails: ops2@…, ops3@… (the first is provisionTenant's ops@…), named Operator 2, 3, …
 */
export async function addOperators(base: string, name: string, count: number): Promise<void> {
  const t = `/api/v1/tenants/${name}`;
  for (let n = 2; n < count + 2; n++) {
    const operator = await api(base, 'POST', `${t}/users`, BENCH_ADMIN_TOKEN, {
      email: `ops${n}@${name}.example.com`,
      name: `Operator ${n}`,
      roles: ['Alerts Viewer'],
    });
    await api(base, 'PUT', `${t}/users/${operator.id}/alert-preferences`, BENCH_ADMIN_TOKEN, { email: { fatalImmediately: true } });
  }
}

/** ThreadStats: a process's CPU on its main thread and on its other threads (V8's GC and compiler helpers, libuv's pool), and its context switches. */
export interface ThreadStats {
  readonly mainCpuMs: number;
  readonly otherCpuMs: number;
  /** Switches away from a thread that waited (an event loop going idle, a helper with nothing to do). */
  readonly voluntary: number;
  /** Switches away from a thread that could have run on: the scheduler gave its core to another process. */
  readonly involuntary: number;
}

/** threadStats sums /proc/<pid>/task/*: CPU (main thread apart) and context switches, so far in the process's life. */
export function threadStats(pid: number): ThreadStats {
  let mainCpuMs = 0;
  let otherCpuMs = 0;
  let voluntary = 0;
  let involuntary = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpuMs = (Number(fields[11]) + Number(fields[12])) * 10;
      if (tid === String(pid)) mainCpuMs += cpuMs;
      else otherCpuMs += cpuMs;
      const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      voluntary += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      involuntary += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return { mainCpuMs, otherCpuMs, voluntary, involuntary };
}

/** processStats reads a process's CPU seconds (user + system) and peak RSS from /proc. */
export function processStats(pid: number): { cpuSeconds: number; peakRssMb: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100,
    peakRssMb: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024,
  };
}
