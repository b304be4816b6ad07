import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { withoutPublicPath } from './rest-paths.js';

describe('the path of TOCSIN_PUBLIC_URL on the requests of a proxy that does not take it off', () => {
  it('is taken off the URLs that begin with it, and only those', () => {
    expect(withoutPublicPath('/tocsin/api/v1/tenants?limit=1', '/tocsin')).toBe('/api/v1/tenants?limit=1');
    expect(withoutPublicPath('/tocsin/', '/tocsin')).toBe('/');
    expect(withoutPublicPath('/tocsin', '/tocsin')).toBe('/');
    expect(withoutPublicPath('/tocsin?lang=fr', '/tocsin')).toBe('/?lang=fr');
    // Another application's path that only begins with the same letters, and Tocsin's own paths.
    expect(withoutPublicPath('/tocsin-staging/api/v1/tenants', '/tocsin')).toBe('/tocsin-staging/api/v1/tenants');
    expect(withoutPublicPath('/api/v1/tenants', '/tocsin')).toBe('/api/v1/tenants');
    expect(withoutPublicPath('/api/v1/tenants', '')).toBe('/api/v1/tenants');
  });

  // Only SQLite: the path is read before any route or storage is reached.
  describe('when a route of Tocsin begins with it', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp('sqlite', { TOCSIN_PUBLIC_URL: 'https://ops.example.com/alerts' });
    });
    afterAll(() => t.close());

    it('is left on, so that the route stays reachable', async () => {
      // Taken off, /alerts/deeplink/… was /deeplink/… (a 404) and /alerts?… the page without its filters.
      const deepLink = await t.call('GET', '/alerts/deeplink/Robot.StatusChanged.Offline?alertId=1', undefined, '');
      expect(deepLink.statusCode).toBe(302);
      expect(deepLink.headers.location).toBe('/alerts/#/alerts?event=Robot.StatusChanged.Offline');
      expect((await t.call('GET', '/alerts?severity=Error', undefined, '')).headers.location).toBe('/alerts/#/alerts?severity=Error');
    });
  });
});
