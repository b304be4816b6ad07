import { render } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api, configureApi } from './lib/api.js';
import { browserTimeZone, setTimeZone } from './lib/format.js';
import { chosenLanguage, currentLanguage, loadLanguage, pickLanguage, t } from './lib/i18n.js';
import { href, navigate, parseHash, useRoute } from './lib/router.js';
import { can } from './lib/session.js';
import { keepFocusInPlace } from './lib/keep-focus.js';
import { focusRefusedField } from './lib/focus-refused.js';
import { keepScrollAreasFocusable } from './lib/scroll-regions.js';
import { html } from './lib/ui.js';
import { Bell } from './pages/bell.js';
import { MailHealthBanner } from './pages/mail-health.js';
import { SignIn } from './pages/signin.js';
import { AlertsPage } from './pages/alerts.js';
import { PreferencesPage } from './pages/preferences.js';
import { MailSettingsPage } from './pages/mail-settings.js';
import { AccessPage } from './pages/access.js';
import { DeliveriesPage } from './pages/deliveries.js';
import { PreviewsPage } from './pages/previews.js';
import { SourcesPage } from './pages/sources.js';
import { TenantsPage, SystemMailPage, CatcherPage } from './pages/host.js';

const HOST_TENANT_KEY = 'tocsin.hostTenant';

/** @import { Session } from './lib/session.js' */

/**
 * speakAs makes the user's language and time zone the console's, else the tenant's.
 * @param {import('./lib/session.js').User | null | undefined} user
 * @param {import('./lib/session.js').Tenant} tenant
 */
async function speakAs(user, tenant) {
  await loadLanguage(pickLanguage(user?.language, tenant.language));
  setTimeZone(user?.timeZone, tenant.timeZone);
}

/**
 * loadSession turns the API's session into what the pages need: tenant, user, language, zone.
 * @param {{ kind: 'host' | 'user', csrfToken: string, permissions: string[], tenantId?: string }} auth
 * @returns {Promise<Session>}
 */
async function loadSession(auth) {
  configureApi({ csrfToken: auth.csrfToken });
  if (auth.kind === 'host') {
    const tenants = (await api('GET', 'tenants')).items;
    const chosen = localStorage.getItem(HOST_TENANT_KEY);
    const tenant = tenants.find((item) => item.id === chosen) ?? tenants[0] ?? null;
    await loadLanguage(pickLanguage(chosenLanguage(), navigator.languages));
    setTimeZone(browserTimeZone());
    return { kind: 'host', permissions: auth.permissions, tenants, tenant, user: null };
  }
  const me = await api('GET', `tenants/${auth.tenantId}/me`);
  await speakAs(me.user, me.tenant);
  return { kind: 'user', permissions: me.permissions, tenants: [me.tenant], tenant: me.tenant, user: me.user };
}

/** principalOf names who a session is (null when signed out), whatever permissions it holds. @param {Session | null | undefined} session */
function principalOf(session) {
  return session ? `${session.kind}:${session.user?.id ?? ''}` : null;
}

/** RECHECK_MS is how long after reading GET /me again a refusal may have it read again. */
const RECHECK_MS = 10_000;

/**
 * followRefusals answers the API's 403s: another administrator may have taken roles away, so a
 * user's permissions are read again (GET /me), at most one read at a time and once per RECHECK_MS,
 * so a page refused on every refresh does not ask on every refresh. When they changed, the menu
 * and the page follow, and a page the user may no longer open gives way to their home.
 * @param {() => Session | null | undefined} current
 * @param {(session: Session) => void} setSession
 */
function followRefusals(current, setSession) {
  let asking = false;
  let asked = Number.NEGATIVE_INFINITY;
  return async () => {
    const session = current();
    if (session?.kind !== 'user' || !session.tenant || asking || Date.now() - asked < RECHECK_MS) return;
    asking = true;
    try {
      const me = await api('GET', `tenants/${encodeURIComponent(session.tenant.id)}/me`);
      const latest = current();
      if (latest?.kind !== 'user' || latest.tenant?.id !== session.tenant.id) return;
      const next = { ...latest, permissions: me.permissions };
      setSession(next);
      leaveIfClosed(latest, next, parseHash(location.hash).path);
    } catch {
      // The refusal's own message stands.
    } finally {
      asking = false;
      asked = Date.now();
    }
  };
}

