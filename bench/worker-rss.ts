/**
 * Memory of one `tocsin serve --role worker` process on PostgreSQL: resident set size after it
 * idled, and its peak while it renders and sends a burst of real immediate emails (copies of the
 * emails of 1,000 distinct Fatal alerts, rendered from templates at send time) into a sink, with
 * the V8 heap and the memory outside it (Buffers, native) read from the worker's /metrics at the
 * same moments, so that what holds memory shows.
 *
 *   TOCSIN_TEST_PG_URL=postgres://… npm run bench:worker-rss -- [--emails 10000] [--built] [--lean-heap true]
 *
 * `--built` runs the compiled service (`node dist/cli/main.js`, as `npm start` does; run
 * `npm run build` first): the figure issue 15 asks for. Without it the process runs the
 * TypeScript sources through tsx, as the other bench processes do, and tsx's compiler adds its
 * own tens of MB. `--lean-heap true` runs the worker with TOCSIN_LEAN_HEAP=true (V8's
 * --optimize-for-size), `--lean-heap false` as by default (a worker's young generation and its old
 * generation's growth between full collections bounded: servingHeap in src/cli/heap.ts). It prints one JSON line (what `npm run bench`
 * reads) and a sentence.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { queueCopies, seedDatabase } from './delivery.js';
import { postgresDatabase, releaseAll, releaseOnSignals, sleep } from './lifecycle.js';
import { startSinkProcess } from './sink-client.js';
import { startTocsinServer } from './tocsin.js';

const { values: opts } = parseArgs({
  options: { emails: { type: 'string', default: '10000' }, built: { type: 'boolean', default: false }, 'lean-heap': { type: 'string' } },
});
const EMAILS = Number(opts.emails);
const BUILT = opts.built!;
const LEAN_HEAP = opts['lean-heap'];
const IDLE_MS = 10_000;
const MB = 1024 * 1024;

/**
 * Resident is a process's resident set size now, in MB, and what it is made of: anonymous memory
 * (the heap, Buffers, malloc) and pages of files (the node binary's code and its ICU data, shared
 * by every process that runs it).
 */
interface Resident {
  readonly rss: number;
  readonly anon: number;
  readonly file: number;
}

function residentOf(pid: number): Resident {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
}

/** cpuMs reads a process's CPU time so far (user and system), in milliseconds. */
function cpuMs(pid: number): number {
  // Fields 14 and 15 of /proc/PID/stat, counted after the command name's closing parenthesis.
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
// The kernel's USER_HZ: 100 on Linux.
const CLOCK_TICKS = 100;

/** Heap is what the worker's own process metrics say of its memory, in MB. */
interface Heap {
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  /** The V8 heap's total by space: the young generation (new, and its large objects), the old generation, code, large objects. */
  readonly newSpace: number;
  readonly newLargeObjects: number;
  readonly oldSpace: number;
  readonly codeSpace: number;
  readonly largeObjects: number;
}

/** heapOf reads the V8 heap and external memory from the worker's /metrics (prom-client's default metrics). */
async function heapOf(url: string): Promise<Heap | undefined> {
  const text = await fetch(`${url}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
  const read = (name: string) => Number(new RegExp(`^tocsin_${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) / MB;
  const space = (name: string) => read(`nodejs_heap_space_size_total_bytes\\{space="${name}"\\}`);
  const heap = {
    heapUsed: read('nodejs_heap_size_used_bytes'),
    heapTotal: read('nodejs_heap_size_total_bytes'),
    external: read('nodejs_external_memory_bytes'),
    newSpace: space('new'),
    newLargeObjects: space('new_large_object'),
    oldSpace: space('old'),
    codeSpace: space('code'),
    largeObjects: space('large_object'),
  };
  return Number.isFinite(heap.heapUsed) ? heap : undefined;
}

const round = (figures: Heap | Resident | undefined) => figures && Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Math.round(v)]));

