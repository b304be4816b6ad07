import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/support/storage.js';
import { BUSY_CHECKPOINT_AFTER_CHANGES, IdleUpkeep } from './idle-upkeep.js';
import { migrate } from './migrate.js';
import { SQLITE_WAL_SIZE_LIMIT_BYTES, openStorage } from './storage.js';
import { writeTransaction } from './write-transaction.js';

const tenant = (id: string) => ({ id, name: id, display_name: 'x'.repeat(2_000), time_zone: 'UTC', language: 'en', retention_days: 30, created_at: 1 });

/**
 * sqliteWithIdleUpkeep opens a migrated SQLite database whose idle upkeep checkpoints after
 * `minCommits` commits, and a promise of its first checkpoint. Migrated through a connection of
 * its own, so that the connection under test counts only the test's commits, and checkpointed
 * there, so that what the test writes is in the WAL only.
 */
async function sqliteWithIdleUpkeep(minCommits: number, idleMs = 10, onCheckpoint?: () => void) {
  const database = await createTestDatabase('sqlite');
  const migrating = await openStorage(database.url);
  await migrate(migrating);
  // A migration that rebuilds a table leaves its old pages free in the file, where the test's rows
  // would land without growing it: the file is compacted first, so that what the checkpoint copies shows.
  migrating.sqlite!.exec('vacuum');
  migrating.sqlite!.pragma('wal_checkpoint(TRUNCATE)');
  await migrating.close();
  let checkpointed!: () => void;
  const checkpoint = new Promise<void>((resolve) => {
    checkpointed = resolve;
  });
  const storage = await openStorage(database.url, {
    idleUpkeep: {
      idleMs,
      minCommits,
      onCheckpoint: () => {
        checkpointed();
        onCheckpoint?.();
      },
    },
  });
  return { database, file: database.url.slice('sqlite:'.length), storage, checkpoint };
}

describe("SQLite's checkpoint when the process idles after writing", () => {
  it('copies the commits of Kysely transactions and of the write transaction from the WAL into the database file', async () => {
    // 40 commits below, 20 of each kind: a checkpoint proves that both kinds were counted.
    const { database, file, storage, checkpoint } = await sqliteWithIdleUpkeep(40);
    try {
      const before = fs.statSync(file).size;
      const write = writeTransaction(storage);
      for (let i = 0; i < 20; i++) {
        await storage.db.transaction().execute((tx) =>
          tx
            .insertInto('tenants')
            .values(tenant(`kysely-${i}`))
            .execute(),
        );
        await write((tx) =>
          tx
            .insertInto('tenants')
            .values(tenant(`write-${i}`))
            .execute(),
        );
      }
      expect(fs.statSync(file).size).toBe(before);

      await checkpoint;
      expect(fs.statSync(file).size).toBeGreaterThan(before + 40 * 2_000);
    } finally {
      await storage.close();
      await database.drop();
    }
  });
});

describe("SQLite's idle checkpoint after a commit that changed many rows", () => {
  it('copies a single commit of 256 rows (an ingest batch’s) at the next idle moment, far fewer than the commits it waits for', async () => {
    // The rows come from the connection (SQLite's total_changes()): the tests of the rule count
    // their own, so a storage that never handed the upkeep its connection's count passed them.
    const { database, file, storage, checkpoint } = await sqliteWithIdleUpkeep(1_000);
    try {
      const before = fs.statSync(file).size;
      await writeTransaction(storage)((tx) =>
        tx
          .insertInto('tenants')
          .values(Array.from({ length: 256 }, (_, i) => tenant(`batch-${i}`)))
          .execute(),
      );
      await checkpoint;
      expect(fs.statSync(file).size).toBeGreaterThan(before + 256 * 2_000);
    } finally {
      await storage.close();
      await database.drop();
    }
  });
});

describe("SQLite's idle checkpoint beside another process that writes", () => {
  it('waits while another connection holds the write lock that this one asks for, and runs once this one has had it', async () => {
    // An api process beside another (`--processes 2`) waits for the other's commit in most of its
    // turns with an idle event loop: it checkpointed then, 80-90 times in a bench:ingest run against 6.
    const events: string[] = [];
    let checkpointed = () => {};
    const { database, storage, checkpoint } = await sqliteWithIdleUpkeep(1, 100, () => {
      events.push('checkpoint');
      checkpointed();
    });
    const other = await openStorage(database.url);
    try {
      // A first checkpoint starts the checkpoint's thread, whose start would otherwise delay the one under test.
      await writeTransaction(storage)((tx) => tx.insertInto('tenants').values(tenant('first')).execute());
      await checkpoint;
      const next = new Promise<void>((resolve) => {
        checkpointed = resolve;
      });
      // A commit of this connection: the wait for an idle moment starts.
      await writeTransaction(storage)((tx) => tx.insertInto('tenants').values(tenant('mine')).execute());
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let held!: () => void;
      const holding = new Promise<void>((resolve) => {
        held = resolve;
      });
      const others = writeTransaction(other)(async (tx) => {
        await tx.insertInto('tenants').values(tenant('theirs')).execute();
        held();
        await released;
      });
      await holding;
      // Refused for three idle waits' time, a try every millisecond or so.
      let firstRefusal: number | undefined;
      let waited!: () => void;
      const waitedLong = new Promise<void>((resolve) => {
        waited = resolve;
      });
      const onBusy = () => {
        firstRefusal ??= performance.now();
        if (performance.now() - firstRefusal >= 300) waited();
      };
      const mine = writeTransaction(storage, { onBusy })((tx) => tx.insertInto('tenants').values(tenant('mine-again')).execute());
      await waitedLong;
      events.push('released');
      release();
      await Promise.all([others, mine]);

      await next;
      expect(events).toEqual(['checkpoint', 'released', 'checkpoint']);
    } finally {
      await other.close();
      await storage.close();
      await database.drop();
    }
  });
});

