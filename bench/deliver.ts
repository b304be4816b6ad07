/**
 * bench:deliver measures emails per second from the outbox to an SMTP sink over STARTTLS (test CA),
 * next to the rate of a bare nodemailer pool (10 connections) to the same sink in the same run.
 * The sink is a real smtp-server in a child process, so its CPU is its own; the outbox runs a
 * DeliveryWorker on a fresh SQLite file (and on PostgreSQL when TOCSIN_TEST_PG_URL or --pg is set),
 * from a queue filled beforehand, until every row is marked sent.
 *
 * Each round measures, one after the other: the raw pool, createMailSender alone (so the outbox's
 * own cost can be told from the sender's), and the outbox on each database; the medians are printed.
 *
 *   npm run bench:deliver -- [--emails 3000] [--rounds 3] [--connections 10] [--only sqlite|postgres] [--pg postgres://…]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { systemClock } from '../src/shared/clock.js';
import { type Storage, openStorage } from '../src/storage/storage.js';
import { migrate } from '../src/storage/migrate.js';
import type { SmtpEndpoint } from '../src/delivery/contract.js';
import { enqueueDeliveries } from '../src/delivery/outbox/enqueue.js';
import { DeliveryWorker } from '../src/delivery/outbox/worker.js';
import { CONNECTIONS_PER_ENDPOINT, createMailSender } from '../src/delivery/smtp/sender.js';
import { testCertificates } from '../test/support/certificates.js';

const { values: opts } = parseArgs({
  options: {
    emails: { type: 'string', default: '3000' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: String(CONNECTIONS_PER_ENDPOINT) },
    only: { type: 'string' },
    pg: { type: 'string' },
    sink: { type: 'boolean', default: false },
  },
});
const EMAILS = Number(opts.emails);
const CONNECTIONS = Number(opts.connections);
const ROUNDS = Number(opts.rounds);
const PG_URL = opts.pg ?? process.env.TOCSIN_TEST_PG_URL;
const BODY_TEXT = 'Robot "Finance-07" stopped responding.\n'.repeat(20);
const BODY_HTML = `<table>${'<tr><td>Fatal</td><td>Robot "Finance-07" stopped responding.</td></tr>'.repeat(20)}</table>`;

/** runSink is the child process: a STARTTLS smtp-server that accepts everything and counts. */
function runSink(): void {
  const certs = testCertificates();
  const server = new SMTPServer({
    key: certs.localhost.key,
    cert: certs.localhost.cert,
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 100,
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => callback(null, 'Ok: queued'));
    },
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.server.address() as { port: number };
    process.stdout.write(`${JSON.stringify({ port, ca: certs.ca })}\n`);
  });
}

async function startSink(): Promise<{ child: ChildProcess; port: number; ca: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--sink'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      if (buffered.includes('\n')) resolve(buffered.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`sink exited with ${code}`)));
  });
  const { port, ca } = JSON.parse(line) as { port: number; ca: string };
  return { child, port, ca };
}

async function rawRate(port: number, ca: string): Promise<number> {
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: CONNECTIONS,
    host: 'localhost',
    port,
    requireTLS: true,
    tls: { ca: [ca], servername: 'localhost' },
  });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: EMAILS }, (_, i) =>
      transport.sendMail({
        from: 'alerts@example.com',
        to: { name: 'Test Recipient', address: `r${i}@example.com` },
        subject: `Hello r${i}@example.com`,
        text: BODY_TEXT,
        html: BODY_HTML,
        headers: { 'X-Tocsin-Kind': 'test', 'X-Tocsin-Tenant': 'bench' },
        messageId: `<raw-${i}-${crypto.randomUUID()}@tocsin>`,
      }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  transport.close();
  return EMAILS / seconds;
}

/** sinkEndpoint is the bench's SMTP server as the sender sees it: STARTTLS with the bench's own CA, no AUTH. */
function sinkEndpoint(port: number, ca: string): SmtpEndpoint {
  return { host: 'localhost', port, security: 'starttls', authMethod: 'none', fromAddress: 'alerts@example.com', timeoutMs: 10_000, ca };
}