function App() {
  /** undefined while the session is asked for; null when signed out. */
  const [session, setSession] = useState(/** @type {Session | null | undefined} */ (undefined));
  const route = useRoute();
  const shown = useRef(session);
  shown.current = session;

  // A call answered 401 (the session expired, or ended elsewhere) brings the sign-in form back, saying
  // why, with who was signed in filled in (the first of the calls refused says who).
  const [ended, setEnded] = useState(/** @type {import('./pages/signin.js').SignedInBefore | null} */ (null));
  // The page the session ended under stays, hidden under the sign-in form, with what was typed or
  // switched and not saved: signing in again as the same principal brings it back as it was left
  // (a Save the end refused is pressed again), someone else gets a page of their own (Shell's key).
  const [resting, setResting] = useState(/** @type {Session | null} */ (null));
  // And the control the keyboard was on (the Save the end refused), to be on again.
  const keyboardWas = useRef(/** @type {Element | null} */ (null));
  const signedOut = useCallback(() => {
    const was = shown.current;
    if (was && document.activeElement !== document.body) keyboardWas.current = document.activeElement;
    setEnded(
      (before) => before ?? { kind: was?.kind ?? 'user', tenant: was?.tenant?.name ?? '', tenantId: was?.tenant?.id ?? '', email: was?.user?.email ?? '' },
    );
    setResting((kept) => kept ?? was ?? null);
    setSession(null);
  }, []);
  /** signedIn shows `next`'s console, the page left under the sign-in form if it is theirs. @param {Session} next */
  const signedIn = (next) => {
    setEnded(null);
    setResting(null);
    setSession(next);
  };
  // With the render that shows the page again (before keepFocusInPlace looks for a place for the
  // sign-in form's field): someone else's page is a new one, without that control.
  useLayoutEffect(() => {
    const control = keyboardWas.current;
    if (!session || !control) return;
    keyboardWas.current = null;
    if (control.isConnected && control instanceof HTMLElement) control.focus();
  }, [session]);
  useEffect(() => {
    configureApi({ onUnauthorized: signedOut, onForbidden: followRefusals(() => shown.current, setSession) });
    const signIn = async () => {
      await loadLanguage(pickLanguage(route.query.lang, chosenLanguage(), navigator.languages));
      setSession(null);
    };
    api('GET', 'auth/session')
      .then((auth) => (auth.signedIn ? loadSession(auth).then(setSession) : signIn()))
      .catch(signIn);
  }, []);
  // Another tab of the browser shares the session cookie: it may have signed out, or in as someone
  // else. When this tab is looked at again, it asks who is signed in and follows, as a reload would,
  // rather than show one user's page under another's cookie, whose every call it would be refused;
  // its sign-in form too (the session had ended under it, a refresh met the other tab's sign-out)
  // gives way to whoever signed in there since.
  useEffect(() => {
    const follow = async () => {
      if (shown.current === undefined || document.visibilityState !== 'visible') return;
      const who = principalOf(shown.current);
      try {
        const auth = await api('GET', 'auth/session');
        // Someone signed in or out in this tab meanwhile: what was asked is out of date. Permissions
        // read again meanwhile (a refusal under the other tab's cookie) are no reason to stop.
        const before = shown.current;
        if (before === undefined || principalOf(before) !== who) return;
        if (!before) {
          if (!auth.signedIn) return;
          const next = await loadSession(auth);
          if (principalOf(shown.current) !== who) return;
          if (['/', '/signin'].includes(parseHash(location.hash).path)) navigate(homeOf(next), {}, { replace: true });
          signedIn(next);
        } else if (!auth.signedIn) signedOut();
        else if (auth.kind !== before.kind || (auth.kind === 'user' && auth.userId !== before.user?.id)) setSession(await loadSession(auth));
        // The same principal signed in again there: its new session's CSRF token.
        else configureApi({ csrfToken: auth.csrfToken });
      } catch {
        // Tocsin unreachable: the page's own calls say so.
      }
    };
    addEventListener('focus', follow);
    document.addEventListener('visibilitychange', follow);
    return () => {
      removeEventListener('focus', follow);
      document.removeEventListener('visibilitychange', follow);
    };
  }, []);

  if (session === undefined) return html`<p class="loading" aria-busy="true">…</p>`;
  const shell = session ?? resting;
  return html`${
    session === null
      ? html`<${SignIn} query=${route.query} notice=${ended ? t('signIn.sessionEnded') : ''} before=${ended} onSignedIn=${async (auth) => {
          const next = await loadSession(auth);
          // Go where the link pointed (an email's "See more"), else home; before rendering, so no page flashes.
          if (route.path === '/' || route.path === '/signin') navigate(homeOf(next), {}, { replace: true });
          signedIn(next);
          return next;
        }} />`
      : null
  }${shell ? html`<${Shell} key=${principalOf(shell)} hidden=${session === null} session=${shell} route=${route} setSession=${setSession} />` : null}`;
}

/** sectionOf is the navigation entry a route belongs to: its tabs and someone else's preferences belong to Manage Access. */
function sectionOf(path) {
  return /^\/(access\/|preferences\/.)/.test(path) ? '/access/users' : path;
}

