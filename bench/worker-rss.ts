/**
 * Memory of one `tocsin serve --role worker` process on PostgreSQL: resident set size after it
 * idled, and its peak while it renders and sends a burst of real immediate emails (copies of the
 * emails of 1,000 distinct Fatal alerts, rendered from templates at send time) into a sink.
 *
 *   TOCSIN_TEST_PG_URL=postgres://… npm run bench:worker-rss -- [--emails 10000]
 *
 * The process runs the TypeScript sources through tsx, as every bench process does; tsx adds its
 * own compiler to the figures (see "Start-up and footprint" in docs/BENCHMARKS.md).
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { queueCopies, seedDatabase } from './delivery.js';
import { postgresDatabase, releaseAll, releaseOnSignals, sleep } from './lifecycle.js';
import { startSinkProcess } from './sink-client.js';
import { startTocsinServer } from './tocsin.js';

const { values: opts } = parseArgs({ options: { emails: { type: 'string', default: '10000' } } });
const EMAILS = Number(opts.emails);
const IDLE_MS = 10_000;

/** rssMb reads a process's resident set size now. */
function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

releaseOnSignals();
try {
  const sink = await startSinkProcess();
  const databaseUrl = await postgresDatabase();
  await seedDatabase(databaseUrl, sink);
  const worker = await startTocsinServer({ databaseUrl, role: 'worker', smtpPort: sink.port });
  await sleep(IDLE_MS);
  const idle = rssMb(worker.pid);
  await sink.reset();
  let peak = idle;
  let gone = false;
  const sampler = setInterval(() => {
    if (!fs.existsSync(`/proc/${worker.pid}`)) gone = true;
    else peak = Math.max(peak, rssMb(worker.pid));
  }, 100);
  const started = Date.now();
  await queueCopies(databaseUrl, EMAILS, Date.now());
  const done = await sink.waitForMessages(EMAILS, 600_000);
  clearInterval(sampler);
  if (gone) throw new Error('the worker process exited during the burst');
  const seconds = (Date.now() - started) / 1000;
  await sleep(IDLE_MS);
  const after = rssMb(worker.pid);
  await worker.stop();
  process.stdout.write(
    `worker RSS: idle ${idle.toFixed(0)} MB; peak during a ${EMAILS.toLocaleString('en-US')}-email burst ${peak.toFixed(0)} MB ` +
      `(${done.uniqueMessageIds} unique received in ${seconds.toFixed(1)} s, ${done.duplicates} duplicates); ${(IDLE_MS / 1000).toFixed(0)} s after it ${after.toFixed(0)} MB\n`,
  );
} finally {
  await releaseAll();
}
