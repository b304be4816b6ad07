import { useEffect, useRef, useState } from 'preact/hooks';
import { api, fieldErrors } from '../lib/api.js';
import { Named, loadCatalogue } from '../lib/catalogue.js';
import { currentLanguage, pickLanguage, t } from '../lib/i18n.js';
import { LanguageField, TimeZoneField, languageAndZone } from '../lib/person-fields.js';
import { can, tenantApi } from '../lib/session.js';
import { Banner, TextField, Toggle, html, ownWords, problemText, useOneAtATime } from '../lib/ui.js';
import { useLoadWhenBack } from '../lib/polling.js';
import { useLastAsked } from '../lib/last-asked.js';

const EMAIL_SWITCHES = ['tenMinuteSummary', 'dailyReport', 'fatalImmediately'];
const EMPTY_PATCH = { subscriptions: {}, email: {} };

/** EVENT_NAME is what the API takes as a component or event name (src/alerts/input.ts): no alert's event is named otherwise. */
const EVENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** subscribed says whether a component or event is on: its own entry, else its component's, else on. */
export function subscribed(subscriptions, component, event) {
  // Own entries only: an event may be named `toString` or `constructor`, which every object inherits.
  if (event && Object.hasOwn(subscriptions, event)) return subscriptions[event];
  return (Object.hasOwn(subscriptions, component) ? subscriptions[component] : undefined) ?? true;
}

/**
 * catalogueHome is the catalogue component a typed name is, or holds the event of, ignoring case as
 * the API does (it stores `robots` as Robots). Else a name typed in another case became a row of its
 * own, switched on, and saving it pinned the catalogue's entry on.
 */
export function catalogueHome(catalogue, name) {
  const lower = name.toLowerCase();
  return catalogue.find((component) => component.name.toLowerCase() === lower || component.events.some((event) => event.name.toLowerCase() === lower));
}

/**
 * patchSince is what was switched after a save sent `sent` and until `now` (a user going on while
 * the save is out, on a slow server): the save's answer does not take it back.
 */
function patchSince(sent, now) {
  const since = { subscriptions: {}, email: {} };
  for (const part of /** @type {const} */ (['subscriptions', 'email'])) {
    for (const [name, value] of Object.entries(now[part] ?? {})) {
      if (!Object.hasOwn(sent[part] ?? {}, name) || sent[part][name] !== value) since[part][name] = value;
    }
  }
  return since;
}

/** BUILT_IN_EMAIL is what an email switch is when nobody chose (API.md); every component is on. */
const BUILT_IN_EMAIL = { tenMinuteSummary: true, dailyReport: true, fatalImmediately: false };

/**
 * fromGroupRules says whether a person's email switch or component (`part` 'email' or
 * 'subscriptions') shows what a group's default rules set: neither chosen by the person (the
 * answer's `own`, or changed on this page) nor the built-in default. Else a reader whose group
 * turned Queues off saw the switch off with nothing saying why. A group's page has no `own`.
 */
export function fromGroupRules(prefs, patch, part, name) {
  const own = prefs.own?.[part];
  if (!own || Object.hasOwn(own, name) || Object.hasOwn(patch[part] ?? {}, name)) return false;
  const value = prefs[part]?.[name];
  const builtIn = part === 'email' ? BUILT_IN_EMAIL[name] : true;
  return value !== undefined && value !== builtIn;
}

/**
 * toggleComponent turns a whole component on or off: its events follow it again, so their own
 * entries are cleared (null in the PUT, which merges). Returns the new shown map and patch.
 */
export function toggleComponent(shown, patch, component, on) {
  const nextShown = { ...shown, [component.name]: on };
  const nextPatch = { ...patch, [component.name]: on };
  for (const event of component.events) {
    nextShown[event.name] = on;
    nextPatch[event.name] = null;
  }
  return { shown: nextShown, patch: nextPatch };
}

// A new language draws the whole console anew, this form with it: the message saying it was saved
// is handed to the form drawn in its place, once.
let savedNewLanguage = false;

