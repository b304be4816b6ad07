import { DateTime } from 'luxon';
import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import { api, fieldErrors, query as toQuery } from '../lib/api.js';
import { Named, useCatalogue } from '../lib/catalogue.js';
import { formatInputTime, formatTime, isoToLocalInput, localInputToIso, timeZone } from '../lib/format.js';
import { formatNumber, t, tParts } from '../lib/i18n.js';
import { navigate } from '../lib/router.js';
import { SEVERITIES, alertsChanged, can, tenantApi } from '../lib/session.js';
import { Banner, Dialog, FilterField, ScrollPre, SelectField, Toggle, gone, html, problemText, rowNameId, useOneAtATime } from '../lib/ui.js';
import { emptyList, showArrived, updateRows, withFirstPage, withOlderPage } from '../lib/live-list.js';
import { useLastAsked } from '../lib/last-asked.js';
import { MAX_LIMIT, PAGE_SIZE, usePolling } from '../lib/polling.js';
import { useToldRises } from '../lib/rises.js';
import { shortened } from '../lib/shorten.js';
import { AlertsChart } from './charts.js';

/** @import { CatalogueNames } from '../lib/catalogue.js' */

const SOURCE_FILTERS = ['process', 'robot', 'queue'];
const FILTERS = ['severity', 'component', 'event', 'unread', 'since', 'until', ...SOURCE_FILTERS];

/**
 * narrows says whether filters leave some alerts out of the list: then "mark all as read" means the
 * alerts the user is looking at, not a Fatal one that the filters hide. Unread only, and the lowest
 * severity "and above", leave no unread alert out.
 * @param {Record<string, string>} filters as filtersOf keeps them
 */
export function narrows(filters) {
  return Object.keys(filters).some((name) => name !== 'unread' && !(name === 'severity' && filters.severity === SEVERITIES[0]));
}

/** filtersOf keeps the alert-list filters of a hash query (the ones email links carry too). */
export function filtersOf(query) {
  const filters = {};
  for (const key of FILTERS) if (query[key]) filters[key] = query[key];
  if (filters.severity === 'Warning') filters.severity = 'Warn';
  return filters;
}

const SOURCE_PARTS = ['process', 'robot', 'machine', 'queue', 'job'];

/**
 * sourceText is an alert's source in one line: process, robot, machine, queue, job; each part
 * isolated, so a name in Arabic or Hebrew reads right to left without pulling its neighbours along.
 */
function sourceText(source) {
  if (!source) return '';
  return SOURCE_PARTS.filter((key) => source[key]).map((key, index) => html`${index ? ' · ' : ''}<bdi>${source[key]}</bdi>`);
}

/** partLabel names a part of a source or of a mute's match in the user's language (a part it does not know, as sent). */
function partLabel(key) {
  if (key === 'component' || key === 'event') return t(`alerts.${key}`);
  return SOURCE_PARTS.includes(key) ? t(`source.${key}`) : key;
}

/**
 * labelledParts is parts in one line, each named in the user's language: `Robot: R7 · Event: Robot
 * offline`, components and events by their catalogue names. Each value is isolated, as the source's
 * parts are: a bidirectional override in a robot's name would otherwise turn the rest of the line
 * backwards.
 * @param {string[][]} parts
 * @param {CatalogueNames} names
 */
function labelledParts(parts, names) {
  return parts.map(
    ([key, value], index) =>
      html`${index ? ' · ' : ''}${t('labelled', { label: partLabel(key) })} <bdi>${key === 'component' ? names.component(value) : key === 'event' ? names.event(value) : value}</bdi>`,
  );
}

/**
 * personName is who acknowledged an alert or set a mute, as shown: the host administrator (user id
 * `host`, named in English by the API) in the user's language, anyone else by their name, isolated
 * from the words around it (a bidirectional override in a name would turn the date after it backwards).
 * @param {{ userId: string, name: string }} person
 */
function personName(person) {
  return person.userId === 'host' ? t('host.admin') : html`<bdi>${person.name}</bdi>`;
}

/**
 * acknowledgedText says who is on an alert ("I'm on it") and since when.
 * @param {{ acknowledgedBy: { userId: string, name: string }, acknowledgedAt: string }} alert
 */
function acknowledgedText(alert) {
  return tParts('alerts.acknowledgedBy', { name: personName(alert.acknowledgedBy), time: formatTime(alert.acknowledgedAt) });
}

