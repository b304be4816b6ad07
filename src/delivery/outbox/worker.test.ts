/**
 * The worker against real smtp-server instances on both databases: transient replies retried on
 * the backoff schedule (fake clock), permanent ones failed at once, a silent server and a dropped
 * connection retried, a dead worker's row taken over, composers at send time, and one tenant's
 * hanging server leaving another tenant's mail on time.
 */
import net from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { ALERTS_EMAIL_DISABLED, EndpointRefusedError } from '../../settings/endpoint.js';
import { FakeClock, systemClock } from '../../shared/clock.js';
import { describeEachDialect } from '../../../test/support/storage.js';
import { captureLog } from '../../../test/support/log-capture.js';
import type { MailSender, SmtpEndpoint } from '../contract.js';
import { createMailSender } from '../smtp/sender.js';
import {
  type BlackHole,
  type SilentServer,
  type TestSmtpServer,
  startBlackHole,
  startDribblingServer,
  startSilentServer,
  startTestSmtpServer,
  startVerbatimServer,
} from '../../../test/support/smtp-servers.js';
import { enqueueDeliveries } from './enqueue.js';
import { claimDue } from './leases.js';
import { heartbeatMs } from './leases-renewal.js';
import { showDelivery } from './log.js';
import { OutboxMetrics } from './metrics.js';
import { type TestOutboxDatabase, insertTestTenant, openTestOutboxDatabase, testDelivery } from '../../../test/support/outbox-fixtures.js';
import { AttemptRecorder } from './attempt-recorder.js';
import { until } from '../../../test/support/until.js';
import { DeliveryWorker, type DeliveryWorkerDeps } from './worker.js';
import { openStorage } from '../../storage/storage.js';

const T0 = Date.UTC(2026, 10, 27, 9);

function endpointFor(port: number, overrides: Partial<SmtpEndpoint> = {}): SmtpEndpoint {
  return { host: 'localhost', port, security: 'none', authMethod: 'none', fromAddress: 'alerts@example.com', timeoutMs: 2_000, ...overrides };
}

