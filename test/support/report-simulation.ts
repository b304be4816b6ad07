import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { insertAlerts } from '../../src/alerts/store.js';
import { ReportScheduler } from '../../src/reports/scheduler.js';
import { FakeClock } from '../../src/shared/clock.js';
import { type TestApp, startTestApp } from './http.js';
import { seededRandom } from './seeded-random.js';
import { describeEachDialect } from './storage.js';

const INTERVAL = 600_000;

/** SimulatedTenant is a tenant of the simulation and the lengths, in hours, its daily reports must have. */
export interface SimulatedTenant {
  readonly name: string;
  readonly zone: string;
  readonly dailyHours: readonly number[];
}

/** ReportSimulation is a stretch of fake time the scheduler runs through, and who lives in it. */
export interface ReportSimulation {
  readonly title: string;
  readonly start: string;
  readonly end: string;
  readonly tenants: readonly SimulatedTenant[];
}

/**
 * describeReportSimulation runs the report scheduler (R7) from `start` to `end` of a fake clock on
 * both databases: the clock moves in uneven steps of 20 s to 15 min, Error alerts come at random,
 * and the scheduler is replaced by a new one (a restart) every 40 ticks, wherever that falls in a
 * window. No summary window may be missed or decided twice, every Error alert must be in exactly
 * one summary, and the daily reports must chain day after day with the lengths the tenant's zone
 * gives them (23 or 25 hours across a change).
 */
export function describeReportSimulation(simulation: ReportSimulation): void {
  describeEachDialect(`report scheduler over ${simulation.title}`, (dialect) => {
    let t: TestApp;
    const clock = new FakeClock(Date.parse(simulation.start));
    const end = Date.parse(simulation.end);
    const tenants: (SimulatedTenant & { id: string })[] = [];

    beforeAll(async () => {
      t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
      for (const tenant of simulation.tenants) {
        const id = (await t.call('POST', '/api/v1/tenants', { name: tenant.name, timeZone: tenant.zone })).json().id;
        await t.enableAlertEmails(tenant.name);
        await t.call('POST', `/api/v1/tenants/${tenant.name}/users`, { email: `viewer@${tenant.name}.example.com`, name: 'Viewer', roles: ['Alerts Viewer'] });
        tenants.push({ ...tenant, id });
      }
    });
    afterAll(() => t.close());

    it('misses no window, decides none twice, and mails every Error alert in exactly one summary', async () => {
      const db = t.tocsin.deps.storage.db;
      const next = seededRandom(7);
      const newScheduler = () =>
        new ReportScheduler({
          storage: t.tocsin.deps.storage,
          clock,
          logger: pino({ level: 'silent' }),
          settingsOf: async () => ({ alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: true }),
          settings: { summaryIntervalMs: INTERVAL },
        });
      let scheduler = newScheduler();
      const raised: { tenantId: string; at: number }[] = [];
      let maxStep = 0;
      let restarts = 0;
      for (let tick = 0; clock.now() < end; tick++) {
        const step = Math.floor(20_000 + next() * 880_000);
        maxStep = Math.max(maxStep, step);
        clock.advance(step);
        if (next() < 0.3) {
          const tenant = tenants[Math.floor(next() * tenants.length)]!;
          const alert = { severity: 'Error' as const, component: 'Jobs', event: 'Process.JobExecution.Faulted', message: `at ${clock.now()}` };
          await insertAlerts(db, tenant.id, [{ ...alert, data: null, source: null, folder: null, dedupKey: null, occurredAt: undefined }], clock.now());
          raised.push({ tenantId: tenant.id, at: clock.now() });
        }
        if (tick % 40 === 39) {
          scheduler = newScheduler(); // a restart every few hours
          restarts += 1;
        }
        await scheduler.tick();
      }

      // R7's figures: every check below passing means none missed and none twice; lateness is the fake clock's.
      const lateness: number[] = [];
      for (const tenant of tenants) {
        const windows = await db.selectFrom('report_windows').selectAll().where('tenant_id', '=', tenant.id).orderBy('window_start').execute();
        const summaries = windows.filter((w) => w.kind === 'summary');
        for (let i = 1; i < summaries.length; i++) expect(summaries[i]!.window_start).toBe(summaries[i - 1]!.window_end);
        for (const w of windows) expect(w.decided_at - w.window_end).toBeLessThanOrEqual(maxStep + 1_000);
        lateness.push(...windows.map((w) => w.decided_at - w.window_end));

        const mailed = await db
          .selectFrom('deliveries')
          .select(['window_start', 'window_end'])
          .where('tenant_id', '=', tenant.id)
          .where('kind', '=', 'summary')
          .execute();
        expect(new Set(mailed.map((m) => m.window_start)).size).toBe(mailed.length);
        const lastEnd = summaries[summaries.length - 1]!.window_end;
        for (const alert of raised.filter((a) => a.tenantId === tenant.id && a.at < lastEnd)) {
          expect(mailed.filter((m) => m.window_start! <= alert.at && alert.at < m.window_end!)).toHaveLength(1);
        }

        // One daily report a day at 10:00 local, chained across a change: 23, 24 or 25 hours.
        const dailies = windows.filter((w) => w.kind === 'daily');
        for (let i = 1; i < dailies.length; i++) expect(dailies[i]!.window_start).toBe(dailies[i - 1]!.window_end);
        expect(
          dailies.map((d) => (d.window_end - d.window_start) / 3_600_000),
          tenant.zone,
        ).toEqual(tenant.dailyHours);
      }
      lateness.sort((a, b) => a - b);
      const p99 = lateness[Math.ceil(lateness.length * 0.99) - 1]!;
      process.stdout.write(
        `[R7 ${dialect} ${simulation.title}] ${lateness.length} windows decided, ${restarts} restarts, missed 0, twice 0; ` +
          `lateness p99 ${(p99 / 1000).toFixed(0)} s of fake time (clock steps up to ${(maxStep / 1000).toFixed(0)} s)\n`,
      );
    });
  });
}
