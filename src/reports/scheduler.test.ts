import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newAlert } from '../../test/support/alerts.js';
import { beforeFirstInsert } from '../../test/support/between-reads.js';
import { captureWarnings } from '../../test/support/log-capture.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { decideReports } from '../../test/support/report-runs.js';
import { FakeClock } from '../shared/clock.js';
import { createTenant } from '../access/tenants.js';
import { insertAlerts } from '../alerts/store.js';
import { getMailSettings } from '../settings/mail-settings.js';
import { type Storage, openStorage } from '../storage/storage.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { type ReportSettings, lastWindowEnd, purgeDecidedWindows } from './decision-transactions.js';
import { ReportMetrics } from './metrics.js';
import { ReportScheduler, nextTickDelay } from './scheduler.js';

const T0 = Date.parse('2026-03-28T08:00:30Z'); // 09:00:30 in Paris, the day before the spring change
const MINUTE = 60_000;
const INTERVAL = 10 * MINUTE;

describeEachDialect('report scheduler', (dialect) => {
  let t: TestApp;
  let clock: FakeClock;
  let settings: ReportSettings;
  let scheduler: ReportScheduler;
  const users: Record<string, string> = {};
  const base = '/api/v1/tenants/sched';

  const newScheduler = (storage = t.tocsin.deps.storage) =>
    new ReportScheduler({
      storage,
      clock,
      logger: pino({ level: 'silent' }),
      settingsOf: async () => settings,
      settings: { summaryIntervalMs: INTERVAL },
    });
  const raise = async (severity: string, component: string, event: string, extra: Record<string, unknown> = {}) => {
    const res = await t.call('POST', `${base}/alerts`, { severity, component, event, message: `${event} happened`, ...extra });
    expect(res.statusCode).toBe(202);
  };
  const deliveries = (kind: string) =>
    t.tocsin.deps.storage.db
      .selectFrom('deliveries')
      .select(['recipient_address', 'window_start', 'window_end', 'idempotency_key', 'recipient_language', 'payload'])
      .where('kind', '=', kind)
      .orderBy('recipient_address')
      .execute();

  beforeAll(async () => {
    clock = new FakeClock(T0);
    settings = { alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: false };
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'sched', timeZone: 'Europe/Paris', language: 'fr' });
    // The app's commit-time decider reads the stored settings (new tenants start with alert emails off).
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    for (const [name, roles] of [
      ['ana', ['Alerts Viewer']],
      ['bo', ['Alerts Viewer']],
      ['cy', []],
      ['di', ['Alerts Viewer']],
    ] as const) {
      users[name] = (await t.call('POST', `${base}/users`, { email: `${name}@example.com`, name, roles })).json().id;
    }
    await t.call('PUT', `${base}/users/${users.bo}/alert-preferences`, { subscriptions: { Robots: false } });
    await t.call('PUT', `${base}/users/${users.di}/alert-preferences`, { email: { fatalImmediately: true, tenMinuteSummary: false } });
    scheduler = newScheduler();
  });
  afterAll(() => t.close());

  it('decides a summary window about a second after it ends, for subscribed viewers only, once', async () => {
    clock.set(T0 + MINUTE);
    await raise('Error', 'Robots', 'Robot.StatusChanged.NotResponding');
    await raise('Info', 'Jobs', 'Process.JobExecution.Faulted');
    const end = Math.ceil(T0 / INTERVAL) * INTERVAL;
    clock.set(end + 500);
    await scheduler.tick();
    expect(await deliveries('summary')).toEqual([]);
    clock.set(end + 1_500);
    await scheduler.tick();
    await scheduler.tick();
    await newScheduler().tick();
    const rows = await deliveries('summary');
    expect(rows.map((r) => r.recipient_address)).toEqual(['ana@example.com']);
    expect(rows[0]).toMatchObject({ window_end: end, recipient_language: 'fr' });
    expect(rows[0]!.idempotency_key).toContain(`summary:`);
  });

  it('sends no summary of a window without subscribed Fatal or Error alerts', async () => {
    clock.advance(INTERVAL);
    await raise('Warn', 'Queues', 'Queue.Sla.AtRisk');
    clock.advance(INTERVAL);
    await scheduler.tick();
    expect(await deliveries('summary')).toHaveLength(1);
  });

  it('sends the windows missed during downtime as one catch-up summary', async () => {
    const before = await deliveries('summary');
    const lastEnd = Math.max(...before.map((r) => Number(r.window_end)));
    clock.advance(5 * MINUTE);
    await raise('Fatal', 'Jobs', 'Process.JobExecution.Faulted', { dedupKey: 'job-1' });
    clock.advance(40 * MINUTE);
    const restarted = newScheduler();
    await restarted.tick();
    const after = (await deliveries('summary')).filter((r) => Number(r.window_end) > lastEnd);
    expect(after.map((r) => r.recipient_address)).toEqual(['ana@example.com', 'bo@example.com']);
    expect(Number(after[0]!.window_end) - Number(after[0]!.window_start)).toBeGreaterThan(INTERVAL);
  });

  it('leaves Fatal floods to the commit-time decider: one immediate email per dedup key to those who opted in', async () => {
    clock.advance(MINUTE);
    await raise('Fatal', 'Robots', 'Robot.StatusChanged.Offline', { dedupKey: 'robot-7' });
    await raise('Fatal', 'Robots', 'Robot.StatusChanged.Offline', { dedupKey: 'robot-7' });
    await raise('Fatal', 'Robots', 'Robot.StatusChanged.Offline', { dedupKey: 'robot-7' });
    await t.tocsin.decisionsSettled();
    clock.advance(2_000);
    await scheduler.tick();
    await newScheduler().tick();
    const rows = (await deliveries('immediate')).filter((r) => JSON.parse(r.payload).data.alertId !== undefined);
    const forDi = rows.filter((r) => r.recipient_address === 'di@example.com');
    // One for the job flood raised during the catch-up test and one for the robot flood.
    expect(forDi).toHaveLength(2);
    expect(rows.every((r) => r.recipient_address === 'di@example.com')).toBe(true);
  });

  it("decides the daily report at the tenant's report time, over every subscribed severity, once", async () => {
    // The clock went past 10:00 in Paris on 28 March (09:00 UTC) during the tests above.
    const first = await deliveries('daily');
    expect(first.map((r) => r.recipient_address)).toEqual(['ana@example.com', 'bo@example.com', 'di@example.com']);
    expect(Number(first[0]!.window_end)).toBe(Date.parse('2026-03-28T09:00:00Z'));
    // 10:00 in Paris on 29 March is 08:00 UTC (summer time started that night): the window is 23 hours.
    clock.set(Date.parse('2026-03-29T08:00:01.500Z'));
    await scheduler.tick();
    await newScheduler().tick();
    const rows = (await deliveries('daily')).filter((r) => Number(r.window_end) === Date.parse('2026-03-29T08:00:00Z'));
    // Only Robots alerts fell in that window, and Bo unsubscribed from Robots.
    expect(rows.map((r) => r.recipient_address)).toEqual(['ana@example.com', 'di@example.com']);
    expect(Number(rows[0]!.window_end) - Number(rows[0]!.window_start)).toBe(23 * 60 * MINUTE);
  });

  it('lets two instances decide each window once', async () => {
    // better-sqlite3 blocks its process while it waits for a lock, so a second SQLite connection
    // is only meaningful in a second process (the restart tests); here PostgreSQL gets its own pool.
    const second = dialect === 'postgres' ? await openStorage(t.tocsin.deps.config.databaseUrl, { poolSize: 2 }) : t.tocsin.deps.storage;
    try {
      clock.advance(2 * MINUTE);
      await raise('Error', 'Jobs', 'Process.JobExecution.Faulted');
      clock.advance(INTERVAL);
      const before = (await deliveries('summary')).length;
      await Promise.all([newScheduler().tick(), newScheduler(second).tick(), newScheduler(second).tick(), scheduler.tick()]);
      expect((await deliveries('summary')).length - before).toBe(2);
      const windows = await t.tocsin.deps.storage.db.selectFrom('report_windows').select(['kind', 'window_start']).execute();
      expect(new Set(windows.map((w) => `${w.kind}:${w.window_start}`)).size).toBe(windows.length);
    } finally {
      if (second !== t.tocsin.deps.storage) await second.close();
    }
  });

  it("decides windows but queues nothing while the tenant's alerts email is off", async () => {
    settings = { ...settings, alertsEmailEnabled: false };
    // The app also decides a Fatal alert's immediate email at commit, from the stored settings.
    expect((await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: false })).statusCode).toBe(200);
    const before = (await deliveries('summary')).length + (await deliveries('immediate')).length;
    clock.advance(MINUTE);
    await raise('Fatal', 'Jobs', 'Process.JobExecution.Faulted');
    clock.advance(INTERVAL);
    await scheduler.tick();
    await t.tocsin.decisionsSettled();
    expect((await deliveries('summary')).length + (await deliveries('immediate')).length).toBe(before);
    settings = { ...settings, alertsEmailEnabled: true };
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
  });
});

