/**
 * R7, the digest scheduler over three days of a fake clock: two tenants (Paris and New York)
 * through New York's autumn change and a month end, the scheduler restarted every few hours, the
 * clock moving in uneven steps. No summary window is missed or decided twice, every Error alert
 * is mailed in exactly one summary, and each day has exactly one daily report.
 */
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { insertAlerts } from '../alerts/store.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { ReportScheduler } from './scheduler.js';
import { seededRandom } from '../../test/support/seeded-random.js';

const START = Date.parse('2026-10-30T00:00:00Z');
const END = Date.parse('2026-11-02T00:00:00Z');
const INTERVAL = 600_000;

describeEachDialect('report scheduler over three days of a fake clock', (dialect) => {
  let t: TestApp;
  const clock = new FakeClock(START);
  const tenants: { id: string; zone: string }[] = [];

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    for (const [name, zone] of [
      ['paris', 'Europe/Paris'],
      ['newyork', 'America/New_York'],
    ] as const) {
      const id = (await t.call('POST', '/api/v1/tenants', { name, timeZone: zone })).json().id;
      await t.enableAlertEmails(name);
      await t.call('POST', `/api/v1/tenants/${name}/users`, { email: `viewer@${name}.example.com`, name: 'Viewer', roles: ['Alerts Viewer'] });
      tenants.push({ id, zone });
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
    for (let tick = 0; clock.now() < END; tick++) {
      const step = Math.floor(20_000 + next() * 880_000);
      maxStep = Math.max(maxStep, step);
      clock.advance(step);
      if (next() < 0.3) {
        const tenant = tenants[Math.floor(next() * tenants.length)]!;
        await insertAlerts(
          db,
          tenant.id,
          [
            {
              severity: 'Error',
              component: 'Jobs',
              event: 'Process.JobExecution.Faulted',
              message: `at ${clock.now()}`,
              data: null,
              source: null,
              folder: null,
              dedupKey: null,
              occurredAt: undefined,
            },
          ],
          clock.now(),
        );
        raised.push({ tenantId: tenant.id, at: clock.now() });
      }
      if (tick % 40 === 39) scheduler = newScheduler(); // a restart every few hours
      await scheduler.tick();
    }

    for (const tenant of tenants) {
      const windows = await db.selectFrom('report_windows').selectAll().where('tenant_id', '=', tenant.id).orderBy('window_start').execute();
      const summaries = windows.filter((w) => w.kind === 'summary');
      for (let i = 1; i < summaries.length; i++) expect(summaries[i]!.window_start).toBe(summaries[i - 1]!.window_end);
      for (const w of windows) expect(w.decided_at - w.window_end).toBeLessThanOrEqual(maxStep + 1_000);

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

      // One daily report a day at 10:00 local, chained across the change: 23, 24 or 25 hours.
      const dailies = windows.filter((w) => w.kind === 'daily');
      expect(dailies.length).toBe(3);
      for (let i = 1; i < dailies.length; i++) expect(dailies[i]!.window_start).toBe(dailies[i - 1]!.window_end);
      const hours = dailies.map((d) => (d.window_end - d.window_start) / 3_600_000);
      expect(hours).toEqual(tenant.zone === 'America/New_York' ? [24, 24, 25] : [24, 24, 24]);
    }
  });
});
