/**
 * The heavy, repeated versions of the reliability rows of docs/RELIABILITY.md, which the tests beside
 * the code run once and small (src/alerts/acked-survives-kill.test.ts, src/delivery/outbox/kill.test.ts,
 * processes.test.ts, sqlite-processes.test.ts). Each prints its figure and the command that repeats it.
 *
 * - R1, acked ⇒ stored: `tocsin serve --role api` (dist/) takes 1,000 POSTs of one alert each from 8
 *   clients and is SIGKILLed after a random number of answers, then started again on the same database,
 *   `--rounds` times; every alert answered 202 must be stored with what was posted.
 * - R2, kill mid-send: 500 emails, a sink that answers each "." after 2 s, one worker process (the
 *   production lease, heartbeat and poll, 3 connections) SIGKILLed `--kills` times, each after a random
 *   life of `--kill-every` seconds, and started again each time; no email lost, duplicates only among the
 *   rows a dead worker held (its "." read by the sink, the 250 unheard or not committed), and how long
 *   after its lease ran out each held row was claimed again (behind the rows queued before it fell due).
 * - R9, claims under concurrency: 10,000 emails, 8 worker processes on PostgreSQL or 4 on SQLite; double
 *   claims (two attempts of one row running at once, or an email received twice), emails per second, and
 *   busy-database errors the workers logged.
 *
 *   npm run -s build && TOCSIN_TEST_PG_URL=postgres://… npx tsx bench/reliability.ts --only R2 --dialect sqlite
 *
 * Not part of `npm run bench`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/shared/clock.js';
import { migrate } from '../src/storage/migrate.js';
import { type Storage, openStorage } from '../src/storage/storage.js';
import type { Dialect } from '../src/storage/dialect.js';
import { enqueueDeliveries } from '../src/delivery/outbox/enqueue.js';
import { DEFAULT_WORKER_SETTINGS } from '../src/delivery/outbox/worker.js';
import { insertTestTenant, testDelivery } from '../test/support/outbox-fixtures.js';
import { type TestSmtpServer, startTestSmtpServer } from '../test/support/smtp-servers.js';
import { seededRandom } from '../test/support/seeded-random.js';
import { PG_URL, defer, postgresDatabase, releaseAll, releaseOnSignals, sleep, tempDir, tsxArgs, waitUntil } from './lifecycle.js';
import { median, percentile } from './stats.js';
import { BENCH_ADMIN_TOKEN, api, startTocsinServer } from './tocsin.js';

const ROWS = ['R1', 'R2', 'R9'] as const;
type Row = (typeof ROWS)[number];

const { values: opts } = parseArgs({
  options: {
    only: { type: 'string' },
    dialect: { type: 'string' },
    rounds: { type: 'string', default: '50' },
    posts: { type: 'string', default: '1000' },
    kills: { type: 'string', default: '20' },
    'kill-every': { type: 'string', default: '2-20' },
    emails: { type: 'string' },
    seed: { type: 'string', default: '1' },
  },
});
const only = (opts.only?.split(',') ?? ROWS) as Row[];
const dialects = (opts.dialect?.split(',') ?? (PG_URL ? ['sqlite', 'postgres'] : ['sqlite'])) as Dialect[];
const random = seededRandom(Number(opts.seed));

releaseOnSignals();

/** reproduce is the command line that runs `row` on `dialect` again with this run's options. */
function reproduce(row: Row, dialect: Dialect, extra: string): string {
  const pg = dialect === 'postgres' ? 'TOCSIN_TEST_PG_URL=postgres://… ' : '';
  return `${pg}npx tsx bench/reliability.ts --only ${row} --dialect ${dialect} ${extra}--seed ${opts.seed}`;
}

/** freshDatabase is an empty migrated database of `dialect` (released at the end) and its URL. */
async function freshDatabase(dialect: Dialect): Promise<{ url: string; storage: Storage }> {
  const url = dialect === 'postgres' ? await postgresDatabase() : `sqlite:${path.join(tempDir('reliability'), 'tocsin.db')}`;
  const storage = await openStorage(url, { poolSize: 2 });
  defer(`storage ${url}`, () => storage.close());
  await migrate(storage);
  return { url, storage };
}

