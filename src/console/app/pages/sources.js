import { useState } from 'preact/hooks';
import { api, fieldErrors } from '../lib/api.js';
import { formatTime } from '../lib/format.js';
import { formatNumber, isolated, t } from '../lib/i18n.js';
import { useLastAsked } from '../lib/last-asked.js';
import { usePolling } from '../lib/polling.js';
import { can, tenantApi } from '../lib/session.js';
import { Banner, Copyable, Dialog, SelectField, TextField, Toggle, html, problemText, useOneAtATime } from '../lib/ui.js';

const KINDS = ['orchestrator-webhook', 'alertmanager', 'webhook', 'orchestrator-pull'];

/** alertmanagerYaml is the receiver block to paste into alertmanager.yml, with the source's URL and secret. */
function alertmanagerYaml(url, secret) {
  return `route:\n  receiver: tocsin\nreceivers:\n  - name: tocsin\n    webhook_configs:\n      - url: '${url}'\n        send_resolved: true\n        http_config:\n          authorization:\n            type: Bearer\n            credentials: '${secret}'\n`;
}

/** SetupSteps tells exactly what to paste where on the sending side, with the secret when it is being shown. */
function SetupSteps({ source, secret }) {
  const shown = secret ?? t('sources.yourSecret');
  if (source.kind === 'orchestrator-webhook') {
    return html`<ol class="steps">
      <li>${t('sources.steps.orchestrator.open')}</li>
      <li>${t('sources.steps.orchestrator.paste')}</li>
      <li>${t('sources.steps.orchestrator.events')}</li>
    </ol>`;
  }
  if (source.kind === 'alertmanager') {
    return html`<p>${t('sources.steps.alertmanager')}</p><pre class="yaml">${alertmanagerYaml(source.url, shown)}</pre>`;
  }
  if (source.kind === 'webhook') return html`<p>${t('sources.steps.webhook')}</p>`;
  return html`<p>${pullStep(source)}</p>`;
}

/**
 * pullStep says how often Tocsin reads a pull source, its interval in the plural form it takes
 * ("every second", "every 60 seconds": the API takes an interval of 1).
 * @param {{ pull?: { baseUrl?: string, intervalSeconds?: number } }} source
 */
export function pullStep(source) {
  return t('sources.steps.pull', { baseUrl: source.pull?.baseUrl ?? '', count: source.pull?.intervalSeconds ?? 60 });
}

/** SecretShown is the one time a secret is visible: the URL, the secret and the steps to paste them. */
function SecretShown({ source, secret, onClose }) {
  return html`<${Dialog} title=${t('sources.secretTitle', { name: source.name })} onClose=${onClose} wide>
    <p class="banner success">${t('sources.secretOnce')}</p>
    ${source.url ? html`<${Copyable} id="source-url" label=${t('sources.url')} value=${source.url} />` : null}
    <${Copyable} id="source-secret" label=${t('sources.secret')} value=${secret} />
    <${SetupSteps} source=${source} secret=${secret} />
    <div class="actions"><button type="button" onClick=${onClose}>${t('close')}</button></div>
  <//>`;
}

const EMPTY_PULL = {
  baseUrl: '',
  mode: 'onprem',
  tenancyName: 'Default',
  username: '',
  password: '',
  clientId: '',
  clientSecret: '',
  identityUrl: '',
  scope: 'OR.Monitoring.Read',
  organizationUnitId: '',
  intervalSeconds: '60',
};

// Secrets go as typed: a space that begins or ends a password is part of it.
const SECRETS = ['password', 'clientSecret'];

/** pullBody is the `pull` of a new orchestrator-pull source from the form: only the chosen sign-in's fields. */
export function pullBody(form) {
  const body = { baseUrl: form.baseUrl.trim(), intervalSeconds: Number(form.intervalSeconds) || 60 };
  const fields = form.mode === 'onprem' ? ['tenancyName', 'username', 'password'] : ['clientId', 'clientSecret', 'identityUrl', 'scope'];
  for (const name of fields) if (form[name].trim()) body[name] = SECRETS.includes(name) ? form[name] : form[name].trim();
  if (form.mode === 'cloud' && form.organizationUnitId.trim()) body.organizationUnitId = Number(form.organizationUnitId);
  return body;
}

