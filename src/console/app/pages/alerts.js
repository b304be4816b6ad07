import { useEffect, useState } from 'preact/hooks';
import { api, query as toQuery } from '../lib/api.js';
import { loadCatalogue } from '../lib/catalogue.js';
import { formatTime, isoToLocalInput, localInputToIso } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { navigate } from '../lib/router.js';
import { SEVERITIES, alertsChanged, can, tenantApi } from '../lib/session.js';
import { Banner, Code, Dialog, SelectField, TextField, Toggle, html, problemText } from '../lib/ui.js';
import { MAX_LIMIT, pageLimit, usePolling } from '../lib/polling.js';
import { AlertsChart } from './charts.js';

const SOURCE_FILTERS = ['process', 'robot', 'queue'];
const FILTERS = ['severity', 'component', 'event', 'unread', 'since', 'until', ...SOURCE_FILTERS];

/** filtersOf keeps the alert-list filters of a hash query (the ones email links carry too). */
export function filtersOf(query) {
  const filters = {};
  for (const key of FILTERS) if (query[key]) filters[key] = query[key];
  if (filters.severity === 'Warning') filters.severity = 'Warn';
  return filters;
}

/** sourceText is an alert's source in one line: process, robot, machine, queue, job. */
function sourceText(source) {
  if (!source) return '';
  return ['process', 'robot', 'machine', 'queue', 'job']
    .filter((key) => source[key])
    .map((key) => source[key])
    .join(' · ');
}

/** matchText is what a mute matches, in one line: `robot R7 · event Robot.StatusChanged.Offline`. */
function matchText(match) {
  return Object.entries(match)
    .map(([key, value]) => `${key} ${value}`)
    .join(' · ');
}

/**
 * MutesBar lists the mutes in force (the tenant's, and the caller's own snoozes), each with who set
 * it and until when, and lifts one for a holder of Alerts.Edit or the snooze's owner.
 */
function MutesBar({ session, mutes, onLift }) {
  if (mutes.length === 0) return null;
  const mayLift = (mute) => mute.scope === 'user' || can(session, 'Alerts.Edit');
  return html`<section class="mutes" aria-label=${t('mutes.title')}>
    <h2>${t('mutes.title')}</h2>
    <ul>${mutes.map(
      (mute) => html`<li key=${mute.id} data-mute-id=${mute.id}>
      <strong>${matchText(mute.match)}</strong> — ${t('mutes.until', { time: formatTime(mute.until) })},
      ${mute.scope === 'user' ? t('mutes.snooze') : t('mutes.by', { name: mute.createdBy.name })}
      ${mayLift(mute) ? html` <button type="button" class="link" onClick=${() => onLift(mute.id)}>${t('mutes.lift')}</button>` : null}
    </li>`,
    )}</ul>
  </section>`;
}

/** AlertDetails shows everything an alert carries, its JSON data included. */
function AlertDetails({ alert, onClose }) {
  const facts = [
    [t('alerts.severity'), t(`severity.${alert.severity}`)],
    [t('alerts.component'), alert.component],
    [t('alerts.event'), alert.event],
    [t('alerts.occurred'), formatTime(alert.occurredAt)],
    [t('alerts.received'), formatTime(alert.createdAt)],
    [t('alerts.folder'), alert.folder],
    ...Object.entries(alert.source ?? {}).map(([key, value]) => [`${t('alerts.source')} · ${key}`, value]),
    [t('alerts.dedupKey'), alert.dedupKey],
  ].filter(([, value]) => value);
  return html`<${Dialog} title=${alert.message.slice(0, 120)} onClose=${onClose} wide>
    <p class="message-full">${alert.message}</p>
    <dl class="facts">${facts.map(([label, value]) => html`<dt>${label}</dt><dd>${value}</dd>`)}</dl>
    ${alert.data ? html`<h3>${t('alerts.data')}</h3><pre>${JSON.stringify(alert.data, null, 2)}</pre>` : null}
  <//>`;
}

/**
 * AlertsPage is the alert list: filters kept in the URL (so links from emails open it
 * pre-filtered), mark read per row, for a selection and for all, refreshed by polling.
 */
