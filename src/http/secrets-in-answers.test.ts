import type { HTTPMethods } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sha256 } from '../shared/ids.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { fillPath, hasSamples, makeObjects, routeKey } from '../../test/support/route-walk.js';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';

const TENANT = 'vault';
const USER_PASSWORD = 'user-password-4f1c9a';
const SMTP_PASSWORD = 'tenant-smtp-password-77b0';
const SYSTEM_SMTP_PASSWORD = 'system-smtp-password-93d2';
const UPSTREAM_PASSWORD = 'upstream-orchestrator-password-51ae';
const UPSTREAM_CLIENT_SECRET = 'upstream-client-secret-c03f';

describeEachDialect('no secret in any answer', (dialect) => {
  let t: TestApp;
  const secrets: string[] = [
    USER_PASSWORD,
    SMTP_PASSWORD,
    SYSTEM_SMTP_PASSWORD,
    UPSTREAM_PASSWORD,
    UPSTREAM_CLIENT_SECRET,
    ADMIN_TOKEN,
    sha256(ADMIN_TOKEN),
    '$argon2',
  ];
  let userToken: string;
  let cookie: string;

  beforeAll(async () => {
    t = await startTestApp(dialect);
    await t.call('POST', '/api/v1/tenants', { name: TENANT });
    const user = await t.call('POST', `/api/v1/tenants/${TENANT}/users`, {
      email: 'keeper@example.com',
      name: 'Keeper',
      password: USER_PASSWORD,
      roles: ['Administrator'],
    });
    userToken = (await t.call('POST', `/api/v1/tenants/${TENANT}/users/${user.json().id}/tokens`, { name: 'ci' })).json().token;
    const smtp = { host: 'smtp.example.com', port: 587, security: 'starttls', username: 'alerts', fromAddress: 'alerts@example.com' };
    const tenantMail = await t.call('PUT', `/api/v1/tenants/${TENANT}/settings/mail`, { useCustom: true, custom: { ...smtp, password: SMTP_PASSWORD } });
    expect(tenantMail.statusCode, tenantMail.body).toBe(200);
    const systemMail = await t.call('PUT', '/api/v1/system/mail-settings', { ...smtp, password: SYSTEM_SMTP_PASSWORD });
    expect(systemMail.statusCode, systemMail.body).toBe(200);
    const login = await t.tocsin.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { tenant: TENANT, email: 'keeper@example.com', password: USER_PASSWORD },
    });
    cookie = String(login.headers['set-cookie']).split(';')[0]!;
    secrets.push(userToken, sha256(userToken), cookie.split('=')[1]!);

    // Inbound sources: their secrets (first and rotated) and an upstream password and client secret.
    for (const kind of ['orchestrator-webhook', 'alertmanager', 'webhook']) {
      const source = await t.call('POST', `/api/v1/tenants/${TENANT}/sources`, { name: `vault-${kind}`, kind });
      expect(source.statusCode, source.body).toBe(201);
      const rotated = await t.call('POST', `/api/v1/tenants/${TENANT}/sources/${source.json().id}/rotate-secret`);
      secrets.push(source.json().secret, rotated.json().secret);
    }
    const pull = await t.call('POST', `/api/v1/tenants/${TENANT}/sources`, {
      name: 'vault-pull',
      kind: 'orchestrator-pull',
      pull: {
        baseUrl: 'https://orchestrator.example.com',
        username: 'poller',
        password: UPSTREAM_PASSWORD,
        clientId: 'app',
        clientSecret: UPSTREAM_CLIENT_SECRET,
      },
    });
    expect(pull.statusCode, pull.body).toBe(201);
    expect(pull.body).not.toContain(UPSTREAM_PASSWORD);
    secrets.push(pull.json().secret);
  });
  afterAll(() => t.close());

  it('shows no password, token, hash or session on any GET route, to the host or to the tenant', async () => {
    const failures: string[] = [];
    for (const route of t.tocsin.app.routeTable.filter((r) => r.method === 'GET' && hasSamples(r))) {
      const ids = await makeObjects(t, route, TENANT);
      for (const token of [ADMIN_TOKEN, userToken]) {
        const res = await t.tocsin.app.inject({
          method: route.method as HTTPMethods,
          url: fillPath(route.url, ids),
          headers: { authorization: `Bearer ${token}`, 'x-tocsin-tenant': TENANT, cookie },
        });
        const shown = secrets.filter((secret) => res.body.includes(secret));
        if (shown.length > 0) failures.push(`${routeKey(route)} shows ${shown.join(', ')}`);
      }
    }
    expect(failures.join('\n')).toBe('');
  });

  // "The token is shown only here" (API.md): an answer carrying a credential says that no browser
  // or proxy cache may keep a copy of it (RFC 9111 5.2.2.5; RFC 6749 5.1 for token answers), and a
  // refusal of the same route says so too, whatever it carries.
  it('asks every cache not to keep an answer that carries a token, secret or session (Cache-Control: no-store)', async () => {
    const users = (await t.call('GET', `/api/v1/tenants/${TENANT}/users`)).json<{ items: { id: string }[] }>();
    const source = await t.call('POST', `/api/v1/tenants/${TENANT}/sources`, { name: 'no-store', kind: 'webhook' });
    const signIn = { tenant: TENANT, email: 'keeper@example.com', password: USER_PASSWORD };
    const answers = {
      'POST .../users/{userId}/tokens': await t.call('POST', `/api/v1/tenants/${TENANT}/users/${users.items[0]!.id}/tokens`, { name: 'cache' }),
      'POST .../sources': source,
      'POST .../sources/{sourceId}/rotate-secret': await t.call('POST', `/api/v1/tenants/${TENANT}/sources/${source.json().id}/rotate-secret`),
      'POST /api/Account/Authenticate': await t.tocsin.app.inject({
        method: 'POST',
        url: '/api/Account/Authenticate',
        payload: { TenancyName: TENANT, UsernameOrEmailAddress: signIn.email, Password: USER_PASSWORD },
      }),
      'POST /api/v1/auth/login': await t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: signIn }),
      'POST /api/v1/auth/login refused': await t.tocsin.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { ...signIn, password: 'wrong-password' },
      }),
      // The console's session probe answers the session's CSRF token.
      'GET /api/v1/auth/session': await t.tocsin.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie } }),
    };
    const shown = Object.entries(answers).map(([route, res]) => `${route} ${res.statusCode} cache-control: ${res.headers['cache-control']}`);
    expect(shown).toEqual(Object.entries(answers).map(([route, res]) => `${route} ${res.statusCode} cache-control: no-store`));
    expect(Object.values(answers).map((res) => res.statusCode)).toEqual([201, 201, 200, 200, 200, 401, 200]);
  });
});
