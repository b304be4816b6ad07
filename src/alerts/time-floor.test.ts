import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestStorage } from '../../test/support/storage.js';
import type { Storage } from '../storage/storage.js';
import { alertTimeFloor, raiseAlertTimeFloor } from './time-floor.js';

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

  it('reads a floor raised while it waited for the lock, and holds the lock shared until its transaction ends', async () => {
    await raiseAlertTimeFloor(storage.db, 1_000);
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
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    await raising;
    expect(await reading).toEqual({ floor: 2_000, shared: 1 });
  });
});