describe('report scheduler loop', () => {
  it('logs a failed look at the tenants and keeps looking, without an unhandled rejection', async () => {
    const storage = await openStorage('sqlite::memory:');
    await storage.close();
    // From debug: an outage's first failure is a warning, the ones after it debug lines (OutageLog).
    const failures: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void failures.push(line) });
    const scheduler = new ReportScheduler({
      storage,
      clock: new FakeClock(T0),
      logger,
      settingsOf: async () => ({ alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: false }),
      settings: { summaryIntervalMs: INTERVAL, tickMs: 5 },
    });
    scheduler.start();
    // Two looks end (the hook of the loop), each logged: the first failure did not stop the loop.
    await scheduler.ticked();
    await scheduler.ticked();
    await scheduler.stop();
    const looks = failures.map((line) => JSON.parse(line)).filter((e) => e.msg === 'the report scheduler could not look for due windows; will try again');
    expect(looks.length).toBeGreaterThan(1);
    expect(looks.filter((e) => e.level >= 40)).toHaveLength(1);
  });

  it('starts each look at the same point of its tick however long the last took, so no 1-second summary window is merged into the next', () => {
    // Windows of 1 s ending at 10:00:03 and :04 are due a settling second later, at :04 and :05.
    const whole = Date.parse('2026-03-28T10:00:04Z');
    // A look that started at :04.05 and took 980 ms (a busy SQLite under load): the next starts at :05.05, not at :06.03,
    // which would see both windows ended and decide them as one catch-up summary.
    const delay = nextTickDelay(whole + 1_030, 1_000);
    expect(whole + 1_030 + delay).toBe(whole + 1_050);
    // Quick looks keep the same point: one a second, each just after a window's due time.
    expect(whole + 1_060 + nextTickDelay(whole + 1_060, 1_000)).toBe(whole + 2_050);
    expect(whole + 1_050 + nextTickDelay(whole + 1_050, 1_000)).toBe(whole + 2_050);
    // Never a wait of more than a tick, nor of none.
    for (const now of [whole, whole + 1, whole + 49, whole + 999]) {
      expect(nextTickDelay(now, 1_000)).toBeGreaterThan(0);
      expect(nextTickDelay(now, 1_000)).toBeLessThanOrEqual(1_000);
    }
    expect(nextTickDelay(whole + 3, 5)).toBeGreaterThan(0);
  });

  it('counts the windows it decides and how late it decided them', async () => {
    const registry = new Registry();
    const metrics = new ReportMetrics(registry);
    metrics.decided('summary', 10_000, 11_200, 3);
    const text = await registry.metrics();
    expect(text).toContain('tocsin_report_windows_decided_total{kind="summary"} 1');
    expect(text).toContain('tocsin_report_deliveries_queued_total{kind="summary"} 3');
    expect(text).toContain('tocsin_report_decision_lateness_seconds_bucket{le="2",kind="summary"} 1');
  });
});

