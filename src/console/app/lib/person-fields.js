// The fields of how a person reads Tocsin, shared by Manage Access and the user's own preferences.
import { LANGUAGES, t } from './i18n.js';
import { SelectField, TextField, html } from './ui.js';

/** languageOptions are the language choices ([value, text] pairs): the tenant's default (empty), then every supported language. */
export const languageOptions = () => [['', t('access.tenantDefault')], ...LANGUAGES.map((code) => [code, t(`lang.${code}`)])];

/**
 * LanguageField picks a language, or the tenant's default (the empty value).
 * @param {{ id: string, value: string, onChange: (value: string) => void, error?: string }} props
 */
export function LanguageField({ id, value, onChange, error }) {
  return html`<${SelectField} id=${id} label=${t('language')} value=${value} onChange=${onChange} error=${error} options=${languageOptions()} />`;
}

/**
 * TimeZoneField takes an IANA time zone, typed or picked from the browser's list; empty means
 * the tenant's zone, shown as the placeholder.
 * @param {{ id: string, value: string, onInput: (value: string) => void, error?: string, tenantZone?: string }} props
 */
export function TimeZoneField({ id, value, onInput, error, tenantZone }) {
  return html`<${TextField} id=${id} label=${t('access.timeZone')} value=${value} onInput=${onInput} error=${error}
      placeholder=${tenantZone} hint=${t('access.timeZoneHint')} list=${`${id}-zones`} />
    <datalist id=${`${id}-zones`}>${(Intl.supportedValuesOf?.('timeZone') ?? []).map((zone) => html`<option value=${zone} />`)}</datalist>`;
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
