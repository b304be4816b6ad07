import { expect, it } from 'vitest';
import { haveChromium, sidewaysAt } from '../../test/support/browser.js';
import { unsubscribePage } from '../reports/unsubscribe/page.js';
import { type PageContext, confirmationPage, donePage } from './page.js';

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
