import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsoleServer,
  haveChromium,
  launchChromium,
  offScreen,
  openTestPage,
  saveScreenshot,
  seriousAxeViolations,
  sideways,
  startConsoleServer,
  submitSignIn,
  untranslated,
} from '../../test/support/browser.js';
import { testDelivery } from '../../test/support/outbox-fixtures.js';
import { SMTP_PASSWORD, SMTP_USER, customSmtpOf } from '../../test/support/console-smtp.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { recordKindHours } from '../alerts/kind-hours.js';
import { enqueueDeliveries } from '../delivery/outbox/enqueue.js';
import { systemClock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import type { Db } from '../storage/database.js';
import { APP_DIR } from './assets.js';

// One server, one browser, one context per walk: ten walks (five languages, two widths) check every
// page for content off the screen, sideways scrolling, console errors, keys shown untranslated and
// axe-core's serious and critical violations.
const HAVE_CHROMIUM = haveChromium();
const ADMIN_TOKEN = 'walk-admin-token-0123456789';
const PASSWORD = 'correct horse battery staple';
const LANGUAGES = ['en', 'fr', 'de', 'es', 'ja'] as const;
const WIDTHS = [1280, 360] as const;
const ZONES: Record<(typeof LANGUAGES)[number], string> = {
  en: 'Europe/London',
  fr: 'Europe/Paris',
  de: 'Europe/Berlin',
  es: 'Europe/Madrid',
  ja: 'Asia/Tokyo',
};
const STRINGS = Object.fromEntries(
  LANGUAGES.map((language) => [language, JSON.parse(fs.readFileSync(path.join(APP_DIR, 'i18n', `${language}.json`), 'utf8')) as Record<string, string>]),
);
// Dotted keys are the ones that cannot pass for words of a sentence; a plural string shows raw by its base key.
const KEYS = [...new Set(Object.keys(STRINGS.en!).map((key) => key.replace(/_(zero|one|two|few|many|other)$/, '')))].filter((key) => key.includes('.'));
const HOUR = 3_600_000;

/**
 * seedHistory gives a tenant a week of alerts and a day of delivery attempts, for charts worth
 * looking at; `density` thins the alerts out (1 keeps every one) where a short list will do.
 */
async function seedHistory(db: Db, tenantId: string, now: number, density: number): Promise<void> {
  const alerts = [];
  for (let h = 0; h < 7 * 24; h += density) {
    // A working-hours rhythm, a bad night three days ago and a few Fatal ones.
    const count = (h % 24 > 8 && h % 24 < 19 ? 2 : 0) + (h >= 70 && h < 76 ? 4 : 0) + (h % 37 === 0 ? 1 : 0);
    for (let i = 0; i < count; i += 1) {
      const at = now - h * HOUR - i * 600_000 - 60_000;
      alerts.push({
        id: newId(),
        tenant_id: tenantId,
        severity: h % 37 === 0 && i === count - 1 ? 4 : h >= 70 && h < 76 ? 3 : (h + i) % 5 === 0 ? 2 : i % 2,
        component: 'Jobs',
        event: 'Process.RaiseAlert',
        message: `Job ${h}-${i} reported`,
        data: null,
        source: null,
        folder: null,
        dedup_key: null,
        group_id: null,
        occurred_at: at,
        created_at: at,
      });
    }
  }
  for (let i = 0; i < alerts.length; i += 100)
    await db
      .insertInto('alerts')
      .values(alerts.slice(i, i + 100))
      .execute();
  // The hours of each kind, as the ingest writes them: a list filtered on a severity above Info walks
  // only those. Without them the bar the chart test clicks listed nothing whenever its lowest part was
  // above Info: in the first ten minutes of an hour its oldest seeded bar holds a Warning alone.
  for (const alert of alerts) await recordKindHours(db, tenantId, [alert], alert.created_at);
  await enqueueDeliveries(db, [testDelivery(tenantId, 'ops@acme.example')], systemClock);
  const delivery = await db.selectFrom('deliveries').select('id').where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
  // Finished, so that no worker picks it up again.
  await db.updateTable('deliveries').set({ status: 'failed', attempts: 30 }).where('id', '=', delivery.id).execute();
  const attempts = [];
  for (let h = 0; h < 24; h += 1) {
    const outcomes = h >= 3 && h < 6 ? ['retry', 'retry', 'failed'] : h % 4 === 0 ? ['sent', 'sent', 'sent'] : ['sent'];
    for (const [i, outcome] of outcomes.entries()) {
      const at = now - h * HOUR - i * 300_000 - 30_000;
      attempts.push({
        id: newId(),
        delivery_id: delivery.id,
        tenant_id: tenantId,
        attempt: attempts.length + 1,
        worker: 'seed',
        started_at: at - 800,
        finished_at: at,
        outcome,
        code: outcome === 'sent' ? 250 : 535,
        response:
          outcome === 'sent'
            ? '250 2.0.0 OK queued'
            : '535-5.7.8 Username and Password not accepted. For more information, go to https://support.google.com/mail/?p=BadCredentials',
        duration_ms: 800,
      });
    }
  }
  await db.insertInto('delivery_attempts').values(attempts).execute();
}

describe.skipIf(!HAVE_CHROMIUM)("the console in five languages and two widths, following the guide's steps", () => {
  let server: ConsoleServer;
  let browser: Browser;
  let smtp: TestSmtpServer;
  let base: string;
  const call = (method: string, url: string, body?: unknown) => server.call(method, url, body);

  beforeAll(async () => {
    server = await startConsoleServer(ADMIN_TOKEN);
    base = server.base;
    smtp = await startTestSmtpServer({ auth: { username: SMTP_USER, password: SMTP_PASSWORD } });
    const now = Date.now();
    for (const language of LANGUAGES) {
      for (const width of WIDTHS) {
        const name = `walk-${language}-${width}`;
        const tenant = await call('POST', '/api/v1/tenants', { name, displayName: `Acme ${language.toUpperCase()}`, timeZone: ZONES[language], language });
        await call('POST', `/api/v1/tenants/${name}/users`, {
          email: `${language}@acme.example`,
          name: `Admin ${language}`,
          password: PASSWORD,
          roles: ['Administrator'],
          language,
        });
        await seedHistory(server.tocsin.deps.storage.db, tenant.id, now, language === 'en' ? 1 : 5);
        await call('POST', `/api/v1/tenants/${name}/mutes`, {
          scope: 'tenant',
          match: { component: 'Robots', robot: 'R7' },
          until: new Date(now + 24 * HOUR).toISOString(),
        });
      }
    }
    await call('POST', '/api/v1/tenants', { name: 'keys', timeZone: 'Europe/Paris' });
    await call('POST', '/api/v1/tenants/keys/users', { email: 'keys@acme.example', name: 'Keyboard user', password: PASSWORD, roles: ['Administrator'] });
    // Custom values stored but not in use: the keyboard walk switches to them and tests them.
    await call('PUT', '/api/v1/tenants/keys/settings/mail', {
      useCustom: false,
      custom: customSmtpOf(smtp.port),
    });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await smtp?.close();
    await server?.close();
  });

  const open = (language: string, width: number) => openTestPage(browser, { width, locale: language, height: 800 });

  /** checkPage fails on anything a person should not meet on the page as it is now. */
  async function checkPage(page: Page, problems: string[], where: string, axe: boolean) {
    expect(await offScreen(page), `off the screen on ${where}`).toEqual([]);
    expect(await sideways(page), `sideways scroll on ${where}`).toBeLessThanOrEqual(0);
    expect(await untranslated(page, KEYS), `untranslated on ${where}`).toEqual([]);
    if (axe) expect(await seriousAxeViolations(page), `axe on ${where}`).toEqual([]);
    expect(problems.splice(0), `console on ${where}`).toEqual([]);
  }

  for (const language of LANGUAGES) {
    for (const width of WIDTHS) {
      it(`walks the guide's steps and every page in ${language} at ${width} px`, async () => {
        const s = STRINGS[language]!;
        const tenant = `walk-${language}-${width}`;
        const email = `${language}@acme.example`;
        const { context, page, problems } = await open(language, width);
        // axe on every page in every language on a desktop, and on a phone in English: the rules
        // it checks (names, roles, contrast) do not change with the width, only the time they take.
        const axe = width === 1280 || language === 'en';
        const check = (where: string) => checkPage(page, problems, where, axe);
        // The README shows the charts on a desktop, and every language on a phone.
        const shot = (name: string, fullPage: boolean) => saveScreenshot(page, name, fullPage);
        const phone = width === 360;

        await page.goto(`${base}/`);
        await page.locator('#signin-tenant').fill(tenant);
        await page.locator('#signin-email').fill(email);
        await page.locator('#signin-password').fill(PASSWORD);
        await check('sign-in');
        expect(await page.title()).toBe(`${s['signIn.title']} — Tocsin`);
        await page.getByRole('button', { name: s['signIn.submit'] }).click();
        await page.locator('nav.main-nav').waitFor();

        // 1. Tenant > Settings > Mail tab.
        await page.getByRole('link', { name: s['nav.settings'], exact: true }).click();
        await page.getByRole('tab', { name: s['settings.mailTab'] }).waitFor();
        // 2. Enable alerts email; 9. use custom settings; 10.–17. SSL and the Gmail values.
        await page.locator('#mail-enabled').check();
        await page.locator('#mail-custom').check();
        await page.locator('#mail-enableSsl').check();
        await page.locator('#mail-host').fill('smtp.gmail.com');
        expect(await page.locator('#mail-domain').inputValue()).toBe('');
        await page.locator('#mail-port').fill('465');
        await page.locator('#mail-username').fill('alerts.acme@gmail.com');
        await page.locator('#mail-password').fill('abcd efgh ijkl mnop');
        await page.locator('#mail-fromAddress').fill('alerts.acme@gmail.com');
        await page.locator('#mail-fromDisplayName').fill('Acme alerts');
        await check('the Mail tab');
        if (phone) await shot(`walk-360-${language}-mail-settings`, true);
        // 18. Save: asked whether to go on without testing.
        await page.getByRole('button', { name: s.save, exact: true }).click();
        const dialog = page.getByRole('dialog');
        await dialog.getByRole('button', { name: s['mail.continueWithoutTesting'] }).waitFor();
        await check('the untested-save question');
        await dialog.getByRole('button', { name: s['mail.continueWithoutTesting'] }).click();
        await page.getByText(s['mail.saved']!).waitFor();
        expect((await call('GET', `/api/v1/tenants/${tenant}/settings/mail`)).custom).toMatchObject({ host: 'smtp.gmail.com', port: 465, security: 'tls' });

        // Test Mail Settings (against a local server: this machine does not reach Gmail).
        await page.locator('#mail-enableSsl').uncheck();
        await page.locator('#mail-allowPlaintextAuth').check();
        await page.locator('#mail-host').fill('localhost');
        await page.locator('#mail-port').fill(String(smtp.port));
        await page.locator('#mail-username').fill(SMTP_USER);
        await page.locator('#mail-password-replace').click();
        await page.locator('#mail-password').fill(SMTP_PASSWORD);
        await page.getByRole('button', { name: s['mail.test'], exact: true }).click();
        // Send To holds the account's address.
        expect(await page.locator('#test-sendTo').inputValue()).toBe(email);
        await check('the Test Mail Settings window');
        await dialog.getByRole('button', { name: s['test.send'], exact: true }).click();
        await dialog.getByText(s['test.sent']!.replace('{to}', email)).waitFor();
        await check('the test result');
        if (phone && language === 'ja') await shot('walk-360-ja-test-mail', false);
        await dialog.getByRole('button', { name: s.close, exact: true }).last().click();
        await dialog.waitFor({ state: 'detached' });
        // The test saved nothing.
        expect((await call('GET', `/api/v1/tenants/${tenant}/settings/mail`)).custom.host).toBe('smtp.gmail.com');
        // So leaving the tested, unsaved values asks first, in the user's language.
        const asked: string[] = [];
        page.once('dialog', (question) => {
          asked.push(question.message());
          void question.accept();
        });

        // Every other page of the tenant.
        for (const [hash, name, ready, navLink] of [
          ['#/alerts', 'alerts', '#alerts-chart canvas', '#/alerts'],
          ['#/preferences', 'preferences', 'form', '#/preferences'],
          ['#/access/users', 'access-users', 'table tbody tr', '#/access/users'],
          ['#/access/groups', 'access-groups', 'h1', '#/access/users'],
          ['#/access/roles', 'access-roles', 'table tbody tr', '#/access/users'],
          ['#/sources', 'sources', 'h1', '#/sources'],
          ['#/deliveries', 'deliveries', '#deliveries-chart canvas', '#/deliveries'],
          ['#/previews', 'previews', 'iframe', '#/previews'],
        ] as const) {
          await page.goto(`${base}/${hash}`);
          // A change of hash keeps the page before on screen until the console draws the new one,
          // whose `ready` may be the same (an h1): the navigation's current item says it is drawn.
          await page.locator(`nav.main-nav a[aria-current="page"][href="${navLink}"]`).waitFor();
          // Manage Access's tabs share their navigation item: the tab chosen says which of them is drawn.
          if (hash.startsWith('#/access/')) await page.locator(`a[role="tab"][aria-selected="true"][href="${hash}"]`).waitFor();
          if (name === 'alerts') expect(asked).toEqual([s['unsaved.leave']]);
          await page.locator(ready).first().waitFor();
          await page.locator('main h1').first().waitFor();
          await check(hash);
          // The tab names the page and the tenant in the user's language.
          const section = await page.locator('nav.main-nav [aria-current="page"]').textContent();
          expect(await page.title()).toBe(`${section} — Acme ${language.toUpperCase()}`);
          if (name === 'alerts') {
            // The mute in force names what it matches in the user's words, not the API's field names.
            const robot = `${s.labelled!.replace('{label}', s['source.robot']!)} R7`;
            await expect.poll(() => page.locator('section.mutes li').first().textContent()).toContain(robot);
          }
          if (name === 'alerts' && phone) await shot(`walk-360-${language}-alerts`, false);
          if ((name === 'alerts' || name === 'deliveries') && language === 'en' && !phone) await shot(`chart-${name}`, false);
        }
        await context.close();
      }, 120_000);
    }
  }

  // What has the focus, where it is, and whether a sighted keyboard user can see it (an outline or
  // a shadow on the element, or on the label that stands for a styled checkbox).
  const FOCUSED = `(() => {
    const e = document.activeElement;
    if (!e || e === document.body) return null;
    const shows = (el) => {
      if (!el) return false;
      const style = getComputedStyle(el);
      return (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none';
    };
    const box = e.getBoundingClientRect();
    return {
      name: e.id || e.getAttribute('aria-label') || e.textContent.trim().slice(0, 40) || e.tagName,
      top: box.top + scrollY,
      bottom: box.bottom + scrollY,
      left: box.left,
      visible: shows(e) || [...(e.labels ?? [])].some(shows),
      inDialog: Boolean(e.closest('dialog[open]')),
    };
  })()`;
  type Focused = { name: string; top: number; bottom: number; left: number; visible: boolean; inDialog: boolean } | null;

  it('walks the Mail tab and the Test Mail Settings window with the keyboard alone', async () => {
    const { context, page, problems } = await open('en', 1280);
    const s = STRINGS.en!;
    await page.goto(`${base}/#/settings/mail`);
    await page.locator('#signin-tenant').focus();
    await page.keyboard.type('keys');
    await page.keyboard.press('Tab');
    await page.keyboard.type('keys@acme.example');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('tab', { name: s['settings.mailTab'] }).waitFor();

    // From the Mail tab on, Tab reaches every control once, top to bottom, each showing its focus.
    await page.getByRole('tab', { name: s['settings.mailTab'] }).focus();
    const walk = async (until: string) => {
      const seen: NonNullable<Focused>[] = [];
      for (let i = 0; i < 40; i += 1) {
        await page.keyboard.press('Tab');
        const focused = await page.evaluate<Focused>(FOCUSED);
        expect(focused, `focus lost after ${seen.map((f) => f.name).join(' → ')}`).not.toBeNull();
        seen.push(focused!);
        if (focused!.name === until) return seen;
      }
      throw new Error(`Tab never reached ${until}: ${seen.map((f) => f.name).join(' → ')}`);
    };
    const first = await walk('mail-enabled');
    await page.keyboard.press('Space');
    expect(await page.locator('#mail-enabled').isChecked()).toBe(true);
    const radios = await walk('mail-default');
    // Arrow keys move within the radio group: custom settings open the SMTP fields.
    await page.keyboard.press('ArrowDown');
    expect(await page.locator('#mail-custom').isChecked()).toBe(true);
    const fields = await walk(s['mail.test']!);
    const order = [...first, ...radios, ...fields];
    expect(
      order.filter((f) => !f.visible).map((f) => f.name),
      'focus not visible',
    ).toEqual([]);
    const names = order.map((f) => f.name);
    for (const id of ['mail-host', 'mail-port', 'mail-username', 'mail-password-replace', 'mail-fromAddress', 'mail-fromDisplayName'])
      expect(names).toContain(id);
    expect(names.indexOf('mail-host')).toBeLessThan(names.indexOf('mail-port'));
    expect(names.indexOf('mail-port')).toBeLessThan(names.indexOf('mail-username'));
    expect(names.indexOf('mail-password-replace')).toBeLessThan(names.indexOf('mail-fromAddress'));
    // Reading order: the focus goes down the page, or right along a row; it never jumps back up.
    for (let i = 1; i < fields.length; i += 1) {
      const [a, b] = [fields[i - 1]!, fields[i]!];
      const alongTheRow = b.top < a.bottom && a.top < b.bottom && b.left > a.left;
      expect(b.top >= a.top - 4 || alongTheRow, `${a.name} → ${b.name}`).toBe(true);
    }

    // Enter opens the window with the focus inside; Tab and Shift+Tab stay inside it.
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    expect((await page.evaluate<Focused>(FOCUSED))?.inDialog).toBe(true);
    for (const key of [...Array(8).fill('Tab'), ...Array(8).fill('Shift+Tab')]) {
      await page.keyboard.press(key);
      const focused = await page.evaluate<Focused>(FOCUSED);
      expect(focused?.inDialog, `${key} left the window`).toBe(true);
      expect(focused?.visible, `focus not visible on ${focused?.name}`).toBe(true);
    }
    // Escape closes it and gives the focus back to the button that opened it.
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    expect((await page.evaluate<Focused>(FOCUSED))?.name).toBe(s['mail.test']);
    // Send To is filled in; Enter in it sends, and what happened is read inside the window, where
    // the focus stays.
    await page.keyboard.press('Enter');
    for (let i = 0; i < 5 && (await page.evaluate<Focused>(FOCUSED))?.name !== 'test-sendTo'; i += 1) await page.keyboard.press('Tab');
    expect(await page.locator('#test-sendTo').inputValue()).toBe('keys@acme.example');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').getByText(s['test.sent']!.replace('{to}', 'keys@acme.example')).waitFor();
    expect((await page.evaluate<Focused>(FOCUSED))?.inDialog).toBe(true);
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await checkPage(page, problems, 'the Mail tab after the keyboard walk', true);
    await context.close();
  }, 120_000);

  it('keeps the charts and their open tables through a refresh that fails, as the lists keep their rows', async () => {
    const { context, page } = await open('en', 1280);
    // The refreshes run on a clock the test moves: the alerts chart's come every 30 s (CHART_POLL_MS).
    await page.clock.install();
    await page.goto(`${base}/#/alerts`);
    await submitSignIn(page, 'walk-en-1280', 'en@acme.example', PASSWORD);
    for (const [hash, chart, answer] of [
      ['#/alerts', '#alerts-chart', '**/alerts/histogram?*'],
      ['#/deliveries', '#deliveries-chart', '**/deliveries/hourly?*'],
    ] as const) {
      await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
      await page.locator(`${chart} canvas`).first().waitFor();
      await page.locator(`${chart} summary`).click();
      await expect.poll(() => page.locator(`${chart} tbody tr`).count()).toBeGreaterThan(0);
      const rows = await page.locator(`${chart} tbody tr`).count();
      // The network drops the chart's next refreshes: what it showed stays, open as it was.
      let failed = 0;
      await page.route(answer, (route) => {
        failed++;
        return route.abort('connectionrefused');
      });
      await expect
        .poll(
          async () => {
            await page.clock.runFor(30_000);
            return failed;
          },
          { timeout: 10_000 },
        )
        .toBeGreaterThan(1);
      expect(await page.locator(`${chart} tbody tr`).count(), chart).toBe(rows);
      expect(await page.locator(`${chart} details`).getAttribute('open'), chart).not.toBeNull();
      await page.unroute(answer);
    }
    await context.close();
    // The host's Tenants page: the tenants' chart, and the Alerts (24 h) and Mail (24 h) columns read from the same answer.
    const host = await open('en', 1280);
    await host.page.goto(base);
    await host.page.getByRole('tab', { name: 'Host administrator' }).click();
    await host.page.locator('input[type="password"]').fill(ADMIN_TOKEN);
    await host.page.locator('input[type="password"]').press('Enter');
    await host.page.locator('#tenants-alerts-chart canvas').first().waitFor();
    const columns = await host.page.locator('tr', { hasText: 'walk-en-1280' }).first().textContent();
    let failed = 0;
    await host.page.route('**/system/tenant-activity', (route) => {
      failed++;
      return route.abort('connectionrefused');
    });
    await expect.poll(() => failed, { timeout: 10_000 }).toBeGreaterThan(1);
    expect(await host.page.locator('#tenants-alerts-chart canvas').count()).toBeGreaterThan(0);
    expect(await host.page.locator('tr', { hasText: 'walk-en-1280' }).first().textContent()).toBe(columns);
    await host.context.close();
  }, 60_000);

  it('filters the alert list to the period and severity of a bar of the chart', async () => {
    const { context, page, problems } = await open('en', 1280);
    await page.goto(`${base}/#/alerts`);
    await submitSignIn(page, 'walk-en-1280', 'en@acme.example', PASSWORD);
    const canvas = page.locator('#alerts-chart canvas').first();
    await canvas.waitFor();
    // The table's row buttons do what a click on a bar does, for keyboards and screen readers.
    await page.locator('#alerts-chart summary').click();
    await page.getByRole('button', { name: STRINGS.en!['chart.range.7d'] }).click();
    await expect.poll(() => page.locator('#alerts-chart tbody tr').count()).toBe(28);
    await page.locator('#alerts-chart tbody tr').last().getByRole('button').click();
    await expect.poll(() => new URL(page.url()).hash).toMatch(/since=.*until=/);
    // A click on a bar itself: the 24 hours' chart, on the bottom part of the oldest bar that holds
    // alerts. Its hour has ended, so what the list shows cannot change under the test; the last bar's
    // hour would still be taking what Tocsin raises while the test runs (at the top of an hour it holds
    // nothing seeded, only that).
    await page.getByRole('button', { name: STRINGS.en!['chart.range.24h'] }).click();
    // The chart is drawn anew for the range: wait for its 24 hourly rows and its plot area before aiming at a bar.
    await expect.poll(() => page.locator('#alerts-chart tbody tr').count()).toBe(24);
    const totals = await page
      .locator('#alerts-chart tbody tr')
      .evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].reduce((sum, cell) => sum + Number(cell.textContent), 0)));
    const bar = totals.findIndex((total) => total > 0);
    expect(bar, 'a seeded bar among the ended hours').toBeGreaterThanOrEqual(0);
    expect(bar).toBeLessThan(totals.length - 2);
    const plot = page.locator('#alerts-chart .u-over');
    await plot.waitFor({ state: 'visible' });
    const box = (await plot.boundingBox())!;
    // The x scale runs from -0.5 to 23.5, one bar per unit.
    // The address already holds the 7 days' click: wait for the bar's own, not for any period.
    const before = page.url();
    await page.mouse.click(box.x + ((bar + 0.5) * box.width) / totals.length, box.y + box.height - 2);
    await expect.poll(() => page.url()).not.toBe(before);
    // The list asks for what the click chose: the bar's period, and the severity (and above) of the part it fell on.
    const hash = new URLSearchParams(new URL(page.url()).hash.split('?')[1]);
    expect(hash.get('severity'), 'a click on a part of a bar picks its severity').toBeTruthy();
    const chosen = new URLSearchParams({ since: hash.get('since')!, until: hash.get('until')!, severity: hash.get('severity')! });
    expect(Date.parse(chosen.get('until')!)).toBeLessThanOrEqual(Date.now());
    const listed = await call('GET', `/api/v1/tenants/walk-en-1280/alerts?${chosen}`);
    expect(listed.items.length).toBeGreaterThan(0);
    await expect.poll(() => page.locator('table.alerts tbody tr').count()).toBe(listed.items.length);
    await checkPage(page, problems, 'the filtered alert list', false);
    await saveScreenshot(page, 'chart-alerts-filtered', false);
    await context.close();
  }, 60_000);
});
