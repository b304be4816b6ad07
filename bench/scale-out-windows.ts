/**
 * A scale-out run: the same two warm `tocsin serve --role worker` processes drain one queue after
 * another, alone (the other paused) and together in turn, and each window's CPU per email is read
 * from /proc at its edges (bench/delivery.ts timedWindow). Pairs of windows close in time and
 * made by the same processes compare 1 worker with 2 without a fresh process's luck in either
 * figure: where each run started its own processes, a pair compared one process's JIT, heap and
 * warm-up with two others', and its ratio scattered by ±15 % on a quiet machine (bench/hot-paths.md).
 */
import { sql } from 'kysely';
import { isUnfinished } from '../src/delivery/outbox/leases.js';
import { openStorage } from '../src/storage/storage.js';
import { type DatabaseActivity, type DeliveryResult, databaseActivity, queueCopies, sentPerWorker, timedWindow } from './delivery.js';
import { sleep, waitUntil } from './lifecycle.js';
import type { SinkProcess } from './sink-client.js';
import { startTocsinServer } from './tocsin.js';

/** Who works in a window of a scale-out run: one of the two processes alone (0 or 1, the other paused) or both. */
export type Working = 0 | 1 | 'both';

/**
 * scaleOutPlan is the order of a run's windows, `pairs` pairs of (one alone, both) back to back:
 * which comes first alternates (a load that rises or falls through the run weighs on both figures
 * alike), and the lone worker is each process in turn, twice running (A AB, AB B, B AB, AB A, …),
 * so that every process's own speed is in both figures and the processes pause and resume only
 * when the lone worker changes. Over two pairs the windows' mean age of the working processes (in
 * emails sent) is the same alone and together, so what warming is left weighs on both alike.
 */
export function scaleOutPlan(pairs: number): readonly (readonly [Working, Working])[] {
  return Array.from({ length: pairs }, (_, k) => {
    const alone: Working = Math.floor((k + 1) / 2) % 2 === 0 ? 0 : 1;
    return k % 2 === 0 ? [alone, 'both'] : ['both', alone];
  });
}

/** ScaleOutPair is one pair of windows of a scale-out run: 1 worker (either process alone) and 2 workers. */
export interface ScaleOutPair {
  readonly one: DeliveryResult;
  readonly two: DeliveryResult;
}

/** ScaleOutRun is what scaleOutRun measured: its pairs in the order they ran. */
export interface ScaleOutRun {
  readonly pairs: readonly ScaleOutPair[];
  /** Emails each process sent in the untimed warm-up, largest first. */
  readonly warmupPerWorker: readonly number[];
}

/**
 * How long after its last statement a PostgreSQL session's counters are surely in
 * pg_stat_database: a session going idle flushes them, or at most a second after its last flush.
 */
const STATS_FLUSHED_MS = 1_100;

/** How long a resumed process is given to catch up its timers (heartbeats, a missed tick) before a window opens. */
const RESUME_SETTLE_MS = 500;

/**
 * scaleOutRun starts two worker processes, each in a session of its own, lets them send `warmup`
 * emails each untimed, then times `pairs` pairs of windows of `emails` each in scaleOutPlan's
 * order. A process pauses (SIGSTOP) only once every email queued so far is recorded as sent, so
 * it holds no lease and no lock the other could wait for; a paused process's CPU, nothing, is
 * counted with the other's.
 */
