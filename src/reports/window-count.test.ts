import { expect, it } from 'vitest';
import { toDelivery } from '../delivery/outbox/delivery.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { decideReports, reportComposersAt } from '../../test/support/report-runs.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { FakeClock } from '../shared/clock.js';

const HOUR = 3_600_000;
const CATCH_UP = 'Tocsin could not send summaries for a while';

describeEachDialect('the windows a summary covers', (dialect) => {
  it("reads as one window, not a catch-up, for the 90 minutes of Lord Howe's hour of the change, and as a catch-up for windows missed", async () => {
    // 01:10 in Lord Howe (+10:30): at 02:00 its clocks go to 02:30 (+11), so with hourly summaries
    // the window 01:00–03:00 there lasts 90 minutes, and nothing was missed.
    const clock = new FakeClock(Date.parse('2026-10-03T14:40:00Z'));
    const t: TestApp = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    try {
      const base = '/api/v1/tenants/lordhowe';
      await t.call('POST', '/api/v1/tenants', { name: 'lordhowe', timeZone: 'Australia/Lord_Howe' });
      await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
      await t.call('POST', `${base}/users`, { email: 'ann@example.com', name: 'Ann', roles: ['Alerts Viewer'] });
      const db = t.tocsin.deps.storage.db;
      const summary = async (windowStart: string) => {
        const row = await db
          .selectFrom('deliveries')
          .selectAll()
          .where('kind', '=', 'summary')
          .where('window_start', '=', Date.parse(windowStart))
          .executeTakeFirstOrThrow();
        const composers = reportComposersAt(db, clock, HOUR);
        return composers.summary!(toDelivery(row));
      };

      await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: 'Payroll failed' });
      clock.set(Date.parse('2026-10-03T16:00:01.500Z'));
      await decideReports(t.tocsin, clock, HOUR);
      const changing = await summary('2026-10-03T14:30:00Z');
      expect(changing.text).toContain('between Oct 4, 2026, 01:00 (UTC+10:30) and 03:00 (UTC+11:00)');
      expect(changing.text).not.toContain(CATCH_UP);

      // Two hourly windows missed (03:00–05:00 there): one catch-up summary that says so.
      await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: 'Payroll failed again' });
      clock.set(Date.parse('2026-10-03T18:00:01.500Z'));
      await decideReports(t.tocsin, clock, HOUR);
      expect((await summary('2026-10-03T16:00:00Z')).text).toContain(`${CATCH_UP}, so this one covers 2 windows.`);
    } finally {
      await t.close();
    }
  });
});
