import { t } from './i18n.js';
import { FieldError, SelectField, TextField, Toggle, html } from './ui.js';
/** AUTH_METHODS are the SMTP authentication methods. */
const AUTH_METHODS = ['auto', 'none', 'plain', 'login', 'xoauth2'];

/**
 * PRESETS fill host, port, security and authentication for common providers; `note` says what the
 * provider needs (an app password for Gmail, OAuth where basic authentication is retired).
 */
const PRESETS = {
  gmail: { host: 'smtp.gmail.com', port: '465', security: 'tls', authMethod: 'auto', note: 'preset.gmailNote' },
  microsoft365: { host: 'smtp.office365.com', port: '587', security: 'starttls', authMethod: 'xoauth2', note: 'preset.microsoft365Note' },
  ses: { host: 'email-smtp.us-east-1.amazonaws.com', port: '587', security: 'starttls', authMethod: 'auto', note: 'preset.sesNote' },
  sendgrid: { host: 'smtp.sendgrid.net', port: '587', security: 'starttls', authMethod: 'auto', username: 'apikey', note: 'preset.sendgridNote' },
};

/**
 * @typedef {object} SmtpForm The SMTP fields as typed, strings as in their inputs.
 * @property {string} host
 * @property {string} port
 * @property {string} security
 * @property {string} domain
 * @property {string} username
 * @property {string} authMethod
 * @property {string} fromAddress
 * @property {string} fromDisplayName
 * @property {string} timeoutSeconds
 * @property {boolean} allowPlaintextAuth
 * @property {boolean} passwordSet
 * @property {string | null | undefined} password undefined keeps the stored password; a string replaces it; null clears it.
 * @property {string | undefined} accessToken
 * @property {string} [preset]
 */

/**
 * smtpFormOf turns the API's SmtpSettings (or null) into the form's state.
 * @param {Record<string, any> | null | undefined} settings
 * @returns {SmtpForm}
 */
export function smtpFormOf(settings) {
  const s = settings ?? {};
  return {
    host: s.host ?? '',
    port: s.port ? String(s.port) : '',
    security: s.security ?? 'tls',
    domain: s.domain ?? '',
    username: s.username ?? '',
    authMethod: s.authMethod ?? 'auto',
    fromAddress: s.fromAddress ?? '',
    fromDisplayName: s.fromDisplayName ?? '',
    timeoutSeconds: s.timeoutMs ? String(s.timeoutMs / 1000) : '',
    allowPlaintextAuth: Boolean(s.allowPlaintextAuth),
    passwordSet: Boolean(s.passwordSet),
    // undefined keeps the stored password; a string replaces it; null clears it.
    password: s.passwordSet ? undefined : '',
    accessToken: undefined,
  };
}

/**
 * smtpPayload is the SmtpSettings body for a PUT or a test; write-only secrets only when changed.
 * @param {SmtpForm} form
 */
export function smtpPayload(form) {
  /** @type {Record<string, unknown>} */
  const body = {
    host: form.host.trim(),
    port: Number(form.port),
    security: form.security,
    domain: form.domain.trim() || null,
    username: form.username.trim() || null,
    authMethod: form.authMethod,
    fromAddress: form.fromAddress.trim(),
    fromDisplayName: form.fromDisplayName.trim() || null,
    allowPlaintextAuth: form.allowPlaintextAuth,
  };
  if (form.port.trim() === '' || Number.isNaN(Number(form.port))) body.port = form.port;
  // An emptied timeout goes back to the default (the API reads null so; left out, it would keep the
  // stored one); one that is not a number goes as typed, so the API names the field.
  const seconds = form.timeoutSeconds.trim();
  body.timeoutMs = seconds === '' ? null : Number.isNaN(Number(seconds)) ? seconds : Math.round(Number(seconds) * 1000);
  if (form.password === null || form.password) body.password = form.password;
  if (form.accessToken !== undefined) body.accessToken = form.accessToken || null;
  return body;
}

/**
 * plaintextAuthOf says whether the form would send a user name or password without TLS: null when
 * it would not, else `allowed` or `refused` (the API refuses it unless explicitly allowed).
 * @param {SmtpForm} form
 */
export function plaintextAuthOf(form) {
  const credentials = form.username.trim() !== '' || Boolean(form.password) || (form.password === undefined && form.passwordSet);
  if (form.security !== 'none' || !credentials) return null;
  return form.allowPlaintextAuth ? 'allowed' : 'refused';
}

/**
 * withSsl applies the seed's Enable SSL checkbox: on means implicit TLS on 465 (STARTTLS on any
 * other port), off means no TLS; the seed's ports (465 with SSL, 587 without) fill an empty or
 * default port.
 * @param {SmtpForm} form
 * @param {boolean} on
 * @returns {SmtpForm}
 */
export function withSsl(form, on) {
  const port = form.port === '' || form.port === '465' || form.port === '587' ? (on ? '465' : '587') : form.port;
  return { ...form, port, security: on ? (port === '465' ? 'tls' : 'starttls') : 'none' };
}

/**
 * withPort changes the port; with SSL on, the mode follows it as the API maps the seed's Enable
 * SSL: implicit TLS on 465, STARTTLS on any other port.
 * @param {SmtpForm} form
 * @param {string} port
 * @returns {SmtpForm}
 */
export function withPort(form, port) {
  if (form.security === 'none') return { ...form, port };
  return { ...form, port, security: port.trim() === '465' ? 'tls' : 'starttls' };
}

/**
 * advancedOpen says whether "Authentication and timeout" starts open: when one of its fields is
 * refused, and when OAuth 2 is chosen (the Microsoft 365 preset, or a saved server), whose access
 * token only that section asks for while the seed's SMTP Password above it goes unused.
 * @param {SmtpForm} form
 * @param {Record<string, string>} errors
 * @returns {boolean}
 */
