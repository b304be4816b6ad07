// The fields of how a person reads Tocsin, shared by Manage Access and the user's own preferences.
import { LANGUAGES, t } from './i18n.js';
import { SelectField, TextField, html } from './ui.js';

/**
 * languageChoices are the supported languages as SelectField's options, each named in its own words
 * and marked as of its language ([code, name, code]), so a screen reader says 'Deutsch' with a German
 * voice on a Japanese page, rather than spelling it out in Japanese.
 */
export const languageChoices = () => LANGUAGES.map((code) => [code, t(`lang.${code}`), code]);

/** languageOptions are the language choices: the tenant's default (empty), then every supported language. */
const languageOptions = () => [['', t('access.tenantDefault')], ...languageChoices()];

/**
 * LanguageName is a language's name in its own words, marked as of that language (as languageChoices' are).
 * @param {{ code: string }} props
 */
export function LanguageName({ code }) {
  return html`<span lang=${code}>${t(`lang.${code}`)}</span>`;
}

/**
 * ChosenLanguage is a user's or a group mailbox's language as Manage Access lists it: its name, or
 * that none was chosen, so its emails go in the tenant's (the form's empty choice, in the same words).
 * @param {{ code: string | null | undefined }} props
 */
export function ChosenLanguage({ code }) {
  return code ? html`<${LanguageName} code=${code} />` : html`<span class="muted">${t('access.tenantDefault')}</span>`;
}

/**
 * ChosenTimeZone is a user's time zone as Manage Access lists it: the user's own, or that none was
 * chosen, so the tenant's applies, in words with the tenant's zone: the tenant's zone alone, greyed
 * out, was read by a screen reader as if the user had chosen it.
 * @param {{ zone: string | null | undefined, tenantZone: string }} props
 */
export function ChosenTimeZone({ zone, tenantZone }) {
  return zone ?? html`<span class="muted">${t('access.tenantZone', { zone: tenantZone })}</span>`;
}

/**
 * LanguageField picks a language, or the tenant's default (the empty value).
 * @param {{ id: string, value: string, onChange: (value: string) => void, error?: string }} props
 */
export function LanguageField({ id, value, onChange, error }) {
  return html`<${SelectField} id=${id} label=${t('language')} value=${value} onChange=${onChange} error=${error} options=${languageOptions()} />`;
}

/**
 * timeZoneNames are the IANA zones the browser knows, UTC among them (Intl lists only the zones of
 * places, and UTC is the tenants' default), in alphabetical order.
 * @returns {string[]}
 */
export function timeZoneNames() {
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return [...new Set([...zones, 'UTC'])].sort();
}

const ZONE_LIST = 'time-zones';

/**
 * zoneListId is the id of the page's one list of time zones, which every time zone field suggests
 * from: made once, the first time a field asks for it, not once per field and render.
 */
function zoneListId() {
  if (!document.getElementById(ZONE_LIST)) {
    const list = document.createElement('datalist');
    list.id = ZONE_LIST;
    list.append(...timeZoneNames().map((zone) => Object.assign(document.createElement('option'), { value: zone })));
    document.body.append(list);
  }
  return ZONE_LIST;
}

/**
 * TimeZoneField takes an IANA time zone, typed or picked from the suggested zones; the server
 * checks what is typed. With a tenantZone, empty means that zone, shown as the placeholder.
 * @param {{ id: string, value: string, onInput: (value: string) => void, error?: string, tenantZone?: string }} props
 */
export function TimeZoneField({ id, value, onInput, error, tenantZone }) {
  return html`<${TextField} id=${id} label=${t('access.timeZone')} value=${value} onInput=${onInput} error=${error}
      placeholder=${tenantZone} hint=${tenantZone ? t('access.timeZoneHint') : undefined} list=${zoneListId()} spellcheck="false" />`;
}

/**
 * languageAndZone is how a form's language and time zone are sent: an empty choice as null,
 * which clears the person's own so that the tenant's applies.
 * @param {{ language: string, timeZone: string }} form
 * @returns {{ language: string | null, timeZone: string | null }}
 */
export function languageAndZone(form) {
  return { language: form.language || null, timeZone: form.timeZone.trim() || null };
}
