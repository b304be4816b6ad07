import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '../../i18n/languages.js';
import { ImmediateEmailCache } from './immediate-cache.js';
import { renderImmediateEmail } from './immediate-email.js';
import { sampleImmediate } from './samples.js';
import type { ImmediateEmailView } from './view-models.js';

const NOW = Date.UTC(2026, 10, 27, 9, 3, 0);

function view(language: (typeof LANGUAGES)[number], name: string | undefined, unsubscribe: string): ImmediateEmailView {
  const sample = sampleImmediate({
    tenant: { name: 'acme', displayName: 'Acme <Finance> & "Co"', timeZone: 'Europe/Paris' },
    language,
    timeZone: 'Asia/Tokyo',
    now: NOW,
    publicUrl: 'https://tocsin.example.com',
    summaryIntervalSeconds: 600,
  });
  return { ...sample, recipient: { ...sample.recipient, name }, links: { ...sample.links, unsubscribe } };
}

// Names people have, and names meant to break out of the HTML or the text.
const names = fc.option(
  fc.oneof(
    fc.string({ maxLength: 150 }),
    fc.constantFrom("Seán O'Brien", 'Ana & <b>Bo</b>', '  Élise\n\tMartin ', '=`"', '{{name}}', '$t(common.greeting)', '山田 太郎', ''),
  ),
  { nil: undefined },
);
const tokens = fc.stringMatching(/^[A-Za-z0-9_-]{1,60}(\.[A-Za-z0-9_-]{1,40})?$/);
const oddUrls = fc.constantFrom(
  '',
  'javascript:alert(1)',
  'https://tocsin.example.com/unsubscribe/a b<c>',
  'mailto:x@example.com',
  'https://EXAMPLE.com:443/x',
);

describe('ImmediateEmailCache', () => {
  it('gives byte for byte the email a full render gives, whatever the name and unsubscribe link', () => {
    const cache = new ImmediateEmailCache(4);
    fc.assert(
      fc.property(
        fc.constantFrom(...LANGUAGES),
        names,
        fc.oneof(
          tokens.map((t) => `https://tocsin.example.com/unsubscribe/${t}`),
          oddUrls,
        ),
        (language, name, url) => {
          const v = view(language, name, url);
          expect(cache.render(v)).toEqual(renderImmediateEmail(v));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('renders once for the recipients of one alert and fills in each one', () => {
    const cache = new ImmediateEmailCache();
    const ana = cache.render(view('en', 'Ana', 'https://tocsin.example.com/unsubscribe/tokenA'));
    const bo = cache.render(view('en', 'Bo & Co', 'https://tocsin.example.com/unsubscribe/tokenB'));
    expect(ana.html).toContain('Hello Ana,');
    expect(bo.html).toContain('Hello Bo &amp; Co,');
    expect(bo.text).toContain('Hello Bo & Co,');
    expect(bo.headers['List-Unsubscribe']).toBe('<https://tocsin.example.com/unsubscribe/tokenB>');
    expect(bo.html).not.toContain('tokenA');
  });
});
