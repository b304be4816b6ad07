import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newAlert } from '../../test/support/alerts.js';
import { insertTestTenant } from '../../test/support/outbox-fixtures.js';
import { createTestDatabase, describeEachDialect, insertManyUsers, openTestStorage, recordingStatements } from '../../test/support/storage.js';
import { deleteTenant } from '../access/tenants.js';
import { migratorFor } from '../storage/migrate.js';
import { openStorage } from '../storage/storage.js';
import type { Storage } from '../storage/storage.js';
import { FakeClock } from '../shared/clock.js';
import { groupCommit } from './ingest.js';
import { CommittedKinds, HOUR_MS, alertKinds, hourRuns } from './kind-hours.js';
import { type Reader, markAlerts, markAllRead, readerFor } from './read-state.js';
import { purgeExpiredAlerts } from './retention.js';
import { type Severity, severityRank } from './severity.js';
import { type AlertFilter, type ReadAlert, insertAlerts, listAlerts, writeAlerts } from './store.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const DAY = 86_400_000;

describe('hourRuns', () => {
  it('joins consecutive hours, newest first, into the instants they cover', () => {
    expect(hourRuns([10, 9, 7, 3, 2, 1])).toEqual([
      { from: 9 * HOUR_MS, to: 11 * HOUR_MS },
      { from: 7 * HOUR_MS, to: 8 * HOUR_MS },
      { from: 1 * HOUR_MS, to: 4 * HOUR_MS },
    ]);
    expect(hourRuns([])).toEqual([]);
  });
});

describe('alertKinds', () => {
  it("gives each kind of a commit's alerts once, in the order they first come", () => {
    const a = newAlert({ severity: 'Error', component: 'Robots', event: 'b', message: 'm' });
    const b = newAlert({ severity: 'Error', component: 'Jobs', event: 'b', message: 'm' });
    const c = newAlert({ severity: 'Warn', component: 'Robots', event: 'b', message: 'm' });
    expect(alertKinds([a, c, a, b, c])).toEqual([
      { severity: severityRank('Error'), component: 'Robots', event: 'b' },
      { severity: severityRank('Warn'), component: 'Robots', event: 'b' },
      { severity: severityRank('Error'), component: 'Jobs', event: 'b' },
    ]);
  });
});

describe('CommittedKinds', () => {
  const jobs = { severity: 3, component: 'Jobs', event: 'a' };
  const robots = { severity: 3, component: 'Robots', event: 'a' };
  it("leaves out the kinds remembered for the tenant in the hour, and forgets them when a later hour's commit comes", () => {
    const committed = new CommittedKinds();
    expect(committed.unknown('t', T0, [jobs, robots])).toEqual([jobs, robots]);
    committed.remember('t', T0 + 5, [jobs]);
    expect(committed.unknown('t', T0 + HOUR_MS - 1, [jobs, robots])).toEqual([robots]);
    expect(committed.unknown('u', T0, [jobs])).toEqual([jobs]);
    expect(committed.unknown('t', T0 + HOUR_MS, [jobs])).toEqual([jobs]);
    // A commit of an earlier hour (a clock behind another's) neither adds to nor clears the hour remembered.
    committed.remember('t', T0 - HOUR_MS, [robots]);
    expect(committed.unknown('t', T0, [jobs, robots])).toEqual([robots]);
    committed.remember('t', T0 + HOUR_MS, [robots]);
    expect(committed.unknown('t', T0 + HOUR_MS, [jobs, robots])).toEqual([jobs]);
  });
});

describeEachDialect("the group commit's kinds of the hour", (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
  });
  afterAll(() => storage.close());
  const kindRows = async (tenantId: string) =>
    (await storage.db.selectFrom('alert_kind_hours').select(['event']).where('tenant_id', '=', tenantId).execute()).map((r) => r.event);

  it('writes a kind once an hour in a process, after the commit that wrote it committed', async () => {
    const t = await insertTestTenant(storage.db, 'kinds-commits');
    const raise = groupCommit(storage, new FakeClock(T0), 600_000, 1);
    const alert = (event: string) => newAlert({ severity: 'Error', component: 'Jobs', event, message: event });
    await raise(t, [alert('first')]);
    expect(await kindRows(t)).toEqual(['first']);
    // Gone behind its back: a commit of the same hour and kind does not write it again, a new kind is written.
    await storage.db.deleteFrom('alert_kind_hours').where('tenant_id', '=', t).execute();
    await raise(t, [alert('first'), alert('second')]);
    expect(await kindRows(t)).toEqual(['second']);
  });

  it('writes again a kind whose commit was rolled back', async () => {
    const t = await insertTestTenant(storage.db, 'kinds-rolled-back');
    const raise = groupCommit(storage, new FakeClock(T0), 600_000, 1);
    const alert = newAlert({ severity: 'Error', component: 'Jobs', event: 'rolled', message: 'm' });
    const failing = { alongside: async () => Promise.reject(new Error('alongside failed')) };
    await expect(raise(t, [alert], failing)).rejects.toThrow();
    expect(await kindRows(t)).toEqual([]);
    const [id] = await raise(t, [alert]);
    expect(await kindRows(t)).toEqual(['rolled']);
    const reader = { userId: 'nobody', readThrough: -1, unreadFrom: 0 };
    expect((await listAlerts(storage.db, t, reader, { event: 'rolled' }, { limit: 10 })).items.map((a) => a.id)).toEqual([id]);
  });
});

