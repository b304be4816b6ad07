import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, haveChromium, launchChromium, openTestPage, startConsoleServer, submitSignIn } from '../../test/support/browser.js';
import { testDelivery } from '../../test/support/outbox-fixtures.js';
import { enqueueDeliveries } from '../delivery/outbox/enqueue.js';

const HAVE_CHROMIUM = haveChromium();
const ADMIN_TOKEN = 'hostile-admin-token-0123456789';
const PASSWORD = 'correct horse battery staple';
const LANGUAGES = ['en', 'fr', 'de', 'es', 'ja'] as const;
// Each payload, should it ever run, leaves its number in window.__xss. At most 100 characters (a source's name).
const EVIL = '<img src=x onerror=window.__xss=1><script>window.__xss=2</script>"><svg onload=window.__xss=3>';
const TEMPLATE = "{{constructor.constructor('window.__xss=5')()}}";

/**
 * FINDINGS lists what hostile data made of the page: a payload that ran, an event-handler
 * attribute (the console sets listeners as properties, never as attributes), a javascript: URL,
 * or an element a payload names. (Page functions are strings: test code has no DOM types.)
 */
const FINDINGS = `(() => {
  const found = [];
  if (window.__xss !== undefined) found.push('payload ran: ' + window.__xss);
  for (const element of document.querySelectorAll('*')) {
    for (const attribute of element.attributes) {
      if (/^on/i.test(attribute.name)) found.push(element.tagName + ' ' + attribute.name);
      if (/^(href|src|action|formaction|xlink:href)$/i.test(attribute.name) && /^\\s*javascript:/i.test(attribute.value)) found.push(element.tagName + ' ' + attribute.name + '=' + attribute.value);
    }
  }
  for (const element of document.querySelectorAll('img[src="x"], script:not([src]):not([type="importmap"])')) {
    if ((element.textContent || '').includes('__xss') || element.tagName === 'IMG') found.push(element.outerHTML.slice(0, 120));
  }
  for (const frame of document.querySelectorAll('iframe')) if (frame.getAttribute('sandbox') !== '') found.push('iframe sandbox=' + frame.getAttribute('sandbox'));
  return found;
})()`;

/**
 * OVERRIDES_LEAKING lists the text an embedding or override left open in a value (U+202A, B, D, E)
 * runs on into: the text after it up to the end of the nearest element that isolates it (a bdi, an
 * element with dir, any block), unless a PDF or PDI closes it first in its own text.
 */
const OVERRIDES_LEAKING = `(() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue || '';
    const at = text.search(/[\\u202a\\u202b\\u202d\\u202e][^\\u202c\\u2069]*$/);
    if (at < 0) continue;
    let box = node.parentElement;
    while (box && box !== document.body) {
      const style = getComputedStyle(box);
      if (/isolate|plaintext/.test(style.unicodeBidi) || !/^inline/.test(style.display)) break;
      box = box.parentElement;
    }
    const range = document.createRange();
    range.setStart(node, text.length);
    range.setEnd(box, box.childNodes.length);
    const after = text.slice(at + 1) + range.toString();
    if (after.trim()) found.push(JSON.stringify(text.slice(at)) + ' runs into ' + JSON.stringify(after.trim().slice(0, 80)));
  }
  return found;
})()`;

