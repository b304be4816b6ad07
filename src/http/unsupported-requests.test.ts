import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';

// Only SQLite: what is refused here is refused before any route or storage is reached.
describe('requests a route does not take', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('sqlite');
  });
  afterAll(() => t.close());

  // A bearer token's JSON labelled text/plain, as a form or not at all is read (json-under-other-labels.test.ts); no other type is.
  it.each([
    ['text/csv', 'POST', '/api/v1/tenants', { name: 'labelled-text' }],
    ['application/xml', 'PATCH', '/api/v1/tenants/typed', { displayName: 'Typed' }],
    ['text/csv', 'POST', '/api/v1/tenants/typed/alerts', { severity: 'Info', component: 'Jobs', message: 'x' }],
  ])('refuses a JSON body sent as %s with 415 problem+json (%s %s), and nothing changes', async (type, method, url, body) => {
    await t.call('POST', '/api/v1/tenants', { name: 'typed' });
    const res = await t.tocsin.app.inject({
      method: method as 'POST' | 'PATCH',
      url,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': type },
      payload: JSON.stringify(body),
    });
    expect(res.statusCode, res.body).toBe(415);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 415, title: expect.any(String), detail: expect.any(String), type: expect.any(String) });
    expect((await t.call('GET', '/api/v1/tenants/labelled-text')).statusCode).toBe(404);
    expect((await t.call('GET', '/api/v1/tenants/typed')).json()).toMatchObject({ displayName: 'typed' });
    expect((await t.call('GET', '/api/v1/tenants/typed/alerts')).json()).toMatchObject({ items: [] });
  });

  // API.md's PATCH is a JSON merge patch (RFC 7396): a client that says so in its Content-Type is understood.
  it('takes a PATCH body sent as application/merge-patch+json: null clears, a field left out keeps its value', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'merge-patch' });
    const group = (await t.call('POST', '/api/v1/tenants/merge-patch/groups', { name: 'Night shift', email: 'night@example.com', language: 'fr' })).json();
    const res = await t.tocsin.app.inject({
      method: 'PATCH',
      url: `/api/v1/tenants/merge-patch/groups/${group.id}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ email: null }),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ name: 'Night shift', email: null, language: 'fr' });
    const doc = (await t.call('GET', '/api/openapi.json')).json();
    expect(Object.keys(doc.paths['/api/v1/tenants/{tenant}/groups/{groupId}'].patch.requestBody.content)).toContain('application/merge-patch+json');
  });

  // curl -d without -H 'content-type: application/json' labels the body application/x-www-form-urlencoded: read
  // as JSON with a bearer token, refused with the console's session cookie, which a cross-site form can send.
  it.each([
    ['application/x-www-form-urlencoded', 'the body is labelled application/x-www-form-urlencoded', 'session'],
    ['text/plain;charset=UTF-8', 'the body is labelled text/plain;charset=UTF-8', 'session'],
    ['text/csv', 'the body is labelled text/csv', 'bearer'],
  ])('says a body sent as %s must be JSON with Content-Type: application/json, naming the type sent (%s)', async (type, named, by) => {
    await t.call('POST', '/api/v1/tenants', { name: 'curl-form' });
    const login = await t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { adminToken: ADMIN_TOKEN } });
    const session = { cookie: String(login.headers['set-cookie']).split(';')[0]!, 'x-csrf-token': login.json().csrfToken };
    const res = await t.tocsin.app.inject({
      method: 'POST',
      url: '/api/v1/tenants/curl-form/alerts',
      headers: { ...(by === 'bearer' ? { authorization: `Bearer ${ADMIN_TOKEN}` } : session), 'content-type': type },
      payload: JSON.stringify({ severity: 'Info', component: 'Jobs', message: 'x' }),
    });
    expect(res.statusCode, res.body).toBe(415);
    expect(res.json().detail).toBe(`Send the body as JSON with Content-Type: application/json (${named}).`);
  });

  // fetch(url, { method: 'POST', body: '' }) labels its empty body text/plain too: that is no body, not one of another type.
  it('takes an empty body labelled text/plain as no body on the routes that take none', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'empty-text' });
    const [id] = (await t.call('POST', '/api/v1/tenants/empty-text/alerts', { severity: 'Info', component: 'Jobs', message: 'x' })).json().ids;
    const empty = (method: 'POST' | 'DELETE', url: string) =>
      t.tocsin.app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/plain;charset=UTF-8' }, payload: '' });
    const acknowledged = await empty('POST', `/api/v1/tenants/empty-text/alerts/${id}/acknowledge`);
    expect(acknowledged.statusCode, acknowledged.body).toBe(200);
    const deleted = await empty('DELETE', `/api/v1/tenants/empty-text/alerts/${id}`);
    expect(deleted.statusCode, deleted.body).toBe(204);
    // The console's session too, which takes no JSON labelled text/plain: an empty body is none.
    const [other] = (await t.call('POST', '/api/v1/tenants/empty-text/alerts', { severity: 'Info', component: 'Jobs', message: 'y' })).json().ids;
    const login = await t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { adminToken: ADMIN_TOKEN } });
    const session = { cookie: String(login.headers['set-cookie']).split(';')[0]!, 'x-csrf-token': login.json().csrfToken };
    const bySession = await t.tocsin.app.inject({
      method: 'POST',
      url: `/api/v1/tenants/empty-text/alerts/${other}/acknowledge`,
      headers: { ...session, 'content-type': 'text/plain;charset=UTF-8' },
      payload: '',
    });
    expect(bySession.statusCode, bySession.body).toBe(200);
  });

  it.each([
    ['DELETE', '/api/v1/tenants', 'GET, HEAD, POST'],
    ['PUT', '/api/v1/tenants/some-tenant/alerts', 'GET, HEAD, POST'],
    ['PUT', '/api/v1/tenants/some-tenant/users/some-user', 'DELETE, GET, HEAD, PATCH'],
    ['POST', '/odata/Alerts', 'GET, HEAD'],
    ['GET', '/api/Account/Authenticate', 'POST'],
  ])('answers %s %s with 405 problem+json and Allow: %s', async (method, url, allow) => {
    const res = await t.call(method as 'PUT', url, method === 'GET' ? undefined : {});
    expect(res.statusCode, res.body).toBe(405);
    expect(res.headers.allow).toBe(allow);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 405, title: 'Method Not Allowed', type: expect.any(String), detail: expect.stringContaining(allow) });
  });

  // A fixed path beside a route's `{alertId}` is its own resource: GET /alerts/mark-read went to GET
  // /alerts/{alertId} ("Alert not found", 404), and a PATCH there listed that route's GET and DELETE in Allow.
  it.each([
    ['GET', '/api/v1/tenants/some-tenant/alerts/mark-read', 'POST'],
    ['DELETE', '/api/v1/tenants/some-tenant/alerts/mark-unread', 'POST'],
    ['DELETE', '/api/v1/tenants/some-tenant/alerts/unread-count', 'GET, HEAD'],
    ['DELETE', '/api/v1/tenants/some-tenant/alerts/panel', 'GET, HEAD'],
    ['PATCH', '/api/v1/tenants/some-tenant/alerts/mark-read', 'POST'],
    ['HEAD', '/api/v1/tenants/some-tenant/alerts/mark-read', 'POST'],
  ])('answers %s %s, a fixed path beside an id route, with 405 and Allow: %s, before any token is asked for', async (method, url, allow) => {
    for (const authorization of [`Bearer ${ADMIN_TOKEN}`, undefined]) {
      const res = await t.tocsin.app.inject({ method: method as 'GET', url, headers: authorization ? { authorization } : {} });
      expect(res.statusCode, res.body).toBe(405);
      expect(res.headers.allow).toBe(allow);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      if (method !== 'HEAD') expect(res.json()).toMatchObject({ status: 405, detail: expect.stringContaining(allow) });
    }
  });

  it('still takes the id routes beside those fixed paths: an unknown alert is a 404 of that alert', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'beside' });
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await t.call(method, '/api/v1/tenants/beside/alerts/no-such-alert');
      expect(res.statusCode, res.body).toBe(404);
      expect(res.json().detail).toBe('Alert not found.');
    }
  });

  // Scripts often end a path with a slash, which OData's and Orchestrator's paths take: a REST path means
  // the same with one. GET /tenants/ and GET /users/ were 404s where GET /tenants and GET /users listed them.
  it('takes a REST path ending in a slash as the same path without it, its query kept, and 405 where the path takes other methods', async () => {
    const created = await t.call('POST', '/api/v1/tenants/', { name: 'slashed' });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.headers.location).toMatch(/\/api\/v1\/tenants\/[^/]+$/);
    expect((await t.call('GET', '/api/v1/tenants/')).json().items.map((tenant: { name: string }) => tenant.name)).toContain('slashed');
    expect((await t.call('GET', '/api/v1/tenants/slashed/')).json()).toMatchObject({ name: 'slashed' });
    const user = await t.call('POST', '/api/v1/tenants/slashed/users/', { email: 'ann@example.com', name: 'Ann', roles: ['Administrator'] });
    expect(user.statusCode, user.body).toBe(201);
    expect((await t.call('GET', '/api/v1/tenants/slashed/users/')).json().items).toHaveLength(1);
    await t.call('POST', '/api/v1/tenants/slashed/alerts', { severity: 'Info', component: 'Jobs', message: 'quiet' });
    const filtered = await t.call('GET', '/api/v1/tenants/slashed/alerts/?severity=Error');
    expect(filtered.statusCode, filtered.body).toBe(200);
    expect(filtered.json().items).toEqual([]);
    for (const [method, url, allow] of [
      ['DELETE', '/api/v1/tenants/slashed/groups/', 'GET, HEAD, POST'],
      ['PATCH', '/api/v1/tenants/', 'GET, HEAD, POST'],
      ['GET', '/api/v1/tenants/slashed/alerts/mark-read/', 'POST'],
    ] as const) {
      const res = await t.call(method as 'GET', url, method === 'PATCH' ? {} : undefined);
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(405);
      expect(res.headers.allow).toBe(allow);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  // A slash stands for nothing else: an empty id, an unknown path, the base itself stay no route's.
  it.each([
    ['GET', '/api/v1/tenants/beside/users//'],
    ['GET', '/api/v1/no-such-thing/'],
    ['GET', '/api/v1/'],
    ['DELETE', '/api/v1/tenants/beside/alerts/nope/'],
  ])('answers %s %s 404 in problem+json', async (method, url) => {
    await t.call('POST', '/api/v1/tenants', { name: 'beside' });
    const res = await t.call(method as 'GET', url);
    expect(res.statusCode, res.body).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 404 });
  });

  // What a route would make of a body is no matter where no route takes the request: no route reads it.
  it.each([
    ['PUT', '/api/v1/tenants', 'text/plain', 'x', 405],
    ['PUT', '/api/v1/tenants', 'application/json', '{not json', 405],
    ['PATCH', '/healthz', 'application/json; charset=no-such-charset', '{}', 405],
    ['QUERY', '/api/v1/tenants', undefined, '', 405],
    ['PUT', '/api/v1/no-such-thing', 'text/plain', 'x', 404],
    ['POST', '/api/v1/no-such-thing', 'application/json', '{not json', 404],
    ['QUERY', '/api/v1/no-such-thing', undefined, '', 404],
  ])('answers %s %s labelled %s with body %j as no route takes it: %i, whatever the body', async (method, url, type, payload, status) => {
    const res = await t.tocsin.app.inject({
      method: method as 'PUT',
      url,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(type ? { 'content-type': type } : {}) },
      payload,
    });
    expect(res.statusCode, res.body).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
  });

  it('answers 404 on a path no route takes, whatever the method', async () => {
    for (const method of ['GET', 'POST', 'DELETE'] as const) {
      const res = await t.call(method, '/api/v1/no-such-thing');
      expect(res.statusCode, `${method} ${res.body}`).toBe(404);
      expect(res.headers.allow).toBeUndefined();
    }
  });
});