/**
 * MuteLine says what a mute or snooze matches, until when and whose it is, as the bar lists it.
 * @param {{ mute: any, names: CatalogueNames }} props
 */
function MuteLine({ mute, names }) {
  return html`<strong>${labelledParts(Object.entries(mute.match), names)}</strong> — ${tParts('mutes.line', {
    until: t('mutes.until', { time: formatTime(mute.until) }),
    who: mute.scope === 'user' ? t('mutes.snooze') : tParts('mutes.by', { name: personName(mute.createdBy) }),
  })}`;
}

/**
 * MutesBar lists the mutes in force (the tenant's, and the caller's own snoozes), each with who set
 * it and until when, and lifts one for a holder of Alerts.Edit or the snooze's owner.
 */
function MutesBar({ session, mutes, names, onLift }) {
  if (mutes.length === 0) return null;
  const mayLift = (mute) => mute.scope === 'user' || can(session, 'Alerts.Edit');
  return html`<section class="mutes" aria-label=${t('mutes.title')}>
    <h2>${t('mutes.title')}</h2>
    <ul>${mutes.map(
      (mute) => html`<li key=${mute.id} data-mute-id=${mute.id}>
      <${MuteLine} mute=${mute} names=${names} />
      ${mayLift(mute) ? html` <button type="button" class="link" onClick=${() => onLift(mute.id)}>${t('mutes.lift')}</button>` : null}
    </li>`,
    )}</ul>
  </section>`;
}

// What a mute or snooze of an alert may match, and for how long: the choices of the email's links.
const MUTE_PARTS = ['event', 'robot', 'process', 'queue'];
// As the email's links count them (actions/page.ts DURATIONS): "7 days" on the calendar of the user's clock.
const MUTE_SPANS = { '1h': { hours: 1 }, '24h': { hours: 24 }, '7d': { days: 7 } };

/**
 * muteUntil is when a mute or snooze chosen for a span ends, as an ISO instant: 7 days end at the same
 * time of day a week later on the user's clock (167 or 169 hours across a daylight-saving change).
 * @param {string} span one of MUTE_SPANS' keys
 */
export function muteUntil(span, now = Date.now()) {
  const length = MUTE_SPANS[/** @type {keyof typeof MUTE_SPANS} */ (span)];
  return DateTime.fromMillis(now, { zone: timeZone() }).plus(length).toUTC().toISO();
}

/**
 * muteOptions are what a mute of the alert may match, as the email's links offer it
 * (mutes/model.ts sourceMatchOf): its component and event, or a part of its source it carries.
 * @returns {[string, Record<string, string>][]}
 */
export function muteOptions(alert) {
  return MUTE_PARTS.flatMap((part) => {
    if (part === 'event') return [[part, { component: alert.component, event: alert.event }]];
    const value = alert.source?.[part];
    return value ? [[part, { [part]: value }]] : [];
  });
}

/** RadioGroup is a fieldset of radio buttons choosing one of `choices` ([value, text] pairs). */
function RadioGroup({ id, legend, value, onChange, choices }) {
  return html`<fieldset class="checklist"><legend>${legend}</legend>
    ${choices.map(
      ([key, text]) => html`<div class="toggle"><input type="radio" id=${`${id}-${key}`} name=${id} checked=${value === key} onChange=${() => onChange(key)} />
      <label for=${`${id}-${key}`}>${text}</label></div>`,
    )}
  </fieldset>`;
}

/**
 * MuteDialog stops the emails about an alert from the console, as its email's links do: snoozed
 * for the caller, or (with Alerts.Edit) muted for everyone; by event or by a part of its source.
 */
