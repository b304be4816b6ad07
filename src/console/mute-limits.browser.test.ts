import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, haveChromium, launchChromium, openTestPage, startConsoleServer, submitSignIn } from '../../test/support/browser.js';
import { SNOOZES_PER_USER_MAX } from '../mutes/store.js';

const HAVE_CHROMIUM = haveChromium();
const ADMIN_TOKEN = 'mute-limits-admin-token-0123456789';
const PASSWORD = 'correct horse battery staple';

describe.skipIf(!HAVE_CHROMIUM)('Mute… past the most snoozes one user keeps', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let base: string;
  const call = (method: string, url: string, body?: unknown, token?: string) => server.call(method, url, body, token);

  beforeAll(async () => {
    server = await startConsoleServer(ADMIN_TOKEN);
    base = server.base;
    await call('POST', '/api/v1/tenants', { name: 'limits' });
    const viewer = await call('POST', '/api/v1/tenants/limits/users', {
      email: 'lena@limits.example',
      name: 'Lena',
      password: PASSWORD,
      roles: ['Alerts Viewer'],
      language: 'de',
    });
    const { token } = await call('POST', `/api/v1/tenants/limits/users/${viewer.id}/tokens`, { name: 'setup' });
    const until = new Date(Date.now() + 86_400_000).toISOString();
    for (let i = 0; i < SNOOZES_PER_USER_MAX; i++) {
      await call('POST', '/api/v1/tenants/limits/mutes', { scope: 'user', match: { robot: `robot-${i}` }, until }, token);
    }
    await call('POST', '/api/v1/tenants/limits/alerts', { severity: 'Error', component: 'Robots', message: 'Robot offline', source: { robot: 'robot-new' } });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("says in the user's language that as many snoozes are in force as Tocsin keeps, not the API's English naming a route", async () => {
    const { context, page } = await openTestPage(browser, { width: 1280, locale: 'de-DE' });
    await page.goto(`${base}/#/alerts`);
    await submitSignIn(page, 'limits', 'lena@limits.example', PASSWORD);
    const row = page.locator('tbody tr', { hasText: 'Robot offline' });
    await row.getByRole('button', { name: 'Stummschalten…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Bestätigen' }).click();
    await expect
      .poll(() => dialog.locator('.banner.error').textContent())
      .toBe(
        'Es sind bereits so viele Stummschaltungen und Pausen aktiv, wie Tocsin aufbewahrt. Heben Sie einige unter „In E-Mails stummgeschaltet“ auf oder warten Sie, bis einige enden, und versuchen Sie es dann erneut.',
      );
    await context.close();
  });
});
