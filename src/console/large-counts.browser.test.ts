import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, haveChromium, launchChromium, openTestPage, startConsoleServer, submitSignIn } from '../../test/support/browser.js';

const HAVE_CHROMIUM = haveChromium();
const ADMIN_TOKEN = 'large-counts-admin-token-0123456789';
const PASSWORD = 'correct horse battery staple';
// What the API takes in one request; two of them make a count of thousands.
const BATCH = 1_000;
const COUNT = 2 * BATCH;
// uPlot's default axis font, which the chart keeps.
const AXIS_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif';
// uPlot's default tick length and gap between the ticks and their labels, in CSS pixels.
const TICKS_AND_GAP = 10 + 5;

/** textWidth is how wide `text` is drawn in the chart's axis font, in CSS pixels. */
function textWidth(page: Page, text: string): Promise<number> {
  return page.evaluate(
    `(() => { const ctx = document.createElement('canvas').getContext('2d'); ctx.font = ${JSON.stringify(AXIS_FONT)}; return ctx.measureText(${JSON.stringify(text)}).width; })()`,
  );
}

/**
 * A flood of thousands of alerts: every count the console shows of it, outside sentences too, is
 * written as the user's language writes numbers, and the chart's count axis makes room for them.
 */
describe.skipIf(!HAVE_CHROMIUM)('counts of thousands in the console', () => {
  let server: ConsoleServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startConsoleServer(ADMIN_TOKEN);
    const tenant = await server.call('POST', '/api/v1/tenants', { name: 'big', language: 'fr', timeZone: 'Europe/Paris' });
    await server.call('POST', '/api/v1/tenants/big/users', {
      email: 'fr@big.example',
      name: 'Camille',
      password: PASSWORD,
      roles: ['Administrator'],
      language: 'fr',
    });
    const alert = {
      severity: 'Error',
      component: 'Queues',
      event: 'Queue.Sla.Breached',
      message: 'SLA breached',
      dedupKey: 'queue-1',
      source: { queue: 'Q1' },
    };
    for (let sent = 0; sent < COUNT; sent += BATCH)
      await server.call('POST', '/api/v1/tenants/big/alerts', { alerts: Array.from({ length: BATCH }, () => alert) });
    // The chart counts by the hour each alert was received, and the two requests may straddle the top of an
    // hour: 1 000 and 1 000 in two bars, and no cell or top count of thousands. The flood is put in the hour of
    // its first alert, as one request would have received it.
    const { db } = server.tocsin.deps.storage;
    const { first } = await db
      .selectFrom('alerts')
      .select((eb) => eb.fn.min('created_at').as('first'))
      .where('tenant_id', '=', tenant.id)
      .executeTakeFirstOrThrow();
    await db
      .updateTable('alerts')
      .set({ created_at: Number(first) })
      .where('tenant_id', '=', tenant.id)
      .execute();
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("writes them in the user's language in the chart, its table, the bell's ×N and the host's Tenants page, the chart's count axis wide enough for them", async () => {
    const written = COUNT.toLocaleString('fr');
    expect(written, 'French groups thousands').not.toBe(String(COUNT));
    const { context, page, problems } = await openTestPage(browser, { width: 1280, locale: 'fr-FR' });
    await page.goto(`${server.base}/#/alerts`);
    await submitSignIn(page, 'big', 'fr@big.example', PASSWORD);
    await page.locator('#alerts-chart canvas').first().waitFor();

    // The plot starts right of the count axis: its widest label, the top count, and its ticks fit there.
    const plot = page.locator('#alerts-chart .u-over');
    await plot.waitFor({ state: 'visible' });
    const axis = (await plot.boundingBox())!.x - (await page.locator('#alerts-chart .u-wrap').boundingBox())!.x;
    expect(axis, `room for "${written}" beside the ticks`).toBeGreaterThanOrEqual((await textWidth(page, written)) + TICKS_AND_GAP);

    // The table is built once its disclosure opens: its cells come in after the click.
    await page.locator('#alerts-chart summary').click();
    await expect.poll(() => page.locator('#alerts-chart tbody td').allTextContents()).toContain(written);

    await page.locator('.bell-button').click();
    await expect.poll(() => page.locator('#bell-panel .pill').textContent()).toBe(`×${written}`);
    // Past 999 the bell says 999+, to the eye and in words, counting no further than 1,000 every 3 s.
    await expect.poll(() => page.getByTestId('unread-count').textContent()).toBe('999+');
    expect(await page.locator('.bell-button').getAttribute('aria-label')).toBe('Alertes\u202f: 999+ non lues');
    expect(await page.locator('#bell-panel h2').textContent()).toBe('999+ non lues');
    const asked = page.waitForRequest((request) => request.url().includes('/alerts/unread-count'));
    expect(new URL((await asked).url()).searchParams.get('limit')).toBe('1000');
    expect(problems).toEqual([]);
    await context.close();

    const host = await openTestPage(browser, { width: 1280, locale: 'fr-FR' });
    await host.page.goto(server.base);
    await host.page.getByRole('tab', { name: "Administrateur de l'hôte" }).click();
    await host.page.locator('input[type="password"]').fill(ADMIN_TOKEN);
    await host.page.locator('input[type="password"]').press('Enter');
    // The Alerts (24 h) column, found by its header: a column added before it (Retention) moved it.
    const alertsCell = async () => {
      const column = (await host.page.locator('main thead th').allTextContents()).indexOf('Alertes (24\u00a0h)');
      return column < 0 ? undefined : host.page.locator('tr', { hasText: 'big' }).locator('td').nth(column).textContent();
    };
    await expect.poll(alertsCell).toBe(written);
    await host.context.close();
  }, 60_000);

  it("writes a source's counters of receptions accepted and refused in the user's language, in the list and the source's details", async () => {
    const source = await server.call('POST', '/api/v1/tenants/big/sources', { name: 'Alertmanager', kind: 'alertmanager' });
    // A source's counters grow by one a request: years of them, written at once.
    const [accepted, rejected] = [1_234_567, 12_345];
    await server.tocsin.deps.storage.db.updateTable('sources').set({ accepted, rejected }).where('id', '=', source.id).execute();
    const { context, page, problems } = await openTestPage(browser, { width: 1280, locale: 'fr-FR' });
    await page.goto(`${server.base}/#/sources`);
    await submitSignIn(page, 'big', 'fr@big.example', PASSWORD);
    const row = page.locator('tr', { hasText: 'Alertmanager' });
    await expect
      .poll(() => row.locator('td').allTextContents())
      .toEqual(expect.arrayContaining([accepted.toLocaleString('fr'), rejected.toLocaleString('fr')]));
    await row.getByRole('button', { name: 'Alertmanager' }).click();
    await expect
      .poll(() => page.locator('dd').allTextContents())
      .toEqual(expect.arrayContaining([accepted.toLocaleString('fr'), rejected.toLocaleString('fr')]));
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it("marks a flood's whole line read from the bell's panel, as the line counts it, not one of its alerts", async () => {
    const { context, page, problems } = await openTestPage(browser, { width: 1280, locale: 'fr-FR' });
    await page.goto(`${server.base}/#/alerts`);
    await submitSignIn(page, 'big', 'fr@big.example', PASSWORD);
    await page.locator('.bell-button').click();
    const line = page.locator('#bell-panel li', { hasText: 'SLA breached' });
    await expect.poll(() => line.locator('.pill').textContent()).toBe(`×${COUNT.toLocaleString('fr')}`);
    await line.getByRole('button', { name: 'Marquer comme lue' }).click();
    await expect.poll(() => page.locator('#bell-panel li', { hasText: 'SLA breached' }).count()).toBe(0);
    const me = (await page.evaluate(`fetch('/api/v1/tenants/big/alerts/unread-count').then((r) => r.json())`)) as { unread: number };
    expect(me.unread).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
});