// What was switched and not saved is handed over the same way, to the page of the same path: the
// new language is no reason to lose it, and the next Save sends it.
/** @type {{ path: string, prefs: any, patch: typeof EMPTY_PATCH } | null} */
let unsavedSwitches = null;

/** takeUnsavedSwitches gives, once, what the page of `path` drawn before a new language showed and had not saved. */
function takeUnsavedSwitches(path) {
  const handed = unsavedSwitches?.path === path ? unsavedSwitches : null;
  unsavedSwitches = null;
  return handed;
}

/** @returns {{ kind: string, text: import('preact').ComponentChildren } | null} */
function savedMessage() {
  const saved = savedNewLanguage;
  savedNewLanguage = false;
  return saved ? { kind: 'success', text: t('prefs.readingSaved') } : null;
}

/**
 * LanguageAndZoneForm lets signed-in users choose the language and time zone of their console and
 * emails: a PATCH of themselves, which needs no Users.Edit. onSaved receives the user as stored;
 * beforeRedraw is called first when the console is about to be drawn anew in a new language.
 * @param {{ session: import('../lib/session.js').TenantSession & { user: import('../lib/session.js').User }, onSaved: (user: any) => unknown, beforeRedraw: () => void }} props
 */
function LanguageAndZoneForm({ session, onSaved, beforeRedraw }) {
  const { user } = session;
  const [form, setForm] = useState({ language: user.language ?? '', timeZone: user.timeZone ?? '' });
  const [errors, setErrors] = useState(/** @type {Record<string, string>} */ ({}));
  const [message, setMessage] = useState(savedMessage);

  const set = (name) => (value) => {
    setForm({ ...form, [name]: value });
    setMessage(null);
  };
  const save = async (event) => {
    event.preventDefault();
    let saved;
    try {
      saved = await api('PATCH', tenantApi(session, `users/${encodeURIComponent(user.id)}`), languageAndZone(form));
    } catch (err) {
      setErrors(fieldErrors(err));
      setMessage({ kind: 'error', text: problemText(err) });
      return;
    }
    setErrors({});
    setMessage({ kind: 'success', text: t('prefs.readingSaved') });
    savedNewLanguage = pickLanguage(saved.language, session.tenant.language) !== currentLanguage();
    if (savedNewLanguage) beforeRedraw();
    try {
      await onSaved(saved);
    } catch {
      // The console could not be drawn anew in the new language (its strings did not come): what is
      // saved stays said here, in this one, and no later visit of the page says it again.
      savedNewLanguage = false;
      unsavedSwitches = null;
    }
  };
  return html`<form onSubmit=${save}>
    <fieldset>
      <legend>${t('prefs.reading')}</legend>
      <p class="hint">${t('prefs.readingHint')}</p>
      <${LanguageField} id="me-language" value=${form.language} onChange=${set('language')} error=${errors.language} />
      <${TimeZoneField} id="me-timeZone" value=${form.timeZone} onInput=${set('timeZone')} error=${errors.timeZone} tenantZone=${session.tenant.timeZone} />
    </fieldset>
    <${Banner} live kind=${message?.kind}>${message?.text}<//>
    <div class="actions"><button type="submit">${t('prefs.saveReading')}</button></div>
  </form>`;
}

const NO_PASSWORDS = { currentPassword: '', newPassword: '', repeatPassword: '' };

/**
 * PasswordForm lets signed-in users change their own console password, giving the current one
 * (POST /me/password, no Users.Edit needed). The new one is typed twice, since nobody sees it; the
 * fields empty once it is changed, and the API signs the user's other sessions out.
 * @param {{ session: import('../lib/session.js').TenantSession }} props
 */