export async function scaleOutRun(
  databaseUrl: string,
  sink: SinkProcess,
  options: {
    emails: number;
    pairs: number;
    warmup: number;
    timeoutMs: number;
    env?: Record<string, string> | undefined;
    nodeFlags?: readonly string[] | undefined;
    /** Called with the working processes' ids as each window opens, and with the window's index. */
    atStart?: ((pids: readonly number[], window: number) => void) | undefined;
    atEnd?: ((pids: readonly number[], window: number) => void) | undefined;
  },
): Promise<ScaleOutRun> {
  const servers = await Promise.all(
    [0, 1].map(() => startTocsinServer({ databaseUrl, role: 'worker', smtpPort: sink.port, env: options.env, nodeFlags: options.nodeFlags, ownSession: true })),
  );
  const storage = await openStorage(databaseUrl, { poolSize: 1 });
  /** Every email the benchmark queued is recorded as sent or given up: no process holds a lease. */
  const allRecorded = async () => {
    const row = await storage.db
      .selectFrom('deliveries')
      .select(sql<number>`count(*)`.as('n'))
      .where('idempotency_key', 'like', 'bench:%')
      .where(isUnfinished)
      .executeTakeFirstOrThrow();
    return Number(row.n) === 0;
  };
  const postgres = databaseUrl.startsWith('postgres');
  const windows: { working: Working; result: DeliveryResult; dueAt: number }[] = [];
  const warmupFrom = Date.now();
  let paused: 0 | 1 | undefined;
  let endedAt = 0;
  try {
    await sink.reset();
    await queueCopies(databaseUrl, options.warmup * 2, Date.now());
    await sink.waitForMessages(options.warmup * 2, options.timeoutMs);
    if (postgres) {
      await waitUntil('the warm-up recorded', allRecorded, options.timeoutMs);
      await sleep(STATS_FLUSHED_MS);
    }
    for (const working of scaleOutPlan(options.pairs).flat()) {
      const pause = working === 'both' ? undefined : working === 0 ? 1 : 0;
      if (pause !== paused) {
        if (paused !== undefined) process.kill(servers[paused]!.pid, 'SIGCONT');
        if (pause !== undefined) {
          await waitUntil('the last window recorded', allRecorded, options.timeoutMs);
          process.kill(servers[pause]!.pid, 'SIGSTOP');
        }
        paused = pause;
        await sleep(RESUME_SETTLE_MS);
      }
      const index = windows.length;
      let before: DatabaseActivity | undefined;
      const { result, dueAt } = await timedWindow(
        databaseUrl,
        sink,
        servers.map((s) => s.pid),
        {
          emails: options.emails,
          timeoutMs: options.timeoutMs,
          // After the copies' insert, whose session has ended and so flushed its counters.
          atQueued: async () => {
            if (postgres) before = await databaseActivity(databaseUrl);
          },
          atStart: options.atStart && ((pids) => options.atStart!(pids, index)),
          atEnd: options.atEnd && ((pids) => options.atEnd!(pids, index)),
        },
      );
      let database: DeliveryResult['database'];
      if (before) {
        await waitUntil('the window recorded', allRecorded, options.timeoutMs);
        await sleep(STATS_FLUSHED_MS);
        const after = await databaseActivity(databaseUrl);
        const sent = Math.max(1, result.received);
        database = { commitsPerEmail: (after.commits - before.commits) / sent, rowsWrittenPerEmail: (after.rowsWritten - before.rowsWritten) / sent };
      }
      windows.push({ working, result: { ...result, database }, dueAt });
    }
    endedAt = Date.now();
  } finally {
    if (paused !== undefined) process.kill(servers[paused]!.pid, 'SIGCONT');
    await storage.close();
    await Promise.all(servers.map((s) => s.stop()));
  }
  const counted = await Promise.all(windows.map((w, i) => sentPerWorker(databaseUrl, w.dueAt, windows[i + 1]?.dueAt ?? endedAt + 1)));
  const results = windows.map((w, i) => ({ working: w.working, result: { ...w.result, ...counted[i]! } }));
  const pairs = scaleOutPlan(options.pairs).map((_, k) => {
    const [a, b] = [results[2 * k]!, results[2 * k + 1]!];
    return a.working === 'both' ? { one: b.result, two: a.result } : { one: a.result, two: b.result };
  });
  const warmupPerWorker = (await sentPerWorker(databaseUrl, warmupFrom, windows[0]?.dueAt)).perWorker;
  return { pairs, warmupPerWorker };
}
