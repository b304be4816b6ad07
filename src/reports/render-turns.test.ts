import { afterAll, beforeAll, expect, it } from 'vitest';
import { toDelivery } from '../delivery/outbox/delivery.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { decideReports, reportComposersAt } from '../../test/support/report-runs.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { countLoopTurns } from '../../test/support/loop-turn-counter.js';

const T0 = Date.parse('2026-06-01T07:59:00Z'); // 09:59 in Paris: the window's end is the daily report's time
const INTERVAL = 600_000;
const READERS = 8;

describeEachDialect("a claim's reports", (dialect) => {
  let t: TestApp;
  let clock: FakeClock;
  const base = '/api/v1/tenants/turns';

  beforeAll(async () => {
    clock = new FakeClock(T0);
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'turns', timeZone: 'Europe/Paris' });
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    for (let i = 0; i < READERS; i++) await t.call('POST', `${base}/users`, { email: `reader${i}@example.com`, name: `Reader ${i}`, roles: ['Alerts Viewer'] });
    clock.advance(30_000);
    await t.call('POST', `${base}/alerts`, {
      alerts: Array.from({ length: 20 }, (_, i) => ({ severity: i % 2 ? 'Error' : 'Warn', component: 'Jobs', event: `job_${i}`, message: `job ${i} failed` })),
    });
    clock.set(Math.ceil(T0 / INTERVAL) * INTERVAL + 1_500);
    await decideReports(t.tocsin, clock, INTERVAL);
  });
  afterAll(() => t.close());

  it('render each in a turn of the event loop of its own, so that the timers (the leases’ heartbeat) run between two renders', async () => {
    const db = t.tocsin.deps.storage.db;
    const rows = await db.selectFrom('deliveries').selectAll().where('kind', 'in', ['summary', 'daily']).execute();
    expect(rows).toHaveLength(2 * READERS);
    const composers = reportComposersAt(db, clock, INTERVAL);
    // Counts the turns of the event loop while the reports render, as the outbox renders a claim's rows: all at once.
    const counter = countLoopTurns();
    const renderedIn = await Promise.all(
      rows.map(async (row) => {
        const email = await composers[row.kind as 'summary' | 'daily']!(toDelivery(row));
        expect(email.headers['X-Tocsin-Kind']).toBe(row.kind);
        return counter.turn;
      }),
    );
    counter.stop();
    // Before, a synchronous database (SQLite) or one window's facts read for all (PostgreSQL) had the
    // 16 renders run back to back in one turn: a claim of 100 daily reports of a busy day held the
    // thread past the lease, no renewal ran, and no report was sent, claim after claim.
    expect(new Set(renderedIn).size).toBe(rows.length);
  });
});
