import { afterAll, beforeAll, expect, it } from 'vitest';
import { newAlert } from '../../test/support/alerts.js';
import { countingDeletes } from '../../test/support/counting-deletes.js';
import pino from 'pino';
import { FakeClock } from '../shared/clock.js';
import type { Storage } from '../storage/storage.js';
import { captureWarnings, expectWarnedOnceAmong } from '../../test/support/log-capture.js';
import { createTestDatabase, describeEachDialect, openTestStorage, planOf, sqlitePlanOf, storedAlerts } from '../../test/support/storage.js';
import { migrate } from '../storage/migrate.js';
import { openStorage } from '../storage/storage.js';
import { insertTestTenant, testDelivery } from '../../test/support/outbox-fixtures.js';
import { enqueueDeliveries } from '../delivery/outbox/enqueue.js';
import { createMute } from '../mutes/store.js';
import { acknowledgeFlood } from './acknowledgements.js';
import { recordAction } from './action-audit.js';
import { markAlerts } from './read-state.js';
import { purgeExpiredAlerts, startRetention, waitingImmediateEmails } from './retention.js';
import { insertAlerts } from './store.js';
import type { NewAlert } from './input.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const one: NewAlert = newAlert({ severity: 'Info', component: 'Jobs', event: 'Process.RaiseAlert', message: 'm' });