releaseOnSignals();
try {
  const sink = await startSinkProcess();
  const databaseUrl = await postgresDatabase();
  await seedDatabase(databaseUrl, sink, { built: BUILT });
  const worker = await startTocsinServer({
    databaseUrl,
    role: 'worker',
    smtpPort: sink.port,
    built: BUILT,
    ...(LEAN_HEAP === undefined ? {} : { env: { TOCSIN_LEAN_HEAP: LEAN_HEAP } }),
  });
  await sleep(IDLE_MS);
  const idleResident = residentOf(worker.pid);
  const idle = idleResident.rss;
  const idleHeap = await heapOf(worker.url);
  await sink.reset();
  let peak = idle;
  let peakResident = idleResident;
  let peakHeap = idleHeap;
  let gone = false;
  let sampling = false;
  const sampler = setInterval(() => {
    if (!fs.existsSync(`/proc/${worker.pid}`)) {
      gone = true;
      return;
    }
    const resident = residentOf(worker.pid);
    if (resident.rss <= peak || sampling) return;
    peak = resident.rss;
    peakResident = resident;
    sampling = true;
    void heapOf(worker.url)
      .then((heap) => {
        if (heap) peakHeap = heap;
      })
      .finally(() => {
        sampling = false;
      });
  }, 100);
  const started = Date.now();
  const cpuBefore = cpuMs(worker.pid);
  // Round-robin, as when worker-rss.md was measured: every email rendered and encoded anew, the most garbage per email.
  await queueCopies(databaseUrl, EMAILS, Date.now(), 'round-robin');
  // On a loaded machine the burst may outlast the wait: the peak so far is still reported, marked partial.
  const done = await sink.waitForMessages(EMAILS, 1_200_000).catch((err: unknown) => {
    process.stderr.write(`bench:worker-rss: ${String(err)}; reporting the peak so far\n`);
    return { uniqueMessageIds: Number.NaN, duplicates: Number.NaN };
  });
  clearInterval(sampler);
  if (gone) throw new Error('the worker process exited during the burst');
  const seconds = (Date.now() - started) / 1000;
  const cpuMsPerEmail = (cpuMs(worker.pid) - cpuBefore) / done.uniqueMessageIds;
  await sleep(IDLE_MS);
  const after = residentOf(worker.pid).rss;
  await worker.stop();
  const runs = BUILT ? 'node dist/cli/main.js' : 'tsx src/cli/main.ts';
  process.stdout.write(
    `${JSON.stringify({
      figure: 'worker rss',
      runs,
      leanHeap: LEAN_HEAP ?? 'default',
      emails: EMAILS,
      idleMb: Math.round(idle),
      peakMb: Math.round(peak),
      afterMb: Math.round(after),
      idleHeapMb: round(idleHeap),
      peakHeapMb: round(peakHeap),
      idleResidentMb: round(idleResident),
      peakResidentMb: round(peakResident),
      received: done.uniqueMessageIds,
      duplicates: done.duplicates,
      seconds,
      cpuMsPerEmail,
    })}\n`,
  );
  process.stdout.write(
    `worker RSS (${runs}): idle ${idle.toFixed(0)} MB; peak during a ${EMAILS.toLocaleString('en-US')}-email burst ${peak.toFixed(0)} MB ` +
      `(${done.uniqueMessageIds} unique received in ${seconds.toFixed(1)} s, ${done.duplicates} duplicates, the worker's CPU ${cpuMsPerEmail.toFixed(2)} ms per email); ${(IDLE_MS / 1000).toFixed(0)} s after it ${after.toFixed(0)} MB\n` +
      `  V8 heap used/total and external at idle: ${JSON.stringify(round(idleHeap))}; near the peak: ${JSON.stringify(round(peakHeap))}\n` +
      `  RSS anonymous / file-backed (the node binary's pages, shared by its processes) at idle: ${idleResident.anon.toFixed(0)} / ${idleResident.file.toFixed(0)} MB; at the peak: ${peakResident.anon.toFixed(0)} / ${peakResident.file.toFixed(0)} MB\n`,
  );
} finally {
  await releaseAll();
}