function PasswordForm({ session }) {
  const [form, setForm] = useState(NO_PASSWORDS);
  const [errors, setErrors] = useState(/** @type {Record<string, string | { own: string }>} */ ({}));
  const [message, setMessage] = useState(/** @type {{ kind: string, text: import('preact').ComponentChildren } | null} */ (null));
  const set = (name) => (value) => {
    setForm({ ...form, [name]: value });
    setMessage(null);
  };
  // One change at a time: clicked twice on a slow server, the second change went with the current
  // password the first had just replaced, and the page said it was wrong (a failed sign-in counted)
  // though the password was changed.
  const { busy, once } = useOneAtATime();
  const save = (event) => {
    event.preventDefault();
    if (form.newPassword !== form.repeatPassword) {
      setErrors({ repeatPassword: ownWords(t('prefs.passwordsDiffer')) });
      return;
    }
    once(async () => {
      try {
        await api('POST', tenantApi(session, 'me/password'), { currentPassword: form.currentPassword, newPassword: form.newPassword });
      } catch (err) {
        setErrors(fieldErrors(err));
        // A wrong current password counts as a failed sign-in: too many pause them (429) for minutes, as the sign-in form says.
        const throttled = /** @type {{ status?: number }} */ (err)?.status === 429;
        setMessage({ kind: 'error', text: throttled ? t('signIn.throttled') : problemText(err) });
        return;
      }
      setForm(NO_PASSWORDS);
      setErrors({});
      setMessage({ kind: 'success', text: t('prefs.passwordSaved') });
    });
  };
  const field = (name, autocomplete) =>
    html`<${TextField} id=${`me-${name}`} type="password" label=${t(`prefs.${name}`)} value=${form[name]} onInput=${set(name)} error=${errors[name]}
      autocomplete=${autocomplete} required />`;
  return html`<form onSubmit=${save}>
    <fieldset>
      <legend>${t('prefs.password')}</legend>
      <p class="hint">${t('prefs.passwordHint')}</p>
      ${field('currentPassword', 'current-password')} ${field('newPassword', 'new-password')} ${field('repeatPassword', 'new-password')}
    </fieldset>
    <${Banner} live kind=${message?.kind}>${message?.text}<//>
    <div class="actions"><button type="submit" aria-busy=${busy}>${t('prefs.savePassword')}</button></div>
  </form>`;
}

/**
 * PreferencesPage shows which components and events a user subscribes to and the three email
 * switches; with a user id (from Manage Access) an administrator edits someone else's, and with a
 * group id a group's default rules. Signed-in users also choose their own language and time zone
 * there (the host administrator has no user to choose them for); onUserChanged receives the user
 * once saved, for the console to speak its new language.
 */
