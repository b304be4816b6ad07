import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { toDelivery } from '../delivery/outbox/delivery.js';
import { type TestApp, startTestApp } from '../http/testing.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect } from '../storage/testing.js';
import { reportComposers } from './composers.js';
import { ReportScheduler } from './scheduler.js';
import { UnsubscribeLinks } from './unsubscribe/links.js';

const T0 = Date.parse('2026-06-01T07:59:00Z'); // 09:59 in Paris
const INTERVAL = 600_000;

describeEachDialect('report composers', (dialect) => {
  let t: TestApp;
  let clock: FakeClock;
  const base = '/api/v1/tenants/compose';

  const render = async (kind: string, address: string) => {
    const db = t.tocsin.deps.storage.db;
    const row = await db.selectFrom('deliveries').selectAll().where('kind', '=', kind).where('recipient_address', '=', address).executeTakeFirstOrThrow();
    const composers = reportComposers({
      db,
      publicUrl: 'https://tocsin.example.com',
      summaryIntervalMs: INTERVAL,
      unsubscribeLinks: new UnsubscribeLinks(db, 'https://tocsin.example.com', clock),
    });
    return composers[kind as 'summary']!(toDelivery(row));
  };

  beforeAll(async () => {
    clock = new FakeClock(T0);
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'compose', timeZone: 'Europe/Paris' });
    const fr = (await t.call('POST', `${base}/users`, { email: 'fr@example.com', name: 'Élise', language: 'fr', roles: ['Alerts Viewer'] })).json().id;
    await t.call('PUT', `${base}/users/${fr}/alert-preferences`, { subscriptions: { Queues: false }, email: { fatalImmediately: true } });
    clock.advance(30_000);
    for (let i = 0; i < 3; i++) {
      await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', event: 'Process.JobExecution.Faulted', message: 'Invoice <run> failed', dedupKey: 'invoice' });
    }
    await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Queues', event: 'Queue.Sla.Breached', message: 'SLA missed on Claims' });
    await t.call('POST', `${base}/alerts`, { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'Robot R2 offline' });
    await t.call('POST', `${base}/alerts`, { severity: 'Info', component: 'Robots', event: 'Robot.StatusChanged.Available', message: 'Robot R3 back' });
    clock.set(Math.ceil(T0 / INTERVAL) * INTERVAL + 1_500);
    await new ReportScheduler({
      storage: t.tocsin.deps.storage,
      clock,
      logger: pino({ level: 'silent' }),
      settingsOf: async () => ({ alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: false }),
      settings: { summaryIntervalMs: INTERVAL },
    }).tick();
  });
  afterAll(() => t.close());

  it('renders the summary in the recipient\'s language with its subscribed Fatal and Error alerts, repeats collapsed', async () => {
    const email = await render('summary', 'fr@example.com');
    expect(email.text).toContain('Invoice <run> failed');
    expect(email.text).toContain('Robot R2 offline');
    expect(email.text).not.toContain('SLA missed');
    expect(email.text).not.toContain('Robot R3 back');
    expect(email.text).toMatch(/×\s?3/);
    expect(email.html).toContain('Invoice &lt;run&gt; failed');
    expect(email.headers['X-Tocsin-Kind']).toBe('summary');
    expect(email.headers['List-Unsubscribe']).toMatch(/^<https:\/\/tocsin\.example\.com\/unsubscribe\/[\w.-]+>$/);
  });

  it('renders the immediate email of a Fatal alert for those who opted in', async () => {
    const email = await render('immediate', 'fr@example.com');
    expect(email.text).toContain('Robot R2 offline');
    expect(email.headers['X-Tocsin-Kind']).toBe('immediate');
  });
});