function MuteDialog({ session, alert, names, onMuted, onClose }) {
  const options = muteOptions(alert);
  // The host administrator receives no alert emails: it has nothing to snooze (the API answers 409), only mutes for everyone.
  const snooze = session.kind === 'user';
  const [scope, setScope] = useState(snooze ? 'user' : 'tenant');
  const [which, setWhich] = useState(options[0]?.[0] ?? 'event');
  const [span, setSpan] = useState('1h');
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const scopes = [...(snooze ? [['user', t('mutes.scope.user')]] : []), ...(can(session, 'Alerts.Edit') ? [['tenant', t('mutes.scope.tenant')]] : [])];
  const { busy, once } = useOneAtATime();
  const submit = (event) => {
    event.preventDefault();
    once(async () => {
      try {
        const match = options.find(([key]) => key === which)?.[1];
        onMuted(await api('POST', tenantApi(session, 'mutes'), { scope, match, until: muteUntil(span) }));
      } catch (err) {
        setError(err);
      }
    });
  };
  return html`<${Dialog} title=${t('mutes.dialogTitle')} onClose=${onClose}>
    <form onSubmit=${submit}>
      <p class="message-full" dir="auto">${alert.message}</p>
      <${RadioGroup} id="mute-scope" legend=${t('mutes.scope')} value=${scope} onChange=${setScope} choices=${scopes} />
      <${RadioGroup} id="mute-which" legend=${t('mutes.which')} value=${which} onChange=${setWhich}
        choices=${options.map(([key, match]) => [key, labelledParts(Object.entries(match), names)])} />
      <${SelectField} id="mute-for" label=${t('mutes.for')} value=${span} onChange=${setSpan}
        options=${Object.keys(MUTE_SPANS).map((key) => [key, t(`mutes.for.${key}`)])} />
      <${Banner}>${problemText(error)}<//>
      <div class="actions"><button type="button" class="link" onClick=${onClose}>${t('cancel')}</button><button type="submit" aria-busy=${busy}>${t('mutes.submit')}</button></div>
    </form>
  <//>`;
}

/**
 * receivedLater says whether an alert reached Tocsin a minute or more after it occurred (pulled, re-sent,
 * or sent late): its row then also says when it was received, since the list's order, its From and To
 * and its chart go by that time, not the time it occurred, which the row and the emails show first.
 * @param {{ occurredAt?: string | null, createdAt: string }} alert
 */
function receivedLater(alert) {
  return Boolean(alert.occurredAt) && Date.parse(alert.createdAt) - Date.parse(String(alert.occurredAt)) >= 60_000;
}

/** AlertDetails shows everything an alert carries, its JSON data included. */
function AlertDetails({ alert, names, onClose }) {
  const facts = [
    [t('alerts.severity'), t(`severity.${alert.severity}`)],
    [t('alerts.component'), alert.component && html`<${Named} name=${names.component(alert.component)} code=${alert.component} />`],
    [t('alerts.event'), alert.event && html`<${Named} name=${names.event(alert.event)} code=${alert.event} />`],
    [t('alerts.occurred'), formatTime(alert.occurredAt)],
    [t('alerts.received'), formatTime(alert.createdAt)],
    [t('alerts.folder'), alert.folder],
    ...Object.entries(alert.source ?? {}).map(([key, value]) => [`${t('alerts.source')} · ${partLabel(key)}`, value]),
    [t('alerts.dedupKey'), alert.dedupKey],
  ].filter(([, value]) => value);
  return html`<${Dialog} title=${shortened(alert.message, 120)} onClose=${onClose} wide>
    <p class="message-full" dir="auto">${alert.message}</p>
    <dl class="facts">${facts.map(([label, value]) => html`<dt>${label}</dt><dd>${value}</dd>`)}</dl>
    ${alert.data ? html`<h3>${t('alerts.data')}</h3><${ScrollPre} label=${t('alerts.data')}>${JSON.stringify(alert.data, null, 2)}<//>` : null}
  <//>`;
}

/**
 * AlertsPage is the alert list: filters kept in the URL (so links from emails open it
 * pre-filtered), mark read per row, for a selection and for all. Its first page is polled: alerts
 * that arrive wait behind "N new alerts — show", so the reader's place, filters and selection
 * stay; older pages come with "Load more" and the API's cursor.
 */
