/**
 * Bytes of every email template, per language: the HTML part, the text part, and the whole message
 * as the sender writes it (smtp/mime.ts: headers and both parts quoted-printable), for the samples
 * the previews and docs/emails show. Counts, not speed: the same on any machine.
 *
 *   npx tsx bench/email-sizes.ts        (prints a Markdown table)
 */
import { prepareMime, writeMime } from '../src/delivery/smtp/mime.js';
import { LANGUAGES } from '../src/i18n/languages.js';
import { TEMPLATE_NAMES } from '../src/reports/templates/email-html.js';
import { renderSample } from '../src/reports/templates/samples.js';

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

const rows: string[] = [`| template | part | ${LANGUAGES.join(' | ')} |`, `|---|---|${LANGUAGES.map(() => '---:').join('|')}|`];
for (const kind of TEMPLATE_NAMES) {
  const sizes = LANGUAGES.map((language) => {
    const email = renderSample(kind, {
      tenant: { name: 'acme', displayName: 'Acme Finance', timeZone: 'Europe/Paris' },
      language,
      timeZone: 'Europe/Paris',
      now: Date.UTC(2026, 10, 27, 9, 3),
      publicUrl: 'https://tocsin.example.com',
      summaryIntervalSeconds: 600,
    });
    const message = writeMime(prepareMime(email), {
      from: { name: 'Tocsin', address: 'alerts@example.com' },
      to: { name: 'Camille Durand', address: 'camille@example.com' },
      messageId: '<00000000-0000-0000-0000-000000000000@tocsin>',
      date: new Date(),
    });
    return { html: Buffer.byteLength(email.html), text: Buffer.byteLength(email.text), message: message.length };
  });
  rows.push(`| ${kind} | HTML | ${sizes.map((s) => kb(s.html)).join(' | ')} |`);
  rows.push(`| ${kind} | text | ${sizes.map((s) => kb(s.text)).join(' | ')} |`);
  rows.push(`| ${kind} | message as sent | ${sizes.map((s) => kb(s.message)).join(' | ')} |`);
}
console.log(rows.join('\n'));
