import { describe, expect, it } from 'vitest';
import { renderMailHealthNotice } from '../../mail-health/notices.js';
import { renderTestEmail } from './test-email.js';
import { clip, field, shownTenant } from './text.js';

describe('fields as emails show them', () => {
  it('keeps text of up to max characters as it is, counting a surrogate pair as one', () => {
    expect(clip('abc', 3)).toBe('abc');
    expect(clip('🔥🔥🔥', 3)).toBe('🔥🔥🔥');
    expect(clip('', 1)).toBe('');
  });

  it('shortens longer text to max characters ending in an ellipsis, never splitting a pair', () => {
    expect(clip('abcd', 3)).toBe('ab…');
    expect(clip('🔥🔥🔥🔥', 3)).toBe('🔥🔥…');
    expect(clip('ab  cd', 4)).toBe('ab…');
  });

  it('never cuts a character as people see it: an emoji sequence, a flag, a letter and its accent or dakuten', () => {
    // Cut between code points, a family read as a man, the French flag as a boxed F, and a
    // decomposed (NFD, as macOS names files) が as か: the subject said something else.
    const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}';
    expect(clip(`ab${family}cd`, 4)).toBe('ab…');
    expect(clip(`ab${family}cd`, 8)).toBe(`ab${family}…`);
    expect(clip('ab\u{1F1EB}\u{1F1F7}cd', 4)).toBe('ab…');
    expect(clip('ab\u{1F1EB}\u{1F1F7}cd', 5)).toBe('ab\u{1F1EB}\u{1F1F7}…');
    expect(clip('Cafe\u0301 noir', 5)).toBe('Caf…');
    expect(clip('\u304B\u3099\u304B\u3099\u304B\u3099', 4)).toBe('\u304B\u3099…');
    // One character longer than the room (hundreds of combining marks) is cut as before, rather than shown as nothing.
    expect(clip(`a${'\u0301'.repeat(10)}`, 4)).toBe('a\u0301\u0301…');
  });

  it('folds whitespace onto one line before clipping', () => {
    expect(field(' a\n\tb  c ', 5)).toBe('a b c');
    expect(field('a\nb c d', 4)).toBe('a b…');
  });

  it('keeps no-break spaces as they are, so that no line breaks inside « 12 h 05 », « 1 200 » or before a French colon', () => {
    // oneLine folded every \s, no-break spaces included: a French message's narrow no-break
    // spaces (U+202F) reached both parts of a summary as plain ones.
    expect(field('Échec à 12\u202fh\u202f05\u00a0: 1\u202f200 lignes\n\u2007ok')).toBe('Échec à 12\u202fh\u202f05\u00a0: 1\u202f200 lignes \u2007ok');
    expect(field(' \n a \t b ')).toBe('a b');
  });

  it('names a tenant whose display name shows nothing (bidirectional controls, zero-width spaces) by its name', () => {
    // Such a display name (the API takes '\u202e\u202c') went out as nothing: subjects such as
    // ': test email from Tocsin' and sentences such as '…the mail settings of .'.
    for (const displayName of ['\u202e\u202c', '\u2066\u2069', '\u200b', '\u202e \u200d']) {
      expect(shownTenant({ name: 'acme', displayName }).displayName).toBe('acme');
      const test = renderTestEmail({
        language: 'en',
        timeZone: 'UTC',
        sentAt: Date.UTC(2026, 11, 5, 9, 0),
        tenant: { name: 'acme', displayName },
        tested: { host: 'smtp.example.com', port: 587, security: 'starttls', fromAddress: 'alerts@example.com' },
      });
      expect(test.subject).toBe('acme: test email from Tocsin');
      expect(test.text).toContain('the mail settings of acme.');
      const notice = renderMailHealthNotice({
        transition: 'failing',
        language: 'en',
        timeZone: 'UTC',
        tenantName: 'acme',
        tenantDisplayName: displayName,
        at: Date.UTC(2026, 11, 5, 9, 0),
        lastError: '421 busy',
        settingsUrl: 'https://tocsin.example.com/#/settings/mail?tenant=acme',
      });
      expect(notice.subject).toMatch(/^Alert emails of acme /);
      expect(notice.text).toContain(' acme ');
    }
    expect(shownTenant({ name: 'acme', displayName: 'Acme \u202eCorp' }).displayName).toBe('Acme Corp');
  });
});