/** exited resolves once `child` has exited (at once when it already has). */
function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function r1(dialect: Dialect): Promise<void> {
  const rounds = Number(opts.rounds);
  const posts = Number(opts.posts);
  const { url, storage } = await freshDatabase(dialect);
  // What each 202 answered (alert id → its message), and every message posted.
  const acked = new Map<string, string>();
  let posted = 0;
  const started = Date.now();
  for (let round = 0; round < rounds; round++) {
    const server = await startTocsinServer({ databaseUrl: url, role: 'api', built: true, env: { TOCSIN_MAIL_CATCHER_PORT: '0' } });
    if (round === 0) await api(server.url, 'POST', '/api/v1/tenants', BENCH_ADMIN_TOKEN, { name: 'acked' });
    // The kill lands after a random number of answers, every client with a request in flight.
    const killAfter = 1 + Math.floor(random() * posts);
    let answered = 0;
    let fired = 0;
    let killed = false;
    const client = async (c: number) => {
      while (fired < posts && !killed) {
        const message = `round ${round} client ${c} post ${fired++}`;
        posted += 1;
        let res: Response;
        try {
          res = await fetch(`${server.url}/api/v1/tenants/acked/alerts`, {
            method: 'POST',
            headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
            body: JSON.stringify({ severity: 'Error', component: 'Jobs', message }),
          });
        } catch {
          return; // the connection died with the process: no answer, nothing promised
        }
        if (res.status !== 202) throw new Error(`answered ${res.status}: ${await res.text()}`);
        const { ids } = (await res.json()) as { ids: string[] };
        acked.set(ids[0]!, message);
        answered += 1;
        if (answered >= killAfter && !killed) {
          killed = true;
          process.kill(server.pid, 'SIGKILL');
        }
        // "At random": a pause of up to 2 ms between one client's requests.
        await sleep(Math.floor(random() * 3));
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, c) => client(c)));
    if (!killed) process.kill(server.pid, 'SIGKILL');
    await server.stop();
  }
  const stored = new Map((await storage.db.selectFrom('alerts').select(['id', 'message']).execute()).map((a) => [a.id, a.message]));
  const lost = [...acked].filter(([id, message]) => stored.get(id) !== message).length;
  const unanswered = [...stored.keys()].filter((id) => !acked.has(id)).length;
  process.stdout.write(
    `R1 ${dialect}: ${rounds} SIGKILLs of tocsin serve --role api, ${posted} POSTs, ${acked.size} answered 202; ` +
      `lost after ack ${lost}, stored without an answer ${unanswered} (${((Date.now() - started) / 1000).toFixed(0)} s)\n` +
      `  ${reproduce('R1', dialect, `--rounds ${rounds} --posts ${posts} `)}\n`,
  );
  if (lost > 0) process.exitCode = 1;
}

/** startWorker runs test/support/processes/worker-process.ts on the database and the sink; `logs` hears its warnings. */
function startWorker(databaseUrl: string, sink: TestSmtpServer, env: Record<string, string>, logs: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, tsxArgs('test/support/processes/worker-process.ts'), {
    env: { ...process.env, DATABASE_URL: databaseUrl, SMTP_PORT: String(sink.port), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  defer(`worker ${child.pid}`, () => void child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line === 'started') resolve(child);
        else if (line) logs.push(line);
      }
    });
    child.once('exit', (code, signal) => reject(new Error(`worker exited with ${code ?? signal}`)));
  });
}

/** localPart is a Message-ID without its domain, which the send rewrites from the From address. */
const localPart = (messageId: string) => messageId.slice(0, messageId.lastIndexOf('@'));

