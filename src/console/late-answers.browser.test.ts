import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  afterPageRead,
  answerLate,
  type ConsoleServer,
  haveChromium,
  holdRequests,
  launchChromium,
  openTestPage,
  startConsoleServer,
  submitSignIn,
} from '../../test/support/browser.js';

const HAVE_CHROMIUM = haveChromium();
const ADMIN_TOKEN = 'late-answers-admin-token-0123456789';
const PASSWORD = 'correct horse battery staple';

/**
 * A slow or loaded server answers a page's reads out of order: a list's refresh asked before a change
 * (a switch turned, a mute lifted, other filters chosen) may be answered after the change's own read.
 * Each page shows what its last question was answered, never an older answer that came late.
 * Each test signs in (an argon2 check) in a browser context of its own: on a loaded two-core machine they took up to
 * 29 s of vitest's default 30 (the delivery log's thousand rows 43 s), hence 60 s (120 s).
 */
describe.skipIf(!HAVE_CHROMIUM)('answers that come late, after newer ones', { timeout: 60_000 }, () => {
  let server: ConsoleServer;
  let browser: Browser;
  let base: string;
  /** Ada's own API token: the host's GET /mutes lists no user's snoozes, hers included. */
  let adaToken: string;
  const call = (method: string, url: string, body?: unknown) => server.call(method, url, body);

  beforeAll(async () => {
    server = await startConsoleServer(ADMIN_TOKEN);
    base = server.base;
    await call('POST', '/api/v1/tenants', { name: 'late' });
    const ada = await call('POST', '/api/v1/tenants/late/users', { email: 'ada@late.example', name: 'Ada', password: PASSWORD, roles: ['Administrator'] });
    adaToken = (await call('POST', `/api/v1/tenants/late/users/${ada.id}/tokens`, { name: 'cleanup' })).token;
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function signIn(hash: string) {
    const opened = await openTestPage(browser, { width: 1280, locale: 'en-GB' });
    await opened.page.goto(`${base}/${hash}`);
    await submitSignIn(opened.page, 'late', 'ada@late.example', PASSWORD);
    await opened.page.locator('nav.main-nav').waitFor();
    return opened;
  }

  /**
   * liftMutes lifts every mute in force, the tenant's and Ada's snoozes (the console's Mute… makes one of hers), for the
   * next test's mutes bar to start empty whatever order the tests run in, and after a test that failed midway too.
   */
  async function liftMutes() {
    for (const mute of (await server.call('GET', '/api/v1/tenants/late/mutes', undefined, adaToken)).items) {
      await server.call('DELETE', `/api/v1/tenants/late/mutes/${mute.id}`, undefined, adaToken);
    }
  }

  it("keeps a source's switch as turned when the list's refresh asked before is answered after the one the change asked", async () => {
    const source = await call('POST', '/api/v1/tenants/late/sources', { name: 'Late switch', kind: 'alertmanager' });
    const { context, page, problems } = await signIn('#/sources');
    const row = page.locator('main tbody tr', { hasText: 'Late switch' });
    const enabled = row.locator('td').nth(2);
    await enabled.filter({ hasText: 'Yes' }).waitFor();
    // The list's next refresh is read at once and its answer, the source still enabled, held from the page.
    const late = await answerLate(page, /\/api\/v1\/tenants\/[^/]+\/sources$/);
    await late.asked;
    await row.getByRole('button', { name: 'Late switch' }).click();
    await page.getByRole('switch', { name: 'Enabled' }).click();
    await enabled.filter({ hasText: 'No' }).waitFor();
    await late.deliver();
    expect(await enabled.textContent()).toBe('No');
    expect(await page.getByRole('switch', { name: 'Enabled' }).isChecked()).toBe(false);
    expect(problems).toEqual([]);
    await context.close();
    await call('DELETE', `/api/v1/tenants/late/sources/${source.id}`);
  });

  it('keeps a lifted mute off the bar when the refresh asked before the Lift is answered after it', async () => {
    onTestFinished(liftMutes);
    const until = new Date(Date.now() + 3_600_000).toISOString();
    await call('POST', '/api/v1/tenants/late/mutes', { scope: 'tenant', match: { component: 'Queues' }, until });
    const { context, page, problems } = await signIn('#/alerts');
    const muted = page.locator('section.mutes li');
    await muted.waitFor();
    const late = await answerLate(page, /\/api\/v1\/tenants\/[^/]+\/mutes$/);
    await late.asked;
    await muted.getByRole('button', { name: 'Lift' }).click();
    await muted.waitFor({ state: 'detached' });
    await late.deliver();
    expect(await muted.count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('keeps a mute just made on the bar when the refresh asked before it is answered after', async () => {
    onTestFinished(liftMutes);
    const [id] = (await call('POST', '/api/v1/tenants/late/alerts', { severity: 'Error', component: 'Transactions', message: 'Mute late: queue item failed' }))
      .ids;
    const { context, page, problems } = await signIn('#/alerts?component=Transactions');
    const row = page.locator(`tr[data-alert-id="${id}"]`);
    await row.waitFor();
    const late = await answerLate(page, /\/api\/v1\/tenants\/[^/]+\/mutes$/);
    await late.asked;
    await row.getByRole('button', { name: 'Mute…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.waitFor({ state: 'detached' });
    const muted = page.locator('section.mutes li');
    await muted.waitFor();
    await late.deliver();
    expect(await muted.count()).toBe(1);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("says no refusal of a filter left when the delivery log's answer to it comes after the answer to the filter chosen since", async () => {
    const { context, page, problems } = await signIn('#/settings/mail');
    // An old link's status the API refuses (400): its answer held from the page until the filter chosen since is answered.
    const late = await answerLate(page, /\/api\/v1\/tenants\/[^/]+\/deliveries\?/);
    await page.goto(`${base}/#/deliveries?status=bogus`);
    await late.asked;
    const answered = page.waitForResponse((response) => new URL(response.url()).searchParams.get('status') === 'sent');
    await page.locator('#delivery-status').selectOption('sent');
    await answered;
    await page.getByText('No emails yet.').waitFor();
    await late.deliver();
    expect(await page.locator('main .banner.error').count()).toBe(0);
    expect(await page.locator('#delivery-status').getAttribute('aria-invalid')).toBe('false');
    expect(problems.filter((problem) => !/status of 400/.test(problem))).toEqual([]);
    await context.close();
  });

  it("draws the alert chart's period chosen last: an earlier choice answered late does not take its place under the later one's button", async () => {
    const { context, page, problems } = await signIn('#/alerts');
    const chart = page.locator('#alerts-chart');
    await chart.getByText('Show the numbers as a table').click();
    const periods = chart.locator('tbody th');
    await expect.poll(() => periods.count()).toBe(24);
    // The 7 days' answer is held from the page until the 30 days chosen after it are drawn.
    const late = await answerLate(page, /\/alerts\/histogram\?.*range=7d/);
    await page.getByRole('button', { name: '7 days' }).click();
    await late.asked;
    await page.getByRole('button', { name: '30 days' }).click();
    await expect.poll(() => periods.count()).toBeGreaterThanOrEqual(30);
    const drawn = await periods.allTextContents();
    await late.deliver();
    expect(await periods.allTextContents()).toEqual(drawn);
    expect(await page.getByRole('button', { name: '30 days' }).getAttribute('aria-pressed')).toBe('true');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('counts in the bell the alerts still unread once one is marked read from its panel, not the count of a refresh asked before', async () => {
    // Two alerts: one left unread once the other is marked read, for the bell to count.
    await call('POST', '/api/v1/tenants/late/alerts', {
      alerts: ['Bell late: job faulted', 'Bell late: queue stuck'].map((message) => ({ severity: 'Fatal', component: 'Jobs', message })),
    });
    const { context, page, problems } = await signIn('#/sources');
    const badge = page.getByTestId('unread-count');
    await badge.waitFor();
    const before = Number(await badge.textContent());
    // The bell's next refresh is read at once, the alert still unread, and its answer held from the page.
    const late = await answerLate(page, /\/alerts\/unread-count(\?|$)/);
    await late.asked;
    await page.locator('.bell-button').click();
    const line = page.locator('#bell-panel li', { hasText: 'Bell late: job faulted' });
    await line.getByRole('button', { name: 'Mark as read' }).click();
    await badge.filter({ hasText: String(before - 1) }).waitFor();
    await late.deliver();
    expect(await badge.textContent()).toBe(String(before - 1));
    expect(problems).toEqual([]);
    await context.close();
  });

  it("lists no API token revoked since when the tokens' read after an earlier Revoke comes after the one after a later Revoke", async () => {
    const user = await call('POST', '/api/v1/tenants/late/users', { email: 'tokens@late.example', name: 'Tokens' });
    for (const name of ['first-script', 'second-script']) await call('POST', `/api/v1/tenants/late/users/${user.id}/tokens`, { name });
    const { context, page, problems } = await signIn('#/access/users');
    page.on('dialog', (dialog) => dialog.accept());
    await page.locator('main tbody tr', { hasText: 'tokens@late.example' }).getByRole('button', { name: 'New API token' }).click();
    const dialog = page.getByRole('dialog');
    const listed = (name: string) => dialog.locator('li', { hasText: name });
    await listed('second-script').waitFor();
    // The read after the first Revoke, which still lists the second token, reaches the page late.
    const late = await answerLate(page, /\/tokens$/);
    await listed('first-script').getByRole('button', { name: 'Revoke' }).click();
    await late.asked;
    await listed('second-script').getByRole('button', { name: 'Revoke' }).click();
    await listed('second-script').waitFor({ state: 'detached' });
    await late.deliver();
    expect(await listed('second-script').count()).toBe(0);
    expect((await call('GET', `/api/v1/tenants/late/users/${user.id}/tokens`)).items).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("keeps an alert marked read in the list when the list's refresh asked before is answered after", async () => {
    const [id] = (await call('POST', '/api/v1/tenants/late/alerts', { severity: 'Error', component: 'Robots', message: 'Read late: robot down' })).ids;
    const { context, page, problems } = await signIn('#/alerts?component=Robots');
    const row = page.locator(`tr[data-alert-id="${id}"]`);
    await row.and(page.locator('tr.unread')).waitFor();
    // The list's next refresh, the alert still unread in it, reaches the page late.
    const late = await answerLate(page, /\/alerts\?/);
    await late.asked;
    // The refresh the marking asks for is slow too: the page shows what it has meanwhile.
    const next = await holdRequests(page, /\/alerts\?.*limit=/, 'GET');
    await row.getByRole('button', { name: 'Mark as read' }).click();
    await row.and(page.locator('tr.read')).waitFor();
    await late.deliver();
    expect(await row.getAttribute('class')).toBe('read');
    next.release();
    expect(problems).toEqual([]);
    await context.close();
  });

  it('speaks on the sign-in form the language chosen last there, not an earlier choice whose strings came later, and keeps it for signing in', async () => {
    const { context, page, problems } = await openTestPage(browser, { width: 1280, locale: 'en-GB' });
    await page.goto(base);
    const title = page.locator('#signin-title');
    await title.filter({ hasText: 'Sign in' }).waitFor();
    // French's strings are read at once and handed to the page late, after German's, chosen since.
    const late = await answerLate(page, /\/console\/i18n\/fr\.json$/);
    await page.locator('#signin-language').selectOption('fr');
    await late.asked;
    await page.locator('#signin-language').selectOption('de');
    await title.filter({ hasText: 'Anmelden' }).waitFor();
    await late.deliver();
    expect(await title.textContent()).toBe('Anmelden');
    expect(await page.evaluate('[document.documentElement.lang, localStorage.getItem("tocsin.language")]')).toEqual(['de', 'de']);
    expect(await page.locator('#signin-language').inputValue()).toBe('de');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('appends no older page of the alert list that comes back after the list was read again under other filters', async () => {
    // 110 alerts, oldest first: "Paged 110" is the newest, the first row.
    const alerts = Array.from({ length: 110 }, (_, i) => ({ severity: 'Warn', component: 'Queues', message: `Paged ${String(i + 1).padStart(3, '0')}` }));
    await call('POST', '/api/v1/tenants/late/alerts', { alerts });
    const { context, page, problems } = await signIn('#/alerts?component=Queues');
    const rows = page.locator('table.alerts tbody tr');
    await rows.first().waitFor();
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => rows.count()).toBe(100);
    // The third page (the 10 oldest) is held, as by a loaded server, while the list is read under other filters and again under these.
    const held = await holdRequests(page, /\/alerts\?.*cursor=/, 'GET');
    const third = page.waitForResponse((response) => new URL(response.url()).searchParams.has('cursor'));
    await page.getByRole('button', { name: 'Load more' }).click();
    await held.sent;
    await page.locator('#filter-component').selectOption('');
    await page.locator('#filter-component').selectOption('Queues');
    await expect.poll(() => rows.count()).toBe(50);
    held.release();
    await third;
    await afterPageRead(page);
    // The list read again starts over: its second page is next, not the 10 oldest below a gap of 50.
    expect(await rows.count()).toBe(50);
    expect(await page.locator('table.alerts tbody tr', { hasText: 'Paged 005' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => rows.count()).toBe(100);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('appends no older page of the delivery log past its 1,000 first rows that comes back after the log was read again under other filters', {
    timeout: 120_000,
  }, async () => {
    const start = Date.parse('2026-01-12T10:00:00.000Z');
    const rowsOf = (prefix: string, count: number): LogRow[] =>
      Array.from({ length: count }, (_, i) => ({
        id: `${prefix}-${String(count - i).padStart(5, '0')}`,
        recipient: `${prefix}${i + 1}@late.example`,
        createdAt: new Date(start - i * 60_000).toISOString(),
      }));
    const hold: { held: Promise<void> | null; sent: () => void } = { held: null, sent: () => {} };
    const { context, page, problems } = await signIn('#/settings/mail');
    await serveLog(page, { '': rowsOf('all', 1_100), sent: rowsOf('sent', 60) }, hold);
    await page.goto(`${base}/#/deliveries`);
    const rows = page.locator('main tbody tr');
    await rows.first().waitFor();
    const loadMore = page.getByRole('button', { name: 'Load more' });
    // The polled first page grows to the API's largest, 1,000 rows; the Load more after it reads the next page with its cursor.
    for (let shown = 50; shown < 1_000; shown += 50) {
      await loadMore.click();
      await expect.poll(() => rows.count()).toBe(shown + 50);
    }
    const sent = new Promise<void>((resolve) => {
      hold.sent = resolve;
    });
    let release = () => {};
    hold.held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const older = page.waitForResponse((response) => new URL(response.url()).searchParams.has('cursor'));
    await loadMore.click();
    await sent;
    await page.locator('#delivery-status').selectOption('sent');
    await page.locator('main tbody tr', { hasText: 'sent1@late.example' }).waitFor();
    await page.locator('#delivery-status').selectOption('');
    await page.locator('main tbody tr', { hasText: 'all1@late.example' }).waitFor();
    await expect.poll(() => rows.count()).toBe(50);
    release();
    await older;
    await afterPageRead(page);
    expect(await rows.count()).toBe(50);
    expect(await page.locator('main tbody tr', { hasText: 'all1001@late.example' }).count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  });
});

/** LogRow is a row of a delivery log served by the test, as the API lists it. */
interface LogRow {
  id: string;
  recipient: string;
  createdAt: string;
}

/**
 * serveLog answers the page's delivery log reads from `logs` (one log per status filter, '' for all), a
 * `limit` of rows from `cursor` on, as the API pages it; a read with a cursor waits for `held` when it is set.
 */
async function serveLog(page: Page, logs: Record<string, LogRow[]>, hold: { held: Promise<void> | null; sent: () => void }) {
  await page.route('**/deliveries?**', async (route) => {
    const asked = new URL(route.request().url()).searchParams;
    const log = logs[asked.get('status') ?? ''] ?? [];
    const limit = Number(asked.get('limit') ?? 50);
    const cursor = asked.get('cursor');
    if (cursor !== null && hold.held) {
      hold.sent();
      await hold.held;
    }
    const from = cursor === null ? 0 : log.findIndex((row) => row.id === cursor) + 1;
    const items = log.slice(from, from + limit).map((row) => ({
      ...row,
      kind: 'summary',
      status: 'sent',
      attempts: 1,
      lastError: null,
      smtpResponse: '250 OK',
      messageId: null,
      sentAt: row.createdAt,
      nextAttemptAt: null,
    }));
    const nextCursor = from + limit < log.length ? (items.at(-1)?.id ?? null) : null;
    await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ items, nextCursor }) });
  });
}
