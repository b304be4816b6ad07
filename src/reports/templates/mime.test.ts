import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import type { RenderedEmail } from '../../delivery/contract.js';
import { prepareMime, writeMime } from '../../delivery/smtp/mime.js';
import { type SampleContext, renderSample, sampleContext } from './samples.js';

// The message as the SMTP sender writes it (smtp/mime.ts), without a server.
async function roundTrip(email: RenderedEmail) {
  const raw = writeMime(email.prepared?.template ?? prepareMime(email), {
    from: { name: 'Tocsin', address: 'alerts@example.com' },
    to: { name: 'Camille', address: 'camille@example.com' },
    messageId: '<m1@tocsin>',
    date: new Date(),
    values: email.prepared?.values,
  })
    .toString('utf8')
    .replace(/\r\n/g, '\n');
  // The header block with folded lines joined again (RFC 5322 unfolding).
  const head = raw.slice(0, raw.indexOf('\n\n')).replace(/\n[ \t]+/g, ' ');
  return { raw, head, parsed: await simpleParser(raw) };
}

const context = (language: 'fr' | 'ja'): SampleContext => sampleContext(language);

describe('the rendered emails as MIME messages', () => {
  for (const language of ['fr', 'ja'] as const) {
    for (const kind of ['summary', 'daily', 'immediate', 'test'] as const) {
      it(`${kind} in ${language} is multipart/alternative text + HTML and reads back unchanged`, async () => {
        const email = renderSample(kind, context(language));
        const { raw, head, parsed } = await roundTrip(email);
        expect(raw).toMatch(/^Content-Type: multipart\/alternative;/m);
        expect(raw.split('\n').every((line) => Buffer.byteLength(line) <= 998)).toBe(true);
        expect(parsed.subject).toBe(email.subject);
        expect(parsed.text?.trimEnd()).toBe(email.text.trimEnd());
        expect(parsed.html).toBe(email.html);
        expect(parsed.headers.get('x-tocsin-kind')).toBe(kind);
        expect(parsed.headers.get('x-tocsin-tenant')).toBe('acme');
        if (kind === 'test') {
          expect(parsed.headers.has('list-unsubscribe')).toBe(false);
        } else {
          expect(head).toContain(`List-Unsubscribe: <https://tocsin.example.com/unsubscribe/sample-${kind}-token>`);
          expect(head).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
        }
        // The day's thread, under the domain of the From address as the Message-ID.
        if (kind === 'summary' || kind === 'immediate') {
          expect(parsed.inReplyTo).toBe('<alerts-2026-11-27.acme@example.com>');
          expect(parsed.references).toBe('<alerts-2026-11-27.acme@example.com>');
        }
      });
    }
  }
});
