/**
 * CPU per email of one `tocsin serve --role worker` process on SQLite, real immediate emails
 * (bench/delivery.ts's Tocsin figure without the raw pool, Alertmanager and PostgreSQL), so a
 * change to the send path can be measured in a few minutes. CPU-ms per email is what to compare
 * on a shared machine; the load average is printed next to each run's emails/s.
 *
 *   npx tsx bench/worker-cpu.ts [--emails 3000] [--runs 3] [--warmup 300] [--order by-alert|round-robin] [--cpu-prof]
 *
 * --order: by-alert (default) queues each alert's emails to its 10 operators together, as Tocsin's
 * decision does; round-robin, every email about another alert (bench/delivery.ts queueCopies).
 *
 * --cpu-prof: the worker's timed window is profiled (bench/window-profile.mjs) into
 * bench/profiles/worker-cpu/; read with bench/profile-summary.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type QueueOrder, seedDatabase, tocsinDeliveryRate } from './delivery.js';
import { ROOT, releaseAll, releaseOnSignals, tempDir } from './lifecycle.js';
import { startSinkProcess } from './sink-client.js';
import { median } from './stats.js';

const { values: args } = parseArgs({
  options: {
    emails: { type: 'string', default: '3000' },
    runs: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '300' },
    order: { type: 'string', default: 'by-alert' },
    'cpu-prof': { type: 'boolean', default: false },
  },
});
if (args.order !== 'by-alert' && args.order !== 'round-robin') throw new Error(`--order: by-alert or round-robin, not ${args.order}`);
const PROFILES = path.join(ROOT, 'bench', 'profiles', 'worker-cpu');

releaseOnSignals();
const sink = await startSinkProcess();
try {
  const url = `sqlite:${path.join(tempDir('worker-cpu'), 'tocsin.db')}`;
  const bytes = await seedDatabase(url, sink);
  console.log(`seeded: one immediate email is ${bytes} bytes`);
  const cpu: number[] = [];
  for (let run = 1; run <= Number(args.runs); run++) {
    const profiles = args['cpu-prof'] ? path.join(PROFILES, `run${run}`) : undefined;
    if (profiles) fs.mkdirSync(profiles, { recursive: true });
    const signal = (pids: readonly number[]) => {
      for (const pid of pids) process.kill(pid, 'SIGUSR2');
    };
    const result = await tocsinDeliveryRate(url, sink, {
      emails: Number(args.emails),
      workers: 1,
      warmup: Number(args.warmup),
      order: args.order as QueueOrder,
      timeoutMs: 180_000,
      ...(profiles
        ? {
            env: {
              TOCSIN_WINDOW_PROFILE_DIR: profiles,
              NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${path.join(ROOT, 'bench', 'window-profile.mjs')}`.trim(),
            },
            atStart: signal,
            atEnd: signal,
          }
        : {}),
    });
    cpu.push(result.clientCpuMsPerEmail ?? Number.NaN);
    console.log(
      `run ${run}: ${result.clientCpuMsPerEmail?.toFixed(2)} CPU-ms per email, ${result.emailsPerSecond.toFixed(0)} emails/s ` +
        `(load ${os
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}); ${result.received} received, ${result.duplicates} duplicates, ${result.lost} lost`,
    );
  }
  console.log(`median: ${median(cpu).toFixed(2)} CPU-ms per email`);
} finally {
  await sink.stop();
  await releaseAll();
}