/** walCheckpointNumber reads the WAL header's checkpoint sequence number, which SQLite raises each time it starts the WAL afresh. */
const walCheckpointNumber = (file: string) => fs.readFileSync(`${file}-wal`).readUInt32BE(12);

describe("SQLite's WAL after the idle checkpoint", () => {
  it('starts afresh at the idle moment, not in the next commit (whose header fsync was on a Fatal alert’s path)', async () => {
    const { database, file, storage, checkpoint } = await sqliteWithIdleUpkeep(2);
    try {
      const write = writeTransaction(storage);
      for (const id of ['a', 'b']) await write((tx) => tx.insertInto('tenants').values(tenant(id)).execute());
      const written = walCheckpointNumber(file);

      await checkpoint;
      expect(walCheckpointNumber(file)).toBe(written + 1);
      // The next commit appends to the WAL started at the idle moment, and the rows are all there.
      await write((tx) => tx.insertInto('tenants').values(tenant('c')).execute());
      expect(walCheckpointNumber(file)).toBe(written + 1);
      expect(await storage.db.selectFrom('tenants').select('id').where('id', 'in', ['a', 'b', 'c']).execute()).toHaveLength(3);
    } finally {
      await storage.close();
      await database.drop();
    }
  });
});

describe('the idle upkeep', () => {
  it('waits while the connection is inside a transaction, and runs once it is out', async () => {
    let inTransaction = true;
    let tries = 0;
    let ran!: () => void;
    const done = new Promise<void>((resolve) => {
      ran = resolve;
    });
    const runs: boolean[] = [];
    const idle = new IdleUpkeep(
      {
        checkpoint: () => void runs.push(inTransaction),
        scavenge: () => {},
        inTransaction: () => {
          // Out of the transaction from its third look on.
          if (++tries >= 3) inTransaction = false;
          return inTransaction;
        },
      },
      { idleMs: 1, minCommits: 1, onCheckpoint: () => ran() },
    );
    idle.noteCommit();
    await done;
    idle.close();
    expect(runs).toEqual([false]);
    expect(tries).toBe(3);
  });

  it('waits while an urgent email is under way (a Fatal alert’s, its server’s replies awaited with the event loop idle), and runs once it has been answered', async () => {
    let looks = 0;
    let sending = true;
    const ran: string[] = [];
    let checkpointed!: () => void;
    const done = new Promise<void>((resolve) => {
      checkpointed = resolve;
    });
    const idle = new IdleUpkeep(
      {
        checkpoint: () => void ran.push(sending ? 'checkpoint while sending' : 'checkpoint'),
        scavenge: () => void ran.push(sending ? 'scavenge while sending' : 'scavenge'),
        inTransaction: () => false,
      },
      { idleMs: 1, minCommits: 1, onCheckpoint: () => checkpointed() },
    );
    idle.waitWhile(() => {
      // The server answers before the third look.
      if (++looks >= 3) sending = false;
      return sending;
    });
    idle.noteCommit();
    await done;
    idle.close();
    expect(ran).toEqual(['scavenge', 'checkpoint']);
    expect(looks).toBe(3);
  });

  it('scavenges at each idle moment, and checkpoints only after enough commits', async () => {
    const done: string[] = [];
    let idleOnce!: () => void;
    const upkeep = new Promise<void>((resolve) => {
      idleOnce = resolve;
    });
    const idle = new IdleUpkeep(
      {
        checkpoint: () => void done.push('checkpoint'),
        scavenge: () => {
          done.push('scavenge');
          idleOnce();
        },
        inTransaction: () => false,
      },
      { idleMs: 1, minCommits: 2 },
    );
    idle.noteCommit();
    await upkeep;
    idle.close();
    expect(done).toEqual(['scavenge']);
  });
});

/**
 * countingUpkeep is an IdleUpkeep with its own defaults that counts its checkpoints, over a connection
 * that has changed `changes` rows; `commitsThenIdle` notes commits and resolves at the idle moment
 * after them, once the upkeep has decided on its checkpoint (in the same turn as its scavenge).
 */
