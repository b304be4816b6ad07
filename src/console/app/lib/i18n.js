// The console's own strings, one JSON file per language, English being the fallback.

/** LANGUAGES are the languages of the console, as of the emails. */
export const LANGUAGES = ['en', 'fr', 'de', 'es', 'ja'];

/** @type {{ language: string, strings: Record<string, string>, fallback: Record<string, string> }} */
const state = { language: 'en', strings: {}, fallback: {} };

/**
 * pickLanguage returns the first supported language among candidates (`fr-CA` counts as `fr`).
 * @param {...(string | null | undefined | readonly (string | null | undefined)[])} candidates
 */
export function pickLanguage(...candidates) {
  for (const candidate of candidates.flat()) {
    const base = String(candidate || '')
      .toLowerCase()
      .split('-')[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return 'en';
}

/**
 * @param {string} language
 * @returns {Promise<Record<string, string>>}
 */
async function fetchStrings(language) {
  const response = await fetch(`/console/i18n/${language}.json`);
  return response.ok ? response.json() : {};
}

/**
 * loadLanguage fetches a language's strings and makes them current.
 * @param {string} language
 */
export async function loadLanguage(language) {
  if (!state.fallback.appName) state.fallback = await fetchStrings('en');
  state.strings = language === 'en' ? state.fallback : await fetchStrings(language);
  state.language = language;
  document.documentElement.lang = language;
}

/** currentLanguage is the language the console is showing. */
export function currentLanguage() {
  return state.language;
}

/**
 * t returns the string for key with `{name}` placeholders filled from vars.
 * @param {string} key
 * @param {Record<string, unknown>} [vars]
 */
export function t(key, vars = {}) {
  const text = state.strings[key] ?? state.fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}