describeEachDialect('delivery worker against real SMTP servers', (dialect) => {
  let database: TestOutboxDatabase;
  let sender: MailSender;
  let tenantX: string;
  let tenantY: string;
  const servers: (TestSmtpServer | SilentServer | BlackHole)[] = [];
  const endpoints = new Map<string, SmtpEndpoint>();

  beforeAll(async () => {
    database = await openTestOutboxDatabase(dialect);
    tenantX = await insertTestTenant(database.storage.db, 'tenant-x');
    tenantY = await insertTestTenant(database.storage.db, 'tenant-y');
  });
  afterEach(async () => {
    await sender?.close();
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await database.storage.db.deleteFrom('deliveries').execute();
  });
  afterAll(() => database.close());

  async function smtp(...args: Parameters<typeof startTestSmtpServer>) {
    const server = await startTestSmtpServer(...args);
    servers.push(server);
    return server;
  }

  function worker(clock: FakeClock | typeof systemClock, overrides: Partial<DeliveryWorkerDeps> = {}) {
    sender = createMailSender({ maxConnections: 5 });
    return new DeliveryWorker({
      storage: database.storage,
      clock,
      sender,
      resolveEndpoint: async (tenantId) => {
        const endpoint = endpoints.get(tenantId);
        if (!endpoint) throw new EndpointRefusedError('alerts-email-disabled', ALERTS_EMAIL_DISABLED, false);
        return endpoint;
      },
      composers: {},
      random: () => 0.5,
      ...overrides,
    });
  }

  async function enqueueOne(tenantId: string, clock: { now(): number }, overrides = {}) {
    await enqueueDeliveries(database.storage.db, [testDelivery(tenantId, 'ops@example.com', overrides)], clock);
    return database.storage.db.selectFrom('deliveries').selectAll().orderBy('id', 'desc').executeTakeFirstOrThrow();
  }

  /** answeredForALease moves the fake clock over a whole lease, the database answering each of the worker's heartbeats. */
  async function answeredForALease(w: DeliveryWorker, clock: FakeClock) {
    const beat = heartbeatMs(w.settings.leaseMs);
    for (let t = 0; t < w.settings.leaseMs; t += beat) {
      await w.heartbeat();
      clock.advance(beat);
    }
    await w.heartbeat();
  }

  /** dbTelling is the test database's Kysely handle calling `told` at each `method` (updateTable, selectFrom) on `deliveries`. */
  function dbTelling(method: 'updateTable' | 'selectFrom', told: () => void) {
    return new Proxy(database.storage.db, {
      get(target, key) {
        const value = Reflect.get(target, key, target);
        if (typeof value !== 'function') return value;
        if (key !== method) return value.bind(target);
        return (table: string) => {
          if (table === 'deliveries') told();
          return value.call(target, table);
        };
      },
    });
  }

  /** countingUpdates is the test database's storage counting the updates of `deliveries` while `counting`. */
  function countingUpdates() {
    const counter = { counting: false, count: 0, storage: database.storage };
    const db = dbTelling('updateTable', () => {
      if (counter.counting) counter.count += 1;
    });
    counter.storage = { ...database.storage, db };
    return counter;
  }

  /** queuedForHanging gives the tenant a server that hangs (`start`), with the timeout given, and queues `count` emails for it. */
  async function queuedForHanging(tenant: string, start: () => Promise<SilentServer>, timeoutMs: number, count: number) {
    const hanging = await start();
    servers.push(hanging);
    endpoints.set(tenant, endpointFor(hanging.port, { timeoutMs }));
    await enqueueDeliveries(
      database.storage.db,
      Array.from({ length: count }, () => testDelivery(tenant, 'x@example.com')),
      systemClock,
    );
  }

  /**
   * performanceAhead makes performance.now() read `ms` later than it is until `restore`: the worker reads the
   * paused tenants' settings again 2 s apart at most by it, which a test moves on rather than waits for.
   */
  function performanceAhead() {
    const now = performance.now.bind(performance);
    const ahead = { ms: 0, restore: () => spy.mockRestore() };
    const spy = vi.spyOn(performance, 'now').mockImplementation(() => now() + ahead.ms);
    return ahead;
  }

  const row = (id: string) => database.storage.db.selectFrom('deliveries').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const attempts = (id: string) => database.storage.db.selectFrom('delivery_attempts').selectAll().where('delivery_id', '=', id).orderBy('attempt').execute();

  it('retries a 421 and a 451 on the backoff schedule, then delivers once with the stable Message-ID', async () => {
    const server = await smtp({
      failures: [
        { at: 'mail', code: 421, times: 1 },
        { at: 'data', code: 451, times: 1 },
      ],
    });
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const w = worker(clock);
    const d = await enqueueOne(tenantX, clock);

    expect(await w.runOnce()).toBe(1);
    expect(await row(d.id)).toMatchObject({ status: 'retrying', attempts: 1, last_code: 421, next_attempt_at: T0 + 30_000 });
    clock.advance(29_999);
    expect(await w.runOnce()).toBe(0);
    clock.advance(1);
    expect(await w.runOnce()).toBe(1);
    expect(await row(d.id)).toMatchObject({ status: 'retrying', attempts: 2, last_code: 451, next_attempt_at: clock.now() + 120_000 });
    clock.advance(119_000);
    expect(await w.runOnce()).toBe(0);
    clock.advance(1_000);
    expect(await w.runOnce()).toBe(1);

    const done = await row(d.id);
    expect(done).toMatchObject({ status: 'sent', attempts: 3, last_error: null, sent_at: clock.now() });
    expect(done.smtp_response).toMatch(/^250 /);
    // The row's Message-ID, under the From address's domain once sent, as the email carries it.
    expect(done.message_id).toBe(d.message_id.replace(/@tocsin>$/, '@example.com>'));
    expect(server.messages.map((m) => m.messageId)).toEqual([done.message_id]);
    expect((await attempts(d.id)).map((a) => [a.attempt, a.outcome, a.code])).toEqual([
      [1, 'retry', 421],
      [2, 'retry', 451],
      [3, 'sent', 250],
    ]);
  });

  it('retries a 421 greeting, a 452 at RCPT, a 451 after DATA and a drop after ".", then delivers once', async () => {
    const server = await smtp({
      failures: [
        { at: 'connect', code: 421, times: 1 },
        { at: 'rcpt', code: 452, times: 1 },
        { at: 'data', code: 451, times: 1 },
      ],
      // The drop comes first at DATA: the third attempt's message is read whole, then the line goes dead.
      dropAfterData: 1,
    });
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const w = worker(clock);
    const d = await enqueueOne(tenantX, clock);
    // Each transient failure waits its step of the ladder (jitter is nil with random() = 0.5).
    for (const [attempt, delayMs] of [30_000, 120_000, 600_000, 1_800_000].entries()) {
      expect(await w.runOnce()).toBe(1);
      expect(await row(d.id)).toMatchObject({ status: 'retrying', attempts: attempt + 1, sent_at: null, next_attempt_at: clock.now() + delayMs });
      clock.advance(delayMs);
    }
    expect(await w.runOnce()).toBe(1);
    expect(await row(d.id)).toMatchObject({ status: 'sent', attempts: 5 });
    expect((await attempts(d.id)).map((a) => [a.outcome, a.code])).toEqual([
      ['retry', 421],
      ['retry', 452],
      ['retry', null],
      ['retry', 451],
      ['sent', 250],
    ]);
    expect((await attempts(d.id))[2]!.response).toMatch(/data/i);
    expect(server.messages.map((m) => m.messageId)).toEqual([(await row(d.id)).message_id]);
  });

  it('sends each of a mixed list of recipients once: refused ones fail alone, a full mailbox is retried alone', async () => {
    const server = await smtp({
      failures: [
        { at: 'rcpt', code: 550, address: 'gone@example.com', message: 'No such user' },
        { at: 'rcpt', code: 553, address: 'bad@example.com', message: 'Mailbox name not allowed' },
        { at: 'rcpt', code: 452, address: 'full@example.com', times: 1, message: 'Mailbox full' },
      ],
    });
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const w = worker(clock);
    const addresses = ['a@example.com', 'gone@example.com', 'b@example.com', 'full@example.com', 'bad@example.com', 'c@example.com'];
    await enqueueDeliveries(
      database.storage.db,
      addresses.map((to) => testDelivery(tenantX, to, { idempotencyKey: `alert-1:${to}` })),
      clock,
    );
    const byAddress = async () =>
      Object.fromEntries(
        (await database.storage.db.selectFrom('deliveries').selectAll().execute()).map((r) => [r.recipient_address, [r.status, r.attempts, r.last_code]]),
      );
    expect(await w.runOnce()).toBe(6);
    expect(await byAddress()).toEqual({
      'a@example.com': ['sent', 1, null],
      'b@example.com': ['sent', 1, null],
      'c@example.com': ['sent', 1, null],
      'gone@example.com': ['failed', 1, 550],
      'bad@example.com': ['failed', 1, 553],
      'full@example.com': ['retrying', 1, 452],
    });
    clock.advance(30_000);
    // Only the full mailbox is due again: nobody who has the email gets it twice.
    expect(await w.runOnce()).toBe(1);
    expect((await byAddress())['full@example.com']).toEqual(['sent', 2, null]);
    expect(server.messages.flatMap((m) => m.envelope.to).sort()).toEqual(['a@example.com', 'b@example.com', 'c@example.com', 'full@example.com']);
    clock.advance(3_600_000);
    expect(await w.runOnce()).toBe(0);
  });

  /** logLines are the JSON log lines a captured logger wrote. */
  const logLines = (logged: ReturnType<typeof captureLog>) =>
    logged
      .text()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('fails a 550 at RCPT after one attempt, keeping the code, and logs it as a warning an operator at LOG_LEVEL=warn sees', async () => {
    const server = await smtp({ failures: [{ at: 'rcpt', code: 550, message: 'No such user' }] });
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const logged = captureLog('warn');
    const d = await enqueueOne(tenantX, clock);
    await worker(clock, { logger: logged.log }).runOnce();
    const lines = logLines(logged);
    expect(lines.find((line) => line.delivery === d.id)).toMatchObject({ level: 40, msg: 'delivery failed', tenant: tenantX, stage: 'recipient', code: 550 });
    expect(await row(d.id)).toMatchObject({ status: 'failed', attempts: 1, last_code: 550, sent_at: null });
    expect((await row(d.id)).last_error).toContain('recipient');
    expect(await attempts(d.id)).toMatchObject([{ outcome: 'failed', code: 550 }]);
  });

  it("logs a transient failure with the server's code and reply and when it is tried again, as it logs a final one", async () => {
    const server = await smtp({ failures: [{ at: 'rcpt', code: 451, message: 'Greylisted, come back later', times: 1 }] });
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const logged = captureLog('info');
    const d = await enqueueOne(tenantX, clock);
    await worker(clock, { logger: logged.log }).runOnce();
    expect(await row(d.id)).toMatchObject({ status: 'retrying', last_code: 451 });
    const lines = logLines(logged);
    expect(lines.find((line) => line.delivery === d.id)).toMatchObject({
      msg: 'delivery will be retried',
      tenant: tenantX,
      // The kind of failure as a field of its own, as tocsin_delivery_failures_total counts it: it was only the error's first word.
      stage: 'recipient',
      code: 451,
      error: expect.stringContaining('Greylisted, come back later'),
      nextAttemptAt: new Date(T0 + 30_000).toISOString(),
    });
  });

  it('records a server reply holding a NUL character with U+FFFD in its place, rather than failing to record the attempt', async () => {
    // PostgreSQL stores no NUL in text: the attempt's record was refused and the row stayed 'sending',
    // to be sent again at every lease (an email the server took, again and again); SQLite kept the NUL.
    const server = await startVerbatimServer('550 5.1.1 No such\u0000 user here');
    servers.push(server);
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const d = await enqueueOne(tenantX, clock);
    await worker(clock).runOnce();
    const failed = await row(d.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, last_code: 550, smtp_response: '550 5.1.1 No such\ufffd user here' });
    expect(failed.last_error).toContain('No such\ufffd user here');
    expect((await attempts(d.id)).map((a) => [a.outcome, a.code, a.response])).toEqual([['failed', 550, '550 5.1.1 No such\ufffd user here']]);
  });

  it('fails a 554 after DATA at once and never counts it as sent', async () => {
    const server = await smtp({ failures: [{ at: 'data', code: 554, message: 'Message rejected' }] });
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const d = await enqueueOne(tenantX, clock);
    await worker(clock).runOnce();
    expect(await row(d.id)).toMatchObject({ status: 'failed', attempts: 1, last_code: 554, sent_at: null });
    expect(server.messages).toHaveLength(0);
    // The delivery log names the message by the ID the server refused, as the server's own log does.
    expect((await row(d.id)).message_id).toBe(d.message_id.replace(/@tocsin>$/, '@example.com>'));
  });

  it('retries a server that never answers, after its timeout', async () => {
    const silent = await startSilentServer();
    servers.push(silent);
    endpoints.set(tenantX, endpointFor(silent.port, { timeoutMs: 300 }));
    const clock = new FakeClock(T0);
    const d = await enqueueOne(tenantX, clock);
    await worker(clock).runOnce();
    const after = await row(d.id);
    expect(after).toMatchObject({ status: 'retrying', attempts: 1 });
    expect(after.last_error).toMatch(/timed out/);
  });

  const hangingServers: [string, () => Promise<SilentServer | BlackHole>, RegExp][] = [
    ['stalls after DATA', () => smtp({ dataReplyDelayMs: 600_000 }), /timed out during data/],
    // One byte of the reply every 100 ms keeps the socket busy: only a deadline on the reply ends it.
    ['dribbles its reply to "." a byte at a time', () => startDribblingServer(100), /timed out during data/],
    ['never completes the TCP handshake (a black hole)', () => startBlackHole(), /timed out during connect/],
  ];
  for (const [what, start, error] of hangingServers) {
    it(`gives up on a server that ${what} at its timeout, retryable, leaving no socket open`, async () => {
      const hanging = await start();
      servers.push(hanging);
      // The one timeout also bounds the greeting, which a busy CI machine delayed past 500 ms (the
      // stall after DATA then failed as a greeting timed out at connect): long enough for a greeting.
      endpoints.set(tenantX, endpointFor(hanging.port, { timeoutMs: 2_000 }));
      const clock = new FakeClock(T0);
      const d = await enqueueOne(tenantX, clock);
      const w = worker(clock);
      await w.runOnce();
      const after = await row(d.id);
      expect(after).toMatchObject({ status: 'retrying', attempts: 1, sent_at: null });
      expect(after.last_error).toMatch(error);
      await sender.close();
      if ('allClosed' in hanging) await hanging.allClosed();
    });
  }

  it('retries when the connection drops after DATA, then delivers', async () => {
    const server = await smtp({ dropAfterData: 1 });
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const d = await enqueueOne(tenantX, clock);
    const w = worker(clock);
    await w.runOnce();
    expect(await row(d.id)).toMatchObject({ status: 'retrying', attempts: 1 });
    clock.advance(30_000);
    await w.runOnce();
    expect(await row(d.id)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(server.messages).toHaveLength(1);
  });

  it('keeps the Message-ID the server may have received when the From address changes before the resend', async () => {
    // The first server keeps the message but answers "." after the client's timeout: it may be
    // delivered. The admin then moves to another server and From domain; the resend is the same email.
    // A timeout that also leaves room for the greeting of a busy machine (see the hanging servers above).
    const slow = await smtp({ dataReplyDelayMs: 4_000 });
    const fast = await smtp();
    endpoints.set(tenantX, endpointFor(slow.port, { timeoutMs: 2_000, fromAddress: 'alerts@old.example' }));
    const clock = new FakeClock(T0);
    const d = await enqueueOne(tenantX, clock);
    const w = worker(clock);
    await w.runOnce();
    expect(await row(d.id)).toMatchObject({ status: 'retrying', attempts: 1 });
    const [kept] = await slow.waitForMessages(1);
    endpoints.set(tenantX, endpointFor(fast.port, { fromAddress: 'alerts@new.example' }));
    clock.advance(30_000);
    await w.runOnce();
    expect(await row(d.id)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(kept!.messageId).toBe(d.message_id.replace(/@tocsin>$/, '@old.example>'));
    expect(fast.messages.map((m) => m.messageId)).toEqual([kept!.messageId]);
    expect((await row(d.id)).message_id).toBe(kept!.messageId);
  });
  it('fails a transient error once the deadline has passed', async () => {
    const server = await smtp({ failures: [{ at: 'mail', code: 451 }] });
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const w = worker(clock, { settings: { deliveryDeadlineMs: 60_000 } });
    const d = await enqueueOne(tenantX, clock);
    await w.runOnce();
    clock.advance(30_000);
    await w.runOnce();
    expect(await row(d.id)).toMatchObject({ status: 'retrying', attempts: 2, next_attempt_at: T0 + 60_000 });
    clock.advance(30_000);
    await w.runOnce();
    const failed = await row(d.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 3, last_code: 451 });
    // The log says that the deadline ended it: the bare "451" read as the server refusing it for good.
    expect(failed.last_error).toMatch(/^gave up after 1 min of retries: .*451/);
    expect(showDelivery(failed)).toMatchObject({ status: 'failed', deadlineReached: true, lastCode: 451 });
  });

  it('says of a permanent refusal that it is no deadline', async () => {
    const server = await smtp({ failures: [{ at: 'rcpt', code: 550, message: '5.1.1 no such user' }] });
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const d = await enqueueOne(tenantX, clock);
    await worker(clock).runOnce();
    const failed = await row(d.id);
    expect(failed.last_error).not.toContain('gave up');
    expect(showDelivery(failed)).toMatchObject({ status: 'failed', deadlineReached: false, lastCode: 550 });
  });

  it('fails at once when the tenant has switched alerts email off', async () => {
    endpoints.delete(tenantX);
    const clock = new FakeClock(T0);
    const d = await enqueueOne(tenantX, clock);
    await worker(clock).runOnce();
    const after = await row(d.id);
    expect(after).toMatchObject({ status: 'failed', attempts: 1 });
    expect(after.last_error).toContain('switched off');
  });

  it('never writes the password into the delivery log when the server refuses it', async () => {
    const password = 'wr0ng-Pa55word-S3cret';
    const server = await smtp({ auth: { username: 'ana', password: 'the-right-one' } });
    endpoints.set(tenantX, endpointFor(server.port, { username: 'ana', password, authMethod: 'plain', allowPlaintextAuth: true }));
    const clock = new FakeClock(T0);
    const d = await enqueueOne(tenantX, clock);
    await worker(clock).runOnce();
    const after = await row(d.id);
    expect(after).toMatchObject({ status: 'failed', last_code: 535 });
    const logged = JSON.stringify([after, await attempts(d.id)]);
    for (const form of [password, Buffer.from(password).toString('base64'), Buffer.from(`\0ana\0${password}`).toString('base64')]) {
      expect(logged).not.toContain(form);
    }
  });

  it('finishes the sends in flight when stopped, and hands back the rows it had not started', async () => {
    const server = await smtp({ dataReplyDelayMs: 300 });
    endpoints.set(tenantX, endpointFor(server.port));
    await enqueueDeliveries(
      database.storage.db,
      Array.from({ length: 6 }, () => testDelivery(tenantX, 'x@example.com')),
      systemClock,
    );
    const w = worker(systemClock, { settings: { limits: { global: 8, perTenant: 2 }, batchSize: 6 } });
    w.start();
    // Stopped only once two sends are at the server (each held 300 ms at DATA), however long the worker
    // takes to start on a loaded machine: stopping before would leave it nothing to finish (a send
    // still waiting for its connection is handed back, as the next test shows).
    await vi.waitFor(() => expect(server.mailFromSeen.length).toBeGreaterThanOrEqual(2), { timeout: 20_000, interval: 5 });
    await w.stop();
    const rows = await database.storage.db.selectFrom('deliveries').select(['status', 'attempts', 'lease_token']).execute();
    const sent = rows.filter((r) => r.status === 'sent');
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(server.messages).toHaveLength(sent.length);
    // Nothing is left leased to a stopped worker: the rest is queued again, its attempt not counted.
    for (const r of rows.filter((r) => r.status !== 'sent')) expect(r).toMatchObject({ status: 'pending', attempts: 0, lease_token: null });
  });

  /** twentySendsToAHoldingServer queues 20 emails of tenant X to a server that holds its replies until released (a stop's tests). */
  async function twentySendsToAHoldingServer() {
    const server = await smtp();
    server.holdReplies();
    endpoints.set(tenantX, endpointFor(server.port, { timeoutMs: 10_000 }));
    await enqueueDeliveries(
      database.storage.db,
      Array.from({ length: 20 }, () => testDelivery(tenantX, 'x@example.com')),
      systemClock,
    );
    return server;
  }

  it('when stopped, finishes only the sends a connection has taken, and hands back at once those still waiting for one', async () => {
    // A SIGTERM while a slow server held 10 connections and 90 sends waited for them went on sending
    // those 90 until the 15 s grace ran out, exited 1 with the rest leased, and sent again after the
    // restart the ones whose 250 it had not yet recorded.
    // The server holds its replies until the stop is under way: a delay of its own (1.5 s, once)
    // ended on a loaded machine before the test's stop, and the next five sends took the connections.
    const server = await twentySendsToAHoldingServer();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      // Five connections (the helper's sender) for twenty sends in flight.
      const w = worker(systemClock, { settings: { limits: { global: 20, perTenant: 20 }, batchSize: 20 } });
      w.start();
      // Five messages at the server, each waiting for its 250; the other fifteen wait for a connection.
      await server.waitForHeld(5);
      const stopping = w.stop();
      server.releaseReplies();
      await stopping;
      const rows = await database.storage.db.selectFrom('deliveries').select(['status', 'attempts', 'lease_token']).execute();
      expect(rows.filter((r) => r.status === 'sent')).toHaveLength(5);
      expect(server.messages).toHaveLength(5);
      for (const r of rows.filter((r) => r.status !== 'sent')) expect(r).toMatchObject({ status: 'pending', attempts: 0, lease_token: null });
      // Fifteen sends waiting on one stop signal are no listener leak (Node warns past 10).
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('when stopped, neither logs nor counts the render of an email it called off failing afterwards', async () => {
    // A Fatal alert's first email renders while it waits for a connection. Called off by a stop, its
    // render went on and failed once the process had closed its database: the worker logged "delivery
    // will be retried" with "render: The database connection is not open" for an email it had handed back.
    const server = await twentySendsToAHoldingServer();
    let renderStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      renderStarted = resolve;
    });
    let failRender!: (err: Error) => void;
    const rendering = new Promise<never>((_resolve, reject) => {
      failRender = reject;
    });
    const composers = {
      immediate: () => {
        renderStarted();
        return rendering;
      },
    };
    const logged = captureLog('info');
    const w = worker(systemClock, { logger: logged.log, composers, settings: { limits: { global: 21, perTenant: 21 }, batchSize: 21 } });
    w.start();
    // Five messages at the server, each waiting for its 250, hold the five connections; then the Fatal alert's
    // email comes, and renders while it waits for one.
    await server.waitForHeld(5);
    const fatal = testDelivery(tenantX, 'fatal@example.com', { kind: 'immediate', rendered: undefined, data: {} });
    await enqueueDeliveries(database.storage.db, [fatal], systemClock);
    w.wake();
    await started;
    const stopping = w.stop();
    server.releaseReplies();
    await stopping;
    failRender(new Error('The database connection is not open'));
    // The render's failure is heard within the same turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    const row = await database.storage.db
      .selectFrom('deliveries')
      .select(['status', 'attempts', 'lease_token'])
      .where('recipient_address', '=', 'fatal@example.com')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'pending', attempts: 0, lease_token: null });
    expect(logLines(logged).filter((line) => String(line.error ?? '').startsWith('render:'))).toEqual([]);
  });

  it('when stopped, hands back the sends still waiting for a connection in one write, not one each', async () => {
    // On one SQLite file beside an api --processes 2 under load, a stop that called off 200 sends wrote
    // 200 updates, each waiting its turn for the write lock: 15 s, and the stop exited 1 past its grace.
    const server = await twentySendsToAHoldingServer();
    const updates = countingUpdates();
    const w = worker(systemClock, { storage: updates.storage, settings: { limits: { global: 20, perTenant: 20 }, batchSize: 20 } });
    w.start();
    // Five messages at the server (the helper's five connections); the other fifteen wait for one.
    await server.waitForHeld(5);
    updates.counting = true;
    const stopping = w.stop();
    server.releaseReplies();
    await stopping;
    const rows = await database.storage.db.selectFrom('deliveries').select(['status', 'attempts', 'lease_token']).execute();
    expect(rows.filter((r) => r.status === 'pending')).toHaveLength(15);
    for (const r of rows.filter((r) => r.status !== 'sent')) expect(r).toMatchObject({ status: 'pending', attempts: 0, lease_token: null });
    // The stop's own hand-back of the rows not yet started, and one for the fifteen called off.
    expect(updates.count).toBeLessThanOrEqual(2);
  });

  it('retries an email this process had no file descriptor to connect for (EMFILE) without pausing the server, saying the cause is its own', async () => {
    // Out of descriptors, a connect fails before any packet leaves: five such emails in a row paused a
    // server that was fine for 30 s and more (its breaker), as if it had refused them. Injected at the
    // socket: net.connect's socket fails as Node's does then (the shape smtp/session.test.ts sees under a real ulimit -n).
    const server = await smtp();
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const logged = captureLog('info');
    const connect = net.connect;
    let refusals = 3;
    const spy = vi.spyOn(net, 'connect').mockImplementation(((...args: Parameters<typeof net.connect>) => {
      if (refusals <= 0 || (args[0] as unknown as net.TcpNetConnectOpts).port !== server.port) return connect(...args);
      refusals -= 1;
      const socket = new net.Socket();
      const failure = Object.assign(new Error(`connect EMFILE 127.0.0.1:${server.port} - Local (undefined:undefined)`), {
        errno: -24,
        code: 'EMFILE',
        syscall: 'connect',
      });
      process.nextTick(() => socket.destroy(failure));
      return socket;
    }) as typeof net.connect);
    try {
      await enqueueDeliveries(
        database.storage.db,
        Array.from({ length: 3 }, () => testDelivery(tenantX, 'x@example.com')),
        clock,
      );
      const w = worker(clock, {
        logger: logged.log,
        settings: { limits: { global: 1, perTenant: 1 }, batchSize: 1, breaker: { failureThreshold: 2, initialCooldownMs: 600_000, maxCooldownMs: 600_000 } },
      });
      for (let turn = 0; turn < 3; turn += 1) expect(await w.runOnce()).toBe(1);
      const failed = await database.storage.db.selectFrom('deliveries').selectAll().execute();
      expect(failed.map((r) => [r.status, r.attempts])).toEqual(Array(3).fill(['retrying', 1]));
      for (const r of failed) expect(r.last_error).toMatch(/^connect: this process has no file descriptor left .*\(EMFILE\).*not the server/);
      // Due again after the first retry's wait, and the server not paused: each is sent.
      clock.advance(60_000);
      for (let turn = 0; turn < 3; turn += 1) expect(await w.runOnce()).toBe(1);
      expect((await database.storage.db.selectFrom('deliveries').select('status').execute()).map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
      const lines = logLines(logged);
      expect(lines.filter((line) => line.level === 40).map((line) => line.msg)).toEqual([
        'emails cannot be sent for a cause of this process, not of their SMTP server; they are retried',
      ]);
      expect(lines.map((line) => line.msg)).toContain('emails can be sent again');
    } finally {
      spy.mockRestore();
    }
  });

  it('pauses an endpoint after a run of transient failures, without counting attempts, then probes it', async () => {
    const server = await smtp({ failures: [{ at: 'connect', code: 421 }] });
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    await enqueueDeliveries(
      database.storage.db,
      Array.from({ length: 4 }, () => testDelivery(tenantX, 'x@example.com')),
      clock,
    );
    const w = worker(clock, {
      settings: { limits: { global: 1, perTenant: 1 }, batchSize: 1, breaker: { failureThreshold: 2, initialCooldownMs: 10_000, maxCooldownMs: 60_000 } },
    });
    expect(await w.runOnce()).toBe(1);
    expect(await w.runOnce()).toBe(1);
    // Open: the tenant's rows are not even claimed, so no attempt is spent on a dead server.
    expect(await w.runOnce()).toBe(0);
    const attemptsOf = async () =>
      (await database.storage.db.selectFrom('deliveries').select('attempts').execute())
        .map((r) => r.attempts)
        .sort()
        .reverse();
    expect(await attemptsOf()).toEqual([1, 1, 0, 0]);
    clock.advance(10_000);
    expect(await w.runOnce()).toBe(1);
    expect(await attemptsOf()).toEqual([1, 1, 1, 0]);
    expect(await w.runOnce()).toBe(0);
  });

  it('when stopped, hands back a send its server paused until the pause ends, not due at once', async () => {
    // A report whose render ended during a stop found its server paused (the sends beside it failed meanwhile):
    // handed back due at once with the stop's rows (ab1d3818), the next worker tried the paused server again at once.
    const server = await smtp({ failures: [{ at: 'connect', code: 421 }] });
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    let renderStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      renderStarted = resolve;
    });
    let finishRender!: () => void;
    const rendered = new Promise<void>((resolve) => {
      finishRender = resolve;
    });
    const composers = {
      summary: async () => {
        renderStarted();
        await rendered;
        return { subject: 'Summary', text: 'A summary.', html: '<p>A summary.</p>', headers: {} };
      },
    };
    const report = testDelivery(tenantX, 'report@example.com', { kind: 'summary', rendered: undefined, data: {} });
    await enqueueDeliveries(database.storage.db, [report, testDelivery(tenantX, 'x@example.com'), testDelivery(tenantX, 'y@example.com')], clock);
    const w = worker(clock, {
      composers,
      settings: { limits: { global: 3, perTenant: 3 }, batchSize: 3, breaker: { failureThreshold: 2, initialCooldownMs: 10_000, maxCooldownMs: 60_000 } },
    });
    const ran = w.runOnce();
    await started;
    // The two other sends fail (421), which pauses the server for 10 s; then the worker stops, the report still rendering.
    await until(async () => (await database.storage.db.selectFrom('delivery_attempts').select('outcome').execute()).length === 2, 'the two failures');
    const stopping = w.stop();
    finishRender();
    await Promise.all([ran, stopping]);
    const row = await database.storage.db
      .selectFrom('deliveries')
      .select(['status', 'attempts', 'lease_token', 'next_attempt_at'])
      .where('recipient_address', '=', 'report@example.com')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'pending', attempts: 0, lease_token: null });
    expect(Number(row.next_attempt_at)).toBe(T0 + 10_000);
    expect(server.messages).toEqual([]);
  });

  it('tries none of the sends still waiting for a connection once their server is paused: they wait for its probe', async () => {
    // A server that takes the message and never answers its ".": five connections hang for the
    // timeout, and their failures pause it. The ten sends queued behind them went on, five by five,
    // each holding its slot for a timeout more: a tenant's 100 held their slots for ten timeouts.
    await queuedForHanging(tenantX, () => startDribblingServer(1_000), 500, 15);
    const updates = countingUpdates();
    const w = worker(systemClock, { storage: updates.storage, settings: { limits: { global: 15, perTenant: 15 }, batchSize: 15 } });
    const before = Date.now();
    updates.counting = true;
    expect(await w.runOnce()).toBe(15);
    // Five failed, which paused it (a few more when a loaded machine opened the five connections apart).
    const tried = await database.storage.db.selectFrom('delivery_attempts').select('outcome').execute();
    expect(new Set(tried.map((a) => a.outcome))).toEqual(new Set(['retry']));
    expect(tried.length).toBeLessThan(10);
    // The others are back in the queue untried, due when the pause ends (30 s).
    const untried = await database.storage.db.selectFrom('deliveries').select(['attempts', 'next_attempt_at']).where('attempts', '=', 0).execute();
    expect(untried).toHaveLength(15 - tried.length);
    for (const row of untried) expect(Number(row.next_attempt_at)).toBeGreaterThanOrEqual(before + 30_000);
    // Handed back together, in one write: one each (10 here) took SQLite's write lock from the api's commits that many times.
    expect(updates.count).toBeLessThanOrEqual(2);
  });

  it("claims another tenant's mail while a paused tenant's settings are still being read again (its server's name slow to resolve)", async () => {
    // With TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS=false, reading a tenant's endpoint looks its server's name
    // up, for up to its timeout (10 minutes at most) when DNS does not answer. The claim loop read the
    // paused tenants' settings again every 2 s and waited for each before it claimed anything.
    const refusing = await smtp({ failures: [{ at: 'connect', code: 421 }] });
    const healthy = await smtp();
    endpoints.set(tenantY, endpointFor(healthy.port));
    let lookups = 0;
    let lookedUp!: () => void;
    const lookingUp = new Promise<void>((resolve) => {
      lookedUp = resolve;
    });
    const w = worker(systemClock, {
      settings: { pollIntervalMs: 20, breaker: { failureThreshold: 1, initialCooldownMs: 60_000, maxCooldownMs: 60_000 } },
      resolveEndpoint: async (tenantId, _route, _token, stop) => {
        if (tenantId !== tenantX) return endpoints.get(tenantId)!;
        // X's first read pauses its server; the next ones (the loop's reads again) get no answer until the stop.
        if (lookups++ === 0) return endpointFor(refusing.port);
        lookedUp();
        return new Promise((_resolve, reject) => stop!.addEventListener('abort', () => reject(stop!.reason), { once: true }));
      },
    });
    await enqueueOne(tenantX, systemClock);
    w.start();
    try {
      await lookingUp;
      const queuedAt = Date.now();
      await enqueueOne(tenantY, systemClock);
      w.wake();
      await healthy.waitForMessages(1, 10_000);
      // Within polls, not after X's lookup (which ends only with the worker).
      expect(Date.now() - queuedAt).toBeLessThan(2_000);
    } finally {
      await w.stop();
    }
  });

  it("claims a paused tenant's mail as soon as its settings, read again, name another server, not at the next poll", async () => {
    // The reads again run beside the claims (52bf8d4b): the claim that starts one has left the tenant out
    // already, so only the wake at the read's end claims its emails before the next poll (2 s on PostgreSQL).
    const refusing = await smtp({ failures: [{ at: 'connect', code: 421 }] });
    const fixed = await smtp();
    let reads = 0;
    let readAgain!: (endpoint: SmtpEndpoint) => void;
    let askedAgain!: () => void;
    const asked = new Promise<void>((resolve) => {
      askedAgain = resolve;
    });
    // The loop reads a paused tenant's settings again every 2 s at most, by performance.now(): moved on by hand.
    const ahead = performanceAhead();
    const w = worker(systemClock, {
      // No poll within the test: only a wake claims.
      settings: { pollIntervalMs: 600_000, breaker: { failureThreshold: 1, initialCooldownMs: 600_000, maxCooldownMs: 600_000 } },
      // X's first read names the refusing server, the read again (its second) ends when the test says, with the fixed one.
      resolveEndpoint: async () => {
        reads += 1;
        if (reads === 1) return endpointFor(refusing.port);
        if (reads > 2) return endpointFor(fixed.port);
        askedAgain();
        return new Promise((resolve) => {
          readAgain = resolve;
        });
      },
    });
    const queued = await enqueueOne(tenantX, systemClock);
    w.start();
    try {
      await until(async () => (await row(queued.id)).status === 'retrying' && w.pausedTenants(Date.now()).includes(tenantX), 'the server paused');
      // The fixed settings saved, which brings the email forward.
      await database.storage.db.updateTable('deliveries').set({ next_attempt_at: Date.now() }).where('id', '=', queued.id).execute();
      ahead.ms += 5_000;
      w.wake();
      await asked;
      readAgain(endpointFor(fixed.port));
      const [message] = await fixed.waitForMessages(1, 10_000);
      expect(message!.envelope.to).toEqual(['ops@example.com']);
    } finally {
      await w.stop();
      ahead.restore();
    }
  });

  it("reads a paused tenant's settings again one read at a time, however many claims come while one hangs", async () => {
    // A read can take the tenant's whole timeout (its server's name looked up, DNS not answering): one more read
    // at each claim 2 s apart would pile up lookups, 300 a paused tenant over a 10-minute timeout.
    const refusing = await smtp({ failures: [{ at: 'connect', code: 421 }] });
    let reads = 0;
    const ahead = performanceAhead();
    const w = worker(systemClock, {
      settings: { breaker: { failureThreshold: 1, initialCooldownMs: 600_000, maxCooldownMs: 600_000 } },
      // The first read names the refusing server; the reads again never end.
      resolveEndpoint: async () => (++reads === 1 ? endpointFor(refusing.port) : new Promise<SmtpEndpoint>(() => {})),
    });
    try {
      await enqueueOne(tenantX, systemClock);
      expect(await w.runOnce()).toBe(1);
      expect(w.pausedTenants(Date.now())).toEqual([tenantX]);
      // Each claim 2 s after the last reads the paused tenants' settings again: the first starts a read, the second finds it under way.
      for (const expected of [2, 2]) {
        ahead.ms += 5_000;
        await w.runOnce();
        expect(reads).toBe(expected);
      }
    } finally {
      ahead.restore();
    }
  });

  it("reads a paused tenant's settings again after a read that found the same server, so settings fixed later still send at once", async () => {
    // The tenant stayed marked as being read once its first read again ended: the settings fixed after it were
    // never read again, and the emails brought forward by the save waited for the old server's cool-down (10 minutes).
    const refusing = await smtp({ failures: [{ at: 'connect', code: 421 }] });
    const fixed = await smtp();
    let reads = 0;
    let settings = endpointFor(refusing.port);
    const ahead = performanceAhead();
    const w = worker(systemClock, {
      settings: { breaker: { failureThreshold: 1, initialCooldownMs: 600_000, maxCooldownMs: 600_000 } },
      resolveEndpoint: async () => {
        reads += 1;
        return settings;
      },
    });
    try {
      const queued = await enqueueOne(tenantX, systemClock);
      expect(await w.runOnce()).toBe(1);
      // Read again 2 s later: the same server, still paused.
      ahead.ms += 5_000;
      await w.runOnce();
      expect(reads).toBe(2);
      // The settings fixed and saved, which brings the email forward; read again 2 s after the last read.
      settings = endpointFor(fixed.port);
      await database.storage.db.updateTable('deliveries').set({ next_attempt_at: Date.now() }).where('id', '=', queued.id).execute();
      ahead.ms += 5_000;
      await w.runOnce();
      expect(reads).toBe(3);
      expect(await w.runOnce()).toBe(1);
      expect((await fixed.waitForMessages(1))[0]!.envelope.to).toEqual(['ops@example.com']);
    } finally {
      ahead.restore();
    }
  });

  /**
   * Two emails of tenant X, due at T0, to a server that refuses every connection with 421, for a worker whose
   * breaker pauses the server at its first failure (10 s) and whose emails have a minute to go out.
   */
  const twoEmailsToAPausingServer = async () => {
    const server = await smtp({ failures: [{ at: 'connect', code: 421 }] });
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    await enqueueDeliveries(
      database.storage.db,
      Array.from({ length: 2 }, () => testDelivery(tenantX, 'x@example.com')),
      clock,
    );
    const w = worker(clock, {
      settings: {
        limits: { global: 2, perTenant: 1 },
        batchSize: 2,
        deliveryDeadlineMs: 60_000,
        breaker: { failureThreshold: 1, initialCooldownMs: 10_000, maxCooldownMs: 60_000 },
      },
    });
    return { clock, w };
  };

  it('defers rows of a paused endpoint without an attempt, and fails them once the deadline has passed', async () => {
    const { clock, w } = await twoEmailsToAPausingServer();
    await w.runOnce();
    const rows = () => database.storage.db.selectFrom('deliveries').selectAll().orderBy('id').execute();
    // Which of the two goes first is the database's choice (same due time).
    expect((await rows()).map((r) => [r.status, r.attempts, r.next_attempt_at]).sort()).toEqual([
      ['pending', 0, T0 + 10_000],
      ['retrying', 1, T0 + 30_000],
    ]);
    clock.advance(70_000);
    await w.runOnce();
    const after = await rows();
    expect(after.map((r) => r.status)).toEqual(['failed', 'failed']);
    expect(after.some((r) => r.last_error?.includes('paused'))).toBe(true);
  });

  it('hands back a row deferred to the end of a pause that an earlier hand-back was deferred to as well', async () => {
    // The hand-backs are gathered by due time into one write each; a gathering already written took in
    // the later rows of that due time, which then stayed leased, never handed back, until their lease ran out.
    const { w } = await twoEmailsToAPausingServer();
    await w.runOnce();
    // Tenant Y sends through the same server, paused until T0 + 10 s: its email, claimed, is deferred to that time too.
    endpoints.set(tenantY, endpoints.get(tenantX)!);
    const queued = await enqueueOne(tenantY, new FakeClock(T0));
    await w.runOnce();
    expect(await row(queued.id)).toMatchObject({ status: 'pending', attempts: 0, lease_token: null, next_attempt_at: T0 + 10_000 });
  });

  it('fails an email whose server pauses at the very instant of its deadline, as a failed try at that instant does', async () => {
    // The deadline is honoured exactly (decideAfterFailure fails a try at it): an email held back by
    // the pause its neighbour's failure just began is not kept past it for the cool-down.
    const { clock, w } = await twoEmailsToAPausingServer();
    clock.advance(60_000);
    await w.runOnce();
    const rows = await database.storage.db.selectFrom('deliveries').selectAll().execute();
    expect(rows.map((r) => r.status)).toEqual(['failed', 'failed']);
    expect(rows.filter((r) => r.last_error?.includes('paused until the deadline passed'))).toHaveLength(1);
  });

  for (const back of [true, false]) {
    it(`gives the emails whose deadline passed while their server was paused one last try when its probe ${back ? 'succeeds' : 'fails: none'}`, async () => {
      // One 421 pauses the server; its three emails' deadline (1 min) passes during the pause. The
      // claim after the cool-down takes them together: one is the probe, the others wait for it.
      const server = await smtp({ failures: [{ at: 'connect', code: 421, times: back ? 1 : undefined }] });
      endpoints.set(tenantX, endpointFor(server.port));
      const clock = new FakeClock(T0);
      // What each attempt tells mail health of the tenant's server (alert emails: a test email tells none).
      const told: string[] = [];
      const recorder = new AttemptRecorder(database.storage, 0, async (_tx, recorded) => {
        for (const a of recorded) if (a.result.health && a.result.health.kind !== 'delivered') told.push(a.result.health.error);
        return undefined;
      });
      const w = worker(clock, {
        recorder,
        settings: { deliveryDeadlineMs: 60_000, breaker: { failureThreshold: 1, initialCooldownMs: 10_000, maxCooldownMs: 60_000 } },
      });
      const first = await enqueueOne(tenantX, clock, { kind: 'immediate' });
      expect(await w.runOnce()).toBe(1);
      expect(await row(first.id)).toMatchObject({ status: 'retrying', attempts: 1 });
      await enqueueDeliveries(
        database.storage.db,
        Array.from({ length: 2 }, () => testDelivery(tenantX, 'x@example.com', { kind: 'immediate' })),
        clock,
      );
      // Paused: nothing of the tenant's is claimed.
      expect(await w.runOnce()).toBe(0);
      clock.advance(70_000);
      expect(await w.runOnce()).toBe(3);
      const rows = await database.storage.db.selectFrom('deliveries').selectAll().execute();
      if (back) {
        expect(rows.map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
        expect(server.messages).toHaveLength(3);
      } else {
        expect(rows.map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);
        // Only the probe went to the server; the others failed with its verdict, at their deadline.
        expect(server.connections()).toBe(2);
        expect(rows.filter((r) => r.last_error?.includes('paused until the deadline passed'))).toHaveLength(2);
        expect(rows.map((r) => showDelivery(r).deadlineReached)).toEqual([true, true, true]);
        // Mail health hears the server's own refusal for each of them, not the pause ("keeps failing"), which is Tocsin's.
        expect(told).toEqual(Array(4).fill('421 scripted 421 at connect'));
      }
    });
  }

  it("sends the mail health notices through the system default while the tenant's own server is paused, and keeps that server paused", async () => {
    // The notices say the tenant's server is failing: they are needed exactly while its breaker is
    // open, and go through another server. Kept out with the tenant's rows, they waited for the
    // next probe of the dead server, up to 10 minutes.
    const own = await smtp({ failures: [{ at: 'connect', code: 421 }] });
    const system = await smtp();
    endpoints.set(tenantX, endpointFor(own.port));
    const clock = new FakeClock(T0);
    const w = worker(clock, {
      resolveEndpoint: async (tenantId, route) => (route === 'system' ? endpointFor(system.port) : endpoints.get(tenantId)!),
      settings: { breaker: { failureThreshold: 1, initialCooldownMs: 60_000, maxCooldownMs: 600_000 } },
    });
    await enqueueOne(tenantX, clock, { kind: 'immediate' });
    expect(await w.runOnce()).toBe(1);
    const notice = await enqueueOne(tenantX, clock, { kind: 'mail-health' });
    expect(await w.runOnce()).toBe(1);
    expect(await row(notice.id)).toMatchObject({ status: 'sent', attempts: 1 });
    expect(system.messages).toHaveLength(1);
    // Its send through the system default did not stand for the tenant's server: that one stays paused.
    await enqueueOne(tenantX, clock, { kind: 'immediate' });
    expect(await w.runOnce()).toBe(0);
  });

  it("keeps a tenant's mail going on a provider's server where another tenant's account is throttled", async () => {
    // One server, as smtp.office365.com is for every tenant of the preset, and two accounts: X's is throttled.
    const server = await smtp({
      auth: { username: 'x@tenant-x.example.com', password: 'x-secret', others: { 'y@tenant-y.example.com': 'y-secret' } },
      failures: [{ at: 'mail', code: 432, message: '4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded', user: 'x@tenant-x.example.com' }],
    });
    const signedIn = (user: string, password: string) => endpointFor(server.port, { authMethod: 'plain', username: user, password, allowPlaintextAuth: true });
    endpoints.set(tenantX, signedIn('x@tenant-x.example.com', 'x-secret'));
    endpoints.set(tenantY, signedIn('y@tenant-y.example.com', 'y-secret'));
    const clock = new FakeClock(T0);
    const w = worker(clock, { settings: { breaker: { failureThreshold: 2, initialCooldownMs: 60_000, maxCooldownMs: 600_000 } } });
    await enqueueDeliveries(
      database.storage.db,
      Array.from({ length: 3 }, () => testDelivery(tenantX, 'x@example.com')),
      clock,
    );
    await w.runOnce();
    // X's account is paused: its rows are not even claimed.
    expect(await w.runOnce()).toBe(0);
    const y = await enqueueOne(tenantY, clock);
    expect(await w.runOnce()).toBe(1);
    expect(await row(y.id)).toMatchObject({ status: 'sent', attempts: 1 });
    expect(server.messages.map((m) => m.user)).toEqual(['y@tenant-y.example.com']);
  });

  it("pauses no server for mailboxes that refuse for now: one tenant's greylisted or full mailboxes leave the shared server to the others", async () => {
    // The system default serves both tenants; X's readers' mailboxes answer RCPT with 451 / 452
    // (greylisting, a full mailbox). The server took the connection and MAIL FROM: it is up.
    const server = await smtp({
      failures: ['a', 'b', 'c'].map((box) => ({
        at: 'rcpt' as const,
        code: box === 'c' ? 452 : 451,
        message: '4.7.1 greylisted, try again later',
        address: `${box}@tenant-x.example.com`,
      })),
    });
    endpoints.set(tenantX, endpointFor(server.port));
    endpoints.set(tenantY, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const w = worker(clock, { settings: { breaker: { failureThreshold: 2, initialCooldownMs: 60_000, maxCooldownMs: 600_000 } } });
    await enqueueDeliveries(
      database.storage.db,
      ['a', 'b', 'c'].map((box) => testDelivery(tenantX, `${box}@tenant-x.example.com`)),
      clock,
    );
    expect(await w.runOnce()).toBe(3);
    const y = await enqueueOne(tenantY, clock);
    expect(await w.runOnce()).toBe(1);
    expect(await row(y.id)).toMatchObject({ status: 'sent', attempts: 1 });
    // A 421 at RCPT is the server closing the session, not a mailbox: that one still counts against it.
    const closing = await smtp({ failures: [{ at: 'rcpt', code: 421, message: '4.7.0 too many errors, closing' }] });
    endpoints.set(tenantX, endpointFor(closing.port));
    endpoints.set(tenantY, endpointFor(closing.port));
    await enqueueDeliveries(
      database.storage.db,
      ['d', 'e'].map((box) => testDelivery(tenantX, `${box}@tenant-x.example.com`)),
      clock,
    );
    expect(await w.runOnce()).toBe(2);
    const paused = await enqueueOne(tenantY, clock);
    await w.runOnce();
    expect(await row(paused.id)).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('counts attempts by outcome and observes SMTP latency', async () => {
    const server = await smtp({ failures: [{ at: 'mail', code: 451, times: 1 }] });
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const registry = new Registry();
    const w = worker(clock, { metrics: new OutboxMetrics(registry, database.storage, clock) });
    await enqueueOne(tenantX, clock);
    await w.runOnce();
    clock.advance(30_000);
    await w.runOnce();
    const text = await registry.metrics();
    expect(text).toMatch(/tocsin_delivery_attempts_total\{outcome="retry"\} 1/);
    expect(text).toMatch(/tocsin_delivery_attempts_total\{outcome="sent"\} 1/);
    expect(text).toMatch(/tocsin_deliveries_finished_total\{status="sent"\} 1/);
    expect(text).toMatch(/tocsin_smtp_send_duration_seconds_count\{outcome="sent"\} 1/);
  });

  it('counts failed attempts by the stage they failed at, so an operator tells a refused sender from a refused reader', async () => {
    // tocsin_delivery_attempts_total said only retry or failed: one reader's mistyped address and a
    // server refusing every sender were the same series, so an alert on failures fired on either.
    const server = await smtp({
      failures: [
        { at: 'mail', code: 451, times: 1 },
        { at: 'rcpt', code: 550, address: 'gone@tenant-x.example.com' },
      ],
    });
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const registry = new Registry();
    const w = worker(clock, { metrics: new OutboxMetrics(registry, database.storage, clock) });
    const retried = await enqueueOne(tenantX, clock);
    expect(await w.runOnce()).toBe(1);
    expect(await row(retried.id)).toMatchObject({ status: 'retrying' });
    await enqueueDeliveries(database.storage.db, [testDelivery(tenantX, 'gone@tenant-x.example.com')], clock);
    clock.advance(30_000);
    await w.runOnce();
    const text = await registry.metrics();
    expect(text).toContain('tocsin_delivery_failures_total{stage="sender"} 1\n');
    expect(text).toContain('tocsin_delivery_failures_total{stage="recipient"} 1\n');
    // Every stage is listed from the start, so increase() sees a first failure.
    expect(text).toContain('tocsin_delivery_failures_total{stage="auth"} 0\n');
    expect(text).toMatch(/tocsin_delivery_attempts_total\{outcome="sent"\} 1\n/);
  });

  it('counts an email the server took as sent when its tenant was deleted during the send, as the server counts it', async () => {
    // A soak deleting tenants while their emails were at the server: each such email arrived but
    // was counted as a lost lease, so the sent attempts fell short of the messages received.
    const server = await smtp();
    const tenantZ = await insertTestTenant(database.storage.db, 'tenant-z');
    endpoints.set(tenantZ, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const registry = new Registry();
    const w = worker(clock, { metrics: new OutboxMetrics(registry, database.storage, clock) });
    const d = await enqueueOne(tenantZ, clock);
    server.holdReplies();
    const running = w.runOnce();
    await server.waitForHeld(1);
    await database.storage.db.deleteFrom('deliveries').where('id', '=', d.id).execute();
    await database.storage.db.deleteFrom('tenants').where('id', '=', tenantZ).execute();
    server.releaseReplies();
    await running;
    expect(server.messages).toHaveLength(1);
    const text = await registry.metrics();
    expect(text).toMatch(/tocsin_delivery_attempts_total\{outcome="sent"\} 1\n/);
    expect(text).toMatch(/tocsin_delivery_attempts_total\{outcome="lost_lease"\} 0\n/);
  });

  it('reads a tenant’s mail settings once per claim, and afresh at the next claim', async () => {
    const first = await smtp();
    const second = await smtp();
    endpoints.set(tenantX, endpointFor(first.port));
    const clock = new FakeClock(T0);
    const reads: string[] = [];
    const w = worker(clock, {
      resolveEndpoint: async (tenantId) => {
        reads.push(tenantId);
        return endpoints.get(tenantId)!;
      },
    });
    await enqueueDeliveries(
      database.storage.db,
      Array.from({ length: 3 }, () => testDelivery(tenantX, 'ops@example.com')),
      clock,
    );
    expect(await w.runOnce()).toBe(3);
    expect(reads).toEqual([tenantX]);
    expect(first.messages).toHaveLength(3);
    endpoints.set(tenantX, endpointFor(second.port));
    await enqueueOne(tenantX, clock);
    expect(await w.runOnce()).toBe(1);
    expect(reads).toEqual([tenantX, tenantX]);
    expect(second.messages).toHaveLength(1);
  });

  it('sends a crashed worker’s row again once its lease expires', async () => {
    const server = await smtp();
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const d = await enqueueOne(tenantX, clock);
    await claimDue(database.storage, { workerId: 'crashed', now: clock.now(), leaseMs: 60_000, limit: 10 });
    const w = worker(clock);
    expect(await w.runOnce()).toBe(0);
    clock.advance(60_000);
    await answeredForALease(w, clock);
    expect(await w.runOnce()).toBe(1);
    expect(await row(d.id)).toMatchObject({ status: 'sent', attempts: 2 });
    expect((await attempts(d.id)).map((a) => a.outcome)).toEqual(['interrupted', 'sent']);
    expect(server.messages).toHaveLength(1);
  });

  it('waits the ladder’s first step after the server’s first transient failure, however many attempts crashed workers left before it', async () => {
    // Seen under kill -9 of workers: interrupted, interrupted, then one 450 waited 10 minutes, not 30 s.
    const server = await smtp({ failures: [{ at: 'rcpt', code: 450, times: 2 }] });
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const d = await enqueueOne(tenantX, clock);
    for (const crashed of ['crashed-1', 'crashed-2']) {
      await claimDue(database.storage, { workerId: crashed, now: clock.now(), leaseMs: 60_000, limit: 10 });
      clock.advance(60_000);
    }
    const w = worker(clock);
    await answeredForALease(w, clock);
    expect(await w.runOnce()).toBe(1);
    expect(await row(d.id)).toMatchObject({ status: 'retrying', attempts: 3, last_code: 450, next_attempt_at: clock.now() + 30_000 });
    clock.advance(30_000);
    expect(await w.runOnce()).toBe(1);
    // The second failure the server gave waits the second step.
    expect(await row(d.id)).toMatchObject({ status: 'retrying', attempts: 4, last_code: 450, next_attempt_at: clock.now() + 120_000 });
    clock.advance(120_000);
    expect(await w.runOnce()).toBe(1);
    expect(await row(d.id)).toMatchObject({ status: 'sent', attempts: 5 });
    expect((await attempts(d.id)).map((a) => a.outcome)).toEqual(['interrupted', 'interrupted', 'retry', 'retry', 'sent']);
    expect(server.messages).toHaveLength(1);
  });

  it('leaves a row whose lease ran out while the database was away to its owner, until the database has answered for a whole lease', async () => {
    const server = await smtp();
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const d = await enqueueOne(tenantX, clock);
    const w = worker(clock);
    await answeredForALease(w, clock);
    const leaseMs = w.settings.leaseMs;
    await claimDue(database.storage, { workerId: 'owner', now: clock.now(), leaseMs, limit: 10 });
    // The database is away for longer than the lease: no heartbeat, no renewal reaches it. Once it
    // is back, this worker's claim comes first: the owner may hold the server's 250 for the row.
    clock.advance(leaseMs + 2_000);
    expect(await w.runOnce()).toBe(0);
    expect(await row(d.id)).toMatchObject({ status: 'sending', lease_owner: 'owner', attempts: 1 });
    // The owner renews nothing for a whole lease in which the database answers: it is dead.
    await answeredForALease(w, clock);
    expect(await w.runOnce()).toBe(1);
    expect(await row(d.id)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(server.messages).toHaveLength(1);
  });

  it('renders at send time through the kind’s composer, and fails a kind that has none', async () => {
    const server = await smtp();
    endpoints.set(tenantX, endpointFor(server.port));
    const clock = new FakeClock(T0);
    const w = worker(clock, {
      composers: {
        summary: async (delivery) => ({
          subject: `Summary for ${delivery.recipient.name} (${(delivery.payload as { data: { count: number } }).data.count})`,
          text: 'two alerts',
          html: '<p>two alerts</p>',
          headers: { 'X-Tocsin-Tenant': 'tenant-x' },
        }),
      },
    });
    const summary = await enqueueOne(tenantX, clock, { kind: 'summary', rendered: undefined, data: { count: 2 } });
    const daily = await enqueueOne(tenantX, clock, { kind: 'daily', rendered: undefined, data: {} });
    await w.runOnce();
    expect(await row(summary.id)).toMatchObject({ status: 'sent' });
    expect(server.messages[0]!.raw).toContain('Subject: Summary for Test Recipient (2)');
    expect(server.messages[0]!.raw).toContain('X-Tocsin-Kind: summary');
    expect(await row(daily.id)).toMatchObject({ status: 'failed', attempts: 1 });
    expect((await row(daily.id)).last_error).toContain('no composer');
  });

  /** finishedAttemptsOf lists the ended attempts at the tenants' emails (none while their servers hang). */
  const finishedAttemptsOf = (tenants: readonly string[]) =>
    database.storage.db
      .selectFrom('delivery_attempts')
      .innerJoin('deliveries', 'deliveries.id', 'delivery_attempts.delivery_id')
      .select('delivery_attempts.id')
      .where('deliveries.tenant_id', 'in', tenants)
      .where('delivery_attempts.finished_at', 'is not', null)
      .execute();

  // Silent from the first byte, or a slowloris that takes the message and dribbles its reply to ".".
  for (const [how, start] of [
    ['silent', () => startSilentServer()],
    ['dribbling', () => startDribblingServer(1_000)],
  ] as const) {
    it(`delivers a tenant’s mail while every send to another tenant’s ${how} server is still waiting`, async () => {
      const hanging = await start();
      servers.push(hanging);
      const healthy = await smtp();
      // X's sends wait far longer than Y's need: until X's server is closed below, none of them ends.
      endpoints.set(tenantX, endpointFor(hanging.port, { timeoutMs: 60_000 }));
      endpoints.set(tenantY, endpointFor(healthy.port));
      // X's rows are older, so a naive oldest-first worker would spend every slot on them.
      const xs = Array.from({ length: 30 }, () => testDelivery(tenantX, 'x@example.com'));
      await enqueueDeliveries(database.storage.db, xs, systemClock);
      await enqueueDeliveries(
        database.storage.db,
        Array.from({ length: 10 }, () => testDelivery(tenantY, 'y@example.com')),
        systemClock,
      );
      const w = worker(systemClock, { settings: { limits: { global: 8, perTenant: 3 }, batchSize: 8, pollIntervalMs: 20 } });
      w.start();
      try {
        await healthy.waitForMessages(10, 30_000);
        // Every one of Y's emails went out while X's sends were all still hanging: no attempt of X ended,
        // and X never held more than its three slots. (How long Y took: bench/worker-isolation.ts.)
        expect(await finishedAttemptsOf([tenantX])).toEqual([]);
        expect(hanging.openConnections()).toBeLessThanOrEqual(3);
      } finally {
        // Closing X's server ends its hanging sends at once, so the worker stops without waiting them out.
        await hanging.close();
        await w.stop();
      }
      expect(w.inFlightCount).toBe(0);
    });
  }

  it("delivers a tenant's mail while other tenants' hanging servers hold every one of the worker's slots", async () => {
    // Two tenants with a server that never greets (a minute's timeout) hold their three slots each, the
    // worker's six: the claims took nothing more until one of their timeouts ended, and Y's emails
    // waited that long (four such tenants do it to the 400 slots of a real worker, for up to 10 minutes).
    const tenantZ = await insertTestTenant(database.storage.db, 'tenant-z');
    for (const tenant of [tenantX, tenantZ]) await queuedForHanging(tenant, startSilentServer, 60_000, 3);
    const healthy = await smtp();
    endpoints.set(tenantY, endpointFor(healthy.port));
    const w = worker(systemClock, { settings: { limits: { global: 6, perTenant: 3 }, batchSize: 6, pollIntervalMs: 20 } });
    w.start();
    try {
      // Every slot is taken by the hanging servers' sends before Y's emails are queued.
      await until(() => w.inFlightCount === 6, 'the hanging sends to hold every slot');
      await enqueueDeliveries(
        database.storage.db,
        Array.from({ length: 2 }, () => testDelivery(tenantY, 'y@example.com')),
        systemClock,
      );
      w.wake();
      await healthy.waitForMessages(2, 10_000);
      // While every send to the hanging servers still waited for its greeting.
      expect(await finishedAttemptsOf([tenantX, tenantZ])).toEqual([]);
    } finally {
      for (const server of servers) if (!('messages' in server)) await server.close();
      await w.stop();
    }
  });

  it('sends on a wake without waiting for its next poll', async () => {
    const server = await smtp();
    endpoints.set(tenantY, endpointFor(server.port));
    // A poll a minute away: only the wake can make the worker claim within this test's time.
    const w = worker(systemClock, { settings: { pollIntervalMs: 60_000 } });
    w.start();
    try {
      // The worker has looked once, found nothing, and waits for its next poll.
      await w.idle();
      await enqueueDeliveries(database.storage.db, [testDelivery(tenantY, 'now@example.com')], systemClock);
      w.wake();
      await server.waitForMessages(1, 10_000);
    } finally {
      await w.stop();
    }
  });

  // The claim says when the first queued row falls due (SQLite's claim said nothing, and the worker polled).
  it('sleeps until the first queued row falls due, not for its poll', async () => {
    const server = await smtp();
    endpoints.set(tenantY, endpointFor(server.port));
    await enqueueDeliveries(database.storage.db, [testDelivery(tenantY, 'soon@example.com', { notBefore: Date.now() + 300 })], systemClock);
    // A poll a minute away and no wake: only the due time the claim read can make the worker send in time.
    const w = worker(systemClock, { settings: { pollIntervalMs: 60_000, idlePollIntervalMs: 60_000 } });
    w.start();
    try {
      await server.waitForMessages(1, 10_000);
    } finally {
      await w.stop();
    }
  });

  /** lookingStorage is the test database's storage counting the looks at its file's ChangeMark and the reads of deliveries. */
  function lookingStorage() {
    const looks = { marks: 0, reads: 0, storage: database.storage };
    const db = dbTelling('selectFrom', () => {
      looks.reads += 1;
    });
    const { changeMark } = database.storage;
    looks.storage = {
      ...database.storage,
      db,
      changeMark:
        changeMark &&
        (() => {
          looks.marks += 1;
          return changeMark();
        }),
    };
    return looks;
  }

  it.skipIf(dialect !== 'sqlite')(
    'claims again only once the SQLite file changed, however often it polls, and sends a row another connection commits at once',
    async () => {
      const server = await smtp();
      endpoints.set(tenantY, endpointFor(server.port));
      const looks = lookingStorage();
      // A poll every 10 ms: before, each was a claim (a read of deliveries); now each looks at the file's mark.
      const w = worker(systemClock, { storage: looks.storage, settings: { pollIntervalMs: 10, idlePollIntervalMs: 60_000 } });
      w.start();
      const other = await openStorage(database.url);
      try {
        await w.idle();
        const readsWhenIdle = looks.reads;
        const marksWhenIdle = looks.marks;
        await until(() => looks.marks >= marksWhenIdle + 5, 'five polls to look at the file');
        // Five polls looked at a file that did not change, and none read the queue.
        expect(looks.reads).toBe(readsWhenIdle);
        // Another process's commit (here another connection's), with no doorbell nor wake: the next look sees it.
        await enqueueDeliveries(other.db, [testDelivery(tenantY, 'other@example.com')], systemClock);
        await server.waitForMessages(1, 10_000);
      } finally {
        await other.close();
        await w.stop();
      }
    },
  );

  it.skipIf(dialect !== 'sqlite')(
    "polls while a tenant's server is paused, so that its email queued meanwhile goes once the pause ends, not after the idle sleep",
    async () => {
      const server = await smtp({ failures: [{ at: 'connect', code: 421, times: 1 }] });
      // The 421 must be the first attempt's failure: with the file's 2 s, a machine too loaded to answer the connect in
      // time failed it as a timeout, and the second email met the 421 and waited its 30 s retry.
      endpoints.set(tenantX, endpointFor(server.port, { timeoutMs: 30_000 }));
      const w = worker(systemClock, {
        settings: { pollIntervalMs: 10, idlePollIntervalMs: 60_000, breaker: { failureThreshold: 1, initialCooldownMs: 300, maxCooldownMs: 300 } },
      });
      const first = await enqueueOne(tenantX, systemClock);
      w.start();
      try {
        // The 421 pauses the server 300 ms; the email queued then is left out of the claims until it ends, and no
        // row's time tells when that is: slept as idle, the worker would wait its minute.
        await until(async () => (await row(first.id)).status === 'retrying', 'the first attempt to fail');
        expect((await row(first.id)).last_error).toContain('421');
        await enqueueOne(tenantX, systemClock);
        await server.waitForMessages(1, 10_000);
      } finally {
        await w.stop();
      }
    },
  );

  it.skipIf(dialect !== 'sqlite')(
    "polls after a claim that left a paused server's tenant out even when the pause ended during that claim, so that its email queued before goes at once",
    async () => {
      const server = await smtp({ failures: [{ at: 'connect', code: 421, times: 1 }] });
      endpoints.set(tenantX, endpointFor(server.port, { timeoutMs: 30_000 }));
      const clock = new FakeClock(Date.now());
      const { changeMark } = database.storage;
      let endPauseInClaim = false;
      // The claim reads the file's mark after it planned which tenants to leave out: the pause ends right there.
      const storage = {
        ...database.storage,
        changeMark: () => {
          if (endPauseInClaim) {
            endPauseInClaim = false;
            clock.advance(300);
          }
          return changeMark?.();
        },
      };
      const w = worker(clock, {
        storage,
        settings: { pollIntervalMs: 10, idlePollIntervalMs: 60_000, breaker: { failureThreshold: 1, initialCooldownMs: 300, maxCooldownMs: 300 } },
      });
      const first = await enqueueOne(tenantX, clock);
      w.start();
      try {
        await until(async () => (await row(first.id)).status === 'retrying', 'the first attempt to fail');
        expect(w.pausedTenants(clock.now())).toEqual([tenantX]);
        await enqueueOne(tenantX, clock);
        endPauseInClaim = true;
        // Judged not paused after that claim, the worker slept its idle minute: the row was older than the mark.
        await server.waitForMessages(1, 10_000);
      } finally {
        await w.stop();
      }
    },
  );

  it.skipIf(dialect !== 'sqlite')(
    'sends a row that falls due when the clock steps forward, at the next poll, not when the idle sleep set by the earlier time ends',
    async () => {
      const server = await smtp();
      endpoints.set(tenantY, endpointFor(server.port));
      const clock = new FakeClock(Date.now());
      await enqueueDeliveries(database.storage.db, [testDelivery(tenantY, 'stepped@example.com', { notBefore: clock.now() + 3_600_000 })], clock);
      const w = worker(clock, { settings: { pollIntervalMs: 10, idlePollIntervalMs: 60_000 } });
      w.start();
      try {
        await w.idle();
        // The row is an hour away: the worker sleeps its idle minute, and its looks see no file change.
        clock.advance(3_600_000);
        await server.waitForMessages(1, 10_000);
      } finally {
        await w.stop();
      }
    },
  );

  it.skipIf(dialect !== 'sqlite')(
    "polls when its claim could not read the SQLite file's mark (taken inside a transaction of its connection): another connection's row goes at the next poll",
    async () => {
      const server = await smtp();
      endpoints.set(tenantY, endpointFor(server.port));
      // Every mark read as inside a transaction (ChangeMark's undefined), as when the recorder's commit was under way.
      const storage = { ...database.storage, changeMark: () => undefined };
      const w = worker(systemClock, { storage, settings: { pollIntervalMs: 10, idlePollIntervalMs: 60_000 } });
      w.start();
      const other = await openStorage(database.url);
      try {
        await w.idle();
        // Read as a mark it could watch, the worker slept the idle minute with no look, blind to this row.
        await enqueueDeliveries(other.db, [testDelivery(tenantY, 'unseen@example.com')], systemClock);
        await server.waitForMessages(1, 10_000);
      } finally {
        await other.close();
        await w.stop();
      }
    },
  );

  it.skipIf(dialect !== 'sqlite')(
    "claims, and logs what is wrong there, when a poll cannot read the SQLite file's mark (its connection closed under the worker)",
    async () => {
      let closed = false;
      const { changeMark } = database.storage;
      const storage = {
        ...database.storage,
        changeMark: () => {
          if (closed) throw new TypeError('The database connection is not open');
          return changeMark?.();
        },
      };
      const logged = captureLog('warn');
      const w = worker(systemClock, { storage, logger: logged.log, settings: { pollIntervalMs: 10, idlePollIntervalMs: 60_000 } });
      w.start();
      try {
        await w.idle();
        // Before, the look threw in the poll's timer: an uncaught exception (the process ended), and no claim said why.
        closed = true;
        await until(() => logged.text().includes('The database connection is not open'), 'the claim to log the closed connection');
        expect(logLines(logged).find((line) => String(JSON.stringify(line.err)).includes('not open'))).toMatchObject({
          msg: expect.stringContaining('delivery claim'),
        });
      } finally {
        await w.stop();
      }
    },
  );

  it("takes over a dead worker's row when its lease runs out, the idle sleep a minute away", async () => {
    const server = await smtp();
    endpoints.set(tenantY, endpointFor(server.port));
    await enqueueDeliveries(database.storage.db, [testDelivery(tenantY, 'dead@example.com')], systemClock);
    const leaseMs = 600;
    const dead = await claimDue(database.storage, { workerId: 'dead', now: Date.now(), leaseMs, limit: 1 });
    expect(dead.deliveries).toHaveLength(1);
    // The claim at the lease's end finds the row due; it leaves it to its owner until it has seen the
    // database answer for a whole lease (AnsweredTime), and looks again at its poll.
    const w = worker(systemClock, { settings: { leaseMs, pollIntervalMs: 20, idlePollIntervalMs: 60_000 } });
    w.start();
    try {
      await server.waitForMessages(1, 10_000);
      // Recorded after the server's 250, in the next group commit.
      await until(async () => (await row(dead.deliveries[0]!.id)).status === 'sent', 'the takeover to be recorded');
      expect((await attempts(dead.deliveries[0]!.id)).map((a) => [a.worker, a.outcome])).toEqual([
        ['dead', 'interrupted'],
        [w.id, 'sent'],
      ]);
    } finally {
      await w.stop();
    }
  });
});
