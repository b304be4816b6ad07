import zlib from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { ALERTS_BODY_LIMIT_BYTES } from '../alerts/input.js';

// API.md says "JSON in and out" and names no Content-Type: a script written from it with a bearer
// token may send its JSON as `curl -d '{…}'` labels it (application/x-www-form-urlencoded), as
// `fetch(url, { method: 'POST', body: JSON.stringify(x) })` does (text/plain;charset=UTF-8), or
// with no label at all. No browser adds an Authorization header cross-site without a CORS
// preflight, so such a request is read as JSON; the console's cookie session and strangers are
// still refused (415), as a cross-site form can send those types with no preflight.
describeEachDialect('a JSON body labelled otherwise', (dialect) => {
  let t: TestApp;
  let session: { cookie: string; csrfToken: string };
  beforeAll(async () => {
    t = await startTestApp(dialect);
    await t.call('POST', '/api/v1/tenants', { name: 'labels' });
    const login = await t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { adminToken: ADMIN_TOKEN } });
    session = { cookie: String(login.headers['set-cookie']).split(';')[0]!, csrfToken: login.json().csrfToken };
  });
  afterAll(() => t.close());

  const send = (method: 'POST' | 'PATCH', url: string, type: string | undefined, payload: string | Buffer, headers: Record<string, string> = {}) =>
    t.tocsin.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(type === undefined ? {} : { 'content-type': type }), ...headers },
      payload,
    });
  const alert = (message: string) => JSON.stringify({ severity: 'Info', component: 'Jobs', message });
  const messages = async () => (await t.call('GET', '/api/v1/tenants/labels/alerts')).json().items.map((a: { message: string }) => a.message);

  it.each([
    ['application/x-www-form-urlencoded', 'curl -d'],
    ['text/plain;charset=UTF-8', 'fetch'],
    [undefined, 'no label'],
  ])('takes JSON labelled %s (%s) with a bearer token: 202 for alerts, 201 for a tenant, 200 for a PATCH', async (type, how) => {
    const raised = await send('POST', '/api/v1/tenants/labels/alerts', type, alert(`raised by ${how}`));
    expect(raised.statusCode, raised.body).toBe(202);
    expect(await messages()).toContain(`raised by ${how}`);
    const name = `by-${how.replace(/\W+/g, '-')}`;
    const created = await send('POST', '/api/v1/tenants', type, JSON.stringify({ name, displayName: how }));
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ name, displayName: how });
    const patched = await send('PATCH', `/api/v1/tenants/${name}`, type, JSON.stringify({ displayName: `${how}, renamed` }));
    expect(patched.statusCode, patched.body).toBe(200);
    expect((await t.call('GET', `/api/v1/tenants/${name}`)).json()).toMatchObject({ displayName: `${how}, renamed` });
  });

  it('reads such a body as application/json is read: its charset, its Content-Encoding, the prototype-key guard, the size limit', async () => {
    const latin1 = await send('POST', '/api/v1/tenants/labels/alerts', 'text/plain; charset=ISO-8859-1', Buffer.from(alert('café au lait'), 'latin1'));
    expect(latin1.statusCode, latin1.body).toBe(202);
    expect(await messages()).toContain('café au lait');
    const gzipped = await send('POST', '/api/v1/tenants/labels/alerts', 'application/x-www-form-urlencoded', zlib.gzipSync(alert('gzipped form')), {
      'content-encoding': 'gzip',
    });
    expect(gzipped.statusCode, gzipped.body).toBe(202);
    expect(await messages()).toContain('gzipped form');
    const proto = await send(
      'POST',
      '/api/v1/tenants/labels/alerts',
      'text/plain',
      '{"severity":"Info","component":"Jobs","message":"m","data":{"__proto__":{"x":1}}}',
    );
    expect(proto.statusCode, proto.body).toBe(400);
    expect(proto.json().errors).toEqual([{ path: 'data.__proto__', message: expect.stringContaining('__proto__') }]);
    // Past POST /alerts' own bound (cb7af1c6 raised it over the app's 20 MiB, which 21 MiB was sized against).
    const huge = await send('POST', '/api/v1/tenants/labels/alerts', undefined, `{"message":"${'x'.repeat(ALERTS_BODY_LIMIT_BYTES)}"}`);
    expect(huge.statusCode).toBe(413);
    expect(huge.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it.each([
    ['application/x-www-form-urlencoded', 'severity=Info&component=Jobs&message=form'],
    ['text/plain', 'just some words'],
    [undefined, '{"severity":"Info",'],
  ])('refuses a body labelled %s that is not JSON with a 400 that says so and names its label', async (type, payload) => {
    const res = await send('POST', '/api/v1/tenants/labels/alerts', type, payload);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const named = type ? `the body is labelled ${type}` : 'the body has no Content-Type';
    expect(res.json()).toMatchObject({
      status: 400,
      detail: `The body is not JSON (${named}): send JSON, with Content-Type: application/json.`,
      errors: [{ path: '(root)', message: 'is not JSON' }],
    });
  });

  it.each([['application/x-www-form-urlencoded'], ['text/plain;charset=UTF-8'], [undefined]])(
    'still refuses JSON labelled %s with 415 when the console session cookie sends it, and nothing is raised',
    async (type) => {
      const res = await t.tocsin.app.inject({
        method: 'POST',
        url: '/api/v1/tenants/labels/alerts',
        headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken, ...(type === undefined ? {} : { 'content-type': type }) },
        payload: alert('sent with the cookie'),
      });
      expect(res.statusCode, res.body).toBe(415);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json().detail).toMatch(/^Send the body as JSON with Content-Type: application\/json \(the body (is labelled|has no Content-Type)/);
      expect(await messages()).not.toContain('sent with the cookie');
    },
  );

  it('still refuses JSON labelled as a form to a route open to strangers (the sign-in), so a cross-site form cannot sign a browser in', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'text/plain']) {
      const res = await t.tocsin.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: { 'content-type': type, authorization: `Bearer ${ADMIN_TOKEN}` },
        payload: JSON.stringify({ adminToken: ADMIN_TOKEN }),
      });
      expect(res.statusCode, res.body).toBe(415);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
  });

  it.each([['text/json'], ['text/json; charset=utf-8'], ['application/json; charset=UTF-8'], ['application/vnd.api+json'], ['application/problem+json']])(
    'takes JSON labelled %s as application/json, from a bearer token or the console session, as the Orchestrator routes of the same server do',
    async (type) => {
      // The REST API answered 415 to text/json and application/*+json, which /odata and Authenticate read as JSON.
      const raised = await send('POST', '/api/v1/tenants/labels/alerts', type, alert(`labelled ${type}`));
      expect(raised.statusCode, raised.body).toBe(202);
      // No cross-site form sends these types without a CORS preflight: the cookie session may send them too.
      const withCookie = await t.tocsin.app.inject({
        method: 'POST',
        url: '/api/v1/tenants/labels/alerts',
        headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken, 'content-type': type },
        payload: alert(`labelled ${type} by the console`),
      });
      expect(withCookie.statusCode, withCookie.body).toBe(202);
      expect(await messages()).toEqual(expect.arrayContaining([`labelled ${type}`, `labelled ${type} by the console`]));
      const odata = await send('POST', '/odata/Alerts/UiPath.Server.Configuration.OData.MarkAsRead', type, '{"ids":[]}', { 'x-tocsin-tenant': 'labels' });
      expect(odata.statusCode, odata.body).toBe(200);
      const notJson = await send('POST', '/api/v1/tenants/labels/alerts', type, '{"severity":');
      expect(notJson.statusCode, notJson.body).toBe(400);
    },
  );

  it('keeps refusing with 415 a type that is no JSON by any reading (text/csv), bearer token or not', async () => {
    const res = await send('POST', '/api/v1/tenants/labels/alerts', 'text/csv', alert('as csv'));
    expect(res.statusCode, res.body).toBe(415);
    expect(res.json().detail).toBe('Send the body as JSON with Content-Type: application/json (the body is labelled text/csv).');
  });
});