describeEachDialect('alert retention', (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
    const db = storage.db;
    for (const [name, days] of [
      ['short', 7],
      ['long', 30],
      ['daily', 1],
      ['fatal', 1],
    ] as const) {
      await insertTestTenant(db, name, { id: name, retentionDays: days, createdAt: T0 });
    }
    await db
      .insertInto('users')
      .values({
        id: 'u1',
        tenant_id: 'short',
        email: 'u@x.io',
        email_key: 'u@x.io',
        name: 'U',
        language: null,
        time_zone: null,
        active: 1,
        password_hash: null,
        created_at: T0,
        updated_at: T0,
      })
      .execute();
  });
  afterAll(() => storage.close());

  const count = (tenant: string) => storedAlerts(storage.db, tenant);

  it("purges each tenant's alerts older than its retention, in small batches, with their read state", async () => {
    const db = storage.db;
    const old = await insertAlerts(
      db,
      'short',
      Array.from({ length: 25 }, () => one),
      T0,
    );
    await markAlerts(db, 'short', 'u1', { ids: old.slice(0, 3) }, true);
    await insertAlerts(db, 'short', [one], T0 + 8 * DAY);
    await insertAlerts(
      db,
      'long',
      Array.from({ length: 5 }, () => one),
      T0,
    );
    const clock = new FakeClock(T0 + 7 * DAY);
    expect(await purgeExpiredAlerts(db, clock.now(), 10)).toBe(0);
    clock.advance(1);
    expect(await purgeExpiredAlerts(db, clock.now(), 10)).toBe(25);
    expect(await count('short')).toBe(1);
    expect(await count('long')).toBe(5);
    expect(await db.selectFrom('alert_read_state').selectAll().execute()).toEqual([]);
    clock.set(T0 + 31 * DAY);
    // The long tenant's five, and the short tenant's day-8 alert, now 23 days old.
    expect(await purgeExpiredAlerts(db, clock.now(), 10)).toBe(6);
  });

  it('forgets acknowledgements, audit entries and ended mutes past the retention too', async () => {
    const db = storage.db;
    const actor = { userId: 'u1', name: 'U' };
    await acknowledgeFlood(db, 'short', 'old-flood', actor, T0);
    await acknowledgeFlood(db, 'short', 'new-flood', actor, T0 + 5 * DAY);
    await recordAction(db, 'short', { actor, action: 'acknowledge', via: 'api', detail: {}, at: T0 });
    await createMute(db, 'short', { scope: 'tenant', ownerId: null, match: { robot: 'R' }, until: T0 + DAY }, actor, T0);
    await purgeExpiredAlerts(db, T0 + 8 * DAY + 1);
    expect((await db.selectFrom('alert_acknowledgements').select('group_id').where('tenant_id', '=', 'short').execute()).map((r) => r.group_id)).toEqual([
      'new-flood',
    ]);
    expect(await db.selectFrom('alert_action_audit').selectAll().where('tenant_id', '=', 'short').execute()).toEqual([]);
    expect(await db.selectFrom('alert_mutes').selectAll().where('tenant_id', '=', 'short').execute()).toEqual([]);
  });

  it('forgets a backlog of audit entries, ended mutes and acknowledgements in statements of at most a batch each', async () => {
    // A retention lowered from a year to 30 days leaves eleven months of them expired at once: one
    // statement for the lot held SQLite's write lock, and blocked the process, for seconds.
    const db = storage.db;
    await insertTestTenant(db, 'backlog', { id: 'backlog', retentionDays: 7, createdAt: T0 });
    const rows = Array.from({ length: 25 }, (_, i) => ({ i, tenant_id: 'backlog', at: T0 + i }));
    const user = { user_id: 'u1', user_name: 'U' };
    await db
      .insertInto('alert_action_audit')
      .values(rows.map(({ i, tenant_id, at }) => ({ id: `audit-${i}`, tenant_id, ...user, action: 'acknowledge', via: 'api', detail: '{}', at })))
      .execute();
    await db
      .insertInto('alert_mutes')
      .values(
        rows.map(({ i, tenant_id, at }) => ({
          id: `mute-${i}`,
          tenant_id,
          scope: 'tenant',
          owner_id: null,
          match: '{}',
          until: at,
          created_by_id: 'u1',
          created_by_name: 'U',
          created_at: T0,
        })),
      )
      .execute();
    await db
      .insertInto('alert_acknowledgements')
      .values(rows.map(({ i, tenant_id, at }) => ({ tenant_id, group_id: `flood-${i}`, ...user, acknowledged_at: at })))
      .execute();
    const deletes = countingDeletes(['alert_action_audit', 'alert_mutes', 'alert_acknowledgements']);
    await purgeExpiredAlerts(db.withPlugin(deletes), T0 + 8 * DAY, 10);
    const left = async (table: 'alert_action_audit' | 'alert_mutes' | 'alert_acknowledgements') =>
      (await db.selectFrom(table).select('tenant_id').where('tenant_id', '=', 'backlog').execute()).length;
    expect([await left('alert_action_audit'), await left('alert_mutes'), await left('alert_acknowledgements')]).toEqual([0, 0, 0]);
    expect(Math.max(...deletes.rows)).toBe(10);
  });

  it("keeps a flood's acknowledgement while the flood goes on past the retention, and forgets it once the flood's alerts are gone", async () => {
    const db = storage.db;
    const actor = { userId: 'u1', name: 'U' };
    const offline: NewAlert = { ...one, severity: 'Fatal', component: 'Robots', event: 'Robot.Offline', dedupKey: 'robot-9' };
    // A flood slides: repeats a day apart (with a two-day window) stand for a robot failing every few minutes for days.
    const floodWindowMs = 2 * DAY;
    const [first] = await insertAlerts(db, 'short', [offline], T0, floodWindowMs);
    const [row] = await db.selectFrom('alerts').select('group_id').where('id', '=', first!).execute();
    const flood = row!.group_id!;
    await acknowledgeFlood(db, 'short', flood, actor, T0);
    for (let day = 1; day <= 9; day++) await insertAlerts(db, 'short', [offline], T0 + day * DAY, floodWindowMs);
    const acknowledged = async () =>
      (await db.selectFrom('alert_acknowledgements').select('group_id').where('tenant_id', '=', 'short').where('group_id', '=', flood).execute()).length;

    // Acknowledged 9 days ago, past the 7 days' retention, but its flood's latest alerts are still listed: "I'm on it" stays with them.
    await purgeExpiredAlerts(db, T0 + 9 * DAY + 1);
    expect(await acknowledged()).toBe(1);
    // The flood over (its last alert past the retention too), its acknowledgement goes.
    await purgeExpiredAlerts(db, T0 + 17 * DAY);
    expect(await acknowledged()).toBe(0);
  });

  it("keeps the alerts of a report's window while its email waits for a retry, and purges them once it is sent", async () => {
    const db = storage.db;
    // A day's report: its window's first alerts reach the 1 day's retention as the report is queued.
    const start = T0 + 10 * 3_600_000;
    const end = start + DAY;
    await insertAlerts(db, 'daily', [one, one], start + 60_000);
    await insertAlerts(db, 'daily', [one], start + 6 * 3_600_000);
    await enqueueDeliveries(
      db,
      [
        testDelivery('daily', 'ops@acme.example', {
          kind: 'daily',
          rendered: undefined,
          data: {},
          windowStart: start,
          windowEnd: end,
          idempotencyKey: 'daily-1',
        }),
      ],
      new FakeClock(end),
    );
    await db.updateTable('deliveries').set({ status: 'retrying', attempts: 1 }).where('tenant_id', '=', 'daily').execute();
    // Its server down for 8 hours: the report, retried, still finds its whole day.
    expect(await purgeExpiredAlerts(db, end + 8 * 3_600_000)).toBe(0);
    expect(await count('daily')).toBe(3);
    // Sent, it holds nothing back: the alerts past the retention go.
    await db.updateTable('deliveries').set({ status: 'sent' }).where('tenant_id', '=', 'daily').execute();
    expect(await purgeExpiredAlerts(db, end + 8 * 3_600_000)).toBe(3);
  });

  it('keeps the alerts of the next report not decided yet, from where the last one ended, but at most a day past the retention', async () => {
    const db = storage.db;
    await insertTestTenant(db, 'pending', { id: 'pending', retentionDays: 1, createdAt: T0 });
    const hour = 3_600_000;
    // The last daily report ended at T0 + 10 h, the last summary later: the next daily begins at T0 + 10 h.
    await db
      .insertInto('report_windows')
      .values([
        { tenant_id: 'pending', kind: 'daily', window_start: T0 - 14 * hour, window_end: T0 + 10 * hour, deliveries: 0, decided_at: T0 + 10 * hour },
        { tenant_id: 'pending', kind: 'summary', window_start: T0 + 34 * hour, window_end: T0 + 35 * hour, deliveries: 0, decided_at: T0 + 35 * hour },
      ])
      .execute();
    await insertAlerts(db, 'pending', [one], T0 + 9 * hour);
    await insertAlerts(db, 'pending', [one], T0 + 10 * hour + 60_000);
    // At T0 + 35 h (a 25-hour day's report not decided yet), the alert of T0 + 10 h 1 min is held, the one before the window goes.
    expect(await purgeExpiredAlerts(db, T0 + 35 * hour)).toBe(1);
    expect(await count('pending')).toBe(1);
    // No report decided for two days (no scheduler running): held one day past the retention, not longer.
    expect(await purgeExpiredAlerts(db, T0 + 2 * DAY + 10 * hour)).toBe(0);
    expect(await purgeExpiredAlerts(db, T0 + 2 * DAY + 10 * hour + 2 * 60_000)).toBe(1);
  });

  it("keeps a Fatal flood's alerts while its immediate email waits for a retry past the retention, and purges them once it is sent", async () => {
    const db = storage.db;
    const fatal = newAlert({ severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'robot-7 offline', dedupKey: 'robot-7' });
    const [first] = await insertAlerts(db, 'fatal', [fatal], T0 + 3_600_000);
    await insertAlerts(db, 'fatal', [fatal], T0 + 3_600_000 + 60_000);
    await enqueueDeliveries(
      db,
      [
        testDelivery('fatal', 'ops@acme.example', {
          kind: 'immediate',
          rendered: undefined,
          data: { recipient: { type: 'user', id: 'u1' }, alertId: first, groupId: first },
          idempotencyKey: `immediate:fatal:${first}:ops@acme.example`,
        }),
      ],
      new FakeClock(T0 + 3_600_000),
    );
    await db.updateTable('deliveries').set({ status: 'retrying', attempts: 5 }).where('tenant_id', '=', 'fatal').execute();
    // Retried past the 1 day's retention (a longer deadline, or Tocsin down meanwhile): it still finds its alert and its flood.
    expect(await purgeExpiredAlerts(db, T0 + 2 * DAY)).toBe(0);
    expect(await count('fatal')).toBe(2);
    await db.updateTable('deliveries').set({ status: 'sent' }).where('tenant_id', '=', 'fatal').execute();
    expect(await purgeExpiredAlerts(db, T0 + 2 * DAY)).toBe(2);
  });

  it("finds a waiting immediate email's flood by its first alert's id and its repeats, not by walking the tenant's alerts", async () => {
    const db = storage.db;
    const fatal = newAlert({ severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'robot-9 offline', dedupKey: 'robot-9' });
    const [first] = await insertAlerts(db, 'fatal', [fatal], T0 + 3_600_000);
    await insertAlerts(db, 'fatal', [fatal], T0 + 3_600_000 + 60_000);
    // An alert past the retention before the flood, purged; and another tenant's older one named by
    // a key of this tenant (it cannot be, but were it counted, it would hold the purge before it).
    await insertAlerts(db, 'fatal', [one], T0 + 1_800_000);
    const [foreign] = await insertAlerts(db, 'short', [one], T0);
    await enqueueDeliveries(
      db,
      [first!, foreign!].map((alertId) =>
        testDelivery('fatal', 'ops@acme.example', {
          kind: 'immediate',
          rendered: undefined,
          data: { recipient: { type: 'user', id: 'u1' }, alertId, groupId: alertId },
          idempotencyKey: `immediate:fatal:${alertId}:ops@acme.example`,
        }),
      ),
      new FakeClock(T0 + 3_600_000),
    );
    await db.updateTable('deliveries').set({ status: 'retrying', attempts: 5 }).where('tenant_id', '=', 'fatal').execute();
    let purged = -1;
    const plan = await sqlitePlanOf('as "start" from "alerts"', async () => {
      purged = await purgeExpiredAlerts(db, T0 + 2 * DAY);
    });
    // The flood is kept (its first alert's time holds the tenant's purge), the other tenant's alert not counted for it.
    expect(purged).toBe(1);
    expect(await count('fatal')).toBe(2);
    if (dialect === 'sqlite') {
      // Before: SEARCH alerts USING INDEX alerts_tenant_created (tenant_id=?), the tenant's every alert.
      expect(plan?.filter((detail) => /^(SCAN|SEARCH) alerts /.test(detail))).toEqual([
        expect.stringMatching(/^SEARCH alerts USING INDEX sqlite_autoindex_alerts_1 \(id=\?\)/),
        expect.stringMatching(/^SEARCH alerts USING COVERING INDEX alerts_tenant_group \(tenant_id=\? AND group_id=\?\)/),
      ]);
    }
    // The waiting ones by their status, not every immediate email of the tenant by its kind.
    expect(await planOf(db, waitingImmediateEmails(db, 'fatal').compile())).toMatch(
      dialect === 'sqlite' ? /SEARCH deliveries USING INDEX deliveries_log_status \(tenant_id=\? AND status=\?\)/ : /deliveries/,
    );
    await db.deleteFrom('deliveries').where('tenant_id', '=', 'fatal').execute();
    await db.deleteFrom('alerts').where('id', '=', foreign!).execute();
    expect(await purgeExpiredAlerts(db, T0 + 2 * DAY)).toBe(2);
  });

  it('runs in the background until stopped, and forgets the emails and the mail-health notice claims of the same age too', async () => {
    const db = storage.db;
    await insertAlerts(db, 'long', [one, one], T0);
    await enqueueDeliveries(db, [testDelivery('long', 'ops@acme.example')], new FakeClock(T0));
    await db.updateTable('deliveries').set({ status: 'sent' }).where('tenant_id', '=', 'long').execute();
    const emails = async () => (await db.selectFrom('deliveries').select('id').where('tenant_id', '=', 'long').execute()).length;
    await db
      .insertInto('mail_health_notices')
      .values([0, 1].map((i) => ({ tenant_id: 'long', incident: 0, kind: `token-expiring:${i}`, created_at: T0 + i })))
      .execute();
    const notices = async () => (await db.selectFrom('mail_health_notices').select('kind').where('tenant_id', '=', 'long').execute()).map((r) => r.kind);
    const loop = startRetention({ db, clock: new FakeClock(T0 + 100 * DAY), logger: pino({ level: 'silent' }), intervalMs: 5 });
    await expect.poll(() => count('long'), { timeout: 10_000, interval: 10 }).toBe(0);
    await expect.poll(emails, { timeout: 10_000, interval: 10 }).toBe(0);
    await expect.poll(notices, { timeout: 10_000, interval: 10 }).toEqual(['token-expiring:1']);
    await loop.stop();
  });

  it('warns once, not with a stack every minute, while the database is away', async () => {
    const database = await createTestDatabase(dialect);
    const closed = await openStorage(database.url, { poolSize: 2 });
    await migrate(closed);
    await closed.close();
    // From debug: the outage's first failure is a warning, each one after it a debug line.
    const { log, entries } = captureWarnings('debug');
    const loop = startRetention({ db: closed.db, clock: new FakeClock(T0), logger: log, intervalMs: 5 });
    try {
      await expectWarnedOnceAmong(entries, 'alert retention purge failed');
    } finally {
      await loop.stop();
      await database.drop();
    }
  });
});
