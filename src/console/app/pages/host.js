import { useEffect, useRef, useState } from 'preact/hooks';
import { RETENTION_DAYS } from 'tocsin/retention';
import { api, fieldErrors } from '../lib/api.js';
import { browserTimeZone, formatTime } from '../lib/format.js';
import { currentLanguage, formatNumber, listSeparator, t } from '../lib/i18n.js';
import { LanguageName, TimeZoneField, languageChoices } from '../lib/person-fields.js';
import { SmtpFields, plaintextAuthOf, smtpFormOf, smtpPayload } from '../lib/smtp-form.js';
import { Banner, Dialog, ScrollPre, SelectField, TextField, gone, html, problemText, useOneAtATime, useSaver } from '../lib/ui.js';
import { useLastAsked } from '../lib/last-asked.js';
import { useLoadWhenBack, usePolling } from '../lib/polling.js';
import { useLeaveGuard } from '../lib/router.js';
import { TenantsActivityChart } from './charts.js';
import { TestMailDialog } from './test-mail.js';

function TenantDialog({ tenant, onClose, onSaved }) {
  const [form, setForm] = useState({
    name: tenant?.name ?? '',
    displayName: tenant?.displayName ?? '',
    // A new tenant starts in the host administrator's language (its browser's, unless it chose another
    // signing in) and its browser's time zone, as it likely is its own, rather than English and UTC.
    timeZone: tenant?.timeZone ?? browserTimeZone(),
    language: tenant?.language ?? currentLanguage(),
    retentionDays: String(tenant?.retentionDays ?? RETENTION_DAYS.default),
  });
  // One save at a time, as Add user's: a Save clicked twice on a slow server created the tenant, then
  // sent a second create, refused as "name taken".
  const { errors, message, run, busy } = useSaver(onSaved);
  const set = (name) => (value) => setForm({ ...form, [name]: value });
  const submit = (event) => {
    event.preventDefault();
    const { name, retentionDays, ...fields } = form;
    // Emptied, the default again (null); a number as a number, which the API takes or names the field for (its
    // range, a fraction); anything else as typed, not as the null JSON makes of NaN, which reset it to the default.
    const days = retentionDays.trim();
    const rest = { ...fields, retentionDays: days === '' ? null : Number.isFinite(Number(days)) ? Number(days) : days };
    // A display name left empty is none: null clears it on an edit (the tenant then goes by its name), as it is left out on a creation.
    run(() =>
      tenant
        ? api('PATCH', `tenants/${tenant.id}`, { ...rest, displayName: rest.displayName || null })
        : api('POST', 'tenants', { name, ...rest, displayName: rest.displayName || undefined }),
    );
  };
  // novalidate: the browser's own range check stopped an out-of-range retention in a bubble in its language;
  // the API's refusal is said in the user's, next to the field.
  return html`<${Dialog} title=${tenant ? t('tenants.edit') : t('tenants.add')} onClose=${onClose}>
    <form onSubmit=${submit} novalidate>
      <${TextField} id="tenant-name" label=${t('tenants.name')} value=${form.name} onInput=${set('name')} error=${errors.name} disabled=${Boolean(tenant)} hint=${t('tenants.nameHint')} required />
      <${TextField} id="tenant-displayName" label=${t('tenants.displayName')} value=${form.displayName} onInput=${set('displayName')} error=${errors.displayName} />
      <${TimeZoneField} id="tenant-timeZone" value=${form.timeZone} onInput=${set('timeZone')} error=${errors.timeZone} />
      <${SelectField} id="tenant-language" label=${t('language')} value=${form.language} onChange=${set('language')} error=${errors.language}
        options=${languageChoices()} />
      <${TextField} id="tenant-retentionDays" type="number" inputmode="numeric" min=${RETENTION_DAYS.min} max=${RETENTION_DAYS.max} step="1"
        label=${t('tenants.retentionDays')} value=${form.retentionDays} onInput=${set('retentionDays')} error=${errors.retentionDays}
        hint=${t('tenants.retentionDaysHint', { min: formatNumber(RETENTION_DAYS.min), max: formatNumber(RETENTION_DAYS.max), default: formatNumber(RETENTION_DAYS.default) })} />
      <${Banner}>${message}<//>
      <div class="actions"><button type="button" class="link" onClick=${onClose}>${t('cancel')}</button><button type="submit" aria-busy=${busy}>${t('save')}</button></div>
    </form>
  <//>`;
}