function CreateDialog({ session, onClose, onCreated }) {
  const [form, setForm] = useState({ name: '', kind: KINDS[0], ...EMPTY_PULL });
  const [errors, setErrors] = useState(/** @type {Record<string, string>} */ ({}));
  const [message, setMessage] = useState(/** @type {import('preact').ComponentChildren} */ (''));
  const set = (name) => (value) => setForm({ ...form, [name]: value });
  const pull = form.kind === 'orchestrator-pull';
  const { busy, once } = useOneAtATime();
  const submit = (event) => {
    event.preventDefault();
    once(async () => {
      try {
        const body = { name: form.name, kind: form.kind, ...(pull ? { pull: pullBody(form) } : {}) };
        onCreated(await api('POST', tenantApi(session, 'sources'), body));
      } catch (err) {
        setErrors(fieldErrors(err, ['pull.', '']));
        setMessage(problemText(err));
      }
    });
  };
  const field = (
    name,
    type = 'text',
    extra = {},
  ) => html`<${TextField} id=${`source-${name}`} type=${type} label=${t(`sources.pull.${name}`)} value=${form[name]}
    onInput=${set(name)} error=${errors[name]} ...${extra} />`;
  return html`<${Dialog} title=${t('sources.add')} onClose=${onClose} wide>
    <form onSubmit=${submit} class="grid-form">
      <${TextField} id="source-name" label=${t('sources.name')} value=${form.name} onInput=${set('name')} error=${errors.name} required />
      <${SelectField} id="source-kind" label=${t('sources.kind')} value=${form.kind} onChange=${set('kind')} error=${errors.kind}
        options=${KINDS.map((kind) => [kind, t(`sources.kind.${kind}`)])} hint=${t(`sources.kindHint.${form.kind}`)} />
      ${
        pull
          ? html`
        ${field('baseUrl', 'url', { required: true, placeholder: 'https://orchestrator.example.com' })}
        <${SelectField} id="source-mode" label=${t('sources.pull.mode')} value=${form.mode} onChange=${set('mode')}
          options=${[['onprem', t('sources.pull.mode.onprem')], ['cloud', t('sources.pull.mode.cloud')]]} />
        ${
          form.mode === 'onprem'
            ? html`${field('tenancyName')}${field('username', 'text', { required: true })}${field('password', 'password', { required: true, autocomplete: 'new-password' })}`
            : html`${field('clientId', 'text', { required: true })}${field('clientSecret', 'password', { required: true, autocomplete: 'new-password' })}
              ${field('identityUrl', 'url', { placeholder: 'https://cloud.uipath.com/identity_/connect/token' })}${field('scope')}${field('organizationUnitId', 'number', { min: 0 })}`
        }
        ${field('intervalSeconds', 'number', { min: 1 })}`
          : null
      }
      <${Banner}>${message}<//>
      <div class="actions"><button type="button" class="link" onClick=${onClose}>${t('cancel')}</button><button type="submit" aria-busy=${busy}>${t('sources.create')}</button></div>
    </form>
  <//>`;
}

/** SAID are the codes of the reasons (src/sources/reasons.ts) the console says in the user's language. */
const SAID = new Set([
  'signature-missing',
  'signature-unreadable',
  'signature-mismatch',
  'timestamp-unreadable',
  'timestamp-stale',
  'authorization-missing',
  'authorization-unreadable',
  'authorization-mismatch',
  'over-rate',
  'storage-unavailable',
  'secret-unreadable',
  'too-large',
  'too-large-inflated',
  'not-json',
  'too-deep',
  'nul-character',
  'value-unstorable',
]);
/** QUOTED are the codes of errors that quote words not Tocsin's: a body's field errors, an upstream Orchestrator's answer. */
const QUOTED = new Set(['malformed', 'upstream']);

/**
 * Reason is a source's recorded error in the user's language, by its code: a reason Tocsin words
 * itself is said in full; one quoting a sender's or an upstream's words is named, those words after
 * it as they came, in English (marked so for screen readers); an error of a code this console does
 * not know (a newer server's) is shown as the API wrote it. A push source's secret that no longer
 * opens is rotated, not typed again as a pull source's sign-in is: it says so.
 * @param {{ error: string, code?: string | null, kind: string }} props
 */
function Reason({ error, code, kind }) {
  if (code === 'secret-unreadable' && kind !== 'orchestrator-pull') return t('sources.reason.secret-unreadable-push');
  if (code && SAID.has(code)) return t(`sources.reason.${code}`);
  if (code && QUOTED.has(code)) return html`${t('labelled', { label: t(`sources.reason.${code}`) })} <span lang="en">${error}</span>`;
  return html`<span lang="en">${error}</span>`;
}