/** homeOf is where a signed-in principal lands: the host's tenants, else the first page it may see. */
function homeOf(session) {
  return session.kind === 'host' ? '/host/tenants' : (navItems(session)[0]?.[0] ?? '/alerts');
}

/** leaveIfClosed goes home when the permissions changed and the page at `path` is no longer in the menu. */
function leaveIfClosed(before, next, path) {
  const changed = String(next.permissions) !== String(before.permissions);
  if (changed && !navItems(next).some(([item]) => sectionOf(path).startsWith(item))) navigate(homeOf(next), {}, { replace: true });
}

function navItems(session) {
  const items = [];
  if (session.tenant) {
    if (can(session, 'Alerts.View')) items.push(['/alerts', t('nav.alerts')]);
    // The host administrator has no alert preferences of its own; it opens users' from Manage Access.
    if (can(session, 'Alerts.View') && session.kind === 'user') items.push(['/preferences', t('nav.preferences')]);
    if (can(session, 'Settings.View')) items.push(['/settings/mail', t('nav.settings')]);
    if (can(session, 'Users.View')) items.push(['/access/users', t('nav.access')]);
    if (can(session, 'Sources.View')) items.push(['/sources', t('nav.sources')]);
    if (can(session, 'Settings.View')) items.push(['/deliveries', t('nav.deliveries')], ['/previews', t('nav.previews')]);
  }
  if (session.kind === 'host') {
    items.push(['/host/tenants', t('nav.tenants')], ['/host/mail', t('nav.systemMail')], ['/host/catcher', t('nav.catcher')]);
  }
  return items;
}

function page(session, route, setSession) {
  const { path, query } = route;
  const [, first, second, third] = path.split('/');
  if (session.kind === 'host') {
    if (path === '/host/tenants') {
      const changed = (tenants) => setSession({ ...session, tenants, tenant: tenants.find((item) => item.id === session.tenant?.id) ?? tenants[0] ?? null });
      return html`<${TenantsPage} onChanged=${changed} />`;
    }
    if (path === '/host/mail') return html`<${SystemMailPage} />`;
    if (path === '/host/catcher') return html`<${CatcherPage} />`;
  }
  if (!session.tenant) return html`<p>${t('host.noTenant')}</p>`;
  if (first === 'alerts') return html`<${AlertsPage} session=${session} query=${query} />`;
  // Keyed by whose they are: another person's preferences (a user's, a group's, one's own from the
  // bell) start afresh, without the last one's name or unsaved changes.
  if (first === 'preferences' && second === 'group') return html`<${PreferencesPage} key=${path} session=${session} groupId=${third} />`;
  // Users who chose another language or time zone (in their preferences, or on their own row of
  // Manage Access) see the whole console in it at once.
  // Roles they gave themselves change what they may do: the menu follows at once, and a page they
  // may no longer read gives way to their home.
  const userChanged = async (user) => {
    await speakAs(user, session.tenant);
    const me = await api('GET', `tenants/${encodeURIComponent(session.tenant.id)}/me`).catch(() => null);
    const next = { ...session, user: { ...session.user, ...user }, permissions: me?.permissions ?? session.permissions };
    setSession(next);
    leaveIfClosed(session, next, path);
  };
  // The host administrator has no preferences of its own (the API answers 404): it is told so, and where users' are.
  if (path === '/preferences' && session.kind === 'host') {
    return html`<section class="page"><h1>${t('prefs.title')}</h1>
      <p>${t('prefs.hostNone')}</p><p><a href=${href('/access/users')}>${t('nav.access')}</a></p></section>`;
  }
  if (first === 'preferences') return html`<${PreferencesPage} key=${path} session=${session} userId=${second} onUserChanged=${userChanged} />`;
  if (path === '/settings/mail') return html`<${MailSettingsPage} session=${session} />`;
  if (first === 'access') return html`<${AccessPage} session=${session} tab=${second || 'users'} onUserChanged=${userChanged} />`;
  if (first === 'deliveries') return html`<${DeliveriesPage} session=${session} query=${query} />`;
  if (first === 'previews') return html`<${PreviewsPage} session=${session} />`;
  if (path === '/sources' && can(session, 'Sources.View')) return html`<${SourcesPage} session=${session} />`;
  if (path !== homeOf(session)) navigate(homeOf(session), {}, { replace: true });
  return null;
}

/**
 * Shell is the signed-in console: header, menu and the page of the route. `hidden` while the
 * session that drew it has ended, kept under the sign-in form with what the page holds.
 */
