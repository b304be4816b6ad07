/**
 * The claim and record stages through a real outage: PostgreSQL reached through a TCP proxy that
 * drops its connections and hangs up on new ones until restored (SQLite has no network to lose;
 * its busy lock is classified in storage/stage-errors.test.ts).
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { captureWarnings } from '../../../test/support/log-capture.js';
import { type TestOutboxDatabase, insertTestTenant, openTestOutboxDatabase, testDelivery } from '../../../test/support/outbox-fixtures.js';
import { startTestSmtpServer } from '../../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../../test/support/storage.js';
import { type TcpProxy, proxyFor, viaProxy } from '../../../test/support/tcp-proxy.js';
import { systemClock } from '../../shared/clock.js';
import { StorageRejectedError } from '../../storage/errors.js';
import { type Storage, openStorage } from '../../storage/storage.js';
import { createMailSender } from '../smtp/sender.js';
import { AttemptRecorder } from './attempt-recorder.js';
import { enqueueDeliveries } from './enqueue.js';
import { claimDue } from './leases.js';
import { DeliveryWorker, type WorkerSettings } from './worker.js';

describeEachDialect('the outbox through a storage outage', (dialect) => {
  let database: TestOutboxDatabase;
  let proxy: TcpProxy;
  let proxied: Storage;
  let tenant: string;

  beforeAll(async () => {
    database = await openTestOutboxDatabase(dialect);
    tenant = await insertTestTenant(database.storage.db, 'outage');
    if (dialect !== 'postgres') return;
    proxy = await proxyFor(database.url);
    proxied = await openStorage(viaProxy(database.url, proxy), { poolSize: 2 });
  });
  afterAll(async () => {
    await proxied?.close();
    await proxy?.close();
    await database.close();
  });

  /** claimOne claims one fresh delivery for `worker` on the direct connection. */
  async function claimOne(): Promise<{ deliveryId: string; leaseToken: string; attempt: number; claimedAt: number }> {
    await enqueueDeliveries(database.storage.db, [testDelivery(tenant, 'ops@example.com')], systemClock);
    const claimedAt = systemClock.now();
    const batch = await claimDue(database.storage, { workerId: 'test', now: claimedAt, leaseMs: 60_000, limit: 1 });
    const delivery = batch.deliveries[0]!;
    return { deliveryId: delivery.id, leaseToken: delivery.leaseToken!, attempt: delivery.attempts, claimedAt };
  }

  const sent = (claimed: { deliveryId: string; leaseToken: string; attempt: number; claimedAt: number }) => ({
    ...claimed,
    tenantId: tenant,
    worker: 'test',
    startedAt: systemClock.now(),
    finishedAt: systemClock.now(),
    result: { status: 'sent' as const, response: '250 2.0.0 Ok' },
  });

  /**
   * proxiedWorker is a worker on the proxied connection sending to a real SMTP server, its
   * warnings kept and its back-off's randomness fixed (the middle of each spread).
   */
  async function proxiedWorker(settings: Partial<WorkerSettings>) {
    const server = await startTestSmtpServer();
    const sender = createMailSender({ maxConnections: 1 });
    // From debug: each retry's wait is logged there, the outage's first failure and its end above it.
    const { log, entries } = captureWarnings('debug');
    const worker = new DeliveryWorker({
      storage: proxied,
      clock: systemClock,
      sender,
      resolveEndpoint: async () => ({
        host: '127.0.0.1',
        port: server.port,
        security: 'none',
        authMethod: 'none',
        fromAddress: 'a@example.com',
        timeoutMs: 5_000,
      }),
      composers: {},
      logger: log,
      random: () => 0.5,
      settings,
    });
    return { server, sender, worker, entries };
  }

  it.runIf(dialect === 'postgres')(
    'backs off while the claim cannot reach the database, warning once, then sends what is due once it is back, saying so',
    async () => {
      const { server, sender, worker, entries } = await proxiedWorker({ pollIntervalMs: 20 });
      proxy.cut();
      worker.start();
      try {
        const backoffs = () => entries.filter((e) => e.msg === 'delivery claim failed; backing off');
        await vi.waitFor(() => expect(backoffs().length).toBeGreaterThanOrEqual(3), { timeout: 10_000, interval: 10 });
        // Each failed claim waits twice as long as the one before (a poll at first), not a poll each time.
        expect(
          backoffs()
            .slice(0, 3)
            .map((e) => e.retryInMs),
        ).toEqual([15, 30, 60]);
        expect(backoffs()[0]!.err).toMatchObject({ type: 'StorageUnavailableError', stage: 'claim', retryable: true });
        await enqueueDeliveries(database.storage.db, [testDelivery(tenant, 'back@example.com')], systemClock);
        proxy.restore();
        await server.waitForMessages(1, 10_000);
        // One warning for the outage, not one (with its stack) per failed claim, and one line when it ends.
        const claimLines = entries.filter((e) => /delivery claim/.test(e.msg) && e.level !== 20);
        expect(claimLines.map((e) => [e.level, e.msg])).toEqual([
          [40, 'delivery claim failed; backing off'],
          [30, 'the delivery claim works again'],
        ]);
        expect(claimLines[1]).toMatchObject({ failures: backoffs().length });
      } finally {
        proxy.restore();
        await worker.stop();
        await sender.close();
        await server.close();
      }
    },
  );

  it.runIf(dialect === 'postgres')('claims again as soon as its heartbeat finds the database back, however long its back-off has grown', async () => {
    // A poll of a minute; the heartbeat asks every 100 ms.
    const { server, sender, worker, entries } = await proxiedWorker({ pollIntervalMs: 60_000, leaseMs: 600 });
    proxy.cut();
    worker.start();
    try {
      const backoff = () => entries.find((e) => e.msg === 'delivery claim failed; backing off');
      // The first failed claim backs off as long as it may: CONNECT_BACKOFF's ceiling, 11.25 s with this randomness.
      await vi.waitFor(() => expect(backoff()?.retryInMs).toBe(11_250), { timeout: 10_000, interval: 10 });
      const backingOffSince = Date.now();
      await enqueueDeliveries(database.storage.db, [testDelivery(tenant, 'back-soon@example.com')], systemClock);
      proxy.restore();
      await server.waitForMessages(1, 30_000);
      // Sent before the back-off ended: the heartbeat's first answer woke the claim loop.
      expect(Date.now() - backingOffSince).toBeLessThan(11_250);
    } finally {
      proxy.restore();
      await worker.stop();
      await sender.close();
      await server.close();
    }
  });

  it.runIf(dialect === 'postgres')(
    'stops within the patience it is given while its claim waits on a database that answers nothing (a stop during a network partition), and says so',
    async () => {
      const { server, sender, worker, entries } = await proxiedWorker({ pollIntervalMs: 60_000 });
      // A partition: the connections stay open, and nothing comes back on them.
      proxy.stall();
      try {
        // Its first claim goes out as it starts, and waits on the database.
        worker.start();
        // A stopping process's patience already run out: the stop does not wait for the claim (5 to 8 s a
        // statement for the silent-statement check to drop it, past serve's grace with the other loops).
        await worker.stop(AbortSignal.abort());
        expect(entries.filter((e) => (e.level as number) >= 40).map((e) => e.msg)).toEqual([
          "stopping without waiting longer for the outbox worker's claim: the database did not answer it in time; it is rolled back as the database closes",
        ]);
      } finally {
        // The stalled connections closed under it, the claim fails at once, and the next test's connections work.
        proxy.cut();
        proxy.restore();
        await sender.close();
        await server.close();
      }
    },
  );

  it.runIf(dialect === 'postgres')('tries a commit of finished attempts again when the database drops, and records it once it is back', async () => {
    const claimed = await claimOne();
    const recorder = new AttemptRecorder(proxied, 0);
    proxy.cut();
    const recorded = recorder.record(sent(claimed));
    // The first commit was hung up on; the recorder tries again after its back-off.
    await proxy.refused(1);
    proxy.restore();
    expect(await recorded).toBe(false);
    const row = await database.storage.db.selectFrom('deliveries').select('status').where('id', '=', claimed.deliveryId).executeTakeFirstOrThrow();
    expect(row.status).toBe('sent');
  });

  it('fails a commit the database refuses at once, without trying it again', async () => {
    const claimed = await claimOne();
    let commits = 0;
    // The commit's own step writes a tenant that exists: a unique key the database refuses every time.
    const recorder = new AttemptRecorder(database.storage, 0, async (tx) => {
      commits += 1;
      await tx
        .insertInto('tenants')
        .values({ id: tenant, name: 'outage', display_name: 'outage', time_zone: 'UTC', language: 'en', retention_days: 30, created_at: 0 })
        .execute();
    });
    const failure = await recorder.record(sent(claimed)).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StorageRejectedError);
    expect(failure).toMatchObject({ stage: 'record', kind: 'unique', retryable: false });
    expect(commits).toBe(1);
  });
});
