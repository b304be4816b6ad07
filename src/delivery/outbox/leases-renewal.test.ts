import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { FakeClock, systemClock } from '../../shared/clock.js';
import { type Storage, openStorage } from '../../storage/storage.js';
import { describeEachDialect } from '../../../test/support/storage.js';
import type { Logger } from 'pino';
import type { MailSender, SmtpEndpoint } from '../contract.js';
import { createMailSender } from '../smtp/sender.js';
import { plainEndpointOf, startTestSmtpServer } from '../../../test/support/smtp-servers.js';
import { enqueueDeliveries } from './enqueue.js';
import { claimDue } from './leases.js';
import { LeaseRenewal } from './leases-renewal.js';
import { type TestOutboxDatabase, insertTestTenant, openTestOutboxDatabase, testDelivery } from '../../../test/support/outbox-fixtures.js';
import { DeliveryWorker } from './worker.js';
import { captureWarnings } from '../../../test/support/log-capture.js';

/** warned waits until a warning with this message has been logged. */
function warned(entries: readonly { readonly msg: string }[], msg: string): Promise<void> {
  return vi.waitFor(() => expect(entries.map((e) => e.msg)).toContain(msg), { timeout: 10_000, interval: 20 });
}

describeEachDialect('lease renewal warns only of leases really lost', (dialect) => {
  let database: TestOutboxDatabase;
  let tenant: string;

  beforeAll(async () => {
    database = await openTestOutboxDatabase(dialect);
    tenant = await insertTestTenant(database.storage.db, 'renewal');
  });
  afterAll(() => database.close());

  /** queuedWorker queues `count` emails of a tenant and makes a worker that sends them to `sink`, leased `leaseMs` at a time. */
  async function queuedWorker(tenantId: string, count: number, sink: { readonly port: number }, sender: MailSender, log: Logger, leaseMs: number) {
    await enqueueDeliveries(
      database.storage.db,
      Array.from({ length: count }, (_, i) => testDelivery(tenantId, `r${i}@example.com`)),
      systemClock,
    );
    const endpoint = plainEndpointOf(sink);
    return new DeliveryWorker({
      storage: database.storage,
      clock: systemClock,
      sender,
      resolveEndpoint: async () => endpoint,
      composers: {},
      logger: log,
      settings: { leaseMs, pollIntervalMs: 20 },
    });
  }

  it('sends a burst with renewals running throughout and no lease-lost warning, each email once', async () => {
    const BURST = 500;
    // Its own rows only, as the tests after it: whatever an earlier test left would go to this sink too.
    await database.storage.db.deleteFrom('deliveries').execute();
    const sink = await startTestSmtpServer();
    const sender = createMailSender({ maxConnections: 10 });
    const { log, entries } = captureWarnings();
    // A 6 s lease beats every second (heartbeatMs, a sixth): many renewals meet sends that finish
    // while they run. A send needs two beats confirmed and a renewal comes at three, so a renewal may
    // run one beat late before a send is rightly held back 'in doubt': 4 s gave it 667 ms, which a
    // loaded machine's PostgreSQL and event loop overran.
    const worker = await queuedWorker(tenant, BURST, sink, sender, log, 6_000);
    try {
      worker.start();
      await sink.waitForMessages(BURST, 60_000);
      await worker.stop();
    } finally {
      await sender.close();
      await sink.close();
    }
    expect(entries.filter((e) => /lease/.test(e.msg))).toEqual([]);
    expect(new Set(sink.messages.map((m) => m.messageId)).size).toBe(BURST);
    expect(sink.messages).toHaveLength(BURST);
  }, 90_000);

  it('warns of no lost lease when the tenant of the emails being sent is deleted, through this process or another', async () => {
    await database.storage.db.deleteFrom('deliveries').execute();
    const doomed = await insertTestTenant(database.storage.db, 'deleted-while-sending');
    // The server holds each reply for a while: the tenant goes while two emails are at it.
    const sink = await startTestSmtpServer({ dataReplyDelayMs: 1_500 });
    const sender = createMailSender({ maxConnections: 2 });
    const { log, entries } = captureWarnings();
    const worker = await queuedWorker(doomed, 10, sink, sender, log, 2_000);
    try {
      worker.start();
      await vi.waitFor(() => expect(sink.connections()).toBeGreaterThanOrEqual(2), { timeout: 10_000, interval: 20 });
      // The host administrator deletes the tenant through another process: its rows go with it.
      await database.storage.db.deleteFrom('tenants').where('id', '=', doomed).execute();
      // Until the sends at the server have ended and been recorded, and nothing is left to claim.
      await worker.idle();
      await worker.stop();
    } finally {
      await sender.close();
      await sink.close();
    }
    expect(entries).toEqual([]);
  }, 30_000);

  it('holds back, at its next heartbeat, the sends of a tenant deleted meanwhile whose leases are far from needing renewal', async () => {
    await database.storage.db.deleteFrom('deliveries').execute();
    const doomed = await insertTestTenant(database.storage.db, 'deleted-while-held');
    await enqueueDeliveries(database.storage.db, [testDelivery(doomed, 'a@example.com'), testDelivery(tenant, 'b@example.com')], systemClock);
    // Claimed for a minute, as a worker holds rows claimed ahead: no renewal reaches them for half of it.
    const { deliveries } = await claimDue(database.storage, { workerId: 'w', now: systemClock.now(), leaseMs: 60_000, limit: 2 });
    const gone = deliveries.find((d) => d.tenantId === doomed)!;
    const kept = deliveries.find((d) => d.tenantId === tenant)!;
    const held = new Map(deliveries.map((d) => [d.id, d.leaseToken!]));
    const heldTenants = new Map([
      [doomed, [gone.id]],
      [tenant, [kept.id]],
    ]);
    const { log } = captureWarnings();
    const renewal = new LeaseRenewal({ storage: database.storage, clock: systemClock, leaseMs: 1_200, log, held: () => held, heldTenants: () => heldTenants });
    renewal.claimed([...held.keys()], systemClock.now() + 60_000);
    renewal.start();
    try {
      // The host administrator deletes the tenant (through any process): its rows go with it, and
      // none of its emails waiting for a connection may start, though their leases run for a minute.
      await database.storage.db.deleteFrom('tenants').where('id', '=', doomed).execute();
      await vi.waitFor(() => expect(renewal.leased(gone.id, systemClock.now())).toBe(false), { timeout: 5_000, interval: 20 });
      expect(renewal.deleted(gone.id)).toBe(true);
      expect(renewal.leased(kept.id, systemClock.now())).toBe(true);
    } finally {
      renewal.stop();
    }
  });

  it('warns, naming it, of a row another worker claimed after the lease ran out', async () => {
    await database.storage.db.deleteFrom('deliveries').execute();
    const clock = new FakeClock(Date.UTC(2026, 10, 30, 9));
    await enqueueDeliveries(database.storage.db, [testDelivery(tenant, 'a@example.com'), testDelivery(tenant, 'b@example.com')], clock);
    const mine = await claimDue(database.storage, { workerId: 'slow', now: clock.now(), leaseMs: 1_000, limit: 2 });
    const { log, entries } = captureWarnings();
    const held = new Map(mine.deliveries.map((d) => [d.id, d.leaseToken!]));
    const renewal = new LeaseRenewal({ storage: database.storage, clock, leaseMs: 1_000, log, held: () => held });
    const [taken, kept] = mine.deliveries;
    // The slow worker's lease on one row ran out and another worker took it.
    await database.storage.db
      .updateTable('deliveries')
      .set({ lease_expires_at: clock.now(), next_attempt_at: clock.now() })
      .where('id', '=', taken!.id)
      .execute();
    clock.advance(1);
    const theirs = await claimDue(database.storage, { workerId: 'fast', now: clock.now(), leaseMs: 1_000, limit: 2 });
    expect(theirs.deliveries.map((d) => d.id)).toEqual([taken!.id]);
    await renewal.renewNow();
    expect(entries).toEqual([expect.objectContaining({ msg: 'leases lost while sending', deliveries: [taken!.id] })]);
    expect(renewal.leased(taken!.id, clock.now())).toBe(false);
    const row = await database.storage.db.selectFrom('deliveries').select('lease_expires_at').where('id', '=', kept!.id).executeTakeFirstOrThrow();
    expect(row.lease_expires_at).toBe(clock.now() + 1_000);
  });

  it('does not start a send whose lease another worker took while this one was rendering', async () => {
    await database.storage.db.deleteFrom('deliveries').execute();
    const sink = await startTestSmtpServer();
    const sender = createMailSender({ maxConnections: 1 });
    const { log, entries } = captureWarnings();
    const endpoint: SmtpEndpoint = {
      host: '127.0.0.1',
      port: sink.port,
      security: 'none',
      authMethod: 'none',
      fromAddress: 'alerts@example.com',
      timeoutMs: 5_000,
    };
    let rendering!: () => void;
    const renderingStarted = new Promise<void>((resolve) => (rendering = resolve));
    let finishRendering!: () => void;
    const rendered = new Promise<void>((resolve) => (finishRendering = resolve));
    const { rendered: email, ...summary } = testDelivery(tenant, 'slow@example.com', { kind: 'summary' });
    await enqueueDeliveries(database.storage.db, [{ ...summary, data: {} }], systemClock);
    const worker = new DeliveryWorker({
      storage: database.storage,
      clock: systemClock,
      sender,
      resolveEndpoint: async () => endpoint,
      // A render stalled past the lease: the worker is alive but slow.
      composers: {
        summary: async () => {
          rendering();
          await rendered;
          return email!;
        },
      },
      logger: log,
      // One claim at start: a poll after the lease is made to run out would let this worker take
      // its own row back before the other worker does (PostgreSQL's empty claims are a quick probe).
      settings: { leaseMs: 2_000, pollIntervalMs: 60_000 },
    });
    try {
      worker.start();
      await renderingStarted;
      await database.storage.db.updateTable('deliveries').set({ lease_expires_at: 0, next_attempt_at: 0 }).execute();
      const stolen = await claimDue(database.storage, { workerId: 'other', now: Date.now(), leaseMs: 60_000, limit: 1 });
      expect(stolen.deliveries).toHaveLength(1);
      await warned(entries, 'leases lost while sending');
      finishRendering();
      await warned(entries, 'lease lost or in doubt before the send; not sending');
      await worker.stop();
    } finally {
      await sender.close();
      await sink.close();
    }
    expect(sink.messages).toHaveLength(0);
  });

  it('does not start a send that waited for a connection while its lease ran out and another worker took it', async () => {
    await database.storage.db.deleteFrom('deliveries').execute();
    // One connection to a server that holds its reply to the first email: the second waits in the sender's queue behind it.
    const sink = await startTestSmtpServer();
    sink.holdReplies();
    const sender = createMailSender({ maxConnections: 1 });
    const { log, entries } = captureWarnings();
    const worker = await queuedWorker(tenant, 2, sink, sender, log, 2_000);
    try {
      worker.start();
      // The first email at the server, read whole. Not merely connected: a send whose session is still
      // greeting, or short of its final ".", is held back too once the lease is seen lost, and a loaded
      // machine's dialogue outlasted the take-over below (the sink then had no email).
      await sink.waitForHeld(1);
      // The worker stalls past its lease (a paused VM, SIGSTOP, the database out of reach): another takes both rows.
      await database.storage.db.updateTable('deliveries').set({ lease_expires_at: 0, next_attempt_at: 0 }).execute();
      const stolen = await claimDue(database.storage, { workerId: 'other', now: Date.now(), leaseMs: 60_000, limit: 2 });
      expect(stolen.deliveries).toHaveLength(2);
      await warned(entries, 'leases lost while sending');
      // The server answers the first: the connection is free for the second, which is not sent.
      sink.releaseReplies();
      await warned(entries, 'lease lost or in doubt before the send; not sending');
      await worker.stop();
    } finally {
      await sender.close();
      await sink.close();
    }
    // The first email was at the server when the lease went: only it reached the server.
    expect(sink.messages).toHaveLength(1);
  }, 30_000);

  /**
   * heldThroughAnOutage claims one queued email (leased 1 s) on a fake clock, and returns it with a
   * storage whose database is gone (an SQLite file closed and removed): every renewal through it fails.
   */
  async function heldThroughAnOutage() {
    await database.storage.db.deleteFrom('deliveries').execute();
    const clock = new FakeClock(Date.UTC(2026, 10, 30, 10));
    await enqueueDeliveries(database.storage.db, [testDelivery(tenant, 'a@example.com')], clock);
    const [row] = (await claimDue(database.storage, { workerId: 'w', now: clock.now(), leaseMs: 1_000, limit: 1 })).deliveries;
    const held = new Map([[row!.id, row!.leaseToken!]]);
    const gone = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-gone-'));
    const unreachable = await openStorage(`sqlite:${path.join(gone, 'closed.db')}`);
    await unreachable.close();
    fs.rmSync(gone, { recursive: true });
    return { clock, row, held, unreachable };
  }

  it('holds back sends once renewals have failed for two thirds of a lease, and lets them go after a renewal', async () => {
    const { clock, row, held, unreachable } = await heldThroughAnOutage();
    const { log, entries } = captureWarnings();
    const failing = new LeaseRenewal({ storage: unreachable, clock, leaseMs: 1_000, log, held: () => held });
    failing.claimed([row!.id], clock.now() + 1_000);
    expect(failing.leased(row!.id, clock.now())).toBe(true);
    clock.advance(400);
    await failing.renewNow();
    expect(entries.map((e) => e.msg)).toEqual([expect.stringMatching(/^could not renew delivery leases/)]);
    // Ticks are a sixth of the lease (166 ms); a send needs two of them confirmed: 332 ms.
    clock.advance(268);
    expect(failing.leased(row!.id, clock.now())).toBe(true);
    clock.advance(1);
    expect(failing.leased(row!.id, clock.now())).toBe(false);
    // A send already under way is still this worker's with one tick left (a renewal a little late
    // takes a row just past two): it is called off only a tick short of the lease's end.
    expect(failing.leased(row!.id, clock.now(), 1)).toBe(true);
    clock.advance(166);
    expect(failing.leased(row!.id, clock.now(), 1)).toBe(false);

    const working = new LeaseRenewal({ storage: database.storage, clock, leaseMs: 1_000, log, held: () => held });
    await working.renewNow();
    expect(working.leased(row!.id, clock.now())).toBe(true);
  });

  it('tells an outage once, not at each tick, and when its renewals work again', async () => {
    // A send whose outcome cannot be recorded stays held through a database outage (or a full disk),
    // and its leases are renewed at each tick: each failure was logged as an error with its stack,
    // 16 lines in a 30 s PostgreSQL outage where every other loop logged one warning.
    const { clock, row, held, unreachable } = await heldThroughAnOutage();
    const { log, entries } = captureWarnings('debug');
    let down = true;
    const flaky: Storage = {
      ...database.storage,
      get db() {
        return down ? unreachable.db : database.storage.db;
      },
    };
    const renewal = new LeaseRenewal({ storage: flaky, clock, leaseMs: 1_000, log, held: () => held });
    for (let tick = 0; tick < 4; tick++) await renewal.renewNow();
    down = false;
    await renewal.renewNow();
    const told = entries.filter((e) => /leases/.test(e.msg)).map((e) => [e.level, e.msg]);
    expect(told).toEqual([
      [40, expect.stringMatching(/^could not renew delivery leases/)],
      ...Array.from({ length: 3 }, () => [20, expect.stringMatching(/^could not renew delivery leases/)]),
      [30, 'delivery leases renew again'],
    ]);
    expect(renewal.leased(row!.id, clock.now())).toBe(true);
  });
});
