import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { chooseLanguage, currentLanguage, loadLanguage, t } from '../lib/i18n.js';
import { languageChoices } from '../lib/person-fields.js';
import { Banner, SelectField, TabPanel, Tabs, TextField, html, problemText, useOneAtATime } from '../lib/ui.js';

const LAST_TENANT_KEY = 'tocsin.lastTenant';
/** The id of that tenant: an email's link names its tenant by id, the form shows the name people know. */
const LAST_TENANT_ID_KEY = 'tocsin.lastTenantId';

/**
 * @typedef {object} SignedInBefore Who was signed in when the session ended under them.
 * @property {'user' | 'host'} kind
 * @property {string} tenant the tenant's name ('' for the host administrator)
 * @property {string} [tenantId] the tenant's id ('' for the host administrator)
 * @property {string} email ('' for the host administrator)
 */

/**
 * signInStart decides what the form starts with: who was signed in (`before`), unless the link
 * names another tenant, and the tenant to fill in. A link names its tenant by name or, from an
 * email, by id: a known id (the session that ended, or the tenant signed in to last in this
 * browser, `last`) is shown by its name, as people type it, rather than as an opaque id.
 * @param {Record<string, string>} query
 * @param {SignedInBefore | null} before
 * @param {{ name: string | null, id: string | null }} last
 * @returns {{ theirs: SignedInBefore | null, tenant: string }}
 */
export function signInStart(query, before, last) {
  const linked = query.tenant;
  const names = (/** @type {SignedInBefore} */ who) => linked === who.tenant || (Boolean(who.tenantId) && linked === who.tenantId);
  // A link naming another tenant is not theirs: its tenant, and no one's email.
  const theirs = before && (!linked || names(before)) ? before : null;
  if (!linked) return { theirs, tenant: theirs?.tenant || last.name || '' };
  if (theirs) return { theirs, tenant: theirs.tenant };
  return { theirs, tenant: last.id && linked === last.id && last.name ? last.name : linked };
}

/**
 * SignIn signs a tenant user in with tenant, email and password, or the host administrator with
 * the admin token. Links from emails may name the tenant (`?tenant=acme`). When the session ended
 * under someone (`before`), the form is theirs again, all filled in but the password or token,
 * where the keyboard is.
 * @param {{ query: Record<string, string>, notice?: string, before?: SignedInBefore | null, onSignedIn: (auth: any) => Promise<any> }} props
 */
export function SignIn({ query, notice = '', before = null, onSignedIn }) {
  const [start] = useState(() => signInStart(query, before, { name: localStorage.getItem(LAST_TENANT_KEY), id: localStorage.getItem(LAST_TENANT_ID_KEY) }));
  const { theirs } = start;
  const [mode, setMode] = useState(theirs?.kind ?? 'user');
  const [tenant, setTenant] = useState(start.tenant);
  const [email, setEmail] = useState(theirs?.email ?? '');
  const [password, setPassword] = useState('');
  const [adminToken, setAdminToken] = useState('');
  const [error, setError] = useState(/** @type {import('preact').ComponentChildren} */ (''));
  // Why the form is back is written into its live region after the first draw: a screen reader
  // announces a change of a region already on the page, not one that arrives with its text.
  const [shownNotice, setShownNotice] = useState('');
  useEffect(() => setShownNotice(notice), [notice]);
  // One sign-in at a time, its button left enabled: disabled, it dropped the keyboard to the page,
  // where a refusal (a wrong password, Tocsin unreachable) left it.
  const { busy, once } = useOneAtATime();
  const [language, setLanguage] = useState(currentLanguage());
  useEffect(() => {
    document.title = `${t('signIn.title')} — ${t('appName')}`;
  }, [language]);
  // With the render, not a frame later, so what is typed at once lands in the field.
  useLayoutEffect(() => {
    if (theirs) document.getElementById(theirs.kind === 'host' ? 'signin-token' : 'signin-password')?.focus();
  }, []);

  const submit = (event) => {
    event.preventDefault();
    return once(async () => {
      setError('');
      try {
        const body = mode === 'host' ? { adminToken } : { tenant: tenant.trim(), email: email.trim(), password };
        const auth = await api('POST', 'auth/login', body, { quiet401: true });
        const session = await onSignedIn(auth);
        // The tenant's name rather than what was typed: an email's link names its tenant by id.
        if (mode === 'user') {
          localStorage.setItem(LAST_TENANT_KEY, session?.tenant?.name || tenant.trim());
          if (session?.tenant?.id) localStorage.setItem(LAST_TENANT_ID_KEY, session.tenant.id);
          else localStorage.removeItem(LAST_TENANT_ID_KEY);
        }
      } catch (caught) {
        const err = /** @type {import('../lib/api.js').ApiError} */ (caught);
        // 429: too many failed sign-ins, said in the user's language rather than the API's English.
        setError(
          err.status === 401 ? t(mode === 'host' ? 'signIn.badToken' : 'signIn.badCredentials') : err.status === 429 ? t('signIn.throttled') : problemText(err),
        );
      }
    });
  };

  return html`<main class="signin" id="main">
    <h1><img src="console/bell.svg" alt="" width="28" height="28" /> Tocsin</h1>
    <form onSubmit=${submit} aria-labelledby="signin-title">
      <h2 id="signin-title">${t('signIn.title')}</h2>
      <${Tabs} panelId="signin-panel" tabs=${[
        { id: 'signin-tab-user', text: t('signIn.user'), selected: mode === 'user', onSelect: () => setMode('user') },
        { id: 'signin-tab-host', text: t('signIn.host'), selected: mode === 'host', onSelect: () => setMode('host') },
      ]} />
      <${TabPanel} id="signin-panel" tabId=${`signin-tab-${mode}`}>${
        mode === 'user'
          ? html`<${TextField} id="signin-tenant" label=${t('signIn.tenant')} value=${tenant} onInput=${setTenant} required autocomplete="organization" />
            <${TextField} id="signin-email" label=${t('signIn.email')} type="email" value=${email} onInput=${setEmail} required autocomplete="username" />
            <${TextField} id="signin-password" label=${t('signIn.password')} type="password" value=${password} onInput=${setPassword} required autocomplete="current-password" />`
          : html`<${TextField} id="signin-token" label=${t('signIn.adminToken')} type="password" value=${adminToken} onInput=${setAdminToken} required autocomplete="off"
            hint=${t('signIn.adminTokenHint')} />`
      }<//>
      <${Banner} live kind=${error ? 'error' : 'warning'}>${error || shownNotice}<//>
      <div class="actions"><button type="submit" aria-busy=${busy}>${t('signIn.submit')}</button></div>
      <${SelectField} id="signin-language" label=${t('language')} value=${currentLanguage()}
        options=${languageChoices()}
        onChange=${async (code) => {
          // Another language chosen since, its strings in first, stays the chosen one.
          if (!(await loadLanguage(code))) return;
          chooseLanguage(code);
          setLanguage(code);
        }} />
    </form>
  </main>`;
}
