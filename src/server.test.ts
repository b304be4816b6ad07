import { afterEach, expect, it } from 'vitest';
import { ROUTE_MODULES } from './route-modules.js';
import { routesFor } from './server.js';
import { type TestApp, startTestApp } from '../test/support/http.js';
import { opsRoutes } from './ops/routes.js';
import { describeEachDialect } from '../test/support/storage.js';

it('gives a worker only the operations routes, and api and all every route', async () => {
  expect(await routesFor('worker')).toEqual([opsRoutes]);
  expect(await routesFor('api')).toBe(ROUTE_MODULES);
  expect(await routesFor('all')).toBe(ROUTE_MODULES);
});

describeEachDialect('tocsin serve --role', (dialect) => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('worker answers health, readiness and metrics, and nothing of the API', async () => {
    app = await startTestApp(dialect, { TOCSIN_ROLE: 'worker' });
    expect((await app.call('GET', '/healthz', undefined, '')).statusCode).toBe(200);
    expect((await app.call('GET', '/readyz', undefined, '')).statusCode).toBe(200);
    expect((await app.call('GET', '/metrics', undefined, '')).statusCode).toBe(200);
    const tenants = await app.call('GET', '/api/v1/tenants');
    expect(tenants.statusCode).toBe(404);
    expect(tenants.headers['content-type']).toContain('application/problem+json');
  });

  it('api serves the API', async () => {
    app = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    expect((await app.call('GET', '/api/v1/tenants')).statusCode).toBe(200);
  });
});

it('takes PORT=0 as any free port, and names that port in the public URL of links and receive URLs', async () => {
  const app = await startTestApp('sqlite', { PORT: '0', HOST: '127.0.0.1' }, { listen: true });
  try {
    const url = app.tocsin.url!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toMatch(/:0$/);
    expect(app.tocsin.deps.config.publicUrl).toBe(url);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    await app.call('POST', '/api/v1/tenants', { name: 'port-zero' });
    const source = (await app.call('POST', '/api/v1/tenants/port-zero/sources', { name: 'hook', kind: 'webhook' })).json();
    expect(source.url.startsWith(`${url}/api/v1/sources/`)).toBe(true);
  } finally {
    await app.close();
  }
  // A public URL that was given stays as it is.
  const given = await startTestApp('sqlite', { PORT: '0', TOCSIN_PUBLIC_URL: 'https://alerts.example.com' }, { listen: true });
  try {
    expect(given.tocsin.deps.config.publicUrl).toBe('https://alerts.example.com');
  } finally {
    await given.close();
  }
});
