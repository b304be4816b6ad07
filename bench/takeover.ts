/**
 * Takeover after kill -9: how long after a worker process is killed mid-batch does another worker
 * send the first of the emails the dead one held? Two worker processes with the production lease,
 * heartbeat and poll share a PostgreSQL outbox and a real SMTP sink (each DATA answered after
 * 300 ms, two connections per worker, so most of a round is still held at the kill). Each round: the survivor is paused (SIGSTOP) while a
 * fresh victim claims 60 emails (20 summaries, 20 daily reports, 20 immediate), the survivor
 * resumes, the victim is SIGKILLed after its first sends, and the clock runs from the kill to the
 * first email of the victim's arriving from the survivor, per kind. Every round checks that all 60
 * arrive and that any duplicate was in flight at the kill.
 *
 *   TOCSIN_TEST_PG_URL=postgres://… npm run bench:takeover -- --kills 10
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/shared/clock.js';
import { migrate } from '../src/storage/migrate.js';
import { openStorage } from '../src/storage/storage.js';
import { enqueueDeliveries } from '../src/delivery/outbox/enqueue.js';
import { insertTestTenant, testDelivery } from '../test/support/outbox-fixtures.js';
import { startTestSmtpServer } from '../test/support/smtp-servers.js';
import { DEFAULT_WORKER_SETTINGS } from '../src/delivery/outbox/worker.js';
import { defer, postgresDatabase, releaseAll, releaseOnSignals, tsxArgs, waitUntil } from './lifecycle.js';
import { median, percentile } from './stats.js';

const { values: opts } = parseArgs({ options: { kills: { type: 'string', default: '10' } } });
const KILLS = Number(opts.kills);
const KINDS = ['summary', 'daily', 'immediate'] as const;
const PER_KIND = 20;

releaseOnSignals();

function startWorker(databaseUrl: string, smtpPort: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, tsxArgs('test/support/processes/worker-process.ts'), {
    // No LEASE_MS: the production lease and heartbeat; POLL_MS: the production poll.
    env: { ...process.env, DATABASE_URL: databaseUrl, SMTP_PORT: String(smtpPort), CONNECTIONS: '2', POLL_MS: String(DEFAULT_WORKER_SETTINGS.pollIntervalMs) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  defer(`worker ${child.pid}`, () => void child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => chunk.toString().includes('started') && resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  const databaseUrl = await postgresDatabase();
  const storage = await openStorage(databaseUrl, { poolSize: 2 });
  defer('storage', () => storage.close());
  await migrate(storage);
  const tenant = await insertTestTenant(storage.db, 'takeover');
  const sink = await startTestSmtpServer({ dataReplyDelayMs: 300 });
  defer('sink', () => sink.close());
  // When each copy of each Message-ID arrived (scanned every 2 ms).
  const arrivals = new Map<string, number[]>();
  let scanned = 0;
  const scan = setInterval(() => {
    for (; scanned < sink.messages.length; scanned += 1) {
      const id = sink.messages[scanned]!.messageId!;
      arrivals.set(id, [...(arrivals.get(id) ?? []), Date.now()]);
    }
  }, 2);
  defer('scan', () => clearInterval(scan));

  const survivor = await startWorker(databaseUrl, sink.port);
  const firsts: number[] = [];
  const byKind = new Map<string, number[]>(KINDS.map((k) => [k, []]));
  let duplicates = 0;
  for (let round = 1; round <= KILLS; round += 1) {
    survivor.kill('SIGSTOP');
    const victim = await startWorker(databaseUrl, sink.port);
    const before = sink.messages.length;
    // Kinds interleaved, so that the rows held at the kill are of every kind.
    const batch = Array.from({ length: PER_KIND }, (_, i) =>
      KINDS.map((kind) => testDelivery(tenant, `r${round}-${kind}-${i}@example.com`, { kind, idempotencyKey: `${kind}:${round}:${i}` })),
    ).flat();
    await enqueueDeliveries(storage.db, batch, systemClock);
    const pending = () => storage.db.selectFrom('deliveries').select('id').where('status', '=', 'pending').execute();
    await waitUntil('the victim to claim the round', async () => (await pending()).length === 0, 30_000);
    await waitUntil('the victim to send a few', () => sink.messages.length >= before + 3, 30_000);
    survivor.kill('SIGCONT');
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((resolve) => victim.once('exit', resolve));
    const held = await storage.db.selectFrom('deliveries').select(['id', 'kind']).where('status', '=', 'sending').execute();
    const received = new Set(sink.messages.slice(before).map((m) => m.messageId));
    await waitUntil(
      'every email of the round',
      async () => {
        const rows = await storage.db.selectFrom('deliveries').select('id').where('status', '!=', 'sent').execute();
        return rows.length === 0;
      },
      120_000,
    );
    // A resend is the copy that arrived after the survivor claimed the row: a send the victim had
    // put on the wire before dying may still be read by the sink after the kill.
    const heldIds = held.map((h) => h.id);
    const claims = await storage.db
      .selectFrom('delivery_attempts')
      .select(['delivery_id', 'started_at'])
      .where('delivery_id', 'in', heldIds)
      .where('started_at', '>=', killedAt)
      .execute();
    const claimedAt = new Map(claims.map((c) => [c.delivery_id, c.started_at]));
    // The Message-ID as sent: a row read while sending may still hold its unbound form (no domain
    // until the sender's From address binds it at the result), which the sink never sees.
    const sentIds = await storage.db.selectFrom('deliveries').select(['id', 'message_id']).where('id', 'in', heldIds).execute();
    const sentId = new Map(sentIds.map((r) => [r.id, r.message_id]));
    const resent = held.map((h) => ({ kind: h.kind, at: arrivals.get(sentId.get(h.id)!)!.find((t) => t >= claimedAt.get(h.id)!)! - killedAt }));
    const first = Math.min(...resent.map((r) => r.at));
    firsts.push(first);
    for (const kind of KINDS) {
      const ofKind = resent.filter((r) => r.kind === kind).map((r) => r.at);
      if (ofKind.length > 0) byKind.get(kind)!.push(Math.min(...ofKind));
    }
    const roundMessages = sink.messages.slice(before).map((m) => m.messageId);
    const roundDuplicates = roundMessages.length - new Set(roundMessages).size;
    duplicates += roundDuplicates;
    process.stdout.write(
      `kill ${round}: ${held.length} held at the kill (${received.size} already received before), first resent after ${first} ms; duplicates ${roundDuplicates}\n`,
    );
    if (new Set(roundMessages).size !== batch.length) throw new Error(`round ${round}: ${new Set(roundMessages).size} of ${batch.length} emails arrived`);
  }
  const fmt = (values: number[]) =>
    `p50 ${(median(values) / 1000).toFixed(1)} s, p95 ${(percentile(values, 95) / 1000).toFixed(1)} s, max ${(Math.max(...values) / 1000).toFixed(1)} s`;
  process.stdout.write(`\nkill -9 → first resent email over ${KILLS} kills (lease ${DEFAULT_WORKER_SETTINGS.leaseMs / 1000} s): ${fmt(firsts)}\n`);
  for (const [kind, values] of byKind) process.stdout.write(`  first ${kind} resent: ${fmt(values)} (${values.length} kills)\n`);
  process.stdout.write(`  every email arrived in every round; duplicates ${duplicates} (sends in flight at the kill)\n`);
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => releaseAll());
