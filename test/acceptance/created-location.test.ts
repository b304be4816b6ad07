/**
 * API.md's POSTs that answer "201 tenant", "201 user", "201 Mute", "201 Source"… as a script
 * writer reads them: the answer is the new object, and (RFC 9110, 15.3.2) its address is in
 * Location, which the script can follow to the same object without building the path itself.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN_TOKEN, type ListeningApp, type TestApp, startListeningApp, startTestApp } from '../support/http.js';
import { describeEachDialect } from '../support/storage.js';

const PUBLIC_URL = 'https://tocsin.example.com';

describeEachDialect('201 Created names the new object in Location', (dialect) => {
  let app: ListeningApp;
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

  /** post sends a JSON body as a script does and expects 201 with a Location under TOCSIN_PUBLIC_URL. */
  async function post(path: string, body: object): Promise<{ location: string; object: { id: string } }> {
    const res = await fetch(`${app.url}${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status, `POST ${path}`).toBe(201);
    const object = (await res.json()) as { id: string };
    const location = res.headers.get('location');
    expect(location, `Location of POST ${path}`).toBe(`${PUBLIC_URL}${path}/${object.id}`);
    return { location: location!, object };
  }
  /** follow sends a request to a Location, on the listening server that TOCSIN_PUBLIC_URL stands for. */
  const follow = (location: string, method = 'GET') => fetch(location.replace(PUBLIC_URL, app.url), { method, headers: auth });

  beforeAll(async () => {
    app = await startListeningApp(dialect, 'smtp://127.0.0.1:1');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('POST /tenants, /users, /groups and /sources: following Location reads the object the 201 answered', async () => {
    const tenant = await post('/api/v1/tenants', { name: 'acme' });
    const user = await post('/api/v1/tenants/acme/users', { email: 'ann@example.com', name: 'Ann', roles: ['Administrator'] });
    const group = await post('/api/v1/tenants/acme/groups', { name: 'Ops', email: 'ops@example.com' });
    const source = await post('/api/v1/tenants/acme/sources', { name: 'prod', kind: 'alertmanager' });
    for (const { location, object } of [tenant, user, group, source]) {
      const res = await follow(location);
      expect(res.status, location).toBe(200);
      const { secret: _shownOnce, ...shown } = object as { id: string; secret?: string };
      expect(await res.json()).toMatchObject({ ...shown, id: object.id });
    }
  });

  it('POST /mutes and POST /users/{userId}/tokens: Location is what DELETE takes to undo them', async () => {
    const ann = (await app.api('GET', '/acme/users')).items[0].id as string;
    const mute = await post('/api/v1/tenants/acme/mutes', {
      scope: 'tenant',
      match: { component: 'Jobs' },
      until: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const token = await post(`/api/v1/tenants/acme/users/${ann}/tokens`, { name: 'script' });
    expect((await follow(mute.location, 'DELETE')).status).toBe(204);
    expect((await follow(token.location, 'DELETE')).status).toBe(204);
    expect((await app.api('GET', '/acme/mutes')).items).toEqual([]);
    expect((await app.api('GET', `/acme/users/${ann}/tokens`)).items).toEqual([]);
  });

  it('documents the header on those 201s in /api/openapi.json', async () => {
    const doc = (await (await fetch(`${app.url}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { headers?: object }> }>>;
    };
    for (const path of [
      '/api/v1/tenants',
      '/api/v1/tenants/{tenant}/users',
      '/api/v1/tenants/{tenant}/groups',
      '/api/v1/tenants/{tenant}/sources',
      '/api/v1/tenants/{tenant}/mutes',
      '/api/v1/tenants/{tenant}/users/{userId}/tokens',
    ]) {
      expect(doc.paths[path]!.post!.responses['201']!.headers, path).toHaveProperty('Location');
    }
  });
});

describeEachDialect('Location without TOCSIN_PUBLIC_URL', (dialect) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(dialect);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('is the path of the request and the new id, which resolves against the address the client used', async () => {
    const res = await app.call('POST', '/api/v1/tenants', { name: 'acme' });
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toBe(`/api/v1/tenants/${res.json<{ id: string }>().id}`);
    const user = await app.call('POST', '/api/v1/tenants/acme/users', { email: 'ann@example.com', name: 'Ann' });
    expect(user.headers.location).toBe(`/api/v1/tenants/acme/users/${user.json<{ id: string }>().id}`);
    expect((await app.call('GET', user.headers.location as string)).json()).toEqual(user.json());
  });
});