describe.skipIf(!HAVE_CHROMIUM)('hostile alert fields and names in the console, in every language', () => {
  let server: ConsoleServer;
  let browser: Browser;
  let base: string;
  const call = (method: string, url: string, body?: unknown) => server.call(method, url, body);

  beforeAll(async () => {
    server = await startConsoleServer(ADMIN_TOKEN);
    base = server.base;
    const tenant = await call('POST', '/api/v1/tenants', { name: 'hostile', displayName: `Acme ${EVIL}` });
    for (const language of LANGUAGES) {
      await call('POST', '/api/v1/tenants/hostile/users', {
        email: `${language}@hostile.example`,
        name: `${language} ${EVIL}`,
        password: PASSWORD,
        roles: ['Administrator'],
        language,
      });
    }
    await call('POST', '/api/v1/tenants/hostile/groups', { name: `Group ${EVIL}`, email: 'group@hostile.example' });
    await call('POST', '/api/v1/tenants/hostile/sources', { name: EVIL, kind: 'webhook' });
    await call('POST', '/api/v1/tenants/hostile/alerts', {
      alerts: [
        {
          severity: 'Error',
          component: 'Robots',
          message: `Message ${EVIL} ${TEMPLATE} javascript:window.__xss=4`,
          folder: `Folder ${EVIL}`,
          source: { process: EVIL, robot: EVIL, machine: EVIL, queue: EVIL, job: EVIL },
          data: { [EVIL]: EVIL, link: 'javascript:window.__xss=6', nested: { html: EVIL } },
        },
      ],
    });
    const db = server.tocsin.deps.storage.db;
    await enqueueDeliveries(db, [
      testDelivery(tenant.id, 'ops@hostile.example', { recipient: { address: 'ops@hostile.example', name: EVIL, language: 'en', timeZone: 'UTC' } }),
      // Not due for a day, so no worker takes it: it stands as an email the tenant's server refused.
      testDelivery(tenant.id, 'refused@hostile.example', { notBefore: Date.now() + 86_400_000 }),
    ]);
    // What servers say is theirs to choose: a tenant's SMTP server's refusal (the delivery log, the mail banner on
    // every page) and an upstream Orchestrator's (a source's last error).
    const said = `550 5.7.1 ${EVIL} ${TEMPLATE}`;
    await db
      .updateTable('deliveries')
      .set({ status: 'failed', attempts: 1, last_code: 550, last_error: `recipient: ${said}`, smtp_response: said })
      .where('recipient_address', '=', 'refused@hostile.example')
      .execute();
    const now = Date.now();
    await db
      .insertInto('tenant_mail_health')
      .values({
        tenant_id: tenant.id,
        state: 'failing',
        since: now,
        last_code: 550,
        last_error: said,
        permanent: 1,
        transient_since: null,
        incident: 1,
        updated_at: now,
      })
      .execute();
    await db
      .updateTable('sources')
      .set({ last_error: `HTTP 500: ${EVIL}`, last_error_at: now })
      .where('tenant_id', '=', tenant.id)
      .execute();
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** visit opens a page of the console and waits for `ready` to show. */
  async function visit(page: Page, hash: string, ready: (page: Page) => Locator) {
    await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
    await ready(page).first().waitFor();
  }
  const text = (shown: string) => (page: Page) => page.getByText(shown);
  const css = (selector: string) => (page: Page) => page.locator(selector);

  for (const language of LANGUAGES) {
    it(`in ${language}: shows every hostile value as text on every page, running nothing`, async () => {
      const { context, page, problems } = await openTestPage(browser, { width: 1280, locale: language });
      await page.goto(`${base}/`);
      await submitSignIn(page, 'hostile', `${language}@hostile.example`, PASSWORD);
      await page.locator('nav.main-nav').waitFor();
      const findings: string[] = [];
      const check = async (where: string) => {
        for (const found of await page.evaluate<string[]>(FINDINGS)) findings.push(`${where}: ${found}`);
      };
      // The control: a javascript: link planted in the page is found, then taken away. (An event-handler
      // attribute would be found too, but the Content-Security-Policy complains of it in the console.)
      await page.evaluate(`document.body.insertAdjacentHTML('beforeend', '<a id="planted" href="javascript:void 0">x</a>')`);
      expect(await page.evaluate<string[]>(FINDINGS)).toEqual(['A href=javascript:void 0']);
      await page.evaluate(`document.getElementById('planted').remove()`);
      // The tenant's display name is in the header of every page; the payload shows as its text.
      expect(await page.locator('header').first().textContent()).toContain(`Acme ${EVIL}`);

      await visit(page, '#/alerts', text(`Message ${EVIL}`));
      // The mail banner, on every page, shows the server's reply as its text.
      await expect.poll(() => page.getByTestId('mail-health').textContent()).toContain(`${EVIL} ${TEMPLATE}`);
      await check('alerts');
      await page.locator('tr', { hasText: 'Message' }).getByRole('button').first().click();
      await page.getByRole('dialog').waitFor();
      await expect.poll(() => page.getByRole('dialog').textContent()).toContain(`Folder ${EVIL}`);
      await check('alert details');
      await page.keyboard.press('Escape');
      await page.locator('.bell-button').click();
      // The panel opens at once and lists its alerts once its own read is answered: checked with them.
      await page.locator('#bell-panel li', { hasText: 'Message' }).waitFor();
      await check('bell');
      await page.keyboard.press('Escape');
      await visit(page, '#/access/users', text(`${language} ${EVIL}`));
      await check('users');
      await visit(page, '#/access/groups', text(`Group ${EVIL}`));
      await check('groups');
      // The source's own button: the payload as text alone is in the header's tenant name and the groups page before.
      await visit(page, '#/sources', (page) => page.locator('main').getByRole('button', { name: EVIL, exact: true }));
      await expect.poll(() => page.locator('main tr', { hasText: 'HTTP 500' }).textContent()).toContain(EVIL);
      await check('sources');
      await visit(page, '#/deliveries', text('refused@hostile.example'));
      await expect.poll(() => page.locator('tr', { hasText: 'refused@hostile.example' }).textContent()).toContain(`5.7.1 ${EVIL}`);
      await check('deliveries');
      await visit(page, '#/previews', css('iframe'));
      await check('previews');
      await visit(page, '#/preferences', css('#pref-dailyReport'));
      await check('preferences');
      await visit(page, '#/settings/mail', css('#mail-enabled'));
      await check('mail settings');
      expect(findings).toEqual([]);
      expect(problems).toEqual([]);
      await context.close();
    });
  }

  it('keeps a name or a mute value holding a bidirectional override to itself: the date after an acknowledgement, the rest of a mute line, the roles after a role, the day of a token, the kind of a source and a question to delete it read the right way', async () => {
    // U+202E (RIGHT-TO-LEFT OVERRIDE) left open in a user's name or a robot's name turned every word after it
    // backwards up to the end of the line: 'Acknowledged by Mallory ,4 ceD no CTU…', 'R7 … yrollaM yb ,CTU 00:00:00 ,7202 ,1 naJ litnu —'.
    await call('POST', '/api/v1/tenants', { name: 'bidi' });
    await call('POST', '/api/v1/tenants/bidi/users', { email: 'ops@bidi.example', name: 'Ops', password: PASSWORD, roles: ['Administrator'] });
    await call('POST', '/api/v1/tenants/bidi/roles', { name: 'Role\u202e', permissions: ['Alerts.View'] });
    const mallory = await call('POST', '/api/v1/tenants/bidi/users', { email: 'mallory@bidi.example', name: 'Mallory \u202e', roles: ['Robot', 'Role\u202e'] });
    await call('POST', '/api/v1/tenants/bidi/groups', { name: 'Group\u202e', members: [mallory.id] });
    await call('POST', '/api/v1/tenants/bidi/sources', { name: 'Source\u202e', kind: 'webhook' });
    const { token } = await call('POST', `/api/v1/tenants/bidi/users/${mallory.id}/tokens`, { name: 'Token\u202e' });
    const { ids } = await server.call(
      'POST',
      '/api/v1/tenants/bidi/alerts',
      { severity: 'Error', component: 'Queues', message: 'Queue stuck', source: { robot: 'R7\u202e' } },
      token,
    );
    await server.call('POST', `/api/v1/tenants/bidi/alerts/${ids[0]}/acknowledge`, {}, token);
    const mute = await server.call(
      'POST',
      '/api/v1/tenants/bidi/mutes',
      { scope: 'tenant', match: { robot: 'R7\u202e', process: 'Payroll\u202e' }, until: '2099-01-01T00:00:00Z' },
      token,
    );
    expect(mute.createdBy.name).toBe('Mallory \u202e');
    const { context, page, problems } = await openTestPage(browser, { width: 1280, locale: 'en' });
    await page.goto(`${base}/`);
    await submitSignIn(page, 'bidi', 'ops@bidi.example', PASSWORD);
    await page.locator('section.mutes li').first().waitFor();
    await page.locator('small.ack').first().waitFor();
    expect(await page.evaluate<string[]>(OVERRIDES_LEAKING)).toEqual([]);
    // The words are all there, in their order.
    expect(await page.locator('small.ack').first().textContent()).toMatch(/^✓ Acknowledged by Mallory \u202e on /);
    expect(await page.locator('section.mutes li').first().textContent()).toContain('by Mallory \u202e');
    // Manage Access lists a user's roles and groups in one cell.
    await page.evaluate(`location.hash = '#/access/users'`);
    const roles = page.locator('tr', { hasText: 'mallory@bidi.example' }).locator('td').nth(4);
    await expect.poll(() => roles.textContent()).toBe('Robot, Role\u202e, (Group\u202e)');
    expect(await page.evaluate<string[]>(OVERRIDES_LEAKING)).toEqual([]);
    // The user's API tokens, each named before the day it was made.
    await page.locator('tr', { hasText: 'mallory@bidi.example' }).getByRole('button', { name: 'New API token' }).click();
    await page.locator('.token-list li').first().waitFor();
    expect(await page.evaluate<string[]>(OVERRIDES_LEAKING)).toEqual([]);
    await page.keyboard.press('Escape');
    // A question asked with confirm() is text only: the name in it is isolated there too.
    const questions: string[] = [];
    page.on('dialog', (dialog) => {
      questions.push(dialog.message());
      void dialog.dismiss();
    });
    await page.evaluate(`location.hash = '#/access/groups'`);
    // The users' rows stand until the Groups tab is drawn, and Mallory's names its group: its Delete would ask of Mallory.
    await page.locator('a[role="tab"][aria-selected="true"][href="#/access/groups"]').waitFor();
    await page.locator('tr', { hasText: 'Group' }).getByRole('button', { name: 'Delete' }).click();
    await page.evaluate(`location.hash = '#/sources'`);
    await page.getByRole('button', { name: 'Source\u202e' }).click();
    // The source's heading: its name, then its kind.
    await page.locator('#source-title').waitFor();
    expect(await page.evaluate<string[]>(OVERRIDES_LEAKING)).toEqual([]);
    await page.locator('button.danger', { hasText: 'Delete' }).click();
    await expect
      .poll(() => questions)
      .toEqual(['Delete \u2068Group\u202e\u2069?', 'Delete the source \u2068Source\u202e\u2069? Its sender will get 404 from now on.']);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('wraps an alert message of one long unbroken word (a URL, a stack trace) in the alert list, and keeps the bell panel short', async () => {
    await call('POST', '/api/v1/tenants', { name: 'overlong' });
    await call('POST', '/api/v1/tenants/overlong/users', { email: 'ops@overlong.example', name: 'Ops', password: PASSWORD, roles: ['Administrator'] });
    const url = `https://ci.example.com/job/${'a1b2c3d4e5/'.repeat(370)}`.slice(0, 4096);
    await call('POST', '/api/v1/tenants/overlong/alerts', { severity: 'Error', component: 'Jobs', message: url });
    await call('POST', '/api/v1/tenants/overlong/alerts', { severity: 'Fatal', component: 'Robots', message: 'Robot R7 stopped' });
    // Signed in once: the console is loaded afresh at each width (a reload), without a second sign-in, whose
    // password hashing made the test's two sign-ins outlast its 30 s on a loaded machine.
    const { context, page, problems } = await openTestPage(browser, { width: 1280, locale: 'en' });
    await page.goto(`${base}/`);
    await submitSignIn(page, 'overlong', 'ops@overlong.example', PASSWORD);
    await page.locator('nav.main-nav').waitFor();
    for (const width of [1280, 360]) {
      if (width !== page.viewportSize()?.width) {
        await page.setViewportSize({ width, height: 860 });
        await page.reload();
      }
      await page.locator('tr', { hasText: 'Robot R7 stopped' }).waitFor();
      // The table fits its area: the other alert's actions are not thousands of pixels to the right.
      const wrap = await page.evaluate<{ client: number; scroll: number }>(
        `(() => { const w = document.querySelector('.table-wrap'); return { client: w.clientWidth, scroll: w.scrollWidth }; })()`,
      );
      expect(wrap.scroll, `at ${width} px`).toBeLessThanOrEqual(wrap.client + 1);
      await page.locator('.bell-button').click();
      const panel = page.locator('.bell-panel');
      await panel.getByText('Robot R7 stopped').waitFor();
      const box = await panel.boundingBox();
      expect(box!.height, `at ${width} px`).toBeLessThan(600);
      expect(problems).toEqual([]);
    }
    await context.close();
  });

  it('writes an Arabic or Hebrew alert message right to left, isolated from the text around it, in the list, the bell and its windows', async () => {
    await call('POST', '/api/v1/tenants', { name: 'rtl', language: 'fr' });
    await call('POST', '/api/v1/tenants/rtl/users', { email: 'ops@rtl.example', name: 'Ops', password: PASSWORD, roles: ['Administrator'] });
    const arabic = 'تعذر الاتصال بالروبوت R7!';
    const hebrew = 'הרובוט לא מגיב';
    await call('POST', '/api/v1/tenants/rtl/alerts', {
      alerts: [
        { severity: 'Fatal', component: 'Robots', message: arabic, source: { process: 'معالجة الفواتير', robot: 'R7' } },
        { severity: 'Error', component: 'Robots', message: hebrew, folder: '2024 Finance' },
        { severity: 'Error', component: 'Jobs', message: 'Job Payroll faulted' },
      ],
    });
    const { context, page, problems } = await openTestPage(browser, { width: 1280, locale: 'fr' });
    await page.goto(`${base}/`);
    await submitSignIn(page, 'rtl', 'ops@rtl.example', PASSWORD);
    // The direction the text is laid out in.
    const direction = (shown: Locator) => shown.evaluate((e) => e.ownerDocument.defaultView?.getComputedStyle(e).direction);
    const list = page.locator('table.alerts');
    await list.getByText(arabic, { exact: true }).waitFor();
    expect(await direction(list.getByText(arabic, { exact: true }))).toBe('rtl');
    expect(await direction(list.getByText(hebrew, { exact: true }))).toBe('rtl');
    expect(await direction(list.getByText('معالجة الفواتير', { exact: true }))).toBe('rtl');
    // A message in a left-to-right script stays so.
    expect(await direction(list.getByText('Job Payroll faulted', { exact: true }))).toBe('ltr');
    await page.locator('tr', { hasText: arabic }).getByRole('button', { name: 'Détails' }).click();
    const details = page.getByRole('dialog');
    expect(await direction(details.locator('.message-full'))).toBe('rtl');
    expect(await direction(details.getByRole('heading'))).toBe('rtl');
    await page.keyboard.press('Escape');
    await page.locator('tr', { hasText: hebrew }).getByRole('button', { name: 'Couper…' }).click();
    expect(await direction(page.getByRole('dialog').locator('.message-full'))).toBe('rtl');
    await page.keyboard.press('Escape');
    await page.locator('.bell-button').click();
    const panel = page.locator('.bell-panel');
    await panel.getByText(arabic, { exact: true }).waitFor();
    expect(await direction(panel.getByText(arabic, { exact: true }))).toBe('rtl');
    expect(problems).toEqual([]);
    await context.close();
  });
});
