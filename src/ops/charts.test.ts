import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { testDelivery } from '../../test/support/outbox-fixtures.js';
import { describeEachDialect, sqlitePlansOf } from '../../test/support/storage.js';
import { enqueueDeliveries } from '../delivery/outbox/enqueue.js';
import { FakeClock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';

// Monday 30 November 2026, 10:20 in Paris.
const NOW = Date.parse('2026-11-30T09:20:00Z');
const HOUR = 3_600_000;

describeEachDialect("the console's chart aggregates", (dialect) => {
  let t: TestApp;
  let acme: { tenantId: string; userId: string; token: string };
  let globex: { tenantId: string; token: string };
  let viewer: { token: string };
  const clock = new FakeClock(NOW);

  async function raiseAt(tenant: string, token: string, at: number, severity: string) {
    clock.set(at);
    const res = await t.call('POST', `/api/v1/tenants/${tenant}/alerts`, { severity, component: 'Jobs', message: `at ${at}` }, token);
    expect(res.statusCode).toBe(202);
  }

  beforeAll(async () => {
    // An api-only process sends nothing, so the attempts are the ones the test writes.
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    acme = await t.tenantWithUser('acme');
    await t.call('PATCH', '/api/v1/tenants/acme', { timeZone: 'Europe/Paris' });
    globex = await t.tenantWithUser('globex');
    viewer = await t.tenantWithUser('acme', ['Alerts Viewer']);
    await raiseAt('acme', acme.token, NOW - 10 * 60_000, 'Error');
    await raiseAt('acme', acme.token, NOW - 5 * 60_000, 'Error');
    await raiseAt('acme', acme.token, NOW - 2 * HOUR, 'Fatal');
    await raiseAt('acme', acme.token, NOW - 3 * 86_400_000, 'Warn');
    await raiseAt('acme', acme.token, NOW - 40 * 86_400_000, 'Info');
    await raiseAt('globex', globex.token, NOW - 60_000, 'Info');
    clock.set(NOW);

    const db = t.tocsin.deps.storage.db;
    await enqueueDeliveries(db, [testDelivery(acme.tenantId, 'ops@acme.example'), testDelivery(globex.tenantId, 'ops@globex.example')], clock);
    const deliveries = await db.selectFrom('deliveries').select(['id', 'tenant_id']).execute();
    const acmeDelivery = deliveries.find((d) => d.tenant_id === acme.tenantId)!.id;
    const globexDelivery = deliveries.find((d) => d.tenant_id === globex.tenantId)!.id;
    const attempt = (deliveryId: string, tenantId: string, n: number, at: number, outcome: string, code: number | null, response: string) => ({
      id: newId(),
      delivery_id: deliveryId,
      tenant_id: tenantId,
      attempt: n,
      worker: 'test',
      started_at: at - 1_000,
      finished_at: at,
      outcome,
      code,
      response,
      duration_ms: 1_000,
    });
    await db
      .insertInto('delivery_attempts')
      .values([
        attempt(acmeDelivery, acme.tenantId, 1, NOW - 3 * HOUR, 'sent', 250, '250 2.0.0 Ok'),
        attempt(acmeDelivery, acme.tenantId, 2, NOW - 50 * 60_000, 'retry', 421, '421 4.7.0 Try again later'),
        attempt(acmeDelivery, acme.tenantId, 3, NOW - 20 * 60_000, 'failed', 535, '535 5.7.8 Username and Password not accepted'),
        attempt(acmeDelivery, acme.tenantId, 4, NOW - 30 * HOUR, 'failed', 550, '550 too old to count'),
        attempt(globexDelivery, globex.tenantId, 1, NOW - 10 * 60_000, 'failed', 554, '554 globex only'),
      ])
      .execute();
  });
  afterAll(() => t.close());

  it('counts alerts per local hour and severity, the last bar holding now', async () => {
    const res = await t.call('GET', '/api/v1/tenants/acme/alerts/histogram?range=24h', undefined, acme.token);
    expect(res.statusCode).toBe(200);
    const body = res.json<{ unit: string; timeZone: string; buckets: { start: string; counts: Record<string, number> }[] }>();
    expect(body).toMatchObject({ range: '24h', unit: 'hour', timeZone: 'Europe/Paris' });
    expect(body.buckets).toHaveLength(24);
    expect(body.buckets.at(-1)).toMatchObject({ start: '2026-11-30T10:00:00+01:00', counts: { Error: 2, Fatal: 0, Info: 0 } });
    expect(body.buckets.at(-3)).toMatchObject({ start: '2026-11-30T08:00:00+01:00', counts: { Fatal: 1 } });
    const total = body.buckets.reduce((sum, b) => sum + Object.values(b.counts).reduce((a, n) => a + n, 0), 0);
    // Neither the alert of three days ago nor globex's is in acme's day.
    expect(total).toBe(3);
  });

  // 09:20 UTC is 01:20 in Los Angeles: the Fatal alert of two hours before was the day before there.
  it('counts 30 local days, in the time zone asked for', async () => {
    const res = await t.call('GET', '/api/v1/tenants/acme/alerts/histogram?range=30d&timeZone=America/Los_Angeles', undefined, viewer.token);
    expect(res.statusCode).toBe(200);
    const body = res.json<{ unit: string; buckets: { start: string; counts: Record<string, number> }[] }>();
    expect(body.unit).toBe('day');
    expect(body.buckets).toHaveLength(30);
    expect(body.buckets.at(-1)).toMatchObject({ start: '2026-11-30T00:00:00-08:00', counts: { Error: 2, Fatal: 0 } });
    expect(body.buckets.at(-2)!.counts.Fatal).toBe(1);
    expect(body.buckets.find((b) => b.start.startsWith('2026-11-27'))!.counts.Warn).toBe(1);
    expect(body.buckets.reduce((sum, b) => sum + b.counts.Info!, 0)).toBe(0);
  });

  it('refuses a range or time zone it does not know with a problem naming the field', async () => {
    for (const [query, field] of [
      ['range=1y', 'range'],
      ['timeZone=Mars/Olympus', 'timeZone'],
    ] as const) {
      const res = await t.call('GET', `/api/v1/tenants/acme/alerts/histogram?${query}`, undefined, acme.token);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(JSON.stringify(res.json())).toContain(field);
    }
    const hours = await t.call('GET', '/api/v1/tenants/acme/deliveries/hourly?hours=0', undefined, acme.token);
    expect(hours.statusCode).toBe(400);
    expect(JSON.stringify(hours.json())).toContain('hours');
  });

  it("draws its hours in the tenant's zone, else UTC, when the caller's stored zone is one the runtime does not know", async () => {
    // Saved by a process whose runtime knew it (a newer Node during a rolling upgrade, say): the bars had no start or end.
    const db = t.tocsin.deps.storage.db;
    await db.updateTable('users').set({ time_zone: 'Mars/Olympus' }).where('id', '=', acme.userId).execute();
    try {
      for (const path of ['alerts/histogram?range=24h', 'deliveries/hourly']) {
        const body = (await t.call('GET', `/api/v1/tenants/acme/${path}`, undefined, acme.token)).json();
        expect(body.timeZone, path).toBe('Europe/Paris');
        expect(body.buckets.at(-1).start, path).toBe('2026-11-30T10:00:00+01:00');
      }
      const lost = await t.tenantWithUser('lost');
      await db.updateTable('tenants').set({ time_zone: 'Mars/Olympus' }).where('id', '=', lost.tenantId).execute();
      const body = (await t.call('GET', '/api/v1/tenants/lost/alerts/histogram?range=7d', undefined, lost.token)).json();
      expect(body.timeZone).toBe('UTC');
      expect(body.buckets.at(-1)).toMatchObject({ start: '2026-11-30T06:00:00Z', end: '2026-11-30T12:00:00Z' });
    } finally {
      await db.updateTable('users').set({ time_zone: null }).where('id', '=', acme.userId).execute();
      await t.call('DELETE', '/api/v1/tenants/lost');
    }
  });

  it('counts delivery attempts per hour by outcome, with the failing server’s last reply', async () => {
    const res = await t.call('GET', '/api/v1/tenants/acme/deliveries/hourly', undefined, acme.token);
    expect(res.statusCode).toBe(200);
    const body = res.json<{ buckets: { start: string; sent: number; retrying: number; failed: number }[]; lastFailure: unknown }>();
    expect(body.buckets).toHaveLength(24);
    expect(body.buckets.at(-1)).toMatchObject({ start: '2026-11-30T10:00:00+01:00', sent: 0, retrying: 0, failed: 1 });
    expect(body.buckets.at(-2)).toMatchObject({ retrying: 1, failed: 0 });
    expect(body.buckets.at(-4)).toMatchObject({ sent: 1 });
    expect(body.buckets.reduce((sum, b) => sum + b.failed, 0)).toBe(1);
    expect(body.lastFailure).toEqual({
      at: new Date(NOW - 20 * 60_000).toISOString(),
      code: 535,
      response: '535 5.7.8 Username and Password not accepted',
      recipient: 'ops@acme.example',
      final: true,
    });
  });

  it('keeps the charts to those who may read the lists', async () => {
    expect((await t.call('GET', '/api/v1/tenants/acme/deliveries/hourly', undefined, viewer.token)).statusCode).toBe(403);
    expect((await t.call('GET', '/api/v1/tenants/acme/alerts/histogram', undefined, globex.token)).statusCode).toBe(404);
    expect((await t.call('GET', '/api/v1/system/tenant-activity', undefined, acme.token)).statusCode).toBe(403);
  });

  it("counts the host's tenant activity from each tenant's index range of the hours asked, not from every alert and attempt kept", async () => {
    let items: { name: string; alerts: Record<string, number>; attempts: Record<string, number> }[] = [];
    const activity = async () => {
      items = (await t.call('GET', '/api/v1/system/tenant-activity?hours=2')).json<{ items: typeof items }>().items;
    };
    // Before the test below: each statement is planned where it is first prepared.
    const [alertsPlan, attemptsPlan] = await sqlitePlansOf(['cross join "alerts"', 'cross join "delivery_attempts"'], activity);
    // Two hours back: only what happened since (the last day's, below, holds more).
    expect(items.map((i) => i.name)).toEqual(['acme', 'globex']);
    expect(items.map((i) => [i.alerts, i.attempts])).toEqual([
      [
        { Info: 0, Success: 0, Warn: 0, Error: 2, Fatal: 1 },
        { sent: 0, retrying: 1, failed: 1 },
      ],
      [
        { Info: 1, Success: 0, Warn: 0, Error: 0, Fatal: 0 },
        { sent: 0, retrying: 0, failed: 1 },
      ],
    ]);
    if (dialect === 'sqlite') {
      // Before: SCAN alerts USING INDEX alerts_tenant_created, SCAN delivery_attempts USING INDEX delivery_attempts_tenant_finished.
      expect(alertsPlan).toContainEqual(expect.stringMatching(/^SEARCH a USING INDEX alerts_tenant_created \(tenant_id=\? AND created_at>\?\)/));
      expect(attemptsPlan).toContainEqual(expect.stringMatching(/^SEARCH d USING INDEX delivery_attempts_tenant_finished \(tenant_id=\? AND finished_at>\?\)/));
    }
  });

  it("shows the host every tenant's last day at a glance", async () => {
    const res = await t.call('GET', '/api/v1/system/tenant-activity');
    expect(res.statusCode).toBe(200);
    const items = res.json<{ items: { name: string; alerts: Record<string, number>; attempts: Record<string, number>; mailHealth: { state: string } }[] }>()
      .items;
    expect(items.map((i) => i.name)).toEqual(['acme', 'globex']);
    expect(items[0]).toMatchObject({
      alerts: { Error: 2, Fatal: 1, Warn: 0, Info: 0 },
      attempts: { sent: 1, retrying: 1, failed: 1 },
      mailHealth: { state: 'ok' },
    });
    expect(items[1]).toMatchObject({ alerts: { Info: 1 }, attempts: { sent: 0, retrying: 0, failed: 1 } });
    expect((await t.call('GET', '/api/v1/system/tenant-activity?hours=abc')).statusCode).toBe(400);
  });
});
