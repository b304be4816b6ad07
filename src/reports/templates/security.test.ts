import fs from 'node:fs';
import fc from 'fast-check';
import { Parser } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '../../i18n/languages.js';
import type { RenderedEmail } from '../../delivery/contract.js';
import { renderDailyEmail } from './daily-email.js';
import { headerText } from './headers.js';
import { renderImmediateEmail } from './immediate-email.js';
import { httpUrl } from './links.js';
import { PREVIEW_KINDS, type SampleContext, renderPreview, sampleDaily, sampleImmediate, sampleSummary } from './samples.js';
import { renderSummaryEmail } from './summary-email.js';
import { renderTestEmail } from './test-email.js';
import { ImmediateEmailCache } from './immediate-cache.js';
import { type MailHealthNoticeKind, renderMailHealthNotice } from '../../mail-health/notices.js';
import type { Unreached } from '../../delivery/contract.js';

// What tenants and robots might put in any field that ends up in an email.
const PAYLOADS = [
  'Subject\r\nBcc: victim@example.com',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '"><svg onload=alert(1)>',
  "' onmouseover='alert(1)",
  'javascript:alert(1)',
  '{{constructor.constructor "alert(1)"}}',
  '{{#each this}}x{{/each}}',
  '$t(summary.heading)',
  '</td></tr></table><a href="javascript:alert(1)">click</a>',
  '<style>body{display:none}</style>',
];
const EVIL = PAYLOADS.join(' ');

interface Findings {
  elements: string[];
  handlers: string[];
  badUrls: string[];
}

/** inspect parses the HTML like a browser's tokenizer and lists what could run or navigate. */
function inspect(html: string): Findings {
  const found: Findings = { elements: [], handlers: [], badUrls: [] };
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (['script', 'iframe', 'object', 'embed', 'svg', 'img', 'form', 'base'].includes(name)) found.elements.push(name);
        for (const [attribute, value] of Object.entries(attributes)) {
          if (/^on/i.test(attribute)) found.handlers.push(`${name} ${attribute}`);
          if (['href', 'src', 'action', 'formaction', 'xlink:href'].includes(attribute) && !/^https?:\/\//i.test(value.trim()))
            found.badUrls.push(`${name} ${attribute}=${value}`);
        }
      },
    },
    { decodeEntities: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  return found;
}

const context = (language: (typeof LANGUAGES)[number]): SampleContext => ({
  tenant: { name: 'acme', displayName: `Acme ${EVIL}`, timeZone: 'Europe/Paris' },
  language,
  timeZone: 'Europe/Paris',
  now: Date.UTC(2026, 10, 27, 9, 3),
  publicUrl: 'https://tocsin.example.com',
  summaryIntervalSeconds: 600,
});

/** Every email with every text field of the alerts, recipient and tenant replaced by the payloads. */
function hostileEmails(language: (typeof LANGUAGES)[number]): RenderedEmail[] {
  const c = context(language);
  const summary = sampleSummary(c);
  const daily = sampleDaily(c);
  const immediate = sampleImmediate(c);
  const evilSource = { process: EVIL, robot: EVIL, machine: EVIL, queue: EVIL, job: EVIL };
  const evilText = { component: EVIL, componentDisplayName: EVIL, event: EVIL, eventDisplayName: EVIL };
  return [
    renderSummaryEmail({
      ...summary,
      recipient: { ...summary.recipient, name: EVIL },
      groups: summary.groups.map((g, i) => ({
        ...g,
        ...evilText,
        message: EVIL,
        folder: EVIL,
        source: evilSource,
        dedupKey: EVIL,
        url: i % 2 ? 'javascript:alert(1)' : 'https://tocsin.example.com/#/alerts?event="><script>',
      })),
      links: { seeMore: 'javascript:alert(1)', preferences: 'data:text/html,<script>alert(1)</script>', unsubscribe: 'vbscript:x' },
    }),
    renderDailyEmail({
      ...daily,
      recipient: { ...daily.recipient, name: EVIL },
      counts: daily.counts.map((row) => ({ ...row, ...evilText })),
      links: { viewAll: ' javascript:alert(1)', preferences: 'JAVASCRIPT:alert(1)', unsubscribe: 'https://tocsin.example.com/unsubscribe/"><script>' },
    }),
    renderImmediateEmail({
      ...immediate,
      alert: { ...immediate.alert, ...evilText, message: EVIL, folder: EVIL, source: evilSource, data: { [EVIL]: EVIL, nested: { EVIL } } },
      links: { alert: 'javascript:alert(1)', preferences: 'https://tocsin.example.com/#/preferences', unsubscribe: 'mailto:x@example.com' },
    }),
    renderTestEmail({
      language,
      tenant: { name: `acme\r\nBcc: x@example.com`, displayName: EVIL },
      sentAt: 0,
      timeZone: 'UTC',
      tested: { host: EVIL, port: 25, security: 'none', fromAddress: EVIL },
    }),
  ];
}

