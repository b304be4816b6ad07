import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/support/storage.js';
import { CheckpointThread } from './checkpoint-thread.js';
import { checkpointAtIdle } from './idle-checkpoint.js';
import { BUSY_CHECKPOINT_AFTER_CHANGES } from './idle-upkeep.js';
import { SQLITE_AUTOCHECKPOINT_PAGES, SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES, SQLITE_WAL_SIZE_LIMIT_BYTES, type Storage, openStorage } from './storage.js';

/** walCheckpointNumber reads the WAL header's checkpoint sequence number, which SQLite raises each time it starts the WAL afresh. */
const walCheckpointNumber = (file: string) => fs.readFileSync(`${file}-wal`).readUInt32BE(12);

/** fileIdOf is the device and inode the path names now. */
const fileIdOf = (file: string) => {
  const { dev, ino } = fs.statSync(file);
  return { dev, ino };
};

/** A thread's module that ends the thread when asked for its first checkpoint, as a crash would. */
const DIES_AT_FIRST_CHECKPOINT = new URL(
  `data:text/javascript,${encodeURIComponent("import { parentPort } from 'node:worker_threads'; parentPort.once('message', () => process.exit(3));")}`,
);
/** A thread's module that cannot start (better-sqlite3 missing, say). */
const FAILS_TO_START = new URL(`data:text/javascript,${encodeURIComponent("throw new Error('cannot load better-sqlite3');")}`);

const opened: { storage: Storage; drop: () => Promise<void> }[] = [];
afterEach(async () => {
  for (const { storage, drop } of opened.splice(0)) {
    await storage.close();
    await drop();
  }
});

/** sqliteWithWal opens an SQLite file whose WAL holds a few commits, and the file's path. */
async function sqliteWithWal(options: Parameters<typeof openStorage>[1] = {}) {
  const database = await createTestDatabase('sqlite');
  const storage = await openStorage(database.url, options);
  opened.push({ storage, drop: () => database.drop() });
  storage.sqlite!.exec('create table t (x text)');
  for (let i = 0; i < 5; i++) storage.sqlite!.prepare('insert into t values (?)').run('x'.repeat(1_000));
  return { storage, file: database.url.slice('sqlite:'.length) };
}

/** failingThread is a CheckpointThread running `entry`, the main connection's checkpoint its fallback, and the failures it told. */
async function failingThread(entry: URL) {
  const { storage, file } = await sqliteWithWal();
  const database = storage.sqlite!;
  const failures: Error[] = [];
  const thread = new CheckpointThread({
    file,
    fileId: fileIdOf(file),
    walSizeLimitBytes: SQLITE_WAL_SIZE_LIMIT_BYTES,
    inThread: () => checkpointAtIdle(database, (write) => write()),
    failed: (err) => failures.push(err),
    entry,
  });
  return { file, thread, failures };
}

describe("SQLite's idle checkpoint on a thread of its own", () => {
  it('copies and restarts the WAL while the main thread is busy, which waits for none of its fsyncs', async () => {
    const { storage, file } = await sqliteWithWal();
    const failures: Error[] = [];
    const thread = new CheckpointThread({
      file,
      fileId: fileIdOf(file),
      walSizeLimitBytes: SQLITE_WAL_SIZE_LIMIT_BYTES,
      inThread: () => {
        throw new Error('checkpointed on the main thread');
      },
      failed: (err) => failures.push(err),
    });
    const written = walCheckpointNumber(file);
    const done = thread.checkpoint();
    const atReturn = walCheckpointNumber(file);
    // The main thread busy (a loop that never yields) until the thread has restarted the WAL: it cannot be the one doing it.
    const deadline = Date.now() + 20_000;
    while (walCheckpointNumber(file) === written && Date.now() < deadline) {}
    const whileBusy = walCheckpointNumber(file);
    await done;
    await thread.close();

    expect(atReturn).toBe(written);
    expect(whileBusy).toBe(written + 1);
    expect(failures).toEqual([]);
    // All of it copied: the WAL restarted, holding only the restart's own frame (the header page, user_version unchanged).
    expect(storage.sqlite!.pragma('wal_checkpoint(PASSIVE)')).toEqual([{ busy: 0, log: 1, checkpointed: 1 }]);
  });

  it('falls back to the main thread, and says so once, when the thread ends in the middle of a checkpoint', async () => {
    const { file, thread, failures } = await failingThread(DIES_AT_FIRST_CHECKPOINT);
    const written = walCheckpointNumber(file);
    // The checkpoint under way when the thread ended is left to the next idle moment.
    await thread.checkpoint();
    expect(failures.map((err) => err.message)).toEqual(['the checkpoint thread ended with code 3']);
    expect(walCheckpointNumber(file)).toBe(written);

    const next = thread.checkpoint();
    // Done on the main thread, within the call.
    expect(walCheckpointNumber(file)).toBe(written + 1);
    await next;
    await thread.close();
    expect(failures).toHaveLength(1);
  });

  it('falls back to the main thread when the thread cannot start', async () => {
    const { file, thread, failures } = await failingThread(FAILS_TO_START);
    await thread.checkpoint();
    expect(failures.map((err) => err.message)).toEqual(['cannot load better-sqlite3']);
    const written = walCheckpointNumber(file);
    await thread.checkpoint();
    expect(walCheckpointNumber(file)).toBe(written + 1);
    await thread.close();
  });
});

