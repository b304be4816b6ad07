import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Storage } from '../../storage/storage.js';
import { describeEachDialect } from '../../../test/support/storage.js';
import { enqueueDeliveries } from './enqueue.js';
import { holdsReleasedKey } from './readdress.js';
import { claimDue, enqueueLeased, releaseClaimed, renewLeases, retrySystemRouteNow, retryTenantAfterOutage, retryTenantNow } from './leases.js';
import { recordAttempts } from './outcomes.js';
import { AttemptRecorder } from './attempt-recorder.js';
import { type TestOutboxDatabase, insertTestTenant, openTestOutboxDatabase, testDelivery } from '../../../test/support/outbox-fixtures.js';
import { FakeClock } from '../../shared/clock.js';

const here = path.dirname(fileURLToPath(import.meta.url));

describeEachDialect('outbox enqueue, claim and leases', (dialect) => {
  let database: TestOutboxDatabase;
  let storage: Storage;
  let tenant: string;
  const clock = new FakeClock(Date.UTC(2026, 10, 27, 12));

  beforeAll(async () => {
    database = await openTestOutboxDatabase(dialect);
    storage = database.storage;
    tenant = await insertTestTenant(storage.db, 'outbox');
  });
  afterAll(() => database.close());

  const claim = (workerId: string, limit = 10, excludeTenants: string[] = []) =>
    claimDue(storage, { workerId, now: clock.now(), leaseMs: 60_000, limit, excludeTenants });

  async function clearQueue() {
    await storage.db.deleteFrom('deliveries').execute();
  }

  it('queues the same idempotency key once, counting only new rows, and gives each row a stable Message-ID', async () => {
    await clearQueue();
    const one = testDelivery(tenant, 'a@example.com', { idempotencyKey: 'summary:u1:w1' });
    expect(await storage.db.transaction().execute((tx) => enqueueDeliveries(tx, [one, testDelivery(tenant, 'b@example.com')], clock))).toBe(2);
    expect(await enqueueDeliveries(storage.db, [one, { ...one, recipient: { ...one.recipient, address: 'c@example.com' } }], clock)).toBe(0);
    const rows = await storage.db.selectFrom('deliveries').selectAll().execute();
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((r) => r.message_id)).size).toBe(2);
    for (const r of rows) expect(r.message_id).toMatch(/^<[0-9a-f-]+@tocsin>$/);
  });

  it('queues a Fatal email behind another reader’s unsent row holding its key, once, and skips the usual clashes', async () => {
    // Bea's email of a flood waits at her former address, which Al has now; the flood repeats for Al there. Skipped as the
    // key's (tenant, key) was taken, Al's was lost once Bea's row moved away: it waits behind it, leased like the rest.
    await clearQueue();
    const key = `immediate:${tenant}:flood-1:desk@example.com`;
    const forReader = (userId: string) =>
      testDelivery(tenant, 'desk@example.com', {
        kind: 'immediate',
        idempotencyKey: key,
        rendered: undefined,
        data: {},
        recipient: { address: 'desk@example.com', language: 'en', timeZone: 'UTC', userId },
      });
    await enqueueDeliveries(storage.db, [forReader('bea')], clock);
    const bea = await storage.db.selectFrom('deliveries').select('id').executeTakeFirstOrThrow();
    const lease = { workerId: 'w1', token: 'leased-at-insert', now: clock.now(), until: clock.now() + 60_000 };
    const leased = (userId: string) => storage.db.transaction().execute((tx) => enqueueLeased(tx, [forReader(userId)], lease));
    // The flood repeating for its own reader is the usual clash: nothing more.
    expect((await leased('bea')).deliveries).toEqual([]);
    const behind = (await leased('al')).deliveries;
    expect(behind.map((d) => [d.idempotencyKey, d.recipient.userId, d.leaseToken])).toEqual([[`${key}#after:${bea.id}`, 'al', 'leased-at-insert']]);
    expect(holdsReleasedKey(behind[0]!)).toBe(true);
    // Repeating again queues no second one behind the same row; nor does anything queue behind a row that was sent.
    expect((await leased('al')).deliveries).toEqual([]);
    await storage.db.updateTable('deliveries').set({ status: 'sent' }).where('id', '=', bea.id).execute();
    expect(await enqueueDeliveries(storage.db, [forReader('cy')], clock)).toBe(0);
    expect(await storage.db.selectFrom('deliveries').select('id').execute()).toHaveLength(2);
  });

  it('queues a Fatal email behind another group mailbox’s unsent row holding its key (group to group, as reader to reader)', async () => {
    // The on-call group's mailbox moved away from desk@, which the SRE group's mailbox has now; the flood repeats there.
    await clearQueue();
    const key = `immediate:${tenant}:flood-2:desk@example.com`;
    const forGroup = (groupId: string) =>
      testDelivery(tenant, 'desk@example.com', {
        kind: 'immediate',
        idempotencyKey: key,
        rendered: undefined,
        data: {},
        recipient: { address: 'desk@example.com', language: 'en', timeZone: 'UTC', groupId },
      });
    await enqueueDeliveries(storage.db, [forGroup('on-call')], clock);
    const onCall = await storage.db.selectFrom('deliveries').select('id').executeTakeFirstOrThrow();
    expect(await enqueueDeliveries(storage.db, [forGroup('on-call')], clock)).toBe(0);
    expect(await enqueueDeliveries(storage.db, [forGroup('sre')], clock)).toBe(1);
    const behind = await storage.db.selectFrom('deliveries').select(['idempotency_key', 'recipient_group_id']).where('id', '<>', onCall.id).execute();
    expect(behind).toEqual([{ idempotency_key: `${key}#after:${onCall.id}`, recipient_group_id: 'sre' }]);
  });

  it('queues nothing when the enqueuing transaction rolls back', async () => {
    await clearQueue();
    await expect(
      storage.db.transaction().execute(async (tx) => {
        await enqueueDeliveries(tx, [testDelivery(tenant, 'a@example.com')], clock);
        throw new Error('the decision failed');
      }),
    ).rejects.toThrow('the decision failed');
    expect(await storage.db.selectFrom('deliveries').selectAll().execute()).toHaveLength(0);
  });

  // Sentry's users wait hours for alert mail stuck behind other mail (self-hosted #3823): a Fatal
  // alert's email queued while the day's reports are still going out must not wait for all of them.
  it('claims a due Fatal email and a mail-health notice before a backlog of reports that fell due earlier', async () => {
    await clearQueue();
    const reports = Array.from({ length: 30 }, (_, i) => testDelivery(tenant, `reader-${i}@example.com`, { kind: 'daily' }));
    await enqueueDeliveries(storage.db, reports, clock);
    clock.advance(30_000);
    await enqueueDeliveries(storage.db, [testDelivery(tenant, 'oncall@example.com', { kind: 'immediate' })], clock);
    await enqueueDeliveries(storage.db, [testDelivery(tenant, 'admin@example.com', { kind: 'mail-health' })], clock);
    const first = await claim('w-urgent', 10);
    expect(first.deliveries).toHaveLength(10);
    expect(
      first.deliveries
        .map((d) => d.kind)
        .slice(0, 2)
        .sort(),
    ).toEqual(['immediate', 'mail-health']);
    // The rest of the claim, and the next ones, go by when each fell due.
    expect(
      first.deliveries
        .slice(2)
        .map((d) => d.recipient.address)
        .sort(),
    ).toEqual(
      reports
        .slice(0, 8)
        .map((r) => r.recipient.address)
        .sort(),
    );
  });

  it('claims due rows once, counting the attempt, and logs no attempt until it ends', async () => {
    await clearQueue();
    await enqueueDeliveries(
      storage.db,
      [testDelivery(tenant, 'a@example.com'), testDelivery(tenant, 'b@example.com', { notBefore: clock.now() + 5_000 })],
      clock,
    );
    const first = await claim('w1');
    expect(first.deliveries.map((d) => d.recipient.address)).toEqual(['a@example.com']);
    expect(first.deliveries[0]).toMatchObject({ status: 'sending', attempts: 1 });
    expect((await claim('w2')).deliveries).toHaveLength(0);
    const attempts = await storage.db.selectFrom('delivery_attempts').selectAll().where('delivery_id', '=', first.deliveries[0]!.id).execute();
    expect(attempts).toEqual([]);
  });

  it('claims the emails of one due time in the order they were queued, wherever the table keeps them: an alert’s go together', async () => {
    // Two alerts of 10 emails, all due at once; the first alert's rows are written again (a retry's
    // status), which puts them after the second's in PostgreSQL's table. Claims ordered by due time
    // alone followed the table and took the second alert first, a claim's end cutting alerts apart.
    await clearQueue();
    const dueAt = clock.now() - 1;
    const emails = [0, 1].flatMap((alert) =>
      Array.from({ length: 10 }, (_, i) => testDelivery(tenant, `alert${alert}-${i}@example.com`, { notBefore: dueAt })),
    );
    await enqueueDeliveries(storage.db, emails, clock);
    await storage.db.updateTable('deliveries').set({ status: 'retrying' }).where('recipient_address', 'like', 'alert0-%').execute();
    const first = await claim('w1', 10);
    expect(new Set(first.deliveries.map((d) => d.recipient.address.split('-')[0]))).toEqual(new Set(['alert0']));
  });

  it('gives each of two workers claiming at once a whole run of the queue: an alert’s emails go to one of them', async () => {
    // Two alerts of 10 emails each, the first due first. Claims that ran side by side skipped each
    // other's locked rows one by one and each took some of both alerts: both workers then read the
    // facts of both and rendered both emails. Forty rounds, as the workers' claims seldom meet.
    const alertOf = (address: string) => address.split('-')[0];
    for (let round = 0; round < 40; round++) {
      await clearQueue();
      const emails = [0, 1].flatMap((alert) =>
        Array.from({ length: 10 }, (_, i) => testDelivery(tenant, `alert${alert}-${i}@example.com`, { notBefore: clock.now() - 2 + alert })),
      );
      await enqueueDeliveries(storage.db, emails, clock);
      const claims = await Promise.all([claim('w1', 10), claim('w2', 10)]);
      const alerts = claims.map((c) => [...new Set(c.deliveries.map((d) => alertOf(d.recipient.address)))]);
      expect(alerts.map((a) => a.length)).toEqual([1, 1]);
      expect(alerts.flat().sort()).toEqual(['alert0', 'alert1']);
    }
  });

  it('draws no lease token for a claim that finds nothing due: an idle poll (four a second on SQLite) leases nothing', async () => {
    await clearQueue();
    // One row due in a minute: the claim looks, and finds nothing due now.
    await enqueueDeliveries(storage.db, [testDelivery(tenant, 'later@example.com')], new FakeClock(clock.now() + 60_000));
    const draws = vi.spyOn(crypto, 'randomBytes');
    try {
      expect((await claim('w-idle')).deliveries).toHaveLength(0);
      expect(draws).not.toHaveBeenCalled();
    } finally {
      draws.mockRestore();
    }
  });

  it('leaves out the tenants it is told to', async () => {
    await clearQueue();
    const other = await insertTestTenant(storage.db, `other-${dialect}`);
    await enqueueDeliveries(storage.db, [testDelivery(tenant, 'a@example.com'), testDelivery(other, 'b@example.com')], clock);
    const batch = await claim('w1', 10, [tenant]);
    expect(batch.deliveries.map((d) => d.tenantId)).toEqual([other]);
  });

  it('looks for the first row it may take, leaving out 0, 1, 2 or 3 tenants, without building the look again', async () => {
    await clearQueue();
    const other = await insertTestTenant(storage.db, `later-${dialect}`);
    await enqueueDeliveries(storage.db, [testDelivery(tenant, 'a@example.com')], new FakeClock(clock.now() + 60_000));
    await enqueueDeliveries(storage.db, [testDelivery(other, 'b@example.com')], new FakeClock(clock.now() + 120_000));
    const looks = async () => [
      (await claim('w-look')).nextDueAt,
      (await claim('w-look', 10, [tenant])).nextDueAt,
      (await claim('w-look', 10, [tenant, other])).nextDueAt,
      (await claim('w-look', 10, [other, tenant, 'nobody'])).nextDueAt,
    ];
    const expected = [clock.now() + 60_000, clock.now() + 120_000, null, null];
    expect(await looks()).toEqual(expected);
    // Each count of tenants left out has its own text, built once: the idle poll runs it four times a second.
    const compiles = vi.spyOn(storage.db.getExecutor(), 'compileQuery');
    try {
      expect(await looks()).toEqual(expected);
      expect(compiles).not.toHaveBeenCalled();
    } finally {
      compiles.mockRestore();
    }
  });

  it('takes a dead worker’s row again once its lease expires, and marks that attempt interrupted', async () => {
    await clearQueue();
    await enqueueDeliveries(storage.db, [testDelivery(tenant, 'a@example.com')], clock);
    const dead = await claim('dead');
    clock.advance(59_000);
    expect((await claim('w2')).deliveries).toHaveLength(0);
    clock.advance(1_000);
    const again = await claim('w2');
    expect(again.deliveries).toHaveLength(1);
    expect(again.deliveries[0]).toMatchObject({ attempts: 2 });
    const attempts = await storage.db
      .selectFrom('delivery_attempts')
      .selectAll()
      .where('delivery_id', '=', again.deliveries[0]!.id)
      .orderBy('attempt')
      .execute();
    // The dead worker's attempt is closed by the claim; w2's is logged once it ends.
    expect(attempts.map((a) => [a.attempt, a.worker, a.outcome, Number(a.finished_at)])).toEqual([[1, 'dead', 'interrupted', clock.now()]]);
    // Said as what is known: a worker that could not renew its lease gives the email up unsent, alive.
    expect(attempts[0]!.response).toBe(
      'the lease ran out before its worker ended this attempt: the worker stopped, or gave the email up unsent when it could not renew the lease',
    );
    // The dead worker's late completion changes nothing: its lease token no longer matches.
    const d = dead.deliveries[0]!;
    const rowsGone = new Set<string>();
    const recorded = await recordAttempts(
      storage,
      [
        {
          deliveryId: d.id,
          tenantId: d.tenantId,
          leaseToken: d.leaseToken!,
          attempt: d.attempts,
          worker: 'dead',
          claimedAt: clock.now(),
          startedAt: clock.now(),
          finishedAt: clock.now(),
          result: { status: 'sent', response: '250 ok' },
        },
      ],
      undefined,
      rowsGone,
    );
    expect(recorded).toEqual([d.id]);
    // Lost to the worker that took the row over, which is there still.
    expect(rowsGone.size).toBe(0);
    const row = await storage.db.selectFrom('deliveries').selectAll().where('id', '=', d.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('sending');
    expect(row.lease_owner).toBe('w2');
    // Its attempt did end, with the server's answer: that replaces the `interrupted` the takeover logged.
    const log = await storage.db.selectFrom('delivery_attempts').selectAll().where('delivery_id', '=', d.id).execute();
    expect(log.map((a) => [a.attempt, a.worker, a.outcome])).toEqual([[1, 'dead', 'sent']]);
  });

  it("records a batch whose one attempt belongs to a tenant deleted meanwhile: the others' results stay, so none is sent twice", async () => {
    await clearQueue();
    const gone = await insertTestTenant(storage.db, 'deleted-while-sending');
    await enqueueDeliveries(storage.db, [testDelivery(tenant, 'kept@example.com'), testDelivery(gone, 'gone@example.com')], clock);
    const claimed = (await claim('w1')).deliveries;
    expect(claimed).toHaveLength(2);
    // The host administrator deletes a tenant while its email is at the SMTP server: its rows go with it.
    await storage.db.deleteFrom('tenants').where('id', '=', gone).execute();
    const rowsGone = new Set<string>();
    const recorded = await recordAttempts(
      storage,
      claimed.map((d) => ({
        deliveryId: d.id,
        tenantId: d.tenantId,
        leaseToken: d.leaseToken!,
        attempt: d.attempts,
        worker: 'w1',
        claimedAt: clock.now(),
        startedAt: clock.now(),
        finishedAt: clock.now(),
        result: { status: 'sent' as const, response: '250 ok' },
      })),
      undefined,
      rowsGone,
    );
    const kept = claimed.find((d) => d.tenantId === tenant)!;
    const deleted = claimed.filter((d) => d.tenantId === gone).map((d) => d.id);
    expect(recorded).toEqual(deleted);
    // Lost with their tenant, not to another worker.
    expect([...rowsGone]).toEqual(deleted);
    expect(await storage.db.selectFrom('deliveries').select(['id', 'status', 'lease_token']).execute()).toEqual([
      { id: kept.id, status: 'sent', lease_token: null },
    ]);
    const log = await storage.db.selectFrom('delivery_attempts').select(['delivery_id', 'outcome']).execute();
    expect(log).toEqual([{ delivery_id: kept.id, outcome: 'sent' }]);
  });

  it('records the results of 3,000 emails finished at once, more than one statement of the database may bind', async () => {
    // A burst (a large batch, a server answering after a pause) hands the recorder thousands of
    // results in one window; in one statement they passed SQLite's bound on values per statement,
    // and the commit never went through: the emails the server took were never recorded as sent.
    await clearQueue();
    await enqueueDeliveries(
      storage.db,
      Array.from({ length: 3_000 }, (_, i) => testDelivery(tenant, `r${i}@example.com`)),
      clock,
    );
    const claimed = (await claim('w1', 3_000)).deliveries;
    expect(claimed).toHaveLength(3_000);
    const recorder = new AttemptRecorder(storage, 0);
    const results = await Promise.all(
      claimed.map((d) =>
        recorder.record({
          deliveryId: d.id,
          tenantId: d.tenantId,
          leaseToken: d.leaseToken!,
          attempt: d.attempts,
          worker: 'w1',
          claimedAt: clock.now(),
          startedAt: clock.now(),
          finishedAt: clock.now(),
          result: { status: 'sent' as const, response: '250 ok' },
        }),
      ),
    );
    expect(results.every((lost) => lost === false)).toBe(true);
    const { n } = await storage.db
      .selectFrom('deliveries')
      .where('status', '=', 'sent')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(n)).toBe(3_000);
  });

  it('renews a held lease so the row is not taken, and reports a lease that was lost', async () => {
    await clearQueue();
    await enqueueDeliveries(storage.db, [testDelivery(tenant, 'a@example.com')], clock);
    const held = (await claim('w1')).deliveries[0]!;
    clock.advance(40_000);
    expect(await renewLeases(storage, new Map([[held.id, held.leaseToken!]]), clock.now(), 60_000)).toEqual({ renewed: [held.id], lost: [], gone: [] });
    clock.advance(40_000);
    expect((await claim('w2')).deliveries).toHaveLength(0);
    expect(await renewLeases(storage, new Map([[held.id, 'not-the-token']]), clock.now(), 60_000)).toEqual({ renewed: [], lost: [held.id], gone: [] });
  });

  it('gives a released row back without counting the attempt', async () => {
    await clearQueue();
    await enqueueDeliveries(storage.db, [testDelivery(tenant, 'a@example.com')], clock);
    const batch = await claim('w1');
    const d = batch.deliveries[0]!;
    await releaseClaimed(storage, [d], clock.now() + 1_000);
    const row = await storage.db.selectFrom('deliveries').selectAll().where('id', '=', d.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'pending', attempts: 0, lease_token: null, next_attempt_at: clock.now() + 1_000 });
    expect(await storage.db.selectFrom('delivery_attempts').selectAll().where('delivery_id', '=', d.id).execute()).toHaveLength(0);
  });

  it('leaves a row that another worker took over to it when the first hands it back late', async () => {
    // w1's lease ran out (it was stalled) and w2 took the row; w1, waking, hands back what it held.
    // Given back, the row was due again while w2 sent it: a third worker would send it a second time.
    await clearQueue();
    await enqueueDeliveries(storage.db, [testDelivery(tenant, 'a@example.com')], clock);
    const stale = (await claim('w1')).deliveries[0]!;
    clock.advance(60_000);
    const taken = (await claim('w2')).deliveries[0]!;
    expect(taken.id).toBe(stale.id);
    await releaseClaimed(storage, [stale], clock.now());
    const row = await storage.db.selectFrom('deliveries').selectAll().where('id', '=', stale.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'sending', attempts: 2, lease_owner: 'w2', lease_token: taken.leaseToken });
    expect((await claim('w3')).deliveries).toHaveLength(0);
  });

  it("moves only the tenant's own waiting emails when its server is fixed or back, never another tenant's", async () => {
    // A tenant saving its settings (or its server answering again) makes its retries due now; another
    // tenant's keep their backoff, else one tenant could hammer every other tenant's failing server.
    await clearQueue();
    const other = await insertTestTenant(storage.db, 'outbox-neighbour');
    await enqueueDeliveries(storage.db, [testDelivery(tenant, 'a@example.com'), testDelivery(other, 'b@example.com')], clock);
    const later = clock.now() + 600_000;
    const waiting = { status: 'retrying', attempts: 1, next_attempt_at: later, last_error: 'connect: ECONNREFUSED' } as const;
    await storage.db.updateTable('deliveries').set(waiting).execute();
    const dueAt = async () =>
      Object.fromEntries(
        (await storage.db.selectFrom('deliveries').select(['tenant_id', 'next_attempt_at']).execute()).map((r) => [r.tenant_id, Number(r.next_attempt_at)]),
      );
    expect(await retryTenantAfterOutage(storage.db, tenant, clock.now())).toBe(1);
    expect(await dueAt()).toEqual({ [tenant]: clock.now(), [other]: later });
    await storage.db.updateTable('deliveries').set(waiting).execute();
    expect(await retryTenantNow(storage.db, tenant, clock.now())).toBe(1);
    expect(await dueAt()).toEqual({ [tenant]: clock.now(), [other]: later });
  });

  it('moves the waiting emails of tenants on the system default, or falling back to it, when the system default is saved, and only theirs', async () => {
    // A tenant whose own server refuses for good sends through the system default (fallbackToDefault):
    // its emails that wait because the system default failed too go out once the host fixes it, as
    // those of a tenant on the default do; a tenant on its own server alone keeps its backoff.
    await clearQueue();
    const onDefault = await insertTestTenant(storage.db, 'outbox-on-default');
    const fallingBack = await insertTestTenant(storage.db, 'outbox-falling-back');
    const ownOnly = await insertTestTenant(storage.db, 'outbox-own-only');
    const settings = (tenant_id: string, use_custom: number, fallback_to_default: number) => ({
      tenant_id,
      alerts_email_enabled: 1,
      use_custom,
      daily_report_time: '10:00',
      send_empty_daily_report: 0,
      fallback_to_default,
      updated_at: clock.now(),
    });
    await storage.db
      .insertInto('tenant_mail_settings')
      .values([settings(onDefault, 0, 0), settings(fallingBack, 1, 1), settings(ownOnly, 1, 0)])
      .execute();
    await enqueueDeliveries(
      storage.db,
      [onDefault, fallingBack, ownOnly].map((t) => testDelivery(t, 'a@example.com')),
      clock,
    );
    const later = clock.now() + 600_000;
    await storage.db.updateTable('deliveries').set({ status: 'retrying', attempts: 1, next_attempt_at: later, last_error: 'connect: ECONNREFUSED' }).execute();
    expect(await retrySystemRouteNow(storage.db, clock.now())).toBe(2);
    const dueAt = Object.fromEntries(
      (await storage.db.selectFrom('deliveries').select(['tenant_id', 'next_attempt_at']).execute()).map((r) => [r.tenant_id, Number(r.next_attempt_at)]),
    );
    expect(dueAt).toEqual({ [onDefault]: clock.now(), [fallingBack]: clock.now(), [ownOnly]: later });
  });

  it("leaves an email being sent to its worker when its tenant's settings change meanwhile: no second worker takes it", async () => {
    // A leased row is due again when its lease runs out; made due now, another worker's claim took it
    // while its worker was still sending it, and the email went out twice.
    await clearQueue();
    await enqueueDeliveries(storage.db, [testDelivery(tenant, 'a@example.com')], clock);
    const sending = (await claim('w1')).deliveries[0]!;
    clock.advance(1_000);
    expect(await retryTenantNow(storage.db, tenant, clock.now())).toBe(0);
    expect((await claim('w2')).deliveries).toEqual([]);
    const row = await storage.db.selectFrom('deliveries').selectAll().where('id', '=', sending.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'sending', lease_owner: 'w1', lease_token: sending.leaseToken });
  });

  it('never lets workers in separate processes claim the same row', async () => {
    await clearQueue();
    await enqueueDeliveries(
      storage.db,
      Array.from({ length: 300 }, (_, i) => testDelivery(tenant, `r${i}@example.com`)),
      clock,
    );
    const probes = Array.from({ length: 3 }, () =>
      spawn(process.execPath, ['--import', 'tsx', path.join(here, '../../../test/support/processes/claim-probe.ts')], {
        env: { ...process.env, DATABASE_URL: database.url, PROBE_NOW: String(clock.now()) },
      }),
    );
    const outputs = probes.map((child) => {
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      return new Promise<{ stdout: string }>((resolve, reject) =>
        child.on('exit', (code) => (code === 0 ? resolve({ stdout }) : reject(new Error(`probe exited ${code}`)))),
      );
    });
    await Promise.all(probes.map((child) => new Promise((resolve) => child.stderr.once('data', resolve))));
    const started = Date.now();
    for (const child of probes) child.stdin.end('go\n');
    await Promise.all(outputs);
    const seconds = (Date.now() - started) / 1000;
    const results = await Promise.all(outputs);
    const claimed = results.flatMap((o) => o.stdout.split('\n').filter(Boolean));
    expect(results.filter((o) => o.stdout.length > 0).length).toBeGreaterThan(1);
    expect(claimed).toHaveLength(300);
    expect(new Set(claimed).size).toBe(300);
    process.stdout.write(
      `[claims ${dialect}] 3 processes, batches of 3: 300 rows claimed once each in ${seconds} s, ${results.filter((o) => o.stdout).length} processes got rows\n`,
    );
    // Three probes start through tsx, which takes many seconds each on a loaded machine.
  }, 120_000);
});
