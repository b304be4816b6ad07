import fs from 'node:fs';
import path from 'node:path';
import type { RenderedEmail } from '../../delivery/contract.js';
import type { Language } from '../../i18n/languages.js';
import { renderDailyEmail } from './daily-email.js';
import { MAIL_HEALTH_SAMPLES, type SampleContext, renderPreview, renderSample, sampleDaily } from './samples.js';

/**
 * `npm run emails:samples [dir]` writes the sample of every email in English and French (HTML, and
 * the text part under its headers) to docs/emails/, so reviewers can read them without a server.
 */
const dir = path.resolve(process.argv[2] ?? 'docs/emails');
const languages: readonly Language[] = ['en', 'fr'];
// A fixed instant keeps the files stable from one run to the next: 27 Nov 2026, 10:03 in Paris.
const now = Date.UTC(2026, 10, 27, 9, 3, 0);

function write(name: string, email: RenderedEmail): void {
  const headers = Object.entries({ Subject: email.subject, ...email.headers }).map(([key, value]) => `${key}: ${value}`);
  fs.writeFileSync(path.join(dir, `${name}.html`), email.html);
  fs.writeFileSync(path.join(dir, `${name}.txt`), `${headers.join('\n')}\n\n${email.text}`);
}

fs.mkdirSync(dir, { recursive: true });
for (const language of languages) {
  const context: SampleContext = {
    tenant: { name: 'acme', displayName: 'Acme Finance', timeZone: 'Europe/Paris' },
    language,
    timeZone: 'Europe/Paris',
    now,
    publicUrl: 'https://tocsin.example.com',
    summaryIntervalSeconds: 600,
  };
  for (const kind of ['summary', 'daily', 'immediate', 'test'] as const) write(`${kind}.${language}`, renderSample(kind, context));
  write(`daily-quiet.${language}`, renderDailyEmail(sampleDaily(context, true)));
  for (const kind of Object.keys(MAIL_HEALTH_SAMPLES) as (keyof typeof MAIL_HEALTH_SAMPLES)[]) write(`${kind}.${language}`, renderPreview(kind, context));
}
process.stdout.write(`wrote the email samples to ${dir}\n`);