/** ActivityCells are a tenant's alerts and mail of the last 24 hours, in two cells of its row. */
function ActivityCells({ activity }) {
  if (!activity) return html`<td></td><td></td>`;
  const alerts = Object.values(activity.alerts).reduce((sum, n) => sum + n, 0);
  const failing = activity.mailHealth.state === 'failing';
  return html`<td>${formatNumber(alerts)}</td>
    <td>${t('tenants.mailCounts', {
      sent: t('tenants.sent', { count: activity.attempts.sent }),
      retrying: t('tenants.retrying', { count: activity.attempts.retrying }),
      failed: t('tenants.failed', { count: activity.attempts.failed }),
    })}${failing ? html` <span class="status failed" title=${activity.mailHealth.lastError ?? ''}>${t('tenants.mailFailing')}</span>` : null}</td>`;
}

/** TenantsPage lists the host's tenants and creates, edits and deletes them. */
export function TenantsPage({ onChanged }) {
  const [tenants, setTenants] = useState(/** @type {any[]} */ ([]));
  const [dialog, setDialog] = useState(/** @type {any} */ (null));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const [activity, setActivity] = useState(/** @type {any} */ (null));
  const [loaded, setLoaded] = useState(false);
  usePolling(() => {
    // A refresh that fails keeps the last day shown, as the tenants' list keeps its rows.
    return api('GET', 'system/tenant-activity').then(setActivity, () => {});
  }, []);
  // The charts show the tenants listed: one deleted since their last refresh (or in a refresh answered late) goes at once.
  // Looked up by id, not searched for each row and each chart item: a host of thousands of tenants draws in one pass.
  const listed = new Set(tenants.map((tenant) => tenant.id));
  const listedActivity = activity && {
    ...activity,
    items: activity.items.filter((/** @type {{tenantId: string}} */ item) => listed.has(item.tenantId)),
  };
  const activityById = new Map((activity?.items ?? []).map((/** @type {{tenantId: string}} */ item) => [item.tenantId, item]));
  /** @param {{id: string}} tenant */
  const activityOf = (tenant) => activityById.get(tenant.id);
  // Each change (a save, a Delete) reads the list again, and on a slow or loaded server an older read answered
  // after a newer one brought back a tenant deleted since, here and in the tenant picker; the list does not
  // refresh by itself, so it stayed. Only the last read's answer (or error) is shown.
  const reads = useLastAsked();
  const load = () =>
    reads.read(
      () => api('GET', 'tenants'),
      (answer) => {
        setTenants(answer.items);
        setLoaded(true);
        setError(null);
        onChanged(answer.items);
      },
      setError,
    );
  useEffect(() => {
    load();
  }, []);
  useLoadWhenBack(load, loaded);
  const remove = async (tenant) => {
    if (!confirm(t('tenants.confirmDelete', { name: tenant.name }))) return;
    try {
      await api('DELETE', `tenants/${tenant.id}`);
    } catch (err) {
      // Deleted meanwhile (from another console; this list does not refresh by itself): done, its row goes.
      if (!gone(err)) {
        setError(err);
        return;
      }
    }
    load();
  };
  return html`<section class="page">
    <h1>${t('tenants.title')}</h1>
    <div class="toolbar"><button type="button" onClick=${() => setDialog({})}>${t('tenants.add')}</button></div>
    <${Banner}>${problemText(error)}<//>
    <${TenantsActivityChart} activity=${listedActivity} />
    ${
      // A new installation: the way in is the button above, named in the hint, not a table of headings over nothing.
      loaded && tenants.length === 0 ? html`<p class="empty">${t('tenants.none', { add: t('tenants.add') })}</p>` : null
    }
    <div class="table-wrap" hidden=${tenants.length === 0}><table>
      <thead><tr><th scope="col">${t('tenants.name')}</th><th scope="col">${t('tenants.displayName')}</th><th scope="col">${t('access.timeZone')}</th>
        <th scope="col">${t('language')}</th><th scope="col">${t('tenants.retention')}</th><th scope="col">${t('tenants.alerts24h')}</th><th scope="col">${t('tenants.mail24h')}</th><th scope="col">${t('tenants.created')}</th><th scope="col"><span class="sr-only">${t('actions')}</span></th></tr></thead>
      <tbody>${tenants.map(
        (tenant) => html`<tr key=${tenant.id}><td>${tenant.name}</td><td>${tenant.displayName}</td><td>${tenant.timeZone}</td>
        <td><${LanguageName} code=${tenant.language} /></td><td class="nowrap">${t('tenants.retentionCell', { count: tenant.retentionDays })}</td><${ActivityCells} activity=${activityOf(tenant)} /><td class="nowrap">${formatTime(tenant.createdAt)}</td>
        <td class="nowrap"><button type="button" class="link" onClick=${() => setDialog({ tenant })}>${t('edit')}</button>
          <button type="button" class="link danger" onClick=${() => remove(tenant)}>${t('delete')}</button></td></tr>`,
      )}</tbody>
    </table></div>
    ${
      dialog
        ? html`<${TenantDialog} tenant=${dialog.tenant} onClose=${() => setDialog(null)} onSaved=${() => {
            setDialog(null);
            load();
          }} />`
        : null
    }
  </section>`;
}

