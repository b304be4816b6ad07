import fc from 'fast-check';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { SmtpDeliveryError } from '../contract.js';
import { prepareMime, quotedPrintable, writeMime } from './mime.js';

const SEND = {
  from: { address: 'alerts@example.com', name: 'Tocsin Alerts' },
  to: { address: 'ana@example.com', name: 'Ana' },
  messageId: '<m1@tocsin>',
  date: new Date(Date.UTC(2026, 10, 30, 1, 53, 3)),
};

// Text as templates and translations make it: any Unicode, line breaks, dots and blanks at line ends.
const bodyText = fc
  .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 120 }), fc.constantFrom('\n', '\r\n', '.', ' ', '\t', '=', '.\n', ' \n')), {
    maxLength: 40,
  })
  .map((parts) => parts.join(''));

function lines(raw: Buffer): string[] {
  return raw.toString('latin1').split('\r\n');
}

describe('MIME written for the send stage', () => {
  it('writes the Message-ID and the thread it replies to with the domain of the From address, not the bare word "tocsin"', async () => {
    const thread = '<alerts-2026-11-30.acme@tocsin>';
    const template = prepareMime({ subject: 's', text: 'a', html: '<p>a</p>', headers: { 'In-Reply-To': thread, References: thread } });
    const mail = await simpleParser(writeMime(template, SEND));
    expect(mail.messageId).toBe('<m1@example.com>');
    expect([mail.inReplyTo, mail.references]).toEqual(['<alerts-2026-11-30.acme@example.com>', '<alerts-2026-11-30.acme@example.com>']);
    // A tenant sending as another domain threads under its own; an internationalised one in punycode.
    const other = await simpleParser(writeMime(template, { ...SEND, from: { address: 'ops@例え.jp' } }));
    expect([other.messageId, other.inReplyTo]).toEqual(['<m1@xn--r8jz45g.jp>', '<alerts-2026-11-30.acme@xn--r8jz45g.jp>']);
  });

  it('encodes any text as quoted-printable lines of at most 76 characters that read back unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(bodyText, bodyText, async (text, html) => {
        // Parts are never empty (mailparser reads an empty one as a line break).
        text = `${text}x`;
        html = `<p>${html}</p>`;
        const raw = writeMime(prepareMime({ subject: 's', text, html, headers: {} }), SEND);
        expect(lines(raw).every((line) => line.length <= 78)).toBe(true);
        // No line is a lone dot, whatever the SMTP client does about dot-stuffing.
        expect(lines(raw)).not.toContain('.');
        const parsed = await simpleParser(raw);
        expect(parsed.text ?? '').toBe(text.replace(/\r\n/g, '\n'));
        expect(parsed.html || '').toBe(html.replace(/\r\n/g, '\n'));
      }),
      { numRuns: 150 },
    );
  });

  it('splices values of any length into prepared bodies without breaking a line, and escapes each part as given', async () => {
    const markers = ['slotaaaa1111', 'slotbbbb2222'];
    await fc.assert(
      fc.asyncProperty(bodyText, bodyText, fc.string({ unit: 'binary', maxLength: 300 }), async (before, after, value) => {
        const template = prepareMime(
          {
            subject: 'Fatal alert',
            text: `${before}${markers[0]}${after}${markers[1]}`,
            html: `<p>${markers[0]}</p>${after}<a href="${markers[1]}">x</a>`,
            headers: { 'List-Unsubscribe': `<${markers[1]}>` },
          },
          markers,
        );
        const url = 'https://tocsin.example.com/unsubscribe/t0k3n';
        const raw = writeMime(template, {
          ...SEND,
          values: [
            { text: value, html: `&lt;${value.length}&gt;` },
            { text: url, html: url },
          ],
        });
        expect(lines(raw).every((line) => line.length <= 78)).toBe(true);
        const parsed = await simpleParser(raw);
        // Each piece is encoded on its own, so a CR ending one piece and an LF starting the next stay two characters.
        const asRead = (piece: string) => piece.replace(/\r\n/g, '\n');
        expect(parsed.text ?? '').toBe(`${asRead(before)}${asRead(value)}${asRead(after)}${url}`);
        expect(parsed.html).toBe(`<p>&lt;${value.length}&gt;</p>${after.replace(/\r\n/g, '\n')}<a href="${url}">x</a>`);
        expect(raw.toString('latin1')).toContain(`\r\nList-Unsubscribe: <${url}>\r\n`);
      }),
      { numRuns: 150 },
    );
  });

  it('writes From, To, Message-ID and Date per send, and encodes non-ASCII subjects, names and domains', async () => {
    const template = prepareMime({
      subject: 'Acme Finance : alerte fatale, robot hors ligne — 山田',
      text: 'a',
      html: '<p>a</p>',
      headers: { 'X-Tocsin-Kind': 'immediate', 'X-Tocsin-Tenant': 'acme' },
    });
    const firstRaw = writeMime(template, { ...SEND, to: { address: 'yamada@例え.jp', name: '山田 "太郎"' } });
    expect(firstRaw.toString('latin1')).toMatch(/\r\nTo: [^\r]+ <yamada@xn--r8jz45g\.jp>\r\n/);
    const first = await simpleParser(firstRaw);
    const second = await simpleParser(writeMime(template, { ...SEND, to: { address: 'bo@example.com', name: 'Bo, Jr.' }, messageId: '<m2@tocsin>' }));
    expect(first.subject).toBe('Acme Finance : alerte fatale, robot hors ligne — 山田');
    expect(first.from?.value).toEqual([{ address: 'alerts@example.com', name: 'Tocsin Alerts' }]);
    expect(first.to).toMatchObject({ value: [{ name: '山田 "太郎"' }] });
    expect(second.to).toMatchObject({ value: [{ address: 'bo@example.com', name: 'Bo, Jr.' }] });
    expect([first.messageId, second.messageId]).toEqual(['<m1@example.com>', '<m2@example.com>']);
    expect(first.date?.getTime()).toBe(SEND.date.getTime());
    expect(first.headers.get('x-tocsin-kind')).toBe('immediate');
  });

  // As the subject drops them (headerText): a mail client shows From and To names in a list beside
  // other text, which an override left open in a name turns backwards ("\u202egnp.exe").
  it('drops bidirectional controls from the display names of From and To, keeping their letters', async () => {
    const template = prepareMime({ subject: 's', text: 'a', html: '<p>a</p>', headers: {} });
    const mail = await simpleParser(
      writeMime(template, {
        ...SEND,
        from: { address: 'alerts@example.com', name: 'Acme \u202eAlerts' },
        to: { address: 'ana@example.com', name: '\u2067Ana\u2069 M' },
      }),
    );
    expect(mail.from?.value).toEqual([{ address: 'alerts@example.com', name: 'Acme Alerts' }]);
    expect(mail.to).toMatchObject({ value: [{ address: 'ana@example.com', name: 'Ana M' }] });
  });

  // A user's name was any one line (the API refused only line breaks and NUL, and names stored then remain): "Bob\u001b[2J" went
  // out as an encoded word holding a raw ESC, which a terminal mail client reading the To line ran
  // (clearing the screen). Each control shows as its visible symbol, as in the email's greeting.
  it('shows the control characters of the display names of From and To as visible symbols, as the body does', async () => {
    const template = prepareMime({ subject: 's', text: 'a', html: '<p>a</p>', headers: {} });
    const raw = writeMime(template, {
      ...SEND,
      from: { address: 'alerts@example.com', name: 'Acme\u0007 Alerts\u007f' },
      to: { address: 'bob@example.com', name: 'Bob\u001b[2J\u009b' },
    });
    const mail = await simpleParser(raw);
    expect(mail.from?.value).toEqual([{ address: 'alerts@example.com', name: 'Acme\u2407 Alerts\u2421' }]);
    expect(mail.to).toMatchObject({ value: [{ address: 'bob@example.com', name: 'Bob\u241b[2J\ufffd' }] });
  });

  it('keeps every header line holding an encoded word to 76 characters (RFC 2047), the first line with its header name included', async () => {
    // "Subject: " and a 72-character encoded word made 81: the first line of every non-ASCII subject was over.
    const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }).filter((s) => s.trim() !== '' && !/[\r\n\0\u0085\u2028\u2029]/.test(s));
    await fc.assert(
      fc.asyncProperty(text, text, async (subject, name) => {
        const template = prepareMime({ subject: `é ${subject}`, text: 'a', html: '<p>a</p>', headers: { 'X-Tocsin-Tenant': `é ${name}` } });
        const raw = writeMime(template, {
          ...SEND,
          from: { address: 'alerts@example.com', name: `é ${name}` },
          to: { address: 'ana@example.com', name: `Ä ${name}` },
        });
        const all = lines(raw);
        const head = all.slice(0, all.indexOf(''));
        for (const line of head.filter((l) => l.includes('=?'))) expect(line.length, line).toBeLessThanOrEqual(76);
        const parsed = await simpleParser(raw);
        expect(parsed.subject).toBe(`é ${subject}`);
        expect(parsed.from?.value[0]).toMatchObject({ address: 'alerts@example.com', name: `é ${name}` });
      }),
      { numRuns: 100 },
    );
  });

  it('shows a subject or display name that looks like an encoded word as written, never decoded into other text', async () => {
    // An alert message or a user's name is tenant data: written as it is, "=?utf-8?B?…?=" would be
    // read by every mail program as the text it encodes (here a line break and a Bcc header).
    const looksEncoded = '=?utf-8?B?DQpCY2M6IGV2ZUBleGFtcGxlLmNvbQ==?=';
    const template = prepareMime({ subject: `acme: Fatal alert, ${looksEncoded}`, text: 'a', html: '<p>a</p>', headers: {} });
    const raw = writeMime(template, { ...SEND, to: { address: 'ana@example.com', name: looksEncoded } });
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe(`acme: Fatal alert, ${looksEncoded}`);
    expect(parsed.to).toMatchObject({ value: [{ address: 'ana@example.com', name: looksEncoded }] });
    const quoted = await simpleParser(writeMime(template, { ...SEND, to: { address: 'ana@example.com', name: `Ana "${looksEncoded}"` } }));
    expect(quoted.to).toMatchObject({ value: [{ name: `Ana "${looksEncoded}"` }] });
  });

  it('folds a display name holding a long run of spaces without writing a header line of blanks only', async () => {
    // A user's name, a group's or a From display name of up to 200 characters may hold such a run
    // ('a', 198 spaces, 'b'). Folded inside the run, it made lines of spaces alone: obsolete syntax
    // (RFC 5322 4.2) that parsers reading any blank line as the end of the header (ProtonMail's
    // gluon did) take for the start of the body, with To, Subject and the MIME headers in it.
    const template = prepareMime({ subject: 's', text: 'a', html: '<p>a</p>', headers: {} });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 70, max: 198 }), fc.constantFrom('', '"'), async (spaces, quote) => {
        const name = `a${' '.repeat(spaces)}b${quote}`;
        const raw = writeMime(template, { ...SEND, from: { address: 'alerts@example.com', name }, to: { address: 'ana@example.com', name } });
        const head = lines(raw).slice(0, lines(raw).indexOf(''));
        expect(head.filter((line) => line.trim() === '')).toEqual([]);
        // Unfolded as RFC 5322 2.2.3 says (each CRLF before a blank removed), the names are whole.
        const unfolded = head
          .join('\r\n')
          .replace(/\r\n(?=[ \t])/g, '')
          .split('\r\n');
        const written = `"${name.replace(/"/g, '\\"')}"`;
        expect(unfolded).toContain(`From: ${written} <alerts@example.com>`);
        expect(unfolded).toContain(`To: ${written} <ana@example.com>`);
        // And so do parsers that unfold a line break with the blanks after it into one space (mailparser).
        const mail = await simpleParser(raw);
        expect(mail.from?.value).toEqual([{ address: 'alerts@example.com', name }]);
        expect(mail.to).toMatchObject({ value: [{ address: 'ana@example.com', name }] });
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a line break or NUL in any header, prepared or spliced, before anything is sent', () => {
    const email = { subject: 'ok', text: 'a', html: 'a', headers: {} };
    expect(() => prepareMime({ ...email, headers: { 'X-Evil': 'a\r\nBcc: eve@example.com' } })).toThrow(SmtpDeliveryError);
    expect(() => prepareMime({ ...email, subject: 'a\nBcc: eve@example.com' })).toThrow(SmtpDeliveryError);
    const template = prepareMime(email);
    expect(() => writeMime(template, { ...SEND, to: { address: 'ana@example.com', name: 'Ana\r\nBcc: eve@example.com' } })).toThrow(SmtpDeliveryError);
    expect(() => writeMime(template, { ...SEND, messageId: '<a@b>\nBcc: eve@example.com' })).toThrow(SmtpDeliveryError);
    const slotted = prepareMime({ ...email, headers: { 'List-Unsubscribe': '<slotaaaa1111>' } }, ['slotaaaa1111']);
    expect(() => writeMime(slotted, { ...SEND, values: [{ text: 'https://x.example/\r\nBcc: eve@example.com', html: '' }] })).toThrow(SmtpDeliveryError);
  });

  it('keeps each character whole on one quoted-printable line: no soft line break inside its UTF-8 bytes', () => {
    // Allowed by RFC 2045, but decoders that read a line's bytes as text on their own (PHP's
    // before 5.4, eml-format's) show a broken character, and so did every French, German or
    // Japanese email here ('r=C3=\r\n=A9sum=C3=A9'); nodemailer's encoder, which this one
    // replaced, never split one.
    const decodeLine = (line: string) =>
      Buffer.from(
        line.replace(/=$/, '').replace(/=([0-9A-F]{2})|[^=]/g, (all, hex: string | undefined) => (hex ? String.fromCharCode(parseInt(hex, 16)) : all)),
        'latin1',
      );
    const wholeText = new TextDecoder('utf-8', { fatal: true });
    const text = fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('é', '日本語', '😀', 'x', ' ', '.', '\n', '=')), {
      maxLength: 60,
    });
    fc.assert(
      fc.property(text, fc.nat(75), fc.boolean(), (parts, lead, final) => {
        const input = `${'a'.repeat(lead)}${parts.join('')}`;
        const encoded = quotedPrintable(input, final).toString('latin1');
        for (const line of encoded.split('\r\n')) {
          expect(line.length).toBeLessThanOrEqual(76);
          expect(() => wholeText.decode(decodeLine(line)), line).not.toThrow();
        }
      }),
      { numRuns: 500 },
    );
    expect(quotedPrintable(`${'a'.repeat(73)}é`, true).toString()).toBe(`${'a'.repeat(73)}=\r\n=C3=A9`);
  });

  it('ends a piece that is not the last with a soft line break, so that what follows starts a line', () => {
    expect(quotedPrintable('abc ', false).toString()).toBe('abc =\r\n');
    expect(quotedPrintable('abc ', true).toString()).toBe('abc=20');
    expect(quotedPrintable('', false).length).toBe(0);
  });

  it('gives every piece bytes of its own, whether the text is short or longer than the encoder keeps scratch space for', async () => {
    const short = quotedPrintable('héllo wörld', false);
    const copy = Buffer.from(short);
    quotedPrintable('something else entirely, encoded after it', false);
    expect(short.equals(copy)).toBe(true);
    // Over 32 Ki characters, and non-ASCII, so its UTF-8 is longer still.
    const text = `${'Ünïcödé line. '.repeat(3_000)}end`;
    const html = `<p>${'é'.repeat(40_000)}</p>`;
    const parsed = await simpleParser(writeMime(prepareMime({ subject: 's', text, html, headers: {} }), SEND));
    expect(parsed.text).toBe(text);
    expect(parsed.html).toBe(html);
  });
});
