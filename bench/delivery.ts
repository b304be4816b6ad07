/**
 * Emails per second into the sink, side by side in one run: a bare nodemailer pool (the machine's
 * SMTP plumbing, with and without STARTTLS), Alertmanager's one email per alert, and Tocsin's
 * outbox drained by 1 or 2 `tocsin serve --role worker` processes, counted by Message-ID.
 */
import nodemailer from 'nodemailer';
import pg from 'pg';
import { notifyOutbox } from '../src/delivery/outbox/doorbell.js';
import { enqueueDeliveries } from '../src/delivery/outbox/enqueue.js';
import type { DeliveryRecipient } from '../src/delivery/outbox/enqueue.js';
import { type Delivery, toDelivery } from '../src/delivery/outbox/delivery.js';
import type { ReportData } from '../src/reports/recipient-rules.js';
import { type Storage, openStorage } from '../src/storage/storage.js';
import { type Alertmanager, amAlert } from './alertmanager.js';
import { sleep } from './lifecycle.js';
import type { SinkProcess } from './sink-client.js';
import { type SinkStats, monotonicNow } from './sink.js';
import { runConcurrently } from './stats.js';
import { addOperators, api, processStats, provisionTenant, startTocsinServer } from './tocsin.js';

/** DeliveryResult is one delivery run: how many the sink got, how fast, and whether any was lost or doubled. */
export interface DeliveryResult {
  readonly emails: number;
  readonly seconds: number;
  readonly emailsPerSecond: number;
  readonly received: number;
  readonly duplicates: number;
  readonly lost: number;
  readonly connections: number;
  /** CPU milliseconds the sending side spent per email: the benchmark process for raw, the worker processes for Tocsin. */
  readonly clientCpuMsPerEmail?: number | undefined;
  /** Emails each worker process sent (from the attempt log), largest first. */
  readonly perWorker?: readonly number[] | undefined;
  /** Emails each worker process sent in its untimed warm-up (from the attempt log), largest first. */
  readonly warmupPerWorker?: readonly number[] | undefined;
  /**
   * How the alerts' emails were shared out: `alerts` the distinct alerts of the emails sent,
   * `shares` the (worker, alert) pairs, i.e. how many times an alert's facts and MIME had to be
   * made (one worker per alert: shares = alerts; an alert split between two workers counts twice).
   */
  readonly alertShares?: { readonly alerts: number; readonly shares: number } | undefined;
  /** On PostgreSQL: transactions committed and rows written per email sent, all worker processes together. */
  readonly database?: { readonly commitsPerEmail: number; readonly rowsWrittenPerEmail: number } | undefined;
}

/** DatabaseActivity is what PostgreSQL counted for one database: transactions committed, rows written. */
export interface DatabaseActivity {
  readonly commits: number;
  readonly rowsWritten: number;
}

/**
 * databaseActivity reads PostgreSQL's counters for one database. They are flushed when a session
 * ends, so read them only once the sessions to count have closed.
 */
export async function databaseActivity(url: string): Promise<DatabaseActivity> {
  const client = new pg.Client({ connectionString: url, user: decodeURIComponent(new URL(url).username) || 'postgres' });
  await client.connect();
  try {
    const { rows } = await client.query(
      'select xact_commit as commits, tup_inserted + tup_updated + tup_deleted as rows from pg_stat_database where datname = current_database()',
    );
    return { commits: Number(rows[0].commits), rowsWritten: Number(rows[0].rows) };
  } finally {
    await client.end();
  }
}

/** resultOf sums up a timed run from the sink's stats; `since` opened its window, on monotonicNow's clock as the sink's times are. */
function resultOf(emails: number, stats: SinkStats, since: number): DeliveryResult {
  const seconds = ((stats.lastAcceptedAt ?? since) - since) / 1000;
  return {
    emails,
    seconds,
    emailsPerSecond: stats.uniqueMessageIds / seconds,
    received: stats.messages,
    duplicates: stats.duplicates,
    lost: emails - stats.uniqueMessageIds,
    connections: stats.connections,
  };
}

