import { describe, expect, it } from 'vitest';
import type { Language } from '../../i18n/languages.js';
import { PREVIEW_KINDS, renderPreview, sampleContext } from './samples.js';

// The languages a reader's client and screen reader are told, one of each kind of script and length:
// English, French (no-break spaces), Japanese, German (long compounds).
const READER_LANGUAGES: readonly Language[] = ['en', 'fr', 'ja', 'de'];

const fromHtml = (html: string) =>
  html.replace(/&#x([0-9a-f]+);|&#(\d+);|&amp;|&lt;|&gt;|&quot;/gi, (entity, hex, dec) =>
    hex
      ? String.fromCodePoint(Number.parseInt(hex, 16))
      : dec
        ? String.fromCodePoint(Number(dec))
        : { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"' }[entity]!,
  );

describe('what a screen reader and a mail client are told about each email', () => {
  for (const language of READER_LANGUAGES) {
    for (const kind of PREVIEW_KINDS) {
      it(`${kind} in ${language}: the reader's language and direction, its subject as the title, layout tables not read as data`, () => {
        const email = renderPreview(kind, sampleContext(language));
        expect(email.html).toMatch(new RegExp(`<html lang="${language}" dir="ltr"[ >]`));
        expect(fromHtml(email.html.match(/<title>([^<]*)<\/title>/)?.[1] ?? '')).toBe(email.subject);
        // A table that only lays out lines is presentation; one with column headers (the daily's counts) is data and keeps them.
        const tables = [...email.html.matchAll(/<table\b([^>]*)>((?:(?!<table\b)[\s\S])*?)<\/table>/g)];
        expect(tables.filter(([, attributes, body]) => attributes!.includes('role="presentation"') === body!.includes('<th'))).toEqual([]);
        const dataTables = tables.filter(([, , body]) => body!.includes('<th')).length;
        expect((email.html.match(/<table\b[^>]*>/g) ?? []).filter((table) => !table.includes('role="presentation"'))).toHaveLength(dataTables);
      });
    }
  }

  for (const kind of ['summary', 'daily', 'immediate', 'test'] as const) {
    it(`${kind}: its heading is a heading, the one first-level heading, its sections' below it in order, so that a screen reader can jump to them`, () => {
      const email = renderPreview(kind, sampleContext('en'));
      const headings = [...email.html.matchAll(/<h([1-6])\b[^>]*>(.*?)<\/h\1>/gs)].map(
        ([, level, text]) => `h${level} ${fromHtml(text!.replace(/<[^>]*>/g, '').trim())}`,
      );
      // The text part's heading (under the tenant's name) is the HTML's h1.
      expect(headings[0]).toBe(`h1 ${email.text.split('\n')[1]}`);
      expect(headings.filter((h) => h.startsWith('h1 '))).toHaveLength(1);
      // No level skipped: an h3 under an h2, never straight under the h1.
      const levels = headings.map((h) => Number(h[1]));
      if (kind !== 'test') expect(levels).toContain(2);
      expect(levels.filter((level, i) => i > 0 && level > levels[i - 1]! + 1)).toEqual([]);
    });
  }
});

describe('links a screen reader lists out of their context', () => {
  for (const language of READER_LANGUAGES) {
    for (const kind of ['summary', 'daily'] as const) {
      it(`${kind} in ${language}: no two links going to different places go by the same name (ten "Snooze for me" each say which alerts)`, () => {
        const email = renderPreview(kind, sampleContext(language));
        const byName = new Map<string, Set<string>>();
        for (const [, attributes, text] of email.html.matchAll(/<a\b([^>]*)>(.*?)<\/a>/gs)) {
          const name = fromHtml(attributes!.match(/aria-label="([^"]*)"/)?.[1] ?? text!.replace(/<[^>]*>/g, '').trim());
          const href = fromHtml(attributes!.match(/href="([^"]*)"/)![1]!);
          byName.set(name, (byName.get(name) ?? new Set()).add(href));
        }
        expect([...byName].filter(([, hrefs]) => hrefs.size > 1).map(([name, hrefs]) => `${name} ×${hrefs.size}`)).toEqual([]);
      });
    }
  }

  it('names an action link by its label first, then what it acts on, as the language writes a label (French space before the colon)', () => {
    const names = [...renderPreview('summary', sampleContext('fr')).html.matchAll(/aria-label="([^"]*)"/g)].map(([, name]) => fromHtml(name!));
    expect(names.some((name) => name.startsWith('Mettre en veille pour moi\u00a0: '))).toBe(true);
  });
});

it("heads each of a summary's groups (what failed) with an h2, so that a screen reader goes from one to the next", () => {
  const email = renderPreview('summary', sampleContext('en'));
  const h2s = [...email.html.matchAll(/<h2\b[^>]*>(.*?)<\/h2>/gs)].map(([, text]) =>
    fromHtml(
      text!
        .replace(/<[^>]*>/g, '')
        .replace(/\s+/g, ' ')
        .trim(),
    ),
  );
  const groups = email.text
    .split('\n')
    .filter((line) => line.startsWith('== '))
    .map((line) => line.slice(3));
  expect(h2s).toEqual(groups);
});