/** The kinds of the test's alerts: events seen every hour, in a few hours, once, and a custom event of several components. */
const KINDS: readonly { severity: Severity; component: string; event: string; every: number }[] = [
  { severity: 'Info', component: 'Jobs', event: 'Process.JobExecution.Completed', every: 1 },
  { severity: 'Error', component: 'Jobs', event: 'Process.JobExecution.Faulted', every: 3 },
  { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', every: 17 },
  { severity: 'Warn', component: 'Queues', event: 'Process.RaiseAlert', every: 5 },
  { severity: 'Error', component: 'Robots', event: 'Process.RaiseAlert', every: 7 },
  { severity: 'Success', component: 'Robots', event: 'Robot.StatusChanged.Available', every: 11 },
];

describeEachDialect('a list filtered on kinds', (dialect) => {
  let storage: Storage;
  let tenantId: string;
  let reader: Reader;
  let all: ReadAlert[];
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
    tenantId = await insertTestTenant(storage.db, 'kinds');
    const other = await insertTestTenant(storage.db, 'kinds-other');
    const [userId] = await insertManyUsers(storage.db, tenantId, 1);
    // 60 hours, some without alerts; hours of one alert and of several, several alerts of one instant;
    // a rare event 2 days before the last hour; another tenant's alerts of the kinds this one lacks.
    for (let h = 0; h < 60; h++) {
      if (h % 13 === 12) continue;
      const alerts = KINDS.filter((k, i) => (h + i) % k.every === 0).map((k, i) =>
        newAlert({ ...k, message: `${h}-${i}`, source: JSON.stringify({ process: `P${h % 2}` }) }),
      );
      await insertAlerts(storage.db, tenantId, alerts, T0 + h * HOUR_MS + (h % 4) * 60_000);
      if (h % 5 === 0) await insertAlerts(storage.db, tenantId, alerts.slice(0, 1), T0 + (h + 1) * HOUR_MS - 1);
    }
    await insertAlerts(
      storage.db,
      tenantId,
      [newAlert({ severity: 'Error', component: 'Schedules', event: 'disk_full', message: 'rare' })],
      T0 + 10 * HOUR_MS + 5,
    );
    await insertAlerts(storage.db, tenantId, [newAlert({ severity: 'Error', component: 'Schedules', event: 'disk_full', message: 'rare' })], T0 + 58 * HOUR_MS);
    await insertAlerts(storage.db, other, [newAlert({ severity: 'Fatal', component: 'Triggers', event: 'node_down', message: 'other' })], T0 + 30 * HOUR_MS);
    // Read through hour 40, but for a few alerts marked unread, and a few later ones marked read.
    await markAllRead(storage.db, tenantId, userId!, T0 + 40 * HOUR_MS);
    reader = await readerFor(storage.db, { kind: 'user', tenantId, userId: userId!, email: '', permissions: new Set() }, tenantId);
    all = (await listAlerts(storage.db, tenantId, reader, {}, { limit: 100_000 })).items;
    const byHour = (h: number) => all.filter((a) => a.createdAt >= T0 + h * HOUR_MS && a.createdAt < T0 + (h + 1) * HOUR_MS).map((a) => a.id);
    await markAlerts(storage.db, tenantId, userId!, { ids: [...byHour(20), ...byHour(33)] }, false);
    await markAlerts(storage.db, tenantId, userId!, { ids: byHour(50) }, true);
    reader = await readerFor(storage.db, { kind: 'user', tenantId, userId: userId!, email: '', permissions: new Set() }, tenantId);
    all = (await listAlerts(storage.db, tenantId, reader, {}, { limit: 100_000 })).items;
  });
  afterAll(() => storage.close());

  /** expected is what the walk of every alert (the unfiltered list, newest first) holds for the filter. */
  const expected = (f: AlertFilter) =>
    all.filter(
      (a) =>
        (f.minSeverity === undefined || severityRank(a.severity) >= severityRank(f.minSeverity)) &&
        (f.component === undefined || a.component === f.component) &&
        (f.event === undefined || a.event === f.event) &&
        (f.since === undefined || a.createdAt >= f.since) &&
        (f.until === undefined || a.createdAt < f.until) &&
        (!f.unreadOnly || !a.read) &&
        (f.source?.process === undefined || a.source?.process === f.source.process),
    );

  /** pages lists every page of `limit` alerts, following each nextCursor. */
  const pages = async (filter: AlertFilter, limit: number) => {
    const seen: ReadAlert[][] = [];
    let after: { createdAt: number; id: string } | undefined;
    for (;;) {
      const page = await listAlerts(storage.db, tenantId, reader, filter, { limit, after });
      seen.push(page.items);
      if (!page.next) return seen;
      expect(page.items).toHaveLength(limit);
      after = page.next;
    }
  };

  const FILTERS: readonly AlertFilter[] = [
    { event: 'node_down' },
    { component: 'Triggers' },
    { event: 'disk_full' },
    { component: 'Schedules' },
    { event: 'Robot.StatusChanged.Offline' },
    { component: 'Robots' },
    { event: 'Process.RaiseAlert' },
    { event: 'Process.RaiseAlert', component: 'Queues' },
    { event: 'Process.RaiseAlert', minSeverity: 'Error' },
    { component: 'Robots', minSeverity: 'Success' },
    { minSeverity: 'Fatal' },
    { minSeverity: 'Warn' },
    { minSeverity: 'Info', component: 'Jobs' },
    { component: 'Robots', unreadOnly: true },
    { minSeverity: 'Error', unreadOnly: true },
    { event: 'disk_full', unreadOnly: true },
    { component: 'Jobs', since: T0 + 10 * HOUR_MS, until: T0 + 30 * HOUR_MS + 1 },
    { minSeverity: 'Error', since: T0 + 10 * HOUR_MS + 5, until: T0 + 58 * HOUR_MS },
    { component: 'Robots', source: { process: 'P1' } },
    { event: 'Process.JobExecution.Faulted', source: { process: 'P0' }, unreadOnly: true, since: T0 + 20 * HOUR_MS },
  ];

  it.each(FILTERS)('lists for %j, page after page, what walking every alert would', async (filter) => {
    const want = expected(filter).map((a) => [a.id, a.read]);
    expect(all.length).toBeGreaterThan(100);
    for (const limit of [1, 3, 7, 1_000]) {
      const got = await pages(filter, limit);
      expect(got.flat().map((a) => [a.id, a.read])).toEqual(want);
    }
  });

  it.runIf(dialect === 'postgres')(
    'lists each alert once where two commits of one hour both wrote its kind (PostgreSQL has no unique index on it)',
    async () => {
      const filter = { event: 'Robot.StatusChanged.Offline' };
      const want = expected(filter).map((a) => a.id);
      const hours = await storage.db.selectFrom('alert_kind_hours').selectAll().where('tenant_id', '=', tenantId).where('event', '=', filter.event).execute();
      await storage.db.insertInto('alert_kind_hours').values(hours).execute();
      for (const limit of [1, 2, 1_000]) expect((await pages(filter, limit)).flat().map((a) => a.id)).toEqual(want);
    },
  );

  it('answers an event or component no alert of the tenant has without reading any alert', async () => {
    for (const filter of [{ event: 'node_down' }, { component: 'Triggers' }, { event: 'disk_full', until: T0 + 10 * HOUR_MS }] satisfies AlertFilter[]) {
      const recording = recordingStatements(storage.db);
      expect((await listAlerts(recording.db, tenantId, reader, filter, { limit: 50 })).items).toEqual([]);
      expect(recording.texts.filter((text) => /from "alerts"/.test(text))).toEqual([]);
    }
  });

  it("bounds each run's query by the run before since and until: SQLite ranges its index by the first bound of a side written", async () => {
    // Written after them, a run of an hour was read from `until` down, or down to `since` (a million alerts: 3 ms -> 0.2 s).
    const recording = recordingStatements(storage.db);
    const listed = await listAlerts(recording.db, tenantId, reader, { event: 'disk_full', since: T0 - DAY + 7, until: T0 + 100 * HOUR_MS + 7 }, { limit: 50 });
    expect(listed.items).toHaveLength(2);
    const runs = recording.queries.filter((query) => /from "alerts"/.test(query.sql));
    expect(runs).toHaveLength(2);
    for (const query of runs) {
      // The creation-time bounds' values in the order written: each side's first is the run's, on an hour.
      const values = [...query.sql.matchAll(/"a"\."created_at" (>=|<) (\?|\$(\d+))/g)].map((m) => {
        const at = m[3] ? Number(m[3]) - 1 : query.sql.slice(0, m.index! + m[0].length).split('?').length - 2;
        return [m[1], Number(query.parameters[at])] as const;
      });
      for (const side of ['>=', '<']) expect(values.find(([op]) => op === side)![1] % HOUR_MS, `${side} ${query.sql}`).toBe(0);
    }
  });

  it('lists an event of more hours than one read of the hours holds, every other hour, in order', async () => {
    const t = await insertTestTenant(storage.db, 'kinds-many-hours');
    const ids: string[] = [];
    await storage.db.transaction().execute(async (tx) => {
      for (let h = 0; h < 600; h++) {
        const event = h % 2 === 0 ? 'tick' : 'tock';
        const [id] = await writeAlerts(tx, t, [newAlert({ severity: 'Info', component: 'Jobs', event, message: `${h}` })], T0 + h * HOUR_MS);
        if (event === 'tick') ids.unshift(id!);
      }
    });
    const listed = await listAlerts(storage.db, t, reader, { event: 'tick' }, { limit: 1_000 });
    expect(listed.items.map((a) => a.id)).toEqual(ids);
    const firstPage = await listAlerts(storage.db, t, reader, { event: 'tick' }, { limit: 290 });
    const rest = await listAlerts(storage.db, t, reader, { event: 'tick' }, { limit: 290, after: firstPage.next });
    expect([...firstPage.items, ...rest.items].map((a) => a.id)).toEqual(ids);
    expect(rest.next).toBeUndefined();
  });

  it("keeps an hour's kinds while retention keeps an alert of that hour, and lets them go with the hour's last alert", async () => {
    const t = await insertTestTenant(storage.db, 'kinds-retention', { retentionDays: 1 });
    const rare = (message: string) => [newAlert({ severity: 'Warn', component: 'Tasks', event: 'task_late', message })];
    // Hour 5: an alert at its start (purged) and one at its end (kept: 1 ms after the cutoff).
    await insertAlerts(storage.db, t, rare('purged'), T0 + 5 * HOUR_MS);
    await insertAlerts(storage.db, t, rare('kept'), T0 + 6 * HOUR_MS - 1);
    await insertAlerts(storage.db, t, rare('old'), T0 + 2 * HOUR_MS);
    const cutoff = T0 + 6 * HOUR_MS - 2;
    await purgeExpiredAlerts(storage.db, cutoff + DAY);
    const listed = await listAlerts(storage.db, t, reader, { event: 'task_late' }, { limit: 10 });
    expect(listed.items.map((a) => a.message)).toEqual(['kept']);
    const hours = await storage.db.selectFrom('alert_kind_hours').select('hour').where('tenant_id', '=', t).execute();
    expect(hours.map((h) => Number(h.hour))).toEqual([Math.floor((T0 + 5 * HOUR_MS) / HOUR_MS)]);
  });

  it("deletes a tenant's kinds with the tenant", async () => {
    const t = await insertTestTenant(storage.db, 'kinds-deleted');
    await insertAlerts(storage.db, t, [newAlert({ severity: 'Error', component: 'Jobs', event: 'gone', message: 'm' })], T0);
    expect(await deleteTenant(storage.db, t)).toBe(true);
    expect(await storage.db.selectFrom('alert_kind_hours').select('hour').where('tenant_id', '=', t).execute()).toEqual([]);
  });
});

