/**
 * A mute or snooze ending exactly when a summary window (or the daily report's period) ends was in
 * force for all of the window it reaches: the window's email, decided and written an instant after
 * that end, must still leave its alerts out, as it would for a mute ending a second later.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { decideReports } from '../../test/support/report-runs.js';
import { toDelivery } from '../delivery/outbox/delivery.js';
import { reportComposers } from '../reports/composers.js';
import { UnsubscribeLinks } from '../reports/unsubscribe/links.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect } from '../../test/support/storage.js';

const INTERVAL = 600_000;
// 10:00 UTC: the end of the 09:50 summary window and of the daily report's period (report time 10:00, tenant in UTC).
const END = Date.parse('2026-06-01T10:00:00Z');

describeEachDialect('a mute ending at the end of a window', (dialect) => {
  let t: TestApp;
  const clock = new FakeClock(END - 60_000);
  const base = '/api/v1/tenants/edge';
  const rowsOf = (address: string) =>
    t.tocsin.deps.storage.db
      .selectFrom('deliveries')
      .selectAll()
      .where('recipient_address', '=', address)
      .where('kind', 'in', ['summary', 'daily'])
      .orderBy('kind')
      .execute();
  const render = async (kind: 'summary' | 'daily', address: string) => {
    const db = t.tocsin.deps.storage.db;
    const composers = reportComposers({
      db,
      publicUrl: 'https://tocsin.example.com',
      summaryIntervalMs: INTERVAL,
      unsubscribeLinks: new UnsubscribeLinks(db, 'https://tocsin.example.com', clock),
      clock,
    });
    const row = (await rowsOf(address)).find((r) => r.kind === kind)!;
    return composers[kind]!(toDelivery(row));
  };

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'edge', timeZone: 'UTC' });
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    const user = async (email: string) => {
      const id = (await t.call('POST', `${base}/users`, { email, name: email.split('@')[0], roles: ['Alerts Viewer'] })).json().id as string;
      return (await t.call('POST', `${base}/users/${id}/tokens`, { name: 't' })).json().token as string;
    };
    await user('vera@example.com');
    const walt = await user('walt@example.com');
    const until = new Date(END).toISOString();
    expect((await t.call('POST', `${base}/mutes`, { scope: 'tenant', match: { robot: 'R-muted' }, until })).statusCode).toBe(201);
    // Walt snoozes the only other robot: every alert of the window is muted for him.
    const snooze = await t.call('POST', `${base}/mutes`, { scope: 'user', match: { robot: 'R-other' }, until }, walt);
    expect(snooze.statusCode).toBe(201);
    for (const robot of ['R-muted', 'R-other'])
      await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Robots', message: `failure on ${robot}`, source: { robot } });
    clock.set(END + 1_500);
    await decideReports(t.tocsin, clock, INTERVAL);
  });
  afterAll(() => t?.close());

  it("leaves the muted robot out of the window's summary and daily report, saying it was muted", async () => {
    expect((await rowsOf('vera@example.com')).map((r) => r.kind)).toEqual(['daily', 'summary']);
    const summary = await render('summary', 'vera@example.com');
    expect(summary.text).toContain('failure on R-other');
    expect(summary.text).not.toContain('failure on R-muted');
    expect(summary.text).toMatch(/Robot: R-muted until/);
    const daily = await render('daily', 'vera@example.com');
    expect(daily.text).toContain('1 alert of this period is not shown');
  });

  it('queues no summary or daily report for a reader whose every alert of the window was muted or snoozed until its end', async () => {
    expect(await rowsOf('walt@example.com')).toEqual([]);
  });
});
