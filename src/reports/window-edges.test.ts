import { expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { decideReports } from '../../test/support/report-runs.js';
import { describeEachDialect } from '../../test/support/storage.js';
import type { Dialect } from '../storage/dialect.js';
import { FakeClock } from '../shared/clock.js';

const INTERVAL = 600_000;

/**
 * summariesOfOneAlert raises one Fatal alert at `storedAt` in a tenant of one reader (UTC, 10-minute
 * windows) made at `createdAt`, decides the reports at each of `decidedAt`, and gives the summaries queued: [window start, address].
 */
async function summariesOfOneAlert(
  dialect: Dialect,
  storedAt: string,
  decidedAt: readonly string[],
  createdAt = '2026-03-02T09:55:00Z',
): Promise<[number, string][]> {
  const clock = new FakeClock(Date.parse(createdAt));
  const t: TestApp = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
  try {
    const base = '/api/v1/tenants/edges';
    await t.call('POST', '/api/v1/tenants', { name: 'edges', timeZone: 'UTC' });
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    await t.call('POST', `${base}/users`, { email: 'ann@example.com', name: 'Ann', roles: ['Alerts Viewer'] });
    clock.set(Date.parse(storedAt));
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Fatal', component: 'Jobs', message: 'Payroll failed' })).statusCode).toBe(202);
    for (const at of decidedAt) {
      clock.set(Date.parse(at));
      await decideReports(t.tocsin, clock, INTERVAL);
    }
    const summaries = await t.tocsin.deps.storage.db
      .selectFrom('deliveries')
      .select(['window_start', 'recipient_address'])
      .where('kind', '=', 'summary')
      .execute();
    return summaries.map((s) => [Number(s.window_start), s.recipient_address]);
  } finally {
    await t.close();
  }
}

describeEachDialect('the edges of a summary window', (dialect) => {
  it('puts an alert stored at the very instant a window starts in that window’s summary', async () => {
    // Windows are [start, end): an alert at 10:00:00.000 belongs to 10:00–10:10, and was in no summary at all
    // if the decision counted only alerts after the start.
    expect(await summariesOfOneAlert(dialect, '2026-03-02T10:00:00.000Z', ['2026-03-02T10:00:01.500Z', '2026-03-02T10:10:01.500Z'])).toEqual([
      [Date.parse('2026-03-02T10:00:00Z'), 'ann@example.com'],
    ]);
  });

  it('leaves an alert stored at the very instant a window ends to the next window alone, deciding no summary of the earlier one for it', async () => {
    // An alert at 10:10:00.000 belongs to 10:10–10:20 only; counted in 10:00–10:10 too, that window was decided for
    // its reader as well, a summary with no line of its own.
    expect(await summariesOfOneAlert(dialect, '2026-03-02T10:10:00.000Z', ['2026-03-02T10:10:01.500Z', '2026-03-02T10:20:01.500Z'])).toEqual([
      [Date.parse('2026-03-02T10:10:00Z'), 'ann@example.com'],
    ]);
  });

  it('sends the first summary of a tenant created at the very instant a window starts', async () => {
    // Created at 10:00:00.000, the tenant has no window ending then: one recorded there, [10:00, 10:00), took
    // the key of its first real window, which was then never decided (nor any after it).
    const summaries = await summariesOfOneAlert(
      dialect,
      '2026-03-02T10:00:00.500Z',
      ['2026-03-02T10:00:01.500Z', '2026-03-02T10:10:01.500Z'],
      '2026-03-02T10:00:00.000Z',
    );
    expect(summaries).toEqual([[Date.parse('2026-03-02T10:00:00Z'), 'ann@example.com']]);
  });
});
