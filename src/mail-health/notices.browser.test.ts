import { expect, it } from 'vitest';
import { haveChromium, sidewaysAt } from '../../test/support/browser.js';
import { LANGUAGES } from '../i18n/languages.js';
import { type MailHealthNoticeKind, renderMailHealthNotice } from './notices.js';

const KINDS: MailHealthNoticeKind[] = ['failing', 'recovered', 'token-expiring'];

it.skipIf(!haveChromium())('mail health notices fit a 375 px screen without sideways scrolling, a long tenant name and server reply wrapped', async () => {
  const notices = LANGUAGES.flatMap((language) =>
    KINDS.map((kind) => ({
      name: `${kind} in ${language}`,
      html: renderMailHealthNotice({
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
      }).html,
    })),
  );
  const widths = await sidewaysAt(
    375,
    notices.map((notice) => notice.html),
  );
  expect(notices.filter((_, i) => widths[i]! > 0).map((notice) => notice.name)).toEqual([]);
});
