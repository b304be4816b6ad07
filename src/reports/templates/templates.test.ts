import { describe, expect, it } from 'vitest';
import { CUSTOM_EVENT } from '../../alerts/catalogue.js';
import { flattenKeys } from '../../i18n/messages.js';
import { EMAIL_MESSAGES, emailTranslator } from '../../i18n/email-i18n.js';
import { LANGUAGES, type Language } from '../../i18n/languages.js';
import { localeFormat } from '../../i18n/format.js';
import { MAX_MUTE_LINES, renderDailyEmail } from './daily-email.js';
import { SHORTER_HTML_BUDGET } from './fit.js';
import { SUBJECT_MAX_LENGTH } from './headers.js';
import { renderImmediateEmail } from './immediate-email.js';
import {
  PREVIEW_KINDS,
  type PreviewKind,
  SAMPLE_NOW,
  type SampleContext,
  renderPreview,
  renderSample,
  sampleContext,
  sampleDaily,
  sampleImmediate,
  sampleSummary,
} from './samples.js';
import { SUMMARY_MAX_LINES, renderSummaryEmail } from './summary-email.js';
import { renderTestEmail } from './test-email.js';
import type { AlertGroupView, SummaryEmailView } from './view-models.js';

const KINDS = ['summary', 'daily', 'immediate', 'test'] as const;
// 27 Nov 2026 10:03 in Paris; the last summary window is 09:50–10:00 there.
const NOW = SAMPLE_NOW;

function context(language: Language, timeZone = 'Europe/Paris'): SampleContext {
  return sampleContext(language, { timeZone });
}

// Every translation key, so that a key name showing in an email is caught (the plural suffix dropped).
const KEY_NAMES = [...new Set(flattenKeys(EMAIL_MESSAGES.en).map((key) => key.replace(/_(one|other)$/, '')))];

function group(overrides: Partial<AlertGroupView> = {}): AlertGroupView {
  return {
    severity: 'Error',
    component: 'Jobs',
    componentDisplayName: 'Jobs',
    event: 'Process.JobExecution.Faulted',
    eventDisplayName: 'Job execution faulted',
    message: 'Job faulted',
    count: 1,
    firstAt: NOW - 120_000,
    lastAt: NOW - 120_000,
    ...overrides,
  };
}

function summaryView(overrides: Partial<SummaryEmailView> = {}): SummaryEmailView {
  return { ...sampleSummary(context('en')), ...overrides };
}

