import i18next from 'i18next';
import { describe, expect, it } from 'vitest';
import { EMAIL_MESSAGES, emailTranslator } from './email-i18n.js';
import { LANGUAGES } from './languages.js';
import { type Messages, flattenKeys } from './messages.js';

const PLURAL_SUFFIX = /_(zero|one|two|few|many|other)$/;

function strings(messages: Messages, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(messages)) {
    if (typeof value === 'string') out.set(`${prefix}${key}`, value);
    else for (const [k, v] of strings(value, `${prefix}${key}.`)) out.set(k, v);
  }
  return out;
}

const baseKeys = (messages: Messages) => [...new Set(flattenKeys(messages).map((key) => key.replace(PLURAL_SUFFIX, '')))].sort();
const placeholders = (text: string) => [...text.matchAll(/\{\{\s*(\w+)/g)].map((m) => m[1]).sort();

// Words that are the same in a language as in English: the severity names Orchestrator keeps in
// French and Spanish (the French guide says "une alerte Fatal ou Erreur"), and nouns that are
// spelt alike, and the names of the TLS modes of the test email. Anything else identical to English
// is a string someone forgot to translate.
const TLS_MODES = ['test.security.starttls', 'test.security.tls'];
const SAME_AS_ENGLISH: Readonly<Record<string, readonly string[]>> = {
  fr: ['severity.Fatal', 'field.robot', 'field.machine', 'daily.total', ...TLS_MODES],
  es: ['severity.Fatal', 'severity.Error', 'field.robot', 'daily.total', ...TLS_MODES],
  de: [...TLS_MODES],
  ja: [...TLS_MODES],
};

describe('email translations', () => {
  const english = strings(EMAIL_MESSAGES.en);

  it.each(LANGUAGES)('%s has every key of English, and no other', (language) => {
    expect(baseKeys(EMAIL_MESSAGES[language])).toEqual(baseKeys(EMAIL_MESSAGES.en));
  });

  it.each(LANGUAGES)('%s has exactly the plural forms its language uses', (language) => {
    const categories = new Intl.PluralRules(language).resolvedOptions().pluralCategories.slice().sort();
    const forms = new Map<string, string[]>();
    for (const key of flattenKeys(EMAIL_MESSAGES[language])) {
      const match = PLURAL_SUFFIX.exec(key);
      if (!match) continue;
      const base = key.replace(PLURAL_SUFFIX, '');
      forms.set(base, [...(forms.get(base) ?? []), match[1]!]);
    }
    expect(forms.size).toBeGreaterThan(0);
    for (const [base, found] of forms) expect([base, found.sort()]).toEqual([base, categories]);
  });

  it.each(LANGUAGES.filter((l) => l !== 'en'))('%s translates every string (only listed words may equal English)', (language) => {
    const own = strings(EMAIL_MESSAGES[language]);
    const same = [...own].filter(([key, text]) => english.get(key) === text || english.get(key.replace(PLURAL_SUFFIX, '_other')) === text).map(([key]) => key);
    expect(same.sort()).toEqual([...SAME_AS_ENGLISH[language]!].sort());
  });

  it('never puts « de » before the tenant in French: a name starting with a vowel would need « d’ » (« de Acme »), so « du locataire » as the emails say', () => {
    const elided = [...strings(EMAIL_MESSAGES.fr)].filter(([, text]) => /\bde \{\{tenant\}\}/i.test(text)).map(([key]) => key);
    expect(elided).toEqual([]);
  });

  // A Japanese immediate email ended its details with 「ほか 10 項目」 under lines that read 「… ほか 3 件のソース」.
  it.each(LANGUAGES)('%s starts each "… and N more" line with the ellipsis, as English does', (language) => {
    const missing = [...strings(EMAIL_MESSAGES[language])]
      .filter(([key]) => (english.get(key) ?? english.get(key.replace(PLURAL_SUFFIX, '_other')))!.startsWith('…'))
      .filter(([, text]) => !text.startsWith('…'))
      .map(([key, text]) => `${key}: ${text}`);
    expect(missing).toEqual([]);
  });

  it.each(LANGUAGES)('%s uses the same placeholders as English in every string', (language) => {
    for (const [key, text] of strings(EMAIL_MESSAGES[language])) {
      const reference = english.get(key) ?? english.get(key.replace(PLURAL_SUFFIX, '_other'));
      expect([key, placeholders(text)]).toEqual([key, placeholders(reference!)]);
    }
  });

  it('picks the plural form of each language, with its number format', () => {
    const subject = (language: (typeof LANGUAGES)[number], count: number) => emailTranslator(language)('summary.subject', { count, tenant: 'Acme' });
    expect(subject('en', 1)).toBe('Acme: 1 new error alert');
    expect(subject('en', 1234)).toBe('Acme: 1,234 new error alerts');
    expect(subject('fr', 0)).toBe('Acme\u00a0: 0 nouvelle alerte d’erreur');
    expect(subject('fr', 2)).toBe('Acme\u00a0: 2 nouvelles alertes d’erreur');
    expect(subject('fr', 1_000_000)).toBe('Acme\u00a0: 1\u202f000\u202f000 de nouvelles alertes d’erreur');
    expect(subject('de', 1)).toBe('Acme: 1 neuer Fehleralarm');
    expect(subject('de', 1234)).toBe('Acme: 1.234 neue Fehleralarme');
    expect(subject('es', 1)).toBe('Acme: 1 nueva alerta de error');
    expect(subject('ja', 1)).toBe('Acme: 新しいエラー アラート 1 件');
    expect(subject('ja', 5)).toBe('Acme: 新しいエラー アラート 5 件');
  });

  // 「Sam Lee が 09:50 に対応中」 reads as being on it at that minute only; the done page says 「から」 (since then).
  it('says in Japanese since when someone is on an alert, as its done page does', () => {
    const t = emailTranslator('ja');
    const line = t('actions.acknowledged', { name: 'Sam Lee', time: '2026/12/06 09:50' });
    expect(line).toBe('Sam Lee が 2026/12/06 09:50 から対応中');
    expect(t('actions.done', { alert: 'a', name: 'Sam Lee', time: '2026/12/06 09:50' })).toContain(line);
  });

  it('never reads a value as a template: {{…}} and $t(…) stay as written', () => {
    const t = emailTranslator('en');
    expect(t('immediate.subject', { tenant: '{{count}} $t(summary.heading)', event: '<b>x</b>' })).toBe('{{count}} $t(summary.heading): Fatal alert, <b>x</b>');
  });

  // The reference: i18next itself, configured as the translator is, without the kept templates.
  const reference = i18next.createInstance();
  void reference.init({
    resources: Object.fromEntries(LANGUAGES.map((lng) => [lng, { email: EMAIL_MESSAGES[lng] }])),
    ns: ['email'],
    defaultNS: 'email',
    fallbackLng: 'en',
    initAsync: false,
    interpolation: { escapeValue: false, skipOnVariables: true },
  });

  it('gives every text with values as i18next does, each call with its own values, in every language', () => {
    const calls: Record<string, string | number>[] = [
      { tenant: 'Acme', event: 'Robot down', time: '09:03', zone: 'UTC', count: 1 },
      { tenant: '{{end}} $t(immediate.open)', event: 'x\u0000 1 \u0000y', time: '10:00', zone: 'CET', count: 1 },
      { tenant: 'Umbrella', event: 'Queue stuck', time: '11:30', zone: 'UTC', count: 2 },
      { tenant: 'Acme', start: 5, end: 'later', what: 'w', value: 'v', until: 'u', name: 'Ana', alert: 'a', summary: 's', count: 1234 },
    ];
    for (const language of LANGUAGES) {
      const t = emailTranslator(language);
      const fixed = reference.getFixedT(language);
      for (const key of baseKeys(EMAIL_MESSAGES.en)) {
        if (placeholders(english.get(key) ?? english.get(`${key}_other`)!).length === 0) continue;
        for (const values of [...calls, ...calls]) expect([language, key, t(key, values)]).toEqual([language, key, fixed(key, values)]);
      }
    }
  });

  it('gives a value missing or null as i18next does', () => {
    const t = emailTranslator('en');
    for (const values of [{ tenant: undefined }, { tenant: null, event: 'x' }, {}]) {
      const given = values as unknown as Record<string, string>;
      expect(t('immediate.subject', given)).toBe(reference.getFixedT('en')('immediate.subject', given));
    }
  });
});