/**
 * SystemMailPage edits the host's system mail settings: the "default settings" tenants use. Test
 * Mail Settings sends through the values shown, saved or not, as a tenant's Settings > Mail does;
 * the host administrator has no address of its own, so Send To starts empty.
 */
export function SystemMailPage() {
  const [form, setForm] = useState(/** @type {any} */ (null));
  const [testing, setTesting] = useState(false);
  const [errors, setErrors] = useState(/** @type {Record<string, string>} */ ({}));
  const [message, setMessage] = useState(/** @type {{ kind: string, text: import('preact').ComponentChildren } | null} */ (null));
  // The form as last read or saved: leaving it changed asks first.
  const [shown, setShown] = useState(/** @type {string | null} */ (null));
  useLeaveGuard(form !== null && JSON.stringify(form) !== shown, t('unsaved.leave'));
  /** @param {any} next */
  const show = (next) => {
    setForm(next);
    setShown(JSON.stringify(next));
  };
  const load = () =>
    api('GET', 'system/mail-settings').then(
      (settings) => {
        setMessage(null);
        show(smtpFormOf(settings));
      },
      (err) => {
        // None saved yet: a form to fill. Any other failure shows no form, whose Save would write
        // empty values over the settings every tenant on the default settings sends with.
        if (err.status === 404) show(smtpFormOf(null));
        else setMessage({ kind: 'error', text: problemText(err) });
      },
    );
  useEffect(() => {
    load();
  }, []);
  useLoadWhenBack(load, form !== null);
  // The form as it is now, for a save's answer to tell whether the host administrator typed on while it was out.
  const current = useRef(form);
  current.current = form;
  // Only the last Save's answer is the form's saved state (answers out of order on a slow or loaded server).
  const saves = useLastAsked();
  if (!form) return html`<section class="page"><h1>${t('systemMail.title')}</h1><${Banner} live kind=${message?.kind}>${message?.text}<//></section>`;
  const save = async (event) => {
    event.preventDefault();
    // Said again once this save is answered (a screen reader hears a second save too).
    setMessage(null);
    const sent = form;
    await saves.read(
      () => api('PUT', 'system/mail-settings', smtpPayload(form)),
      (answer) => {
        const saved = smtpFormOf(answer);
        // Typed on while the save was out (a slow server): what was typed since stays, as changes not saved yet.
        if (current.current === sent) show(saved);
        else setShown(JSON.stringify(saved));
        setErrors({});
        setMessage({ kind: 'success', text: t('mail.saved') });
      },
      (err) => {
        setErrors(fieldErrors(err));
        setMessage({ kind: 'error', text: problemText(err) });
      },
    );
  };
  return html`<section class="page">
    <h1>${t('systemMail.title')}</h1>
    <p class="hint">${t('systemMail.hint')}</p>
    <form onSubmit=${save} novalidate>
      <${SmtpFields} prefix="system" legend=${t('systemMail.server')} form=${form} errors=${errors} onChange=${(next) => {
        setForm(next);
        setMessage(null);
      }} />
      <${Banner} live kind=${message?.kind}>${message?.text}<//>
      <div class="actions">
        <button type="submit">${t('save')}</button>
        <button type="button" class="secondary" onClick=${() => setTesting(true)}>${t('mail.test')}</button>
      </div>
    </form>
    ${
      testing
        ? html`<${TestMailDialog} sendTo="" onClose=${() => setTesting(false)} plaintextAuth=${plaintextAuthOf(form)}
      run=${(sendTo) => api('POST', 'system/mail-settings/test', { sendTo, settings: smtpPayload(form), language: currentLanguage() })}
      onErrors=${(err) => setErrors(fieldErrors(err, ['settings.']))} />`
        : null
    }
  </section>`;
}

