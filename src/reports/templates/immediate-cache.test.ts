import fc from 'fast-check';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { prepareMime, writeMime } from '../../delivery/smtp/mime.js';
import { LANGUAGES } from '../../i18n/languages.js';
import { ImmediateEmailCache } from './immediate-cache.js';
import { renderImmediateEmail } from './immediate-email.js';
import { sampleImmediate } from './samples.js';
import type { ImmediateEmailView } from './view-models.js';

const NOW = Date.UTC(2026, 10, 27, 9, 3, 0);

type Actions = ImmediateEmailView['alert']['actions'];

function view(language: (typeof LANGUAGES)[number], name: string | undefined, unsubscribe: string, actions: Actions | 'sample' = 'sample'): ImmediateEmailView {
  const sample = sampleImmediate({
    tenant: { name: 'acme', displayName: 'Acme <Finance> & "Co"', timeZone: 'Europe/Paris' },
    language,
    timeZone: 'Asia/Tokyo',
    now: NOW,
    publicUrl: 'https://tocsin.example.com',
    summaryIntervalSeconds: 600,
  });
  return {
    ...sample,
    recipient: { ...sample.recipient, name },
    links: { ...sample.links, unsubscribe },
    alert: { ...sample.alert, actions: actions === 'sample' ? sample.alert.actions : actions },
  };
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
// A recipient's own action links: some offered, some not (mute needs Alerts.Edit), now and then an odd one.
const actionUrl = fc.option(
  fc.oneof(
    tokens.map((t) => `https://tocsin.example.com/actions/${t}`),
    oddUrls,
  ),
  { nil: undefined },
);
const actions = fc.option(fc.record({ mute: actionUrl, snooze: actionUrl, acknowledge: actionUrl }), { nil: undefined });
const ourActionUrl = fc.option(
  tokens.map((t) => `https://tocsin.example.com/actions/${t}`),
  { nil: undefined },
);
const ourActions = fc.option(fc.record({ mute: ourActionUrl, snooze: ourActionUrl, acknowledge: ourActionUrl }), { nil: undefined });

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
        actions,
        (language, name, url, urls) => {
          const v = view(language, name, url, urls);
          const { prepared, ...strings } = cache.render(v);
          expect(strings).toEqual(renderImmediateEmail(v));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('prepares MIME whose spliced message reads back as each recipient’s email', async () => {
    const cache = new ImmediateEmailCache(4);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...LANGUAGES),
        names,
        tokens.map((t) => `https://tocsin.example.com/unsubscribe/${t}`),
        ourActions,
        async (language, name, url, urls) => {
          const email = cache.render(view(language, name, url, urls));
          expect(email.prepared).toBeDefined();
          const send = {
            from: { address: 'alerts@example.com', name: 'Tocsin' },
            to: { address: 'ana@example.com', name: 'Ana Martín' },
            messageId: '<m1@tocsin>',
            date: new Date(NOW),
          };
          const raw = writeMime(email.prepared!.template, { ...send, values: email.prepared!.values }).toString('latin1');
          expect(raw.split('\r\n').every((line) => line.length <= 998)).toBe(true);
          const parsed = await simpleParser(raw);
          // Against the same strings encoded whole, without slots.
          const whole = await simpleParser(writeMime(prepareMime(email), send));
          expect(parsed.subject).toBe(email.subject);
          expect(parsed.text).toBe(email.text);
          expect(parsed.html).toBe(email.html);
          expect(parsed.html).toBe(whole.html);
          expect(parsed.headers.get('list-unsubscribe')).toEqual(whole.headers.get('list-unsubscribe'));
          expect(parsed.to).toEqual(whole.to);
        },
      ),
      { numRuns: 60 },
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
