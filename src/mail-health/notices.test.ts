import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '../i18n/languages.js';
import { type MailHealthNoticeKind, renderMailHealthNotice } from './notices.js';

const KINDS: MailHealthNoticeKind[] = ['failing', 'recovered', 'token-expiring'];

/** consoleStrings are the console's own strings in a language, where the notices send their reader. */
function consoleStrings(language: string): Record<string, string> {
  return JSON.parse(fs.readFileSync(new URL(`../console/app/i18n/${language}.json`, import.meta.url), 'utf8'));
}

function notice(transition: MailHealthNoticeKind, language: (typeof LANGUAGES)[number]) {
  return renderMailHealthNotice({
    transition,
    language,
    timeZone: 'Europe/Paris',
    tenantName: 'acme',
    tenantDisplayName: 'Acme Robotics',
    at: Date.UTC(2026, 11, 1, 9),
    lastError: '535 5.7.8 Authentication credentials invalid',
    settingsUrl: 'https://tocsin.example/#/settings/mail?tenant=acme',
    unsubscribeUrl: 'https://tocsin.example/unsubscribe/abc',
  });
}

describe('mail health notices', () => {
  it.each(LANGUAGES)('in %s, name the page as the console names it, Settings > Mail', (language) => {
    const strings = consoleStrings(language);
    for (const kind of KINDS) {
      // Japanese puts the names in brackets, as its UI guides do.
      const text = notice(kind, language).text.replace(/[[\]]/g, '');
      expect(text).toContain(`${strings['settings.title']} > ${strings['settings.mailTab']}`);
    }
  });

  it.each(LANGUAGES)('in %s, say in which time zone the time it gives is, as every other email does', (language) => {
    for (const kind of KINDS) {
      const email = notice(kind, language);
      // 1 December 2026 09:00 UTC is 10:00 in Paris: the time and its zone, in the text and the HTML.
      for (const part of [email.text, email.html]) {
        expect(part).toContain('10:00');
        expect(part).toContain('Europe/Paris (UTC+01:00)');
      }
    }
  });

  it('in Spanish, write « desde el » before the date, as every other Spanish email and the console do', () => {
    for (const kind of ['failing', 'recovered'] as const) {
      const email = notice(kind, 'es');
      for (const part of [email.text, email.html]) {
        expect(part).toContain('desde el 1 dic 2026, 10:00');
        expect(part).not.toMatch(/\b(desde|hasta) \d/);
      }
    }
  });

  it('in French, say « du locataire », never « de » before the name, and put the space before every colon', () => {
    for (const kind of KINDS) {
      const email = notice(kind, 'fr');
      expect(`${email.subject}\n${email.text}`).not.toMatch(/\bde Acme/);
      expect(email.subject).toContain('du locataire Acme Robotics');
      expect(email.text).toContain('Se désabonner des avis sur le serveur de messagerie\u00a0: https://tocsin.example/unsubscribe/abc');
    }
  });
});
