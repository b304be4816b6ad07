import { afterAll, beforeAll, expect, it } from 'vitest';
import { toDelivery } from '../delivery/outbox/delivery.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { decideReports, reportComposersAt } from '../../test/support/report-runs.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { alertListUrl } from './templates/links.js';

const T0 = Date.parse('2026-06-01T07:59:00Z');
const INTERVAL = 600_000;

// A summary line of one dedup key raised by two robots was headed and linked by its first alert's
// robot ("Robot: R-c · Alerts: 2", robot=R-c), hiding the other robot's alert from the reader.
describeEachDialect('summary lines of one dedup key raised by several robots', (dialect) => {
  let t: TestApp;
  let clock: FakeClock;
  const base = '/api/v1/tenants/mixed';

  beforeAll(async () => {
    clock = new FakeClock(T0);
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'mixed' });
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
    await t.call('POST', `${base}/users`, { email: 'ann@example.com', name: 'Ann', roles: ['Alerts Viewer'] });
    clock.advance(30_000);
    for (const robot of ['R-c', 'R-d']) {
      await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: `boom on ${robot}`, dedupKey: 'k1', source: { robot } });
    }
    // A flood of one robot alone: its line stays as it was.
    for (let i = 0; i < 2; i++) {
      await t.call('POST', `${base}/alerts`, {
        severity: 'Error',
        component: 'Queues',
        message: 'stuck on R-e',
        dedupKey: 'k2',
        source: { robot: 'R-e', machine: 'VM-e' },
      });
    }
    clock.set(Math.ceil(T0 / INTERVAL) * INTERVAL + 1_500);
    await decideReports(t.tocsin, clock, INTERVAL);
  });
  afterAll(() => t.close());

  const summary = async () => {
    const db = t.tocsin.deps.storage.db;
    const row = await db
      .selectFrom('deliveries')
      .selectAll()
      .where('kind', '=', 'summary')
      .where('recipient_address', '=', 'ann@example.com')
      .executeTakeFirstOrThrow();
    const composers = reportComposersAt(db, clock, INTERVAL);
    return { row, email: await composers.summary!(toDelivery(row)) };
  };
  const listed = async (url: string) => {
    const query = new URL(url.replace('/#/alerts', '/')).searchParams;
    query.delete('tenant');
    return (await t.call('GET', `${base}/alerts?${query}`))
      .json()
      .items.map((a: { message: string }) => a.message)
      .sort();
  };

  it('heads the line by what all its alerts share and links its group to all of them, not to its first robot alone', async () => {
    const { row, email } = await summary();
    const window = { tenant: row.tenant_id, severity: 'Error' as const, since: row.window_start!, until: row.window_end! };
    expect(email.text).not.toContain('Robot: R-c');
    expect(email.text).toMatch(/^== Component: Jobs( · [^·\n]+)? · Alerts: 2 · /m);
    const group = alertListUrl('https://tocsin.example.com', { ...window, component: 'Jobs' });
    expect(email.text).toContain(`Show these alerts: ${group}`);
    expect(await listed(group)).toEqual(['boom on R-c', 'boom on R-d']);
    // The line itself names no robot its alerts do not all share.
    expect(email.text).toMatch(/\[Error\] Custom alert ×2\n {2}boom on R-c\n {2}\S+ · Component: Jobs\n/);
  });

  it('keeps the line of a flood of one source as it was: headed, shown and linked by its robot', async () => {
    const { row, email } = await summary();
    const window = { tenant: row.tenant_id, severity: 'Error' as const, since: row.window_start!, until: row.window_end! };
    expect(email.text).toMatch(/^== Robot: R-e · Still failing · Alerts: 2 · /m);
    expect(email.text).toContain(`Show these alerts: ${alertListUrl('https://tocsin.example.com', { ...window, source: { robot: 'R-e' } })}`);
    expect(email.text).toMatch(/\[Error\] Custom alert ×2\n {2}stuck on R-e\n {2}\S+ · Component: Queues · Robot: R-e · Machine: VM-e\n/);
  });
});