function Shell({ session, route, setSession, hidden }) {
  const items = navItems(session);
  // The browser's tab, history and a screen reader's first words name the page, in the user's language.
  // Set with the render that changes the page, not after its paint: the tab never names the page before.
  const here = items.find(([path]) => sectionOf(route.path).startsWith(path));
  // The host's own pages (Tenants, System mail settings, Mail catcher) are of no tenant: they go by Tocsin's name.
  const whose = route.path.startsWith('/host/') ? t('appName') : session.tenant?.displayName || session.tenant?.name || t('appName');
  const title = here ? `${here[1]} — ${whose}` : t('appName');
  useLayoutEffect(() => {
    if (!hidden) document.title = title;
  }, [title, hidden]);
  // A window the session ended under (Add user, Test Mail Settings) is modal: left open, it kept the
  // sign-in form inert under it. It is closed while the page is hidden (as it is, with what it holds:
  // Dialog does not hear the close) and opened again with the page.
  const mainRef = useRef(/** @type {HTMLElement | null} */ (null));
  useLayoutEffect(() => {
    if (!hidden || !mainRef.current) return undefined;
    const windows = [...mainRef.current.querySelectorAll('dialog')].filter((dialog) => dialog.open);
    for (const dialog of windows) dialog.close();
    return () => {
      for (const dialog of windows) if (dialog.isConnected && !dialog.open) dialog.showModal();
    };
  }, [hidden]);
  // Signing out goes to the sign-in form's own address, but for a link of another tenant: that
  // link stays, so signing in to its tenant opens it (filters and all), its tenant filled in.
  const signOut = async (keepLink = false) => {
    await api('POST', 'auth/logout').catch(() => {});
    configureApi({ csrfToken: null });
    setSession(null);
    if (!keepLink) navigate('/signin');
  };
  const chooseTenant = (id) => {
    localStorage.setItem(HOST_TENANT_KEY, id);
    setSession({ ...session, tenant: session.tenants.find((item) => item.id === id) ?? null });
  };
  // Links from emails name their tenant: the host administrator follows it; a user of another
  // tenant is told, since their session cannot see it.
  const linked = route.query.tenant;
  const linkedTenant = linked ? session.tenants.find((item) => item.name === linked || item.id === linked) : session.tenant;
  const foreign = Boolean(linked) && !linkedTenant;
  useEffect(() => {
    if (session.kind === 'host' && linkedTenant && linkedTenant.id !== session.tenant?.id) chooseTenant(linkedTenant.id);
  }, [linked]);
  return html`<a class="skip" hidden=${hidden} href="#main" onClick=${(event) => {
    event.preventDefault();
    document.getElementById('main')?.focus();
  }}>${t('skipToContent')}</a>
    <header class="top" hidden=${hidden}>
      <a class="brand" href="#/"><img src="console/bell.svg" alt="" width="22" height="22" /> <span class="brand-name">Tocsin</span></a>
      ${
        session.kind === 'host'
          ? html`<label class="tenant-pick"><span>${t('host.tenant')}</span>
            <select value=${session.tenant?.id ?? ''} onChange=${(event) => chooseTenant(event.currentTarget.value)}>
              ${session.tenants.length === 0 ? html`<option value="">—</option>` : null}
              ${session.tenants.map((item) => html`<option value=${item.id}>${item.displayName || item.name}</option>`)}
            </select></label>`
          : html`<span class="tenant">${session.tenant.displayName || session.tenant.name}</span>`
      }
      <span class="spacer"></span>
      ${session.tenant && can(session, 'Alerts.View') ? html`<${Bell} key=${session.tenant.id} session=${session} />` : null}
      <span class="who">${session.user ? session.user.email : t('host.admin')}</span>
      <button type="button" class="secondary" onClick=${() => signOut()}>${t('signOut')}</button>
    </header>
    <nav class="main-nav" hidden=${hidden} aria-label=${t('nav.label')}>
      ${items.map(([path, text]) => html`<a href=${`#${path}`} aria-current=${sectionOf(route.path).startsWith(path) ? 'page' : undefined}>${text}</a>`)}
    </nav>
    <main id="main" ref=${mainRef} hidden=${hidden} tabindex="-1" key=${`${session.tenant?.id}:${currentLanguage()}`}>
      ${
        foreign
          ? html`<p class="banner error" role="alert">${t('otherTenant', { tenant: linked })}
        <button type="button" class="link" onClick=${() => signOut(true)}>${t('signOut')}</button></p>`
          : null
      }
      ${session.tenant && can(session, 'Settings.View') ? html`<${MailHealthBanner} key=${session.tenant.id} session=${session} />` : null}
      ${foreign ? null : page(session, route, setSession)}
    </main>`;
}

const root = /** @type {HTMLElement} */ (document.getElementById('app'));
render(html`<${App} />`, root);
keepScrollAreasFocusable(root);
keepFocusInPlace(root);
focusRefusedField(root);