describeEachDialect('decided windows history', (dialect) => {
  it('forgets windows decided before the retention, keeping the latest the scheduler chains from', async () => {
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    try {
      const tenantId = (await t.call('POST', '/api/v1/tenants', { name: 'history' })).json().id;
      const db = t.tocsin.deps.storage.db;
      const row = (start: number) => ({
        tenant_id: tenantId,
        kind: 'summary',
        window_start: start,
        window_end: start + INTERVAL,
        deliveries: 0,
        decided_at: start + INTERVAL,
      });
      await db
        .insertInto('report_windows')
        .values([row(0), row(INTERVAL), row(40 * 24 * 3_600_000)])
        .execute();
      expect(await purgeDecidedWindows(db, 30 * 24 * 3_600_000)).toBe(2);
      expect(await lastWindowEnd(db, tenantId, 'summary')).toBe(40 * 24 * 3_600_000 + INTERVAL);
    } finally {
      await t.close();
    }
  });
});

describeEachDialect('report schedule across tenants', (dialect) => {
  let t: TestApp;
  let clock: FakeClock;
  const silent = pino({ level: 'silent' });
  const counting = (storage: Storage) => {
    const counter = { queries: 0 };
    // Counted as they are answered: a statement compiled once (sqlOnce) runs without transformQuery.
    const db = storage.db.withPlugin({
      transformQuery: (args) => args.node,
      transformResult: async (args) => {
        counter.queries += 1;
        return args.result;
      },
    });
    return { storage: { ...storage, db }, counter };
  };

  const schedulerOfTheApp = () =>
    new ReportScheduler({ storage: t.tocsin.deps.storage, clock, logger: silent, settingsOf: getMailSettings, settings: { summaryIntervalMs: INTERVAL } });

  beforeAll(async () => {
    clock = new FakeClock(T0);
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
  });
  afterAll(() => t.close());

  it('finds the due windows of every tenant by one query: a tick with nothing due is one query, however many tenants', async () => {
    for (let i = 0; i < 30; i++) await createTenant(t.tocsin.deps.storage.db, { name: `idle-${i}`, timeZone: 'Europe/Paris' }, clock);
    const { storage, counter } = counting(t.tocsin.deps.storage);
    const scheduler = new ReportScheduler({ storage, clock, logger: silent, settingsOf: getMailSettings, settings: { summaryIntervalMs: INTERVAL } });
    await scheduler.tick();
    clock.advance(MINUTE);
    counter.queries = 0;
    await scheduler.tick();
    expect(counter.queries).toBe(1);
  });

  it('finds a tenant that has no schedule (created by a process of an older version during a rolling upgrade) without a restart', async () => {
    clock.set(T0);
    const scheduler = schedulerOfTheApp();
    await scheduler.tick();
    // A process that predates report_schedule creates a tenant and saves its settings without a schedule row.
    const tenantId = (await t.call('POST', '/api/v1/tenants', { name: 'unscheduled' })).json().id;
    await t.call('PUT', '/api/v1/tenants/unscheduled/settings/mail', { alertsEmailEnabled: true });
    await t.tocsin.deps.storage.db.deleteFrom('report_schedule').where('tenant_id', '=', tenantId).execute();
    for (let minute = 0; minute < 30; minute++) {
      clock.advance(MINUTE);
      await scheduler.tick();
    }
    expect(await lastWindowEnd(t.tocsin.deps.storage.db, tenantId, 'summary')).toBeGreaterThan(T0);
  });

  it('sees a changed report time or time zone at the next tick, not at the old report time, and reports no hour twice', async () => {
    // 08:00:30 UTC is 09:00:30 in Paris: the 10:00 report is an hour away.
    clock.set(T0);
    const tenantId = (await t.call('POST', '/api/v1/tenants', { name: 'moved', timeZone: 'Europe/Paris' })).json().id;
    const scheduler = schedulerOfTheApp();
    await scheduler.tick();
    clock.advance(20 * MINUTE);
    await t.call('PUT', '/api/v1/tenants/moved/settings/mail', { dailyReportTime: '09:15' });
    await scheduler.tick();
    expect(await lastWindowEnd(t.tocsin.deps.storage.db, tenantId, 'daily')).toBe(Date.parse('2026-03-28T08:15:00Z'));
    // 09:20 in London is 08:20 UTC: today's 09:15 report there is still 55 minutes away, yesterday's was decided.
    await t.call('PATCH', '/api/v1/tenants/moved', { timeZone: 'Europe/London' });
    clock.advance(56 * MINUTE);
    await scheduler.tick();
    expect(await lastWindowEnd(t.tocsin.deps.storage.db, tenantId, 'daily')).toBe(Date.parse('2026-03-28T09:15:00Z'));
    // The second report of the day covers only the hour since the first: no alert is in both.
    const windows = await t.tocsin.deps.storage.db
      .selectFrom('report_windows')
      .select(['window_start', 'window_end'])
      .where('tenant_id', '=', tenantId)
      .where('kind', '=', 'daily')
      .orderBy('window_start')
      .execute();
    expect(windows.map((w) => [Number(w.window_start), Number(w.window_end)])).toEqual([
      [Date.parse('2026-03-27T08:15:00Z'), Date.parse('2026-03-28T08:15:00Z')],
      [Date.parse('2026-03-28T08:15:00Z'), Date.parse('2026-03-28T09:15:00Z')],
    ]);
  });

  it('sends a new tenant the first daily report that downtime hid, once, with every alert since its creation', async () => {
    // Created at 09:00 Paris on 22 October, an hour before its first report; the server is then down for four days.
    clock.set(Date.parse('2026-10-22T07:00:00Z'));
    const tenantId = (await t.call('POST', '/api/v1/tenants', { name: 'hidden', timeZone: 'Europe/Paris' })).json().id;
    await t.enableAlertEmails('hidden');
    await t.call('POST', '/api/v1/tenants/hidden/users', { email: 'ops@hidden.example.com', name: 'ops', roles: ['Alerts Viewer'] });
    const scheduler = schedulerOfTheApp();
    await scheduler.tick();
    clock.advance(MINUTE);
    expect((await t.call('POST', '/api/v1/tenants/hidden/alerts', { severity: 'Warn', component: 'Queues', message: 'slow' })).statusCode).toBe(202);
    clock.set(Date.parse('2026-10-26T11:00:00Z'));
    await schedulerOfTheApp().tick();
    await schedulerOfTheApp().tick();
    const dailies = await t.tocsin.deps.storage.db
      .selectFrom('deliveries')
      .select(['window_start', 'window_end'])
      .where('tenant_id', '=', tenantId)
      .where('kind', '=', 'daily')
      .execute();
    expect(dailies.map((d) => [Number(d.window_start), Number(d.window_end)])).toEqual([
      [Date.parse('2026-10-21T08:00:00Z'), Date.parse('2026-10-26T09:00:00Z')],
    ]);
  });

  it.runIf(dialect === 'postgres')('lets two schedulers tick at once, each due (tenant, kind) claimed and decided by one of them only', async () => {
    const second = await openStorage(t.tocsin.deps.config.databaseUrl, { poolSize: 4 });
    try {
      clock.advance(INTERVAL);
      // An Error alert in every tenant's window, so that each window gets a decision of its own (and reads the settings).
      const tenants = await t.tocsin.deps.storage.db.selectFrom('tenants').select('id').execute();
      const error = newAlert({ severity: 'Error', component: 'Jobs', event: 'Process.JobExecution.Faulted', message: 'x' });
      const windowEnd = Math.floor((clock.now() - 1_000) / INTERVAL) * INTERVAL;
      for (const { id } of tenants) await insertAlerts(t.tocsin.deps.storage.db, id, [error], windowEnd - 1_000);
      const seen = [new Map<string, number>(), new Map<string, number>()];
      const scheduler = (storage: Storage, i: number) =>
        new ReportScheduler({
          storage,
          clock,
          logger: silent,
          settingsOf: async (db, tenantId) => {
            seen[i]!.set(tenantId, (seen[i]!.get(tenantId) ?? 0) + 1);
            return getMailSettings(db, tenantId);
          },
          settings: { summaryIntervalMs: INTERVAL, batchSize: 5 },
        });
      await Promise.all([scheduler(t.tocsin.deps.storage, 0).tick(), scheduler(second, 1).tick()]);
      // Every tenant's summary window is due (their daily reports are not): decided by one scheduler only.
      for (const { id } of tenants) expect((seen[0]!.get(id) ?? 0) + (seen[1]!.get(id) ?? 0)).toBe(1);
    } finally {
      await second.close();
    }
  });
});