/** senderRate sends through createMailSender alone (what the worker calls), 100 sends ahead. */
async function senderRate(port: number, ca: string): Promise<number> {
  const sender = createMailSender({ maxConnections: CONNECTIONS });
  const endpoint = sinkEndpoint(port, ca);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      for (let i = next++; i < EMAILS; i = next++) {
        await sender.send(endpoint, {
          to: { name: 'Test Recipient', address: `r${i}@example.com` },
          messageId: `<sender-${i}-${crypto.randomUUID()}@tocsin>`,
          subject: `Hello r${i}@example.com`,
          text: BODY_TEXT,
          html: BODY_HTML,
          headers: { 'X-Tocsin-Kind': 'test', 'X-Tocsin-Tenant': 'bench' },
        });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await sender.close();
  return EMAILS / seconds;
}

async function openTarget(name: 'sqlite' | 'postgres'): Promise<{ storage: Storage; drop(): Promise<void> }> {
  if (name === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-bench-deliver-'));
    const storage = await openStorage(`sqlite:${path.join(dir, 'tocsin.db')}`);
    return { storage, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const dbName = `tocsin_bench_${crypto.randomBytes(4).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: PG_URL, user: decodeURIComponent(new URL(PG_URL!).username) || 'postgres' });
    await client.connect();
    await client.query(statement).finally(() => client.end());
  };
  await admin(`create database ${dbName}`);
  const url = new URL(PG_URL!);
  url.pathname = `/${dbName}`;
  const storage = await openStorage(url.toString());
  return { storage, drop: () => admin(`drop database if exists ${dbName} with (force)`) };
}

async function outboxRate(name: 'sqlite' | 'postgres', port: number, ca: string): Promise<number> {
  const target = await openTarget(name);
  const { storage } = target;
  const sender = createMailSender({ maxConnections: CONNECTIONS });
  try {
    await migrate(storage);
    const tenant = crypto.randomUUID();
    await storage.db
      .insertInto('tenants')
      .values({ id: tenant, name: 'bench', display_name: 'bench', time_zone: 'UTC', language: 'en', retention_days: 30, created_at: 0 })
      .execute();
    const rows = Array.from({ length: EMAILS }, (_, i) => ({
      tenantId: tenant,
      kind: 'test' as const,
      idempotencyKey: `bench:${i}`,
      recipient: { address: `r${i}@example.com`, name: 'Test Recipient', language: 'en', timeZone: 'UTC' },
      rendered: { subject: `Hello r${i}@example.com`, text: BODY_TEXT, html: BODY_HTML, headers: { 'X-Tocsin-Kind': 'test', 'X-Tocsin-Tenant': 'bench' } },
    }));
    await enqueueDeliveries(storage.db, rows, systemClock);
    const endpoint = sinkEndpoint(port, ca);
    let finished = 0;
    const worker = new DeliveryWorker({
      storage,
      clock: systemClock,
      sender,
      resolveEndpoint: async () => endpoint,
      composers: {},
      // The defaults: 50 sends in flight for one tenant, queued on the sender's 10 connections.
      settings: {},
    });
    const started = performance.now();
    worker.start();
    for (;;) {
      const row = await storage.db
        .selectFrom('deliveries')
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .where('tenant_id', '=', tenant)
        .where('status', '=', 'sent')
        .executeTakeFirstOrThrow();
      finished = Number(row.n);
      if (finished >= EMAILS) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const seconds = (performance.now() - started) / 1000;
    await worker.stop();
    return EMAILS / seconds;
  } finally {
    await sender.close();
    await storage.close();
    await target.drop();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const sink = await startSink();
  try {
    const targets = (['sqlite', 'postgres'] as const).filter((t) => (!opts.only || opts.only === t) && (t === 'sqlite' || PG_URL));
    // Warm TLS and the JIT once, then interleave the measurements: on a shared machine the rate
    // drifts from minute to minute, so each round compares runs made moments apart.
    await rawRate(sink.port, sink.ca);
    const rates: Record<string, number[]> = { raw: [], sender: [], ...Object.fromEntries(targets.map((t) => [t, []])) };
    for (let round = 0; round < ROUNDS; round++) {
      rates.raw!.push(await rawRate(sink.port, sink.ca));
      rates.sender!.push(await senderRate(sink.port, sink.ca));
      for (const name of targets) rates[name]!.push(await outboxRate(name, sink.port, sink.ca));
    }
    const raw = median(rates.raw!);
    const show = (label: string, values: number[]) =>
      `${label.padEnd(46)} median ${median(values).toFixed(0).padStart(5)} emails/s = ${((100 * median(values)) / raw).toFixed(0).padStart(3)} % of raw   (rounds: ${values.map((v) => v.toFixed(0)).join(', ')})`;
    const lines = [
      show(`raw nodemailer pool (${CONNECTIONS} connections, STARTTLS)`, rates.raw!),
      show('createMailSender alone (same pool size)', rates.sender!),
      ...targets.map((name) => show(`outbox on ${name} (worker + sender)`, rates[name]!)),
    ];
    process.stdout.write(
      `\nbench:deliver, ${EMAILS} emails per run, ${ROUNDS} rounds\n  ${lines.join('\n  ')}\n\n` +
        `reproduce: npm run bench:deliver -- --emails ${EMAILS} --connections ${CONNECTIONS} --rounds ${ROUNDS}` +
        `${PG_URL ? ' (TOCSIN_TEST_PG_URL set: PostgreSQL too)' : ''}\n`,
    );
  } finally {
    sink.child.kill('SIGTERM');
  }
}

if (opts.sink) runSink();
else await main();
