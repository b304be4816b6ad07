import { useEffect, useRef, useState } from 'preact/hooks';
import { api, fieldErrors } from '../lib/api.js';
import { currentLanguage, t } from '../lib/i18n.js';
import { can, tenantApi } from '../lib/session.js';
import { SmtpFields, plaintextAuthOf, smtpFormOf, smtpPayload } from '../lib/smtp-form.js';
import { Banner, Dialog, TabPanel, Tabs, TextField, Toggle, html, problemText } from '../lib/ui.js';
import { TestMailDialog } from './test-mail.js';
import { useLastAsked } from '../lib/last-asked.js';
import { useLoadWhenBack } from '../lib/polling.js';
import { useLeaveGuard } from '../lib/router.js';

/** mailFormOf turns the API's MailSettings into the form's state. */
export function mailFormOf(settings) {
  return {
    alertsEmailEnabled: Boolean(settings.alertsEmailEnabled),
    useCustom: Boolean(settings.useCustom),
    custom: smtpFormOf(settings.custom),
    // Its seconds kept when there are some (set by a script: the API takes HH:MM:SS), which saving the tab cut off.
    dailyReportTime: (settings.dailyReportTime ?? '10:00').replace(/^(\d\d:\d\d):00$/, '$1'),
    sendEmptyDailyReport: Boolean(settings.sendEmptyDailyReport),
    fallbackToDefault: Boolean(settings.fallbackToDefault),
  };
}

// A report time with seconds: its field then shows and steps them (a minute's step would find the stored value invalid).
const REPORT_TIME_WITH_SECONDS = /^\d\d:\d\d:\d\d$/;

/** mailPayload is the PUT body; custom values go only when they are in use, so default keeps them. */
export function mailPayload(form) {
  return {
    alertsEmailEnabled: form.alertsEmailEnabled,
    useCustom: form.useCustom,
    dailyReportTime: form.dailyReportTime,
    sendEmptyDailyReport: form.sendEmptyDailyReport,
    fallbackToDefault: form.fallbackToDefault,
    ...(form.useCustom ? { custom: smtpPayload(form.custom) } : {}),
  };
}

/** testedKey identifies the values a test ran with, so Save knows whether these were tested. */
export function testedKey(form) {
  return JSON.stringify(form.useCustom ? { custom: smtpPayload(form.custom) } : { useCustom: false });
}

/**
 * testsWhatIsShown says whether a test runs the values on screen: custom values are sent with the
 * test, but "default" can only be tested once saved, since a test without values runs the saved ones.
 */
export function testsWhatIsShown(form, stored) {
  return form.useCustom || !stored.useCustom;
}

// Credentials without TLS are refused under the user name or password; changing the security or
// allowing plaintext sign-in answers that complaint as much as editing those fields does.
const CREDENTIAL_FIELDS = ['username', 'password', 'allowPlaintextAuth'];

/**
 * errorsAfterEdit keeps the API's field errors for the fields an edit left alone: a field being
 * corrected no longer shows the complaint about its old value. Errors are keyed by the API's field
 * names (`timeoutMs` for the form's seconds), custom SMTP fields and the tab's own alike.
 * @param {Record<string, string>} errors
 * @param {{ custom: Record<string, unknown> } & Record<string, unknown>} before
 * @param {{ custom: Record<string, unknown> } & Record<string, unknown>} after
 * @returns {Record<string, string>}
 */
export function errorsAfterEdit(errors, before, after) {
  /** @param {string} key */
  const changed = (key) => {
    const field = key === 'timeoutMs' ? 'timeoutSeconds' : key;
    return field in before.custom ? before.custom[field] !== after.custom[field] : before[field] !== after[field];
  };
  const securityChanged = changed('security') || changed('allowPlaintextAuth');
  /** @type {Record<string, string>} */
  const kept = {};
  for (const [key, message] of Object.entries(errors)) {
    if (!changed(key) && !(securityChanged && CREDENTIAL_FIELDS.includes(key))) kept[key] = message;
  }
  return kept;
}

/**
 * asksBeforeSaving says whether Save first asks "continue without testing?": only for custom
 * values that were not tested as shown. The default settings are the host's system server, which
 * the tenant can neither change nor fix, so there is nothing to test before choosing them.
 * @param {{ useCustom: boolean }} form
 * @param {string | null} tested the testedKey of the values last tested successfully
 */
export function asksBeforeSaving(form, tested) {
  return form.useCustom && tested !== testedKey(form);
}

/**
 * MailSettingsPage is the seed's Settings > Mail tab: Enable alerts email, default or custom
 * SMTP, Test Mail Settings, and Save, which asks before saving custom values that were not tested;
 * values tested successfully say so until one of them changes.
 */
