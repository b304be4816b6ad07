import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect, sqlitePlanOf } from '../../test/support/storage.js';
import { acknowledgementsOfAlerts } from './acknowledgements.js';

const T0 = Date.parse('2026-03-01T08:00:00Z');

describeEachDialect('acknowledging alerts', (dialect) => {
  let t: TestApp;
  const clock = new FakeClock(T0);
  let first: { userId: string; token: string };
  let second: { userId: string; token: string };
  let robot: string;
  let stranger: string;
  const api = '/api/v1/tenants/ack/alerts';

  beforeAll(async () => {
    t = await startTestApp(dialect, {}, { clock });
    first = await t.tenantWithUser('ack', ['Alerts Viewer']);
    second = await t.tenantWithUser('ack', ['Alerts Viewer']);
    robot = (await t.tenantWithUser('ack', ['Robot'])).token;
    stranger = (await t.tenantWithUser('other-ack', ['Administrator'])).token;
  });
  afterAll(() => t.close());

  const raise = async (body: object) => {
    clock.advance(1000);
    return (await t.call('POST', api, body, robot)).json<{ ids: string[] }>().ids;
  };

  it('starts unacknowledged, and an acknowledgement is visible to every reader, in lists, the panel and OData', async () => {
    const [alertId] = await raise({ severity: 'Error', component: 'Jobs', message: 'job faulted' });
    const before = (await t.call('GET', `${api}/${alertId}`, undefined, second.token)).json();
    expect(before).toMatchObject({ acknowledgedBy: null, acknowledgedAt: null });

    clock.advance(5000);
    const res = await t.call('POST', `${api}/${alertId}/acknowledge`, undefined, first.token);
    expect(res.statusCode).toBe(200);
    const expected = { acknowledgedBy: { userId: first.userId, name: 'ack user' }, acknowledgedAt: new Date(clock.now()).toISOString() };
    expect(res.json()).toMatchObject({ id: alertId, ...expected });

    const list = (await t.call('GET', api, undefined, second.token)).json().items;
    expect(list.find((a: { id: string }) => a.id === alertId)).toMatchObject(expected);
    const panel = (await t.call('GET', `${api}/panel`, undefined, second.token)).json().items;
    expect(panel.find((a: { id: string }) => a.id === alertId)).toMatchObject(expected);
    const odata = (await t.call('GET', '/odata/Alerts', undefined, second.token)).json().value;
    const dto = odata.find((a: { Id: string }) => a.Id === alertId);
    expect(JSON.parse(dto.Data)).toMatchObject({ AcknowledgedBy: { UserId: first.userId, Name: 'ack user' }, AcknowledgedAt: expected.acknowledgedAt });
  });

  it('refuses a body field it does not take, by name, as every other route does, and takes no body or {}', async () => {
    const [alertId] = await raise({ severity: 'Error', component: 'Jobs', message: 'acknowledged with a note' });
    const refused = await t.call('POST', `${api}/${alertId}/acknowledge`, { note: 'on it' }, first.token);
    expect(refused.statusCode).toBe(400);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.json().errors).toEqual([{ path: 'note', message: 'is not a known field' }]);
    expect((await t.call('GET', `${api}/${alertId}`, undefined, second.token)).json()).toMatchObject({ acknowledgedBy: null });
    expect((await t.call('POST', `${api}/${alertId}/acknowledge`, {}, first.token)).statusCode).toBe(200);
    expect((await t.call('POST', `${api}/${alertId}/acknowledge`, undefined, second.token)).json()).toMatchObject({ acknowledgedBy: { userId: first.userId } });
  });

  it("carries in the OData Data the Alert's own acknowledgedBy and acknowledgedAt, under the names API.md gives them", async () => {
    const [alertId] = await raise({ severity: 'Fatal', component: 'Robots', message: 'robot offline' });
    const dataOf = async () =>
      JSON.parse((await t.call('GET', '/odata/Alerts', undefined, second.token)).json().value.find((a: { Id: string }) => a.Id === alertId).Data);
    expect(await dataOf()).not.toHaveProperty('acknowledgedBy');
    const alert = (await t.call('POST', `${api}/${alertId}/acknowledge`, undefined, second.token)).json();
    expect(await dataOf()).toMatchObject({ acknowledgedBy: alert.acknowledgedBy, acknowledgedAt: alert.acknowledgedAt });
    expect(alert.acknowledgedBy).toEqual({ userId: second.userId, name: 'ack user' });
  });

  it("shows in the OData Data only Tocsin's acknowledgement, never one the raiser wrote in its data under those names", async () => {
    // A robot's data carrying AcknowledgedBy (or acknowledgedBy) made an alert nobody acknowledged read as acknowledged in Data.
    const forged = { UserId: 'someone', Name: 'The Boss' };
    const [alertId] = await raise({
      severity: 'Fatal',
      component: 'Robots',
      message: 'robot offline, forged',
      data: {
        AcknowledgedBy: forged,
        AcknowledgedAt: '2026-01-01T00:00:00.000Z',
        acknowledgedBy: { userId: 'someone', name: 'The Boss' },
        acknowledgedAt: '2026-01-01T00:00:00.000Z',
        robotId: 7,
      },
    });
    const dataOf = async () =>
      JSON.parse((await t.call('GET', '/odata/Alerts', undefined, second.token)).json().value.find((a: { Id: string }) => a.Id === alertId).Data);
    const before = await dataOf();
    expect(before).toMatchObject({ robotId: 7, Message: 'robot offline, forged' });
    for (const key of ['AcknowledgedBy', 'AcknowledgedAt', 'acknowledgedBy', 'acknowledgedAt']) expect(before, key).not.toHaveProperty(key);
    const alert = (await t.call('POST', `${api}/${alertId}/acknowledge`, undefined, first.token)).json();
    expect(await dataOf()).toMatchObject({
      AcknowledgedBy: { UserId: first.userId, Name: 'ack user' },
      AcknowledgedAt: alert.acknowledgedAt,
      acknowledgedBy: alert.acknowledgedBy,
      robotId: 7,
    });
  });

  it('acknowledges the whole flood, keeps the first acknowledgement, and records each in the audit list', async () => {
    const floodIds = await raise({ alerts: [1, 2, 3].map((i) => ({ severity: 'Error', component: 'Robots', message: `r${i}`, dedupKey: 'robot-7' })) });
    const ackAt = clock.now();
    expect((await t.call('POST', `${api}/${floodIds[1]}/acknowledge`, undefined, first.token)).statusCode).toBe(200);
    clock.advance(1000);
    const again = (await t.call('POST', `${api}/${floodIds[2]}/acknowledge`, undefined, second.token)).json();
    expect(again.acknowledgedBy.userId).toBe(first.userId);
    const later = await raise({ severity: 'Error', component: 'Robots', message: 'r4', dedupKey: 'robot-7' });
    for (const id of [...floodIds, ...later]) {
      const alert = (await t.call('GET', `${api}/${id}`, undefined, second.token)).json();
      expect(alert.acknowledgedBy?.userId, id).toBe(first.userId);
      expect(alert.acknowledgedAt).toBe(new Date(ackAt).toISOString());
    }
    const audit = (await t.call('GET', '/api/v1/tenants/ack/alert-actions')).json().items;
    expect(audit.slice(0, 2)).toMatchObject([
      { action: 'acknowledge', via: 'api', by: { userId: second.userId }, detail: { alertId: floodIds[2], groupId: floodIds[0] } },
      { action: 'acknowledge', via: 'api', by: { userId: first.userId }, detail: { alertId: floodIds[1], groupId: floodIds[0] } },
    ]);
  });

  it("is a 404 for another tenant's alert and a 404 for an unknown one", async () => {
    const [alertId] = await raise({ severity: 'Error', component: 'Jobs', message: 'mine' });
    expect((await t.call('POST', `/api/v1/tenants/other-ack/alerts/${alertId}/acknowledge`, undefined, stranger)).statusCode).toBe(404);
    expect((await t.call('POST', `${api}/${alertId}/acknowledge`, undefined, stranger)).statusCode).toBe(404);
    expect((await t.call('POST', `${api}/nope/acknowledge`, undefined, first.token)).statusCode).toBe(404);
    expect((await t.call('GET', `${api}/${alertId}`, undefined, first.token)).json().acknowledgedBy).toBeNull();
  });

  it("reads by alert id, as the reports show it, the acknowledgement of a lone alert and of a flood's every alert", async () => {
    const [lone] = await raise({ severity: 'Error', component: 'Jobs', message: 'lone, acknowledged' });
    const flood = await raise({ alerts: [1, 2].map((i) => ({ severity: 'Error', component: 'Robots', message: `f${i}`, dedupKey: 'robot-8' })) });
    const [unacknowledged] = await raise({ severity: 'Error', component: 'Jobs', message: 'nobody on it' });
    await t.call('POST', `${api}/${lone}/acknowledge`, undefined, first.token);
    await t.call('POST', `${api}/${flood[1]}/acknowledge`, undefined, second.token);
    const db = t.tocsin.deps.storage.db;
    const tenant = await db.selectFrom('tenants').select('id').where('name', '=', 'ack').executeTakeFirstOrThrow();
    const found = await acknowledgementsOfAlerts(db, tenant.id, [lone!, ...flood, unacknowledged!]);
    expect(Object.fromEntries([...found].map(([id, ack]) => [id, ack.by.userId]))).toEqual({
      [lone!]: first.userId,
      [flood[0]!]: second.userId,
      [flood[1]!]: second.userId,
    });
  });

  it("reads a report's acknowledgements by its alerts' ids, not by walking the tenant's alerts, and never another tenant's", async () => {
    const mine = await raise({ alerts: [1, 2, 3].map((i) => ({ severity: 'Error', component: 'Jobs', message: `batch ${i}` })) });
    await t.call('POST', `${api}/${mine[0]}/acknowledge`, undefined, first.token);
    const elsewhere = '/api/v1/tenants/other-ack/alerts';
    const [theirs] = (await t.call('POST', elsewhere, { severity: 'Error', component: 'Jobs', message: 'theirs' }, stranger)).json<{ ids: string[] }>().ids;
    await t.call('POST', `${elsewhere}/${theirs}/acknowledge`, undefined, stranger);
    const db = t.tocsin.deps.storage.db;
    const tenant = await db.selectFrom('tenants').select('id').where('name', '=', 'ack').executeTakeFirstOrThrow();
    let found = new Map<string, unknown>();
    // Five ids, a statement no test above prepared: SQLite walked the tenant's alerts from two ids on.
    const plan = await sqlitePlanOf('"alert_acknowledgements" as "k"', async () => {
      found = await acknowledgementsOfAlerts(db, tenant.id, [...mine, theirs!, 'no-such-alert']);
    });
    expect([...found.keys()]).toEqual([mine[0]]);
    if (dialect === 'sqlite') {
      expect(plan?.filter((detail) => /^(SCAN|SEARCH) a /.test(detail))).toEqual([
        expect.stringMatching(/^SEARCH a USING INDEX sqlite_autoindex_alerts_1 \(id=\?\)/),
      ]);
    }
  });
});