describe('a closed checkpoint thread', () => {
  it('starts no thread again, for a start or a checkpoint asked after its close, which would hold the file open past it', async () => {
    const { storage, file } = await sqliteWithWal();
    const database = storage.sqlite!;
    const thread = new CheckpointThread({
      file,
      fileId: fileIdOf(file),
      walSizeLimitBytes: SQLITE_WAL_SIZE_LIMIT_BYTES,
      inThread: () => checkpointAtIdle(database, (write) => write()),
      failed: () => {},
    });
    await thread.close();
    thread.start();
    await thread.checkpoint();
    expect(thread.started).toBe(false);
  });
});

describe('a checkpoint thread started after a restored backup was moved into place', () => {
  it('does not open the restored file, which would read the replaced file’s WAL as its own and copy it in', async () => {
    const { storage, file } = await sqliteWithWal();
    const fileId = fileIdOf(file);
    await storage.sqlite!.backup(`${file}.backup`);
    // Through Kysely, whose commits record the WAL that the close sets aside once the file is replaced (sidecars.ts).
    for (let i = 0; i < 20; i++)
      await storage.db.transaction().execute((tx) =>
        tx
          .insertInto('t' as never)
          .values({ x: 'after the backup' } as never)
          .execute(),
      );
    fs.copyFileSync(`${file}.backup`, `${file}.restoring`);
    fs.renameSync(`${file}.restoring`, file);
    const failures: Error[] = [];
    const thread = new CheckpointThread({
      file,
      fileId,
      walSizeLimitBytes: SQLITE_WAL_SIZE_LIMIT_BYTES,
      inThread: () => {},
      failed: (err) => failures.push(err),
    });
    await thread.checkpoint();
    await thread.close();
    await storage.close();
    // The restored file as it was backed up: 5 rows, none of the 20 written after.
    const restored = new SqliteDatabase(file, { readonly: true });
    try {
      expect(restored.prepare('select count(*) from t').pluck().get()).toBe(5);
      expect(restored.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      restored.close();
    }
    expect(failures.map((err) => err.message)).toEqual([`${file} was replaced since the storage opened it`]);
  });
});

describe("the storage's idle checkpoint thread", () => {
  it('checkpoints at idle moments, and ends when the storage closes, its connection first: the main one closes last and removes the WAL', async () => {
    let checkpointed!: () => void;
    const checkpoint = new Promise<void>((resolve) => {
      checkpointed = resolve;
    });
    const database = await createTestDatabase('sqlite');
    const file = database.url.slice('sqlite:'.length);
    const storage = await openStorage(database.url, { idleUpkeep: { idleMs: 10, minCommits: 1, onCheckpoint: () => checkpointed() } });
    try {
      await storage.db.schema.createTable('t').addColumn('x', 'text').execute();
      await storage.db.transaction().execute((tx) =>
        tx
          .insertInto('t' as never)
          .values({ x: 'y' } as never)
          .execute(),
      );
      const written = walCheckpointNumber(file);
      await checkpoint;
      expect(walCheckpointNumber(file)).toBe(written + 1);
    } finally {
      await storage.close();
      await database.drop();
    }
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });

  it('keeps two storages on one file (two processes) correct, each checkpointing from its own thread', async () => {
    const database = await createTestDatabase('sqlite');
    const file = database.url.slice('sqlite:'.length);
    const checkpoints = [0, 0];
    const open = (which: 0 | 1) => openStorage(database.url, { idleUpkeep: { idleMs: 5, minCommits: 1, onCheckpoint: () => checkpoints[which]!++ } });
    const [one, two] = [await open(0), await open(1)];
    try {
      one.sqlite!.exec('create table t (x integer)');
      for (let i = 0; i < 40; i++) {
        const storage = i % 2 === 0 ? one : two;
        await storage.db.transaction().execute((tx) =>
          tx
            .insertInto('t' as never)
            .values({ x: i } as never)
            .execute(),
        );
        // An idle moment now and then, where either may checkpoint while the other commits.
        if (i % 8 === 7) await expect.poll(() => checkpoints[i % 2]).toBeGreaterThan(Math.floor(i / 16));
      }
      expect(two.sqlite!.prepare('select count(*) from t').pluck().get()).toBe(40);
      expect(one.sqlite!.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      await one.close();
      await two.close();
    }
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    await database.drop();
  });
});

describe('a process whose last work is closing a started checkpoint thread', () => {
  it('waits for the thread to end and goes on past the close, rather than running out of events with the close unresolved', async () => {
    const database = await createTestDatabase('sqlite');
    try {
      const here = path.dirname(fileURLToPath(import.meta.url));
      // What a server's shutdown or a command does last: the thread started by a checkpoint, then closed.
      const script = [
        `import { openStorage } from ${JSON.stringify(path.join(here, 'storage.ts'))};`,
        `const storage = await openStorage(${JSON.stringify(database.url)}, { idleUpkeep: { idleMs: 1, minCommits: 1, onCheckpoint: () => checkpointed() } });`,
        'let checkpointed;',
        'const checkpoint = new Promise((resolve) => { checkpointed = resolve; });',
        "await storage.db.schema.createTable('t').addColumn('x', 'text').execute();",
        "await storage.db.transaction().execute((tx) => tx.insertInto('t').values({ x: 'y' }).execute());",
        // The idle upkeep's timer does not hold the process: this does, until the checkpoint.
        'const holding = setInterval(() => {}, 1_000);',
        'await checkpoint;',
        'clearInterval(holding);',
        'await storage.close();',
        "console.log('closed');",
      ].join('\n');
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
      // Before: exit code 13 (an unsettled top-level await) and nothing printed.
      expect({ status: run.status, stdout: run.stdout.trim() }, run.stderr).toEqual({ status: 0, stdout: 'closed' });
    } finally {
      await database.drop();
    }
  });
});

/** A WAL frame: its 24-byte header and a page of SQLite's default 4,096 bytes. */
const WAL_FRAME_BYTES = 24 + 4_096;

/** NO_IDLE_MOMENT keeps the idle checkpoint out of a test: whatever copies the WAL is the busy checkpoint or SQLite's own. */
const NO_IDLE_MOMENT = 600_000;

/**
 * commitRows commits `rows` rows of `bytes` characters into t through Kysely, as the api's group
 * commits do, then lets the event loop turn, as the api's does between two commits (requests read,
 * the thread's answers heard): Kysely's statements on better-sqlite3 resolve without one.
 */
const commitRows = async (storage: Storage, rows: number, bytes: number) => {
  await storage.db.transaction().execute((tx) =>
    tx
      .insertInto('t' as never)
      .values(Array.from({ length: rows }, () => ({ x: 'x'.repeat(bytes) })) as never)
      .execute(),
  );
  await new Promise((resolve) => setImmediate(resolve));
};

/** busyStorage opens a storage on `url` with no idle moment, counting its busy checkpoints, its table t made and copied into the file. */
async function busyStorage(url: string, options: Parameters<typeof openStorage>[1] = {}) {
  const copies = { done: 0 };
  const storage = await openStorage(url, { ...options, idleUpkeep: { idleMs: NO_IDLE_MOMENT, onBusyCheckpoint: () => copies.done++ } });
  storage.sqlite!.exec('create table if not exists t (x text)');
  storage.sqlite!.pragma('wal_checkpoint(TRUNCATE)');
  return { storage, copies };
}

describe("SQLite's checkpoint between busy commits", () => {
  it('copies the WAL on its thread after 1,500 rows while the api goes on committing, with no idle moment and long before SQLite’s own', async () => {
    const database = await createTestDatabase('sqlite');
    const file = database.url.slice('sqlite:'.length);
    const { storage, copies } = await busyStorage(database.url);
    opened.push({ storage, drop: () => database.drop() });
    const before = fs.statSync(file).size;
    // 1,500 rows of 200 characters: about 80 pages, far below SQLite's own checkpoint (1,000 pages, 4,000 now).
    for (let i = 0; i < BUSY_CHECKPOINT_AFTER_CHANGES / 100; i++) await commitRows(storage, 100, 200);
    // The api goes on committing while the thread copies; a bounded count of commits, not a timer.
    let more = 0;
    while (copies.done === 0 && more < 2_000) {
      await commitRows(storage, 1, 200);
      more++;
    }

    expect(copies.done).toBe(1);
    // The rows were copied into the database file: before, nothing did until an idle moment or 1,000 pages.
    expect(fs.statSync(file).size).toBeGreaterThan(before + BUSY_CHECKPOINT_AFTER_CHANGES * 200);
    expect(storage.sqlite!.pragma('wal_autocheckpoint', { simple: true })).toBe(SQLITE_AUTOCHECKPOINT_PAGES);
    expect(storage.sqlite!.prepare('select count(*) from t').pluck().get()).toBe(BUSY_CHECKPOINT_AFTER_CHANGES + more);
    expect(storage.sqlite!.pragma('integrity_check', { simple: true })).toBe('ok');
  });

  it('keeps the WAL bounded over a long run of commits by SQLite’s own checkpoint behind the thread’s: a row count, not a timer', async () => {
    const database = await createTestDatabase('sqlite');
    const file = database.url.slice('sqlite:'.length);
    const { storage, copies } = await busyStorage(database.url);
    opened.push({ storage, drop: () => database.drop() });
    // 200 commits of 150 rows of 1,000 characters: about 7,500 pages, twice the raised bound.
    let largest = 0;
    for (let i = 0; i < 200; i++) {
      await commitRows(storage, 150, 1_000);
      largest = Math.max(largest, fs.statSync(`${file}-wal`).size);
    }
    // The bound, and a commit's 40 pages or so that the commit past it still appends.
    expect(largest).toBeLessThanOrEqual((SQLITE_AUTOCHECKPOINT_PAGES + 100) * WAL_FRAME_BYTES + 32);
    expect(copies.done).toBeGreaterThan(0);
    expect(storage.sqlite!.prepare('select count(*) from t').pluck().get()).toBe(200 * 150);
  }, 120_000);

  it('keeps two storages on one file (two api processes) correct, each copying from its own thread while the other commits', async () => {
    const database = await createTestDatabase('sqlite');
    const file = database.url.slice('sqlite:'.length);
    const one = await busyStorage(database.url);
    const two = await busyStorage(database.url);
    try {
      // Each commits 2,000 rows, the two by turns: each connection counts its own.
      for (let i = 0; i < 40; i++) await commitRows(i % 2 === 0 ? one.storage : two.storage, 100, 200);
      await expect.poll(() => [one.copies.done, two.copies.done]).toEqual([1, 1]);
      expect(two.storage.sqlite!.prepare('select count(*) from t').pluck().get()).toBe(4_000);
      expect(one.storage.sqlite!.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      await one.storage.close();
      await two.storage.close();
    }
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    await database.drop();
  });

  it('is left to SQLite’s own checkpoint once the thread ended, not run on the main thread inside the commits', async () => {
    const { file, thread, failures } = await failingThread(DIES_AT_FIRST_CHECKPOINT);
    await thread.checkpoint('busy');
    expect(failures.map((err) => err.message)).toEqual(['the checkpoint thread ended with code 3']);
    const written = walCheckpointNumber(file);
    // The fallback (the main connection's idle checkpoint) restarts the WAL: a busy checkpoint does not run it.
    await thread.checkpoint('busy');
    expect(walCheckpointNumber(file)).toBe(written);
    await thread.checkpoint('idle');
    expect(walCheckpointNumber(file)).toBe(written + 1);
    await thread.close();
  });

  it('gives SQLite’s own checkpoint back its 1,000 pages once the thread failed, which keeps the WAL bounded as before', async () => {
    const database = await createTestDatabase('sqlite');
    const file = database.url.slice('sqlite:'.length);
    let failed!: () => void;
    const failure = new Promise<void>((resolve) => {
      failed = resolve;
    });
    const { storage, copies } = await busyStorage(database.url, { logger: { warn: () => failed() } });
    expect(storage.sqlite!.pragma('wal_autocheckpoint', { simple: true })).toBe(SQLITE_AUTOCHECKPOINT_PAGES);
    opened.push({ storage, drop: () => database.drop() });
    // A file moved into place over the one opened (a restore) is what the thread refuses to open, and fails.
    fs.copyFileSync(file, `${file}.restoring`);
    fs.renameSync(`${file}.restoring`, file);
    storage.checkpoints!.start();
    await failure;
    expect(storage.sqlite!.pragma('wal_autocheckpoint', { simple: true })).toBe(SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES);

    // 60 commits of 100 rows of 1,000 characters, about 1,500 pages: past the default bound, below the raised one.
    let largest = 0;
    for (let i = 0; i < 60; i++) {
      storage.sqlite!.transaction(() => {
        const insert = storage.sqlite!.prepare('insert into t values (?)');
        for (let n = 0; n < 100; n++) insert.run('x'.repeat(1_000));
      })();
      storage.noteCommit!();
      largest = Math.max(largest, fs.statSync(`${file}-wal`).size);
    }
    expect(largest).toBeLessThanOrEqual((SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES + 100) * WAL_FRAME_BYTES + 32);
    expect(copies.done).toBe(0);
  });
});
