/**
 * Start-up cost of `tocsin serve` as an operator runs it: milliseconds from spawning the process
 * to the first 200 from /readyz, the CPU seconds the process (and whatever it started) spent to
 * get there (the figure a busy machine distorts least), its resident memory once idle, and the
 * milliseconds from SIGTERM to its exit (test/acceptance/serve.test.ts checks only that the stop is
 * graceful: exit 0, before the forced exit). Each run gets a fresh data directory (SQLite), so
 * migrations run as on a first start.
 *
 *   npm run bench:startup -- [--runs 5] [-- command args...]
 *
 * The command runs in the current folder (the checkout, under npm run); without one it is
 * `node bin/tocsin.js serve`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, sleep } from './lifecycle.js';

/** How long the process idles before its resident memory is read. */
const IDLE_MS = 5_000;
/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

interface Sample {
  readyMs: number;
  cpuSeconds: number;
  rssMb: number;
  stopMs: number;
}

async function once(command: string, args: string[]): Promise<Sample> {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-startup-'));
  const began = performance.now();
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), TOCSIN_DATA_DIR: dataDir, TOCSIN_MAIL_CATCHER_PORT: '0', LOG_LEVEL: 'warn' },
    stdio: 'ignore',
    // A group of its own, so stopping it also stops whatever a wrapper (npm, tsx) started.
    detached: true,
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      await sleep(10);
    }
    const readyMs = performance.now() - began;
    const cpuSeconds = sumOverTree(child.pid!, cpuTicks) / TICKS_PER_SECOND;
    await sleep(IDLE_MS);
    const rssMb = sumOverTree(child.pid!, rssKb) / 1024;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const stopping = performance.now();
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
    return { readyMs, cpuSeconds, rssMb, stopMs: performance.now() - stopping };
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

// utime and stime are fields 14 and 15 of /proc/<pid>/stat, counted after the command's name.
function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** sumOverTree adds a figure of a process and its descendants, so a wrapper (npm, tsx) counts too. */
function sumOverTree(pid: number, of: (pid: number) => number): number {
  const childrenFile = `/proc/${pid}/task/${pid}/children`;
  const children = fs.existsSync(childrenFile) ? fs.readFileSync(childrenFile, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number) : [];
  return of(pid) + children.reduce((sum, child) => sum + sumOverTree(child, of), 0);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const { values, positionals } = parseArgs({ options: { runs: { type: 'string', default: '5' } }, allowPositionals: true });
const [command, ...args] = positionals.length > 0 ? positionals : [process.execPath, 'bin/tocsin.js', 'serve'];
const samples: Sample[] = [];
for (let i = 0; i < Number(values.runs); i++) samples.push(await once(command!, args));
console.log(
  `${[command, ...args].join(' ')} in ${process.cwd()}: start → /readyz 200 median ${median(samples.map((s) => s.readyMs)).toFixed(0)} ms ` +
    `(${samples.map((s) => s.readyMs.toFixed(0)).join(', ')}), CPU to ready ${median(samples.map((s) => s.cpuSeconds)).toFixed(2)} s, ` +
    `RSS after ${IDLE_MS / 1000} s idle ${median(samples.map((s) => s.rssMb)).toFixed(0)} MB, ` +
    `SIGTERM → exit ${median(samples.map((s) => s.stopMs)).toFixed(0)} ms (medians of ${samples.length} runs; load average ${os.loadavg()[0]!.toFixed(2)}); ` +
    `reproduce: npm run bench:startup -- --runs ${samples.length}`,
);
