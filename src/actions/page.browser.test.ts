import { expect, it } from 'vitest';
import { axeViolations, haveChromium, launchChromium, sidewaysAt } from '../../test/support/browser.js';
import { invalidLinkPage, unsubscribePage } from '../reports/unsubscribe/page.js';
import { type PageContext, confirmationPage, donePage, refusalPage } from './page.js';
import { HttpError } from '../http/problem.js';

it.skipIf(!haveChromium())(
  "the pages of an email's links fit a 375 px screen without sideways scrolling, a long unbroken message, name or address wrapped",
  async () => {
    // What robots write: a URL or a path with no space in it, and names as long as they come.
    const long = `https://orchestrator.example.com/odata/Jobs?$filter=${'x'.repeat(150)}`;
    const context = (action: PageContext['action']): PageContext => ({
      language: 'en',
      timeZone: 'Europe/Paris',
      tenantName: 'T'.repeat(120),
      action,
      alertTitle: `Custom alert: ${long}`,
      options: [{ key: 'process', parts: [{ field: 'process', value: 'P'.repeat(120) }] }],
    });
    const at = Date.UTC(2026, 11, 1, 9);
    const pages = {
      acknowledge: confirmationPage(context('acknowledge'), at),
      mute: confirmationPage(context('mute'), at),
      acknowledged: donePage(context('acknowledge'), { name: 'N'.repeat(120), at }),
      snoozed: donePage(context('snooze'), { what: [{ field: 'process', value: 'P'.repeat(120) }], until: at }),
      unsubscribe: unsubscribePage(
        { tenantId: 't', kind: 'daily', recipient: { type: 'user', id: 'u', address: `${'a'.repeat(60)}@${'b'.repeat(60)}.example.com` } },
        'en',
        'ask',
        'token',
      ),
    };
    const widths = await sidewaysAt(375, Object.values(pages));
    expect(Object.keys(pages).filter((_, i) => widths[i]! > 0)).toEqual([]);
  },
);

it.skipIf(!haveChromium())(
  "the pages of an email's links keep their content in a main landmark, for screen readers' landmark navigation (axe, every impact)",
  async () => {
    const context: PageContext = {
      language: 'fr',
      timeZone: 'Europe/Paris',
      tenantName: 'Acme',
      action: 'snooze',
      alertTitle: 'Robot offline: R7',
      options: [{ key: 'robot', parts: [{ field: 'robot', value: 'R7' }] }],
    };
    const at = Date.UTC(2026, 11, 1, 9);
    const recipient = { tenantId: 't', kind: 'daily', recipient: { type: 'user', id: 'u', address: 'ann@example.com' } } as const;
    const pages = {
      snooze: confirmationPage(context, at),
      acknowledge: confirmationPage({ ...context, action: 'acknowledge' }, at),
      snoozed: donePage(context, { what: context.options[0]!.parts, until: at }),
      refused: refusalPage(new HttpError(404, 'Not Found', 'Action link not found.'), 'fr')!,
      unsubscribe: unsubscribePage(recipient, 'fr', 'ask', 'token'),
      unsubscribed: unsubscribePage(recipient, 'fr', 'unsubscribed', 'token'),
      invalid: invalidLinkPage('fr'),
    };
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const found: Record<string, unknown> = {};
      for (const [name, html] of Object.entries(pages)) {
        await page.setContent(html);
        found[name] = await axeViolations(page, ['minor', 'moderate', 'serious', 'critical']);
      }
      expect(found).toEqual(Object.fromEntries(Object.keys(pages).map((name) => [name, []])));
    } finally {
      await browser.close();
    }
  },
);