function Receptions({ session, source }) {
  const [items, setItems] = useState(/** @type {any[]} */ ([]));
  // Read again as the source's counters move: a read asked before, answered after, would show fewer receptions.
  const reads = useLastAsked();
  usePolling(
    () =>
      reads.read(
        () => api('GET', tenantApi(session, `sources/${source.id}/receptions`)),
        (answer) => setItems(answer.items),
      ),
    [source.id, source.stats.accepted, source.stats.rejected],
  );
  if (items.length === 0) return html`<p class="empty">${t('sources.noReceptions')}</p>`;
  return html`<div class="table-wrap"><table class="receptions">
    <caption>${t('sources.receptions')}</caption>
    <thead><tr><th scope="col">${t('sources.receivedAt')}</th><th scope="col">${t('sources.outcome')}</th><th scope="col">${t('sources.status')}</th>
      <th scope="col">${t('sources.alerts')}</th><th scope="col">${t('sources.error')}</th></tr></thead>
    <tbody>${items.map(
      (row, i) => html`<tr key=${`${row.receivedAt}-${i}`}>
      <td class="nowrap">${formatTime(row.receivedAt)}</td><td><span class=${`status ${row.outcome}`}>${t(`sources.outcome.${row.outcome}`)}</span></td>
      <td>${row.status || '—'}</td>
      <td>${row.alertIds.slice(0, 3).map((id) => html`<code title=${id}>…${id.slice(-8)}</code> `)}${row.alertIds.length > 3 ? `+${row.alertIds.length - 3}` : ''}</td>
      <td class="reply">${row.error ? html`<${Reason} error=${row.error} code=${row.code} kind=${source.kind} />` : ''}</td></tr>`,
    )}</tbody>
  </table></div>`;
}

function SourceDetails({ session, source, onChanged, onSecret }) {
  const editable = can(session, 'Sources.Edit');
  const [message, setMessage] = useState(/** @type {import('preact').ComponentChildren} */ (''));
  const [result, setResult] = useState(/** @type {any} */ (null));
  const act = async (call) => {
    setMessage('');
    try {
      await call();
    } catch (err) {
      setMessage(problemText(err));
    }
    onChanged();
  };
  // Each one at a time: double-clicked on a slow API, Send a test event stored two test alerts, and
  // Rotate secret rotated twice, the secret shown being whichever answer came last, maybe one the other undid.
  const { busy: testing, once: onceTest } = useOneAtATime();
  const { busy: rotating, once: onceRotate } = useOneAtATime();
  const sendTest = () => onceTest(() => act(async () => setResult(await api('POST', tenantApi(session, `sources/${source.id}/test`)))));
  const rotate = () =>
    onceRotate(() => act(async () => onSecret(source, (await api('POST', tenantApi(session, `sources/${source.id}/rotate-secret`))).secret)));
  const setEnabled = (enabled) => act(() => api('PATCH', tenantApi(session, `sources/${source.id}`), { enabled }));
  const remove = () => {
    if (confirm(t('sources.confirmDelete', { name: isolated(source.name) }))) act(() => api('DELETE', tenantApi(session, `sources/${source.id}`)));
  };
  const pull = source.stats.pull;
  return html`<section class="source-details" id="source-details" aria-labelledby="source-title">
    <h2 id="source-title"><bdi>${source.name}</bdi> <small class="muted">${t(`sources.kind.${source.kind}`)}</small></h2>
    ${source.url ? html`<${Copyable} id="source-url-view" label=${t('sources.url')} value=${source.url} />` : null}
    <${SetupSteps} source=${source} />
    <dl class="facts">
      <dt>${t('sources.lastReceived')}</dt><dd>${formatTime(source.stats.lastReceivedAt) || '—'}</dd>
      <dt>${t('sources.accepted')}</dt><dd>${formatNumber(source.stats.accepted)}</dd>
      <dt>${t('sources.rejected')}</dt><dd>${formatNumber(source.stats.rejected)}</dd>
      <dt>${t('sources.lastError')}</dt><dd>${source.stats.lastError ? html`<${Reason} error=${source.stats.lastError} code=${source.stats.lastErrorCode} kind=${source.kind} /> (${formatTime(source.stats.lastErrorAt)})` : '—'}</dd>
      ${
        pull
          ? html`<dt>${t('sources.lag')}</dt><dd>${pull.lagSeconds === null ? '—' : t('sources.seconds', { n: formatNumber(pull.lagSeconds) })}</dd>
        <dt>${t('sources.imported')}</dt><dd>${formatNumber(pull.imported)}</dd>
        <dt>${t('sources.lastPolled')}</dt><dd>${formatTime(pull.lastPolledAt) || '—'}</dd>
        <dt>${t('sources.failures')}</dt><dd>${formatNumber(pull.consecutiveFailures)}</dd>`
          : null
      }
    </dl>
    ${
      editable
        ? html`<div class="toolbar">
      <${Toggle} id="source-enabled" switch label=${t('sources.enabled')} checked=${source.enabled} onChange=${setEnabled} />
      ${source.url ? html`<button type="button" onClick=${sendTest} aria-busy=${testing}>${t('sources.sendTest')}</button>` : null}
      ${source.url ? html`<button type="button" class="secondary" onClick=${rotate} aria-busy=${rotating}>${t('sources.rotate')}</button>` : null}
      <button type="button" class="link danger" onClick=${remove}>${t('delete')}</button>
    </div>`
        : null
    }
    <${Banner} live kind=${result?.ok ? 'success' : 'error'}>${
      result
        ? result.ok
          ? html`${t('sources.testOk', { count: result.alertIds.length })} ${result.alertIds.map((id) => html`<code class="alert-id">${id}</code> `)}
          <a href="#/alerts">${t('sources.seeAlerts')}</a>`
          : t('sources.testFailed', { status: result.status ?? '', detail: result.detail ?? '' })
        : null
    }<//>
    <${Banner}>${message}<//>
    <${Receptions} session=${session} source=${source} />
  </section>`;
}

