// The console's own strings, one JSON file per language, English being the fallback.
import { lastAsked } from './last-asked.js';

/** LANGUAGES are the languages of the console, as of the emails. */
export const LANGUAGES = ['en', 'fr', 'de', 'es', 'ja'];

/** @type {{ language: string, strings: Record<string, string>, fallback: Record<string, string> }} */
const state = { language: 'en', strings: {}, fallback: {} };

/** CHOSEN_KEY keeps the language picked on the sign-in form, the host administrator's only say in it. */
const CHOSEN_KEY = 'tocsin.language';

/**
 * chooseLanguage remembers the language picked on the sign-in form, for the next sign-in and reload.
 * @param {string} language
 */
export function chooseLanguage(language) {
  localStorage.setItem(CHOSEN_KEY, language);
}

/** chosenLanguage is the language last picked on the sign-in form, if any. */
export function chosenLanguage() {
  return localStorage.getItem(CHOSEN_KEY);
}

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
  const response = await fetch(`console/i18n/${language}.json`);
  return response.ok ? response.json() : {};
}

/** The languages asked for: their strings come in any order (a slow or loaded server), the last asked is the console's. */
const asked = lastAsked();

/**
 * loadLanguage fetches a language's strings and makes them current, unless another language was
 * asked for since: French then German chosen on the sign-in form, French's strings coming last,
 * spoke French under German chosen. Says whether it made its language current.
 * @param {string} language
 * @returns {Promise<boolean>}
 */
export async function loadLanguage(language) {
  const last = asked.ask();
  if (!state.fallback.appName) state.fallback = await fetchStrings('en');
  const strings = language === 'en' ? state.fallback : await fetchStrings(language);
  if (!last()) return false;
  state.strings = strings;
  state.language = language;
  document.documentElement.lang = language;
  return true;
}

/** currentLanguage is the language the console is showing. */
export function currentLanguage() {
  return state.language;
}

/**
 * pluralKey is the key of the plural form that `count` takes in the language (`key_one`,
 * `key_other`…, as the emails name them), or `key` itself when the strings have no plural forms
 * of it. A count that is not a number (`50+`) takes the `other` form.
 * @param {Record<string, string>} strings
 * @param {string} language
 * @param {string} key
 * @param {unknown} count
 */
function pluralKey(strings, language, key, count) {
  if (!(`${key}_other` in strings)) return key;
  const form = typeof count === 'number' ? new Intl.PluralRules(language).select(count) : 'other';
  return `${key}_${form}` in strings ? `${key}_${form}` : `${key}_other`;
}

/**
 * t returns the string for key with `{name}` placeholders filled from vars. A `count` picks the
 * plural form of the language (`1 non lue`, `2 non lues`) and is written with its digit grouping.
 * @param {string} key
 * @param {Record<string, unknown>} [vars]
 */
export function t(key, vars = {}) {
  const { text, values } = lookUp(key, vars);
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

/**
 * listSeparator is what the language puts between the items of a list: `, ` in English, `、` in
 * Japanese (Intl's own, the separator of its lists before the last item).
 */
export function listSeparator() {
  return new Intl.ListFormat(state.language, { type: 'conjunction' }).formatToParts(['a', 'b', 'c']).find((part) => part.type === 'literal')?.value ?? ', ';
}

/**
 * isolated is a value to put in a sentence that can only be text (a confirm() box), between FIRST
 * STRONG ISOLATE and POP DIRECTIONAL ISOLATE, as a <bdi> holds one in the page: a bidirectional
 * override left open in a name would otherwise turn the rest of the question backwards.
 * @param {string} value
 */
export function isolated(value) {
  return `\u2068${value}\u2069`;
}

/**
 * tParts is t's sentence as a list of its words and its values as they are given, not made text,
 * so that a value can be an element: a name in a `<bdi>`, which keeps a bidirectional override it
 * holds from turning the words after it backwards.
 * @param {string} key
 * @param {Record<string, unknown>} [vars]
 * @returns {unknown[]}
 */
export function tParts(key, vars = {}) {
  const { text, values } = lookUp(key, vars);
  return text.split(/(\{\w+\})/).map((part) => {
    const name = /^\{(\w+)\}$/.exec(part)?.[1];
    return name !== undefined && name in values ? values[name] : part;
  });
}

/**
 * lookUp is the string of key in the language, in the plural form `count` takes, and the values
 * to fill it with (the count written with its digit grouping).
 * @param {string} key
 * @param {Record<string, unknown>} vars
 */
function lookUp(key, vars) {
  const { count } = vars;
  const own = state.strings[pluralKey(state.strings, state.language, key, count)];
  const text = own ?? state.fallback[pluralKey(state.fallback, 'en', key, count)] ?? key;
  const values = typeof count === 'number' ? { ...vars, count: formatNumber(count) } : vars;
  return { text, values };
}

/**
 * formatNumber writes a number as the user's language does (`2,000`, `2 000`, `2.000`): every
 * count the console shows outside a sentence (a chart's axis and table, a tenant's alerts, a flood's
 * ×N) as the sentences write theirs.
 * @param {number} value
 */
export function formatNumber(value) {
  return value.toLocaleString(state.language);
}
