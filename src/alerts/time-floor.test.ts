import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase, createTestDatabase, describeEachDialect, openTestStorage } from '../../test/support/storage.js';
import type { Db } from '../storage/database.js';
import { migrate } from '../storage/migrate.js';
import { type Storage, openStorage } from '../storage/storage.js';
import { alertTimeFloor, floorTransaction, raiseAlertTimeFloor } from './time-floor.js';

describe.runIf(DIALECTS.includes('postgres'))('the alerts time floor on PostgreSQL', () => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage('postgres');
  });
  afterAll(() => storage.close());

  it('is read by a function whose plans a connection keeps (PL/pgSQL), not one whose statements are parsed and planned in every commit', async () => {
    const { rows } = await sql<{ language: string }>`
      select l.lanname as language from pg_proc p join pg_language l on l.oid = p.prolang where p.proname = 'alert_time_floor_locked'`.execute(storage.db);
    expect(rows).toEqual([{ language: 'plpgsql' }]);
  });

  it('reads a floor raised while it waited for the lock, and holds the lock shared until its transaction ends', () => floorRaisedWhileWaiting(storage));
});

// A DBA may set default_transaction_isolation on the database or the role. Under repeatable read or
// serializable a transaction's statements all read the snapshot its first one took: the floor's read,
// whose snapshot was taken before the lock wait, returned the floor the scheduler had since raised
// past, and the alerts stamped under it fell into a window already judged, in no summary.
describe.runIf(DIALECTS.includes('postgres'))('the alerts time floor on a PostgreSQL database whose default isolation a DBA raised', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('postgres', { migrated: true });
  });
  afterAll(() => database?.drop());

  for (const isolation of ['repeatable read', 'serializable']) {
    it(`still reads a floor raised while it waited for the lock under ${isolation}`, async () => {
      const name = new URL(database.url).pathname.slice(1);
      const admin = await openStorage(database.url, { poolSize: 1 });
      await sql`alter database ${sql.id(name)} set default_transaction_isolation = ${sql.lit(isolation)}`.execute(admin.db).finally(() => admin.close());
      const storage = await openStorage(database.url, { poolSize: 3 });
      try {
        await floorRaisedWhileWaiting(storage);
      } finally {
        await storage.close();
      }
    });
  }
});

/**
 * floorRaisedWhileWaiting: a transaction storing alerts that waited for the floor's lock behind the
 * scheduler reads the floor the scheduler raised, and holds the lock shared until it ends.
 */
