import type { Kysely } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newAlert } from '../../test/support/alerts.js';
import type { Database } from '../storage/database.js';
import type { Storage } from '../storage/storage.js';
import { describeEachDialect, openTestStorage } from '../../test/support/storage.js';
import type { NewAlert } from './input.js';
import { insertAlerts } from './store.js';
import { alertsInWindow, streamAlertsInWindow } from './window.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;

function alert(over: Partial<NewAlert> = {}): NewAlert {
  return newAlert({ severity: 'Error', component: 'Robots', event: 'Robot.StatusChanged.NotResponding', message: 'm', ...over });
}

async function tenant(db: Kysely<Database>, name: string): Promise<string> {
  await db.insertInto('tenants').values({ id: name, name, display_name: name, time_zone: 'UTC', language: 'en', retention_days: 30, created_at: T0 }).execute();
  return name;
}

describeEachDialect('alerts in a report window', (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
  });
  afterAll(() => storage.close());

  it('groups a flood of one dedup key into one line with its count, first and last times', async () => {
    const db = storage.db;
    const id = await tenant(db, 'flood');
    for (let i = 0; i < 5; i++) {
      await insertAlerts(
        db,
        id,
        Array.from({ length: 100 }, () => alert({ dedupKey: 'robot-9', message: `flap ${i}` })),
        T0 + i * MIN,
      );
    }
    await insertAlerts(db, id, [alert({ severity: 'Fatal', message: 'alone' })], T0 + 2 * MIN);
    const { groups, next } = await alertsInWindow(db, id, { from: T0, to: T0 + 10 * MIN });
    expect(next).toBeUndefined();
    expect(groups.map((g) => [g.first.message, g.count])).toEqual([
      ['flap 0', 500],
      ['alone', 1],
    ]);
    expect(groups[0]).toMatchObject({ dedupKey: 'robot-9', firstCreatedAt: T0, lastCreatedAt: T0 + 4 * MIN, severity: 'Error' });
    // A window that starts inside the flood counts only its own part, led by its first alert there.
    const later = await alertsInWindow(db, id, { from: T0 + 3 * MIN, to: T0 + 10 * MIN });
    expect(later.groups.map((g) => [g.first.message, g.count])).toEqual([['flap 3', 200]]);
  });

  it('starts a new flood after a quiet gap longer than the flood window', async () => {
    const db = storage.db;
    const id = await tenant(db, 'gaps');
    await insertAlerts(db, id, [alert({ dedupKey: 'k' })], T0, 10 * MIN);
    await insertAlerts(db, id, [alert({ dedupKey: 'k' })], T0 + 9 * MIN, 10 * MIN);
    await insertAlerts(db, id, [alert({ dedupKey: 'k' })], T0 + 30 * MIN, 10 * MIN);
    const { groups } = await alertsInWindow(db, id, { from: T0, to: T0 + 60 * MIN });
    expect(groups.map((g) => g.count)).toEqual([2, 1]);
  });

  it('counts a lone Fatal alert as one Fatal, and reads a flood spanning two components as not uniform (decided by its parts)', async () => {
    const db = storage.db;
    const id = await tenant(db, 'lines');
    await insertAlerts(db, id, [alert({ severity: 'Fatal', message: 'lone fatal' })], T0);
    await insertAlerts(
      db,
      id,
      [alert({ dedupKey: 'k', message: 'robots' }), alert({ dedupKey: 'k', component: 'Jobs', event: 'Robot.StatusChanged.NotResponding', message: 'jobs' })],
      T0 + MIN,
    );
    await insertAlerts(db, id, [alert({ dedupKey: 'same', message: 'a' }), alert({ dedupKey: 'same', message: 'b' })], T0 + 2 * MIN);
    const { groups } = await alertsInWindow(db, id, { from: T0, to: T0 + 5 * MIN });
    expect(groups.map((g) => [g.first.message, g.count, g.fatal, g.uniform])).toEqual([
      ['lone fatal', 1, 1, true],
      ['robots', 2, 0, false],
      ['a', 2, 0, true],
    ]);
  });

  it('filters by the severity ladder or a list of severities, counting only matching alerts', async () => {
    const db = storage.db;
    const id = await tenant(db, 'severities');
    await insertAlerts(db, id, [alert({ severity: 'Info' }), alert({ severity: 'Warn' }), alert({ severity: 'Error' }), alert({ severity: 'Fatal' })], T0);
    await insertAlerts(db, id, [alert({ severity: 'Error', dedupKey: 'x' }), alert({ severity: 'Info', dedupKey: 'x' })], T0 + MIN);
    const sev = async (q: object) => (await alertsInWindow(db, id, { from: T0, to: T0 + 5 * MIN, ...q })).groups.map((g) => `${g.severity}×${g.count}`);
    expect(await sev({ minSeverity: 'Error' })).toEqual(['Error×1', 'Fatal×1', 'Error×1']);
    expect(await sev({ severities: ['Info', 'Warn'] })).toEqual(['Info×1', 'Warn×1', 'Info×1']);
    expect(await sev({})).toEqual(['Info×1', 'Warn×1', 'Error×1', 'Fatal×1', 'Error×2']);
    expect(await sev({ severities: [] })).toEqual([]);
  });

  it('pages through a large window and streams every group exactly once, never other tenants', async () => {
    const db = storage.db;
    const id = await tenant(db, 'large');
    await tenant(db, 'neighbour');
    await insertAlerts(db, 'neighbour', [alert()], T0);
    for (let batch = 0; batch < 10; batch++) {
      await insertAlerts(
        db,
        id,
        Array.from({ length: 100 }, (_, i) => alert({ message: `${batch}-${i}`, dedupKey: i % 10 === 0 ? `k${i}` : null })),
        T0 + batch * 1000,
      );
    }
    const page = await alertsInWindow(db, id, { from: T0, to: T0 + MIN }, { limit: 50 });
    expect(page.groups).toHaveLength(50);
    expect(page.next).toBeDefined();
    const all = [];
    for await (const g of streamAlertsInWindow(db, id, { from: T0, to: T0 + MIN }, 37)) all.push(g);
    // 900 alerts alone plus 10 dedup keys of 10 alerts each.
    expect(all).toHaveLength(910);
    expect(new Set(all.map((g) => g.groupId)).size).toBe(910);
    expect(all.reduce((n, g) => n + g.count, 0)).toBe(1000);
  });

  it("leaves out the alerts' data, which no line of a report shows: 20,000 alerts of 16 KiB would hold 320 MB", async () => {
    const db = storage.db;
    const id = await tenant(db, 'heavy-data');
    await insertAlerts(
      db,
      id,
      [alert({ data: JSON.stringify({ blob: 'd'.repeat(16_000) }) }), alert({ dedupKey: 'k', data: JSON.stringify({ blob: 'e'.repeat(16_000) }) })],
      T0,
    );
    const { groups } = await alertsInWindow(db, id, { from: T0, to: T0 + MIN });
    expect(groups).toHaveLength(2);
    for (const g of groups) {
      expect(g.first.message).toBe('m');
      expect(g.first).not.toHaveProperty('data');
    }
  });

  it('lets the event loop answer other work between pages: SQLite answers at once, and a window of 20,000 lines must not hold it for seconds', async () => {
    const db = storage.db;
    const id = await tenant(db, 'yielding');
    await insertAlerts(
      db,
      id,
      Array.from({ length: 4 }, (_, i) => alert({ message: `m${i}` })),
      T0,
    );
    let turns = 0;
    const tick = setInterval(() => turns++, 0);
    const seen: number[] = [];
    try {
      for await (const g of streamAlertsInWindow(db, id, { from: T0, to: T0 + MIN }, 1)) {
        expect(g.count).toBe(1);
        seen.push(turns);
      }
    } finally {
      clearInterval(tick);
    }
    expect(seen).toHaveLength(4);
    // The timer ran between the first page and the last.
    expect(seen[3]!).toBeGreaterThan(seen[0]!);
  });
});