describe('every email in every language', () => {
  for (const language of LANGUAGES) {
    for (const kind of KINDS) {
      it(`${kind} in ${language} is complete: no key name, no {{, text and HTML parts`, () => {
        const email = renderSample(kind, context(language));
        for (const part of [email.subject, email.text, email.html]) {
          expect(part).not.toContain('{{');
          expect(part).not.toContain('}}');
          for (const key of KEY_NAMES) expect(part).not.toContain(key);
        }
        expect(email.html).toMatch(/^<!doctype html>/i);
        expect(email.html).toContain(`lang="${language}"`);
        expect(email.text.length).toBeGreaterThan(100);
        expect(email.headers['X-Tocsin-Kind']).toBe(kind);
        expect(email.headers['X-Tocsin-Tenant']).toBe('acme');
      });
    }
    it(`the all-quiet daily report in ${language} is complete`, () => {
      const email = renderDailyEmail(sampleDaily(context(language), true));
      expect(email.html + email.text + email.subject).not.toContain('{{');
      expect(email.subject).toMatch(/ \(.*2026.*\)$/);
      expect(email.subject.startsWith(emailTranslator(language)('daily.subjectQuiet', { tenant: 'Acme Finance' }))).toBe(true);
      expect(email.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    });
  }

  it('loads nothing from outside: no web fonts, stylesheets or images fetched when a reader opens it', () => {
    for (const kind of KINDS) {
      const { html } = renderSample(kind, context('en'));
      expect(html).not.toMatch(/@import|<link\b|fonts\.googleapis|<img\b[^>]*src="https?:/i);
    }
  });

  it('speaks the recipient language, not the tenant one', () => {
    expect(renderSample('summary', context('fr')).subject).toBe('Acme Finance\u00a0: 14 nouvelles alertes d’erreur, dont 1 Fatal (09:50–10:00)');
    expect(renderSample('summary', context('de')).subject).toBe('Acme Finance: 14 neue Fehleralarme, davon 1 schwerwiegend (09:50–10:00)');
    expect(renderSample('daily', context('ja')).subject).toBe('Acme Finance: 日次アラート概要 - 135 件、うち致命的 2 件 (2026/11/27)');
    expect(renderSample('test', context('es')).subject).toBe('Acme Finance: correo de prueba de Tocsin');
  });

  it("puts a report's period in the one pair of parentheses of its subject, in every language and count", () => {
    // Japanese put the counts in parentheses too: "日次アラート概要 (6 件、うち致命的 1 件) (2026/12/03)".
    const fatal = group({ severity: 'Fatal', count: 2, dedupKey: 'f' });
    const error = group({ count: 3, dedupKey: 'e', event: 'Queue.Item.Failed' });
    for (const language of LANGUAGES) {
      const summary = (groups: AlertGroupView[]) => {
        const view = summaryView({ groups, totalAlerts: groups.reduce((sum, g) => sum + g.count, 0), fatalAlerts: undefined });
        return renderSummaryEmail({ ...view, recipient: { ...view.recipient, language } }).subject;
      };
      const daily = (severities: ReadonlyArray<'Fatal' | 'Error'>) => {
        const view = sampleDaily(context(language), severities.length === 0);
        const row = view.counts[0]!;
        const counts = severities.map((severity, i) => ({ ...row, severity, event: `Event.${i}`, count: 4 }));
        return renderDailyEmail({ ...view, counts: severities.length === 0 ? view.counts : counts }).subject;
      };
      const subjects = [summary([fatal]), summary([error]), summary([fatal, error]), daily([]), daily(['Error']), daily(['Fatal', 'Error'])];
      for (const subject of subjects) expect([language, subject]).toEqual([language, expect.stringMatching(/^[^()]+ \([^()]+\)$/)]);
    }
  });

  it('keeps what the email is about in its subject when the tenant display name is long, cutting the name instead', () => {
    // The longest display name the API takes (200 characters) filled the whole subject: "Acme… Acme Finance Sha…".
    const displayName = 'Acme Finance Shared Services Centre, Europe, Middle East and Africa '.repeat(3).slice(0, 200).trim();
    const long = (language: Language): SampleContext => ({ ...context(language), tenant: { ...context(language).tenant, displayName } });
    const subjects = {
      summary: '14 new error alerts, 1 of them Fatal',
      daily: 'daily alerts summary, 135 alerts',
      immediate: 'Fatal alert, Robot offline (Robot: FIN-UNATT-07)',
      test: 'test email from Tocsin',
      'mail-health-failing': 'are failing',
    } as const;
    for (const [kind, about] of Object.entries(subjects)) {
      const { subject } = renderPreview(kind as PreviewKind, long('en'));
      expect(subject, kind).toContain(about);
      expect(subject, kind).toContain('Acme Finance Shared Services');
      expect(Array.from(subject).length, kind).toBeLessThanOrEqual(SUBJECT_MAX_LENGTH);
    }
    expect(renderPreview('summary', long('fr')).subject).toMatch(/…\u00a0: 14 nouvelles alertes d’erreur, dont 1 Fatal \(09:50–10:00\)$/);
  });
});

describe('the text part', () => {
  it.each(LANGUAGES)('underlines the heading in %s as wide as a fixed-width font shows it, a Japanese character taking two columns', (language) => {
    for (const kind of KINDS) {
      const [, heading, underline] = renderSample(kind, context(language)).text.split('\n');
      const columns = Array.from(heading!).reduce((sum, c) => sum + (/[\u3000-\u30ff\u4e00-\u9fff\uff01-\uff60]/.test(c) ? 2 : 1), 0);
      expect(underline, `${kind}: ${heading}`).toBe('='.repeat(columns));
    }
  });

  // A reader of the text part (a plain-text client, a screen reader set to it) follows the same
  // links as one of the HTML part: a summary line's event, linked to its alerts, was in the HTML only.
  it.each(PREVIEW_KINDS)('carries every link of the HTML part in the %s email, in every language', (kind) => {
    for (const language of LANGUAGES) {
      const email = renderPreview(kind, context(language));
      const hrefs = new Set([...email.html.matchAll(/href="([^"]*)"/g)].map(([, href]) => href!.replaceAll('&#x3D;', '=').replaceAll('&amp;', '&')));
      const missing = [...hrefs].filter((href) => !email.text.includes(href));
      expect(missing, `${kind} in ${language}`).toEqual([]);
    }
  });
});

describe('the 10-minute summary', () => {
  it('shows a message in a right-to-left script in its own direction, its punctuation where its reader expects it', () => {
    const hebrew = 'שגיאה בתור ההזמנות: השרת לא זמין (קוד 503).';
    const email = renderSummaryEmail(summaryView({ groups: [group({ message: hebrew })], totalAlerts: 1 }));
    // An element of its own whose direction follows its first letter: right to left here, left to right for a Latin one.
    expect(email.html).toContain(`dir="auto" class="tocsin-break" style="margin:4px 0 0 0;">${hebrew}</div>`);
    const immediate = renderImmediateEmail(sampleImmediate(context('en')));
    expect(immediate.html).toMatch(/dir="auto" class="tocsin-break" style="margin:4px 0 0 0;">Robot &#x27;FIN-UNATT-07&#x27; is offline/);
  });

  it('shows the window and every time in the recipient zone, with the zone labelled', () => {
    const paris = renderSummaryEmail(sampleSummary(context('en', 'Europe/Paris')));
    expect(paris.text).toContain('between Nov 27, 2026, 09:50 and 10:00.');
    expect(paris.text).toContain('Times are shown in Europe/Paris (UTC+01:00).');
    const tokyo = renderSummaryEmail(sampleSummary(context('ja', 'Asia/Tokyo')));
    expect(tokyo.text).toContain('2026/11/27 17:50 から 18:00 までに');
    expect(tokyo.text).toContain('Asia/Tokyo (UTC+09:00)');
    expect(tokyo.html).toContain('Asia/Tokyo (UTC+09:00)');
  });

  it("previews a Kathmandu tenant's window on its clock: 14:30–14:40 there, not 14:35–14:45", () => {
    const sample = { ...context('en', 'Asia/Kathmandu'), tenant: { name: 'ktm', displayName: 'Kathmandu', timeZone: 'Asia/Kathmandu' } };
    // NOW is 14:48 in Kathmandu (+05:45).
    expect(renderSummaryEmail(sampleSummary(sample)).text).toContain('between Nov 27, 2026, 14:30 and 14:40.');
  });

  it('writes the window to the second when it does not start or end on a whole minute (a short interval)', () => {
    const view = sampleSummary(context('en', 'America/New_York'));
    const start = Date.UTC(2026, 11, 1, 12, 41, 15);
    const email = renderSummaryEmail({ ...view, window: { start, end: start + 5_000 } });
    expect(email.text).toContain('between Dec 1, 2026, 07:41:15 and 07:41:20.');
    expect(email.html).toContain('07:41:15 and 07:41:20');
  });

  it('falls back to UTC, labelled, for a zone the runtime does not know, instead of failing', () => {
    const email = renderSummaryEmail(sampleSummary(context('en', 'Mars/Olympus')));
    expect(email.text).toContain('between Nov 27, 2026, 08:50 and 09:00.');
    expect(email.text).toContain('Times are shown in UTC.');
  });

  it('collapses repeats of a dedup key into one "×N" line with first and last times', () => {
    const email = renderSummaryEmail(sampleSummary(context('en')));
    expect(email.text).toContain('[Error] Queue item failed (application exception) ×7');
    expect(email.text).toMatch(/09:51:07 – 09:58:19 · Component: Transactions · Process: InvoiceProcessing · Queue: Invoices/);
    expect(email.html).toContain('×7');
  });

  it('lists the most severe first, then by time, with severity, component, event, message, source and folder', () => {
    const email = renderSummaryEmail(sampleSummary(context('en')));
    const headings = email.text.split('\n').filter((line) => line.startsWith('['));
    expect(headings[0]).toBe('[Fatal] Robot offline');
    expect(headings.slice(1).every((line) => line.startsWith('[Error]'))).toBe(true);
    expect(email.text).toContain("Robot 'FIN-UNATT-07' is offline");
    expect(email.text).toContain('Robot: FIN-UNATT-07 · Machine: VM-FIN-07 · Folder: Finance/Invoicing');
    expect(email.html).toContain('#7f1d1d');
  });

  it("lists a daily report's events of one severity, count and name in one order, whatever order the database grouped them in", () => {
    // SQLite hands its GROUP BY back in the groups' order, PostgreSQL in its hash's: the same day came out
    // in two orders (and, past the rows that fit, with other rows left out) on the two engines.
    const view = sampleDaily(context('en'));
    const row = { severity: 'Fatal', event: CUSTOM_EVENT, eventDisplayName: 'Custom alert', count: 2 } as const;
    const tied = [
      { ...row, component: 'Queues', componentDisplayName: 'Queues' },
      { ...row, component: 'Process', componentDisplayName: 'Process' },
      { ...row, component: 'Jobs', componentDisplayName: 'Jobs', event: 'Custom.Ev', eventDisplayName: 'Custom alert' },
      { ...row, component: 'Jobs', componentDisplayName: 'Jobs' },
    ];
    const [forth, back] = [tied, [...tied].reverse()].map((counts) => renderDailyEmail({ ...view, counts }));
    expect(back!.text).toBe(forth!.text);
    expect(back!.html).toBe(forth!.html);
  });

  it("keeps a daily report's text table in columns for a day of millions of alerts, its counts, total and links in line, in every language", () => {
    // The counts were padded to 6 characters: from 100,000 ("100 000" in French) they pushed their event's name
    // to the right, and a total of 11 million stood a column further than the rows above it.
    for (const language of LANGUAGES) {
      const view = sampleDaily(context(language));
      const counts = view.counts.map((row, i) => ({ ...row, count: i === 0 ? 1_234_567 : 21 }));
      const lines = renderDailyEmail({ ...view, counts }).text.split('\n');
      const fmt = localeFormat(language, 'Europe/Paris');
      const heading = lines.indexOf(emailTranslator(language)('daily.byEvent'));
      const table = lines.slice(heading + 1, lines.findIndex((line, i) => i > heading && line.endsWith(` ${emailTranslator(language)('daily.total')}`)) + 1);
      const rows = table.filter((line) => /^ +[\d]/.test(line));
      expect(rows.length, language).toBe(counts.length + 1);
      expect(rows[0], language).toContain(`${fmt.number(1_234_567)}  [`);
      expect(rows.at(-1), language).toContain(fmt.number(1_234_567 + 21 * (counts.length - 1)));
      // Each count ends in one column, and what follows it (the event, the total's label, a row's links) starts in one.
      const ends = new Set(rows.map((line) => /^ +[^ ]+/.exec(line)![0].length));
      expect([...ends], `${language}: ${rows.join(' | ')}`).toHaveLength(1);
      const start = [...ends][0]! + 2;
      for (const line of table.filter((line) => !rows.includes(line))) expect(line.search(/\S/), `${language}: ${line}`).toBe(start);
    }
  });

  it('says how many alerts of the window mutes kept out and which mutes, in the recipient language, and nothing when none', () => {
    const base = sampleSummary(context('fr'));
    const muted = {
      alerts: 2,
      mutes: [
        { what: [{ field: 'robot', value: 'R-flood' }], until: NOW + 3_600_000, by: 'Sam Lee', snooze: false },
        { what: [{ field: 'queue', value: 'Invoices' }], until: NOW + 7_200_000, by: 'Camille', snooze: true },
      ],
    } as const;
    const email = renderSummaryEmail({ ...base, muted });
    for (const part of [email.text, email.html]) {
      expect(part).toContain('2 alertes de cette période ne sont pas affichées, coupées dans les e-mails par\u00a0:');
      expect(part).toContain('Robot\u00a0: R-flood jusqu’au 27 nov. 2026, 11:03 (par Sam Lee)');
      expect(part).toContain('File d’attente\u00a0: Invoices jusqu’au 27 nov. 2026, 12:03 (en veille pour vous)');
    }
    const none = renderSummaryEmail({ ...base, muted: { alerts: 0, mutes: [] } });
    expect(none.text).not.toContain('coupées');
  });

  it('writes the end of a mute past a daylight-saving change with its own offset, not the one the email says its times are in', () => {
    // NOW is 27 Nov 2026, Paris on UTC+01:00; a mute until 1 May 2027 10:00 in Paris ends at 08:00 UTC (summer time).
    const mutes = [
      { what: [{ field: 'robot', value: 'R-summer' }], until: Date.UTC(2027, 4, 1, 8), by: 'Sam Lee', snooze: false },
      { what: [{ field: 'robot', value: 'R-winter' }], until: Date.UTC(2027, 0, 5, 9), by: 'Sam Lee', snooze: false },
    ] as const;
    const summary = renderSummaryEmail({ ...sampleSummary(context('en')), muted: { alerts: 2, mutes } });
    const daily = renderDailyEmail({ ...sampleDaily(context('en')), mutes });
    for (const email of [summary, daily]) {
      expect(email.text).toContain('Times are shown in Europe/Paris (UTC+01:00).');
      for (const part of [email.text, email.html]) {
        expect(part).toContain('Robot: R-summer until May 1, 2027, 10:00 (UTC+02:00) (by Sam Lee)');
        // On the offset the email states: as it was.
        expect(part).toContain('Robot: R-winter until Jan 5, 2027, 10:00 (by Sam Lee)');
      }
    }
  });

  it('lists exactly MAX_MUTE_LINES mutes whole, with no "… and 0 more" line', () => {
    const mutes = Array.from({ length: MAX_MUTE_LINES }, (_, i) => ({
      what: [{ field: 'process' as const, value: `Process-${i}` }],
      until: NOW + 3_600_000,
      by: 'Sam Lee',
      snooze: false,
    }));
    const daily = renderDailyEmail({ ...sampleDaily(context('en')), mutes });
    expect(daily.text).toContain(`Process-${MAX_MUTE_LINES - 1}`);
    expect(daily.text).not.toContain('more mute');
  });

  it.each(LANGUAGES)('lists in %s at most MAX_MUTE_LINES mutes and counts the others, so that a thousand mutes leave the alerts shown', (language) => {
    const t = emailTranslator(language);
    const base = sampleSummary(context(language));
    const mutes = Array.from({ length: 1000 }, (_, i) => ({
      what: [{ field: 'process' as const, value: `Process-${i}` }],
      until: NOW + 3_600_000,
      by: 'Sam Lee',
      snooze: i % 2 === 1,
    }));
    const summary = renderSummaryEmail({ ...base, muted: { alerts: 1000, mutes } });
    const daily = renderDailyEmail({ ...sampleDaily(context(language)), mutes });
    const more = t('daily.moreMutes', { count: 1000 - MAX_MUTE_LINES });
    for (const email of [summary, daily]) {
      expect(email.text).toContain('Process-0');
      expect(email.text).toContain(`Process-${MAX_MUTE_LINES - 1}`);
      expect(email.text).not.toMatch(new RegExp(`Process-${MAX_MUTE_LINES}\\D`));
      expect(email.text).toContain(`  ${more}\n`);
      expect(email.html).toContain(more.replaceAll("'", '&#x27;'));
    }
    // Every line of the sample still shows, as without mutes.
    const lines = (text: string) => text.split('\n').filter((line) => line.startsWith('[')).length;
    expect(lines(summary.text)).toBe(lines(renderSummaryEmail(base).text));
  });

  it('links "See more" to the console alert list filtered to the window', () => {
    const email = renderSummaryEmail(sampleSummary(context('en')));
    const href =
      'https://tocsin.example.com/#/alerts?tenant=acme&amp;severity=Error&amp;since=2026-11-27T08%3A50%3A00.000Z&amp;until=2026-11-27T09%3A00%3A00.000Z';
    expect(email.html.replaceAll('&#x3D;', '=')).toContain(`href="${href}"`);
    expect(email.text).toContain('See more: https://tocsin.example.com/#/alerts?tenant=acme&severity=Error');
  });

  it('links each line to the alert list filtered to its source', () => {
    const email = renderSummaryEmail(sampleSummary(context('en')));
    expect(email.html.replaceAll('&#x3D;', '=')).toContain(
      'href="https://tocsin.example.com/#/alerts?tenant=acme&amp;event=Robot.StatusChanged.Offline&amp;since=',
    );
  });

  it('groups the lines by what failed, each group with whether it still fails, its count, first and last time and a link to its alerts', () => {
    const email = renderSummaryEmail(sampleSummary(context('en')));
    const headings = email.text.split('\n').filter((line) => line.startsWith('== '));
    expect(headings).toEqual([
      '== Robot: FIN-UNATT-07 · Recovered · Alerts: 1 · 09:53:12',
      '== Process: InvoiceProcessing · Still failing · Alerts: 11 · 09:50:30 – 09:58:19',
      '== Process: PayrollExport · Still failing · Alerts: 1 · 09:56:02',
      '== Process: BankReconciliation · Still failing · Alerts: 1 · 09:58:27',
    ]);
    const group = email.text.slice(email.text.indexOf('== Process: InvoiceProcessing'), email.text.indexOf('== Process: PayrollExport'));
    expect(group).toContain('Show these alerts: https://tocsin.example.com/#/alerts?tenant=acme&severity=Error&process=InvoiceProcessing&since=');
    expect(group.split('\n').filter((line) => line.startsWith('['))).toEqual([
      '[Error] Job execution faulted ×4',
      '[Error] Queue item failed (application exception) ×7',
    ]);
    const html = email.html.replaceAll('&#x3D;', '=');
    expect(html).toContain('<strong>Process: InvoiceProcessing</strong>');
    expect(html).toContain('href="https://tocsin.example.com/#/alerts?tenant=acme&amp;severity=Error&amp;process=InvoiceProcessing&amp;since=');
    expect(html.indexOf('Process: InvoiceProcessing')).toBeLessThan(html.indexOf('Job execution faulted'));
  });

  it("takes a group's figures from the whole window, and groups alerts of no source by component", () => {
    const lines = [group({ source: { robot: 'R7' } }), group({ component: 'Queues', componentDisplayName: 'Queues', source: undefined })];
    const email = renderSummaryEmail(
      summaryView({
        groups: lines,
        totalAlerts: 40,
        sources: [
          { key: { field: 'robot', value: 'R7' }, severity: 'Error', count: 38, firstAt: NOW - 500_000, lastAt: NOW - 120_000, url: 'https://t.example/r7' },
        ],
      }),
    );
    expect(email.text).toContain('== Robot: R7 · Alerts: 38 · 09:54:40 – 10:01:00\nShow these alerts: https://t.example/r7');
    expect(email.text).toContain('== Component: Queues · Alerts: 1 · 10:01:00\n\n[Error]');
  });

  it.each(LANGUAGES)('names the groups in %s', (language) => {
    const t = emailTranslator(language);
    const email = renderSummaryEmail(sampleSummary(context(language)));
    for (const part of [email.text, email.html]) {
      expect(part).toContain(t('common.showAlerts'));
      expect(part).toContain(`${t('field.process')}`);
    }
  });

  it('says on which day and time an alert was acknowledged, with the preposition of a date in each language, agreeing with the alert (« prise », « atendida »)', () => {
    // The time is a whole date (27 Nov 2026, 10:01), as the Fatal email's "raised on", not a time of day: "at", « à », "a las" and "um" read wrong before it.
    const expected = {
      en: 'Acknowledged by Sam Lee on Nov 27, 2026',
      fr: 'Prise en charge par Sam Lee le 27 nov. 2026',
      de: 'Übernommen von Sam Lee am 27.11.2026',
      es: 'Atendida por Sam Lee el 27 nov 2026',
      ja: 'Sam Lee が 2026/11/27',
    };
    for (const language of LANGUAGES) {
      expect(renderSample('summary', context(language)).text).toContain(expected[language]);
      expect(renderSample('daily', context(language)).text + renderSample('summary', context(language)).text).not.toMatch(/ (at|à|a las|um) \d/);
    }
    expect(renderSample('test', context('en')).text).toContain('This test email was sent on Nov 27, 2026');
  });

  it('tells a group mailbox, in its footer, that it gets the email as the group’s mailbox, not that it subscribed, in every language and kind', () => {
    const expected: Record<Language, string> = {
      en: 'this address is the mailbox of the group Front desk, which receives the alerts of Acme Finance.',
      fr: 'cette adresse est la boîte aux lettres du groupe Front desk, qui reçoit les alertes du locataire Acme Finance.',
      de: 'diese Adresse das Postfach der Gruppe Front desk ist, die die Alarme von Acme Finance erhält.',
      es: 'esta dirección es el buzón del grupo Front desk, que recibe las alertas de Acme Finance.',
      ja: 'このアドレスが Acme Finance のアラートを受け取るグループ Front desk のメールボックスであるため',
    };
    for (const language of LANGUAGES) {
      const t = emailTranslator(language);
      const subscribed = t('common.why', { tenant: 'Acme Finance' });
      const asGroup = <V extends { recipient: object }>(view: V): V => ({ ...view, recipient: { ...view.recipient, name: 'Front desk', group: true } });
      const emails = [
        renderSummaryEmail(asGroup(sampleSummary(context(language)))),
        renderDailyEmail(asGroup(sampleDaily(context(language)))),
        renderImmediateEmail(asGroup(sampleImmediate(context(language)))),
      ];
      for (const email of emails) {
        for (const part of [email.text, email.html]) {
          expect([language, part.includes(expected[language])]).toEqual([language, true]);
          expect(part).not.toContain(subscribed);
        }
      }
      // A user's email still says it subscribed.
      expect(renderSummaryEmail(sampleSummary(context(language))).text).toContain(subscribed);
    }
  });

  it("greets a group's mailbox as Japanese greets a team, 「Front desk 各位」, and a user still by 様", () => {
    // A group's address got 「Front desk 様」: 様 is for one person, and a mailbox read by a team is greeted 各位 (all of you).
    const asGroup = <V extends { recipient: object }>(view: V): V => ({ ...view, recipient: { ...view.recipient, name: 'Front desk', group: true } });
    for (const email of [
      renderSummaryEmail(asGroup(sampleSummary(context('ja')))),
      renderDailyEmail(asGroup(sampleDaily(context('ja')))),
      renderImmediateEmail(asGroup(sampleImmediate(context('ja')))),
    ]) {
      for (const part of [email.text, email.html]) {
        expect(part).toContain('Front desk 各位');
        expect(part).not.toContain('Front desk 様');
      }
    }
    expect(renderSummaryEmail(sampleSummary(context('ja'))).text).toContain('Camille Martin 様');
    // The other languages greet a team as a person.
    expect(renderSummaryEmail(asGroup(sampleSummary(context('fr')))).text).toContain('Bonjour Front desk,');
  });

  it('says "1 new alert" and "2 new alerts" in each language', () => {
    const one = summaryView({ groups: [group()], totalAlerts: 1 });
    expect(renderSummaryEmail(one).subject).toBe('Acme Finance: 1 new error alert (09:50–10:00)');
    expect(renderSummaryEmail({ ...one, totalAlerts: 2, groups: [group({ count: 2, dedupKey: 'k' })] }).subject).toBe(
      'Acme Finance: 2 new error alerts (09:50–10:00)',
    );
    const fr = { ...one, recipient: { ...one.recipient, language: 'fr' as const } };
    expect(renderSummaryEmail(fr).text).toContain('1 nouvelle alerte Fatal ou Erreur');
  });

  it('names Fatal in the subject when the summary holds Fatal alerts, alone or with Error ones, in each language with its plurals', () => {
    const fatal = (count: number) => group({ severity: 'Fatal', count, dedupKey: count > 1 ? 'f' : undefined });
    const error = (count: number) => group({ count, dedupKey: count > 1 ? 'e' : undefined, event: 'Queue.Item.Failed' });
    const subject = (language: Language, groups: AlertGroupView[]) => {
      const view = summaryView({ groups, totalAlerts: groups.reduce((sum, g) => sum + g.count, 0), fatalAlerts: undefined });
      return renderSummaryEmail({ ...view, recipient: { ...view.recipient, language } }).subject;
    };
    const expected: Record<Language, [string, string, string, string, string]> = {
      en: ['1 new Fatal alert', '3 new Fatal alerts', '1 new error alert', '2 new error alerts, 1 of them Fatal', '5 new error alerts, 3 of them Fatal'],
      fr: [
        '1 nouvelle alerte Fatal',
        '3 nouvelles alertes Fatal',
        '1 nouvelle alerte d’erreur',
        '2 nouvelles alertes d’erreur, dont 1 Fatal',
        '5 nouvelles alertes d’erreur, dont 3 Fatal',
      ],
      de: [
        '1 neuer schwerwiegender Alarm',
        '3 neue schwerwiegende Alarme',
        '1 neuer Fehleralarm',
        '2 neue Fehleralarme, davon 1 schwerwiegend',
        '5 neue Fehleralarme, davon 3 schwerwiegend',
      ],
      es: [
        '1 nueva alerta Fatal',
        '3 nuevas alertas Fatal',
        '1 nueva alerta de error',
        '2 nuevas alertas de error, 1 de ellas Fatal',
        '5 nuevas alertas de error, 3 de ellas Fatal',
      ],
      ja: [
        '新しい致命的なアラート 1 件',
        '新しい致命的なアラート 3 件',
        '新しいエラー アラート 1 件',
        '新しいエラー アラート 2 件、うち致命的 1 件',
        '新しいエラー アラート 5 件、うち致命的 3 件',
      ],
    };
    for (const language of LANGUAGES) {
      const got = [
        subject(language, [fatal(1)]),
        subject(language, [fatal(3)]),
        subject(language, [error(1)]),
        subject(language, [fatal(1), error(1)]),
        subject(language, [fatal(3), error(2)]),
      ];
      expect([language, got.map((s) => s.replace(/^Acme Finance\u00a0?: /, '').replace(/ \(09:50–10:00\)$/, ''))]).toEqual([language, expected[language]]);
    }
  });

  it('tells two summaries of the same count apart by their window in the subject, in the recipient zone and each language', () => {
    const at = (start: number, language: Language = 'en', timeZone = 'Europe/Paris') => {
      const view = summaryView({ window: { start, end: start + 600_000 }, groups: [group()], totalAlerts: 1 });
      return renderSummaryEmail({ ...view, recipient: { ...view.recipient, language, timeZone } }).subject;
    };
    // 09:40–09:50 and 09:50–10:00 UTC: 10:40–10:50 and 10:50–11:00 in Paris.
    const first = at(Date.UTC(2026, 10, 27, 9, 40));
    const second = at(Date.UTC(2026, 10, 27, 9, 50));
    expect(first).toBe('Acme Finance: 1 new error alert (10:40–10:50)');
    expect(second).toBe('Acme Finance: 1 new error alert (10:50–11:00)');
    expect(at(Date.UTC(2026, 10, 27, 9, 40), 'en', 'Asia/Kathmandu')).toBe('Acme Finance: 1 new error alert (15:25–15:35)');
    expect(at(Date.UTC(2026, 10, 27, 9, 40), 'fr')).toBe('Acme Finance\u00a0: 1 nouvelle alerte d’erreur (10:40–10:50)');
    expect(at(Date.UTC(2026, 10, 27, 9, 40), 'ja')).toBe('Acme Finance: 新しいエラー アラート 1 件 (10:40–10:50)');
    // A catch-up across midnight says both days.
    const catchUp = summaryView({ window: { start: Date.UTC(2026, 10, 26, 22, 40), end: Date.UTC(2026, 10, 27, 0, 0) }, windowCount: 8 });
    expect(renderSummaryEmail(catchUp).subject).toMatch(/\(Nov 26, 2026, 23:40 – Nov 27, 2026, 01:00\)$/);
  });

  it('counts every Fatal alert of the period in the subject, also those beyond the lines shown', () => {
    const view = summaryView({ groups: [group()], totalAlerts: 60, fatalAlerts: 59 });
    expect(renderSummaryEmail(view).subject).toBe('Acme Finance: 60 new error alerts, 59 of them Fatal (09:50–10:00)');
  });

  it('reads as a catch-up when it covers several windows, with both days shown', () => {
    const start = NOW - 3 * 3_600_000 - 13 * 60_000;
    const email = renderSummaryEmail(
      summaryView({
        window: { start: Date.UTC(2026, 10, 26, 22, 40), end: Date.UTC(2026, 10, 27, 0, 0) },
        windowCount: 8,
        groups: [group({ firstAt: start, lastAt: start })],
        totalAlerts: 1,
      }),
    );
    expect(email.text).toContain('this one covers 8 windows');
    expect(email.text).toContain('between Nov 26, 2026, 23:40 and Nov 27, 2026, 01:00.');
  });

  it(`shows at most ${SUMMARY_MAX_LINES} lines, counts the rest, and stays under Gmail's 102 KB clipping`, () => {
    // Each line with its three action links, as long as real sealed tokens (115 characters).
    const action = (name: string, i: number) => `https://tocsin.example.com/actions/${name}${String(i).padStart(4, '0')}${'T'.repeat(107)}`;
    const actions = (i: number) => ({ mute: action('mute', i), snooze: action('snz', i), acknowledge: action('ack', i) });
    const groups = Array.from({ length: 1000 }, (_, i) =>
      group({ message: `Job ${i} faulted: ${'x'.repeat(400)}`, firstAt: NOW - i, lastAt: NOW - i, actions: actions(i) }),
    );
    const shownOf = (text: string) => text.split('\n').filter((line) => line.startsWith('[Error]')).length;
    // Lines of ordinary size: the first 50, the rest counted.
    const ordinary = renderSummaryEmail(summaryView({ groups: groups.map((g) => ({ ...g, message: 'Job faulted' })), totalAlerts: 1200 }));
    expect(shownOf(ordinary.text)).toBe(SUMMARY_MAX_LINES);
    expect(ordinary.text).toContain('1,150 more alerts are not shown here.');
    // Lines of the longest message, each with three links named for a screen reader: as many as
    // fit under the clipping (a few fewer than 50), the rest counted, not cut off by Gmail.
    const email = renderSummaryEmail(summaryView({ groups, totalAlerts: 1200 }));
    const shown = shownOf(email.text);
    expect(shown).toBeGreaterThanOrEqual(SUMMARY_MAX_LINES - 5);
    expect(shown).toBeLessThanOrEqual(SUMMARY_MAX_LINES);
    expect(email.text).toContain(`${(1200 - shown).toLocaleString('en')} more alerts are not shown here.`);
    expect(Buffer.byteLength(email.html)).toBeLessThan(102 * 1024);
  });

  it('counts as not shown only the alerts of lines left out, each repeat of a line shown counted in it', () => {
    // A line stands for its repeats (×N): the alerts past the lines shown are the total less those lines' counts,
    // not less the number of lines, which said "2 more alerts" of an email that showed them all.
    const repeated = [group({ count: 3, dedupKey: 'job-1', lastAt: NOW - 60_000 }), group({ message: 'Other job faulted' })];
    const all = renderSummaryEmail(summaryView({ groups: repeated, totalAlerts: 4 }));
    expect(all.text).not.toContain('not shown here');
    const lines = Array.from({ length: SUMMARY_MAX_LINES + 2 }, (_, i) =>
      group({ message: `Job ${i} faulted`, count: 2, dedupKey: `job-${i}`, firstAt: NOW - 1_000 * (i + 1) }),
    );
    const some = renderSummaryEmail(summaryView({ groups: lines, totalAlerts: 2 * lines.length }));
    expect(some.text).toContain('4 more alerts are not shown here.');
  });

  it('sent again after a size refusal, shows fewer lines under the shorter budget and still counts and links to the rest', () => {
    const groups = Array.from({ length: 60 }, (_, i) => group({ message: `Job ${i} faulted: ${'x'.repeat(400)}`, firstAt: NOW - i, lastAt: NOW - i }));
    const shownOf = (text: string) => text.split('\n').filter((line) => line.startsWith('[Error]')).length;
    const full = renderSummaryEmail(summaryView({ groups, totalAlerts: 60 }));
    const shorter = renderSummaryEmail(summaryView({ groups, totalAlerts: 60, htmlBudget: SHORTER_HTML_BUDGET }));
    expect(shownOf(shorter.text)).toBeGreaterThan(0);
    expect(shownOf(shorter.text)).toBeLessThan(shownOf(full.text));
    expect(Buffer.byteLength(shorter.html)).toBeLessThanOrEqual(SHORTER_HTML_BUDGET);
    expect(shorter.text).toContain(`${60 - shownOf(shorter.text)} more alerts are not shown here.`);
    expect(shorter.text).toContain('See more: ');
  });

  it('threads the day of the tenant: summaries of one tenant day share In-Reply-To and References', () => {
    const email = renderSummaryEmail(sampleSummary(context('en')));
    expect(email.headers['In-Reply-To']).toBe('<alerts-2026-11-27.acme@tocsin>');
    expect(email.headers.References).toBe('<alerts-2026-11-27.acme@tocsin>');
    // 23:55 UTC on the 26th is already the 27th in Paris.
    const late = summaryView({ window: { start: Date.UTC(2026, 10, 26, 23, 50), end: Date.UTC(2026, 10, 27, 0, 0) } });
    expect(renderSummaryEmail(late).headers['In-Reply-To']).toBe('<alerts-2026-11-27.acme@tocsin>');
  });

  it('carries one-click unsubscribe headers (RFC 8058) with the http(s) URL', () => {
    const email = renderSummaryEmail(sampleSummary(context('en')));
    expect(email.headers['List-Unsubscribe']).toBe('<https://tocsin.example.com/unsubscribe/sample-summary-token>');
    expect(email.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(email.headers['Auto-Submitted']).toBe('auto-generated');
  });
});

describe('the daily report', () => {
  it('sent again after a size refusal, lists fewer events under the shorter budget and counts the rest in the total', () => {
    const view = sampleDaily(context('en'));
    const counts = Array.from({ length: 400 }, (_, i) => ({ ...view.counts[0]!, event: `Custom.Event${i}`, eventDisplayName: `Custom event ${i}`, count: 1 }));
    const rowsOf = (text: string) => text.split('\n').filter((line) => /^\s+\d+\s+\[/.test(line)).length;
    const full = renderDailyEmail({ ...view, counts });
    const shorter = renderDailyEmail({ ...view, counts, htmlBudget: SHORTER_HTML_BUDGET });
    expect(rowsOf(shorter.text)).toBeLessThan(rowsOf(full.text));
    // Its totals, health and mutes stay whole: only the rows of counts give way.
    expect(Buffer.byteLength(shorter.html)).toBeLessThan(Buffer.byteLength(full.html) / 2);
    expect(shorter.text).toContain(`… and ${400 - rowsOf(shorter.text)} more events, counted in the total`);
  });

  it('counts per event with severity colours, most severe first, and the total', () => {
    const email = renderDailyEmail(sampleDaily(context('en')));
    expect(email.subject).toBe('Acme Finance: daily alerts summary, 135 alerts, 2 Fatal (Nov 27, 2026)');
    expect(email.text).toContain('Fatal: 2 · Error: 38 · Warning: 44 · Success: 30 · Info: 21');
    const rows = email.text.split('\n').filter((line) => /^\s+\d+\s+\[/.test(line));
    expect(rows[0]).toMatch(/2 {2}\[Fatal\] Robot offline \(Robots\)/);
    expect(rows.at(-1)).toMatch(/\[Info\]/);
    expect(email.text).toMatch(/135 {2}Total/);
    for (const colour of ['#7f1d1d', '#c62828', '#b45309', '#15803d', '#1d4ed8']) expect(email.html).toContain(colour);
    expect(email.text).toContain('View all alerts: https://tocsin.example.com/#/alerts?tenant=acme&since=');
    expect(email.text).toContain('Alert preferences: https://tocsin.example.com/#/preferences?tenant=acme');
  });

  it('counts as more events only those its rows leave out, when some are listed and some are not', () => {
    const view = sampleDaily(context('en'));
    const counts = Array.from({ length: 2000 }, (_, i) => ({ ...view.counts[0]!, event: `Custom.Event${i}`, eventDisplayName: `Custom event ${i}`, count: 1 }));
    const email = renderDailyEmail({ ...view, counts });
    const listed = email.text.split('\n').filter((line) => /^\s+\d+\s+\[/.test(line)).length;
    expect(listed).toBeGreaterThan(0);
    expect(listed).toBeLessThan(2000);
    expect(email.text).toContain(`… and ${(2000 - listed).toLocaleString('en')} more events, counted in the total`);
  });

  it('lists the events of one severity most frequent first, whatever their names', () => {
    const row = (eventDisplayName: string, count: number) =>
      ({ severity: 'Error', component: 'Jobs', componentDisplayName: 'Jobs', event: eventDisplayName, eventDisplayName, count }) as const;
    const email = renderDailyEmail({ ...sampleDaily(context('en')), counts: [row('Alpha faulted', 2), row('Zulu faulted', 5)] });
    const rows = email.text.split('\n').filter((line) => /^\s+\d+\s+\[/.test(line));
    expect(rows).toEqual([expect.stringContaining('5  [Error] Zulu faulted'), expect.stringContaining('2  [Error] Alpha faulted')]);
  });

  it('is no "all quiet" report when mutes kept every alert of the day out: it says how many they kept', () => {
    // Its subject and text said "all quiet" of a day whose alerts were all muted, as if nothing had happened.
    const email = renderDailyEmail({ ...sampleDaily(context('en'), true), mutedAlerts: 3 });
    for (const part of [email.subject, email.text]) expect(part).not.toContain('all quiet');
    expect(email.text).not.toContain('even on quiet days');
    expect(email.text).toContain('3 alerts of this period are not shown, as they are muted in emails by:');
  });

  it('names Fatal in the subject when the day had Fatal alerts, in each language with its plurals, as the summary does', () => {
    const subject = (language: Language, fatal: number, error: number) => {
      const view = sampleDaily(context(language));
      const row = view.counts[0]!;
      const counts = [
        ...(fatal > 0 ? [{ ...row, severity: 'Fatal' as const, count: fatal }] : []),
        ...(error > 0 ? [{ ...row, severity: 'Error' as const, event: 'Queue.Item.Failed', count: error }] : []),
      ];
      return renderDailyEmail({ ...view, counts })
        .subject.replace(/^Acme Finance\u00a0?: /, '')
        .replace(/ \([^()]*2026[^()]*\)$/, '');
    };
    const expected: Record<Language, [string, string, string, string]> = {
      en: [
        'daily alerts summary, 1 alert, 1 Fatal',
        'daily alerts summary, 5 alerts, 3 Fatal',
        'daily alerts summary, 2 alerts',
        'daily alerts summary, 1,240 alerts, 40 Fatal',
      ],
      fr: [
        'récapitulatif quotidien des alertes, 1 alerte, dont 1 Fatal',
        'récapitulatif quotidien des alertes, 5 alertes, dont 3 Fatal',
        'récapitulatif quotidien des alertes, 2 alertes',
        'récapitulatif quotidien des alertes, 1\u202f240 alertes, dont 40 Fatal',
      ],
      de: [
        'tägliche Alarmübersicht, 1 Alarm, davon 1 schwerwiegend',
        'tägliche Alarmübersicht, 5 Alarme, davon 3 schwerwiegend',
        'tägliche Alarmübersicht, 2 Alarme',
        'tägliche Alarmübersicht, 1.240 Alarme, davon 40 schwerwiegend',
      ],
      es: [
        'resumen diario de alertas, 1 alerta, 1 Fatal',
        'resumen diario de alertas, 5 alertas, 3 de ellas Fatal',
        'resumen diario de alertas, 2 alertas',
        'resumen diario de alertas, 1240 alertas, 40 de ellas Fatal',
      ],
      ja: [
        '日次アラート概要 - 1 件、うち致命的 1 件',
        '日次アラート概要 - 5 件、うち致命的 3 件',
        '日次アラート概要 - 2 件',
        '日次アラート概要 - 1,240 件、うち致命的 40 件',
      ],
    };
    for (const language of LANGUAGES) {
      const got = [subject(language, 1, 0), subject(language, 3, 2), subject(language, 0, 2), subject(language, 40, 1200)];
      expect([language, got]).toEqual([language, expected[language]]);
    }
  });

  it('dates its subject by the last day it covers, so that the reports of two quiet days differ in an inbox', () => {
    const on = (end: number, quiet: boolean, language: Language = 'en') => {
      const view = sampleDaily(context(language), quiet);
      return renderDailyEmail({ ...view, period: { start: end - 86_400_000, end } }).subject;
    };
    // 10:00 in Paris on 26 and 27 November.
    expect(on(Date.UTC(2026, 10, 26, 9), true)).toBe('Acme Finance: daily alerts summary, all quiet (Nov 26, 2026)');
    expect(on(Date.UTC(2026, 10, 27, 9), true)).toBe('Acme Finance: daily alerts summary, all quiet (Nov 27, 2026)');
    expect(on(Date.UTC(2026, 10, 27, 9), true, 'fr')).toBe('Acme Finance\u00a0: récapitulatif quotidien des alertes, rien à signaler (27 nov. 2026)');
    expect(on(Date.UTC(2026, 10, 27, 9), true, 'de')).toBe('Acme Finance: tägliche Alarmübersicht, keine Vorkommnisse (27.11.2026)');
    expect(on(Date.UTC(2026, 10, 27, 9), true, 'ja')).toMatch(/ \(2026\/11\/27\)$/);
    expect(on(Date.UTC(2026, 10, 27, 9), false)).toMatch(/^Acme Finance: daily alerts summary, \d+ alerts.* \(Nov 27, 2026\)$/);
    // A report at midnight covers the day before it, and says so.
    expect(on(Date.UTC(2026, 10, 26, 23), true)).toBe('Acme Finance: daily alerts summary, all quiet (Nov 26, 2026)');
    // A catch-up of missed days names the first and last day of the reports it stands for.
    const view = sampleDaily(context('en'), true);
    const missed = renderDailyEmail({ ...view, period: { start: Date.UTC(2026, 10, 24, 9), end: Date.UTC(2026, 10, 27, 9) } });
    expect(missed.subject).toBe('Acme Finance: daily alerts summary, all quiet (Nov 25, 2026 – Nov 27, 2026)');
  });

  it('names in a catch-up the days of the reports it stands for, following the last one sent without taking its day again', () => {
    // The report of 24 November (10:00 in Paris) was "(Nov 24, 2026)"; the one covering the 25th to the 27th,
    // "3 days", read "(Nov 24, 2026 – Nov 27, 2026)": four days, the 24th twice in the inbox.
    const subject = (start: number, end: number, timeZone = 'Europe/Paris') => {
      const view = sampleDaily(context('en', timeZone), true);
      return renderDailyEmail({ ...view, tenant: { ...view.tenant, timeZone }, period: { start, end } }).subject.replace(/^.*\(/, '(');
    };
    expect(subject(Date.UTC(2026, 10, 24, 9), Date.UTC(2026, 10, 27, 9))).toBe('(Nov 25, 2026 – Nov 27, 2026)');
    // Reports at midnight are of the day before: from midnight on the 24th to midnight on the 27th, the 24th to the 26th.
    expect(subject(Date.UTC(2026, 10, 23, 23), Date.UTC(2026, 10, 26, 23))).toBe('(Nov 24, 2026 – Nov 26, 2026)');
    // Across the autumn change (25 October 2026 in Paris, a day of 25 hours), at midnight: the 24th to the 26th.
    expect(subject(Date.UTC(2026, 9, 23, 22), Date.UTC(2026, 9, 26, 23))).toBe('(Oct 24, 2026 – Oct 26, 2026)');
    // Two days at 10:00 across the spring change (29 March 2026, 23 hours): the 29th and the 30th.
    expect(subject(Date.UTC(2026, 2, 28, 9), Date.UTC(2026, 2, 30, 8))).toBe('(Mar 29, 2026 – Mar 30, 2026)');
  });

  it('dates a report time that the spring change moved past midnight by its own day, not as a catch-up (Nuuk skips 23:00–24:00)', () => {
    // Greenland's clock jumps from 23:00 to 00:00 on Saturday 28 March 2026: that Saturday's 23:30
    // report falls at 00:30 on Sunday; Sunday's is at 23:30 that day.
    const zone = 'America/Nuuk';
    const report = (start: string, end: string) => {
      const view = sampleDaily(context('en', zone), true);
      return renderDailyEmail({ ...view, tenant: { ...view.tenant, timeZone: zone }, period: { start: Date.parse(start), end: Date.parse(end) } });
    };
    const saturday = report('2026-03-28T01:30:00Z', '2026-03-29T01:30:00Z');
    expect(saturday.subject).toBe('Acme Finance: daily alerts summary, all quiet (Mar 28, 2026)');
    expect(saturday.text).not.toContain('could not send');
    const sunday = report('2026-03-29T01:30:00Z', '2026-03-30T00:30:00Z');
    expect(sunday.subject).toBe('Acme Finance: daily alerts summary, all quiet (Mar 29, 2026)');
    expect(sunday.text).not.toContain('could not send');
    // A report at 00:15, which that Sunday has, is Sunday's; two days missed before Sunday's 23:30, a catch-up of three.
    expect(report('2026-03-28T02:15:00Z', '2026-03-29T01:15:00Z').subject).toMatch(/\(Mar 29, 2026\)$/);
    expect(report('2026-03-27T01:30:00Z', '2026-03-30T00:30:00Z').subject).toMatch(/\(Mar 27, 2026 – Mar 29, 2026\)$/);
    expect(report('2026-03-27T01:30:00Z', '2026-03-30T00:30:00Z').text).toContain('covers 3 days');
  });

  it('dates a midnight report the day before where the clock goes back to midnight and reads it twice (the Azores, Havana)', () => {
    // The Azores leave summer time on 25 October 2026 at 01:00 (UTC+00:00) for 00:00 (UTC-01:00): a report at 00:00 is at
    // the second midnight, as a time read twice is, so the report of the 24th ends an hour into the 25th by the clock.
    const subject = (timeZone: string, start: string, end: string, language: Language = 'en') => {
      const view = sampleDaily(context(language, timeZone), true);
      return renderDailyEmail({ ...view, tenant: { ...view.tenant, timeZone }, period: { start: Date.parse(start), end: Date.parse(end) } }).subject.replace(
        /^.*\(/,
        '(',
      );
    };
    expect(subject('Atlantic/Azores', '2026-10-24T00:00:00Z', '2026-10-25T01:00:00Z')).toBe('(Oct 24, 2026)');
    expect(subject('Atlantic/Azores', '2026-10-25T01:00:00Z', '2026-10-26T01:00:00Z')).toBe('(Oct 25, 2026)');
    expect(subject('Atlantic/Azores', '2026-10-24T00:00:00Z', '2026-10-25T01:00:00Z', 'fr')).toBe('(24 oct. 2026)');
    // Havana, 1 November 2026, 01:00 (UTC-04:00) → 00:00 (UTC-05:00); and a catch-up ending there.
    expect(subject('America/Havana', '2026-10-31T04:00:00Z', '2026-11-01T05:00:00Z')).toBe('(Oct 31, 2026)');
    expect(subject('America/Havana', '2026-10-29T04:00:00Z', '2026-11-01T05:00:00Z')).toBe('(Oct 29, 2026 – Oct 31, 2026)');
  });

  it('says the period across a daylight-saving change with each time in its own offset, not one offset for the day', () => {
    const daily = (timeZone: string, start: number, end: number) => {
      const view = sampleDaily(context('en', timeZone));
      return renderDailyEmail({ ...view, period: { start, end }, health: undefined, mutes: [] });
    };
    // Paris leaves summer time on 25 Oct 2026 at 03:00: the report at 10:00 covers 25 hours.
    const autumn = daily('Europe/Paris', Date.UTC(2026, 9, 24, 8), Date.UTC(2026, 9, 25, 9));
    expect(autumn.text).toContain('from Oct 24, 2026, 10:00 (UTC+02:00) to Oct 25, 2026, 10:00 (UTC+01:00).');
    expect(autumn.text).toContain('Times are shown in Europe/Paris.');
    expect(autumn.html).toContain('Oct 24, 2026, 10:00 (UTC+02:00)');
    // …and enters it on 29 Mar 2026 at 02:00: 23 hours.
    expect(daily('Europe/Paris', Date.UTC(2026, 2, 28, 9), Date.UTC(2026, 2, 29, 8)).text).toContain(
      'from Mar 28, 2026, 10:00 (UTC+01:00) to Mar 29, 2026, 10:00 (UTC+02:00).',
    );
    // New York leaves it on 1 Nov 2026 at 02:00.
    expect(daily('America/New_York', Date.UTC(2026, 9, 31, 14), Date.UTC(2026, 10, 1, 15)).text).toContain(
      'from Oct 31, 2026, 10:00 (UTC-04:00) to Nov 1, 2026, 10:00 (UTC-05:00).',
    );
    // A day without a change keeps one offset, said once.
    const ordinary = daily('Europe/Paris', Date.UTC(2026, 10, 26, 9), Date.UTC(2026, 10, 27, 9));
    expect(ordinary.text).toContain('from Nov 26, 2026, 10:00 to Nov 27, 2026, 10:00.');
    expect(ordinary.text).toContain('Times are shown in Europe/Paris (UTC+01:00).');
  });

  it('says a summary window across a daylight-saving change with each time in its own offset', () => {
    // 02:50 summer time to 02:00 winter time in Paris on 25 Oct 2026: ten minutes, not a window going backwards.
    const view = summaryView({
      window: { start: Date.UTC(2026, 9, 25, 0, 50), end: Date.UTC(2026, 9, 25, 1, 0) },
      groups: [group({ firstAt: Date.UTC(2026, 9, 25, 0, 55), lastAt: Date.UTC(2026, 9, 25, 0, 55) })],
      totalAlerts: 1,
      sources: undefined,
    });
    const email = renderSummaryEmail(view);
    expect(email.text).toContain('between Oct 25, 2026, 02:50 (UTC+02:00) and 02:00 (UTC+01:00).');
    expect(email.text).toContain('Times are shown in Europe/Paris.');
  });

  it('writes the time of an alert from the other side of a daylight-saving change with its own offset, not the one the email says its times are in', () => {
    // Paris enters summer time on 29 Mar 2026 at 02:00 (01:00 UTC): the window 03:00–03:10 is on UTC+02:00.
    const window = { start: Date.UTC(2026, 2, 29, 1, 0), end: Date.UTC(2026, 2, 29, 1, 10) };
    // Delivered late, one alert occurred at 01:55 winter time; another in January; a third inside the window.
    const before = Date.UTC(2026, 2, 29, 0, 55);
    const january = Date.UTC(2026, 0, 5, 9);
    const inside = Date.UTC(2026, 2, 29, 1, 5);
    const summary = renderSummaryEmail(
      summaryView({
        window,
        groups: [
          group({ message: 'late', firstAt: before, lastAt: before, source: { robot: 'R-late' } }),
          group({ message: 'january', firstAt: january, lastAt: january, source: { robot: 'R-january' } }),
          group({ message: 'inside', firstAt: inside, lastAt: inside, source: { robot: 'R-inside' } }),
        ],
        totalAlerts: 3,
        sources: undefined,
      }),
    );
    expect(summary.text).toContain('Times are shown in Europe/Paris (UTC+02:00).');
    for (const part of [summary.text, summary.html]) {
      expect(part).toContain('01:55:00 (UTC+01:00)');
      expect(part).toContain('Jan 5, 2026, 10:00 (UTC+01:00)');
      // On the offset the email states: as it was.
      expect(part).toContain('03:05:00');
      expect(part).not.toContain('03:05:00 (UTC');
    }
    // A Fatal flood that began before the change and went on after it: its email states the offset of its first alert.
    const view = sampleImmediate(context('en'));
    const immediate = renderImmediateEmail({ ...view, alert: { ...view.alert, count: 2, firstAt: before, lastAt: inside } });
    expect(immediate.text).toContain('Times are shown in Europe/Paris (UTC+01:00).');
    expect(immediate.text).toContain('Mar 29, 2026, 01:55 – Mar 29, 2026, 03:05 (UTC+02:00)');
    // A daily report after the change whose recovered source last failed before it.
    const daily = sampleDaily(context('en'));
    const period = { start: Date.UTC(2026, 2, 29, 8), end: Date.UTC(2026, 2, 30, 8) };
    const health = { ...daily.health!, recovered: [{ ...daily.health!.recovered[0]!, lastFailureAt: Date.UTC(2026, 2, 28, 17) }] };
    const report = renderDailyEmail({ ...daily, period, health, mutes: [] });
    expect(report.text).toContain('Times are shown in Europe/Paris (UTC+02:00).');
    expect(report.text).toContain('Mar 28, 2026, 18:00 (UTC+01:00)');
  });

  it('tells apart in their subjects the two summaries of the hour the clock repeats when summer time ends', () => {
    // 02:00–02:10 happens twice in Paris on 25 Oct 2026: at 00:00 UTC (summer time) and at 01:00 UTC (winter time).
    const subject = (start: number) => {
      const view = summaryView({
        window: { start, end: start + 600_000 },
        groups: [group({ firstAt: start + 60_000, lastAt: start + 60_000 })],
        totalAlerts: 1,
        sources: undefined,
      });
      return renderSummaryEmail(view).subject.replace(/^.*?\(/, '(');
    };
    expect(subject(Date.UTC(2026, 9, 25, 0, 0))).toBe('(02:00 (UTC+02:00)–02:10 (UTC+02:00))');
    expect(subject(Date.UTC(2026, 9, 25, 1, 0))).toBe('(02:00 (UTC+01:00)–02:10 (UTC+01:00))');
    // An hour the clock does not repeat keeps the short form.
    expect(subject(Date.UTC(2026, 9, 25, 3, 0))).toBe('(04:00–04:10)');
  });

  it("reads as a catch-up when it covers several days of the tenant's calendar, not when a moved report time made it longer", () => {
    const view = sampleDaily(context('en'));
    // 10:00 in Paris on 24 and on 27 November: the reports of the 25th and 26th were missed.
    const missed = renderDailyEmail({ ...view, period: { start: Date.UTC(2026, 10, 24, 9), end: Date.UTC(2026, 10, 27, 9) } });
    expect(missed.text).toContain('Tocsin could not send daily reports for a while, so this one covers 3 days.');
    expect(missed.html).toContain('so this one covers 3 days.');
    expect(
      renderDailyEmail({
        ...view,
        period: { start: Date.UTC(2026, 10, 24, 9), end: Date.UTC(2026, 10, 27, 9) },
        recipient: { ...view.recipient, language: 'fr' },
      }).text,
    ).toContain('celui-ci couvre donc 3 jours.');
    // Yesterday 10:00 to today 18:00 (the report time moved later), or one ordinary day: no such note.
    for (const period of [
      { start: Date.UTC(2026, 10, 26, 9), end: Date.UTC(2026, 10, 27, 17) },
      { start: Date.UTC(2026, 10, 26, 9), end: Date.UTC(2026, 10, 27, 9) },
    ]) {
      expect(renderDailyEmail({ ...view, period }).text).not.toContain('could not send');
    }
  });

  it('writes the period to the second when the report time has seconds', () => {
    const view = sampleDaily(context('en'));
    const end = Date.UTC(2026, 11, 1, 12, 49, 19);
    const email = renderDailyEmail({ ...view, period: { start: end - 86_400_000, end } });
    expect(email.text).toContain('from Nov 30, 2026, 13:49:19 to Dec 1, 2026, 13:49:19.');
  });

  it('has a health section: alerts per component against the day before, sources still failing and recovered, the noisiest', () => {
    const email = renderDailyEmail(sampleDaily(context('en')));
    const section = email.text.slice(email.text.indexOf('\nHealth\n'), email.text.indexOf('Muted in emails'));
    expect(section).toContain('  Alerts by component (Alerts / Day before)\n      64      58  Transactions\n      30      41  Process\n');
    expect(section).toContain(
      '  Still failing\n    Queue: Invoices · Alerts: 23 · last failure Nov 27, 2026, 09:49\n      Acknowledged by Sam Lee on Nov 27, 2026, 09:53\n      Show these alerts: https://tocsin.example.com/#/alerts?tenant=acme&queue=Invoices&since=',
    );
    // Nobody is on PayrollExport: its link follows it.
    expect(section).toMatch(/\n {4}Process: PayrollExport · [^\n]*\n {6}Show these alerts: /);
    expect(email.html).toContain('&#10003; Acknowledged by Sam Lee on Nov 27, 2026, 09:53</div>');
    expect(section).toContain('  Recovered\n    Robot: FIN-UNATT-07 · last failure Nov 27, 2026, 04:03\n');
    expect(section.slice(section.indexOf('Noisiest sources')).match(/^ {4}\S/gm)).toHaveLength(5);
    const html = email.html.replaceAll('&#x3D;', '=');
    for (const text of ['Health', 'Day before', 'Still failing', 'Recovered', 'Noisiest sources', '<strong style="color:#1f2937;">Queue: Invoices</strong>'])
      expect(html).toContain(text);
    expect(html).toContain('href="https://tocsin.example.com/#/alerts?tenant=acme&amp;robot=FIN-UNATT-07&amp;since=');
    // Before the mutes, which the report already listed.
    expect(html.indexOf('Noisiest sources')).toBeLessThan(html.indexOf('Muted in emails'));
  });

  it.each(LANGUAGES)('writes the health section in %s, text and HTML', (language) => {
    const t = emailTranslator(language);
    const email = renderDailyEmail(sampleDaily(context(language)));
    for (const key of ['daily.healthHeading', 'daily.dayBefore', 'daily.stillFailing', 'daily.recovered', 'daily.noisiest', 'common.showAlerts'] as const) {
      expect(email.text).toContain(t(key));
      expect(email.html).toContain(t(key).replaceAll("'", '&#x27;'));
    }
  });

  it.each(LANGUAGES)('says in %s how many more sources are failing or recovered than the lists name', (language) => {
    const t = emailTranslator(language);
    const view = sampleDaily(context(language));
    const email = renderDailyEmail({ ...view, health: { ...view.health!, moreStillFailing: 87, moreRecovered: 1 } });
    for (const line of [t('daily.moreSources', { count: 87 }), t('daily.moreSources', { count: 1 })]) {
      expect(email.text).toContain(`\n    ${line}\n`);
      expect(email.html).toContain(line.replaceAll("'", '&#x27;'));
    }
    expect(renderDailyEmail(view).text).not.toContain(t('daily.moreSources', { count: 87 }));
  });

  it('previews a health section whose count per component adds up the rows of that component above it', () => {
    for (const language of LANGUAGES) {
      const { text } = renderSample('daily', context(language));
      const byEvent = new Map<string, number>();
      for (const [, count, component] of text.matchAll(/^ {2}\s*([\d.,\u202f]+) {2}\[[^\]]+\] .* \((.+)\)$/gm)) {
        byEvent.set(component!, (byEvent.get(component!) ?? 0) + Number(count!.replace(/\D/g, '')));
      }
      const byComponent = new Map(
        [...text.matchAll(/^ {2}\s*([\d.,\u202f]+) {2}\s*[\d.,\u202f]+ {2}(\S.*)$/gm)].map(([, count, c]) => [c!, Number(count!.replace(/\D/g, ''))]),
      );
      expect([language, byComponent]).toEqual([language, byEvent]);
    }
  });

  it('leaves the health section out when neither day had an alert', () => {
    const view = sampleDaily(context('en'), true);
    const email = renderDailyEmail({ ...view, health: { components: [], stillFailing: [], recovered: [], noisiest: [] } });
    expect(email.text).not.toContain('Health');
    expect(email.html).not.toContain('Health');
  });

  it('is an "all quiet" report when nothing happened, saying why it comes and in which zone its times are', () => {
    const email = renderDailyEmail(sampleDaily(context('fr'), true));
    expect(email.subject).toBe('Acme Finance\u00a0: récapitulatif quotidien des alertes, rien à signaler (27 nov. 2026)');
    expect(email.text).toContain('Aucune alerte du 26 nov. 2026, 10:03 au 27 nov. 2026, 10:03\u00a0: rien à signaler.');
    for (const part of [email.text, email.html]) expect(part).toContain('Les heures sont indiquées dans le fuseau Europe/Paris');
    expect(email.text).toContain('s’il n’arrive pas');
    expect(email.html).not.toContain('Total');
  });
});

describe('the Fatal-immediately email', () => {
  it('shows the whole alert with its data and a link, threaded with the day', () => {
    const email = renderImmediateEmail(sampleImmediate(context('en')));
    expect(email.subject).toBe('Acme Finance: Fatal alert, Robot offline (Robot: FIN-UNATT-07)');
    expect(email.text).toContain('A Fatal alert was raised in Acme Finance on Nov 27, 2026, 10:02.');
    expect(email.text).toContain('  Last job: InvoiceProcessing (running).');
    expect(email.text).toContain('  machineName: VM-FIN-07');
    expect(email.text).toContain('  runningJobs: 1');
    expect(email.headers['In-Reply-To']).toBe('<alerts-2026-11-27.acme@tocsin>');
    expect(email.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(email.text).toContain('Open in Tocsin: https://tocsin.example.com/#/alerts?');
  });

  it.each(LANGUAGES)('names in %s the robot and process of a custom alert with a long message, shortening the message, not the source', (language) => {
    const view = sampleImmediate(context(language));
    const message = `System.TimeoutException: the logon screen did not appear within 30 seconds on the robot's machine ${'x'.repeat(200)}`;
    const tenant = { ...view.tenant, displayName: 'Contoso Finance Operations (Production)' };
    const alert = { ...view.alert, event: CUSTOM_EVENT, message, source: { ...view.alert.source, robot: 'FIN-UNATT-07', process: 'InvoiceProcessing' } };
    const { subject } = renderImmediateEmail({ ...view, tenant, alert });
    const t = emailTranslator(language);
    const fmt = localeFormat(language, 'UTC');
    expect(subject.length).toBeLessThanOrEqual(SUBJECT_MAX_LENGTH);
    expect(subject).toContain(`(${fmt.labelled(t('field.robot'), 'FIN-UNATT-07')}, ${fmt.labelled(t('field.process'), 'InvoiceProcessing')})`);
    expect(subject).toContain('Contoso Finance Operations (Production)');
    expect(subject).toContain('System.TimeoutException: the logon screen');
    expect(subject).toMatch(/… \(/);
  });

  it("writes .NET's empty date, 0001-01-01, as the API holds it, not as year 1 of an unnamed era", () => {
    const view = sampleImmediate(context('en', 'UTC'));
    const at = Date.parse('0001-01-01T00:00:00Z');
    const email = renderImmediateEmail({ ...view, alert: { ...view.alert, firstAt: at, lastAt: at } });
    expect(email.text).toContain('A Fatal alert was raised in Acme Finance on Jan 1, 0001, 00:00.');
    expect(email.headers['In-Reply-To']).toBe('<alerts-0001-01-01.acme@tocsin>');
  });

  it('writes its inbox preview as the language writes a label, in French with the space before the colon', () => {
    const preview = (language: Language) => /display:none[^>]*>([^<]*)</.exec(renderImmediateEmail(sampleImmediate(context(language))).html)?.[1];
    // One line, its no-break space before the colon kept, as in the rest of the email.
    expect(preview('fr')).toMatch(/^Robot hors ligne\u00a0: Robot /);
    expect(preview('en')).toMatch(/^Robot offline: Robot /);
  });

  it('keeps the line breaks of its message in the HTML part as in the text part, a stack trace included', () => {
    const view = sampleImmediate(context('en'));
    const message = 'System.TimeoutException: no logon screen\n   at Invoice.Run()\r\n   at Main() <x>';
    const email = renderImmediateEmail({ ...view, alert: { ...view.alert, message } });
    expect(email.text).toContain('  System.TimeoutException: no logon screen\n     at Invoice.Run()\n     at Main() <x>\n');
    expect(email.html).toContain('>System.TimeoutException: no logon screen<br>   at Invoice.Run()<br>   at Main() &lt;x&gt;</div>');
  });

  // Unicode's other line breaks (NEL from a mainframe's EBCDIC log, the line and paragraph separators
  // of a .NET or JavaScript string): a browser drew U+2028 as a space, joining the lines the robot
  // wrote into one in the HTML part, and NEL showed as \ufffd.
  it('breaks its message at NEL, U+2028 and U+2029 too, the same in both parts', () => {
    const view = sampleImmediate(context('en'));
    const email = renderImmediateEmail({ ...view, alert: { ...view.alert, message: 'one\u0085two\u2028three\u2029four' } });
    expect(email.text).toContain('  one\n  two\n  three\n  four\n');
    expect(email.html).toContain('>one<br>two<br>three<br>four</div>');
  });

  it('writes each data field on a line of its own, a value with line breaks folded onto it', () => {
    const view = sampleImmediate(context('en'));
    const email = renderImmediateEmail({ ...view, alert: { ...view.alert, data: { detail: 'first line\r\nsecond line\n', next: 1 } } });
    expect(email.text).toContain('  detail: first line second line\n  next: 1\n');
  });

  it('lists at most 20 data fields and counts the others', () => {
    const view = sampleImmediate(context('de'));
    const data = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${i}`, i]));
    const email = renderImmediateEmail({ ...view, alert: { ...view.alert, data } });
    expect(email.text).toContain('k19: 19');
    expect(email.text).not.toContain('k20: 20');
    expect(email.text).toContain('… und 5 weitere Felder');
  });
});

describe('the summary window in French, Spanish and German', () => {
  const render = (language: Language, start: number, end: number) =>
    renderSummaryEmail({ ...sampleSummary(context(language)), recipient: { ...sampleSummary(context(language)).recipient, language }, window: { start, end } })
      .text;

  it('puts the article before the date of a summary window (« entre le 27 nov. », « entre el 27 nov »), and before both dates across midnight', () => {
    const start = Date.UTC(2026, 10, 27, 8, 50);
    expect(render('fr', start, start + 600_000)).toContain('entre le 27 nov. 2026, 09:50 et 10:00.');
    expect(render('es', start, start + 600_000)).toContain('entre el 27 nov 2026, 09:50 y 10:00.');
    // 23:55 to 00:05 in Paris: the end has its own date, and its own article.
    const late = Date.UTC(2026, 10, 27, 22, 55);
    expect(render('fr', late, late + 600_000)).toContain('entre le 27 nov. 2026, 23:55 et le 28 nov. 2026, 00:05.');
    expect(render('es', late, late + 600_000)).toContain('entre el 27 nov 2026, 23:55 y el 28 nov 2026, 00:05.');
    expect(render('en', late, late + 600_000)).toContain('between Nov 27, 2026, 23:55 and Nov 28, 2026, 00:05.');
  });

  it('puts the article before a date in German too (« zwischen dem 27.11.2026 », « vom … bis zum »), as a German reader writes it', () => {
    // "zwischen 27.11.2026, 09:50 und 10:00" and "von 26.11.2026, 10:00 bis 27.11.2026, 10:00" read as a form's fields, not a sentence.
    const start = Date.UTC(2026, 10, 27, 8, 50);
    expect(render('de', start, start + 600_000)).toContain('zwischen dem 27.11.2026, 09:50 und 10:00.');
    const late = Date.UTC(2026, 10, 27, 22, 55);
    expect(render('de', late, late + 600_000)).toContain('zwischen dem 27.11.2026, 23:55 und dem 28.11.2026, 00:05.');
    expect(renderSample('daily', context('de')).text).toMatch(/ Alarme vom 26\.11\.2026, \d\d:\d\d bis zum 27\.11\.2026, \d\d:\d\d\./);
    expect(renderDailyEmail(sampleDaily(context('de'), true)).text).toMatch(
      /Keine Alarme vom 26\.11\.2026, \d\d:\d\d bis zum 27\.11\.2026, \d\d:\d\d: alles ruhig\./,
    );
  });
});

describe('the test email', () => {
  it('says when it was sent and what it tested, in the user language, without unsubscribe headers', () => {
    const email = renderTestEmail({
      language: 'fr',
      tenant: { name: 'acme', displayName: 'Acme Finance' },
      sentAt: NOW,
      timeZone: 'Europe/Paris',
      tested: { host: 'smtp.example.com', port: 587, security: 'starttls', fromAddress: 'alertes@acme.example.com' },
    });
    expect(email.subject).toBe('Acme Finance\u00a0: e-mail de test de Tocsin');
    expect(email.text).toContain('envoyé le 27 nov. 2026, 10:03');
    // « Adresse d’expédition » as the console's field: « envoi en tant que alertes@… » lacked the elision French requires before a vowel.
    expect(email.text).toContain('Paramètres testés\u00a0: smtp.example.com:587 (STARTTLS), adresse d’expédition alertes@acme.example.com');
    expect(email.headers).toEqual({
      'X-Tocsin-Kind': 'test',
      'X-Tocsin-Tenant': 'acme',
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'OOF, AutoReply',
    });
  });

  it.each(LANGUAGES)("names the host's system mail settings in %s when it tests them, with no tenant and no X-Tocsin-Tenant", (language) => {
    const tested = { host: 'smtp.example.com', port: 465, security: 'tls', fromAddress: 'tocsin@example.com' } as const;
    const email = renderTestEmail({ language, sentAt: NOW, timeZone: 'UTC', tested });
    for (const part of [email.subject, email.text, email.html]) expect(part).not.toMatch(/\{\{|test\.(subject|intro)System/);
    expect(email.subject).toMatch(/^Tocsin\u00a0?: /);
    expect(email.text).toContain('smtp.example.com:465');
    expect(Object.keys(email.headers)).not.toContain('X-Tocsin-Tenant');
  });

  it('says in French what the system mail settings are for, in words a French reader would write', () => {
    const tested = { host: 'smtp.example.com', port: 465, security: 'tls', fromAddress: 'tocsin@example.com' } as const;
    const email = renderTestEmail({ language: 'fr', sentAt: NOW, timeZone: 'UTC', tested });
    // Not « avec lesquels envoient les locataires », a verb left without its object.
    expect(email.text).toContain(
      'pour vérifier les paramètres de messagerie du système de Tocsin, par lesquels passent les e-mails des locataires qui utilisent les paramètres par défaut.',
    );
  });

  it('writes the settings it tested wholly in the user language, the security mode included', () => {
    const tested = { host: 'mail.example.com', port: 25, security: 'none', fromAddress: 'alerts@example.com' } as const;
    const line = (language: 'en' | 'de' | 'es') =>
      renderTestEmail({ language, tenant: { name: 'acme', displayName: 'Acme' }, sentAt: NOW, timeZone: 'UTC', tested }).text;
    expect(line('en')).toContain('Settings tested: mail.example.com:25 (no TLS), sending as alerts@example.com');
    expect(line('de')).toContain('Geprüfte Einstellungen: mail.example.com:25 (ohne TLS), Absender alerts@example.com');
    expect(line('es')).toContain('Configuración probada: mail.example.com:25 (sin TLS), enviando como alerts@example.com');
  });

  it('writes an IPv6 server in brackets, as a URL does, so that its port reads apart from the address', () => {
    const tested = { host: '2001:db8::25', port: 587, security: 'starttls', fromAddress: 'alerts@example.com' } as const;
    const email = renderTestEmail({ language: 'fr', tenant: { name: 'acme', displayName: 'Acme' }, sentAt: NOW, timeZone: 'UTC', tested });
    for (const part of [email.text, email.html]) expect(part).toContain('Paramètres testés\u00a0: [2001:db8::25]:587 (STARTTLS)');
  });

  it('bounds its subject however long the tenant name, keeping what it is', () => {
    const email = renderTestEmail({
      language: 'en',
      tenant: { name: 'acme', displayName: 'A'.repeat(500) },
      sentAt: NOW,
      timeZone: 'UTC',
      tested: { host: 'h', port: 25, security: 'none', fromAddress: 'a@b.c' },
    });
    expect(email.subject).toBe(`${'A'.repeat(59)}…: test email from Tocsin`);
  });
});