async function floorRaisedWhileWaiting(storage: Storage): Promise<void> {
  await storage.db.updateTable('alert_time_floor').set({ not_before: 1_000 }).where('id', '=', 1).execute();
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => {
    locked = resolve;
  });
  // The scheduler's side: the lock taken exclusive, the floor raised, then committed.
  const raising = storage.db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(hashtextextended('alerts.created_at floor', 0))`.execute(tx);
    await tx.updateTable('alert_time_floor').set({ not_before: 2_000 }).where('id', '=', 1).execute();
    locked();
    await held;
  });
  await isLocked;
  const reading = storage.db.transaction().execute(async (tx) => {
    const floor = await alertTimeFloor(tx);
    const { rows } = await sql<{ n: string }>`
      select count(*) as n from pg_locks where locktype = 'advisory' and mode = 'ShareLock' and granted and pid = pg_backend_pid()`.execute(tx);
    return { floor, shared: Number(rows[0]!.n) };
  });
  // The reader is queued behind the exclusive lock: its shared request shows in pg_locks, not granted.
  await expect
    .poll(async () => {
      const { rows } = await sql<{ n: string }>`
        select count(*) as n from pg_locks where locktype = 'advisory' and mode = 'ShareLock' and not granted and database = (select oid from pg_database where datname = current_database())`.execute(
        storage.db,
      );
      return Number(rows[0]!.n);
    })
    .toBe(1);
  release();
  await raising;
  expect(await reading).toEqual({ floor: 2_000, shared: 1 });
}

describe.runIf(DIALECTS.includes('postgres'))('a process that stops answering while it stores alerts, on PostgreSQL', () => {
  let database: TestDatabase;
  let frozen: Storage;
  let other: Storage;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    // The server ends its abandoned transaction after 2 s here, a minute in service (ABANDONED_TRANSACTION_MS).
    frozen = await openStorage(database.url, { poolSize: 1, abandonedTransactionMs: 2_000 });
    await migrate(frozen);
    other = await openStorage(database.url, { poolSize: 2 });
  });
  afterAll(async () => {
    await other?.close();
    await frozen?.close();
    await database?.drop();
  });

  // A process stopped (SIGSTOP, a paused VM) or cut off from the database in the middle of a group
  // commit holds the floor's lock shared, and the scheduler's exclusive request queued behind it
  // holds up every other process's next one: before, no api process stored an alert again (nor was
  // any summary decided) until the stopped one came back, or for hours, until TCP keepalive.
  it("lets the other processes raise the floor and store alerts again, and fails the stopped one's commit", async () => {
    let resume!: () => void;
    const stopped = new Promise<void>((resolve) => {
      resume = resolve;
    });
    let inside!: () => void;
    const began = new Promise<void>((resolve) => {
      inside = resolve;
    });
    const abandoned = floorTransaction(frozen)(async () => {
      inside();
      await stopped;
    }).then(
      () => 'committed',
      () => 'failed',
    );
    await began;
    await raiseAlertTimeFloor(other.db, 9_000);
    expect(await floorTransaction(other)(async (_tx, floor) => floor)).toBe(9_000);
    resume();
    // Its request was never answered 202: the alerts of a commit that fails are not acknowledged.
    expect(await abandoned).toBe('failed');
  }, 40_000);
});

describeEachDialect('a transaction that stores alerts, the floor read first', (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
  });
  afterAll(() => storage.close());

  const storedFloor = async () =>
    Number((await storage.db.selectFrom('alert_time_floor').select('not_before').where('id', '=', 1).executeTakeFirstOrThrow()).not_before);

  it('is given the floor, with the lock held shared on PostgreSQL, and commits what it wrote', async () => {
    await raiseAlertTimeFloor(storage.db, 5_000);
    const seen = await floorTransaction(storage)(async (tx, floor) => {
      await tx.updateTable('alert_time_floor').set({ not_before: 6_000 }).where('id', '=', 1).execute();
      if (dialect !== 'postgres') return { floor, shared: 1 };
      const { rows } = await sql<{ n: string }>`
        select count(*) as n from pg_locks where locktype = 'advisory' and mode = 'ShareLock' and granted and pid = pg_backend_pid()`.execute(tx);
      return { floor, shared: Number(rows[0]!.n) };
    });
    expect(seen).toEqual({ floor: 5_000, shared: 1 });
    expect(await storedFloor()).toBe(6_000);
  });

  it('rolls back what it wrote when its work fails, and fails with that error', async () => {
    await raiseAlertTimeFloor(storage.db, 7_000);
    const failure = await floorTransaction(storage)(async (tx) => {
      await tx.updateTable('alert_time_floor').set({ not_before: 8_000 }).where('id', '=', 1).execute();
      throw new Error('the work failed');
    }).catch((err: unknown) => err);
    expect((failure as Error).message).toBe('the work failed');
    expect(await storedFloor()).toBe(7_000);
    // The connection is free and out of any transaction: the next one begins and commits.
    expect(await floorTransaction(storage)(async (_tx, floor) => floor)).toBe(7_000);
  });

  it('keeps the statement journals of its alerts in memory on SQLite (a temp file per commit otherwise)', async () => {
    if (dialect !== 'sqlite') return;
    const tempStore = async (db: typeof storage.db) => (await sql<{ temp_store: number }>`pragma temp_store`.execute(db)).rows[0]?.temp_store;
    expect(await floorTransaction(storage)((tx) => tempStore(tx))).toBe(2);
    expect(await tempStore(storage.db)).toBe(0);
  });

  it.runIf(dialect === 'postgres')(
    "takes the resolution locks it is given as it begins, after the floor's lock, and is given the floor raised while it waited",
    async () => {
      await raiseAlertTimeFloor(storage.db, 9_000);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let raised!: () => void;
      const isRaised = new Promise<void>((resolve) => (raised = resolve));
      // The scheduler's side: the floor's lock exclusive, the floor raised, committed once let go.
      const raising = storage.db.transaction().execute(async (tx) => {
        await sql`select pg_advisory_xact_lock(hashtextextended('alerts.created_at floor', 0))`.execute(tx);
        await tx.updateTable('alert_time_floor').set({ not_before: 10_000 }).where('id', '=', 1).execute();
        raised();
        await held;
      });
      await isRaised;
      const resolutionLocksHeld = async (db: Db, ownOnly: boolean) =>
        (
          await sql<{ bucket: number; mode: string }>`select objid::int as bucket, mode from pg_locks
            where locktype = 'advisory' and objsubid = 2 and granted and (${!ownOnly} or pid = pg_backend_pid())
            and database = (select oid from pg_database where datname = current_database()) order by objid`.execute(db)
        ).rows;
      const beginning = floorTransaction(storage)(async (tx, floor) => ({ floor, locks: await resolutionLocksHeld(tx, true) }), {
        buckets: [5, 9],
        exclusive: [true, false],
      });
      try {
        // Waiting for the floor's lock, it holds none of its resolution locks yet.
        await expect
          .poll(async () =>
            Number(
              (
                await sql<{
                  n: string;
                }>`select count(*) as n from pg_locks where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())`.execute(
                  storage.db,
                )
              ).rows[0]!.n,
            ),
          )
          .toBe(1);
        expect(await resolutionLocksHeld(storage.db, false)).toEqual([]);
      } finally {
        release();
      }
      await raising;
      expect(await beginning).toEqual({
        floor: 10_000,
        locks: [
          { bucket: 5, mode: 'ExclusiveLock' },
          { bucket: 9, mode: 'ShareLock' },
        ],
      });
    },
  );

  it('never lowers the floor: a mark-all-read from a process whose clock is behind leaves alerts stamped past an earlier mark', async () => {
    await raiseAlertTimeFloor(storage.db, 20_000);
    await raiseAlertTimeFloor(storage.db, 15_000);
    expect(await storedFloor()).toBe(20_000);
  });
});