export function MailSettingsPage({ session }) {
  const [form, setForm] = useState(/** @type {any} */ (null));
  // customHost: the host of the custom values saved, the ones the default keeps (a Save under the default sends none).
  const [stored, setStored] = useState({ custom: false, useCustom: false, customHost: '' });
  const [errors, setErrors] = useState(/** @type {Record<string, string>} */ ({}));
  const [message, setMessage] = useState(/** @type {{ kind: string, text: import('preact').ComponentChildren } | null} */ (null));
  const [tested, setTested] = useState(/** @type {string | null} */ (null));
  const [dialog, setDialog] = useState(/** @type {any} */ (null));
  const editable = can(session, 'Settings.Edit');

  const [shown, setShown] = useState(/** @type {string | null} */ (null));
  // Changes not saved yet: leaving the page asks first.
  useLeaveGuard(editable && form !== null && JSON.stringify(form) !== shown, t('unsaved.leave'));
  // The form as it is now, for a save's answer to tell whether the user typed on while it was out.
  const current = useRef(form);
  current.current = form;
  // Saves answered out of order (a slow or loaded server): an earlier Save's answer, come after a later
  // one's, made the values it saved the form's saved state, and leaving asked about changes all saved.
  const saves = useLastAsked();

  /** keepTyped: what was typed since the save was sent stays, as changes not saved yet. */
  const show = (settings, keepTyped = false) => {
    if (!keepTyped) setForm(mailFormOf(settings));
    setShown(JSON.stringify(mailFormOf(settings)));
    setStored({
      custom: settings.custom !== null && settings.custom !== undefined,
      useCustom: Boolean(settings.useCustom),
      customHost: settings.custom?.host ?? '',
    });
  };
  const load = () => api('GET', tenantApi(session, 'settings/mail')).then(show, (err) => setMessage({ kind: 'error', text: problemText(err) }));
  useEffect(() => {
    load();
  }, [session.tenant.id]);
  useLoadWhenBack(() => {
    setMessage(null);
    load();
  }, form !== null);
  if (!form) return html`<section class="page"><h1>${t('settings.title')}</h1><${Banner} live kind=${message?.kind}>${message?.text}<//></section>`;

  const update = (patch) => {
    const next = { ...form, ...patch };
    setForm(next);
    setErrors(errorsAfterEdit(errors, form, next));
    setMessage(null);
  };
  const save = async () => {
    setDialog(null);
    const wasTested = tested === testedKey(form);
    // Said again once this save is answered (a screen reader hears a second save too).
    setMessage(null);
    const sent = form;
    await saves.read(
      () => api('PUT', tenantApi(session, 'settings/mail'), mailPayload(form)),
      (saved) => {
        // Typed on while the save was out (a slow server): the values saved did not replace what the user typed since.
        show(saved, current.current !== sent);
        // Saved tested values stay tested, though the password now shows as "set" rather than typed.
        setTested(wasTested ? testedKey(mailFormOf(saved)) : null);
        setErrors({});
        setMessage({ kind: 'success', text: t('mail.saved') });
      },
      (err) => {
        setErrors(fieldErrors(err, ['custom.', '']));
        setMessage({ kind: 'error', text: problemText(err) });
      },
    );
  };
  const askThenSave = (event) => {
    event.preventDefault();
    if (asksBeforeSaving(form, tested)) setDialog('confirm');
    else save();
  };
  const clearCustom = async () => {
    if (!confirm(t('mail.clearCustomConfirm'))) return;
    try {
      await api('DELETE', tenantApi(session, 'settings/mail/custom'));
      const settings = await api('GET', tenantApi(session, 'settings/mail'));
      // The clear changed the custom values (and, in use, the choice of them) only: what is typed in the
      // tab's other fields, meanwhile too (a slow server), stays as changes not saved yet, where the
      // settings read back put the saved ones over it.
      const cleared = mailFormOf(settings);
      show(settings, true);
      setForm((/** @type {any} */ typed) => ({ ...typed, useCustom: cleared.useCustom, custom: cleared.custom }));
      setMessage({ kind: 'success', text: t('mail.customCleared') });
    } catch (err) {
      setMessage({ kind: 'error', text: problemText(err) });
    }
  };

  return html`<section class="page">
    <h1>${t('settings.title')}</h1>
    <${Tabs} label=${t('settings.title')} panelId="settings-panel" tabs=${[{ id: 'settings-tab-mail', text: t('settings.mailTab'), selected: true, href: '#/settings/mail' }]} />
    <${TabPanel} id="settings-panel" tabId="settings-tab-mail">
    <form class="mail-settings" onSubmit=${askThenSave} novalidate>
      ${
        // Without Settings.Edit the form is read only: said once above it, rather than left greyed out unexplained.
        editable ? null : html`<p class="banner info" id="mail-readonly">${t('mail.readOnly', { permission: t('permission.Settings.Edit') })}</p>`
      }
      <fieldset disabled=${!editable} aria-describedby=${editable ? undefined : 'mail-readonly'}>
        <${Toggle} id="mail-enabled" switch label=${t('mail.enableAlertsEmail')} checked=${form.alertsEmailEnabled}
          onChange=${(on) => update({ alertsEmailEnabled: on })} hint=${t('mail.enableAlertsEmailHint')} disabled=${!editable} />
        <div class="radio-group" role="radiogroup" aria-label=${t('mail.which')}>
          <div class="toggle"><input type="radio" id="mail-default" name="mail-which" checked=${!form.useCustom} onChange=${() => update({ useCustom: false })} />
            <label for="mail-default">${t('mail.useDefault')}</label></div>
          <div class="toggle"><input type="radio" id="mail-custom" name="mail-which" checked=${form.useCustom} onChange=${() => update({ useCustom: true })} />
            <label for="mail-custom">${t('mail.useCustom')}</label></div>
        </div>
        ${
          form.useCustom
            ? html`<${SmtpFields} prefix="mail" form=${form.custom} errors=${errors} onChange=${(custom) => update({ custom })} />
              <${Toggle} id="mail-fallbackToDefault" label=${t('mail.fallbackToDefault')} checked=${form.fallbackToDefault}
                onChange=${(on) => update({ fallbackToDefault: on })} hint=${errors.fallbackToDefault ?? t('mail.fallbackToDefaultHint')} />`
            : html`<p class="hint">${t('mail.defaultExplained')}${stored.customHost ? ` ${t('mail.customKept', { host: stored.customHost })}` : ''}</p>`
        }
        <fieldset class="reports">
          <legend>${t('mail.reports')}</legend>
          <${TextField} id="mail-dailyReportTime" type="time" label=${t('mail.dailyReportTime')} value=${form.dailyReportTime} step=${REPORT_TIME_WITH_SECONDS.test(form.dailyReportTime) ? 1 : undefined}
            onInput=${(value) => update({ dailyReportTime: value })} error=${errors.dailyReportTime} hint=${t('mail.dailyReportTimeHint', { zone: session.tenant.timeZone })} />
          <${Toggle} id="mail-sendEmpty" label=${t('mail.sendEmptyDailyReport')} checked=${form.sendEmptyDailyReport}
            onChange=${(on) => update({ sendEmptyDailyReport: on })} />
        </fieldset>
      </fieldset>
      <${Banner} live kind=${message?.kind}>${message?.text}<//>
      ${form.useCustom && tested === testedKey(form) ? html`<p class="tested" role="status" data-testid="mail-tested">✓ ${t('mail.tested')}</p>` : null}
      ${
        editable
          ? html`<div class="actions">
        ${
          // "Default" chosen over saved custom values: a test would run the saved custom server, not what is shown.
          testsWhatIsShown(form, stored) ? html`<button type="button" class="secondary" onClick=${() => setDialog('test')}>${t('mail.test')}</button>` : null
        }
        <button type="submit">${t('save')}</button>
        ${stored.custom ? html`<button type="button" class="link danger" onClick=${clearCustom}>${t('mail.clearCustom')}</button>` : null}
      </div>`
          : null
      }
    </form>
    <//>
    ${
      dialog === 'test'
        ? html`<${TestMailDialog} sendTo=${session.user?.email ?? ''} onClose=${() => setDialog(null)}
      plaintextAuth=${form.useCustom ? plaintextAuthOf(form.custom) : null}
      run=${(sendTo) =>
        api('POST', tenantApi(session, 'settings/mail/test'), {
          sendTo,
          ...(form.useCustom ? { settings: smtpPayload(form.custom) } : {}),
          // The host administrator has no language of its own: the email is in its console's. A user's is the user's.
          ...(session.kind === 'host' ? { language: currentLanguage() } : {}),
        })}
      onTested=${(ok) => setTested(ok && testsWhatIsShown(form, stored) ? testedKey(form) : null)} onErrors=${(err) => setErrors(fieldErrors(err, ['settings.', 'custom.']))} />`
        : null
    }
    ${
      dialog === 'confirm'
        ? html`<${Dialog} title=${t('mail.untestedTitle')} onClose=${() => setDialog(null)} describedBy="mail-untested">
      <p id="mail-untested">${t('mail.untested')}</p>
      <div class="actions">
        <button type="button" class="secondary" onClick=${() => setDialog('test')}>${t('mail.test')}</button>
        <button type="button" onClick=${save}>${t('mail.continueWithoutTesting')}</button>
        <button type="button" class="link" onClick=${() => setDialog(null)}>${t('cancel')}</button>
      </div>
    <//>`
        : null
    }
  </section>`;
}
