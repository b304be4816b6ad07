import fs from 'node:fs';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { describeEachDialect, createTestDatabase, openTestStorage } from '../../test/support/storage.js';
import { isStorageOutage } from './errors.js';
import { migrate } from './migrate.js';
import { SQLITE_BUSY_TIMEOUT_MS, type Storage, openStorage } from './storage.js';
import { writeTransaction } from './write-transaction.js';

const tenant = (id: string) => ({ id, name: id, display_name: id, time_zone: 'UTC', language: 'en', retention_days: 30, created_at: 1 });

describeEachDialect('a write transaction', (dialect) => {
  it('commits what its function wrote, or nothing when the function fails', async () => {
    const storage = await openTestStorage(dialect);
    try {
      const transaction = writeTransaction(storage);
      const written = await transaction(async (tx) => {
        await tx.insertInto('tenants').values(tenant('kept')).execute();
        return 'done';
      });
      expect(written).toBe('done');
      const failure = new Error('changed its mind');
      await expect(
        transaction(async (tx) => {
          await tx.insertInto('tenants').values(tenant('dropped')).execute();
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect((await storage.db.selectFrom('tenants').select('id').execute()).map((r) => r.id)).toEqual(['kept']);
    } finally {
      await storage.close();
    }
  });
});

describe('a write transaction on SQLite while another connection holds the write lock', () => {
  const opened: Storage[] = [];
  const drops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    for (const drop of drops.splice(0)) await drop();
  });

  /** Two connections (as two api processes would have) on one migrated SQLite file. */
  async function twoConnections(): Promise<[Storage, Storage]> {
    const database = await createTestDatabase('sqlite');
    drops.push(database.drop);
    const first = await openStorage(database.url);
    opened.push(first);
    await migrate(first);
    const second = await openStorage(database.url);
    opened.push(second);
    return [first, second];
  }

  /** holdWriteLock begins an immediate transaction on `storage` and commits it when `release` is called. */
  async function holdWriteLock(storage: Storage): Promise<{ release: () => Promise<void> }> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let begun!: () => void;
    const holding = new Promise<void>((resolve) => {
      begun = resolve;
    });
    const done = storage.db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      begun();
      await released;
      await sql`commit`.execute(conn);
    });
    await holding;
    return {
      release: async () => {
        release();
        await done;
      },
    };
  }

  it('waits for the lock without blocking its process: its reads are answered meanwhile, and it commits once the lock is free', async () => {
    const [holder, waiter] = await twoConnections();
    const lock = await holdWriteLock(holder);
    let refused!: () => void;
    const firstRefusal = new Promise<void>((resolve) => {
      refused = resolve;
    });
    const write = writeTransaction(waiter, { onBusy: () => refused() })(async (tx) => {
      await tx.insertInto('tenants').values(tenant('after-the-lock')).execute();
      return 'written';
    });
    await firstRefusal;
    // SQLite's own wait (busy_timeout) would hold the thread: this read could not be answered before the lock is free.
    expect(await waiter.db.selectFrom('tenants').select('id').execute()).toEqual([]);
    // Between tries the connection keeps its usual wait for every other statement.
    expect(waiter.sqlite!.pragma('busy_timeout', { simple: true })).toBe(SQLITE_BUSY_TIMEOUT_MS);
    await lock.release();
    expect(await write).toBe('written');
    expect((await holder.db.selectFrom('tenants').select('id').execute()).map((r) => r.id)).toEqual(['after-the-lock']);
  });

  it('leaves its process free while any other transaction waits for the lock too (the worker’s claims and results, the scheduler), and commits it once the lock is free', async () => {
    const [holder, waiter] = await twoConnections();
    const lock = await holdWriteLock(holder);
    const write = waiter.db.transaction().execute(async (tx) => {
      await tx.insertInto('tenants').values(tenant('through-kysely')).execute();
      return 'written';
    });
    // SQLite's own wait (busy_timeout) slept in the thread: no timer, no request, no SMTP reply of
    // the process was heard until the lock was free or 10 s had passed (a /healthz answered in 18 s).
    const started = Date.now();
    // One turn of the event loop: the write has been tried by then, and the turn ends at once unless it sleeps in the thread.
    await new Promise((resolve) => setImmediate(resolve));
    expect(Date.now() - started).toBeLessThan(1_000);
    await lock.release();
    expect(await write).toBe('written');
    expect((await holder.db.selectFrom('tenants').select('id').execute()).map((r) => r.id)).toEqual(['through-kysely']);
    expect(waiter.sqlite!.pragma('busy_timeout', { simple: true })).toBe(SQLITE_BUSY_TIMEOUT_MS);
  });

  it('leaves its process free while a write on its own (a lease renewal, a result) waits for the lock, and makes it once the lock is free', async () => {
    const [holder, waiter] = await twoConnections();
    const lock = await holdWriteLock(holder);
    const write = waiter.db.insertInto('tenants').values(tenant('on-its-own')).execute();
    const started = Date.now();
    // One turn of the event loop: the write has been tried by then, and the turn ends at once unless it sleeps in the thread.
    await new Promise((resolve) => setImmediate(resolve));
    expect(Date.now() - started).toBeLessThan(1_000);
    await lock.release();
    await write;
    expect((await holder.db.selectFrom('tenants').select('id').execute()).map((r) => r.id)).toEqual(['on-its-own']);
  });

  it('has a write on its own that waited long for the lock ask for its turn, and withdraw the request once it is made', async () => {
    const [holder, waiter] = await twoConnections();
    const lock = await holdWriteLock(holder);
    const write = waiter.db.insertInto('tenants').values(tenant('asking')).execute();
    // What the other processes' group commits look at before each try: they let the lock go to it.
    await expect.poll(() => holder.turn!.asked()).toBe(true);
    await lock.release();
    await write;
    // A request left behind would hold every group commit back until it went stale.
    expect(holder.turn!.asked()).toBe(false);
  });

  it('leaves the free lock to a statement of another process that asked for its turn, and takes it once that one has it', async () => {
    // A worker's lease renewal that waited past ASK_AFTER_MS asks; the group commits, which would
    // take the lock back to back, let it go first (else its lease ran out and its emails went twice).
    const [asker, committer] = await twoConnections();
    asker.turn!.ask();
    let refusals = 0;
    const written = await writeTransaction(committer, {
      onBusy: () => {
        if (++refusals === 3) asker.turn!.done();
      },
    })(async (tx) => {
      await tx.insertInto('tenants').values(tenant('after-the-turn')).execute();
      return refusals;
    });
    expect(written).toBe(3);
  });

  it('fails any transaction with SQLITE_BUSY, an outage (503), once its wait for the lock is over', async () => {
    const [holder, waiter] = await twoConnections();
    const lock = await holdWriteLock(holder);
    const failure = await waiter.db
      .transaction()
      .execute(async () => 'never')
      .catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'SQLITE_BUSY' });
    expect(isStorageOutage(failure)).toBe(true);
    await lock.release();
    expect(await waiter.db.transaction().execute(async () => 'afterwards')).toBe('afterwards');
  }, 20_000);

  it('fails with SQLITE_BUSY, an outage (503), once its wait is over', async () => {
    const [holder, waiter] = await twoConnections();
    const lock = await holdWriteLock(holder);
    const failure = await writeTransaction(waiter, { timeoutMs: 0 })(async () => 'never').catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'SQLITE_BUSY' });
    expect(isStorageOutage(failure)).toBe(true);
    await lock.release();
    // The connection is usable again, with its usual wait.
    expect(await writeTransaction(waiter)(async () => 'afterwards')).toBe('afterwards');
  });

  it('keeps its statement journals in memory only for its transaction, not after a begin that did not get the lock', async () => {
    const [holder, waiter] = await twoConnections();
    const lock = await holdWriteLock(holder);
    const failure = await writeTransaction(waiter, { timeoutMs: 0, journalsInMemory: true })(async () => 'never').catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'SQLITE_BUSY' });
    // The default again: the connection's sorts and temp tables outside a hot writer's transaction keep their files.
    expect(waiter.sqlite!.pragma('temp_store', { simple: true })).toBe(0);
    await lock.release();
  });
});

