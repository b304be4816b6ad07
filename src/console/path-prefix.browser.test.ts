import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, haveChromium, launchChromium, openTestPage, startConsoleServer } from '../../test/support/browser.js';
import { type PathProxy, startPathProxy } from '../../test/support/path-proxy.js';

const HAVE_CHROMIUM = haveChromium();
const ADMIN_TOKEN = 'path-prefix-admin-token-0123456789';
const PASSWORD = 'correct horse battery staple';
const PREFIX = '/tocsin';

// An operator's nginx serves Tocsin at https://ops.example.com/tocsin/, the prefix taken off on the way in
// (`location /tocsin/ { proxy_pass http://127.0.0.1:8080/; }`), beside other applications of that host.
describe.skipIf(!HAVE_CHROMIUM)('the console behind a reverse proxy that serves it under a path', () => {
  let proxy: PathProxy;
  let server: ConsoleServer;
  let browser: Browser;
  let publicUrl: string;

  beforeAll(async () => {
    proxy = await startPathProxy(PREFIX);
    publicUrl = `${proxy.origin}${PREFIX}/`;
    server = await startConsoleServer(ADMIN_TOKEN, { TOCSIN_PUBLIC_URL: publicUrl, TOCSIN_TRUST_PROXY: 'loopback' });
    proxy.target = server.base;
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
});