/**
 * rawNodemailerRate sends `emails` messages of `bytes` bytes through one nodemailer pool of
 * `connections` connections: the best a Node client gets from this sink on this machine.
 */
export async function rawNodemailerRate(
  sink: SinkProcess,
  options: { emails: number; connections: number; bytes: number; starttls: boolean },
): Promise<DeliveryResult> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: sink.port,
    secure: false,
    pool: true,
    maxConnections: options.connections,
    maxMessages: Number.POSITIVE_INFINITY,
    ...(options.starttls ? { requireTLS: true, tls: { ca: sink.ca, servername: 'localhost' } } : { ignoreTLS: true }),
  });
  const html = `<html><body><p>${'Robot R7 is not responding. '.repeat(Math.max(1, Math.floor(options.bytes / 2 / 28)))}</p></body></html>`;
  const text = 'Robot R7 is not responding. '.repeat(Math.max(1, Math.floor(options.bytes / 2 / 28)));
  const run = Date.now();
  // As a worker would: a bounded number in flight, the pool's queue never holding the whole batch.
  const sendMany = (count: number, prefix: string) =>
    runConcurrently(count, options.connections * 2, async (i) => {
      await transport.sendMail({
        from: 'tocsin@bench.example.com',
        to: 'ops@bench.example.com',
        subject: `Fatal ${i}`,
        text,
        html,
        messageId: `<${prefix}-${run}-${i}@bench>`,
      });
    });
  try {
    // Warm the JIT and the pool first, so the first figure of a run is not the cold one.
    await sendMany(Math.min(500, Math.ceil(options.emails / 10)), 'warm');
    await sink.reset();
    const since = monotonicNow();
    const cpu = process.cpuUsage();
    await sendMany(options.emails, 'raw');
    const used = process.cpuUsage(cpu);
    const result = resultOf(options.emails, await sink.waitForMessages(options.emails, 10_000), since);
    return { ...result, clientCpuMsPerEmail: (used.user + used.system) / 1000 / options.emails };
  } finally {
    transport.close();
  }
}

/**
 * alertmanagerDeliveryRate posts `emails` alerts with distinct label sets (group_by ['...'], so
 * one email each) in batches of 100 and waits until the sink has them all.
 */
export async function alertmanagerDeliveryRate(am: Pick<Alertmanager, 'url'>, sink: SinkProcess, emails: number, timeoutMs: number): Promise<DeliveryResult> {
  await sink.reset();
  const run = `d${Date.now()}`;
  const since = monotonicNow();
  await runConcurrently(Math.ceil(emails / 100), 4, async (b) => {
    const body = JSON.stringify(Array.from({ length: Math.min(100, emails - b * 100) }, (_, i) => amAlert(b * 100 + i, 'critical', run)));
    const res = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`Alertmanager POST /api/v2/alerts: ${res.status}`);
  });
  const stats = await sink.waitForMessages(emails, timeoutMs).catch(async () => sink.stats());
  return resultOf(emails, stats, since);
}

/**
 * How the benchmark queues its copies: `by-alert` as Tocsin's decision queues them (each alert's
 * emails to all its subscribed operators together, in one insert), `round-robin` the worst case
 * for the worker's per-alert MIME cache (every email about another alert than the one before).
 */
export type QueueOrder = 'by-alert' | 'round-robin';

/**
 * queueCopies queues `count` immediate emails due at `dueAt`, copied from the real ones Tocsin queued
 * while seeding (one per seeded alert, to its first operator), so the workers render and send real
 * emails without the scheduler in the timing. `by-alert`: each alert's emails go to every
 * subscribed operator of the tenant (seedDatabase makes OPERATORS of them), one after another, as
 * the decision queues them (one recipient each, with its own name, address, unsubscribe and action
 * links); `round-robin`: one alert after another, each email to the first operator.
 */