export function advancedOpen(form, errors) {
  return form.authMethod === 'xoauth2' || Boolean(errors.authMethod || errors.timeoutMs || errors.accessToken);
}

/**
 * SmtpFields are the custom SMTP fields of the seed, in its order, plus security, auth and timeout.
 * @param {{ form: SmtpForm, onChange: (form: SmtpForm) => void, errors?: Record<string, string>, prefix: string, legend?: string }} props
 */
export function SmtpFields({ form, onChange, errors = {}, prefix, legend = t('mail.smtpServer') }) {
  /** @param {keyof SmtpForm} name */
  const set = (name) => (/** @type {unknown} */ value) => onChange({ ...form, [name]: value });
  /** @param {string} name */
  const id = (name) => `${prefix}-${name}`;
  const preset = form.preset ? PRESETS[/** @type {keyof typeof PRESETS} */ (form.preset)] : undefined;
  /** @param {string} name */
  const applyPreset = (name) => {
    const { note, ...values } = PRESETS[/** @type {keyof typeof PRESETS} */ (name)] ?? {};
    onChange({ ...form, ...values, preset: name });
  };
  return html`<fieldset class="smtp">
    <legend>${legend}</legend>
    <${SelectField} id=${id('preset')} label=${t('preset.label')} value=${form.preset ?? ''} onChange=${applyPreset}
      options=${[['', t('preset.none')], ...Object.keys(PRESETS).map((name) => [name, t(`preset.${name}`)])]}
      hint=${preset ? t(preset.note) : ''} />
    <${Toggle} id=${id('enableSsl')} label=${t('mail.enableSsl')} checked=${form.security !== 'none'} onChange=${(/** @type {boolean} */ on) => onChange(withSsl(form, on))}
      hint=${errors.security ?? t(`mail.sslMode.${form.security}`)} />
    <${TextField} id=${id('host')} label=${t('mail.host')} value=${form.host} onInput=${set('host')} error=${errors.host} autocomplete="off" placeholder="smtp.gmail.com" />
    <${TextField} id=${id('domain')} label=${t('mail.domain')} value=${form.domain} onInput=${set('domain')} error=${errors.domain} hint=${t('mail.domainHint')} />
    <${TextField} id=${id('port')} label=${t('mail.port')} value=${form.port} onInput=${(/** @type {string} */ port) => onChange(withPort(form, port))} error=${errors.port} inputmode="numeric" hint=${t('mail.portHint')} />
    <${TextField} id=${id('username')} label=${t('mail.username')} value=${form.username} onInput=${set('username')} error=${errors.username} autocomplete="off" />
    ${
      form.password === undefined
        ? html`<div class=${`field${errors.password ? ' invalid' : ''}`}>
          <span class="label" id=${id('password-label')}>${t('mail.password')}</span>
          <p class="secret-set" aria-labelledby=${id('password-label')}><span class="pill">${t('mail.passwordSet')}</span>
            <button type="button" class="link" id=${id('password-replace')} onClick=${() => onChange({ ...form, password: '' })}>${t('mail.passwordReplace')}</button>
            <button type="button" class="link danger" onClick=${() => onChange({ ...form, password: null })}>${t('mail.passwordClear')}</button></p>
          <${FieldError} id=${id('password-error')} error=${errors.password} />
        </div>`
        : html`<${TextField} id=${id('password')} type="password" label=${t('mail.password')} value=${form.password ?? ''} onInput=${set('password')}
          error=${errors.password} autocomplete="new-password" hint=${form.password === null ? t('mail.passwordCleared') : form.passwordSet ? t('mail.passwordReplacing') : ''} />
          ${
            form.passwordSet
              ? html`<p class="secret-cancel"><button type="button" class="link" onClick=${() => onChange({ ...form, password: undefined })}>${t('mail.passwordKeep')}</button></p>`
              : null
          }`
    }
    ${
      form.security === 'none'
        ? html`<${Toggle} id=${id('allowPlaintextAuth')} label=${t('mail.allowPlaintextAuth')} checked=${form.allowPlaintextAuth}
          onChange=${set('allowPlaintextAuth')} hint=${errors.allowPlaintextAuth ?? t('mail.allowPlaintextAuthHint')} />`
        : null
    }
    <${TextField} id=${id('fromAddress')} type="email" label=${t('mail.fromAddress')} value=${form.fromAddress} onInput=${set('fromAddress')} error=${errors.fromAddress} />
    <${TextField} id=${id('fromDisplayName')} label=${t('mail.fromDisplayName')} value=${form.fromDisplayName} onInput=${set('fromDisplayName')} error=${errors.fromDisplayName} hint=${t('mail.fromDisplayNameHint')} />
    <details class="advanced" open=${advancedOpen(form, errors)}>
      <summary>${t('mail.advanced')}</summary>
      <${SelectField} id=${id('authMethod')} label=${t('mail.authMethod')} value=${form.authMethod} error=${errors.authMethod}
        options=${AUTH_METHODS.map((method) => [method, t(`mail.auth.${method}`)])} onChange=${set('authMethod')} />
      ${
        form.authMethod === 'xoauth2'
          ? html`<${TextField} id=${id('accessToken')} type="password" label=${t('mail.accessToken')} value=${form.accessToken ?? ''}
          onInput=${set('accessToken')} error=${errors.accessToken} autocomplete="off" hint=${t('mail.accessTokenHint')} />`
          : null
      }
      <${TextField} id=${id('timeout')} label=${t('mail.timeout')} value=${form.timeoutSeconds} onInput=${set('timeoutSeconds')} error=${errors.timeoutMs} inputmode="numeric" />
    </details>
  </fieldset>`;
}