export function AlertsPage({ session, query }) {
  const filters = filtersOf(query);
  const key = JSON.stringify(filters);
  const [items, setItems] = useState(/** @type {any[]} */ ([]));
  const [nextCursor, setNextCursor] = useState(/** @type {any} */ (null));
  const [extra, setExtra] = useState(0);
  const [selected, setSelected] = useState(new Set());
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const [catalogue, setCatalogue] = useState(/** @type {any[]} */ ([]));
  const [details, setDetails] = useState(/** @type {any} */ (null));
  const [mutes, setMutes] = useState(/** @type {any[]} */ ([]));

  useEffect(() => {
    loadCatalogue(session).then(setCatalogue);
  }, [session.tenant.id]);
  useEffect(() => {
    setExtra(0);
    setSelected(new Set());
  }, [key]);

  usePolling(() => {
    api('GET', tenantApi(session, `alerts${toQuery({ ...filters, limit: pageLimit(extra) })}`)).then((answer) => {
      setItems(answer.items);
      setNextCursor(answer.nextCursor ?? null);
      setError(null);
    }, setError);
    api('GET', tenantApi(session, 'mutes')).then((answer) => setMutes(answer.items), setError);
  }, [key, extra, session.tenant.id]);

  const setFilter = (name, value) => navigate('/alerts', { ...filters, [name]: value });
  const mark = async (body, read = true) => {
    try {
      await api('POST', tenantApi(session, read ? 'alerts/mark-read' : 'alerts/mark-unread'), body);
      setSelected(new Set());
      alertsChanged();
    } catch (err) {
      setError(err);
    }
  };
  const toggle = (id, on) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };
  const remove = async (id) => {
    if (!confirm(t('alerts.confirmDelete'))) return;
    try {
      await api('DELETE', tenantApi(session, `alerts/${encodeURIComponent(id)}`));
      alertsChanged();
    } catch (err) {
      setError(err);
    }
  };
  const acknowledge = async (id) => {
    try {
      await api('POST', tenantApi(session, `alerts/${encodeURIComponent(id)}/acknowledge`));
      alertsChanged();
    } catch (err) {
      setError(err);
    }
  };
  const lift = async (id) => {
    try {
      await api('DELETE', tenantApi(session, `mutes/${encodeURIComponent(id)}`));
      setMutes(mutes.filter((mute) => mute.id !== id));
    } catch (err) {
      setError(err);
    }
  };
  // A source filter comes only from a link (an email's "what failed" group); it is shown so the list does not look short for no reason.
  const sourceFilter = SOURCE_FILTERS.filter((part) => filters[part]).map((part) => [part, filters[part]]);
  const components = catalogue.map((component) => component.name);
  const events = catalogue.flatMap((component) => component.events.map((event) => event.name));

  return html`<section class="page">
    <h1>${t('alerts.title')}</h1>
    <${AlertsChart} session=${session} onPick=${(period) => navigate('/alerts', { ...filters, ...period })} />
    <form class="filters" aria-label=${t('filters')} onSubmit=${(event) => event.preventDefault()}>
      <${SelectField} id="filter-severity" label=${t('alerts.severity')} value=${filters.severity ?? ''}
        options=${[['', t('alerts.anySeverity')], ...SEVERITIES.map((s) => [s, t('alerts.atLeast', { severity: t(`severity.${s}`) })])]}
        onChange=${(value) => setFilter('severity', value)} />
      <${TextField} id="filter-component" label=${t('alerts.component')} value=${filters.component} list="component-list"
        onChange=${(event) => setFilter('component', event.currentTarget.value.trim())} onInput=${() => {}} />
      <${TextField} id="filter-event" label=${t('alerts.event')} value=${filters.event} list="event-list"
        onChange=${(event) => setFilter('event', event.currentTarget.value.trim())} onInput=${() => {}} />
      <${TextField} id="filter-since" type="datetime-local" label=${t('alerts.since')} value=${isoToLocalInput(filters.since)}
        onChange=${(event) => setFilter('since', localInputToIso(event.currentTarget.value))} onInput=${() => {}} />
      <${TextField} id="filter-until" type="datetime-local" label=${t('alerts.until')} value=${isoToLocalInput(filters.until)}
        onChange=${(event) => setFilter('until', localInputToIso(event.currentTarget.value))} onInput=${() => {}} />
      <${Toggle} id="filter-unread" label=${t('alerts.unreadOnly')} checked=${filters.unread === 'true'}
        onChange=${(on) => setFilter('unread', on ? 'true' : '')} />
      <datalist id="component-list">${components.map((name) => html`<option value=${name} />`)}</datalist>
      <datalist id="event-list">${events.map((name) => html`<option value=${name} />`)}</datalist>
      ${sourceFilter.length ? html`<p class="source-filter">${t('alerts.source')}: <strong>${sourceFilter.map(([part, value]) => `${part} ${value}`).join(' · ')}</strong></p>` : null}
      ${Object.keys(filters).length ? html`<button type="button" class="secondary" onClick=${() => navigate('/alerts')}>${t('alerts.clearFilters')}</button>` : null}
    </form>
    <div class="toolbar">
      <button type="button" disabled=${selected.size === 0} onClick=${() => mark({ ids: [...selected] })}>${t('alerts.markSelectedRead', { count: selected.size })}</button>
      <button type="button" class="secondary" disabled=${selected.size === 0} onClick=${() => mark({ ids: [...selected] }, false)}>${t('alerts.markSelectedUnread')}</button>
      <button type="button" class="secondary" onClick=${() => mark({ all: true })}>${t('alerts.markAllRead')}</button>
    </div>
    <${Banner}>${problemText(error)}<//>
    <${MutesBar} session=${session} mutes=${mutes} onLift=${lift} />
    ${
      items.length === 0
        ? error
          ? null
          : html`<p class="empty">${t('alerts.none')}</p>`
        : html`<div class="table-wrap"><table class="alerts">
      <thead><tr>
        <th scope="col"><input type="checkbox" aria-label=${t('alerts.selectAll')} checked=${selected.size > 0 && selected.size === items.length}
          onChange=${(event) => setSelected(event.currentTarget.checked ? new Set(items.map((a) => a.id)) : new Set())} /></th>
        <th scope="col">${t('alerts.severity')}</th><th scope="col">${t('alerts.time')}</th><th scope="col">${t('alerts.component')}</th>
        <th scope="col">${t('alerts.event')}</th><th scope="col">${t('alerts.message')}</th><th scope="col">${t('alerts.source')}</th><th scope="col"><span class="sr-only">${t('actions')}</span></th>
      </tr></thead>
      <tbody>${items.map(
        (alert) => html`<tr key=${alert.id} class=${alert.read ? 'read' : 'unread'} data-alert-id=${alert.id}>
        <td><input type="checkbox" aria-label=${t('alerts.select', { message: alert.message.slice(0, 60) })} checked=${selected.has(alert.id)}
          onChange=${(event) => toggle(alert.id, event.currentTarget.checked)} /></td>
        <td><span class=${`severity ${alert.severity}`}>${t(`severity.${alert.severity}`)}</span>${alert.read ? null : html` <span class="dot" title=${t('alerts.unread')}><span class="sr-only">${t('alerts.unread')}</span></span>`}</td>
        <td class="nowrap">${formatTime(alert.occurredAt || alert.createdAt)}</td>
        <td>${alert.component}</td>
        <td class="event">${alert.event ? html`<${Code}>${alert.event}<//>` : null}</td>
        <td class="message">${alert.message}${alert.folder ? html`<small class="muted"> — ${alert.folder}</small>` : null}${
          alert.acknowledgedBy
            ? html`<br /><small class="ack">✓ ${t('alerts.acknowledgedBy', { name: alert.acknowledgedBy.name, time: formatTime(alert.acknowledgedAt) })}</small>`
            : null
        }</td>
        <td>${sourceText(alert.source)}</td>
        <td class="nowrap">
          <button type="button" class="link" onClick=${() => setDetails(alert)}>${t('alerts.details')}</button>
          ${
            alert.read
              ? html`<button type="button" class="link" onClick=${() => mark({ ids: [alert.id] }, false)}>${t('alerts.markUnread')}</button>`
              : html`<button type="button" class="link" onClick=${() => mark({ ids: [alert.id] })}>${t('alerts.markRead')}</button>`
          }
          ${alert.acknowledgedBy ? null : html` <button type="button" class="link" onClick=${() => acknowledge(alert.id)}>${t('alerts.acknowledge')}</button>`}
          ${can(session, 'Alerts.Delete') ? html` <button type="button" class="link danger" onClick=${() => remove(alert.id)}>${t('delete')}</button>` : null}
        </td>
      </tr>`,
      )}</tbody>
    </table></div>`
    }
    ${nextCursor && pageLimit(extra) < MAX_LIMIT ? html`<div class="actions"><button type="button" class="secondary" onClick=${() => setExtra(extra + 1)}>${t('loadMore')}</button></div>` : null}
    ${details ? html`<${AlertDetails} alert=${details} onClose=${() => setDetails(null)} />` : null}
  </section>`;
}
