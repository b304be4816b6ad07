import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsoleServer,
  haveChromium,
  launchChromium,
  offScreen,
  openTestPage,
  seriousAxeViolations,
  sideways,
  startConsoleServer,
  submitSignIn,
} from '../../test/support/browser.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';

const HAVE_CHROMIUM = haveChromium();
const ADMIN_TOKEN = 'long-names-admin-token-0123456789';
const PASSWORD = 'correct horse battery staple';
// Names with no space to break at, as long as the API takes them: an address, a host name, a robot's.
const EMAIL = `${'firstname.lastname'.repeat(3)}@${'subsidiary-'.repeat(5)}company.example.com`;
const ROBOT = `robot-${'x'.repeat(250)}`;
const GROUP = `Operations-${'G'.repeat(150)}`;
const SOURCE = `Nightly-${'S'.repeat(92)}`;
const TENANT = `Acme-${'W'.repeat(120)}`;
const ROLE = `Role-${'R'.repeat(95)}`;

/**
 * The walk (console.walk.browser.test.ts) opens every page at 360 px with names of a few words;
 * names of one long word (an address, a generated robot or host name) must wrap there too, in the
 * headings and lines that name them, rather than push the page sideways.
 */
describe.skipIf(!HAVE_CHROMIUM)('long unbroken names at 360 px', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let smtp: TestSmtpServer;
  let base: string;
  const ids: Record<string, string> = {};
  const call = (method: string, url: string, body?: unknown) => server.call(method, url, body);

  beforeAll(async () => {
    server = await startConsoleServer(ADMIN_TOKEN);
    base = server.base;
    await call('POST', '/api/v1/tenants', { name: 'long', displayName: TENANT });
    ids.user = (await call('POST', '/api/v1/tenants/long/users', { email: EMAIL, name: 'Long', password: PASSWORD, roles: ['Administrator'] })).id;
    await call('POST', '/api/v1/tenants/long/roles', { name: ROLE, permissions: ['Alerts.View'] });
    ids.group = (await call('POST', '/api/v1/tenants/long/groups', { name: GROUP, members: [ids.user] })).id;
    await call('POST', '/api/v1/tenants/long/sources', { name: SOURCE, kind: 'webhook' });
    await call('POST', '/api/v1/tenants/long/alerts', { severity: 'Error', component: 'Robots', message: 'Robot offline', source: { robot: ROBOT } });
    await call('POST', '/api/v1/tenants/long/mutes', { scope: 'tenant', match: { robot: ROBOT }, until: new Date(Date.now() + 86_400_000).toISOString() });
    // A server whose refusal of the message runs on for lines, as providers' explanations with their links do.
    const reply = Array.from({ length: 12 }, (_, i) => `5.7.1 line ${i + 1} of why: see https://support.example.com/smtp/5.7.1/${'x'.repeat(40)}`).join(' ');
    smtp = await startTestSmtpServer({ failures: [{ at: 'data', code: 554, message: reply }] });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await smtp?.close();
    await server?.close();
  });

  async function signIn(width: number) {
    const opened = await openTestPage(browser, { width, locale: 'en-GB' });
    const { page } = opened;
    await page.goto(`${base}/`);
    await submitSignIn(page, 'long', EMAIL, PASSWORD);
    await page.locator('nav.main-nav').waitFor();
    return opened;
  }

  it("wraps them in another user's preferences, a group's rules, the mutes, the source filter, a source's details and a preview's subject", async () => {
    const { context, page, problems } = await signIn(360);
    // Each page's `shown` is of that page alone, not of the one before it: the unfiltered list comes before the
    // filtered one, whose mutes it shares (after the filtered list, the mutes were there before the hash changed).
    const pages: [string, string][] = [
      [`#/preferences/${ids.user}`, `h1:has-text("${EMAIL}")`],
      [`#/preferences/group/${ids.group}`, `h1:has-text("${GROUP}")`],
      ['#/alerts', `.mutes li:has-text("${ROBOT}")`],
      [`#/alerts?robot=${ROBOT}`, `.source-filter:has-text("${ROBOT}")`],
      ['#/previews', 'main iframe'],
    ];
    const found: Record<string, { sideways: number; offScreen: string[] }> = {};
    const look = async (where: string) => {
      found[where] = { sideways: await sideways(page), offScreen: await offScreen(page) };
    };
    for (const [hash, shown] of pages) {
      await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
      await page.locator(shown).first().waitFor();
      await look(hash);
    }
    await page.evaluate(`location.hash = '#/sources'`);
    await page.locator('main button', { hasText: SOURCE }).click();
    await page.locator(`#source-title:has-text("${SOURCE}")`).waitFor();
    await look('#/sources, its details');
    const clean = { sideways: expect.toSatisfy((width: number) => width <= 0), offScreen: [] };
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((where) => [where, clean])));
    expect(problems).toEqual([]);
    await context.close();
  });

  it('wraps them in the windows that offer them as choices: the members and roles of a group, what to mute', async () => {
    const { context, page, problems } = await signIn(360);
    const dialog = page.getByRole('dialog');
    const found: Record<string, number> = {};
    const look = async (where: string) => {
      found[where] = await dialog.evaluate((box) => box.scrollWidth - box.clientWidth);
      await dialog.getByRole('button', { name: 'Cancel' }).click();
    };
    await page.evaluate(`location.hash = '#/access/groups'`);
    await page
      .locator('tbody tr', { hasText: GROUP.slice(0, 20) })
      .getByRole('button', { name: 'Edit' })
      .click();
    await page.getByRole('dialog', { name: 'Edit group' }).getByText(ROLE).waitFor();
    await look('Edit group');
    await page.evaluate(`location.hash = '#/access/users'`);
    // The groups' rows stand until the Users tab is drawn, and the group's names the user as a member: its Edit
    // would open Edit group, which names the role too, and 'Edit user' would be looked at there.
    await page.locator('a[role="tab"][aria-selected="true"][href="#/access/users"]').waitFor();
    await page
      .locator('tbody tr', { hasText: EMAIL.slice(0, 20) })
      .getByRole('button', { name: 'Edit' })
      .click();
    await page.getByRole('dialog', { name: 'Edit user' }).getByText(ROLE).waitFor();
    await look('Edit user');
    await page.evaluate(`location.hash = '#/alerts'`);
    await page.locator('tbody tr').first().getByRole('button', { name: 'Mute…' }).click();
    await dialog.getByText(ROBOT).waitFor();
    await look('Mute…');
    expect(found).toEqual({ 'Edit group': 0, 'Edit user': 0, 'Mute…': 0 });
    expect(problems).toEqual([]);
    await context.close();
  });

  it("wraps a tenant's display name of one long word in the header of a wider screen too", async () => {
    const { context, page, problems } = await signIn(1024);
    await page.locator('header .tenant', { hasText: TENANT }).waitFor();
    expect({ sideways: await sideways(page), offScreen: await offScreen(page) }).toEqual({
      sideways: expect.toSatisfy((width: number) => width <= 0),
      offScreen: [],
    });
    expect(problems).toEqual([]);
    await context.close();
  });

  it("lets the keyboard scroll the failing server's last reply on the Delivery log, whose box scrolls at 360 px", async () => {
    const test = await call('POST', '/api/v1/tenants/long/settings/mail/test', {
      sendTo: 'ops@example.com',
      settings: { host: '127.0.0.1', port: smtp.port, security: 'none', fromAddress: 'alerts@example.com' },
    });
    expect(test).toMatchObject({ ok: false, stage: 'data', code: 554 });
    const { context, page, problems } = await signIn(360);
    await page.evaluate(`location.hash = '#/deliveries'`);
    const reply = page.locator('.last-failure pre');
    await reply.waitFor();
    expect(await reply.evaluate((box) => box.scrollHeight > box.clientHeight)).toBe(true);
    expect(await seriousAxeViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
