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

/**
 * emailTranslator is the email text of one language. Values are never read as templates
 * (`skipOnVariables`), so an alert message holding `{{x}}` or `$t(key)` stays as written.
 * Strings without values are kept once looked up: a summary asks for the same labels on every line.
 */
export function emailTranslator(language: Language): Translate {
  let translate = translators.get(language);
  if (!translate) {
    const t = instance.getFixedT(language);
    const fixed = new Map<string, string>();
    translate = (key, values) => {
      if (values) return t(key, values) as string;
      let text = fixed.get(key);
      if (text === undefined) fixed.set(key, (text = t(key) as string));
      return text;
    };
    translators.set(language, translate);
  }
  return translate;
}
