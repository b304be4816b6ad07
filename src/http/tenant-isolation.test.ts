import type { HTTPMethods } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDialect } from '../../test/support/storage.js';
import type { RouteEntry } from './app.js';
import { newId } from '../shared/ids.js';
import { fillPath, hasSamples, makeObjects, missingSamples, pathParams, routeKey, sampleBody } from '../../test/support/route-walk.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';

// Tenant names double as leak markers: every object a sample makes in a tenant carries its name.
const A = 'alpha-isolation';
const B = 'bravo-isolation';

describeEachDialect('tenant isolation across the whole route table', (dialect) => {
  let t: TestApp;
  let a: { tenantId: string; userId: string; token: string };
  let b: { tenantId: string; userId: string; token: string };
  let routes: readonly RouteEntry[];

  beforeAll(async () => {
    t = await startTestApp(dialect);
    a = await t.tenantWithUser(A, ['Administrator']);
    b = await t.tenantWithUser(B, ['Administrator']);
    routes = t.tocsin.app.routeTable;
  });
  afterAll(() => t.close());

  const send = (route: RouteEntry, url: string, body: unknown, token: string) => t.call(route.method as HTTPMethods, url, body, token);

  it('has a sample object and body for every route (add missing ones to test/support/route-samples.ts)', () => {
    expect(missingSamples(routes).join('\n'), 'see the header comment of test/support/route-samples.ts').toBe('');
  });

  it("answers 404 on every route under another tenant's path, by name or by id, whatever the body", async () => {
    const failures: string[] = [];
    // Objects of A are only needed to fill the path; a route without samples gets made-up ids.
    for (const route of routes.filter((r) => pathParams(r.url).includes('tenant'))) {
      const ids = hasSamples(route) ? await makeObjects(t, route, A) : {};
      // A valid body and an invalid one: the tenant check comes before validation, so no 400 tells B anything.
      const bodies = route.hasBody ? [sampleBody(t, route, A, ids), { unexpected: ['field'] }] : [undefined];
      for (const [tenantRef, body] of [A, a.tenantId].flatMap((ref) => bodies.map((payload) => [ref, payload] as const))) {
        const url = fillPath(route.url, { ...ids, tenant: tenantRef });
        const res = await send(route, url, body, b.token);
        if (res.statusCode !== 404) failures.push(`${routeKey(route)} as ${B} on ${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      }
    }
    expect(failures.join('\n')).toBe('');
  });

  it("answers 404 for another tenant's object ids on one's own tenant path, where one's own ids work", async () => {
    const failures: string[] = [];
    const withObjectIds = routes.filter((r) => r.access !== 'public' && r.access !== 'host' && pathParams(r.url).some((p) => p !== 'tenant') && hasSamples(r));
    expect(withObjectIds.length).toBeGreaterThan(0);
    for (const route of withObjectIds) {
      const theirs = await makeObjects(t, route, A);
      const url = fillPath(route.url, { ...theirs, tenant: B });
      const res = await send(route, url, sampleBody(t, route, B, theirs), b.token);
      if (res.statusCode !== 404) failures.push(`${routeKey(route)} with ${A}'s ids: ${res.statusCode} ${res.body.slice(0, 200)}`);

      // The control: the same call with one's own objects is served, so the 404 above means isolation.
      const own = await makeObjects(t, route, B);
      const control = await send(route, fillPath(route.url, own), sampleBody(t, route, B, own), b.token);
      if (control.statusCode === 404 || control.statusCode >= 500) {
        failures.push(`${routeKey(route)} with its own ids (sample broken?): ${control.statusCode} ${control.body.slice(0, 200)}`);
      }
    }
    expect(failures.join('\n')).toBe('');
  });

  it("answers another tenant's ids exactly as ids that exist nowhere: same status, type and body", async () => {
    const failures: string[] = [];
    const withObjectIds = routes.filter((r) => r.access !== 'public' && r.access !== 'host' && pathParams(r.url).some((p) => p !== 'tenant') && hasSamples(r));
    // Each id in an answer stands as its parameter's name, so only what differs besides the id shows.
    const blind = (body: string, ids: Record<string, string>) =>
      Object.entries(ids).reduce((text, [name, id]) => (name === 'tenant' ? text : text.split(id).join(`<${name}>`)), body);
    for (const route of withObjectIds) {
      const theirs = await makeObjects(t, route, A);
      const nowhere = Object.fromEntries(Object.keys(theirs).map((name) => [name, name === 'tenant' ? B : newId()]));
      const [foreign, missing] = await Promise.all(
        [theirs, nowhere].map((ids) => send(route, fillPath(route.url, { ...ids, tenant: B }), sampleBody(t, route, B, ids), b.token)),
      );
      const seen = (res: Awaited<ReturnType<typeof send>>, ids: Record<string, string>) =>
        `${res.statusCode} ${res.headers['content-type']} ${blind(res.body, ids)}`;
      if (seen(foreign!, theirs) !== seen(missing!, nowhere)) {
        failures.push(`${routeKey(route)}: ${A}'s ids ${seen(foreign!, theirs).slice(0, 200)} but none ${seen(missing!, nowhere).slice(0, 200)}`);
      }
    }
    expect(failures.join('\n')).toBe('');
  });

  it('answers 404 on every Orchestrator-compatible route when the X-Tocsin-Tenant header names another tenant', async () => {
    const failures: string[] = [];
    const odata = routes.filter((r) => r.url.startsWith('/odata/') && r.access !== 'public');
    expect(odata.length).toBeGreaterThan(0);
    for (const route of odata) {
      for (const tenantRef of [A, a.tenantId]) {
        const res = await t.tocsin.app.inject({
          method: route.method as HTTPMethods,
          url: fillPath(route.url, {}),
          headers: { authorization: `Bearer ${b.token}`, 'x-tocsin-tenant': tenantRef },
          ...(route.hasBody ? { payload: sampleBody(t, route, B, {}) as object } : {}),
        });
        if (res.statusCode !== 404) failures.push(`${routeKey(route)} naming ${tenantRef}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      }
    }
    expect(failures.join('\n')).toBe('');
  });

  it("never shows one tenant's objects in another tenant's answers (lists, details, /me)", async () => {
    const readable = routes.filter((r) => r.method === 'GET' && r.access !== 'public' && r.access !== 'host' && hasSamples(r));
    // Both tenants get objects of every kind first, so each list has something to leak.
    const objectsOf: Record<string, Record<string, string>[]> = { [A]: [], [B]: [] };
    for (const route of readable) {
      for (const tenant of [A, B]) objectsOf[tenant]!.push(await makeObjects(t, route, tenant));
    }
    const failures: string[] = [];
    for (const [self, other, token] of [
      [A, B, a.token],
      [B, A, b.token],
    ] as const) {
      const otherIds = [...new Set([other === A ? a.tenantId : b.tenantId, other === A ? a.userId : b.userId, ...objectsOf[other]!.flatMap(Object.values)])];
      for (const [index, route] of readable.entries()) {
        const res = await send(route, fillPath(route.url, objectsOf[self]![index]!), undefined, token);
        if (res.statusCode !== 200) failures.push(`${routeKey(route)} as ${self}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        const leaked = [other, ...otherIds].filter((marker) => res.body.includes(marker));
        if (leaked.length > 0) failures.push(`${routeKey(route)} as ${self} shows ${other}'s ${leaked.join(', ')}`);
      }
    }
    expect(failures.join('\n')).toBe('');
  });

  it("lists only the tenant's own users, even for the host administrator", async () => {
    const emails = async (tenant: string) =>
      (await t.call('GET', `/api/v1/tenants/${tenant}/users`)).json<{ items: { email: string }[] }>().items.map((u) => u.email);
    expect((await emails(A)).every((e) => e.endsWith(`@${A}.example.com`) || e.startsWith(A))).toBe(true);
    expect((await emails(B)).every((e) => e.endsWith(`@${B}.example.com`) || e.startsWith(B))).toBe(true);
    expect(await emails(A)).not.toEqual([]);
  });

  it("ignores another tenant's alert ids in a body exactly as ids of no alert, and records nothing for them", async () => {
    const raised = await t.call('POST', `/api/v1/tenants/${A}/alerts`, { severity: 'Error', component: 'Jobs', message: 'body ids' });
    const alertId = raised.json().ids[0] as string;
    const groupId = (await t.call('GET', `/api/v1/tenants/${A}/alerts/${alertId}`)).json().groupId as string;
    expect(groupId).toEqual(expect.any(String));
    const failures: string[] = [];
    for (const [url, body] of [
      [`/api/v1/tenants/${B}/alerts/mark-read`, (id: string) => ({ ids: [id] })],
      [`/api/v1/tenants/${B}/alerts/mark-read`, (id: string) => ({ groupIds: [id] })],
      [`/api/v1/tenants/${B}/alerts/mark-unread`, (id: string) => ({ ids: [id] })],
      ['/odata/Alerts/UiPath.Server.Configuration.OData.MarkAsRead', (id: string) => ({ ids: [id] })],
    ] as const) {
      for (const id of [alertId, groupId]) {
        const foreign = await t.call('POST', url, body(id), b.token);
        const none = await t.call('POST', url, body(newId()), b.token);
        if (`${foreign.statusCode} ${foreign.body}` !== `${none.statusCode} ${none.body}`)
          failures.push(`${url} ${foreign.statusCode} ${foreign.body} vs ${none.body}`);
      }
    }
    expect(failures).toEqual([]);
    const db = t.tocsin.deps.storage.db;
    expect(await db.selectFrom('alert_read_state').select('user_id').where('alert_id', '=', alertId).execute()).toEqual([]);
  });

  it("refuses every host route to a tenant's Administrator with 403, whatever the body: no tenant reaches the system's settings, the other tenants or the mail catcher", async () => {
    const hostRoutes = routes.filter((r) => r.access === 'host');
    // The catcher keeps every tenant's emails; the system settings send them all; tenants are each other's.
    expect(hostRoutes.map(routeKey)).toEqual(expect.arrayContaining(['GET /api/v1/system/mail-catcher/messages', 'PUT /api/v1/system/mail-settings']));
    const failures: string[] = [];
    for (const route of hostRoutes) {
      const ids = hasSamples(route) ? await makeObjects(t, route, A) : {};
      for (const body of route.hasBody ? [sampleBody(t, route, A, ids), { unexpected: ['field'] }] : [undefined]) {
        const url = fillPath(route.url, { ...ids, tenant: A });
        const res = await send(route, url, body, a.token);
        if (res.statusCode !== 403) failures.push(`${routeKey(route)} as ${A}'s Administrator on ${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      }
    }
    expect(failures.join('\n')).toBe('');
  });

  it("answers another tenant's ids in a query (a flood's groupId, a recipient) exactly as ids of no object", async () => {
    // Each filter of B's lists given what only A has: B's answer must be the one an id of nothing gets. (The
    // audit's `before` is a position, not a reference: another tenant's id pages B's entries as its time does.)
    const flood = await t.call('POST', `/api/v1/tenants/${A}/alerts`, {
      alerts: ['first', 'second'].map((message) => ({ severity: 'Error', component: 'Jobs', message, dedupKey: 'query-ids' })),
    });
    const alertId = flood.json().ids[1] as string;
    const groupId = (await t.call('GET', `/api/v1/tenants/${A}/alerts/${alertId}`)).json().groupId as string;
    const recipient = (await t.call('GET', `/api/v1/tenants/${A}/users/${a.userId}`)).json().email as string;
    // B has a flood and a delivery of its own, so that an empty answer is a filter's, not an empty tenant's.
    await t.call('POST', `/api/v1/tenants/${B}/alerts`, { severity: 'Error', component: 'Jobs', message: 'own', dedupKey: 'query-ids' });
    await t.call('POST', `/api/v1/tenants/${B}/settings/mail/test`, { sendTo: recipient.replace(A, B) }, b.token);
    const failures: string[] = [];
    for (const [path, foreign, nowhere] of [
      ['alerts?groupId=', groupId, newId()],
      ['alerts?unread=true&groupId=', groupId, newId()],
      ['deliveries?recipient=', recipient, `nobody@${A}.example.com`],
    ] as const) {
      const ask = (id: string) => t.call('GET', `/api/v1/tenants/${B}/${path}${encodeURIComponent(id)}`, undefined, b.token);
      const [theirs, none] = await Promise.all([ask(foreign), ask(nowhere)]);
      if (`${theirs.statusCode} ${theirs.body}` !== `${none.statusCode} ${none.body}`)
        failures.push(`${path}: ${theirs.statusCode} ${theirs.body.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
    // The control: the same filters find A's objects for A.
    const mine = (await t.call('GET', `/api/v1/tenants/${A}/alerts?groupId=${groupId}`, undefined, a.token)).json().items;
    expect(mine.map((alert: { id: string }) => alert.id)).toContain(alertId);
  });

  it("refuses another tenant's role by its name, for a user or a group, naming the field", async () => {
    // Role names are the tenant's: a name only another tenant has is no role here, and must not grant what that one does.
    expect((await t.call('POST', `/api/v1/tenants/${A}/roles`, { name: 'Alpha only', permissions: ['Users.Edit'] }, a.token)).statusCode).toBe(201);
    const user = await t.call('POST', `/api/v1/tenants/${B}/users`, { email: 'borrower@bravo.example', name: 'Borrower', roles: ['Alpha only'] }, b.token);
    expect(user.statusCode, user.body).toBe(400);
    expect(user.json().errors[0].path).toBe('roles.0');
    const group = await t.call('POST', `/api/v1/tenants/${B}/groups`, { name: 'Borrowers', roles: ['Alpha only'] }, b.token);
    expect(group.statusCode, group.body).toBe(400);
    expect(group.json().errors[0].path).toBe('roles.0');
  });

  it("refuses another tenant's user as a group member, naming the field", async () => {
    const res = await t.call('POST', `/api/v1/tenants/${B}/groups`, { name: 'Mixed', members: [a.userId] }, b.token);
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].path).toBe('members.0');
  });

  it("answers 404, not 403, for another tenant's users to a caller holding less than they do, whether through their roles or their groups'", async () => {
    // A holder of Users.Edit may not act on a user holding more (403); another tenant's users are no
    // users of its tenant at all, and a 403 told that the id exists, and that its holder is mighty.
    const role = await t.call('POST', `/api/v1/tenants/${B}/roles`, { name: 'User editors', permissions: ['Users.View', 'Users.Edit'] }, b.token);
    expect(role.statusCode).toBe(201);
    const editor = await t.tenantWithUser(B, ['User editors']);
    const viaGroup = (await t.call('POST', `/api/v1/tenants/${A}/users`, { email: 'grouped-admin@alpha.example', name: 'Grouped', roles: [] }, a.token)).json()
      .id as string;
    const group = await t.call('POST', `/api/v1/tenants/${A}/groups`, { name: 'Admins', roles: ['Administrator'], members: [viaGroup] }, a.token);
    expect(group.statusCode).toBe(201);
    const nowhere = newId();
    for (const userId of [a.userId, viaGroup, nowhere]) {
      for (const [method, url, body] of [
        ['DELETE', `/api/v1/tenants/${B}/users/${userId}`, undefined],
        ['PATCH', `/api/v1/tenants/${B}/users/${userId}`, { password: 'a new password 1' }],
      ] as const) {
        const res = await t.call(method, url, body, editor.token);
        expect(`${method} ${userId === nowhere ? 'nowhere' : userId}: ${res.statusCode}`).toBe(`${method} ${userId === nowhere ? 'nowhere' : userId}: 404`);
      }
    }
    // The control: the same caller is refused a user of its own tenant holding more.
    expect((await t.call('DELETE', `/api/v1/tenants/${B}/users/${b.userId}`, undefined, editor.token)).statusCode).toBe(403);
  });
});