describeEachDialect('report scheduler and a time zone the runtime does not know', (dialect) => {
  let t: TestApp;
  const clock = new FakeClock(Date.parse('2026-03-28T08:59:00Z'));
  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
  });
  afterAll(() => t.close());

  it("decides that tenant's daily report at its time in UTC, and holds back no other tenant's", async () => {
    const db = t.tocsin.deps.storage.db;
    const paris = (await t.call('POST', '/api/v1/tenants', { name: 'paris', timeZone: 'Europe/Paris' })).json().id;
    // Saved by a process whose runtime knew the zone (a newer Node during a rolling upgrade, say), as the emails allow for.
    const unknown = (await t.call('POST', '/api/v1/tenants', { name: 'unknown', timeZone: 'Europe/Paris' })).json().id;
    await db.updateTable('tenants').set({ time_zone: 'Mars/Olympus' }).where('id', '=', unknown).execute();
    await decideReports(t.tocsin, clock, INTERVAL);
    // 10:00 in Paris.
    clock.set(Date.parse('2026-03-28T09:00:02Z'));
    await decideReports(t.tocsin, clock, INTERVAL);
    expect(await lastWindowEnd(db, paris, 'daily')).toBe(Date.parse('2026-03-28T09:00:00Z'));
    expect(await lastWindowEnd(db, unknown, 'daily')).toBeUndefined();
    // 10:00 in UTC.
    clock.set(Date.parse('2026-03-28T10:00:02Z'));
    await decideReports(t.tocsin, clock, INTERVAL);
    expect(await lastWindowEnd(db, unknown, 'daily')).toBe(Date.parse('2026-03-28T10:00:00Z'));
    expect(await lastWindowEnd(db, unknown, 'summary')).toBe(Date.parse('2026-03-28T10:00:00Z'));
  });
});

