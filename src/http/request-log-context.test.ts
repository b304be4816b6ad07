import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { captureWarnings } from '../../test/support/log-capture.js';
import { Metrics } from '../ops/metrics.js';
import { buildApp } from './app.js';

// Tocsin writes no line per request (app.ts), so a request's warning or error is the only line that
// names it: with its id alone, which appears nowhere else, an operator could not tell which call failed.
describe('a warning or error logged about a request', () => {
  let t: TestApp;
  const { log, entries } = captureWarnings();
  beforeAll(async () => {
    t = await startTestApp('sqlite', {}, { logger: log });
  });
  afterAll(() => t.close());

  it('names its method and route pattern (never its path, which may carry a link token)', async () => {
    const app = await buildApp({ ...t.tocsin.deps, metrics: new Metrics({ defaultMetrics: false }) }, [
      (a) => {
        a.get('/api/v1/tenants/:tenant/explode', { config: { access: 'public' } }, async () => {
          throw new Error('boom');
        });
      },
    ]);
    try {
      expect((await app.inject({ method: 'GET', url: '/api/v1/tenants/acme-secret-name/explode' })).statusCode).toBe(500);
    } finally {
      await app.close();
    }
    const line = entries.find((e) => e.msg === 'unhandled error');
    expect(line).toMatchObject({ method: 'GET', route: '/api/v1/tenants/:tenant/explode' });
    expect(line?.reqId).toEqual(expect.any(String));
    expect(JSON.stringify(line)).not.toContain('acme-secret-name');
  });

  it('names them on a write refused because the SQLite file is gone', async () => {
    expect((await t.call('POST', '/api/v1/tenants', { name: 'before' })).statusCode).toBe(201);
    fs.rmSync(t.tocsin.deps.config.databaseUrl.slice('sqlite:'.length));
    expect((await t.call('PATCH', '/api/v1/tenants/before', { displayName: 'x' })).statusCode).toBe(503);
    expect(entries.find((e) => e.msg === 'answered 503: the SQLite file is gone')).toMatchObject({
      method: 'PATCH',
      route: '/api/v1/tenants/:tenant',
    });
  });
});
