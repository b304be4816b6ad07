import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadAccessFacts } from '../recipients/query.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';

// Names whose order SQLite (by code point) and a PostgreSQL collated en-US (the official Docker
// image's database is en_US.utf8, which passes over punctuation as ka-shifted does) read
// differently: case, accents, punctuation, digits.
// And one beyond U+FFFF (its UTF-16 surrogates come before U+FF21, where its code point comes after).
const NAMES = ['ops', 'Finance', 'admins', 'Zeta', 'éclair', 'Eclair', 'a-b', 'ab', 'a b', '_x', '1st', 'Émile', '\u{1F525} fire', '\uFF21 wide'];
const codePoints = (text: string) => [...text].map((c) => c.codePointAt(0)!);
const compareCodePoints = (a: string, b: string) => {
  const [x, y] = [codePoints(a), codePoints(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
};
const byCodePoint = (names: readonly string[]) => [...names].sort(compareCodePoints);
// Groups, roles and sources are listed as users are, ignoring case; names equal but for case by code point.
const ignoringCase = (names: readonly string[]) => [...names].sort((a, b) => compareCodePoints(a.toLowerCase(), b.toLowerCase()) || compareCodePoints(a, b));

describeEachDialect('text in code-point order whatever the database collation', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect, {}, {}, { icuLocale: 'en-US-u-ka-shifted' });
    for (const name of ['a0', 'a-b', 'ab', 'zeta']) expect((await t.call('POST', '/api/v1/tenants', { name: `order-${name}` })).statusCode).toBe(201);
  });
  afterAll(() => t.close());

  it('lists tenants, groups, roles, sources and users in the same order on SQLite and on a PostgreSQL collated en-US (groups, roles and sources ignoring case)', async () => {
    const tenants = (await t.call('GET', '/api/v1/tenants')).json<{ items: { name: string }[] }>().items.map((x) => x.name);
    expect(tenants).toEqual(byCodePoint(tenants));
    // The host's Tenants page draws its chart in this list's order beside the table of GET /tenants.
    const active = (await t.call('GET', '/api/v1/system/tenant-activity')).json<{ items: { name: string }[] }>().items.map((x) => x.name);
    expect(active).toEqual(tenants);
    const base = '/api/v1/tenants/order-ab';
    for (const name of NAMES) {
      expect((await t.call('POST', `${base}/groups`, { name })).statusCode).toBe(201);
      expect((await t.call('POST', `${base}/roles`, { name, permissions: ['Alerts.View'] })).statusCode).toBe(201);
      expect((await t.call('POST', `${base}/sources`, { name, kind: 'webhook' })).statusCode).toBe(201);
      expect((await t.call('POST', `${base}/users`, { email: `${name.replace(/\W/g, '')}-${NAMES.indexOf(name)}@example.com`, name })).statusCode).toBe(201);
    }
    const names = async (path: string, field: 'name' | 'email' = 'name') =>
      (await t.call('GET', `${base}/${path}`)).json<{ items: Record<string, string>[] }>().items.map((x) => x[field]!);
    expect(await names('groups')).toEqual(ignoringCase(NAMES));
    expect((await names('roles')).slice(3)).toEqual(ignoringCase(NAMES));
    expect(await names('sources')).toEqual(ignoringCase(NAMES));
    const emails = (await names('users', 'email')).map((e) => e.toLowerCase());
    expect(emails).toEqual(byCodePoint(emails));
    // The groups of recipients come in the same order (the first by name writes to an address two groups share).
    const tenantId = (await t.call('GET', base)).json<{ id: string }>().id;
    const facts = await loadAccessFacts(t.tocsin.deps.storage.db, tenantId);
    expect([...facts.groups.values()].map((g) => g.name)).toEqual(ignoringCase(NAMES));
    // The role names of a user or a group, in the same order as the roles' list.
    const holder = await t.call('POST', `${base}/users`, { email: 'holder@example.com', name: 'Holder', roles: NAMES });
    expect(holder.json().roles).toEqual(ignoringCase(NAMES));
    expect((await t.call('POST', `${base}/groups`, { name: 'holders', roles: NAMES })).json().roles).toEqual(ignoringCase(NAMES));
  });

  it('lists groups and roles ignoring case, as users are: a-c, B-y, Z, not B-y, Z, a-c', async () => {
    const base = '/api/v1/tenants/order-zeta';
    for (const name of ['B-y', 'Z', 'a-c', 'b-x']) {
      expect((await t.call('POST', `${base}/groups`, { name })).statusCode).toBe(201);
      expect((await t.call('POST', `${base}/roles`, { name, permissions: ['Alerts.View'] })).statusCode).toBe(201);
      expect((await t.call('POST', `${base}/users`, { email: `${name}@example.com`, name })).statusCode).toBe(201);
    }
    const names = async (path: string, field = 'name') =>
      (await t.call('GET', `${base}/${path}`)).json<{ items: Record<string, string>[] }>().items.map((x) => x[field]!);
    expect(await names('users', 'email')).toEqual(['a-c@example.com', 'b-x@example.com', 'B-y@example.com', 'Z@example.com']);
    expect(await names('groups')).toEqual(['a-c', 'b-x', 'B-y', 'Z']);
    expect((await names('roles')).slice(3)).toEqual(['a-c', 'b-x', 'B-y', 'Z']);
  });

  it("lists a group's members and a user's groups in one order on both engines, whatever order they were given in", async () => {
    const base = '/api/v1/tenants/order-a0';
    const user = async (email: string) => (await t.call('POST', `${base}/users`, { email, name: email })).json<{ id: string }>().id;
    const [first, second] = [await user('first@example.com'), await user('second@example.com')];
    const group = async (name: string) => (await t.call('POST', `${base}/groups`, { name, members: [second, first] })).json<{ id: string }>().id;
    const [one, two] = [await group('one'), await group('two')];
    await t.call('PATCH', `${base}/groups/${one}`, { members: [second, first] });
    const groupIds = [one, two].sort();
    expect((await t.call('GET', `${base}/groups/${one}`)).json().members).toEqual([first, second].sort());
    expect((await t.call('GET', `${base}/users/${first}`)).json().groups).toEqual(groupIds);
  });

  it("orders OData's $orderby=NotificationName and Component in the same order on both", async () => {
    const events = ['my.custom_Event', 'My.Custom.Event', 'my-custom.event', 'mycustom.event', 'Z.event', '9.event', 'my:custom'];
    const raised = await t.call('POST', '/api/v1/tenants/order-zeta/alerts', {
      alerts: events.map((event) => ({ severity: 'Info', component: 'Robots', event, message: event })),
    });
    expect(raised.statusCode).toBe(202);
    for (const direction of ['asc', 'desc'] as const) {
      const res = await t.tocsin.app.inject({
        method: 'GET',
        url: `/odata/Alerts?$orderby=${encodeURIComponent(`Component,NotificationName ${direction}`)}`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-tocsin-tenant': 'order-zeta' },
      });
      expect(res.statusCode).toBe(200);
      const expected = byCodePoint(events);
      expect(res.json<{ value: { NotificationName: string }[] }>().value.map((a) => a.NotificationName)).toEqual(
        direction === 'asc' ? expected : expected.reverse(),
      );
    }
  });
});