export function PreferencesPage({ session, userId, groupId, onUserChanged }) {
  const owner = groupId ? `groups/${encodeURIComponent(groupId)}` : userId ? `users/${encodeURIComponent(userId)}` : null;
  const path = owner ? `${owner}/alert-preferences` : 'me/alert-preferences';
  // A group's rules are read with Users.View but changed only with Users.Edit: without it, no switch or Save that the API would refuse.
  const readOnly = Boolean(groupId) && !can(session, 'Users.Edit');
  // Drawn anew in a new language: what the page before showed, switches not saved included.
  const [handed] = useState(() => takeUnsavedSwitches(path));
  const [prefs, setPrefs] = useState(/** @type {any} */ (handed?.prefs ?? null));
  const [catalogue, setCatalogue] = useState(/** @type {any[]} */ ([]));
  const [who, setWho] = useState(/** @type {any} */ (null));
  const [message, setMessage] = useState(/** @type {{ kind: string, text: import('preact').ComponentChildren } | null} */ (null));
  const [open, setOpen] = useState(/** @type {Record<string, boolean>} */ ({}));
  const [patch, setPatch] = useState(handed?.patch ?? EMPTY_PATCH);
  const [added, setAdded] = useState('');
  const [addedError, setAddedError] = useState(/** @type {{ own: string } | null} */ (null));

  // The preferences' read under way: the answer that says Tocsin is back (REACHABLE, after the
  // catalogue's refusal) may be its own, and a second read then came after the user's first
  // switch and put it back.
  const reading = useRef(false);
  const load = () => {
    // Handed over, the preferences were read a moment ago: a read now would put them over the switches.
    if (!handed) {
      reading.current = true;
      api('GET', tenantApi(session, path))
        .then(setPrefs, (err) => setMessage({ kind: 'error', text: problemText(err) }))
        .finally(() => {
          reading.current = false;
        });
    }
    loadCatalogue(session).then(setCatalogue);
    if (owner) api('GET', tenantApi(session, owner)).then(setWho, () => {});
  };
  useEffect(load, [session.tenant.id, path]);
  useLoadWhenBack(() => {
    if (reading.current) return;
    setMessage(null);
    load();
  }, prefs !== null);
  // Preferences read but not the catalogue (refused in a partial outage): its switches come once
  // Tocsin answers again, without reading the preferences over what the user has switched since.
  useLoadWhenBack(() => loadCatalogue(session).then(setCatalogue), prefs === null || catalogue.length > 0);
  // What is shown and not saved now, for a save's answer to keep what was switched while it was out.
  const latest = useRef({ prefs, patch });
  latest.current = { prefs, patch };
  // Saves answered out of order (a slow or loaded server): the answer of a Save clicked before another,
  // come after it, showed the switches as that earlier Save left them, not as they are saved.
  const saves = useLastAsked();
  // A new language draws this page anew: what was switched and not saved goes to the page drawn in its place.
  const handOver = () => {
    const { prefs: shown, patch: unsaved } = latest.current;
    if (shown && Object.keys(unsaved.subscriptions).length + Object.keys(unsaved.email).length > 0) unsavedSwitches = { path, prefs: shown, patch: unsaved };
  };

  if (!prefs) return html`<section class="page"><h1>${t('prefs.title')}</h1><${Banner} live kind=${message?.kind}>${message?.text}<//></section>`;
  const subscriptions = prefs.subscriptions ?? {};
  const known = new Set(catalogue.flatMap((c) => [c.name, ...c.events.map((e) => e.name)]));
  // Entries the catalogue does not list (older events, custom components) stay visible and editable.
  const components = [
    ...catalogue,
    ...Object.keys(subscriptions)
      .filter((name) => !known.has(name))
      .map((name) => ({ name, displayName: name, events: [] })),
  ];
  // The page shows the effective choices and sends only what was changed: the PUT merges, so
  // group defaults keep applying to everything the user leaves alone.
  const change = (shown, subscriptionPatch, emailPatch = {}) => {
    setPrefs({ ...prefs, subscriptions: shown, email: { ...prefs.email, ...emailPatch } });
    setPatch({ subscriptions: subscriptionPatch, email: { ...patch.email, ...emailPatch } });
    setMessage(null);
  };
  const setComponent = (component, on) => {
    const next = toggleComponent(subscriptions, patch.subscriptions, component, on);
    change(next.shown, next.patch);
  };
  const setEvent = (name, on) => change({ ...subscriptions, [name]: on }, { ...patch.subscriptions, [name]: on });
  const setEmail = (name, on) => change(subscriptions, patch.subscriptions, { [name]: on });
  // An event outside the catalogue (an Alertmanager alertname, a webhook's event) has no row until
  // chosen: it is added by its name, as the Alerts page shows it, then switched like any other.
  // A catalogue name, in any case, opens its component instead, where its switch already is.
  const addEvent = () => {
    const name = added.trim();
    // A name no event can have (a space in it) is said so next to the field, which keeps it to be corrected.
    if (name && !EVENT_NAME.test(name)) {
      setAddedError(ownWords(t('prefs.addEventInvalid')));
      return;
    }
    setAddedError(null);
    setAdded('');
    if (!name) return;
    const home = catalogueHome(catalogue, name);
    if (home) setOpen({ ...open, [home.name]: home.events.length > 0 });
    else if (!components.some((component) => component.name === name)) setEvent(name, true);
  };
  const save = (event) => {
    event.preventDefault();
    const sent = patch;
    saves.read(
      () => api('PUT', tenantApi(session, path), sent),
      (saved) => {
        // Switched while the save was out: still shown as switched, and sent with the next Save.
        const now = latest.current;
        const since = patchSince(sent, now.patch);
        const keep = (part) => Object.fromEntries(Object.keys(since[part]).map((name) => [name, now.prefs[part]?.[name]]));
        setPrefs({ ...saved, subscriptions: { ...saved.subscriptions, ...keep('subscriptions') }, email: { ...saved.email, ...keep('email') } });
        setPatch(since);
        setMessage({ kind: 'success', text: t('prefs.saved') });
      },
      (err) => setMessage({ kind: 'error', text: problemText(err) }),
    );
  };

  return html`<section class="page">
    <h1>${groupId ? t('prefs.groupTitle') : t('prefs.title')}${who ? html` <small>— ${groupId ? who.name : who.email}</small>` : null}</h1>
    ${groupId ? html`<p class="hint">${t('prefs.groupHint')}</p>` : null}
    ${!owner && session.kind === 'user' && session.user ? html`<${LanguageAndZoneForm} session=${session} onSaved=${onUserChanged} beforeRedraw=${handOver} /><${PasswordForm} session=${session} />` : null}
    <form onSubmit=${save}><fieldset class="plain" disabled=${readOnly}>
      <fieldset>
        <legend>${t('prefs.emails')}</legend>
        ${EMAIL_SWITCHES.map(
          (name) => html`<${Toggle} id=${`pref-${name}`} switch label=${t(`prefs.${name}`)}
          hint=${fromGroupRules(prefs, patch, 'email', name) ? `${t(`prefs.${name}Hint`)} ${t('prefs.fromGroup')}` : t(`prefs.${name}Hint`)}
          checked=${prefs.email?.[name]} onChange=${(on) => setEmail(name, on)} />`,
        )}
      </fieldset>
      <fieldset>
        <legend>${t('prefs.subscriptions')}</legend>
        <p class="hint">${t('prefs.subscriptionsHint')}</p>
        ${components.length === 0 ? html`<p class="muted">${t('prefs.noCatalogue')}</p>` : null}
        <ul class="subscriptions">${components.map(
          (component) => html`<li key=${component.name}>
          <div class="component-row">
            <${Toggle} id=${`sub-${component.name}`} label=${html`<${Named} name=${component.displayName} code=${component.name} />`} checked=${subscribed(subscriptions, component.name)}
              onChange=${(on) => setComponent(component, on)}
              aria-describedby=${fromGroupRules(prefs, patch, 'subscriptions', component.name) ? `sub-${component.name}-group` : undefined} />
            ${
              component.events.length
                ? html`<button type="button" class="link" aria-expanded=${Boolean(open[component.name])}
              onClick=${() => setOpen({ ...open, [component.name]: !open[component.name] })}>${t('prefs.events', { count: component.events.length })}</button>`
                : null
            }
          </div>
          ${
            // Under the row, not in the switch: the events' button stays beside the component's name.
            fromGroupRules(prefs, patch, 'subscriptions', component.name)
              ? html`<small class="hint component-note" id=${`sub-${component.name}-group`}>${t('prefs.fromGroup')}</small>`
              : null
          }
          ${
            open[component.name]
              ? html`<ul class="events">${component.events.map(
                  (event) => html`<li key=${event.name}>
            <${Toggle} id=${`sub-${event.name}`} label=${html`<${Named} name=${event.displayName} code=${event.name} />`} checked=${subscribed(subscriptions, component.name, event.name)}
              onChange=${(on) => setEvent(event.name, on)} />
            ${event.severity ? html`<span class=${`severity ${event.severity}`}>${t(`severity.${event.severity}`)}</span>` : null}
          </li>`,
                )}</ul>`
              : null
          }
        </li>`,
        )}</ul>
        <div class="add-event">
          <${TextField} id="sub-add" label=${t('prefs.addEvent')} hint=${t('prefs.addEventHint')} value=${added} onInput=${setAdded} error=${addedError} autocomplete="off"
            onKeyDown=${(event) => {
              // Enter adds the event rather than saving the whole form.
              if (event.key === 'Enter') {
                event.preventDefault();
                addEvent();
              }
            }} />
          <button type="button" class="secondary" onClick=${addEvent}>${t('prefs.add')}</button>
        </div>
      </fieldset>
      <${Banner} live kind=${message?.kind}>${message?.text}<//>
      ${readOnly ? null : html`<div class="actions"><button type="submit">${t('save')}</button></div>`}
    </fieldset></form>
  </section>`;
}
