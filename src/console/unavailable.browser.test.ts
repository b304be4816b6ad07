import type { Browser, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, haveChromium, launchChromium, openTestPage, startConsoleServer } from '../../test/support/browser.js';

const HAVE_CHROMIUM = haveChromium();
const ADMIN_TOKEN = 'unavailable-admin-token-0123456789';
const PASSWORD = 'correct horse battery staple';

/** answerUnavailable answers as Tocsin does while its database is down or restarting: 503 with Retry-After. */
function answerUnavailable(route: Route) {
  const problem = {
    type: 'https://tocsin.dev/problems/503',
    title: 'Service Unavailable',
    status: 503,
    detail: 'The service cannot answer this now; retry later.',
  };
  return route.fulfill({ status: 503, headers: { 'retry-after': '5' }, contentType: 'application/problem+json', body: JSON.stringify(problem) });
}

describe.skipIf(!HAVE_CHROMIUM)('the console when Tocsin asks to come back later (503, 429)', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    server = await startConsoleServer(ADMIN_TOKEN);
    base = server.base;
    await server.call('POST', '/api/v1/tenants', { name: 'down' });
    await server.call('POST', '/api/v1/tenants/down/users', {
      email: 'jonas@down.example',
      name: 'Jonas',
      password: PASSWORD,
      roles: ['Alerts Viewer'],
      language: 'de',
    });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("says so in the user's language on the sign-in form and on a page, not the API's English", async () => {
    const { context, page } = await openTestPage(browser, { width: 1280, locale: 'de-DE' });
    await page.goto(`${base}/`);
    await page.getByLabel('Mandant', { exact: true }).fill('down');
    await page.getByLabel('E-Mail').fill('jonas@down.example');
    await page.getByLabel('Passwort').fill(PASSWORD);
    await page.route('**/api/v1/auth/login', answerUnavailable);
    await page.getByRole('button', { name: 'Anmelden' }).click();
    const said = 'Tocsin kann gerade nicht antworten; es wird vielleicht neu gestartet. Versuchen Sie es gleich noch einmal.';
    await expect.poll(() => page.locator('main .banner.error').textContent()).toBe(said);
    await page.unroute('**/api/v1/auth/login');
    await page.getByRole('button', { name: 'Anmelden' }).click();
    await page.locator('nav.main-nav').waitFor();
    await page.route('**/api/v1/tenants/*/me/alert-preferences', answerUnavailable);
    await page.evaluate(`location.hash = '#/preferences'`);
    await expect.poll(() => page.locator('main .banner.error').first().textContent()).toBe(said);
    await context.close();
  });

  it('says on Change password, after too many wrong current passwords, that sign-ins are paused for a few minutes, as the sign-in form does', async () => {
    const { context, page } = await openTestPage(browser, { width: 1280, locale: 'de-DE' });
    await page.goto(`${base}/#/preferences`);
    await page.getByLabel('Mandant', { exact: true }).fill('down');
    await page.getByLabel('E-Mail').fill('jonas@down.example');
    await page.getByLabel('Passwort').fill(PASSWORD);
    await page.getByRole('button', { name: 'Anmelden' }).click();
    await page.locator('#me-currentPassword').waitFor();
    // What the API answers once the current password was wrong too often: a failed sign-in, paused for 15 minutes.
    await page.route('**/api/v1/tenants/*/me/password', (route) =>
      route.fulfill({
        status: 429,
        headers: { 'retry-after': '897' },
        contentType: 'application/problem+json',
        body: JSON.stringify({
          type: 'https://tocsin.dev/problems/429',
          title: 'Too Many Requests',
          status: 429,
          detail: 'Too many failed sign-ins; wait before trying again.',
        }),
      }),
    );
    await page.locator('#me-currentPassword').fill('not it');
    await page.locator('#me-newPassword').fill('another long password');
    await page.locator('#me-repeatPassword').fill('another long password');
    await page.locator('#me-repeatPassword').press('Enter');
    const form = page.locator('form', { has: page.locator('#me-currentPassword') });
    await expect
      .poll(() => form.locator('.banner.error').textContent())
      .toBe('Zu viele fehlgeschlagene Anmeldungen: Warten Sie einige Minuten, bevor Sie es erneut versuchen.');
    await context.close();
  });
});
