import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium, launchChromium } from '../../test/support/browser.js';
import { LANGUAGES } from '../i18n/languages.js';
import { type MailHealthNoticeKind, renderMailHealthNotice } from './notices.js';

const HAVE_CHROMIUM = haveChromium();
const KINDS: MailHealthNoticeKind[] = ['failing', 'recovered', 'token-expiring'];

describe.skipIf(!HAVE_CHROMIUM)('mail health notices on a phone', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('fit a 375 px screen without sideways scrolling, a long tenant name and server reply wrapped', async () => {
    const page = await browser.newPage({ viewport: { width: 375, height: 800 } });
    for (const language of LANGUAGES) {
      for (const kind of KINDS) {
        const email = renderMailHealthNotice({
          transition: kind,
          language,
          timeZone: 'Europe/Paris',
          tenantName: 'acme',
          tenantDisplayName: `${'Ü'.repeat(60)}_Robotics`,
          at: Date.UTC(2026, 11, 1, 9),
          // What Gmail answers a retired password with, its reference glued to the link as some relays print it.
          lastError: `535-5.7.8 Username and Password not accepted. https://support.google.com/mail/?p=BadCredentials_${'d2e1a72fcca58'.repeat(4)}`,
          settingsUrl: 'https://tocsin.example/#/settings/mail?tenant=acme',
          unsubscribeUrl: `https://tocsin.example/unsubscribe/${'a'.repeat(180)}`,
        });
        await page.setContent(email.html);
        const width = await page.evaluate<{ client: number; scroll: number }>(
          '({ client: document.documentElement.clientWidth, scroll: document.documentElement.scrollWidth })',
        );
        expect(width.scroll, `${kind} in ${language}`).toBeLessThanOrEqual(width.client);
      }
    }
  });
});