describe('a write transaction on SQLite once its file is removed or replaced', () => {
  it('is refused as an outage, not committed into a file no later start will open', async () => {
    const database = await createTestDatabase('sqlite');
    const storage = await openStorage(database.url, { poolSize: 1 });
    try {
      await migrate(storage);
      const file = database.url.slice('sqlite:'.length);
      const transaction = writeTransaction(storage);
      await transaction((tx) => tx.insertInto('tenants').values(tenant('before')).execute());
      fs.renameSync(file, `${file}.moved`);
      const refused = await transaction((tx) => tx.insertInto('tenants').values(tenant('after')).execute()).catch((err) => err);
      expect(isStorageOutage(refused)).toBe(true);
      expect(String(refused.message)).toMatch(/removed or replaced/);
    } finally {
      await storage.close();
      await database.drop();
    }
  });
});

/** The temp files SQLite has open in this process (its names start with etilqs_), from /proc. */
function openSqliteTempFiles(): string[] {
  const links = fs.readdirSync('/proc/self/fd').map((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return ''; // closed meanwhile
    }
  });
  return links.filter((link) => link.includes('etilqs_'));
}

describe("a hot writer's write transaction on SQLite", () => {
  // A multi-row insert that may abort midway keeps a statement journal of the pages it changes;
  // this one changes every page of a unique index of 3,000 rows, far past the 64 KiB that SQLite
  // keeps in memory by default before it spills the journal to a temp file.
  it.runIf(process.platform === 'linux')('keeps its statement journals in memory, not in a temp file, where a migration’s spill', async () => {
    const storage = await openTestStorage('sqlite');
    try {
      await sql`create table journalled (id integer primary key, v text not null unique)`.execute(storage.db);
      await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < 3000)
        insert into journalled (v) select printf('%080d', i * 7919 % 3001) from n`.execute(storage.db);
      const tempFilesDuring = (suffix: string, options: { journalsInMemory?: boolean }) =>
        writeTransaction(
          storage,
          options,
        )(async (tx) => {
          await sql`insert into journalled (v) select v || ${suffix} from journalled where length(v) = 80`.execute(tx);
          return openSqliteTempFiles();
        });
      expect(await tempFilesDuring('x', {})).toHaveLength(1);
      expect(await tempFilesDuring('y', { journalsInMemory: true })).toEqual([]);
      expect(openSqliteTempFiles()).toEqual([]);
      // Set only while its transaction runs, whether it commits or fails: a later sort or temp table keeps its file.
      const tempStore = async () => (await sql<{ temp_store: number }>`pragma temp_store`.execute(storage.db)).rows[0]?.temp_store;
      expect(await tempStore()).toBe(0);
      const failure = new Error('changed its mind');
      await expect(
        writeTransaction(storage, { journalsInMemory: true })(async () => {
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await tempStore()).toBe(0);
    } finally {
      await storage.close();
    }
  });
});
