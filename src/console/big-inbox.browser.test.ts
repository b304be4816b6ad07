import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, haveChromium, holdRequests, launchChromium, openTestPage, startConsoleServer, submitSignIn } from '../../test/support/browser.js';

const HAVE_CHROMIUM = haveChromium();
const ADMIN_TOKEN = 'big-inbox-admin-token-0123456789';
const PASSWORD = 'correct horse battery staple';
// What the API takes in one request.
const BATCH = 1_000;
// A team's inbox after a bad week: twenty thousand alerts, unread.
const INBOX = 20 * BATCH;
const SEVERITIES = ['Info', 'Success', 'Warn', 'Error', 'Fatal'];
const COMPONENTS = ['Jobs', 'Robots', 'Queues', 'Triggers'];

/**
 * A team with a big inbox, working the console with a keyboard and a screen reader: what it does
 * to thousands of alerts says it is at work, and what it hears names the alert it acts on.
 */
describe.skipIf(!HAVE_CHROMIUM)('a big inbox with the keyboard and a screen reader', () => {
  let server: ConsoleServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startConsoleServer(ADMIN_TOKEN);
    await server.call('POST', '/api/v1/tenants', { name: 'big', timeZone: 'Europe/Paris' });
    await server.call('POST', '/api/v1/tenants/big/users', { email: 'ann@big.example', name: 'Ann', password: PASSWORD, roles: ['Administrator'] });
    for (let sent = 0; sent < INBOX; sent += BATCH) {
      const alerts = Array.from({ length: BATCH }, (_, i) => ({
        severity: SEVERITIES[(sent + i) % SEVERITIES.length],
        component: COMPONENTS[(sent + i) % COMPONENTS.length],
        message: `Alert ${sent + i} of the flood`,
      }));
      await server.call('POST', '/api/v1/tenants/big/alerts', { alerts });
    }
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function signIn(path: string): Promise<{ page: Page; problems: string[]; close: () => Promise<void> }> {
    const { context, page, problems } = await openTestPage(browser, { width: 1280, locale: 'en-US' });
    await page.goto(`${server.base}/#${path}`);
    await submitSignIn(page, 'big', 'ann@big.example', PASSWORD);
    return { page, problems, close: () => context.close() };
  }

  /**
   * descriptions are what a screen reader says after the name of each `role` control named `name` under
   * `selector`, in the page's order (the accessibility tree's descriptions, as Chromium computes them).
   */
  async function descriptions(page: Page, selector: string, role: string, name: string): Promise<string[]> {
    const cdp = await page.context().newCDPSession(page);
    const { result } = await cdp.send('Runtime.evaluate', { expression: `document.querySelector(${JSON.stringify(selector)})` });
    const { nodes } = await cdp.send('Accessibility.queryAXTree', { objectId: result.objectId, role, accessibleName: name });
    await cdp.detach();
    return nodes.map((node) => String(node.description?.value ?? ''));
  }

  it("names the alert that each row's buttons and each line of the bell's panel act on, as a screen reader reads them on Tab", async () => {
    const { page, problems, close } = await signIn('/alerts?component=Robots');
    const rows = page.locator('table.alerts tbody tr');
    await expect.poll(() => rows.count()).toBe(50);
    const messages = await rows.locator('td.message bdi').allTextContents();
    for (const name of ['Details', 'Mark as read', "I'm on it", 'Mute…', 'Delete'])
      expect(await descriptions(page, 'table.alerts', 'button', name), name).toEqual(messages);

    // The bell's panel, opened from the keyboard: five "Mark as read", each described by its line.
    await page.locator('.bell-button').focus();
    await page.keyboard.press('Enter');
    const lines = page.locator('#bell-panel li .panel-message');
    await expect.poll(() => lines.count()).toBe(5);
    const texts = (await lines.allTextContents()).map((text) => text.replace(/\s+/g, ' ').trim());
    expect(new Set(texts).size).toBe(5);
    expect(await descriptions(page, '#bell-panel', 'button', 'Mark as read')).toEqual(texts);
    await page.keyboard.press('Escape');

    // Manage Access: each user's Edit and Delete, by the user's email.
    for (const email of ['bob@big.example', 'cy@big.example'])
      await server.call('POST', '/api/v1/tenants/big/users', { email, name: email.split('@')[0], password: PASSWORD, roles: ['Alerts Viewer'] });
    await page.getByRole('link', { name: 'Manage Access' }).click();
    const users = page.locator('main table tbody tr', { has: page.getByRole('button', { name: 'Delete' }) });
    await expect.poll(() => users.count()).toBeGreaterThanOrEqual(2);
    const emails = await users.locator('td:first-child').allTextContents();
    expect(emails).toEqual(expect.arrayContaining(['bob@big.example', 'cy@big.example']));
    for (const name of ['Edit', 'Delete']) expect(await descriptions(page, 'main table', 'button', name), name).toEqual(emails);
    expect(problems).toEqual([]);
    await close();
  }, 60_000);

  it('says "Mark all matching as read" is at work while it reads thousands of matching alerts, and a second press sends nothing more', async () => {
    const { page, problems, close } = await signIn('/alerts?component=Jobs');
    const rows = page.locator('table.alerts tbody tr');
    await rows.first().waitFor();
    const markAll = page.getByRole('button', { name: 'Mark all matching as read' });
    // The matching unread alerts are read a thousand at a time before any is marked: the first read is held, as a loaded server's.
    const pages: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'GET' && /\/alerts\?.*unread=true.*limit=1000/.test(request.url())) pages.push(request.url());
    });
    const held = await holdRequests(page, /\/alerts\?.*unread=true.*limit=1000/, 'GET');
    await markAll.focus();
    await page.keyboard.press('Enter');
    await held.sent;
    await expect.poll(() => markAll.getAttribute('aria-busy'), { message: 'busy while the matching alerts are read' }).toBe('true');
    // And to the eye: a spinner after its words.
    expect(await markAll.evaluate((button: any) => button.ownerDocument.defaultView.getComputedStyle(button, '::after').animationName)).toBe('busy-turn');
    // Pressed again, impatient: the work under way goes on, and is not started a second time.
    await page.keyboard.press('Enter');
    held.release();
    await expect.poll(() => rows.filter({ has: page.getByRole('button', { name: 'Mark as read' }) }).count(), { timeout: 30_000 }).toBe(0);
    await expect.poll(() => markAll.getAttribute('aria-busy')).toBe('false');
    // Five thousand Jobs alerts, five pages of a thousand: read once.
    expect(pages.filter((url) => !url.includes('cursor='))).toHaveLength(1);
    expect(pages).toHaveLength(INBOX / COMPONENTS.length / BATCH);
    const { unread } = await server.call('GET', '/api/v1/tenants/big/alerts/unread-count', undefined, ADMIN_TOKEN);
    expect(unread, "the admin token's own read state is untouched").toBe(INBOX);
    expect(problems).toEqual([]);
    await close();
  }, 60_000);
  it('tells a screen reader of the alerts that arrive behind "N new alerts — show" once, not at each refresh of a storm, in a big inbox whose bell shows 999+', async () => {
    const raise = (message: string) => server.call('POST', '/api/v1/tenants/big/alerts', { alerts: [{ severity: 'Error', component: 'Tasks', message }] });
    await raise('Task 1 is overdue');
    const { context, page, problems } = await openTestPage(browser, { width: 1280, locale: 'en-US' });
    // What the page's live regions say, recorded as it changes: a screen reader says each change of one.
    await page.addInitScript(`{
      window.__said = [];
      new MutationObserver(() => {
        for (const region of document.querySelectorAll('main [role=status], main [role=alert], main [aria-live]')) {
          const text = region.textContent.trim();
          if (text && !window.__said.includes(text)) window.__said.push(text);
        }
      }).observe(document, { subtree: true, childList: true, characterData: true });
    }`);
    await page.goto(`${server.base}/#/alerts?component=Tasks`);
    await submitSignIn(page, 'big', 'ann@big.example', PASSWORD);
    await page.locator('table.alerts tbody tr').first().waitFor();
    // A storm: alerts keep arriving, one refresh after another.
    for (const [n, shown] of [
      [2, '1 new alert — show'],
      [3, '2 new alerts — show'],
    ] as const) {
      await raise(`Task ${n} is overdue`);
      await page.getByRole('button', { name: shown }).waitFor();
    }
    // Said once, by a status on the page from the start; the second arrival, within 30 s, is not said again.
    expect((await page.evaluate<string[]>('window.__said')).filter((text) => /new alert/.test(text))).toEqual(['1 new alert — show']);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
  it('says the question of "Save without testing?" as its window opens, not only its title and the Close button that takes the focus', async () => {
    const { page, problems, close } = await signIn('/settings/mail');
    await page.locator('#mail-custom').check();
    await page.locator('#mail-host').fill('smtp.big.example');
    await page.getByRole('button', { name: 'Save', exact: true }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Save without testing?' });
    await dialog.waitFor();
    expect(await descriptions(page, 'dialog[open]', 'dialog', 'Save without testing?')).toEqual([
      'These mail settings have not been tested successfully. Do you want to continue without testing the settings?',
    ]);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(problems).toEqual([]);
    await close();
  });
  it('says, in a live region on the page from the start, the snooze set from the Mute window and the alert taken with "I\'m on it"', async () => {
    const { page, problems, close } = await signIn('/alerts?component=Triggers');
    const row = page.locator('table.alerts tbody tr').first();
    await row.waitFor();
    const done = page.getByTestId('alerts-done');
    expect(await done.getAttribute('role')).toBe('status');
    expect(await done.textContent()).toBe('');
    // Mute…, from the keyboard: the window's defaults (a snooze of the event, for an hour) and Enter.
    await row.getByRole('button', { name: 'Mute…' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).press('Enter');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await expect.poll(() => done.textContent()).toMatch(/^Component: Triggers · Event: Custom alert — until .+, snoozed for you$/);
    // I'm on it: the button goes, the keyboard lands on the next one, and the page says who took the alert.
    await row.getByRole('button', { name: "I'm on it" }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => done.textContent()).toMatch(/^Acknowledged by Ann on /);
    expect(problems).toEqual([]);
    await close();
  });
  it('keeps the keyboard in the filters when Clear filters, pressed from the keyboard, goes with the filters it cleared', async () => {
    const { page, problems, close } = await signIn('/alerts?severity=Error&unread=true');
    await page.locator('table.alerts tbody tr').first().waitFor();
    const clear = page.getByRole('button', { name: 'Clear filters' });
    await clear.focus();
    await page.keyboard.press('Enter');
    await clear.waitFor({ state: 'detached' });
    expect(new URL(page.url()).hash).toBe('#/alerts');
    // The first filter has the keyboard, not the start of the page (a Tab through the header, the menu and the chart back).
    await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('filter-severity');
    expect(problems).toEqual([]);
    await close();
  });
});
