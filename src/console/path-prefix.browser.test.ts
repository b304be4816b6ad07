import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, haveChromium, launchChromium, openTestPage, startConsoleServer } from '../../test/support/browser.js';
import { type PathProxy, startPathProxy } from '../../test/support/path-proxy.js';

const HAVE_CHROMIUM = haveChromium();
const ADMIN_TOKEN = 'path-prefix-admin-token-0123456789';
const PASSWORD = 'correct horse battery staple';
const PREFIX = '/tocsin';
const STAGING = '/tocsin-staging';

// An operator's nginx serves Tocsin at https://ops.example.com/tocsin/, the prefix taken off on the way in
// (`location /tocsin/ { proxy_pass http://127.0.0.1:8080/; }`), beside other applications of that host.
describe.skipIf(!HAVE_CHROMIUM)('the console behind a reverse proxy that serves it under a path', () => {
  let proxy: PathProxy;
  let server: ConsoleServer;
  let browser: Browser;
  let publicUrl: string;

  beforeAll(async () => {
    proxy = await startPathProxy();
    publicUrl = `${proxy.origin}${PREFIX}/`;
    server = await startConsoleServer(ADMIN_TOKEN, { TOCSIN_PUBLIC_URL: publicUrl, TOCSIN_TRUST_PROXY: 'loopback' });
    proxy.targets.set(PREFIX, server.base);
    await server.call('POST', '/api/v1/tenants', { name: 'acme' });
    await server.call('POST', '/api/v1/tenants/acme/users', { email: 'ann@acme.example', name: 'Ann', password: PASSWORD, roles: ['Administrator'] });
    await server.call('POST', '/api/v1/tenants/acme/alerts', {
      alerts: [
        { severity: 'Error', component: 'Jobs', event: 'Backup.Failed', message: 'nightly backup failed' },
        { severity: 'Info', component: 'Robots', event: 'Robot.Started', message: 'robot R7 started' },
      ],
    });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await proxy?.close();
  });

  it('opens from an email link under the prefix, signs in, lists the alerts, signs out, asking nothing of the host outside it', async () => {
    const { context, page, problems } = await openTestPage(browser, { width: 1280, locale: 'en-US' });
    // The link of a summary email: the public URL and /alerts with its filters.
    await page.goto(`${proxy.origin}${PREFIX}/alerts?severity=Error&tenant=acme`);
    await expect.poll(() => page.evaluate('location.pathname + location.hash')).toBe(`${PREFIX}/#/alerts?severity=Error&tenant=acme`);
    await expect.poll(() => page.getByLabel('Tenant', { exact: true }).inputValue()).toBe('acme');
    await page.getByLabel('Email').fill('ann@acme.example');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('main tbody tr', { hasText: 'nightly backup failed' }).waitFor();
    expect(await page.locator('main tbody tr', { hasText: 'robot R7 started' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(proxy.outside).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('keeps its session cookie to its own path: signing in to a staging Tocsin under another path of the host signs no one out of this one', async () => {
    const staging = await startConsoleServer(ADMIN_TOKEN, { TOCSIN_PUBLIC_URL: `${proxy.origin}${STAGING}` });
    proxy.targets.set(STAGING, staging.base);
    const { context, page, problems } = await openTestPage(browser, { width: 1280, locale: 'en-US' });
    try {
      await page.goto(`${proxy.origin}${PREFIX}/#/alerts`);
      await page.getByLabel('Tenant', { exact: true }).fill('acme');
      await page.getByLabel('Email').fill('ann@acme.example');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('main tbody tr', { hasText: 'nightly backup failed' }).waitFor();
      const other = await context.newPage();
      await other.goto(`${proxy.origin}${STAGING}/`);
      await other.getByRole('tab', { name: 'Host administrator' }).click();
      await other.getByLabel('Admin token').fill(ADMIN_TOKEN);
      await other.getByRole('button', { name: 'Sign in' }).click();
      await other.locator('nav.main-nav').waitFor();
      // One cookie each, where the staging one took the place of production's (both at Path=/).
      const sessions = (await context.cookies()).filter((cookie) => cookie.name === 'tocsin_session');
      expect(sessions.map((cookie) => cookie.path).sort()).toEqual([`${STAGING}/`, `${PREFIX}/`]);
      await page.reload();
      await page.locator('main tbody tr', { hasText: 'nightly backup failed' }).waitFor();
      // Signing out of staging clears its own cookie, not production's.
      await other.getByRole('button', { name: 'Sign out' }).click();
      await other.getByRole('button', { name: 'Sign in' }).waitFor();
      expect((await context.cookies()).filter((cookie) => cookie.name === 'tocsin_session').map((cookie) => cookie.path)).toEqual([`${PREFIX}/`]);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
      proxy.targets.delete(STAGING);
      await staging.close();
    }
  });

  it("names TOCSIN_PUBLIC_URL as the OpenAPI document's server, so a client made from it calls the API under the path", async () => {
    const doc = (await (await fetch(`${proxy.origin}${PREFIX}/api/openapi.json`)).json()) as { servers?: { url: string }[] };
    // Without servers, OpenAPI's default is `/`, the host's root here: a client made from the document called /api/v1/… there.
    const server = new URL(doc.servers?.[0]?.url ?? '/', `${proxy.origin}${PREFIX}/api/openapi.json`).href.replace(/\/$/, '');
    const tenants = await fetch(`${server}/api/v1/tenants`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(tenants.status).toBe(200);
    expect(server).toBe(`${proxy.origin}${PREFIX}`);
  });

  it('serves the console and the API under the path of TOCSIN_PUBLIC_URL too, for a proxy that does not take it off', async () => {
    // Traefik's PathPrefix(`/tocsin`) without a StripPrefix middleware, or Caddy's `handle /tocsin/*`, sends /tocsin/… as it came.
    const keeping = await startPathProxy({ keepPrefix: true });
    keeping.targets.set(PREFIX, server.base);
    try {
      const at = (path: string, headers: Record<string, string> = {}) => fetch(`${keeping.origin}${PREFIX}${path}`, { headers, redirect: 'manual' });
      const page = await at('/');
      expect(page.status).toBe(200);
      const files = [...(await page.text()).matchAll(/(?:src|href)="\.(\/console\/[^"]+)"/g)].map((match) => match[1]!);
      expect(files.length).toBeGreaterThan(2);
      for (const file of files) expect((await at(file)).status, file).toBe(200);
      expect((await at('/alerts?severity=Error')).headers.get('location')).toBe(`${PREFIX}/#/alerts?severity=Error`);
      // The path without its slash, where the page's files (./console/…) would be asked for at the host's root.
      const bare = await at('?lang=fr');
      expect([bare.status, bare.headers.get('location')]).toEqual([301, `${PREFIX}/?lang=fr`]);
      expect((await at('/api/v1/tenants', { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(200);
      // Tocsin's own paths stay where they are, for the proxy that takes the prefix off and for a look from the machine itself.
      expect((await fetch(`${server.base}/api/v1/tenants`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
    } finally {
      await keeping.close();
    }
  });
});
