import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newAlert } from '../../test/support/alerts.js';
import type { Storage } from '../storage/storage.js';
import { describeEachDialect, openTestStorage } from '../../test/support/storage.js';
import type { NewAlert } from './input.js';
import { RESOLUTION_LOCK_BUCKETS } from './resolution-locks.js';
import { DEFAULT_FLOOD_WINDOW_MS, insertAlerts, writeAlerts } from './store.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;

const flap = (dedupKey: string): NewAlert =>
  newAlert({ severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.NotResponding', message: 'flap', dedupKey });

describeEachDialect('floods of a dedup key stored by concurrent commits', (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
    await storage.db
      .insertInto('tenants')
      .values({ id: 'floods', name: 'floods', display_name: 'floods', time_zone: 'UTC', language: 'en', retention_days: 30, created_at: T0 })
      .execute();
  });
  afterAll(() => storage.close());

  /**
   * Stores one alert of `key` at `now` in a transaction of its own, answering the flood it joined and the key locks it held
   * (single bigint keys: its resolution lock, of two integers, it takes in every commit, resolution-locks.ts).
   */
  const store = (key: string, now: number, alert: NewAlert = flap(key)) =>
    storage.db.transaction().execute(async (tx) => {
      const [id] = await writeAlerts(tx, 'floods', [alert], now);
      const group = await tx.selectFrom('alerts').select('group_id').where('id', '=', id!).executeTakeFirstOrThrow();
      const locks =
        dialect === 'postgres'
          ? Number(
              (await sql<{ n: string }>`select count(*) as n from pg_locks where locktype = 'advisory' and objsubid = 1 and pid = pg_backend_pid()`.execute(tx))
                .rows[0]!.n,
            )
          : 0;
      return { id: id!, group: group.group_id, locks };
    });

  it.runIf(dialect === 'postgres')(
    'locks a key only while its flood may start anew: none yet, or past half its window; a fresh flood is joined without waiting',
    async () => {
      const first = await store('robot-1', T0);
      expect(first).toMatchObject({ group: first.id, locks: 1 });
      // Joined a minute later: no other commit can start this flood anew, so none waits for another.
      expect(await store('robot-1', T0 + MIN)).toMatchObject({ group: first.id, locks: 0 });
      // Past half the window the flood may have ended for a commit that began a little later: locked, then joined.
      expect(await store('robot-1', T0 + MIN + DEFAULT_FLOOD_WINDOW_MS / 2 + 1)).toMatchObject({ group: first.id, locks: 1 });
      // Past the whole window a new flood starts, under the lock.
      const later = T0 + 2 * MIN + 2 * DEFAULT_FLOOD_WINDOW_MS;
      const next = await store('robot-1', later);
      expect(next).toMatchObject({ group: next.id, locks: 1 });
    },
  );

  it.runIf(dialect === 'postgres')(
    "holds at most a bucket's lock per key of a commit of thousands of new keys, so that a few such commits at once cannot fill PostgreSQL's lock table",
    async () => {
      const alerts = Array.from({ length: 3_000 }, (_, i) => flap(`new-robot-${i}`));
      const held = await storage.db.transaction().execute(async (tx) => {
        await writeAlerts(tx, 'floods', alerts, T0 + 6 * DEFAULT_FLOOD_WINDOW_MS);
        const { rows } = await sql<{ objsubid: number; n: number }>`select objsubid, count(*)::int as n from pg_locks
          where locktype = 'advisory' and pid = pg_backend_pid() and database = (select oid from pg_database where datname = current_database())
          group by objsubid`.execute(tx);
        return new Map(rows.map((r) => [Number(r.objsubid), r.n]));
      });
      // One bigint: the floods' locks; two integers: the resolution locks (resolution-locks.ts). Each key was new, so locked.
      expect(held.get(1)).toBeGreaterThan(RESOLUTION_LOCK_BUCKETS / 2);
      expect(held.get(1)).toBeLessThanOrEqual(RESOLUTION_LOCK_BUCKETS);
      expect(held.get(2)).toBeLessThanOrEqual(RESOLUTION_LOCK_BUCKETS);
      // Each key still started a flood of its own.
      const groups = await storage.db.selectFrom('alerts').select(['id', 'group_id']).where('dedup_key', 'like', 'new-robot-%').execute();
      expect(groups).toHaveLength(alerts.length);
      expect(groups.every((g) => g.group_id === g.id)).toBe(true);
    },
  );

  it.runIf(dialect === 'postgres')(
    "takes the keys' locks and their resolution locks with statements each connection prepares once, not parsed and planned in every commit that locks",
    async () => {
      await storage.db.connection().execute(async (conn) => {
        for (const [i, key] of ['robot-p1', 'robot-p2', 'robot-p3'].entries()) {
          await conn.transaction().execute((tx) => writeAlerts(tx, 'floods', [flap(key)], T0 + 4 * DEFAULT_FLOOD_WINDOW_MS + i));
        }
        const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(conn);
        expect(rows.filter((r) => r.statement.includes('pg_advisory_xact_lock(h)'))).toHaveLength(1);
        expect(rows.filter((r) => r.statement.includes('pg_advisory_xact_lock_shared('))).toHaveLength(1);
      });
    },
  );

  it('keeps a sliding flood whichever commit path stored it', async () => {
    const [a] = await insertAlerts(storage.db, 'floods', [flap('robot-2')], T0);
    const b = await store('robot-2', T0 + DEFAULT_FLOOD_WINDOW_MS - 1);
    const c = await store('robot-2', T0 + 2 * DEFAULT_FLOOD_WINDOW_MS - 2);
    expect([b.group, c.group]).toEqual([a, a]);
  });

  it('starts a new flood for a repeat past the window, so a robot failing again later gets its own email', async () => {
    const first = await store('robot-5', T0);
    const later = await store('robot-5', T0 + DEFAULT_FLOOD_WINDOW_MS + MIN);
    expect(later.group).toBe(later.id);
    expect(later.group).not.toBe(first.id);
  });

  it("never joins another tenant's flood of the same dedup key: each tenant's robot gets its own email", async () => {
    await storage.db
      .insertInto('tenants')
      .values({ id: 'floods-other', name: 'floods-other', display_name: 'floods-other', time_zone: 'UTC', language: 'en', retention_days: 30, created_at: T0 })
      .execute();
    const [theirs] = await insertAlerts(storage.db, 'floods-other', [flap('robot-6')], T0);
    const ours = await store('robot-6', T0 + MIN);
    expect(ours.group).toBe(ours.id);
    expect(ours.group).not.toBe(theirs);
  });

  it('ends a flood at its resolution: the failure after a Success of the key starts a new flood, so it gets its own email', async () => {
    // Alertmanager's resolved alert is a Success with the firing alert's key: it joins the flood it resolves…
    const fired = await store('robot-3', T0);
    const resolved = await store('robot-3', T0 + MIN, { ...flap('robot-3'), severity: 'Success', message: 'Resolved: flap' });
    expect(resolved.group).toBe(fired.id);
    // …and the robot failing again minutes later is a new incident, not a repeat of the resolved one.
    const again = await store('robot-3', T0 + 2 * MIN);
    expect(again.group).toBe(again.id);
    expect((await store('robot-3', T0 + 3 * MIN)).group).toBe(again.id);
    // Repeats of the resolution are still one flood, with the failure they resolve.
    const success = { ...flap('robot-3'), severity: 'Success' as const, message: 'Resolved: flap' };
    expect((await store('robot-3', T0 + 4 * MIN, success)).group).toBe(again.id);
    expect((await store('robot-3', T0 + 5 * MIN, success)).group).toBe(again.id);
    // The same within one batch.
    const ok = { ...flap('robot-4'), severity: 'Success' as const };
    const batch = await insertAlerts(storage.db, 'floods', [flap('robot-4'), ok, ok, flap('robot-4')], T0);
    const groups = await storage.db.selectFrom('alerts').select(['id', 'group_id']).where('id', 'in', batch).execute();
    const groupOf = new Map(groups.map((g) => [g.id, g.group_id]));
    expect(batch.map((id) => groupOf.get(id))).toEqual([batch[0], batch[0], batch[0], batch[3]]);
  });

  it("takes a commit's Success of a key as its last alert wherever the Success's row lies, so the key's next Fatal alert starts a new flood with its own email", async () => {
    const ok = { ...flap('robot-tie'), severity: 'Success' as const, message: 'Resolved: flap' };
    const [fatal, success] = await storage.db.transaction().execute((tx) => writeAlerts(tx, 'floods', [flap('robot-tie'), ok], T0));
    // The Fatal alert's row moved after the Success's, as PostgreSQL's reuse of freed pages or a SQLite VACUUM may
    // place a commit's rows: the same time, the ids in the order they came.
    const row = await storage.db.selectFrom('alerts').selectAll().where('id', '=', fatal!).executeTakeFirstOrThrow();
    await storage.db.deleteFrom('alerts').where('id', '=', fatal!).execute();
    await storage.db.insertInto('alerts').values(row).execute();
    expect(success! > fatal!).toBe(true);
    const again = await store('robot-tie', T0 + MIN);
    expect(again.group).toBe(again.id);
  });

  it('leaves only the Fatal alerts of a batch waiting for an immediate email, so no Error or Warn gets one', async () => {
    const batch = (['Info', 'Success', 'Warn', 'Error', 'Fatal'] as const).map((severity) => ({ ...flap(`sev-${severity}`), severity, dedupKey: null }));
    const ids = await insertAlerts(storage.db, 'floods', batch, T0);
    const waiting = await storage.db.selectFrom('undecided_fatal_alerts').select('alert_id').where('alert_id', 'in', ids).execute();
    expect(waiting.map((w) => w.alert_id)).toEqual([ids[4]]);
  });
});