/** kindName is an X-Tocsin-Kind header in the user's words (a kind the console does not know, as sent). */
function kindName(kind) {
  if (!kind) return '';
  const name = t(`kind.${kind}`);
  return name === `kind.${kind}` ? kind : name;
}

/** CatcherPage is the built-in mail catcher's inbox, so a newcomer sees Tocsin's emails arrive: newest first, as the API lists them. */
export function CatcherPage() {
  const [items, setItems] = useState(/** @type {any[]} */ ([]));
  const [open, setOpen] = useState(/** @type {any} */ (null));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  // 404: no catcher runs (TOCSIN_SMTP_URL names the system server), said so rather than as an error.
  const off = /** @type {{ status?: number } | null} */ (error)?.status === 404;
  const reads = useLastAsked();
  usePolling(() => {
    if (off) return undefined;
    return reads.read(
      () => api('GET', 'system/mail-catcher/messages'),
      (answer) => {
        setItems(answer.items);
        setError(null);
      },
      setError,
    );
  }, [off]);
  // One at a time: a second click while the first is on its way has nothing more to empty.
  const { busy: emptying, once } = useOneAtATime();
  const none = items.length === 0;
  const empty = () =>
    once(async () => {
      try {
        await api('DELETE', 'system/mail-catcher/messages');
        // A refresh asked before, answered after, would bring back the emails just emptied.
        reads.forget();
        setItems([]);
      } catch (err) {
        setError(err);
      }
    });
  return html`<section class="page">
    <h1>${t('catcher.title')}</h1>
    <p class="hint">${t('catcher.hint')}</p>
    ${
      off
        ? html`<p class="empty" role="status">${t('catcher.off')}</p>`
        : // With nothing to empty it says so (aria-disabled) rather than being disabled, which dropped the
          // keyboard that had just emptied the inbox to the start of the page.
          html`<div class="toolbar"><button type="button" class="secondary" aria-disabled=${none} aria-busy=${emptying}
            onClick=${() => none || empty()}>${t('catcher.empty')}</button></div>
    <${Banner}>${problemText(error)}<//>`
    }
    ${
      off
        ? null
        : items.length === 0
          ? html`<p class="empty">${t('catcher.none')}</p>`
          : html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">${t('catcher.received')}</th><th scope="col">${t('catcher.kind')}</th><th scope="col">${t('catcher.to')}</th><th scope="col">${t('previews.subject')}</th></tr></thead>
      <tbody>${items.map(
        (message) => html`<tr key=${message.id}>
        <td class="nowrap">${formatTime(message.receivedAt)}</td><td>${kindName(message.headers['x-tocsin-kind'])}</td><td>${message.envelope.to.join(listSeparator())}</td>
        <td><button type="button" class="link" onClick=${() => setOpen(message)}>${message.subject || t('catcher.noSubject')}</button></td></tr>`,
      )}</tbody>
    </table></div>`
    }
    ${
      open
        ? html`<${Dialog} title=${open.subject || t('catcher.noSubject')} onClose=${() => setOpen(null)} wide>
      <dl class="facts"><dt>${t('catcher.from')}</dt><dd>${open.from}</dd><dt>${t('catcher.to')}</dt><dd>${open.to}</dd>
        <dt>Message-ID</dt><dd><code>${open.messageId}</code></dd></dl>
      ${open.html ? html`<iframe title=${open.subject || ''} sandbox="" srcdoc=${open.html}></iframe>` : html`<${ScrollPre} className="email-text" label=${open.subject || t('catcher.noSubject')}>${open.text}<//>`}
      <details><summary>${t('catcher.headers')}</summary><${ScrollPre} label=${t('catcher.headers')}>${Object.entries(open.headers)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n')}<//></details>
    <//>`
        : null
    }
  </section>`;
}