export function AlertsPage({ session, query }) {
  const filters = filtersOf(query);
  const key = JSON.stringify(filters);
  const [list, setList] = useState(/** @type {import('../lib/live-list.js').LiveList<any>} */ (emptyList()));
  const [selected, setSelected] = useState(/** @type {Set<string>} */ (new Set()));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  // What the user's last action met: kept until the next action, not cleared by the list's refreshes as `error` (a read's) is.
  const [failure, setFailure] = useState(/** @type {unknown} */ (null));
  const [details, setDetails] = useState(/** @type {any} */ (null));
  const [muting, setMuting] = useState(/** @type {any} */ (null));
  const [mutes, setMutes] = useState(/** @type {any[]} */ ([]));
  // What the last mute or "I'm on it" did, said in a live region on the page from the start: the window
  // closed, or the button went, and the keyboard landed on the next control, a screen reader saying
  // nothing of the snooze set or the alert taken (the bar it joined may be a hundred rows above).
  const [done, setDone] = useState(/** @type {import('preact').ComponentChildren} */ (null));
  // Load more stays enabled while its page is read (aria-busy), one read at a time: disabled, it
  // dropped the keyboard to the start of the page, a hundred rows back.
  const { busy: loadingMore, once: onceMore } = useOneAtATime();
  // Mark all (matching) as read reads every unread alert the filters match before marking them, a
  // thousand at a time: seconds in a big inbox, where the button said nothing of it and a second press
  // read and marked them all again. It says it is at work (aria-busy) and runs one at a time.
  const { busy: markingAll, once: onceMarkAll } = useOneAtATime();
  const names = useCatalogue(session);
  // Only the answer to the last question of each kind is shown (a slow or loaded server answers out of
  // order): of the list's first page, of the mutes in force, and of Load more's older pages.
  const reads = useLastAsked();
  const muteReads = useLastAsked();
  const olderPages = useLastAsked();
  const items = list.items;
  // Alerts that arrive behind "N new alerts — show" are told to a screen reader as the bell tells its
  // count (which stops rising at 999+ in a big inbox): at most once every 30 s.
  const { news: arrivalNews, hear: hearArrivals } = useToldRises((count) => t('alerts.arrived', { count }));
  useEffect(() => hearArrivals(list.arrived.length), [list.arrived.length]);

  // With the render, not after the next paint: the frame that shows the filters chosen holds no
  // row of the ones left, which a quick click would act on. Answers asked under other filters are
  // dropped, an older page too: read back after other filters and these again, it was added
  // below the list read again, past rows not read yet.
  useLayoutEffect(() => {
    reads.forget();
    olderPages.forget();
    setList(emptyList());
    setSelected(new Set());
    setFailure(null);
  }, [key]);

  usePolling(
    () =>
      Promise.all([
        reads.read(
          () => api('GET', tenantApi(session, `alerts${toQuery({ ...filters, limit: PAGE_SIZE })}`)),
          (answer) => {
            setList((shown) => withFirstPage(shown, answer));
            setError(null);
          },
          setError,
        ),
        muteReads.read(
          () => api('GET', tenantApi(session, 'mutes')),
          (answer) => setMutes(answer.items),
          setError,
        ),
      ]),
    [key, session.tenant.id],
  );

  const loadMore = () =>
    onceMore(() => {
      setFailure(null);
      return olderPages.read(
        () => api('GET', tenantApi(session, `alerts${toQuery({ ...filters, limit: PAGE_SIZE, cursor: list.nextCursor })}`)),
        (answer) => setList((shown) => withOlderPage(shown, answer)),
        setFailure,
      );
    });
  /**
   * changeRows changes the rows shown as an action of the user did (read, acknowledged, deleted): a refresh
   * asked before it, answered after, would show them as they were (ALERTS_CHANGED then asks again).
   * @param {(row: any) => any} change
   */
  const changeRows = (change) => {
    reads.forget();
    setList((shown) => updateRows(shown, change));
  };
  const setFilter = (name, value) => navigate('/alerts', { ...filters, [name]: value });
  /**
   * unreadMatching is the mark-read bodies for every unread alert the filters match, older pages than
   * the list has read included, in batches the API takes (its largest page is its largest batch).
   * @returns {Promise<{ ids: string[] }[]>}
   */
  const unreadMatching = async () => {
    const ids = [];
    let cursor;
    do {
      const answer = await api('GET', tenantApi(session, `alerts${toQuery({ ...filters, unread: 'true', limit: MAX_LIMIT, cursor })}`));
      ids.push(...answer.items.map((/** @type {{ id: string }} */ alert) => alert.id));
      cursor = answer.nextCursor;
    } while (cursor);
    const bodies = [];
    for (let at = 0; at < ids.length; at += MAX_LIMIT) bodies.push({ ids: ids.slice(at, at + MAX_LIMIT) });
    return bodies;
  };
  /** mark marks the alerts of `body` read (or unread); `{all: true}` under filters that narrow the list, only those they match. */
  const mark = async (body, read = true) => {
    setFailure(null);
    try {
      const bodies = body.all && narrows(filters) ? await unreadMatching() : [body];
      for (const each of bodies) await api('POST', tenantApi(session, read ? 'alerts/mark-read' : 'alerts/mark-unread'), each);
      const all = bodies.some((each) => each.all);
      const ids = new Set(bodies.flatMap((each) => each.ids ?? []));
      changeRows((row) => (all || ids.has(row.id) ? { ...row, read } : row));
      setSelected(new Set());
      alertsChanged();
    } catch (err) {
      setFailure(err);
    }
  };
  const toggle = (id, on) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };
  // A row acted on from a page that has not refreshed yet may have gone meanwhile (deleted by
  // someone else, or by the retention): the API's 404 takes it from the list. Deleting it again is
  // then done, and said nothing of; acknowledging it says, in the user's language, that it is gone.
  const drop = (id) => {
    changeRows((row) => (row.id === id ? null : row));
    alertsChanged();
  };
  const remove = async (id) => {
    if (!confirm(t('alerts.confirmDelete'))) return;
    setFailure(null);
    try {
      await api('DELETE', tenantApi(session, `alerts/${encodeURIComponent(id)}`));
      drop(id);
    } catch (err) {
      if (gone(err)) drop(id);
      else setFailure(err);
    }
  };
  const acknowledge = async (id) => {
    setFailure(null);
    try {
      const acknowledged = await api('POST', tenantApi(session, `alerts/${encodeURIComponent(id)}/acknowledge`));
      changeRows((row) => (row.id === id ? { ...row, ...acknowledged, read: row.read } : row));
      setDone(acknowledgedText(acknowledged));
      alertsChanged();
    } catch (err) {
      if (gone(err)) drop(id);
      setFailure(gone(err) ? new Error(t('alerts.gone')) : err);
    }
  };
  // A mute lifted meanwhile (by another administrator, or ended) is lifted: it goes from the bar, as after a lift.
  const lift = async (id) => {
    setFailure(null);
    try {
      await api('DELETE', tenantApi(session, `mutes/${encodeURIComponent(id)}`));
    } catch (err) {
      if (!gone(err)) {
        setFailure(err);
        return;
      }
    }
    // A refresh asked before the lift, answered after it, would bring the mute back.
    muteReads.forget();
    setMutes((shown) => shown.filter((mute) => mute.id !== id));
  };
  // A source filter comes only from a link (an email's "what failed" group); it is shown so the list does not look short for no reason.
  const sourceFilter = SOURCE_FILTERS.filter((part) => filters[part]).map((part) => [part, filters[part]]);
  const componentOptions = names.components.map((component) => [component.name, component.displayName]);
  // A component named by a link but not (yet) in the catalogue stays selectable, so the filter shows it.
  if (filters.component && !componentOptions.some(([code]) => code === filters.component)) componentOptions.push([filters.component, filters.component]);
  const events = names.components.flatMap((component) => component.events);
  // The selection counts only rows still shown (one deleted elsewhere, or no longer matching, drops out).
  const chosen = items.filter((alert) => selected.has(alert.id)).map((alert) => alert.id);
  // Marking the selection empties it: its buttons say they have nothing to do (aria-disabled) rather
  // than being disabled, which dropped the keyboard that pressed them to the start of the page.
  const none = chosen.length === 0;
  // The console offers the host administrator, who looks after tenants rather than reads their
  // alerts, no selection, no mark read or unread and no row shown as unread (the API keeps it a read
  // state of its own in each tenant, for scripts using its token).
  const readState = session.kind === 'user';
  // A filter the API refuses (an event typed as the list shows it, a link's unreadable time) is said beside it.
  const refused = fieldErrors(error);
  // A whole page of arrivals may hide more: `50+`, in the plural.
  const arrived = list.gap ? `${formatNumber(list.arrived.length)}+` : list.arrived.length;

  return html`<section class="page">
    <h1>${t('alerts.title')}</h1>
    <${AlertsChart} session=${session} onPick=${(period) => navigate('/alerts', { ...filters, ...period })} />
    <form class="filters" aria-label=${t('filters')} onSubmit=${(event) => event.preventDefault()}>
      <${SelectField} id="filter-severity" label=${t('alerts.severity')} value=${filters.severity ?? ''}
        options=${[['', t('alerts.anySeverity')], ...SEVERITIES.map((s) => [s, t('alerts.atLeast', { severity: t(`severity.${s}`) })])]}
        error=${refused.severity} onChange=${(value) => setFilter('severity', value)} />
      <${SelectField} id="filter-component" label=${t('alerts.component')} value=${filters.component ?? ''}
        options=${[['', t('alerts.anyComponent')], ...componentOptions]} error=${refused.component} onChange=${(value) => setFilter('component', value)} />
      <${FilterField} id="filter-event" label=${t('alerts.event')} value=${filters.event ?? ''} list="event-list" error=${refused.event}
        onCommit=${(value) => setFilter('event', value.trim())} />
      <${FilterField} id="filter-since" type="datetime-local" label=${t('alerts.since')} value=${isoToLocalInput(filters.since)}
        hint=${formatInputTime(filters.since) || undefined} error=${refused.since} aria-describedby="filter-zone"
        onCommit=${(value) => setFilter('since', localInputToIso(value))} />
      <${FilterField} id="filter-until" type="datetime-local" label=${t('alerts.until')} value=${isoToLocalInput(filters.until)}
        hint=${formatInputTime(filters.until) || undefined} error=${refused.until} aria-describedby="filter-zone"
        onCommit=${(value) => setFilter('until', localInputToIso(value))} />
      <${Toggle} id="filter-unread" label=${t('alerts.unreadOnly')} checked=${filters.unread === 'true'}
        onChange=${(on) => setFilter('unread', on ? 'true' : '')} />
      <datalist id="event-list">${events.map((event) => html`<option value=${event.name} label=${event.displayName} />`)}</datalist>
      ${sourceFilter.length ? html`<p class="source-filter">${t('labelled', { label: t('alerts.source') })} <strong>${labelledParts(sourceFilter, names)}</strong></p>` : null}
      ${
        // The button goes with the filters it clears, and took the keyboard to the start of the page: the
        // first filter takes it, where the user is choosing filters.
        Object.keys(filters).length
          ? html`<button type="button" class="secondary" onClick=${() => {
              document.getElementById('filter-severity')?.focus();
              navigate('/alerts');
            }}>${t('alerts.clearFilters')}</button>`
          : null
      }
      <small class="hint filters-zone" id="filter-zone">${t('alerts.zoneHint', { zone: timeZone() })}</small>
    </form>
    ${
      readState
        ? html`<div class="toolbar">
      <button type="button" aria-disabled=${none} onClick=${() => none || mark({ ids: chosen })}>${t('alerts.markSelectedRead', { count: chosen.length })}</button>
      <button type="button" class="secondary" aria-disabled=${none} onClick=${() => none || mark({ ids: chosen }, false)}>${t('alerts.markSelectedUnread')}</button>
      <button type="button" class="secondary" aria-busy=${markingAll} onClick=${() => onceMarkAll(() => mark({ all: true }))}>${t(narrows(filters) ? 'alerts.markMatchingRead' : 'alerts.markAllRead')}</button>
    </div>`
        : null
    }
    <${Banner}>${problemText(failure ?? error)}<//>
    <${MutesBar} session=${session} mutes=${mutes} names=${names} onLift=${lift} />
    <p class="sr-only" role="status" data-testid="alerts-done">${done}</p>
    <p class="sr-only" role="status" data-testid="alerts-arrived-news">${arrivalNews}</p>
    ${
      // Not a live region: in a storm its count changes at every 3-s refresh, and a screen reader said
      // each one over the rows being read (the first, drawn with its words, most said not at all).
      // The status above tells of them, at most once every 30 s, as the bell does.
      list.arrived.length
        ? html`<p class="arrived"><button type="button" class="secondary" onClick=${() => setList(showArrived)}>
        ${t('alerts.arrived', { count: arrived })}</button></p>`
        : null
    }
    ${
      items.length === 0
        ? error || !list.loaded
          ? null
          : html`<p class="empty">${t('alerts.none')}</p>`
        : html`<div class="table-wrap"><table class="alerts">
      <thead><tr>
        <th scope="col">${
          readState
            ? html`<input type="checkbox" aria-label=${t('alerts.selectAll')} checked=${chosen.length > 0 && chosen.length === items.length}
          onChange=${(event) => setSelected(event.currentTarget.checked ? new Set(items.map((a) => a.id)) : new Set())} />`
            : null
        }</th>
        <th scope="col">${t('alerts.severity')}</th><th scope="col">${t('alerts.time')}</th><th scope="col">${t('alerts.component')}</th>
        <th scope="col">${t('alerts.event')}</th><th scope="col">${t('alerts.message')}</th><th scope="col">${t('alerts.source')}</th><th scope="col"><span class="sr-only">${t('actions')}</span></th>
      </tr></thead>
      <tbody>${items.map(
        (alert) => html`<tr key=${alert.id} class=${alert.read || !readState ? 'read' : 'unread'} data-alert-id=${alert.id}>
        <td>${
          readState
            ? html`<input type="checkbox" aria-label=${t('alerts.select', { message: shortened(alert.message, 60) })} checked=${selected.has(alert.id)}
          onChange=${(event) => toggle(alert.id, event.currentTarget.checked)} />`
            : null
        }</td>
        <td><span class=${`severity ${alert.severity}`}>${t(`severity.${alert.severity}`)}</span>${alert.read || !readState ? null : html` <span class="dot" title=${t('alerts.unread')}><span class="sr-only">${t('alerts.unread')}</span></span>`}</td>
        <td class="nowrap">${formatTime(alert.occurredAt || alert.createdAt)}${
          receivedLater(alert)
            ? html`<br /><small class="muted received">${t('labelled', { label: t('alerts.received') })} ${formatTime(alert.createdAt)}</small>`
            : null
        }</td>
        <td><${Named} name=${names.component(alert.component)} code=${alert.component} /></td>
        <td class="event"><${Named} name=${names.event(alert.event)} code=${alert.event} /></td>
        <td class="message"><bdi id=${rowNameId('alert', alert)}>${alert.message}</bdi>${alert.folder ? html`<small class="muted"> — <bdi>${alert.folder}</bdi></small>` : null}${
          alert.acknowledgedBy ? html`<br /><small class="ack">✓ ${acknowledgedText(alert)}</small>` : null
        }</td>
        <td class="source">${sourceText(alert.source)}</td>
        <td class="row-actions">
          <button type="button" class="link" aria-describedby=${rowNameId('alert', alert)} onClick=${() => setDetails(alert)}>${t('alerts.details')}</button>
          ${
            !readState
              ? null
              : alert.read
                ? html`<button type="button" class="link" aria-describedby=${rowNameId('alert', alert)} onClick=${() => mark({ ids: [alert.id] }, false)}>${t('alerts.markUnread')}</button>`
                : html`<button type="button" class="link" aria-describedby=${rowNameId('alert', alert)} onClick=${() => mark({ ids: [alert.id] })}>${t('alerts.markRead')}</button>`
          }
          ${alert.acknowledgedBy ? null : html` <button type="button" class="link" aria-describedby=${rowNameId('alert', alert)} onClick=${() => acknowledge(alert.id)}>${t('alerts.acknowledge')}</button>`}
          <button type="button" class="link" aria-describedby=${rowNameId('alert', alert)} onClick=${() => setMuting(alert)}>${t('mutes.action')}</button>
          ${can(session, 'Alerts.Delete') ? html` <button type="button" class="link danger" aria-describedby=${rowNameId('alert', alert)} onClick=${() => remove(alert.id)}>${t('delete')}</button>` : null}
        </td>
      </tr>`,
      )}</tbody>
    </table></div>`
    }
    ${
      list.nextCursor && items.length
        ? html`<div class="actions"><button type="button" class="secondary" aria-busy=${loadingMore} onClick=${loadMore}>${t('loadMore')}</button></div>`
        : null
    }
    ${details ? html`<${AlertDetails} alert=${details} names=${names} onClose=${() => setDetails(null)} />` : null}
    ${
      muting
        ? html`<${MuteDialog} session=${session} alert=${muting} names=${names} onClose=${() => setMuting(null)} onMuted=${(mute) => {
            // A refresh asked before the mute was made, answered after, would take it off the bar.
            muteReads.forget();
            setMutes([...mutes.filter((shown) => shown.id !== mute.id), mute]);
            setMuting(null);
            setDone(html`<${MuteLine} mute=${mute} names=${names} />`);
          }} />`
        : null
    }
  </section>`;
}