async function r2(dialect: Dialect): Promise<void> {
  const emails = Number(opts.emails ?? 500);
  const kills = Number(opts.kills);
  const { url, storage } = await freshDatabase(dialect);
  const tenant = await insertTestTenant(storage.db, 'kills');
  await enqueueDeliveries(
    storage.db,
    Array.from({ length: emails }, (_, i) => testDelivery(tenant, `r${i}@example.com`)),
    systemClock,
  );
  const sink = await startTestSmtpServer({ dataReplyDelayMs: 2_000 });
  defer('sink', () => sink.close());
  // The production lease, heartbeat and poll; 3 connections, so that 20 kills land before the batch is sent.
  const env = { POLL_MS: String(DEFAULT_WORKER_SETTINGS.pollIntervalMs), CONCURRENCY: '3' };
  // Each worker lives a random time in this range (seconds): a life shorter than a lease (10 s) takes over no row.
  const [fromS, toS] = opts['kill-every'].split('-').map(Number) as [number, number];
  const unsent = async () => (await storage.db.selectFrom('deliveries').select('id').where('status', '!=', 'sent').execute()).length;
  // Per kill: the messages whose "." the sink held, and how many rows the dead worker left held.
  const inWindow: number[] = [];
  const heldPerKill: number[] = [];
  // A row still held by a dead worker at the next kill keeps its first entry: nobody renewed its lease.
  const held = new Map<string, { messageId: string; leaseExpiresAt: number; attempt: number; killedAt: number }>();
  const started = Date.now();
  let landed = 0;
  for (; landed < kills && (await unsent()) > 0; landed++) {
    const worker = await startWorker(url, sink, env);
    await sleep(Math.floor((fromS + random() * (toS - fromS)) * 1000));
    worker.kill('SIGKILL');
    const killedAt = Date.now();
    await exited(worker);
    // A "." the worker wrote just before dying may still be on its way: the sink has read all once the connections closed.
    await waitUntil('the sink to see the dead worker’s connections close', () => sink.openConnections() === 0, 10_000, 5);
    inWindow.push(sink.pendingReplies());
    const rows = await storage.db
      .selectFrom('deliveries')
      .select(['id', 'message_id', 'lease_expires_at', 'attempts'])
      .where('status', '=', 'sending')
      .execute();
    const before = held.size;
    for (const r of rows) {
      if (held.get(r.id)?.attempt !== r.attempts)
        held.set(r.id, { messageId: r.message_id, leaseExpiresAt: r.lease_expires_at!, attempt: r.attempts, killedAt });
    }
    heldPerKill.push(held.size - before);
  }
  const last = await startWorker(url, sink, env);
  await waitUntil('every email sent', async () => (await unsent()) === 0, 600_000, 200);
  last.kill('SIGTERM');
  await exited(last);
  const seconds = (Date.now() - started) / 1000;
  // Replies still pending reach the sink's list within 2 s of the last send.
  await waitUntil('the sink to give its last replies', () => sink.pendingReplies() === 0, 10_000);

  const counts = new Map<string, number>();
  for (const m of sink.messages) counts.set(localPart(m.messageId!), (counts.get(localPart(m.messageId!)) ?? 0) + 1);
  const duplicates = [...counts.values()].reduce((n, c) => n + c - 1, 0);
  const heldIds = new Set([...held.values()].map((h) => localPart(h.messageId)));
  const outsideWindow = [...counts].filter(([id, c]) => c > 1 && !heldIds.has(id)).length;
  // Recovery: from the held row's lease expiry (and from the kill) to the start of its next attempt.
  const attempts = await storage.db.selectFrom('delivery_attempts').select(['delivery_id', 'attempt', 'started_at']).execute();
  const startOf = new Map(attempts.map((a) => [`${a.delivery_id}:${a.attempt}`, a.started_at]));
  const afterLease: number[] = [];
  const afterKill: number[] = [];
  for (const [id, h] of held) {
    const next = startOf.get(`${id}:${h.attempt + 1}`);
    if (next === undefined) continue;
    afterLease.push(next - h.leaseExpiresAt);
    afterKill.push(next - h.killedAt);
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const lost = emails - counts.size;
  // The window of doubt: a "." the sink read whose 250 the worker did not hear, or heard and did not commit (the
  // group commit). Only rows the dead worker held can be in it, so every duplicate must be one of them.
  const repliesHeld = inWindow.reduce((a, b) => a + b, 0);
  process.stdout.write(
    `R2 ${dialect}: ${emails} emails, ${landed} SIGKILLs of the worker (lease ${DEFAULT_WORKER_SETTINGS.leaseMs / 1000} s), the sink answering "." after 2 s; ` +
      `lost ${lost}, duplicates ${duplicates} (${((100 * duplicates) / emails).toFixed(1)} %), duplicates not held at a kill ${outsideWindow}; ` +
      `${heldPerKill.filter((n) => n > 0).length} kills left ${held.size} rows held, the sink holding ${repliesHeld} replies to "." at the kills; ` +
      `held rows claimed again after their lease expired p50 ${s(median(afterLease))} p99 ${s(percentile(afterLease, 99))} ` +
      `(after the kill p50 ${s(median(afterKill))} p99 ${s(percentile(afterKill, 99))}); ${seconds.toFixed(0)} s\n` +
      `  ${reproduce('R2', dialect, `--kills ${kills} --kill-every ${opts['kill-every']} `)}\n`,
  );
  if (lost > 0 || outsideWindow > 0) process.exitCode = 1;
}

async function r9(dialect: Dialect): Promise<void> {
  const emails = Number(opts.emails ?? 10_000);
  const workers = dialect === 'postgres' ? 8 : 4;
  const { url, storage } = await freshDatabase(dialect);
  const tenant = await insertTestTenant(storage.db, 'claims');
  for (let i = 0; i < emails; i += 1_000) {
    await enqueueDeliveries(
      storage.db,
      Array.from({ length: Math.min(1_000, emails - i) }, (_, j) => testDelivery(tenant, `r${i + j}@example.com`)),
      systemClock,
    );
  }
  const sink = await startTestSmtpServer();
  defer('sink', () => sink.close());
  const logs: string[] = [];
  const env = { CONNECTIONS: '4', POLL_MS: '50', TOCSIN_DB_POOL_SIZE: '3' };
  const children = await Promise.all(Array.from({ length: workers }, () => startWorker(url, sink, env, logs)));
  const started = Date.now();
  const unsent = async () => (await storage.db.selectFrom('deliveries').select('id').where('status', '!=', 'sent').limit(1).execute()).length;
  await waitUntil('every email sent', async () => (await unsent()) === 0, 900_000, 200);
  const seconds = (Date.now() - started) / 1000;
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map(exited));

  const ids = sink.messages.map((m) => m.messageId);
  const received = new Set(ids);
  const attempts = await storage.db.selectFrom('delivery_attempts').select(['delivery_id', 'started_at', 'finished_at', 'outcome']).execute();
  const byRow = new Map<string, { started_at: number; finished_at: number | null }[]>();
  for (const a of attempts) byRow.set(a.delivery_id, [...(byRow.get(a.delivery_id) ?? []), a]);
  // A double claim: a row's next attempt started before its previous one ended.
  let overlapping = 0;
  for (const list of byRow.values()) {
    const sorted = list.sort((a, b) => a.started_at - b.started_at);
    for (let i = 1; i < sorted.length; i++) if (sorted[i]!.started_at < (sorted[i - 1]!.finished_at ?? Infinity)) overlapping += 1;
  }
  const busy = logs.filter((line) => /SQLITE_BUSY|database is locked/i.test(line)).length;
  const doubleClaims = overlapping + (ids.length - received.size);
  process.stdout.write(
    `R9 ${dialect}: ${workers} worker processes, ${emails} emails; double claims ${doubleClaims} (overlapping attempts ${overlapping}, emails received twice ${ids.length - received.size}), ` +
      `lost ${emails - received.size}, ${(emails / seconds).toFixed(0)} emails/s, ${attempts.length} attempts, busy-database errors logged ${busy}, other warnings ${logs.length - busy}\n` +
      `  ${reproduce('R9', dialect, opts.emails ? `--emails ${emails} ` : '')}\n`,
  );
  if (doubleClaims > 0 || busy > 0 || received.size !== emails) process.exitCode = 1;
}

async function main(): Promise<void> {
  const runs: Record<Row, (dialect: Dialect) => Promise<void>> = { R1: r1, R2: r2, R9: r9 };
  for (const row of only) {
    if (!runs[row]) throw new Error(`--only takes ${ROWS.join(', ')}; got ${row}`);
    for (const dialect of dialects) {
      process.stdout.write(`${row} ${dialect}, ${new Date().toISOString()}\n`);
      await runs[row](dialect);
    }
  }
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => releaseAll());
