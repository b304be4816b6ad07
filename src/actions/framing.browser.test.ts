import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { haveChromium, launchChromium } from '../../test/support/browser.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { UnsubscribeLinks } from '../reports/unsubscribe/links.js';
import { FakeClock } from '../shared/clock.js';
import { ActionLinks } from './links.js';

const PUBLIC_URL = 'https://tocsin.example.com';
const ELSEWHERE = 'https://elsewhere.example';
const DAY = 86_400_000;

let t: TestApp | undefined;
const clock = new FakeClock(Date.parse('2026-03-01T08:00:00Z'));
beforeAll(async () => {
  if (haveChromium()) t = await startTestApp('sqlite', { TOCSIN_PUBLIC_URL: PUBLIC_URL }, { clock });
});
afterAll(() => t?.close());

/** serveTocsin answers the browser's requests for Tocsin's public URL from the app itself, headers and all. */
async function serveTocsin(context: BrowserContext, app: TestApp) {
  await context.route(`${PUBLIC_URL}/**`, async (route) => {
    const request = route.request();
    const answer = await app.tocsin.app.inject({
      method: request.method() as 'GET' | 'POST',
      url: new URL(request.url()).pathname,
      headers: await request.allHeaders(),
      ...(request.postDataBuffer() ? { payload: request.postDataBuffer()! } : {}),
    });
    const headers = Object.fromEntries(Object.entries(answer.headers).map(([name, value]) => [name, String(value)]));
    await route.fulfill({ status: answer.statusCode, headers, body: answer.rawPayload });
  });
}

/** applied clicks the page's Confirm and gives the status of the POST it made. */
async function applied(page: Page): Promise<number> {
  const [answer] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.locator('button[type=submit]').click()]);
  return answer.status();
}

it.skipIf(!haveChromium())(
  "no other site can frame the page of an email's mute or unsubscribe link (a decoy over its Confirm), which still applies when opened itself",
  async () => {
    const app = t!;
    const admin = await app.tenantWithUser('frames', ['Administrator']);
    const robot = (await app.tenantWithUser('frames', ['Robot'])).token;
    const raised = await app.call(
      'POST',
      '/api/v1/tenants/frames/alerts',
      { severity: 'Fatal', component: 'Jobs', message: 'J1 faulted', source: { process: 'Invoices' } },
      robot,
    );
    const alertId = raised.json().ids[0] as string;
    const actions = new ActionLinks(app.tocsin.deps.secretBox, PUBLIC_URL, 7 * DAY, clock);
    const mute = (await actions.urlsFor({ tenantId: admin.tenantId, userId: admin.userId, address: admin.email, canMute: true }, { alertId })).mute!;
    const unsubscribe = await new UnsubscribeLinks(app.tocsin.deps.storage.db, PUBLIC_URL, clock).url({
      tenantId: admin.tenantId,
      kind: 'daily',
      recipient: { type: 'user', id: admin.userId, address: admin.email },
    });

    const browser = await launchChromium();
    try {
      const context = await browser.newContext();
      await serveTocsin(context, app);
      // Another site's page that frames both links, as a clickjacking page would under its decoy.
      await context.route(`${ELSEWHERE}/**`, (route) =>
        route.fulfill({ contentType: 'text/html', body: `<iframe src="${mute}"></iframe><iframe src="${unsubscribe}"></iframe>` }),
      );
      const page = await context.newPage();
      await page.goto(`${ELSEWHERE}/`, { waitUntil: 'load' });
      const framed = page.frames().filter((frame) => frame !== page.mainFrame());
      expect(framed).toHaveLength(2);
      for (const frame of framed) expect(await frame.locator('form').count()).toBe(0);

      // Opened itself, as from the email, the page's form still posts to it.
      await page.goto(mute);
      expect(await applied(page)).toBe(200);
      const mutes = (await app.call('GET', '/api/v1/tenants/frames/mutes', undefined, admin.token)).json().items;
      expect(mutes).toMatchObject([{ scope: 'tenant', match: { process: 'Invoices' } }]);

      await page.goto(unsubscribe);
      expect(await applied(page)).toBe(200);
      const preferences = (await app.call('GET', '/api/v1/tenants/frames/me/alert-preferences', undefined, admin.token)).json();
      expect(preferences.email.dailyReport).toBe(false);
    } finally {
      await browser.close();
    }
  },
);
