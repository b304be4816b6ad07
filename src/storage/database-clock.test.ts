import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { enqueueDeliveries } from '../delivery/outbox/enqueue.js';
import { claimDue } from '../delivery/outbox/leases.js';
import type { Clock } from '../shared/clock.js';
import { captureWarnings } from '../../test/support/log-capture.js';
import { type TestOutboxDatabase, insertTestTenant, openTestOutboxDatabase, testDelivery } from '../../test/support/outbox-fixtures.js';
import { createTestDatabase, describeEachDialect } from '../../test/support/storage.js';
import { type DatabaseClock, databaseClock } from './database-clock.js';
import { type Storage, openStorage } from './storage.js';
import { systemClock } from '../shared/clock.js';

const A_MINUTE = 60_000;
const aMinuteAhead: Clock = { now: () => Date.now() + A_MINUTE };

async function serverNow(storage: Storage): Promise<number> {
  if (storage.dialect === 'sqlite') return Date.now();
  const { rows } = await sql<{ ms: number }>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`.execute(storage.db);
  return Number(rows[0]!.ms);
}

describeEachDialect('the time a process keeps', (dialect) => {
  let database: TestOutboxDatabase;
  let storage: Storage;
  let tenant: string;
  const clocks: DatabaseClock[] = [];

  beforeAll(async () => {
    database = await openTestOutboxDatabase(dialect);
    storage = database.storage;
    tenant = await insertTestTenant(storage.db, 'clock');
  });
  afterAll(async () => {
    for (const clock of clocks) clock.stop();
    await database.close();
  });

  async function clockOf(machine: Clock, log = captureWarnings()) {
    const clock = await databaseClock(storage, machine, log.log);
    clocks.push(clock);
    return { clock, log };
  }

  if (dialect === 'postgres') {
    it("is the database server's on a machine whose clock is a minute ahead, and the log says so", async () => {
      const { clock, log } = await clockOf(aMinuteAhead);
      // The server's time is read between the two readings of the clock, however long the query takes on a loaded machine.
      const before = clock.now();
      const server = await serverNow(storage);
      const after = clock.now();
      expect(server).toBeGreaterThan(before - 1_000);
      expect(server).toBeLessThan(after + 1_000);
      expect(log.entries).toEqual([expect.objectContaining({ msg: expect.stringContaining("this machine's clock is 60 s ahead of PostgreSQL's") })]);
    });

    it('takes no email another worker holds when its machine is a minute ahead', async () => {
      await enqueueDeliveries(storage.db, [testDelivery(tenant, 'a@example.com')], { now: () => Date.now() });
      const held = await claimDue(storage, { workerId: 'on-time', now: Date.now(), leaseMs: 10_000, limit: 10 });
      expect(held.deliveries).toHaveLength(1);
      const { clock } = await clockOf(aMinuteAhead);
      const taken = await claimDue(storage, { workerId: 'a-minute-ahead', now: clock.now(), leaseMs: 10_000, limit: 10 });
      expect(taken.deliveries).toEqual([]);
    });

    // NTP stepping the clock, a VM resumed: the offset read a minute ago no longer holds for a minute.
    it.each([
      ['back', -3_600_000],
      ['ahead', 3_600_000],
    ])("keeps the database server's time when its machine's clock is stepped an hour %s after it started", async (_, step) => {
      let stepped = 0;
      const { clock } = await clockOf({ now: () => Date.now() + stepped });
      stepped = step;
      const before = clock.now();
      const server = await serverNow(storage);
      const after = clock.now();
      expect(server).toBeGreaterThan(before - 1_000);
      expect(server).toBeLessThan(after + 1_000);
      // Read again once the machine's new clock is measured, too.
      await expect.poll(async () => Math.abs((await serverNow(storage)) - clock.now()), { timeout: 30_000 }).toBeLessThan(1_000);
    });

    // NTP stepping the database server's clock (its VM resumed): processes that went on with the old offset for up to
    // a minute disagreed by the step with those that had read the new one. With two workers on PostgreSQL and the
    // server stepped an hour ahead, the ones on the new time took over the emails the others were sending: 192
    // duplicates of 696 emails at a real SMTP server.
    it.each([
      ['ahead', 3_600_000],
      ['back', -3_600_000],
    ])("follows the database server's clock within seconds when it is stepped an hour %s", async (_, step) => {
      const database = await createTestDatabase('postgres');
      const name = new URL(database.url).pathname.slice(1);
      const setup = await openStorage(database.url, { poolSize: 1 });
      // The server's clock as Tocsin reads it, clock_timestamp(), moved by an offset the test sets (its own function
      // before pg_catalog's on the database's search path).
      await sql`create table server_step (ms float8 not null)`.execute(setup.db);
      await sql`insert into server_step values (0)`.execute(setup.db);
      await sql`create function public.clock_timestamp() returns timestamptz language sql volatile as
        $$ select pg_catalog.clock_timestamp() + make_interval(secs => (select ms from public.server_step) / 1000) $$`.execute(setup.db);
      await sql.raw(`alter database ${name} set search_path = public, pg_catalog`).execute(setup.db);
      await setup.close();
      const stepping = await openStorage(database.url, { poolSize: 2 });
      const processes: DatabaseClock[] = [];
      try {
        for (let i = 0; i < 2; i++) processes.push(await databaseClock(stepping, systemClock, captureWarnings().log));
        await sql`update server_step set ms = ${step}`.execute(stepping.db);
        for (const clock of processes) {
          await expect.poll(async () => Math.abs((await serverNow(stepping)) - clock.now()), { timeout: 5_000 }).toBeLessThan(1_000);
        }
      } finally {
        for (const clock of processes) clock.stop();
        await stepping.close();
        await database.drop();
      }
    });

    // Carried forward by the monotonic clock, the time had fractions of a millisecond, which PostgreSQL's bigint
    // columns refuse: alerts posted in the moment after a step were answered 400 and lost, a worker's writes failed.
    it("gives whole milliseconds, which the database stores, in the moment after its machine's clock is stepped", async () => {
      let stepped = 0;
      const { clock } = await clockOf({ now: () => Date.now() + stepped });
      stepped = -3_600_000;
      const now = clock.now();
      expect(Number.isInteger(now), String(now)).toBe(true);
      await expect(enqueueDeliveries(storage.db, [testDelivery(tenant, 'stepped@example.com')], { now: () => now })).resolves.toBe(1);
    });

    it("takes no email another worker holds when its machine's clock is stepped a minute ahead after it started", async () => {
      await enqueueDeliveries(storage.db, [testDelivery(tenant, 'b@example.com')], { now: () => Date.now() });
      let stepped = 0;
      const { clock } = await clockOf({ now: () => Date.now() + stepped });
      // (The email of the test above may be taken with it, its lease run out on a slow machine.)
      const held = await claimDue(storage, { workerId: 'on-time', now: Date.now(), leaseMs: 10_000, limit: 10 });
      expect(held.deliveries.map((d) => d.recipient.address)).toContain('b@example.com');
      stepped = A_MINUTE;
      const taken = await claimDue(storage, { workerId: 'stepped-ahead', now: clock.now(), leaseMs: 10_000, limit: 10 });
      expect(taken.deliveries.map((d) => d.recipient.address)).not.toContain('b@example.com');
    });

    // A DBA's TimeZone and DateStyle (ALTER DATABASE … SET timezone, as the URL's options set them
    // here for these sessions alone): the server's clock is read as epoch milliseconds, not as text.
    it("is the machine's, without a warning, where the database's sessions are in Asia/Kolkata (+05:30) with DateStyle 'SQL, DMY'", async () => {
      const url = new URL(database.url);
      url.searchParams.set('options', '-c TimeZone=Asia/Kolkata -c DateStyle=SQL,DMY');
      const kolkata = await openStorage(url.toString(), { poolSize: 1 });
      try {
        const { rows } = await sql<{ zone: string; style: string }>`select current_setting('TimeZone') as zone, current_setting('DateStyle') as style`.execute(
          kolkata.db,
        );
        expect(rows[0]).toEqual({ zone: 'Asia/Kolkata', style: 'SQL, DMY' });
        const log = captureWarnings();
        const clock = await databaseClock(kolkata, systemClock, log.log);
        clocks.push(clock);
        const before = Date.now();
        const now = clock.now();
        expect(now).toBeGreaterThanOrEqual(before);
        expect(now).toBeLessThanOrEqual(Date.now());
        expect(log.entries).toEqual([]);
      } finally {
        await kolkata.close();
      }
    });
  } else {
    it("is the machine's on SQLite, whose processes share one machine", async () => {
      const { clock, log } = await clockOf(aMinuteAhead);
      expect(clock.now() - Date.now()).toBeGreaterThanOrEqual(A_MINUTE - 1_000);
      expect(log.entries).toEqual([]);
    });
  }

  it('is exactly the machine’s when its clock agrees with the database’s within a second, without a warning', async () => {
    const { clock, log } = await clockOf({ now: () => Date.now() + 300 });
    // Read between two readings of the machine's clock: exact, however long a loaded machine pauses between them.
    const before = Date.now() + 300;
    const now = clock.now();
    const after = Date.now() + 300;
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(after);
    expect(log.entries).toEqual([]);
  });
});