describeEachDialect('migration 20261207-70-alerts-kind-hours', (dialect) => {
  it('records the kinds and hours of the alerts already stored', async () => {
    const database = await createTestDatabase(dialect);
    const storage = await openStorage(database.url, { poolSize: 1 });
    try {
      const { error } = await migratorFor(storage).migrateTo('20261207-60-alerts-by-severity-per-rank');
      if (error) throw error;
      const db = storage.db as unknown as Kysely<any>;
      await db
        .insertInto('tenants')
        .values({ id: 't', name: 't', display_name: 't', time_zone: 'UTC', language: 'en', retention_days: 30, created_at: T0 })
        .execute();
      const alert = (id: string, severity: number, event: string, createdAt: number) => ({
        id,
        tenant_id: 't',
        severity,
        component: 'Jobs',
        event,
        message: 'm',
        occurred_at: createdAt,
        created_at: createdAt,
      });
      await db
        .insertInto('alerts')
        .values([alert('a', 3, 'x', T0 + 1), alert('b', 3, 'x', T0 + HOUR_MS - 1), alert('c', 4, 'x', T0 + 5), alert('d', 3, 'y', T0 + 3 * HOUR_MS)])
        .execute();
      const { error: latest } = await migratorFor(storage).migrateToLatest();
      if (latest) throw latest;
      const rows = await db.selectFrom('alert_kind_hours').selectAll().orderBy('hour').orderBy('severity').execute();
      const h = T0 / HOUR_MS;
      expect(rows.map((r) => [r.tenant_id, Number(r.hour), r.severity, r.component, r.event])).toEqual([
        ['t', h, 3, 'Jobs', 'x'],
        ['t', h, 4, 'Jobs', 'x'],
        ['t', h + 3, 3, 'Jobs', 'y'],
      ]);
    } finally {
      await storage.close();
      await database.drop();
    }
  });
});