describe('hostile alert fields, names and links', () => {
  for (const language of LANGUAGES) {
    it(`in ${language}: no script, no event handler, no non-http(s) URL in any email`, () => {
      for (const email of hostileEmails(language)) {
        expect(inspect(email.html)).toEqual({ elements: [], handlers: [], badUrls: [] });
        // The payloads are shown, escaped, as the text they are.
        expect(email.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
        expect(email.text).toContain('<script>alert(1)</script>');
      }
    });
  }

  // The notices to a tenant's administrators: its display name, and its SMTP server's reply (any text a
  // server a tenant chose may send back), or why no server answered, with what Node said of it.
  for (const language of LANGUAGES) {
    it(`in ${language}: no script, no event handler, no non-http(s) URL in any mail-health notice`, () => {
      const notice = (transition: MailHealthNoticeKind, unreached?: Unreached) =>
        renderMailHealthNotice({
          transition,
          language,
          timeZone: 'UTC',
          tenantName: 'acme',
          tenantDisplayName: `Acme ${EVIL}`,
          at: 0,
          lastError: `535 ${EVIL}`,
          unreached,
          settingsUrl: 'https://tocsin.example.com/#/settings/mail',
          unsubscribeUrl: 'https://tocsin.example.com/unsubscribe/x',
        });
      const notices = [
        ...(['failing', 'recovered', 'token-expiring'] as const).map((transition) => notice(transition)),
        notice('failing', { cause: 'refused', detail: EVIL }),
      ];
      for (const email of notices) {
        expect(inspect(email.html)).toEqual({ elements: [], handlers: [], badUrls: [] });
        // The payloads are shown as the text they are (the tenant's name is in every notice).
        expect(email.text).toContain('<script>alert(1)</script>');
        expect(email.html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
      }
      // The server's reply, and Node's words where none answered, are there too, as text.
      expect(notices[0]!.text).toMatch(/535 Subject[\s\S]*<img src=x onerror=alert\(1\)>/);
      expect(notices[3]!.text).toContain('<img src=x onerror=alert(1)>');
    });
  }

  it('never evaluates {{…}} or $t(…) found in data: they appear as written', () => {
    for (const email of hostileEmails('en')) {
      expect(email.text).toContain('{{constructor.constructor "alert(1)"}}');
      expect(email.text).toContain('{{#each this}}x{{/each}}');
      expect(email.text).toContain('$t(summary.heading)');
      expect(email.html).toContain('{{#each this}}x{{/each}}');
    }
  });

  it('keeps line breaks out of every header in every language: a CR/LF payload cannot add a header', () => {
    for (const email of LANGUAGES.flatMap(hostileEmails)) {
      for (const [name, value] of Object.entries({ Subject: email.subject, ...email.headers })) {
        expect([name, /[\r\n\0\u0085\u2028\u2029]/.test(value)]).toEqual([name, false]);
        expect(Buffer.byteLength(value)).toBeLessThan(998);
      }
      expect(email.subject).toContain('Subject Bcc: victim@example.com');
    }
  });

  it('drops links that are not http(s), rather than showing them', () => {
    const [summary, daily, immediate] = hostileEmails('en');
    expect(summary!.headers['List-Unsubscribe']).toBeUndefined();
    expect(summary!.headers['List-Unsubscribe-Post']).toBeUndefined();
    expect(summary!.html).not.toMatch(/href="\s*(javascript|data|vbscript):/i);
    expect(daily!.html).not.toMatch(/href="\s*javascript:/i);
    expect(daily!.headers['List-Unsubscribe']).toBe('<https://tocsin.example.com/unsubscribe/%22%3E%3Cscript%3E>');
    expect(immediate!.headers['List-Unsubscribe']).toBeUndefined();
  });
});

describe('any text at all in any field', () => {
  it('yields HTML with nothing active and header-safe subjects (property)', () => {
    // Markup-heavy strings as well as arbitrary Unicode, control characters included.
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc
        .array(fc.constantFrom('<', '>', '"', "'", '=', '/', '`', '&', '{{', '}}', 'script', 'onerror', 'javascript:', ' ', '\r\n', '\u2028'), {
          maxLength: 30,
        })
        .map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(text, text, text, (message, name, tenant) => {
        const c = { ...context('en'), tenant: { name: 'acme', displayName: tenant, timeZone: 'UTC' } };
        const summary = sampleSummary(c);
        const email = renderSummaryEmail({
          ...summary,
          recipient: { ...summary.recipient, name },
          groups: summary.groups.map((g) => ({ ...g, message, eventDisplayName: name, folder: message, source: { process: tenant } })),
        });
        expect(inspect(email.html)).toEqual({ elements: [], handlers: [], badUrls: [] });
        expect(/[\r\n\0\u0085\u2028\u2029]/.test(email.subject)).toBe(false);
      }),
      { numRuns: 150 },
    );
  });
});

describe('the templates', () => {
  it('never use an unescaped Handlebars expression ({{{…}}} or {{&…}})', () => {
    const dir = new URL('./mjml/', import.meta.url);
    const files = fs.readdirSync(dir).filter((name) => name.endsWith('.mjml'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const name of files) expect([name, /\{\{\{|\{\{~?\s*&/.test(fs.readFileSync(new URL(name, dir), 'utf8'))]).toEqual([name, false]);
  });
});

describe('httpUrl', () => {
  it('accepts absolute http and https URLs only', () => {
    expect(httpUrl('https://x.example/a b<c>')).toBe('https://x.example/a%20b%3Cc%3E');
    expect(httpUrl('HTTP://X.example')).toBe('http://x.example/');
    for (const bad of ['javascript:alert(1)', ' JavaScript:alert(1)', 'data:text/html,x', 'mailto:a@b.c', '//x.example', '/relative', '', undefined])
      expect(httpUrl(bad)).toBeUndefined();
  });
});

describe('headerText', () => {
  it('turns every line break and control character into a space and bounds the length', () => {
    expect(headerText('a\r\nBcc: x\u2028y\u0085z\u0000w\tv')).toBe('a Bcc: x y z w v');
    expect(headerText('é'.repeat(300), 10)).toBe(`${'é'.repeat(9)}…`);
    expect(headerText('😀'.repeat(20), 5)).toBe('😀😀😀😀…');
    expect(headerText('Acme\u00a0: 2')).toBe('Acme\u00a0: 2');
  });
});

describe('direction of the emails', () => {
  // <html dir="auto"> (MJML's default) takes its direction from the first strong letter of the
  // document, the <title>'s, which is the subject and begins with the tenant's display name: a
  // tenant named in Hebrew or Arabic laid out a French or Japanese email right to left, its
  // sentences' punctuation moved to the wrong end. Every language Tocsin writes is left to right.
  it.each(PREVIEW_KINDS)('lays the %s email out left to right whatever script the tenant is named in', (kind) => {
    for (const language of LANGUAGES) {
      const email = renderPreview(kind, { ...context(language), tenant: { name: 'acme', displayName: 'שלום עולם', timeZone: 'Europe/Paris' } });
      const root = /<html\b[^>]*>/.exec(email.html)?.[0] ?? '';
      expect(root, language).not.toMatch(/\bdir="(auto|rtl)"/);
    }
  });
});

describe('bidirectional controls in alert fields', () => {
  // An override or embedding left open reorders everything after it on its line: an alert whose
  // message or robot carried U+202E showed "acme: Fatal alert, \u202egnp.exe (Robot: R1)" in the
  // inbox as "acme: Fatal alert, (1R :toboR) exe.png", its own labels spelled backwards.
  const controls = /[\u202a-\u202e\u2066-\u2069]/;
  const opened = '\u202egnp.exe\u2066\u202b';

  it('keeps an override in an alert field from reversing the rest of the subject and of the lines that name it', () => {
    const c = context('en');
    const immediate = sampleImmediate(c);
    const email = renderImmediateEmail({
      ...immediate,
      tenant: { ...immediate.tenant, displayName: `Acme${opened}` },
      alert: { ...immediate.alert, event: 'Process.RaiseAlert', eventDisplayName: 'Custom alert', message: `Down ${opened}`, source: { robot: `R1${opened}` } },
    });
    expect(email.subject).not.toMatch(controls);
    expect(email.subject).toBe('Acmegnp.exe: Fatal alert, Down gnp.exe (Robot: R1gnp.exe)');
    expect(email.text.split('\n').find((line) => line.includes('Robot: R1'))).not.toMatch(controls);
    expect(headerText(`x${opened} (Robot: R1)`)).toBe('xgnp.exe (Robot: R1)');
  });

  // A tenant's display name sits inside sentences of every email ("You get this email because you
  // subscribe to the alerts of {tenant}.", "このメールは、{tenant} のアラートを…"): an override left open
  // in it turned the rest of those sentences backwards, in the text part and in the HTML alike.
  it.each(PREVIEW_KINDS)('keeps an override in the tenant display name out of the %s email body', (kind) => {
    for (const language of LANGUAGES) {
      const email = renderPreview(kind, { ...context(language), tenant: { name: 'acme', displayName: `Acme${opened}`, timeZone: 'Europe/Paris' } });
      expect(email.text, language).not.toMatch(controls);
      expect(email.html, language).not.toMatch(controls);
      expect(email.text, language).toContain('Acmegnp.exe');
    }
  });
});

describe('control characters in alert fields', () => {
  // A robot's log line or an exporter's label can carry terminal escapes and other controls: raw in
  // an email, ESC [31m recoloured (or worse) the terminal of a reader of the text part (mutt,
  // mailx), and every C0 or C1 control made the HTML part ill-formed (a parse error of the HTML
  // standard, shown as nothing or a box). They show as what they are, a visible symbol.
  const payload = 'bell\u0007 esc\u001b[31mred\u001b[0m vt\u000b ff\u000c del\u007f nel\u0085 csi\u009b end';
  const unprintable = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

  function controlEmails(language: (typeof LANGUAGES)[number]): RenderedEmail[] {
    const c = { ...context(language), tenant: { name: 'acme', displayName: `Acme ${payload}`, timeZone: 'Europe/Paris' } };
    const summary = sampleSummary(c);
    const daily = sampleDaily(c);
    const immediate = sampleImmediate(c);
    const source = { process: payload, robot: payload, machine: payload, queue: payload, job: payload };
    const cache = new ImmediateEmailCache();
    const immediateView = {
      ...immediate,
      recipient: { ...immediate.recipient, name: `Ann ${payload}` },
      alert: { ...immediate.alert, message: `${payload}\nsecond ${payload}`, folder: payload, source, data: { [payload]: payload, nested: { payload } } },
    };
    return [
      renderSummaryEmail({
        ...summary,
        recipient: { ...summary.recipient, name: payload },
        groups: summary.groups.map((g) => ({ ...g, message: payload, folder: payload, source })),
      }),
      renderDailyEmail({ ...daily, recipient: { ...daily.recipient, name: payload } }),
      renderImmediateEmail(immediateView),
      cache.render(immediateView),
      cache.render({ ...immediateView, recipient: { ...immediateView.recipient, name: `Bob ${payload}` } }),
      renderTestEmail({
        language,
        tenant: { name: 'acme', displayName: payload },
        sentAt: 0,
        timeZone: 'UTC',
        tested: { host: 'smtp.example.com', port: 25, security: 'none', fromAddress: 'a@example.com' },
      }),
      ...PREVIEW_KINDS.map((kind) => renderPreview(kind, c)),
      renderMailHealthNotice({
        transition: 'failing',
        language,
        timeZone: 'UTC',
        tenantName: 'acme',
        tenantDisplayName: payload,
        at: 0,
        lastError: `535 ${payload}`,
        settingsUrl: 'https://tocsin.example.com/#/settings/mail',
        unsubscribeUrl: 'https://tocsin.example.com/unsubscribe/x',
      }),
    ];
  }

  it.each(LANGUAGES)('in %s: leaves no control character but tab and line breaks in either part, showing each as a visible symbol', (language) => {
    for (const email of controlEmails(language)) {
      expect(email.text).not.toMatch(unprintable);
      expect(email.html).not.toMatch(unprintable);
      expect(email.text).toContain('esc\u241b[31mred\u241b[0m');
      expect(email.html).toContain('esc\u241b[31mred\u241b[0m');
      for (const value of email.prepared?.values ?? []) expect(`${value.text}${value.html}`).not.toMatch(unprintable);
    }
  });

  it('keeps the spliced name of a shared immediate email as the full render writes it', () => {
    const [, , full, , bob] = controlEmails('en');
    expect(full!.text).toContain('Ann bell\u2407 esc\u241b[31mred');
    // NEL (U+0085) is a line break, folded into a space on one line as CR, LF and U+2028 are.
    expect(bob!.prepared!.values[0]!.text).toBe(`Bob ${'bell\u2407 esc\u241b[31mred\u241b[0m vt ff del\u2421 nel csi\ufffd end'}`);
  });

  it('names the tenant and the robot in the subject as the body shows them, each control a visible symbol', () => {
    const [, , full] = controlEmails('en');
    const shown = 'bell\u2407 esc\u241b[31mred\u241b[0m vt ff del\u2421 nel csi\ufffd';
    expect(full!.subject.startsWith(`Acme ${shown} end: Fatal alert, Robot offline (Robot: ${shown.slice(0, 35)}`)).toBe(true);
  });
});
