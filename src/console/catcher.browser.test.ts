import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerLate, type ConsoleServer, haveChromium, launchChromium, openTestPage, startConsoleServer } from '../../test/support/browser.js';

const HAVE_CHROMIUM = haveChromium();
const ADMIN_TOKEN = 'catcher-admin-token-0123456789';

/** The built-in mail catcher's inbox (Mail catcher, a host page), emptied by its host administrator. */
describe.skipIf(!HAVE_CHROMIUM)("the mail catcher's Empty the inbox", () => {
  let server: ConsoleServer;
  let browser: Browser;
  const call = (method: string, url: string, body?: unknown) => server.call(method, url, body);

  beforeAll(async () => {
    server = await startConsoleServer(ADMIN_TOKEN);
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** openCatcher sends a test email to the catcher and opens its inbox, signed in as the host administrator, once the email shows. */
  async function openCatcher(sendTo: string) {
    await call('POST', '/api/v1/system/mail-settings/test', { sendTo });
    const opened = await openTestPage(browser, { width: 1280, locale: 'en-GB' });
    const { page } = opened;
    await page.goto(server.base);
    await page.getByRole('tab', { name: 'Host administrator' }).click();
    await page.locator('#signin-token').fill(ADMIN_TOKEN);
    await page.locator('#signin-token').press('Enter');
    await page.getByRole('link', { name: 'Mail catcher' }).click();
    await page.locator('main tbody tr', { hasText: sendTo }).waitFor();
    return opened;
  }
  const focused = (page: Page) => page.evaluate<string>('document.activeElement?.textContent ?? ""');

  it('keeps the keyboard on Empty the inbox once it has emptied it, rather than dropping it to the page', async () => {
    const { context, page, problems } = await openCatcher('focus@catcher.example');
    const empty = page.getByRole('button', { name: 'Empty the inbox' });
    await empty.focus();
    await page.keyboard.press('Enter');
    await page.getByText('No emails caught yet.').waitFor();
    expect(await focused(page)).toBe('Empty the inbox');
    // It says it has nothing left to do, and does nothing when pressed again.
    expect(await empty.getAttribute('aria-disabled')).toBe('true');
    const deletes: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'DELETE') deletes.push(request.url());
    });
    await page.keyboard.press('Enter');
    await page.evaluate("fetch('/console/bell.svg?handled')");
    expect(deletes).toEqual([]);
    expect(await focused(page)).toBe('Empty the inbox');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('brings back no email it emptied when the refresh asked before Empty is answered after it', async () => {
    const { context, page, problems } = await openCatcher('late@catcher.example');
    // The inbox's next refresh is read at once, the email still there, and its answer held from the page.
    const late = await answerLate(page, /\/api\/v1\/system\/mail-catcher\/messages$/);
    await late.asked;
    await page.getByRole('button', { name: 'Empty the inbox' }).click();
    await page.getByText('No emails caught yet.').waitFor();
    await late.deliver();
    expect(await page.locator('main tbody tr').count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  });
});
