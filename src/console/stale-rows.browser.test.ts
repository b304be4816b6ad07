import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, haveChromium, launchChromium, openTestPage, startConsoleServer, submitSignIn } from '../../test/support/browser.js';

const HAVE_CHROMIUM = haveChromium();
const ADMIN_TOKEN = 'stale-rows-admin-token-0123456789';
const PASSWORD = 'correct horse battery staple';

/**
 * Manage Access is read once and not refreshed: another administrator may delete a user, group
 * or API token shown there. As on the Alerts page, deleting it again is done (its
 * row goes, nothing is said), and acting on it says, in the user's language, that it is gone,
 * rather than the API's English 'User not found.'.
 */
describe.skipIf(!HAVE_CHROMIUM)('rows another administrator deleted meanwhile', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let base: string;
  const call = (method: string, url: string, body?: unknown) => server.call(method, url, body);

  beforeAll(async () => {
    server = await startConsoleServer(ADMIN_TOKEN);
    base = server.base;
    await call('POST', '/api/v1/tenants', { name: 'stale', timeZone: 'Europe/Paris' });
    await call('POST', '/api/v1/tenants/stale/users', {
      email: 'marie@stale.example',
      name: 'Marie',
      password: PASSWORD,
      roles: ['Administrator'],
      language: 'fr',
    });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function signIn(page: Page, hash: string) {
    await page.goto(`${base}/${hash}`);
    await submitSignIn(page, 'stale', 'marie@stale.example', PASSWORD);
    await page.locator('nav.main-nav').waitFor();
  }

  it('takes a user, a group or an API token deleted meanwhile off Manage Access on Delete, with no error, and says in French that an edited user is gone', async () => {
    const [deleted, edited] = await Promise.all(
      ['deleted', 'edited'].map((name) => call('POST', '/api/v1/tenants/stale/users', { email: `${name}@stale.example`, name })),
    );
    const group = await call('POST', '/api/v1/tenants/stale/groups', { name: 'Night shift' });
    const token = await call('POST', `/api/v1/tenants/stale/users/${edited.id}/tokens`, { name: 'nightly-script' });
    const { context, page, problems } = await openTestPage(browser, { width: 1280, locale: 'fr-FR' });
    page.on('dialog', (dialog) => dialog.accept());
    await signIn(page, '#/access/users');
    const row = (text: string) => page.locator('tbody tr', { hasText: text });
    await row('deleted@stale.example').waitFor();
    await call('DELETE', `/api/v1/tenants/stale/users/${deleted.id}`);

    await row('deleted@stale.example').getByRole('button', { name: 'Supprimer' }).click();
    await row('deleted@stale.example').waitFor({ state: 'detached' });
    expect(await page.locator('main .banner.error').count()).toBe(0);

    // The API token revoked meanwhile, from the window that lists them.
    await row('edited@stale.example').getByRole('button', { name: "Nouveau jeton d'API" }).click();
    const tokens = page.getByRole('dialog');
    await tokens.getByText('nightly-script').waitFor();
    await call('DELETE', `/api/v1/tenants/stale/users/${edited.id}/tokens/${token.id}`);
    await tokens.getByRole('button', { name: 'Révoquer' }).click();
    await tokens.getByText('nightly-script').waitFor({ state: 'detached' });
    expect(await tokens.locator('.banner.error').count()).toBe(0);
    await tokens.getByRole('button', { name: 'Annuler' }).click();

    // Edit, then Save, of a user deleted meanwhile: said in French.
    await row('edited@stale.example').getByRole('button', { name: 'Modifier' }).click();
    const edit = page.getByRole('dialog');
    await call('DELETE', `/api/v1/tenants/stale/users/${edited.id}`);
    await edit.getByRole('button', { name: 'Enregistrer' }).click();
    await expect.poll(() => edit.locator('.banner.error').textContent()).toBe('Cet utilisateur n’existe plus\u202f: il a peut-être été supprimé entre-temps.');
    await edit.getByRole('button', { name: 'Annuler' }).click();

    await page.getByRole('tab', { name: 'Groupes' }).click();
    await row('Night shift').waitFor();
    await call('DELETE', `/api/v1/tenants/stale/groups/${group.id}`);
    await row('Night shift').getByRole('button', { name: 'Supprimer' }).click();
    await row('Night shift').waitFor({ state: 'detached' });
    expect(await page.locator('main .banner.error').count()).toBe(0);
    expect(problems.filter((problem) => !/status of 404/.test(problem))).toEqual([]);
    await context.close();
  });

  it("takes a tenant another host administrator's console deleted meanwhile off Tenants on Delete, with no error", async () => {
    await call('POST', '/api/v1/tenants', { name: 'stale-gone' });
    const { context, page, problems } = await openTestPage(browser, { width: 1280, locale: 'en-GB' });
    page.on('dialog', (dialog) => dialog.accept());
    await page.goto(base);
    await page.getByRole('tab', { name: 'Host administrator' }).click();
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const row = page.locator('tbody tr', { hasText: 'stale-gone' });
    await row.waitFor();
    await call('DELETE', '/api/v1/tenants/stale-gone');
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    expect(await page.locator('main .banner.error').count()).toBe(0);
    expect(problems.filter((problem) => !/status of 404/.test(problem))).toEqual([]);
    await context.close();
  });
});