export async function queueCopies(databaseUrl: string, count: number, dueAt: number, order: QueueOrder = 'by-alert'): Promise<void> {
  const storage = await openStorage(databaseUrl, { poolSize: 2 });
  try {
    const rows = await storage.db
      .selectFrom('deliveries')
      .selectAll()
      .where('kind', '=', 'immediate')
      .where('idempotency_key', 'not like', 'bench:%')
      .orderBy('id')
      .execute();
    if (rows.length === 0) throw new Error('no immediate email to copy: seed the database first');
    const templates = rows.map(toDelivery);
    const operators = order === 'by-alert' ? await subscribedOperators(storage, templates[0]!) : [templates[0]!.recipient];
    const copies = Array.from({ length: count }, (_, i) => {
      const template = templates[Math.floor(i / operators.length) % templates.length]!;
      const data = (template.payload as { data: ReportData }).data;
      const recipient = order === 'by-alert' ? operators[i % operators.length]! : template.recipient;
      return {
        tenantId: template.tenantId,
        kind: template.kind,
        idempotencyKey: `bench:${dueAt}:${i}`,
        recipient,
        data: { ...data, recipient: { type: 'user', id: recipient.userId } },
        notBefore: dueAt,
      };
    });
    await enqueueDeliveries(storage.db, copies);
    // As an api process does: idle PostgreSQL workers wake at a NOTIFY (or when the rows fall due), not by polling.
    if (storage.dialect === 'postgres') await notifyOutbox(storage.db);
  } finally {
    await storage.close();
  }
}

/**
 * subscribedOperators are the tenant's users who asked for immediate emails, as recipients of the
 * seeded alerts' emails: in the seeded email's language and time zone (none of them set their own).
 */
async function subscribedOperators(storage: Storage, seeded: Delivery): Promise<DeliveryRecipient[]> {
  const users = await storage.db
    .selectFrom('users')
    .innerJoin('user_alert_preferences as p', 'p.owner_id', 'users.id')
    .select(['users.id', 'users.email', 'users.name'])
    .where('users.tenant_id', '=', seeded.tenantId)
    .where('p.fatal_immediately', '=', 1)
    .orderBy('users.email')
    .execute();
  if (users.length === 0) throw new Error('no operator asked for immediate emails: seed the database first');
  const { language, timeZone } = seeded.recipient;
  return users.map((u) => ({ address: u.email, name: u.name, language, timeZone, userId: u.id }));
}

/**
 * sentPerWorker counts the attempts that ended in `sent` from `since` (until `until`, if given), by
 * worker, and how each alert's emails were shared out between the workers.
 */
export async function sentPerWorker(
  databaseUrl: string,
  since: number,
  until = Number.MAX_SAFE_INTEGER,
): Promise<{ perWorker: number[]; alertShares: { alerts: number; shares: number } }> {
  const storage = await openStorage(databaseUrl, { poolSize: 1 });
  try {
    const rows = await storage.db
      .selectFrom('delivery_attempts')
      .innerJoin('deliveries', 'deliveries.id', 'delivery_attempts.delivery_id')
      .select(['delivery_attempts.worker', 'deliveries.payload'])
      .where('delivery_attempts.outcome', '=', 'sent')
      .where('delivery_attempts.started_at', '>=', since)
      .where('delivery_attempts.started_at', '<', until)
      .execute();
    const sent = new Map<string, number>();
    const workersOf = new Map<string, Set<string>>();
    for (const r of rows) {
      sent.set(r.worker, (sent.get(r.worker) ?? 0) + 1);
      const alertId = (JSON.parse(r.payload) as { data?: { alertId?: string } }).data?.alertId ?? '';
      const workers = workersOf.get(alertId) ?? new Set<string>();
      workers.add(r.worker);
      workersOf.set(alertId, workers);
    }
    const shares = [...workersOf.values()].reduce((sum, w) => sum + w.size, 0);
    return { perWorker: [...sent.values()].sort((a, b) => b - a), alertShares: { alerts: workersOf.size, shares } };
  } finally {
    await storage.close();
  }
}

/** How long after they are queued the timed emails fall due: room for the insert and the workers' next look. */
const DUE_IN_MS = 1_500;

/**
 * timedWindow queues `emails` copies due a moment later (DUE_IN_MS) to worker processes already
 * running (`pids`) and times the sink from when they fall due until it has them all: the rate,
 * and the CPU the processes spent in that window per email (read from /proc at its two edges).
 * `atQueued` runs once the copies are queued, before they fall due; `dueAt` (wall clock) is
 * returned for the attempt log's counts (sentPerWorker).
 */