describeEachDialect('report scheduler and tenants deleted while it decides their windows', (dialect) => {
  it("decides the other tenants' windows in the same tick, logging no failure", async () => {
    const clock = new FakeClock(T0);
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    try {
      for (const name of ['stays', 'calm', 'gone-busy', 'gone-calm']) {
        await t.call('POST', '/api/v1/tenants', { name });
        await t.call('PUT', `/api/v1/tenants/${name}/settings/mail`, { alertsEmailEnabled: true });
        await t.call('POST', `/api/v1/tenants/${name}/users`, { email: `ann@${name}.example.com`, name: 'Ann', roles: ['Alerts Viewer'] });
      }
      clock.set(T0 + MINUTE);
      for (const name of ['stays', 'gone-busy']) {
        const raised = await t.call('POST', `/api/v1/tenants/${name}/alerts`, { severity: 'Error', component: 'Jobs', message: 'failed' });
        expect(raised.statusCode).toBe(202);
      }
      const storage = t.tocsin.deps.storage;
      const deleteTenant = async (name: string) => expect((await t.call('DELETE', `/api/v1/tenants/${name}`)).statusCode).toBe(204);
      const { log, entries } = captureWarnings();
      const settings: ReportSettings = { alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: false };
      let busyGone = false;
      let calmGone = false;
      const scheduler = new ReportScheduler({
        // A tenant without alerts in its window deleted just before the windows without alerts are recorded…
        storage: {
          ...storage,
          db: beforeFirstInsert(storage.db, 'report_windows', async () => {
            await deleteTenant('gone-calm');
            calmGone = true;
          }),
        },
        clock,
        logger: log,
        // … and one with alerts, just before those are decided.
        settingsOf: async () => {
          if (!busyGone) {
            busyGone = true;
            await deleteTenant('gone-busy');
          }
          return settings;
        },
        settings: { summaryIntervalMs: INTERVAL },
      });
      clock.set(Math.ceil((T0 + MINUTE) / INTERVAL) * INTERVAL + 2_000);
      await scheduler.tick();
      expect(busyGone).toBe(true);
      expect(calmGone).toBe(true);
      const summaries = await storage.db.selectFrom('deliveries').select('recipient_address').where('kind', '=', 'summary').execute();
      expect(summaries.map((r) => r.recipient_address)).toEqual(['ann@stays.example.com']);
      const calm = (await t.call('GET', '/api/v1/tenants/calm')).json().id;
      expect(await lastWindowEnd(storage.db, calm, 'summary')).toBeDefined();
      expect(entries).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

describeEachDialect('report scheduler and a tenant whose decision fails', (dialect) => {
  it('looks at that tenant again when its lease ends, a minute later, not at the next window’s end', async () => {
    const clock = new FakeClock(T0);
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    try {
      for (const name of ['steady', 'flaky']) {
        await t.call('POST', '/api/v1/tenants', { name });
        await t.enableAlertEmails(name);
        await t.call('POST', `/api/v1/tenants/${name}/users`, { email: `ann@${name}.example.com`, name: 'Ann', roles: ['Alerts Viewer'] });
      }
      const flaky = (await t.call('GET', '/api/v1/tenants/flaky')).json().id as string;
      clock.set(T0 + MINUTE);
      for (const name of ['steady', 'flaky']) {
        expect((await t.call('POST', `/api/v1/tenants/${name}/alerts`, { severity: 'Error', component: 'Jobs', message: 'failed' })).statusCode).toBe(202);
      }
      const settings: ReportSettings = { alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: false };
      let broken = true;
      const scheduler = new ReportScheduler({
        storage: t.tocsin.deps.storage,
        clock,
        logger: pino({ level: 'silent' }),
        // Settings that cannot be read fail that tenant's decision (alone, after its batch's), until they can.
        settingsOf: async (_db, tenantId) => (broken && tenantId === flaky ? (undefined as unknown as ReportSettings) : settings),
        settings: { summaryIntervalMs: INTERVAL },
      });
      const summariesTo = async () =>
        (await t.tocsin.deps.storage.db.selectFrom('deliveries').select('recipient_address').where('kind', '=', 'summary').execute())
          .map((r) => r.recipient_address)
          .sort();
      clock.set(Math.ceil((T0 + MINUTE) / INTERVAL) * INTERVAL + 2_000);
      await scheduler.tick();
      expect(await summariesTo()).toEqual(['ann@steady.example.com']);
      broken = false;
      clock.advance(MINUTE + 1_000);
      await scheduler.tick();
      expect(await summariesTo()).toEqual(['ann@flaky.example.com', 'ann@steady.example.com']);
    } finally {
      await t.close();
    }
  });
});