/** SourcesPage lists the tenant's inbound sources with their counters, creates them and shows each one's setup, test and receptions. */
export function SourcesPage({ session }) {
  const [items, setItems] = useState(/** @type {any} */ (null));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const [selected, setSelected] = useState(/** @type {any} */ (null));
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState(/** @type {any} */ (null));
  const [tick, setTick] = useState(0);
  // A change (a switch turned, a test, a rotation) reads the list again at once, while the refresh asked
  // before it may still be on its way: answered after, on a slow or loaded server, it turned the switch back.
  const reads = useLastAsked();
  usePolling(
    () =>
      reads.read(
        () => api('GET', tenantApi(session, 'sources')),
        (answer) => {
          setItems(answer.items);
          setError(null);
        },
        setError,
      ),
    [session.tenant.id, tick],
  );
  const refresh = () => setTick(tick + 1);
  const current = items?.find((item) => item.id === selected) ?? null;

  return html`<section class="page">
    <h1>${t('sources.title')}</h1>
    <p class="muted">${t('sources.intro')}</p>
    ${can(session, 'Sources.Edit') ? html`<div class="toolbar"><button type="button" onClick=${() => setCreating(true)}>${t('sources.add')}</button></div>` : null}
    <${Banner}>${problemText(error)}<//>
    ${items && items.length === 0 ? html`<p class="empty">${t('sources.none')}</p>` : null}
    ${
      items && items.length > 0
        ? html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">${t('sources.name')}</th><th scope="col">${t('sources.kind')}</th><th scope="col">${t('sources.enabled')}</th>
        <th scope="col">${t('sources.accepted')}</th><th scope="col">${t('sources.rejected')}</th><th scope="col">${t('sources.lastReceived')}</th><th scope="col">${t('sources.lastError')}</th></tr></thead>
      <tbody>${items.map(
        // The name opens the source's details below the table: a disclosure button, which a screen reader says
        // is expanded (aria-selected on a table's row, which is no option to choose, said nothing).
        (item) => html`<tr key=${item.id} class=${item.id === selected ? 'selected' : undefined}>
        <td><button type="button" class="link" aria-expanded=${item.id === selected ? 'true' : 'false'} aria-controls=${item.id === selected ? 'source-details' : undefined}
          onClick=${() => setSelected(item.id)}>${item.name}</button></td>
        <td>${t(`sources.kind.${item.kind}`)}</td><td>${item.enabled ? t('yes') : t('no')}</td>
        <td>${formatNumber(item.stats.accepted)}</td><td>${formatNumber(item.stats.rejected)}</td><td class="nowrap">${formatTime(item.stats.lastReceivedAt)}</td>
        <td class="reply">${item.stats.lastError ? html`<${Reason} error=${item.stats.lastError} code=${item.stats.lastErrorCode} kind=${item.kind} />` : ''}</td></tr>`,
      )}</tbody>
    </table></div>`
        : null
    }
    ${
      current
        ? html`<${SourceDetails} key=${current.id} session=${session} source=${current} onChanged=${refresh}
      onSecret=${(source, value) => setSecret({ source, value })} />`
        : null
    }
    ${
      creating
        ? html`<${CreateDialog} session=${session} onClose=${() => setCreating(false)} onCreated=${(created) => {
            setCreating(false);
            setSelected(created.id);
            // Only a push kind (one with a receive URL) has its secret pasted anywhere; a polling source's is of no use.
            if (created.url) setSecret({ source: created, value: created.secret });
            refresh();
          }} />`
        : null
    }
    ${secret ? html`<${SecretShown} source=${secret.source} secret=${secret.value} onClose=${() => setSecret(null)} />` : null}
  </section>`;
}