export async function timedWindow(
  databaseUrl: string,
  sink: SinkProcess,
  pids: readonly number[],
  options: {
    emails: number;
    timeoutMs: number;
    order?: QueueOrder | undefined;
    atQueued?: (() => Promise<void>) | undefined;
    atStart?: ((pids: readonly number[]) => void) | undefined;
    atEnd?: ((pids: readonly number[]) => void) | undefined;
  },
): Promise<{ result: DeliveryResult; dueAt: number }> {
  const dueAt = Date.now() + DUE_IN_MS;
  // The window opens when the emails fall due, on the sink's clock (monotonicNow), not the wall clock the rows are due by.
  const windowOpens = monotonicNow() + DUE_IN_MS;
  await sink.reset();
  await queueCopies(databaseUrl, options.emails, dueAt, options.order);
  await options.atQueued?.();
  const wait = dueAt - Date.now();
  if (wait > 0) await sleep(wait);
  const cpuAt = () => pids.reduce((sum, pid) => sum + processStats(pid).cpuSeconds, 0);
  const cpuBefore = cpuAt();
  options.atStart?.(pids);
  const done = await sink.waitForMessages(options.emails, options.timeoutMs).catch(() => sink.stats());
  const cpuMs = (cpuAt() - cpuBefore) * 1000;
  options.atEnd?.(pids);
  // A second copy would come after the first: look again a moment later, keeping the time of the last new one.
  await sleep(1_000);
  const after = await sink.stats();
  const result = {
    ...resultOf(options.emails, { ...after, lastAcceptedAt: after.duplicates > done.duplicates ? done.lastAcceptedAt : after.lastAcceptedAt }, windowOpens),
    clientCpuMsPerEmail: cpuMs / Math.max(1, done.uniqueMessageIds),
  };
  return { result, dueAt };
}

/**
 * tocsinDeliveryRate starts `workers` worker processes on a database that holds one real
 * immediate email, queues `emails` copies due a moment later, and times the sink from then.
 */