function countingUpkeep() {
  const state = { checkpoints: 0, changes: 0 };
  let idleMoment!: () => void;
  const idle = new IdleUpkeep(
    {
      checkpoint: () => void state.checkpoints++,
      scavenge: () => idleMoment(),
      inTransaction: () => false,
      changes: () => state.changes,
    },
    { idleMs: 1 },
  );
  const commitsThenIdle = (commits: number) => {
    const moment = new Promise<void>((resolve) => {
      idleMoment = resolve;
    });
    for (let i = 0; i < commits; i++) idle.noteCommit();
    return moment;
  };
  return { idle, state, commitsThenIdle };
}

describe('how often the idle upkeep checkpoints', () => {
  it('leaves the WAL of 31 commits for a later idle moment and copies it after the 32nd: the same hot pages once per 16 Fatal alerts, not once per 4', async () => {
    const { idle, state, commitsThenIdle } = countingUpkeep();
    try {
      state.changes = 31 * 2;
      await commitsThenIdle(31);
      expect(state.checkpoints).toBe(0);

      state.changes += 2;
      await commitsThenIdle(1);
      expect(state.checkpoints).toBe(1);
    } finally {
      idle.close();
    }
  });

  it('checkpoints after fewer commits once they changed 256 rows (an ingest batch’s): 32 such commits would take the WAL past SQLite’s own checkpoint, on a request’s path', async () => {
    const { idle, state, commitsThenIdle } = countingUpkeep();
    try {
      state.changes = 255;
      await commitsThenIdle(1);
      expect(state.checkpoints).toBe(0);

      state.changes += 1;
      await commitsThenIdle(1);
      expect(state.checkpoints).toBe(1);

      // Counted from the last checkpoint: a few small commits after it wait for their 32.
      state.changes += 3;
      await commitsThenIdle(1);
      expect(state.checkpoints).toBe(1);
    } finally {
      idle.close();
    }
  });
});

describe("the idle upkeep's checkpoint between busy commits", () => {
  it('is asked for after the commit that takes the changed rows 1,500 past the last one’s, with no idle moment, and counts from there', async () => {
    const asked: number[] = [];
    let copied!: () => void;
    let done = new Promise<void>((resolve) => {
      copied = resolve;
    });
    const state = { changes: 0 };
    const idle = new IdleUpkeep(
      {
        checkpoint: () => {},
        scavenge: () => {},
        inTransaction: () => false,
        changes: () => state.changes,
        copyWhileBusy: async () => void asked.push(state.changes),
      },
      // No idle moment within the test: the busy checkpoint is asked for from the commit itself.
      { idleMs: 600_000, onBusyCheckpoint: () => copied() },
    );
    try {
      state.changes = BUSY_CHECKPOINT_AFTER_CHANGES - 1;
      idle.noteCommit();
      expect(asked).toEqual([]);

      state.changes += 1;
      idle.noteCommit();
      expect(asked).toEqual([BUSY_CHECKPOINT_AFTER_CHANGES]);
      await done;

      done = new Promise<void>((resolve) => {
        copied = resolve;
      });
      // Counted from the last one: 1,499 more rows ask for none, the 1,500th does.
      state.changes += BUSY_CHECKPOINT_AFTER_CHANGES - 1;
      idle.noteCommit();
      state.changes += 1;
      idle.noteCommit();
      expect(asked).toEqual([BUSY_CHECKPOINT_AFTER_CHANGES, 2 * BUSY_CHECKPOINT_AFTER_CHANGES]);
      await done;
    } finally {
      idle.close();
    }
  });
});

describe("SQLite's WAL file after a burst bigger than its size limit", () => {
  it('is cut back to the limit once the idle checkpoint has copied it all: a burst left it at its high-water mark for good (200 MB seen)', async () => {
    const { database, file, storage, checkpoint } = await sqliteWithIdleUpkeep(1);
    try {
      const write = writeTransaction(storage);
      // One commit of about 1.5 times the limit in rows of 4 KiB, so the WAL grows past the limit.
      const rows = Math.ceil((1.5 * SQLITE_WAL_SIZE_LIMIT_BYTES) / 4_096);
      await write(async (tx) => {
        for (let i = 0; i < rows; i += 500) {
          await tx
            .insertInto('tenants')
            .values(Array.from({ length: Math.min(500, rows - i) }, (_, n) => ({ ...tenant(`burst-${i + n}`), display_name: 'x'.repeat(4_000) })))
            .execute();
        }
      });
      expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(SQLITE_WAL_SIZE_LIMIT_BYTES);

      await checkpoint;
      expect(fs.statSync(`${file}-wal`).size).toBeLessThanOrEqual(SQLITE_WAL_SIZE_LIMIT_BYTES);
      expect(
        await storage.db
          .selectFrom('tenants')
          .select('id')
          .where('id', '=', `burst-${rows - 1}`)
          .execute(),
      ).toHaveLength(1);
    } finally {
      await storage.close();
      await database.drop();
    }
  }, 60_000);
});
