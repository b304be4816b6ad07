import zlib from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../../test/support/http.js';
import { FakeClock } from '../../shared/clock.js';
import { CURSOR_KEY_PURPOSE } from '../../shared/signed-cursor.js';
import { encodeCursor } from '../view.js';
import { describeEachDialect } from '../../../test/support/storage.js';

const T0 = Date.parse('2026-03-01T08:00:00Z');
const ACTIONS = '/odata/Alerts/UiPath.Server.Configuration.OData';

describeEachDialect('Orchestrator-compatible alerts', (dialect) => {
  let t: TestApp;
  const clock = new FakeClock(T0);
  let token: string;
  let ids: string[];

  beforeAll(async () => {
    t = await startTestApp(dialect, {}, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'default' });
    await t.call('POST', '/api/v1/tenants/default/users', {
      email: 'robot@example.com',
      name: 'Robot account',
      password: 'correct horse battery',
      roles: ['Robot'],
    });
    await t.call('POST', '/api/v1/tenants/default/users', { email: 'viewer@example.com', name: 'V', password: 'viewer password', roles: ['Alerts Viewer'] });
    ids = [];
    for (const [severity, component] of [
      ['Info', 'Robots'],
      ['Error', 'Jobs'],
      ['Fatal', 'Robots'],
      ['Warn', 'Queues'],
    ]) {
      clock.advance(60_000);
      ids.push(...(await t.call('POST', '/api/v1/tenants/default/alerts', { severity, component, message: `${severity} in ${component}` })).json().ids);
    }
  });
  afterAll(() => t.close());

  const signIn = (body: unknown, url = '/api/Account/Authenticate') => t.tocsin.app.inject({ method: 'POST', url, payload: body as object });
  /** robotAt is the robot's token from a sign-in at `url`, and oldestAt the id of the oldest alert that `path` lists. */
  const robotAt = async (url: string) => {
    const res = await signIn({ tenancyName: 'default', usernameOrEmailAddress: 'robot@example.com', password: 'correct horse battery' }, url);
    expect(res.statusCode).toBe(200);
    return res.json().result as string;
  };
  const oldestAt = async (path: string, bearer: string) => {
    const page = await t.call('GET', `${path}?$top=1&$orderby=CreationTime%20asc`, undefined, bearer);
    expect(page.statusCode).toBe(200);
    return page.json().value.map((a: { Id: string }) => a.Id);
  };

  it('signs in as Orchestrator clients do (camelCase keys) and the token works', async () => {
    const res = await signIn({ tenancyName: 'default', usernameOrEmailAddress: 'robot@example.com', password: 'correct horse battery' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: true, result: expect.any(String) });
    token = res.json().result;
    const pascal = await signIn({ TenancyName: 'default', UsernameOrEmailAddress: 'ROBOT@example.com', Password: 'correct horse battery' });
    expect(pascal.statusCode).toBe(200);
    expect((await t.call('GET', '/odata/Alerts', undefined, token)).statusCode).toBe(200);
  });

  it("reads a form-encoded sign-in as a JSON body is read: in its charset (Apache HttpClient's ISO-8859-1), undone from its Content-Encoding, and JSON that curl -d labels a form", async () => {
    // Percent escapes were read as UTF-8 whatever the charset, so a password with an umlaut was a
    // 401; a gzipped form was parsed compressed, and curl -d '{…}' was a 400 naming every field.
    await t.call('POST', '/api/v1/tenants/default/users', { email: 'jurgen@example.com', name: 'Jürgen', password: 'Grüße aus Köln', roles: ['Robot'] });
    const form = (body: string | Buffer, type: string, headers: Record<string, string> = {}) =>
      t.tocsin.app.inject({ method: 'POST', url: '/api/Account/Authenticate', headers: { 'content-type': type, ...headers }, payload: body });
    const fields = 'tenancyName=default&usernameOrEmailAddress=jurgen%40example.com&password=';
    const signedIn = async (res: Awaited<ReturnType<typeof form>>) => {
      expect(res.statusCode, res.body).toBe(200);
      expect((await t.call('GET', '/api/v1/tenants/default/me', undefined, res.json().result)).json().email).toBe('jurgen@example.com');
    };
    const latin1 = 'application/x-www-form-urlencoded; charset=ISO-8859-1';
    await signedIn(await form(`${fields}Gr%FC%DFe+aus+K%F6ln`, latin1));
    await signedIn(await form(Buffer.from(`${fields}Grüße aus Köln`, 'latin1'), latin1));
    await signedIn(await form(`${fields}Gr%C3%BC%C3%9Fe%20aus%20K%C3%B6ln`, 'application/x-www-form-urlencoded'));
    await signedIn(await form(zlib.gzipSync(`${fields}Gr%C3%BC%C3%9Fe+aus+K%C3%B6ln`), 'application/x-www-form-urlencoded', { 'content-encoding': 'gzip' }));
    // Bounded as the same form sent plain is (the sign-in's limit), not by a smaller one once inflated.
    const padded = `${fields}Gr%C3%BC%C3%9Fe+aus+K%C3%B6ln&pad=${'x'.repeat(5_000)}`;
    await signedIn(await form(padded, 'application/x-www-form-urlencoded'));
    await signedIn(await form(zlib.gzipSync(padded), 'application/x-www-form-urlencoded', { 'content-encoding': 'gzip' }));
    const json = JSON.stringify({ tenancyName: 'default', usernameOrEmailAddress: 'jurgen@example.com', password: 'Grüße aus Köln' });
    await signedIn(await form(json, 'application/x-www-form-urlencoded'));
    expect((await form(`${fields}x`, 'application/x-www-form-urlencoded; charset=klingon')).statusCode).toBe(415);
    expect((await form(`${fields}x`, 'application/x-www-form-urlencoded', { 'content-encoding': 'compress' })).statusCode).toBe(415);
  });

  it("reads the tenancy name in any case, as Orchestrator does (its first tenant is 'Default'), in Authenticate and X-Tocsin-Tenant", async () => {
    const res = await signIn({ TenancyName: 'Default', UsernameOrEmailAddress: 'robot@example.com', Password: 'correct horse battery' });
    expect(res.statusCode).toBe(200);
    expect((await t.call('GET', `${ACTIONS}.GetUnreadCount()`, undefined, res.json().result)).statusCode).toBe(200);
    const asHost = await t.tocsin.app.inject({
      method: 'GET',
      url: `${ACTIONS}.GetUnreadCount()`,
      headers: { authorization: 'Bearer test-admin-token-0123456789', 'x-tocsin-tenant': 'DEFAULT' },
    });
    expect(asHost.statusCode).toBe(200);
    const ownTenant = await t.tocsin.app.inject({
      method: 'GET',
      url: `${ACTIONS}.GetUnreadCount()`,
      headers: { authorization: `Bearer ${res.json().result}`, 'x-tocsin-tenant': 'Default' },
    });
    expect(ownTenant.statusCode).toBe(200);
  });

  it('answers 401 for a wrong password, an unknown user or tenant, and 400 for a missing field', async () => {
    const good = { tenancyName: 'default', usernameOrEmailAddress: 'robot@example.com', password: 'correct horse battery' };
    expect((await signIn({ ...good, password: 'wrong' })).statusCode).toBe(401);
    expect((await signIn({ ...good, usernameOrEmailAddress: 'nobody@example.com' })).statusCode).toBe(401);
    expect((await signIn({ ...good, tenancyName: 'nope' })).statusCode).toBe(401);
    const missing = await signIn({ tenancyName: 'default' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().errors.map((e: { path: string }) => e.path)).toEqual(['UsernameOrEmailAddress', 'Password']);
  });

  it("signs in without TenancyName to the installation's only tenant, as Get-UiPathAuthToken without -TenantName does, and answers 401 once there are several", async () => {
    // Orchestrator's swagger marks TenancyName optional: leaving it out was a 400 naming it.
    const good = { usernameOrEmailAddress: 'robot@example.com', password: 'correct horse battery' };
    for (const body of [good, { ...good, tenancyName: '' }, { ...good, TenancyName: null }]) {
      const res = await signIn(body);
      expect(res.statusCode, res.body).toBe(200);
      expect((await t.call('GET', `${ACTIONS}.GetUnreadCount()`, undefined, res.json().result)).statusCode).toBe(200);
    }
    expect((await signIn({ ...good, password: 'wrong' })).statusCode).toBe(401);
    // Two tenants: which one is not for Tocsin to guess. The same 401 as an unknown tenant.
    await t.call('POST', '/api/v1/tenants', { name: 'second' });
    const ambiguous = await signIn(good);
    expect(ambiguous.statusCode).toBe(401);
    expect(ambiguous.json()).toMatchObject({ errorCode: 401, message: 'The tenant, email or password is wrong.' });
    expect((await signIn({ ...good, tenancyName: 'Default' })).statusCode).toBe(200);
    await t.call('DELETE', '/api/v1/tenants/second');
  });

  it("signs in with the user's name as UsernameOrEmailAddress, as Orchestrator's Get-UiPathAuthToken -Username does, when the name is the tenant's only one", async () => {
    const byName = await signIn({ tenancyName: 'default', usernameOrEmailAddress: ' robot ACCOUNT ', password: 'correct horse battery' });
    expect(byName.statusCode, byName.body).toBe(200);
    const robot = (await t.call('GET', '/api/v1/tenants/default/me', undefined, byName.json().result)).json();
    expect(robot.email).toBe('robot@example.com');
    expect((await signIn({ tenancyName: 'default', usernameOrEmailAddress: 'Robot account', password: 'wrong' })).statusCode).toBe(401);
    // Two users of one name: the name says neither, so neither signs in by it.
    for (const email of ['twin1@example.com', 'twin2@example.com']) {
      await t.call('POST', '/api/v1/tenants/default/users', { email, name: 'Twin', password: 'twin password 1', roles: ['Robot'] });
    }
    expect((await signIn({ tenancyName: 'default', usernameOrEmailAddress: 'Twin', password: 'twin password 1' })).statusCode).toBe(401);
    expect((await signIn({ tenancyName: 'default', usernameOrEmailAddress: 'twin1@example.com', password: 'twin password 1' })).statusCode).toBe(200);
  });

  it('signs in with a name whose accented capitals are typed in another case, on both databases', async () => {
    // SQLite's lower() folds only ASCII (PostgreSQL's as its locale says): 'émile zola' for the user
    // Émile Zola signed in on PostgreSQL and was a 401 on SQLite.
    await t.call('POST', '/api/v1/tenants/default/users', { email: 'emile@example.com', name: 'Émile Zola', password: 'emile password 1', roles: ['Robot'] });
    for (const typed of ['émile zola', 'ÉMILE ZOLA', ' Émile Zola ']) {
      const res = await signIn({ tenancyName: 'default', usernameOrEmailAddress: typed, password: 'emile password 1' });
      expect(res.statusCode, `${typed}: ${res.body}`).toBe(200);
    }
    // Accents still count: another name is another name.
    expect((await signIn({ tenancyName: 'default', usernameOrEmailAddress: 'emile zola', password: 'emile password 1' })).statusCode).toBe(401);
    // Two users whose names differ only in the case of accented capitals share that name: neither signs in by it.
    for (const [email, name] of [
      ['elodie1@example.com', 'Élodie'],
      ['elodie2@example.com', 'ÉLODIE'],
    ]) {
      await t.call('POST', '/api/v1/tenants/default/users', { email, name, password: 'elodie password 1', roles: ['Robot'] });
    }
    expect((await signIn({ tenancyName: 'default', usernameOrEmailAddress: 'Élodie', password: 'elodie password 1' })).statusCode).toBe(401);
  });

  it('signs in with a name whose accents are typed as combining characters, or were stored so, on both databases', async () => {
    // 'Zoé' typed with é (U+00E9) or pasted with e + U+0301 (macOS file names, some copy sources) is one name, as for emails (9d6df20).
    await t.call('POST', '/api/v1/tenants/default/users', { email: 'zoe@example.com', name: 'Zo\u00e9 Dupont', password: 'zoe password 1', roles: ['Robot'] });
    await t.call('POST', '/api/v1/tenants/default/users', {
      email: 'rene@example.com',
      name: 'Rene\u0301 Char',
      password: 'rene password 1',
      roles: ['Robot'],
    });
    for (const [typed, password] of [
      ['Zoe\u0301 Dupont', 'zoe password 1'],
      ['ZOE\u0301 DUPONT', 'zoe password 1'],
      ['Ren\u00e9 Char', 'rene password 1'],
      ['Rene\u0301 Char', 'rene password 1'],
    ]) {
      const res = await signIn({ tenancyName: 'default', usernameOrEmailAddress: typed, password });
      expect(res.statusCode, `${typed}: ${res.body}`).toBe(200);
    }
  });

  it('signs in at POST /api/Account too, the login of the 2018.1 and 2018.2 swaggers and of older uipath-orchestrator clients', async () => {
    for (const url of ['/api/Account', '/api/account']) {
      const res = await t.tocsin.app.inject({
        method: 'POST',
        url,
        payload: { TenancyName: 'default', UsernameOrEmailAddress: 'robot@example.com', Password: 'correct horse battery' },
      });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
      expect(res.json()).toMatchObject({ success: true, result: expect.any(String) });
      expect((await t.call('GET', `${ACTIONS}.GetUnreadCount()`, undefined, res.json().result)).statusCode).toBe(200);
    }
    const wrong = await t.tocsin.app.inject({
      method: 'POST',
      url: '/api/Account',
      payload: { tenancyName: 'default', usernameOrEmailAddress: 'robot@example.com', password: 'wrong' },
    });
    expect(wrong.statusCode).toBe(401);
  });

  it("lets the host administrator name the tenant with Orchestrator's X-UIPATH-TenantName when X-Tocsin-Tenant is left out", async () => {
    const asHost = (headers: Record<string, string>) =>
      t.tocsin.app.inject({ method: 'GET', url: `${ACTIONS}.GetUnreadCount()`, headers: { authorization: 'Bearer test-admin-token-0123456789', ...headers } });
    expect((await asHost({ 'X-UIPATH-TenantName': 'Default' })).statusCode).toBe(200);
    expect((await asHost({ 'x-uipath-tenantname': 'nope' })).statusCode).toBe(404);
    // X-Tocsin-Tenant, API.md's header, wins over it.
    expect((await asHost({ 'X-Tocsin-Tenant': 'default', 'X-UIPATH-TenantName': 'nope' })).statusCode).toBe(200);
    expect((await asHost({})).statusCode).toBe(400);
  });

  it("adds Orchestrator's message and errorCode to its problems, which UiPath's PowerShell module and scripts read to say what failed", async () => {
    const wrong = await signIn({ tenancyName: 'default', usernameOrEmailAddress: 'viewer@example.com', password: 'not it' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(wrong.json()).toMatchObject({
      status: 401,
      detail: 'The tenant, email or password is wrong.',
      message: 'The tenant, email or password is wrong.',
      errorCode: 401,
      // ABP's answer around it, as Authenticate's success has it.
      result: null,
      success: false,
      error: { code: 401, message: 'The tenant, email or password is wrong.' },
      unAuthorizedRequest: true,
      __abp: true,
    });
    const filter = await t.call('GET', `/odata/Alerts?$filter=${encodeURIComponent("Severity eq 'Loud'")}`, undefined, token);
    expect(filter.statusCode).toBe(400);
    expect(filter.json()).toMatchObject({ errorCode: 400, message: filter.json().detail, errors: [{ path: '$filter' }] });
    expect(filter.json()).not.toHaveProperty('success');
    const denied = await t.call('GET', '/odata/Settings', undefined, token);
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ errorCode: 403, message: denied.json().detail });
    // The REST API's problems stay as API.md has them.
    expect((await t.call('GET', '/api/v1/tenants/nope', undefined, token)).json()).not.toHaveProperty('message');
    clock.advance(15 * 60_000);
  });

  it("adds a traceId to the Orchestrator routes' problems, which UiPath's SDK reads as the request's id, one of its own per request", async () => {
    // Orchestrator's errors are {message, errorCode, traceId}; the official TypeScript SDK reports traceId as the requestId.
    const traces = [];
    for (const [method, url] of [
      ['GET', `/odata/Alerts?$filter=${encodeURIComponent("Severity eq 'Loud'")}`],
      ['GET', `/odata/Alerts?$filter=${encodeURIComponent("Severity eq 'Loud'")}`],
      ['GET', '/odata/Settings'],
      ['POST', `${ACTIONS}.MarkAsRead`],
    ] as const) {
      const res = await t.call(method, url, method === 'POST' ? {} : undefined, token);
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.json().traceId, url).toMatch(/^[0-9a-f]{32}$/);
      traces.push(res.json().traceId);
    }
    expect(new Set(traces).size).toBe(traces.length);
    const signIn = await t.tocsin.app.inject({ method: 'POST', url: '/api/Account/Authenticate', payload: { tenancyName: 'default' } });
    expect(signIn.json().traceId).toMatch(/^[0-9a-f]{32}$/);
    // The REST API's problems stay as API.md has them.
    expect((await t.call('GET', '/api/v1/tenants/nope', undefined, token)).json()).not.toHaveProperty('traceId');
  });

  it('matches its paths whatever their case, as Orchestrator does (its docs write /api/account/authenticate)', async () => {
    const lower = await robotAt('/api/account/authenticate');
    expect(await oldestAt('/odata/alerts', lower)).toEqual([ids[0]]);
    const unread = await t.call('GET', `${ACTIONS.toUpperCase()}.GETUNREADCOUNT()`, undefined, lower);
    expect(unread.statusCode).toBe(200);
    expect(unread.json()).toMatchObject({ value: expect.any(Number) });
    // Other routes keep their exact spelling.
    expect((await t.call('GET', '/API/V1/TENANTS', undefined)).statusCode).toBe(404);
  });

  it('matches its paths with a trailing slash too, as ASP.NET routes do (`$url/api/Account/Authenticate/`)', async () => {
    const slashed = await robotAt('/api/Account/Authenticate/');
    expect(await oldestAt('/odata/Alerts/', slashed)).toEqual([ids[0]]);
    expect((await t.call('GET', `${ACTIONS}.GetUnreadCount()/`, undefined, slashed)).json()).toMatchObject({ value: expect.any(Number) });
    expect((await t.call('POST', `${ACTIONS}.MarkAsRead/`, { ids: [] }, slashed)).statusCode).toBe(200);
    // The service document keeps its own slash, and another path is still unknown.
    expect((await t.call('GET', '/odata/', undefined, slashed)).json().value).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Alerts' })]));
    expect((await t.call('GET', '/odata/Nope/', undefined, slashed)).statusCode).toBe(404);
  });

  it('throttles repeated wrong passwords with 429, like the console sign-in', async () => {
    const wrong = { tenancyName: 'default', usernameOrEmailAddress: 'viewer@example.com', password: 'nope' };
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await signIn(wrong)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    clock.advance(15 * 60_000);
  });

  it('lists AlertDto objects newest first with Orchestrator field names', async () => {
    const res = await t.call('GET', '/odata/Alerts', undefined, token);
    const body = res.json();
    expect(body['@odata.context']).toMatch(/\/odata\/\$metadata#Alerts$/);
    expect(body.value.map((a: { Id: string }) => a.Id)).toEqual([...ids].reverse());
    const dto = body.value[0];
    expect(Object.keys(dto).sort()).toEqual(
      ['Component', 'CreationTime', 'Data', 'DeepLinkRelativeUrl', 'Id', 'NotificationName', 'Severity', 'State', 'UserNotificationId'].sort(),
    );
    expect(dto).toMatchObject({ NotificationName: 'Process.RaiseAlert', Component: 'Queues', Severity: 'Warn', State: 'Unread' });
    expect(JSON.parse(dto.Data)).toMatchObject({ Message: 'Warn in Queues' });
    expect(dto.UserNotificationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("gives a DeepLinkRelativeUrl that opens the console on its event's alerts, signed in or not", async () => {
    const dto = (await t.call('GET', '/odata/Alerts?$top=1', undefined, token)).json().value[0];
    const link = await t.call('GET', dto.DeepLinkRelativeUrl, undefined, '');
    expect(link.statusCode, link.body).toBe(302);
    expect(link.headers.location).toBe('/#/alerts?event=Process.RaiseAlert');
  });

  it('filters on Severity, Component, State and CreationTime, orders, skips and counts', async () => {
    const list = async (query: string) => {
      const res = await t.call('GET', `/odata/Alerts?${query}`, undefined, token);
      expect(res.statusCode, `${query}: ${res.body}`).toBe(200);
      return res.json();
    };
    const sev = async (query: string) => (await list(query)).value.map((a: { Severity: string }) => a.Severity);
    expect(await sev(`$filter=${encodeURIComponent("Severity eq 'Error'")}`)).toEqual(['Error']);
    expect(await sev(`$filter=${encodeURIComponent("Severity ge UiPath.Core.Enums.NotificationSeverity'Error'")}`)).toEqual(['Fatal', 'Error']);
    // OData's in, as scripts list several severities or components at once.
    expect(await sev(`$filter=${encodeURIComponent("Severity in ('Error','Fatal')")}`)).toEqual(['Fatal', 'Error']);
    expect(await sev(`$filter=${encodeURIComponent("Component in ('Queues', 'Jobs') and Severity ne 'Warn'")}`)).toEqual(['Error']);
    expect(await sev(`$filter=${encodeURIComponent("Component eq 'Robots' and (Severity eq 'Fatal' or Severity eq 'Info')")}&$orderby=Severity desc`)).toEqual([
      'Fatal',
      'Info',
    ]);
    expect(await sev(`$filter=${encodeURIComponent(`CreationTime gt ${new Date(T0 + 2 * 60_000).toISOString()}`)}`)).toEqual(['Warn', 'Fatal']);
    expect(await sev(`$filter=${encodeURIComponent("not (Component eq 'Robots')")}&$orderby=CreationTime asc`)).toEqual(['Error', 'Warn']);
    expect(await sev('$orderby=CreationTime asc&$top=2&$skip=1')).toEqual(['Error', 'Fatal']);
    expect((await list('$top=1&$count=true'))['@odata.count']).toBe(4);
    await t.call('POST', `${ACTIONS}.MarkAsRead`, { ids: [ids[0]] }, token);
    expect(await sev(`$filter=${encodeURIComponent("State eq 'Read'")}`)).toEqual(['Info']);
    expect(await sev(`$filter=${encodeURIComponent("State eq 'Unread' and Severity ge 'Warn'")}`)).toEqual(['Warn', 'Fatal', 'Error']);
  });

  it('filters on Id, as a script reads back the alerts it marked read (eq, ne, in)', async () => {
    const listed = async (filter: string) => {
      const res = await t.call('GET', `/odata/Alerts?$filter=${encodeURIComponent(filter)}&$orderby=CreationTime asc`, undefined, token);
      expect(res.statusCode, `${filter}: ${res.body}`).toBe(200);
      return res.json().value.map((a: { Id: string }) => a.Id);
    };
    expect(await listed(`Id eq '${ids[1]}'`)).toEqual([ids[1]]);
    expect(await listed(`Id in ('${ids[0]}', '${ids[2]}') and State ne 'Unread'`)).toEqual([ids[0]]);
    expect(await listed(`Id ne '${ids[3]}'`)).toEqual(ids.slice(0, 3));
    expect(await listed("Id eq 'no-such-alert'")).toEqual([]);
    const bad = await t.call('GET', `/odata/Alerts?$filter=${encodeURIComponent("Id gt 'a'")}`, undefined, token);
    expect(bad.statusCode).toBe(400);
  });

  it('filters on Id written as an OData Guid literal, unquoted and in any case, as generated Orchestrator clients send it', async () => {
    const listed = async (filter: string) => {
      const res = await t.call('GET', `/odata/Alerts?$filter=${encodeURIComponent(filter)}&$orderby=CreationTime asc`, undefined, token);
      expect(res.statusCode, `${filter}: ${res.body}`).toBe(200);
      return res.json().value.map((a: { Id: string }) => a.Id);
    };
    expect(await listed(`Id eq ${ids[1]}`)).toEqual([ids[1]]);
    expect(await listed(`Id eq ${ids[1]!.toUpperCase()}`)).toEqual([ids[1]]);
    expect(await listed(`Id eq guid'${ids[2]!.toUpperCase()}'`)).toEqual([ids[2]]);
    expect(await listed(`Id in (${ids[0]}, '${ids[2]}')`)).toEqual([ids[0], ids[2]]);
  });

  it("filters with OData's string functions as Orchestrator clients write them: contains, startswith, endswith, tolower, toupper", async () => {
    const sev = async (filter: string) => {
      const res = await t.call('GET', `/odata/Alerts?$filter=${encodeURIComponent(filter)}&$orderby=CreationTime asc`, undefined, token);
      expect(res.statusCode, `${filter}: ${res.body}`).toBe(200);
      return res.json().value.map((a: { Severity: string }) => a.Severity);
    };
    // Oldest first: Info in Robots, Error in Jobs, Fatal in Robots, Warn in Queues.
    expect(await sev("contains(Component,'obo')")).toEqual(['Info', 'Fatal']);
    expect(await sev("contains(Component,'OBO')")).toEqual([]);
    expect(await sev("contains(tolower(Component),'robo')")).toEqual(['Info', 'Fatal']);
    expect(await sev("contains(Component,'')")).toEqual(['Info', 'Error', 'Fatal', 'Warn']);
    expect(await sev("startswith(Component,'Q')")).toEqual(['Warn']);
    expect(await sev("endswith(Component,'obs')")).toEqual(['Error']);
    expect(await sev("endswith(Component,'s')")).toEqual(['Info', 'Error', 'Fatal', 'Warn']);
    expect(await sev("endswith(Component,'XRobots')")).toEqual([]);
    expect(await sev("startswith(toupper(NotificationName),'PROCESS.') and not contains(Component,'Rob')")).toEqual(['Error', 'Warn']);
    expect(await sev("contains(Component,'Rob') eq false")).toEqual(['Error', 'Warn']);
    expect(await sev("contains(Component,'Rob') eq true and Severity ge 'Error'")).toEqual(['Fatal']);
    expect(await sev("tolower(Component) eq 'robots'")).toEqual(['Info', 'Fatal']);
    expect(await sev("tolower(Component) eq 'Robots'")).toEqual([]);
    expect(await sev("toupper(Component) ne 'ROBOTS'")).toEqual(['Error', 'Warn']);
    // Severity and State by their names, as OData reads an enum.
    expect(await sev("contains(Severity,'at')")).toEqual(['Fatal']);
    expect(await sev("tolower(Severity) in ('error','fatal')")).toEqual(['Error', 'Fatal']);
    expect(await sev("endswith(State,'ead')")).toEqual(['Info', 'Error', 'Fatal', 'Warn']);
    expect(await sev(`startswith(Id,'${ids[1]!.slice(0, 30)}')`)).toEqual(['Error']);
  });

  it('reads Severity and State by their numbers, a Component in any case, and ne of a folded Severity as not equal', async () => {
    const sev = async (filter: string) => {
      const res = await t.call('GET', `/odata/Alerts?$filter=${encodeURIComponent(filter)}&$orderby=CreationTime asc`, undefined, token);
      expect(res.statusCode, `${filter}: ${res.body}`).toBe(200);
      return res.json().value.map((a: { Severity: string }) => a.Severity);
    };
    // Oldest first: Info in Robots, Error in Jobs, Fatal in Robots, Warn in Queues; only the Info read (MarkAsRead above).
    expect(await sev('Severity eq 3')).toEqual(['Error']);
    expect(await sev('Severity ge 4')).toEqual(['Fatal']);
    expect(await sev("Component eq 'robots'")).toEqual(['Info', 'Fatal']);
    expect(await sev("tolower(Severity) ne 'error'")).toEqual(['Info', 'Fatal', 'Warn']);
    expect(await sev('State eq 1')).toEqual(['Info']);
    expect(await sev('State eq 0')).toEqual(['Error', 'Fatal', 'Warn']);
    // A severity number past Fatal names no severity: a 400, not an empty list read as "no alerts".
    const bad = await t.call('GET', `/odata/Alerts?$filter=${encodeURIComponent('Severity eq 5')}`, undefined, token);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('$filter');
  });

  it('answers a clear 400 for a filter outside the subset', async () => {
    for (const [query, parameter] of [
      ["$filter=Severity eq 'Loud'", '$filter'],
      ["$filter=Message eq 'x'", '$filter'],
      ["$filter=Severity eq 'Error' and", '$filter'],
      ["$filter=Severity eq 'Error", '$filter'],
      ["$filter=Component gt 'A'", '$filter'],
      // A component outside the catalogue (Robot for Robots) matches no stored alert: an empty list would read as 'no alerts'.
      ["$filter=Component eq 'Robot'", '$filter'],
      ["$filter=Severity eq 'Error' or Component ne 'Robot'", '$filter'],
      // Functions outside OData's string ones, and string functions of what is not text.
      ['$filter=length(Component) eq 4', '$filter'],
      ["$filter=contains(CreationTime,'2026')", '$filter'],
      ['$filter=contains(Component,3)', '$filter'],
      ["$filter=contains(Component,'x') eq 1", '$filter'],
      ["$filter=tolower(Component) gt 'a'", '$filter'],
      [`$filter=${'('.repeat(200)}`, '$filter'],
      ['$orderby=Message', '$orderby'],
      // Names every object has: no column either.
      ['$orderby=constructor desc', '$orderby'],
      ['$orderby=__proto__', '$orderby'],
      // Orchestrator's cap: "the maximum number of expressions is 5".
      ['$orderby=Severity,Component,State,NotificationName,Id,CreationTime', '$orderby'],
      ['$top=1001', '$top'],
      ['$skip=-1', '$skip'],
      // A system query option the subset does not have would be ignored: all alerts, read as those searched.
      ['$search=Robots', '$search'],
      ['$expand=Data', '$expand'],
      ['$apply=groupby((Severity))', '$apply'],
      ['$format=xml', '$format'],
    ] as const) {
      const res = await t.call('GET', `/odata/Alerts?${query.replace(/ /g, '%20').replace(/'/g, '%27')}`, undefined, token);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().errors[0].path, query).toBe(parameter);
    }
  });

  it("takes $expand=*, which Orchestrator's GET /odata/Alerts documents and answers: AlertDto has no navigation property, so it expands nothing; a named one or none is refused", async () => {
    const plain = await t.call('GET', '/odata/Alerts?$top=2&$count=true', undefined, token);
    for (const query of ['$expand=*', '$expand=%20*%20']) {
      const res = await t.call('GET', `/odata/Alerts?$top=2&$count=true&${query}`, undefined, token);
      expect(res.statusCode, `${query}: ${res.body}`).toBe(200);
      expect(res.json(), query).toEqual(plain.json());
    }
    for (const query of ['$expand=', '$expand=Data', '$expand=*,Data']) {
      const res = await t.call('GET', `/odata/Alerts?${query}`, undefined, token);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().errors[0].path, query).toBe('$expand');
    }
  });

  it("takes $format=json and options of the caller's own (without $) as Orchestrator does", async () => {
    for (const query of ['$format=json', '$format=application/json;odata.metadata=minimal', 'api-version=1&$top=1']) {
      expect((await t.call('GET', `/odata/Alerts?${query}`, undefined, token)).statusCode, query).toBe(200);
    }
  });

  it('refuses an empty or non-decimal $top or $skip naming it, where an empty $top used to answer an empty page', async () => {
    for (const query of ['$top=', '$top=0x10', '$top=1e2', '$top=%201', '$skip=', '$skip=1.0', '$top=1&$top=2']) {
      const res = await t.call('GET', `/odata/Alerts?${query}`, undefined, token);
      expect(res.statusCode, query).toBe(400);
      expect(res.headers['content-type'], query).toContain('application/problem+json');
      expect(res.json().errors[0].path, query).toBe(`${query.slice(0, query.indexOf('='))}`);
    }
    expect((await t.call('GET', '/odata/Alerts?$top=0', undefined, token)).json().value).toEqual([]);
    expect((await t.call('GET', '/odata/Alerts?$top=1000&$skip=0', undefined, token)).json().value).toHaveLength(4);
  });

  it("orders by State (the caller's read state), reads $count in any case and compares CreationTime with a date", async () => {
    const reader = (await signIn({ tenancyName: 'default', usernameOrEmailAddress: 'viewer@example.com', password: 'viewer password' })).json().result;
    await t.call('POST', `${ACTIONS}.MarkAsRead`, { ids: [ids[1]] }, reader);
    const states = async (orderby: string) =>
      (await t.call('GET', `/odata/Alerts?$orderby=${encodeURIComponent(orderby)}`, undefined, reader))
        .json()
        .value.map((a: { Id: string; State: string }) => [a.Id, a.State]);
    expect(await states('State desc,CreationTime asc')).toEqual([
      [ids[1], 'Read'],
      [ids[0], 'Unread'],
      [ids[2], 'Unread'],
      [ids[3], 'Unread'],
    ]);
    expect((await states('state asc')).at(-1)).toEqual([ids[1], 'Read']);
    expect((await t.call('GET', '/odata/Alerts?$count=True&$top=0', undefined, reader)).json()['@odata.count']).toBe(4);
    const day = new Date(T0).toISOString().slice(0, 10);
    expect((await t.call('GET', `/odata/Alerts?$filter=${encodeURIComponent(`CreationTime ge ${day}`)}`, undefined, reader)).json().value).toHaveLength(4);
    expect((await t.call('GET', `/odata/Alerts?$filter=${encodeURIComponent(`CreationTime lt ${day}`)}`, undefined, reader)).json().value).toHaveLength(0);
  });

  it("compares CreationTime with a time written finer than the millisecond (.NET's seven digits) as that instant, not as the millisecond before it", async () => {
    // The oldest alert was created at 08:01:00.000; .0001 (.NET's .0001000) is 100 µs later, which luxon cuts to .000.
    const severities = async (expression: string) => {
      const res = await t.call('GET', `/odata/Alerts?$filter=${encodeURIComponent(expression)}&$orderby=CreationTime asc`, undefined, token);
      expect(res.statusCode, expression).toBe(200);
      return res.json().value.map((a: { Severity: string }) => a.Severity);
    };
    for (const time of ['2026-03-01T08:01:00.0001000Z', "'2026-03-01T09:01:00.0001+01:00'", "datetime'2026-03-01T08:01:00.00000001'"]) {
      expect(await severities(`CreationTime lt ${time}`), time).toEqual(['Info']);
      expect(await severities(`CreationTime le ${time}`), time).toEqual(['Info']);
      expect(await severities(`CreationTime ge ${time}`), time).toEqual(['Error', 'Fatal', 'Warn']);
      expect(await severities(`CreationTime gt ${time}`), time).toEqual(['Error', 'Fatal', 'Warn']);
      expect(await severities(`CreationTime eq ${time}`), time).toEqual([]);
      expect(await severities(`CreationTime ne ${time}`), time).toEqual(['Info', 'Error', 'Fatal', 'Warn']);
    }
    // Zeros past the millisecond name the millisecond itself.
    expect(await severities('CreationTime eq 2026-03-01T08:01:00.0000000Z')).toEqual(['Info']);
    expect(await severities('CreationTime ge 2026-03-01T08:01:00.0000000Z')).toEqual(['Info', 'Error', 'Fatal', 'Warn']);
  });

  it("reads a quoted CreationTime only as an ISO date-time or date (a zone-less one, as in datetime'…', in UTC) and answers 400 for any other text", async () => {
    const filter = (expression: string) => t.call('GET', `/odata/Alerts?$filter=${encodeURIComponent(expression)}`, undefined, token);
    // Date.parse took these as 2001-01-01, 12 March and 2 March: a list that looked like the answer.
    for (const expression of [
      "CreationTime gt '1'",
      "CreationTime gt '03/12/2026'",
      "CreationTime gt '2026-02-30T00:00:00Z'",
      "CreationTime gt datetime'2026'",
    ]) {
      const res = await filter(expression);
      expect(res.statusCode, expression).toBe(400);
      expect(res.json().errors[0].path, expression).toBe('$filter');
    }
    // Date.parse reads a zone-less date-time in the server's own zone, so the answer moved with TZ.
    const zone = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      for (const expression of [
        "CreationTime gt datetime'2026-03-01T08:02:30'",
        "CreationTime gt '2026-03-01T08:02:30'",
        "CreationTime gt '2026-03-01T09:02:30+01:00'",
      ]) {
        const res = await filter(expression);
        expect(res.statusCode, expression).toBe(200);
        expect(
          res.json().value.map((a: { Severity: string }) => a.Severity),
          expression,
        ).toEqual(['Warn', 'Fatal']);
      }
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('answers only the $select-ed AlertDto properties (names in any case) and refuses an unknown one naming $select', async () => {
    const some = (await t.call('GET', '/odata/Alerts?$select=Id,severity&$top=1', undefined, token)).json();
    expect(some.value).toEqual([{ Severity: 'Warn', Id: ids[3] }]);
    expect(some['@odata.context']).toMatch(/\/odata\/\$metadata#Alerts\(Id,Severity\)$/);
    const all = (await t.call('GET', '/odata/Alerts?$select=*&$top=1', undefined, token)).json().value[0];
    expect(Object.keys(all)).toHaveLength(9);
    const unknown = await t.call('GET', '/odata/Alerts?$select=Id,Message', undefined, token);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors[0].path).toBe('$select');
  });

  it('counts unread and marks read per user, returning what remains unread', async () => {
    const count = await t.call('GET', `${ACTIONS}.GetUnreadCount()`, undefined, token);
    expect(count.json()).toMatchObject({ value: 3 });
    expect(count.json()['@odata.context']).toMatch(/Edm\.Int64$/);
    const marked = await t.call('POST', `${ACTIONS}.MarkAsRead`, { ids: [ids[1], ids[2]] }, token);
    expect(marked.statusCode).toBe(200);
    expect(marked.json().value).toBe(1);
    expect((await t.call('GET', `${ACTIONS}.GetUnreadCount`, undefined, token)).json().value).toBe(1);
    expect((await t.call('POST', `${ACTIONS}.MarkAsRead`, { ids: 'x' }, token)).statusCode).toBe(400);
  });

  it('names the body itself, not ids, when MarkAsRead is sent no JSON object (a list, null)', async () => {
    // A bare list of ids was answered "ids: expected object, received array", naming a field it has not.
    const list = await t.call('POST', `${ACTIONS}.MarkAsRead`, [ids[1]], token);
    expect(list.statusCode).toBe(400);
    expect(list.json().errors).toEqual([{ path: '(root)', message: expect.stringMatching(/object/) }]);
    expect((await t.call('POST', `${ACTIONS}.MarkAsRead`, {}, token)).json().errors).toEqual([{ path: 'ids', message: 'is required' }]);
  });

  it('names the id of MarkAsRead that is wrong by its place in ids, as POST /alerts/mark-read does', async () => {
    // {"ids": ["x", 2]} was "ids: must be a string, not a number", leaving the script to guess which id.
    const wrong = await t.call('POST', `${ACTIONS}.MarkAsRead`, { ids: [ids[1], 2] }, token);
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().errors).toEqual([{ path: 'ids.1', message: 'must be a string, not a number' }]);
    expect(wrong.json().detail).toBe('ids.1: must be a string, not a number');
    expect((await t.call('POST', `${ACTIONS}.MarkAsRead`, { ids: [''] }, token)).json().errors).toEqual([{ path: 'ids.0', message: expect.any(String) }]);
  });

  it('refuses a query option that GetUnreadCount or MarkAsRead would ignore (a count of every unread alert read as the filtered one), naming it', async () => {
    for (const [method, url] of [
      ['GET', `${ACTIONS}.GetUnreadCount()`],
      ['GET', `${ACTIONS}.GetUnreadCount`],
      ['POST', `${ACTIONS}.MarkAsRead`],
    ] as const) {
      for (const option of ['$filter=Severity%20eq%20%27Fatal%27', '$top=1', '$count=true', '$select=Id', '$search=x']) {
        const res = await t.call(method, `${url}?${option}`, method === 'POST' ? { ids: [] } : undefined, token);
        expect(res.statusCode, `${url}?${option}`).toBe(400);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(res.json().errors[0].path, `${url}?${option}`).toBe(option.slice(0, option.indexOf('=')));
      }
      for (const query of ['$format=json', 'api-version=1']) {
        const res = await t.call(method, `${url}?${query}`, method === 'POST' ? { ids: [] } : undefined, token);
        expect(res.statusCode, `${url}?${query}`).toBe(200);
        expect(typeof res.json().value).toBe('number');
      }
    }
  });

  it('raises a process alert from the Raise Alert body, with the folder and job headers', async () => {
    const res = await t.tocsin.app.inject({
      method: 'POST',
      url: `${ACTIONS}.RaiseProcessAlert`,
      headers: { authorization: `Bearer ${token}`, 'X-UIPATH-OrganizationUnitId': '12', 'X-UIPATH-JobKey': 'job-key-1' },
      payload: { processAlert: { Message: 'Invoice 42 failed', Severity: 'Warning', ProcessName: 'Invoices', RobotName: 'R1' } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    const [latest] = (await t.call('GET', '/api/v1/tenants/default/alerts?limit=1')).json().items;
    expect(latest).toMatchObject({
      severity: 'Warn',
      component: 'Process',
      event: 'Process.RaiseAlert',
      message: 'Invoice 42 failed',
      folder: '12',
      source: { process: 'Invoices', robot: 'R1', job: 'job-key-1' },
    });
  });

  it('requires all four process-alert fields, each at most 512 characters', async () => {
    const raise = (processAlert: unknown) => t.call('POST', `${ACTIONS}.RaiseProcessAlert`, { processAlert }, token);
    const missing = await raise({ Message: 'x' });
    expect(missing.statusCode).toBe(400);
    expect(
      missing
        .json()
        .errors.map((e: { path: string }) => e.path)
        .sort(),
    ).toEqual(['processAlert.ProcessName', 'processAlert.RobotName', 'processAlert.Severity'].sort());
    const long = await raise({ Message: 'x'.repeat(513), Severity: 'Error', ProcessName: 'P', RobotName: 'R' });
    expect(long.json().errors[0].path).toBe('processAlert.Message');
    const badSeverity = await raise({ Message: 'x', Severity: 'Loud', ProcessName: 'P', RobotName: 'R' });
    expect(badSeverity.json().errors[0].path).toBe('processAlert.Severity');
    // A bad Severity is named beside a missing field, not only once the others are right.
    const both = await raise({ Message: 'x', Severity: 'Loud', ProcessName: 'P' });
    expect(both.json().errors.map((e: { path: string }) => e.path)).toEqual(['processAlert.Severity', 'processAlert.RobotName']);
    expect((await t.call('POST', `${ACTIONS}.RaiseProcessAlert`, undefined, token)).statusCode).toBe(400);
  });

  it("says a Severity left out is required, as the other three, and one of another JSON type in the severities' words", async () => {
    // Both were zod's bare "Invalid input", beside "is required" for the text fields.
    const raise = (processAlert: unknown) => t.call('POST', `${ACTIONS}.RaiseProcessAlert`, { processAlert }, token);
    const missing = await raise({ Message: 'x', ProcessName: 'P', RobotName: 'R' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().errors).toEqual([{ path: 'processAlert.Severity', message: 'is required' }]);
    expect((await raise({})).json().errors.map((e: { message: string }) => e.message)).toEqual(['is required', 'is required', 'is required', 'is required']);
    for (const Severity of [true, null, 1.5, ['Error'], { name: 'Error' }]) {
      const res = await raise({ Message: 'x', Severity, ProcessName: 'P', RobotName: 'R' });
      expect(res.statusCode, JSON.stringify(Severity)).toBe(400);
      expect(res.json().errors, JSON.stringify(Severity)).toEqual([
        { path: 'processAlert.Severity', message: expect.stringMatching(/^must be one of Info, Success, Warn, Error, Fatal/) },
      ]);
    }
  });

  it('counts the 512 characters of a process-alert field as a reader does: an emoji or a letter with its combining accent is one', async () => {
    const raise = (processAlert: unknown) => t.call('POST', `${ACTIONS}.RaiseProcessAlert`, { processAlert }, token);
    const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}';
    for (const one of ['\u{1F6A8}', 'e\u0301', family]) {
      const fits = await raise({ Message: one.repeat(512), Severity: 'Error', ProcessName: one.repeat(512), RobotName: one.repeat(512) });
      expect(fits.statusCode, one).toBe(200);
      const over = await raise({ Message: one.repeat(513), Severity: 'Error', ProcessName: one.repeat(513), RobotName: 'R' });
      expect(
        over.json().errors.map((e: { path: string }) => e.path),
        one,
      ).toEqual(['processAlert.Message', 'processAlert.ProcessName']);
    }
    const raised = (await t.call('GET', '/api/v1/tenants/default/alerts?limit=3')).json().items;
    expect(raised[0]).toMatchObject({ message: family.repeat(512), source: { process: family.repeat(512), robot: family.repeat(512) } });
    // The tests after this one count the tenant's alerts.
    for (const { id } of raised) expect((await t.call('DELETE', `/api/v1/tenants/default/alerts/${id}`)).statusCode).toBe(204);
  });

  it('refuses a blank process-alert field as missing, as .NET [Required] does', async () => {
    const full = { Message: 'x', Severity: 'Error', ProcessName: 'P', RobotName: 'R' };
    for (const field of ['Message', 'ProcessName', 'RobotName'] as const) {
      const res = await t.call('POST', `${ACTIONS}.RaiseProcessAlert`, { processAlert: { ...full, [field]: ' \t ' } }, token);
      expect(res.statusCode, field).toBe(400);
      expect(res.json().errors.map((e: { path: string }) => e.path)).toEqual([`processAlert.${field}`]);
    }
  });

  it('needs Alerts.Create to raise (403) and a token (401)', async () => {
    const viewer = (await signIn({ tenancyName: 'default', usernameOrEmailAddress: 'viewer@example.com', password: 'viewer password' })).json().result;
    const body = { processAlert: { Message: 'x', Severity: 'Error', ProcessName: 'P', RobotName: 'R' } };
    expect((await t.call('POST', `${ACTIONS}.RaiseProcessAlert`, body, viewer)).statusCode).toBe(403);
    expect((await t.call('POST', `${ACTIONS}.RaiseProcessAlert`, body, '')).statusCode).toBe(401);
    expect((await t.call('GET', '/odata/Alerts', undefined, '')).statusCode).toBe(401);
  });

  it('keeps tenants apart: the host names one with X-Tocsin-Tenant, a user cannot name another', async () => {
    const other = await t.tenantWithUser('other', ['Administrator']);
    const hostList = (tenant?: string) =>
      t.tocsin.app.inject({
        method: 'GET',
        url: '/odata/Alerts',
        headers: { authorization: 'Bearer test-admin-token-0123456789', ...(tenant ? { 'x-tocsin-tenant': tenant } : {}) },
      });
    expect((await hostList()).statusCode).toBe(400);
    expect((await hostList('missing')).statusCode).toBe(404);
    const asHost = (await hostList('default')).json().value;
    expect(asHost).toHaveLength(5);
    expect(asHost.every((a: { State: string }) => a.State === 'Unread')).toBe(true);
    expect((await t.call('GET', '/odata/Alerts', undefined, other.token)).json().value).toEqual([]);
    const sneaky = await t.tocsin.app.inject({
      method: 'GET',
      url: '/odata/Alerts',
      headers: { authorization: `Bearer ${other.token}`, 'x-tocsin-tenant': 'default' },
    });
    expect(sneaky.statusCode).toBe(404);
    expect((await t.call('POST', `${ACTIONS}.MarkAsRead`, { ids: [ids[3]] }, other.token)).json().value).toBe(0);
    expect((await t.call('GET', `${ACTIONS}.GetUnreadCount()`, undefined, token)).json().value).toBe(2);
  });
  it('orders alerts raised together (one batch, one creation time) oldest first for CreationTime asc, the reverse of desc', async () => {
    // CreationTime asc broke ties newest first: the first alert of a batch came last, and $top=1 gave the last one raised.
    const batch = await t.tenantWithUser('batch', ['Robot']);
    const raised = (
      await t.call(
        'POST',
        '/api/v1/tenants/batch/alerts',
        { alerts: ['first', 'second', 'third'].map((message) => ({ severity: 'Error', component: 'Jobs', message })) },
        batch.token,
      )
    ).json().ids;
    const ordered = async (orderby: string) =>
      (await t.call('GET', `/odata/Alerts?$orderby=${encodeURIComponent(orderby)}`, undefined, batch.token)).json().value.map((a: { Id: string }) => a.Id);
    expect(await ordered('CreationTime asc')).toEqual(raised);
    expect(await ordered('CreationTime desc')).toEqual([...raised].reverse());
    expect(await ordered('Severity,CreationTime asc')).toEqual(raised);
    expect((await t.call('GET', '/odata/Alerts?$orderby=CreationTime%20asc&$top=1', undefined, batch.token)).json().value[0].Id).toBe(raised[0]);
  });

  it('gives an @odata.nextLink when it answers a list without $top with its page of 1,000 and more alerts follow, as OData clients (Power BI, Simple.OData) follow it', async () => {
    // Without $top the answer stopped at 1,000 alerts and said nothing of the rest: a client reading every alert lost them.
    const paged = await t.tenantWithUser('paged', ['Robot']);
    for (const [count, severity] of [
      [1_000, 'Error'],
      [5, 'Error'],
      [2, 'Info'],
    ] as const) {
      const alerts = Array.from({ length: count }, (_, i) => ({ severity, component: 'Jobs', message: `${severity} ${i}` }));
      expect((await t.call('POST', '/api/v1/tenants/paged/alerts', { alerts }, paged.token)).statusCode).toBe(202);
    }
    const page = async (url: string) => {
      const res = await t.call('GET', url, undefined, paged.token);
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
      return res.json<{ value: { Id: string }[]; '@odata.nextLink'?: string; '@odata.count'?: number }>();
    };
    const first = await page('/odata/Alerts');
    expect(first.value).toHaveLength(1_000);
    const next = new URL(first['@odata.nextLink']!);
    expect(next.pathname).toBe('/odata/Alerts');
    const second = await page(`${next.pathname}${next.search}`);
    expect(second.value).toHaveLength(7);
    expect(second['@odata.nextLink']).toBeUndefined();
    expect(new Set([...first.value, ...second.value].map((a) => a.Id)).size).toBe(1_007);
    // The next page keeps the filter, the order, the projection and the count.
    const errors = await page(`/odata/Alerts?$filter=${encodeURIComponent("Severity eq 'Error'")}&$count=true&$orderby=CreationTime%20asc&$select=Id`);
    expect(errors.value).toHaveLength(1_000);
    expect(errors['@odata.count']).toBe(1_005);
    const rest = new URL(errors['@odata.nextLink']!);
    expect(rest.searchParams.get('$filter')).toBe("Severity eq 'Error'");
    // The page after is the one after the last alert read, which the $skiptoken holds, not the 1,000 after the list's start.
    expect(rest.searchParams.has('$skip')).toBe(false);
    const last = await page(`${rest.pathname}${rest.search}`);
    expect(last.value).toHaveLength(5);
    expect(last['@odata.count']).toBe(1_005);
    expect(Object.keys(last.value[0]!)).toEqual(['Id']);
    expect(last['@odata.nextLink']).toBeUndefined();
    // A page the client sized itself, or the last full page, has none.
    expect((await page('/odata/Alerts?$top=1000'))['@odata.nextLink']).toBeUndefined();
    expect((await page('/odata/Alerts?$skip=7'))['@odata.nextLink']).toBeUndefined();
    expect((await page('/odata/Alerts?$top=1&$orderby=Severity,Component,State,NotificationName,Id')).value).toHaveLength(1);
    // A page the client started at its own $skip goes on 1,000 further, not back to 1,000 (read twice).
    const skipped = await page('/odata/Alerts?$skip=3');
    expect(skipped.value).toHaveLength(1_000);
    const after = new URL(skipped['@odata.nextLink']!);
    expect(after.searchParams.has('$skip')).toBe(false);
    expect((await page(`${after.pathname}${after.search}`)).value).toHaveLength(4);
  });

  it('follows its @odata.nextLink to the alerts the first page left, none again, while new alerts are raised between pages', async () => {
    // The next page was the list at $skip=1000 of the alerts then: each alert raised meanwhile
    // pushed one of the first page onto the second, where a client such as Power BI read it twice.
    const busy = await t.tenantWithUser('paged-busy', ['Robot']);
    const raise = async (count: number, label: string) => {
      const alerts = Array.from({ length: count }, (_, i) => ({ severity: 'Error', component: 'Jobs', message: `${label} ${i}` }));
      const res = await t.call('POST', '/api/v1/tenants/paged-busy/alerts', { alerts }, busy.token);
      expect(res.statusCode).toBe(202);
      return res.json<{ ids: string[] }>().ids;
    };
    const before = [...(await raise(1_000, 'old')), ...(await raise(4, 'older'))];
    const page = async (url: string) => {
      const res = await t.call('GET', url, undefined, busy.token);
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
      return res.json<{ value: { Id: string }[]; '@odata.nextLink'?: string; '@odata.count'?: number }>();
    };
    const first = await page('/odata/Alerts?$count=true');
    expect(first.value).toHaveLength(1_000);
    expect(first['@odata.count']).toBe(1_004);
    await raise(3, 'new');
    const next = new URL(first['@odata.nextLink']!);
    const second = await page(`${next.pathname}${next.search}`);
    expect(second['@odata.nextLink']).toBeUndefined();
    expect(second['@odata.count']).toBe(1_004);
    const read = [...first.value, ...second.value].map((a) => a.Id);
    expect(read).toHaveLength(1_004);
    expect(new Set(read)).toEqual(new Set(before));
    // A token altered is refused, naming it.
    const altered = new URLSearchParams(next.search);
    altered.set('$skiptoken', `x${altered.get('$skiptoken')}`);
    const refused = await t.call('GET', `/odata/Alerts?${altered}`, undefined, busy.token);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().errors[0].path).toBe('$skiptoken');
  });

  it("follows its @odata.nextLink to every alert once while the pages read are marked read under State eq 'Unread', or some of them deleted", async () => {
    // The next page was the list at $skip=1000: a script marking each page read (MarkAsRead) found
    // the unread alerts 1,000 fewer, so the next page skipped the 1,000 after them; each alert deleted
    // from a page read skipped one alert after it.
    const walker = await t.tenantWithUser('paged-walk', ['Administrator']);
    const raised: string[] = [];
    // Ties in every order: a batch shares its creation time, and five severities, three components and two events repeat.
    for (const count of [1_000, 5]) {
      const alerts = Array.from({ length: count }, (_, i) => ({
        severity: ['Info', 'Success', 'Warn', 'Error', 'Fatal'][i % 5],
        component: ['Jobs', 'Robots', 'Queues'][i % 3],
        event: i % 2 ? 'Process.RaiseAlert' : 'backup:done',
        message: `walk ${i}`,
      }));
      raised.push(...(await t.call('POST', '/api/v1/tenants/paged-walk/alerts', { alerts }, walker.token)).json().ids);
    }
    const walk = async (first: string, betweenPages: (ids: string[]) => Promise<void>) => {
      const read: string[] = [];
      for (let url: string | undefined = first; url !== undefined; ) {
        const res = await t.call('GET', url, undefined, walker.token);
        expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
        const page = res.json<{ value: { Id: string }[]; '@odata.nextLink'?: string }>();
        const ids = page.value.map((a) => a.Id);
        read.push(...ids);
        await betweenPages(ids);
        const next = page['@odata.nextLink'] === undefined ? undefined : new URL(page['@odata.nextLink']);
        url = next && `${next.pathname}${next.search}`;
      }
      return read;
    };
    const markRead = async (ids: string[]) => {
      const res = await t.call('POST', '/odata/Alerts/UiPath.Server.Configuration.OData.MarkAsRead', { ids }, walker.token);
      expect(res.statusCode).toBe(200);
    };
    // In each order, the walk reads what the list read at $skip 0 and 1,000 (ties of the read state too: a third read).
    await markRead(raised.filter((_, i) => i % 3 === 0));
    const page = async (url: string) => (await t.call('GET', url, undefined, walker.token)).json().value.map((a: { Id: string }) => a.Id);
    for (const orderby of ['Severity desc,State,Component', 'NotificationName,Id desc', 'CreationTime asc']) {
      const list = `/odata/Alerts?$select=Id&$orderby=${encodeURIComponent(orderby)}`;
      const walked = await walk(list, async () => {});
      expect(walked, orderby).toEqual([...(await page(`${list}&$top=1000`)), ...(await page(`${list}&$top=1000&$skip=1000`))]);
      expect(new Set(walked).size, orderby).toBe(1_005);
    }
    const first = new URL((await t.call('GET', '/odata/Alerts?$orderby=Severity', undefined, walker.token)).json()['@odata.nextLink']);
    const otherOrder = await t.call('GET', `/odata/Alerts?$orderby=Component&$skiptoken=${first.searchParams.get('$skiptoken')}`, undefined, walker.token);
    expect(otherOrder.statusCode).toBe(400);
    expect(otherOrder.json().errors[0].path).toBe('$skiptoken');
    // A nextLink of the versions before (the list's newest alert as its token, the page by its $skip) still reads as it did.
    const before = encodeCursor(t.tocsin.deps.secretBox.deriveKey(CURSOR_KEY_PURPOSE), walker.tenantId, {
      createdAt: Date.parse('2100-01-01T00:00:00Z'),
      id: raised[0]!,
    });
    expect(await page(`/odata/Alerts?$select=Id&$orderby=CreationTime%20asc&$skip=1000&$skiptoken=${before}`)).toEqual(raised.slice(1_000));
    await t.call('POST', '/api/v1/tenants/paged-walk/alerts/mark-unread', { ids: raised.slice(0, 1_000) }, walker.token);
    await t.call('POST', '/api/v1/tenants/paged-walk/alerts/mark-unread', { ids: raised.slice(1_000) }, walker.token);
    const unread = await walk(`/odata/Alerts?$filter=${encodeURIComponent("State eq 'Unread'")}&$select=Id`, markRead);
    expect(unread).toHaveLength(1_005);
    expect(new Set(unread)).toEqual(new Set(raised));
    let deleted = false;
    const all = await walk('/odata/Alerts?$select=Id&$orderby=CreationTime%20asc', async (ids) => {
      if (deleted) return;
      deleted = true;
      for (const id of ids.slice(0, 3)) expect((await t.call('DELETE', `/api/v1/tenants/paged-walk/alerts/${id}`)).statusCode).toBe(204);
    });
    expect(all).toEqual(raised);
  });

  it('marks read the alerts whose ids MarkAsRead gives in upper case, as .NET prints a Guid, as $filter on Id already reads them', async () => {
    // An id in upper case matched no alert: 200 with the same unread count, and the alert stayed unread.
    const upper = await t.tenantWithUser('upper-ids', ['Robot']);
    const raised = (
      await t.call(
        'POST',
        '/api/v1/tenants/upper-ids/alerts',
        { alerts: ['one', 'two', 'three'].map((message) => ({ severity: 'Error', component: 'Jobs', message })) },
        upper.token,
      )
    ).json().ids as string[];
    const marked = await t.call('POST', `${ACTIONS}.MarkAsRead`, { ids: [raised[0]!.toUpperCase(), ` ${raised[1]} `] }, upper.token);
    expect(marked.statusCode, marked.body).toBe(200);
    expect(marked.json().value).toBe(1);
    const states = (await t.call('GET', '/odata/Alerts?$orderby=CreationTime%20asc', undefined, upper.token))
      .json()
      .value.map((a: { State: string }) => a.State);
    expect(states).toEqual(['Read', 'Read', 'Unread']);
  });

  it("marks read the alerts whose UserNotificationIds MarkAsRead gives, as UiPath's API guide says to send them; another reader's mark nothing", async () => {
    // "The request body must contain the UserNotificationId as the value for the ids field" (Orchestrator
    // API guide, Alerts requests): a script doing so got 200 with the same unread count, the alerts unread.
    const ann = await t.tenantWithUser('notification-ids', ['Robot']);
    const bob = await t.tenantWithUser('notification-ids', ['Robot']);
    const raised = await t.call(
      'POST',
      '/api/v1/tenants/notification-ids/alerts',
      { alerts: ['one', 'two', 'three'].map((message) => ({ severity: 'Error', component: 'Jobs', message })) },
      ann.token,
    );
    expect(raised.statusCode).toBe(202);
    const listed = async (token: string) =>
      (await t.call('GET', '/odata/Alerts?$orderby=CreationTime%20asc', undefined, token)).json().value as {
        UserNotificationId: string;
        State: string;
      }[];
    const bobs = (await listed(bob.token)).map((a) => a.UserNotificationId);
    const anns = (await listed(ann.token)).map((a) => a.UserNotificationId);
    // Bob's notifications are not Ann's: sent by Ann, they name none of hers.
    const foreign = await t.call('POST', `${ACTIONS}.MarkAsRead`, { ids: [bobs[0]] }, ann.token);
    expect(foreign.json().value).toBe(3);
    const marked = await t.call('POST', `${ACTIONS}.MarkAsRead`, { ids: [anns[0], anns[1]!.toUpperCase()] }, ann.token);
    expect(marked.statusCode, marked.body).toBe(200);
    expect(marked.json().value).toBe(1);
    expect((await listed(ann.token)).map((a) => a.State)).toEqual(['Read', 'Read', 'Unread']);
    expect((await listed(bob.token)).map((a) => a.State)).toEqual(['Unread', 'Unread', 'Unread']);
    // The host administrator's own notifications, in the tenant it names.
    const host = (method: 'GET' | 'POST', url: string, payload?: object) =>
      t.tocsin.app.inject({ method, url, payload, headers: { authorization: 'Bearer test-admin-token-0123456789', 'x-tocsin-tenant': 'notification-ids' } });
    const hostIds = (await host('GET', '/odata/Alerts?$orderby=CreationTime%20asc'))
      .json()
      .value.map((a: { UserNotificationId: string }) => a.UserNotificationId);
    expect((await host('POST', `${ACTIONS}.MarkAsRead`, { ids: [hostIds[2]] })).json().value).toBe(2);
  });

  it("reads a JSON body sent as any type Orchestrator's swaggers list for it (text/json, application/json-patch+json, application/*+json), as clients generated from them send", async () => {
    // Each was a 415: the 2018 and 2019 swaggers list text/json for the sign-in, the 2020.10 one
    // application/json-patch+json and application/*+json for the OData actions, and a generated client may pick any.
    const send = (url: string, type: string, body: unknown, bearer?: string) =>
      t.tocsin.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': type, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
        payload: JSON.stringify(body),
      });
    const signedIn = await send('/api/Account/Authenticate', 'text/json; charset=utf-8', {
      tenancyName: 'default',
      usernameOrEmailAddress: 'robot@example.com',
      password: 'correct horse battery',
    });
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    const bearer = signedIn.json().result;
    for (const type of ['application/json-patch+json', 'application/*+json', 'text/json']) {
      const raised = await send(
        `${ACTIONS}.RaiseProcessAlert`,
        type,
        { processAlert: { Message: type, Severity: 'Info', ProcessName: 'P', RobotName: 'R' } },
        bearer,
      );
      expect(raised.statusCode, `${type}: ${raised.body}`).toBe(200);
    }
    const [latest] = (await t.call('GET', '/odata/Alerts?$top=1', undefined, bearer)).json().value;
    expect(JSON.parse(latest.Data).Message).toBe('text/json');
    const marked = await send(`${ACTIONS}.MarkAsRead`, 'application/json-patch+json', { ids: [latest.Id] }, bearer);
    expect(marked.statusCode, marked.body).toBe(200);
    // A malformed one is a 400 as JSON's is; the REST API of the same server reads them alike.
    expect((await send(`${ACTIONS}.MarkAsRead`, 'text/json', '{"ids": [', bearer)).statusCode).toBe(400);
    expect((await send('/api/v1/tenants/default/alerts', 'text/json', { severity: 'Info', component: 'Jobs', message: 'x' }, bearer)).statusCode).toBe(202);
  });

  it("reads a Severity name with white space around it, as .NET's enum reader does (' Error ', 'Fatal\\n'), as it already read ' 3 '", async () => {
    // Newtonsoft's StringEnumConverter trims the name before matching it in any case; these were a 400.
    for (const [Severity, severity] of [
      [' Error ', 'Error'],
      ['Fatal\n', 'Fatal'],
      ['\twarning ', 'Warn'],
    ]) {
      const res = await t.call(
        'POST',
        `${ACTIONS}.RaiseProcessAlert`,
        { processAlert: { Message: `spaced ${severity}`, Severity, ProcessName: 'P', RobotName: 'R' } },
        token,
      );
      expect(res.statusCode, `${JSON.stringify(Severity)}: ${res.body}`).toBe(200);
      const [latest] = (await t.call('GET', '/api/v1/tenants/default/alerts?limit=1')).json().items;
      expect(latest).toMatchObject({ message: `spaced ${severity}`, severity });
    }
    const blank = await t.call(
      'POST',
      `${ACTIONS}.RaiseProcessAlert`,
      { processAlert: { Message: 'x', Severity: '  ', ProcessName: 'P', RobotName: 'R' } },
      token,
    );
    expect(blank.json()).toMatchObject({ status: 400, errors: [{ path: 'processAlert.Severity' }] });
  });

  it('reads a number where Orchestrator takes a string, as its .NET binder does: a Message or name sent as a number, a Severity as its number in a string, a Password as digits', async () => {
    // PowerShell's ConvertTo-Json writes `Message = $count` as a number: each was a 400 'expected string, received number'.
    const raised = await t.call(
      'POST',
      `${ACTIONS}.RaiseProcessAlert`,
      { processAlert: { Message: 42, Severity: '3', ProcessName: 1234, RobotName: true } },
      token,
    );
    expect(raised.statusCode, raised.body).toBe(200);
    const [latest] = (await t.call('GET', '/api/v1/tenants/default/alerts?limit=1')).json().items;
    expect(latest).toMatchObject({ message: '42', severity: 'Error', source: { process: '1234', robot: 'True' } });
    expect(
      (await t.call('POST', `${ACTIONS}.RaiseProcessAlert`, { processAlert: { Message: 'x', Severity: '9', ProcessName: 'P', RobotName: 'R' } }, token)).json(),
    ).toMatchObject({
      status: 400,
      errors: [{ path: 'processAlert.Severity' }],
    });
    await t.call('POST', '/api/v1/tenants/default/users', { email: 'pin@example.com', name: 'Pin', password: '12345678', roles: ['Robot'] });
    const signedIn = await signIn({ tenancyName: 'default', usernameOrEmailAddress: 'pin@example.com', password: 12345678 });
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    // An object or a list is still no string.
    expect((await signIn({ tenancyName: 'default', usernameOrEmailAddress: 'pin@example.com', password: [1] })).json()).toMatchObject({
      status: 400,
      errors: [{ path: 'Password' }],
    });
  });
});