export async function tocsinDeliveryRate(
  databaseUrl: string,
  sink: SinkProcess,
  options: {
    emails: number;
    workers: number;
    timeoutMs: number;
    cpuProfile?: boolean;
    /** More environment for the worker processes (a preload that counts, bench/scale-out.ts). */
    env?: Record<string, string>;
    /** Flags for the worker processes' node (startTocsinServer's nodeFlags). */
    nodeFlags?: readonly string[];
    /** How the emails are queued (queueCopies); by alert, as Tocsin's decision does, unless said. */
    order?: QueueOrder;
    /**
     * Emails each worker process sends first, untimed, as the raw pool warms up: a process's first
     * emails cost more than the next ones (its code not yet compiled by the JIT, its connections
     * and caches empty), once per process whatever the queue, which a queue of a few thousand
     * emails does not amortise.
     */
    warmup?: number;
    /** Each worker process in a session of its own (startTocsinServer's ownSession), as the scale-out runs start them. */
    ownSessions?: boolean;
    /** Called with the worker processes' ids as the timed window opens, when the emails fall due. */
    atStart?: (pids: readonly number[]) => void;
    /** Called with the worker processes' ids as the timed window closes, when the sink has every email. */
    atEnd?: (pids: readonly number[]) => void;
  },
): Promise<DeliveryResult> {
  const servers = await Promise.all(
    Array.from({ length: options.workers }, () =>
      startTocsinServer({
        databaseUrl,
        role: 'worker',
        smtpPort: sink.port,
        cpuProfile: options.cpuProfile,
        env: options.env,
        nodeFlags: options.nodeFlags,
        ownSession: options.ownSessions,
      }),
    ),
  );
  const postgres = databaseUrl.startsWith('postgres');
  let before: DatabaseActivity | undefined;
  let result: DeliveryResult;
  let dueAt = 0;
  const warmupFrom = Date.now();
  try {
    if (options.warmup) {
      const count = options.warmup * options.workers;
      await sink.reset();
      await queueCopies(databaseUrl, count, Date.now(), options.order);
      await sink.waitForMessages(count, options.timeoutMs);
    }
    const window = await timedWindow(
      databaseUrl,
      sink,
      servers.map((s) => s.pid),
      {
        emails: options.emails,
        order: options.order,
        timeoutMs: options.timeoutMs,
        atQueued: async () => {
          if (postgres) before = await databaseActivity(databaseUrl);
        },
        atStart: options.atStart,
        atEnd: options.atEnd,
      },
    );
    dueAt = window.dueAt;
    result = window.result;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  result = { ...result, ...(await sentPerWorker(databaseUrl, dueAt)) };
  if (options.warmup) result = { ...result, warmupPerWorker: (await sentPerWorker(databaseUrl, warmupFrom, dueAt)).perWorker };
  if (!before) return result;
  const after = await databaseActivity(databaseUrl);
  const sent = Math.max(1, result.received);
  return {
    ...result,
    database: { commitsPerEmail: (after.commits - before.commits) / sent, rowsWrittenPerEmail: (after.rowsWritten - before.rowsWritten) / sent },
  };
}

/** SEED_ALERTS distinct Fatal alerts are seeded, so the queued emails are about many alerts, not one rendered once. */
export const SEED_ALERTS = 1_000;

/**
 * SCALE_OUT_LIMIT is the scale-out target of issue 12: 2 worker processes' CPU per email at most
 * this many times one worker's. Its margin (0.1) is also the scatter of paired runs above which
 * the benchmarks call the target undecided (bench/stats.ts pairedVerdict).
 */
export const SCALE_OUT_LIMIT = 1.1;

/**
 * SCALE_OUT_WARMUP is how many emails each worker process of a scale-out run sends, untimed, before
 * its window. A worker's CPU per email still falls long after its first few hundred emails: after
 * 500 it was 1.9, 1.3, 1.1, 1.0 CPU-ms per email in four slices of 1,000, after 4,000 about 0.9 in
 * each (bench/hot-paths.md, 2026-12-07). With the same window of N emails, one worker spends it
 * over its emails 500 to 500 + N and each of two over 500 to 500 + N/2, the costlier part of its
 * life: a warm-up of 500 put 2 workers about 15 % above one worker per email with nothing
 * coordinated. Warm processes, as long-running workers are, compare like with like.
 */
export const SCALE_OUT_WARMUP = 3_000;

/** OPERATORS of the seeded tenant ask for immediate emails: each alert's email goes to each of them (queueCopies). */
export const OPERATORS = 10;

/**
 * seedDatabase provisions a tenant and lets Tocsin decide and send the immediate emails of
 * SEED_ALERTS distinct Fatal alerts to its first operator; it returns the size of one. The other
 * OPERATORS - 1 operators subscribe afterwards, so the seeding sends one email per alert.
 */
export async function seedDatabase(databaseUrl: string, sink: SinkProcess, options: { built?: boolean } = {}): Promise<number> {
  const server = await startTocsinServer({ databaseUrl, role: 'all', smtpPort: sink.port, built: options.built ?? false });
  try {
    const tenant = await provisionTenant(server.url, 'delivery', { fatalImmediately: true });
    await sink.reset();
    const first = sink.nextAccepted(30_000, (m) => m.kind === 'immediate');
    for (let b = 0; b < SEED_ALERTS / 100; b++) {
      const alerts = Array.from({ length: 100 }, (_, i) => ({
        severity: 'Fatal',
        component: 'Robots',
        event: 'Robot.StatusChanged.NotResponding',
        message: `Robot R${b * 100 + i} on FINANCE-${String(i % 50).padStart(2, '0')} is not responding`,
        source: { robot: `R${b * 100 + i}`, machine: `FINANCE-${String(i % 50).padStart(2, '0')}` },
      }));
      await api(server.url, 'POST', `/api/v1/tenants/${tenant.name}/alerts`, tenant.robotToken, { alerts });
    }
    const bytes = (await first).bytes;
    await sink.waitForMessages(SEED_ALERTS, 180_000);
    await addOperators(server.url, tenant.name, OPERATORS - 1);
    return bytes;
  } finally {
    await server.stop();
  }
}
