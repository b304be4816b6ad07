import type { RenderedEmail } from '../../delivery/contract.js';
import type { Language } from '../../i18n/languages.js';
import { DEFAULT_DAILY_REPORT_TIME } from '../../settings/mail-settings.js';
import { renderDailyEmail } from './daily-email.js';
import { MAIL_HEALTH_SAMPLES, renderPreview, renderSample, sampleContext, sampleDaily } from './samples.js';

/** SAMPLE_LANGUAGES are the languages docs/emails shows every email in. */
const SAMPLE_LANGUAGES: readonly Language[] = ['en', 'fr'];

/** sampleFile is an email as docs/emails holds it: the HTML, and the text part under the subject and extra headers. */
function sampleFile(name: string, email: RenderedEmail): [string, string][] {
  const headers = Object.entries({ Subject: email.subject, ...email.headers }).map(([key, value]) => `${key}: ${value}`);
  return [
    [`${name}.html`, email.html],
    [`${name}.txt`, `${headers.join('\n')}\n\n${email.text}`],
  ];
}

/**
 * emailSampleFiles are the files of docs/emails by name: every kind of email in English and
 * French, rendered as a new tenant's recipients get them (its daily report at the default report
 * time), so the docs show what is sent.
 */
export function emailSampleFiles(): Map<string, string> {
  const files: [string, string][] = [];
  for (const language of SAMPLE_LANGUAGES) {
    const context = sampleContext(language, { dailyReportTime: DEFAULT_DAILY_REPORT_TIME });
    for (const kind of ['summary', 'daily', 'immediate', 'test'] as const) files.push(...sampleFile(`${kind}.${language}`, renderSample(kind, context)));
    files.push(...sampleFile(`daily-quiet.${language}`, renderDailyEmail(sampleDaily(context, true))));
    for (const kind of Object.keys(MAIL_HEALTH_SAMPLES) as (keyof typeof MAIL_HEALTH_SAMPLES)[]) {
      files.push(...sampleFile(`${kind}.${language}`, renderPreview(kind, context)));
    }
  }
  return new Map(files);
}
