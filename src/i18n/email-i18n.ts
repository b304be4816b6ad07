import i18next from 'i18next';
import { de } from './email/de.js';
import { en } from './email/en.js';
import { es } from './email/es.js';
import { fr } from './email/fr.js';
import { ja } from './email/ja.js';
import { DEFAULT_LANGUAGE, LANGUAGES, type Language } from './languages.js';
import type { Messages } from './messages.js';

/** EMAIL_MESSAGES are the email texts of every language, for i18next and for the completeness test. */
export const EMAIL_MESSAGES: Readonly<Record<Language, Messages>> = Object.freeze({ en, fr, de, es, ja });

/** Translate looks a key up in one language; `count` picks the plural form, other values fill `{{…}}`. */
export type Translate = (key: string, values?: Readonly<Record<string, string | number>>) => string;

const instance = i18next.createInstance();
void instance.init({
  resources: Object.fromEntries(LANGUAGES.map((lng) => [lng, { email: EMAIL_MESSAGES[lng] }])),
  ns: ['email'],
  defaultNS: 'email',
  lng: DEFAULT_LANGUAGE,
  fallbackLng: DEFAULT_LANGUAGE,
  supportedLngs: [...LANGUAGES],
  // Resources are in memory: initialise synchronously so that rendering stays a plain function.
  initAsync: false,
  // Translations are plain text. The HTML part escapes them once, in the template; escaping here
  // would double-escape HTML and put entities into subjects and text parts.
  interpolation: { escapeValue: false, skipOnVariables: true },
  returnNull: false,
});

const translators = new Map<Language, Translate>();

/** Texts with values kept per language: far more than the keys × the counts and value names an email asks for. */
const MAX_TEMPLATES = 2_000;
// Stands in for a value while a text is looked up: i18next keeps it as it is (no escaping, no nesting).
const MARK = '\u0000';
const MARKS = /\u0000(\d+)\u0000/;

/**
 * templateOf looks a text up once with a mark in place of each value but `count` (which picks the
 * plural form and is formatted as a number), and returns it cut at the marks: even indexes are
 * literal text, odd ones the index of the value that goes there.
 */
function templateOf(t: (key: string, values: Record<string, string | number>) => string, key: string, names: readonly string[], count: unknown): string[] {
  const marked: Record<string, string | number> = {};
  names.forEach((name, i) => {
    marked[name] = `${MARK}${i}${MARK}`;
  });
  if (count !== undefined) marked.count = count as number;
  return t(key, marked).split(MARKS);
}

/**
 * emailTranslator is the email text of one language. Values are never read as templates
 * (`skipOnVariables`), so an alert message holding `{{x}}` or `$t(key)` stays as written.
 * Strings without values are kept once looked up: a summary asks for the same labels on every line.
 * A text with values is kept as a template by key, count and value names, and its values put in
 * place here: i18next's lookup, plural choice and interpolation cost tens of microseconds a call,
 * and an immediate email asks for a dozen texts on the Fatal alert's way to the SMTP server.
 */
export function emailTranslator(language: Language): Translate {
  let translate = translators.get(language);
  if (!translate) {
    const t = instance.getFixedT(language) as (key: string, values?: Record<string, string | number>) => string;
    const fixed = new Map<string, string>();
    const templates = new Map<string, string[]>();
    translate = (key, values) => {
      if (values) {
        const names = Object.keys(values).filter((name) => name !== 'count');
        // i18next leaves a missing value's {{name}} as written: such a call is not kept.
        if (names.some((name) => typeof values[name] !== 'string' && typeof values[name] !== 'number')) return t(key, { ...values });
        const cacheKey = `${key}${MARK}${values.count ?? ''}${MARK}${names.join(MARK)}`;
        let template = templates.get(cacheKey);
        if (!template) {
          template = templateOf(t, key, names, values.count);
          if (templates.size >= MAX_TEMPLATES) templates.clear();
          templates.set(cacheKey, template);
        }
        let text = template[0]!;
        for (let i = 1; i < template.length; i += 2) text += String(values[names[Number(template[i])]!]) + template[i + 1]!;
        return text;
      }
      let text = fixed.get(key);
      if (text === undefined) fixed.set(key, (text = t(key)));
      return text;
    };
    translators.set(language, translate);
  }
  return translate;
}
