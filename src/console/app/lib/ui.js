import { h } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import { fieldErrors } from './api.js';
import { currentLanguage, formatNumber, t } from './i18n.js';

/** html is htm bound to preact: JSX-like templates without a build step. */
export const html = htm.bind(h);

let nextId = 0;
/** uid returns a unique element id, so a dialog's title labels it. */
function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/**
 * rowNameId is the id of what names a row of a list (an alert's message, a user's email), which
 * describes the row's buttons: in fifty rows of "Delete" and "I'm on it", or the bell's five "Mark as
 * read", a screen reader named none by its row, and Tab from one row's buttons to the next said nothing
 * of which alert or user it had reached. `list` tells apart two lists of the same items on one page
 * (the alert list and the bell's panel).
 * @param {string} list @param {{ id: string }} item
 */
export function rowNameId(list, item) {
  return `${list}-${item.id}-name`;
}

/** Code renders a dotted code (an event name) that may wrap after its dots, never inside a word. */
export function Code({ children }) {
  const parts = String(children ?? '').split('.');
  return html`<span class="code">${parts.map((part, i) => (i < parts.length - 1 ? html`${part}.<wbr />` : part))}</span>`;
}

/**
 * API_WORDS are the API's English refusals that the console knows and says in the user's language:
 * an email or a name already taken (409), a value left empty, too short or too long, an email
 * address, time zone, SMTP host, port or timeout, http(s) URL, tenant name, event name, time or severity it could not read, a password too
 * short, a wrong current password, SMTP credentials that would go without TLS or a secret the SMTP sign-in needs, a
 * refused SMTP host, a component not in the catalogue, a user,
 * group, role, API token, source or tenant deleted meanwhile (404, or a role or member chosen in a form, 400), more mutes than Tocsin keeps (409). A pattern's `(?<name>)` groups fill the string's
 * `{name}` placeholders, a number (the API's `3,650`) written as the user's language writes it (`3 650`). Any other refusal is shown as the API wrote it.
 * @type {[RegExp, string][]}
 */
const API_WORDS = [
  [/^A user with the email .+ already exists\.$/, 'problem.emailTaken'],
  [/^An? [a-z]+ named ".*" already exists\.$/, 'problem.nameTaken'],
  [/^must not be empty$|^is required$/, 'problem.required'],
  [/^must be at least (?<min>[\d,]+) characters$/, 'problem.tooShort'],
  // Changing one's own password (Alert preferences).
  [/^is not your current password$/, 'problem.wrongPassword'],
  [/^is your current password\b/, 'problem.samePassword'],
  [/^must be at most (?<max>[\d,]+) characters$/, 'problem.tooLong'],
  [/^must be an email address\b/, 'problem.email'],
  [/^must be an IANA time zone\b/, 'problem.timeZone'],
  // A host pasted with its port or scheme (smtp.gmail.com:587): before the general words, which it starts with.
  [/^must be a host name or an IP address alone, without a scheme or a port\b/, 'problem.hostAlone'],
  [/^must be a host name or an IP address\b/, 'problem.host'],
  // An Orchestrator's address (Sources) that the browser takes as a URL, such as ftp://….
  [/^must be an http or https URL$/, 'problem.url'],
  [/^must be a port number from 1 to 65535\b/, 'problem.port'],
  // A tenant's retention (days) out of its range or not whole.
  [/^must be a whole number from (?<min>[\d,]+) to (?<max>[\d,]+)\b/, 'problem.wholeNumber'],
  // The form asks for seconds where the API counts milliseconds.
  [/^must be from 1,000 to 600,000 milliseconds\b/, 'problem.timeout'],
  // Credentials without TLS: what Test Mail Settings says of them before a test, said the same on Save.
  [/^would be sent without encryption\b/, 'test.plaintextAuth.refused'],
  // A component the catalogue does not have, in an old or edited link to the alert list.
  [/^must be a component of the catalogue\b/, 'problem.component'],
  // The alert list's filters: an event typed as the list shows it (its name in the user's language),
  // and, in an old or edited link, a time or a severity the API cannot read.
  [/^must be an event name such as\b/, 'problem.eventName'],
  [/^must be a date and time with its offset from UTC\b/, 'problem.dateTime'],
  [/^must be one of Info, Success, Warn, Error, Fatal\b/, 'problem.severity'],
  [/^must be 1 to 63 lower-case letters, digits or hyphens$/, 'problem.tenantName'],
  // The SMTP fields on Save and Test Mail Settings: a user name or secret the chosen sign-in needs, a
  // saved secret asked for again (another host, or no TLS now, or a secret key changed), and the one
  // message for a host the operator's TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS=false refuses.
  [/^is required for (?<method>XOAUTH2|PLAIN|LOGIN)$/, 'problem.requiredFor'],
  [/^type it again to (save|test) another host\b/, 'problem.secretAgainHost'],
  [/^type it again to (save|test) it without TLS\b/, 'problem.secretAgainTls'],
  [/^the stored value no longer decrypts\b/, 'problem.secretUnreadable'],
  [/^This SMTP server cannot be used\b/, 'problem.refusedHost'],
  // What a page read before shows may be gone since (another administrator deleted it): its 404.
  [/^User not found\.$/, 'problem.userGone'],
  [/^Group not found\.$/, 'problem.groupGone'],
  [/^Role not found\.$/, 'problem.roleGone'],
  [/^Token not found\.$/, 'problem.tokenGone'],
  [/^Source not found\.$/, 'problem.sourceGone'],
  [/^Tenant not found\.$/, 'problem.tenantGone'],
  // A role or a user chosen in a form (Roles, Members) and deleted before its Save: the API names the item.
  [/^no role named ".*" in this tenant$/, 'problem.roleGone'],
  [/^no user \S+ in this tenant$/, 'problem.userGone'],
  // A snooze or mute past the most a user or the tenant keeps in force (409): the API's words name its route.
  [/^You have [\d,]+ snoozes in force\b|^The tenant has [\d,]+ mutes and snoozes in force\b/, 'problem.mutesFull'],
];

/**
 * apiWords is a refusal of the API as the user reads it: in the user's language when the console
 * knows it (`lang` undefined), else the API's own words, marked English (`lang` 'en').
 * @param {unknown} message
 * @returns {{ text: unknown, lang: 'en' | undefined }}
 */
export function apiWords(message) {
  for (const [pattern, key] of API_WORDS) {
    const match = pattern.exec(String(message));
    if (match) return { text: t(key, inUserNumbers(match.groups ?? {})), lang: undefined };
  }
  return { text: message, lang: 'en' };
}

/**
 * inUserNumbers is the values a refusal's pattern read, its numbers (written by the API with its
 * thousands grouped in English, `3,650`) written as the user's language writes them: the French
 * hint beside a field said `3 650` and its error `3650`.
 * @param {Record<string, string>} groups
 * @returns {Record<string, string>}
 */
function inUserNumbers(groups) {
  return Object.fromEntries(
    Object.entries(groups).map(([name, value]) => [name, /^\d[\d,]*$/.test(value) ? formatNumber(Number(value.replaceAll(',', ''))) : value]),
  );
}

/**
 * ownWords marks a field's error that the console says itself (a check made before asking the API),
 * already in the user's language: FieldError shows it as it is, not as the API's English.
 * @param {string} text
 * @returns {{ own: string }}
 */
export function ownWords(text) {
  return { own: text };
}

/** FieldError is a field's inline error: the API's refusal, in the user's language when the console knows it, or the console's own words (ownWords). */
export function FieldError({ id, error }) {
  if (!error) return null;
  const words = typeof error === 'object' && 'own' in error ? { text: error.own, lang: undefined } : apiWords(error);
  return html`<small class="error" id=${id} role="alert" lang=${words.lang}>${words.text}</small>`;
}

/** Field is a labelled form control with its inline error and hint. */
function Field({ id, label, error, hint, children }) {
  return html`<div class=${`field${error ? ' invalid' : ''}`}>
    <label for=${id}>${label}</label>
    ${children}
    ${hint ? html`<small class="hint" id=${`${id}-hint`}>${hint}</small>` : null}
    <${FieldError} id=${`${id}-error`} error=${error} />
  </div>`;
}

/**
 * describedBy names what a screen reader reads after a field's label: its error, then its hint
 * (a refused value and what the field expects), else nothing.
 * @param {string} id @param {unknown} error @param {unknown} hint
 */
function describedBy(id, error, hint) {
  return [error ? `${id}-error` : '', hint ? `${id}-hint` : ''].filter(Boolean).join(' ') || undefined;
}

// An address has one @ with something on either side and no space: what the console checks itself,
// leaving the rest to the API, which says what is wrong beside the field.
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/;

/**
 * TextField is a labelled input bound to a string value. An `aria-describedby` given (a hint shared
 * by several fields) is read after the field's own error and hint, not instead of them.
 *
 * An email field (`type: 'email'`) is a text field with the email keyboard: the browser's email
 * check refuses any user part beyond ASCII (josé@…, 用户@…), which the API takes (RFC 6531), so such
 * a user could be neither added nor signed in, and Chromium wrote an international domain in punycode.
 * The console checks only the address's shape, in its own words.
 */
export function TextField({ id, label, value, onInput, error, hint, type = 'text', 'aria-describedby': shared, ...rest }) {
  const input = useRef(/** @type {HTMLInputElement | null} */ (null));
  const email = type === 'email';
  // The browser's own check (required, a URL field) is said in the browser's language,
  // which may not be the user's: its message is put in the console's words when the check fails,
  // and given back to the browser with any change of the value, typed or not.
  useLayoutEffect(() => input.current?.setCustomValidity(email && value && !EMAIL_SHAPE.test(value.trim()) ? t('problem.email') : ''), [value, email]);
  return html`<${Field} id=${id} label=${label} error=${error} hint=${hint}>
    <input id=${id} name=${id} type=${email ? 'text' : type} inputmode=${email ? 'email' : undefined} spellcheck=${email ? false : undefined}
      autocapitalize=${email ? 'none' : undefined} value=${value ?? ''} aria-invalid=${error ? 'true' : 'false'} ref=${input}
      aria-describedby=${[describedBy(id, error, hint), shared].filter(Boolean).join(' ') || undefined}
      onInvalid=${(/** @type {Event} */ event) => ownCheckWords(/** @type {HTMLInputElement} */ (event.currentTarget))}
      onInput=${(event) => onInput(event.currentTarget.value)} ...${rest} />
  <//>`;
}

/**
 * ownCheckWords gives a field the browser found empty or of the wrong form the console's message
 * for it, in the user's language (the API's refusals of the same say the same words).
 * @param {HTMLInputElement} field
 */
function ownCheckWords(field) {
  const { valueMissing, typeMismatch, customError } = field.validity;
  if (customError) return;
  const key = valueMissing ? 'problem.required' : typeMismatch && field.type === 'url' ? 'problem.url' : null;
  if (key) field.setCustomValidity(t(key));
}

/**
 * FilterField is a TextField for a list's filter, applied on change (Enter, or leaving the field):
 * what is being typed is kept as a draft, so the list's refreshes every few seconds do not wipe it,
 * and it follows the filter when that changes otherwise (a link, Back).
 * @param {{ value: string, onCommit: (value: string) => void } & Record<string, any>} props
 */
export function FilterField({ value, onCommit, ...rest }) {
  const [draft, setDraft] = useState(value);
  // With the render, not after its paint: an effect a frame later (at mount too) put the filter
  // back over what had been typed in that frame, so the first keys typed on a page just drawn went.
  useLayoutEffect(() => setDraft(value), [value]);
  return html`<${TextField} ...${rest} value=${draft} onInput=${setDraft} onChange=${(/** @type {Event} */ event) =>
    onCommit(/** @type {HTMLInputElement} */ (event.currentTarget).value)} />`;
}

/** SelectField is a labelled select; options are [value, text] pairs, or [value, text, lang] for a text in another language than the page's. */
export function SelectField({ id, label, value, onChange, options, error, hint, ...rest }) {
  return html`<${Field} id=${id} label=${label} error=${error} hint=${hint}>
    <select id=${id} name=${id} value=${value ?? ''} aria-invalid=${error ? 'true' : 'false'} aria-describedby=${describedBy(id, error, hint)}
      onChange=${(event) => onChange(event.currentTarget.value)} ...${rest}>
      ${options.map(([optionValue, text, lang]) => html`<option value=${optionValue} lang=${lang}>${text}</option>`)}
    </select>
  <//>`;
}

/**
 * Tabs is a row of tabs (WAI-ARIA's tab pattern): the arrow keys, Home and End move along it and
 * choose the tab they reach, and only the chosen tab is in the Tab order, so Tab goes from it into
 * what it shows (`panelId`, a TabPanel). A screen reader tells its user to use the arrow keys on a
 * tab, which did nothing here. A tab is a link (`href`, a page of its own) or a button (`onSelect`).
 * @param {{ label?: string, panelId: string, tabs: { id: string, text: string, selected: boolean, href?: string, onSelect?: () => void }[] }} props
 */
export function Tabs({ label, panelId, tabs }) {
  const onKeyDown = (/** @type {KeyboardEvent} */ event) => {
    const all = /** @type {HTMLElement[]} */ ([.../** @type {HTMLElement} */ (event.currentTarget).querySelectorAll('[role="tab"]')]);
    const at = all.indexOf(/** @type {HTMLElement} */ (event.target));
    // The console speaks no right-to-left language: right is next.
    const to = /** @type {Record<string, number>} */ ({ ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: all.length - 1 })[event.key];
    if (at < 0 || to === undefined || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    const tab = all[(to + all.length) % all.length];
    tab?.focus();
    tab?.click();
  };
  return html`<div class="tabs" role="tablist" aria-label=${label} onKeyDown=${onKeyDown}>
    ${tabs.map(({ id, text, selected, href: link, onSelect }) => {
      const common = { id, role: 'tab', 'aria-selected': selected ? 'true' : 'false', 'aria-controls': panelId, tabindex: selected ? undefined : '-1' };
      return link === undefined
        ? html`<button type="button" ...${common} onClick=${onSelect}>${text}</button>`
        : html`<a href=${link} ...${common}>${text}</a>`;
    })}
  </div>`;
}

/** TabPanel holds what the chosen tab of a Tabs shows, named by that tab. */
export function TabPanel({ id, tabId, children }) {
  return html`<div role="tabpanel" id=${id} aria-labelledby=${tabId}>${children}</div>`;
}

/**
 * copyText puts `text` on the clipboard: through the Clipboard API where the page may use it (https,
 * or the machine itself), else by selecting it in `field` for the browser's copy command, which
 * also works where the console is reached over plain http. Says whether it was copied.
 * @param {string} text
 * @param {HTMLInputElement | null} field
 */
async function copyText(text, field) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    field?.focus();
    field?.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
}

/**
 * Copyable is a read-only field (a secret, a token, a URL) with a Copy button that says whether it
 * copied; when the browser would not, the text is left selected for Ctrl+C.
 */
export function Copyable({ id, label, value }) {
  const [said, setSaid] = useState('');
  useEffect(() => setSaid(''), [value]);
  const copy = async (/** @type {Event} */ event) => {
    const button = /** @type {HTMLButtonElement} */ (event.currentTarget);
    const copied = await copyText(value, /** @type {HTMLInputElement | null} */ (document.getElementById(id)));
    if (copied) button.focus();
    setSaid(t(copied ? 'access.copied' : 'access.copyByHand'));
  };
  return html`<div class="copyable">
      <${TextField} id=${id} label=${label} value=${value} readonly onInput=${() => {}} onFocus=${(event) => event.currentTarget.select()} />
      <button type="button" class="secondary" onClick=${copy}>${t('access.copy')}</button>
    </div>
    <p class="hint copy-status" role="status">${said}</p>`;
}

/** Toggle is a labelled checkbox (shown as a switch when `switch` is set). */
export function Toggle({ id, label, checked, onChange, hint, switch: isSwitch = false, ...rest }) {
  return html`<div class=${`toggle${isSwitch ? ' switch' : ''}`}>
    <input id=${id} name=${id} type="checkbox" role=${isSwitch ? 'switch' : undefined} checked=${Boolean(checked)}
      aria-describedby=${describedBy(id, null, hint)} onChange=${(event) => onChange(event.currentTarget.checked)} ...${rest} />
    <label for=${id}>${label}</label>
    ${hint ? html`<small class="hint" id=${`${id}-hint`}>${hint}</small>` : null}
  </div>`;
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), summary, iframe, [tabindex]:not([tabindex="-1"])';

/**
 * trapTab keeps Tab and Shift+Tab inside a modal dialog: a modal <dialog> makes the page behind it
 * inert, but Tab from its last control would still leave it for the browser's own controls.
 * @param {KeyboardEvent} event
 */
function trapTab(event) {
  if (event.key !== 'Tab') return;
  const dialog = /** @type {HTMLElement} */ (event.currentTarget);
  const focusable = [...dialog.querySelectorAll(FOCUSABLE)].filter((e) => /** @type {HTMLElement} */ (e).offsetParent !== null);
  const first = /** @type {HTMLElement | undefined} */ (focusable[0]);
  const last = /** @type {HTMLElement | undefined} */ (focusable[focusable.length - 1]);
  if (!first || !last) return;
  if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && document.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

/** DIALOG_FIELDS are the fields a window asks for: the first one shown takes the focus when it opens. */
const DIALOG_FIELDS = 'input:not([type=hidden]):enabled, select:enabled, textarea:enabled';

/**
 * Dialog is a modal <dialog>: the focus goes to its first field and stays inside, Escape closes it; its title (an alert's message, say) takes the direction of its own script.
 * A window that asks a question (Save without testing?) names the element that words it in
 * `describedBy`: a screen reader says it with the title as the window opens, where it said the title
 * and the Close button that took the focus, and not the question the buttons answer.
 */
export function Dialog({ title, onClose, children, wide = false, describedBy = undefined }) {
  const ref = useRef(/** @type {HTMLDialogElement | null} */ (null));
  const titleId = useRef(uid('dialog-title')).current;
  // A layout effect opens it in the same task as the render, so a key pressed right after the
  // click that opened it already reaches the dialog.
  useLayoutEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) {
      dialog.showModal();
      // The first field the window asks for takes the focus rather than its Close button, so what is
      // typed right after opening it lands there; a window with no field keeps the browser's choice.
      /** @type {HTMLElement | undefined} */ ([...dialog.querySelectorAll(DIALOG_FIELDS)].find((field) => field.checkVisibility()))?.focus();
    }
    return () => dialog?.open && dialog.close();
  }, []);
  return html`<dialog ref=${ref} class=${wide ? 'wide' : ''} aria-labelledby=${titleId} aria-describedby=${describedBy} onKeyDown=${trapTab}
      onCancel=${(event) => {
        event.preventDefault();
        onClose();
      }}>
    <header class="dialog-head">
      <h2 id=${titleId} dir="auto">${title}</h2>
      <button type="button" class="icon" aria-label=${t('close')} onClick=${onClose}>×</button>
    </header>
    ${children}
  </dialog>`;
}

/**
 * ScrollPre is preformatted text in a box of its own height (app.css caps a pre at 320 px and
 * scrolls it): the keyboard reaches it, to scroll it, and a screen reader names it.
 * @param {{ label: string, className?: string, children?: import('preact').ComponentChildren }} props
 */
export function ScrollPre({ label, className = '', children }) {
  return html`<pre class=${className || undefined} tabindex="0" role="region" aria-label=${label}>${children}</pre>`;
}

/**
 * Banner shows a message above a form: an error's detail, or a success. A `live` banner, one that
 * says a success (or a warning) of the form it is in, says it in a live region (role=status) that is
 * on the page, empty, before it: a screen reader announces a change of a live region, and most
 * said nothing of one that came with its text, as this banner did. An error is an alert, which they
 * announce as it appears.
 * @param {{ kind?: string, live?: boolean, children?: import('preact').ComponentChildren }} props
 */
export function Banner({ kind = 'error', live = false, children }) {
  const error = kind === 'error';
  if (!live) return children ? html`<p class=${`banner ${kind}`} role=${error ? 'alert' : 'status'}>${children}</p>` : null;
  return html`<div class="banner-region" role="status">${children && !error ? html`<p class=${`banner ${kind}`}>${children}</p>` : null}</div>${
    children && error ? html`<p class="banner error" role="alert">${children}</p>` : null
  }`;
}

/**
 * refusalWords is a problem's detail as the user reads it. A 400's detail names its first field in
 * the API's words (`timeZone: must be an IANA time zone…`): when the console knows the refusal, it
 * is said in the user's language without the field's code, which the field's own error stands by.
 * @param {unknown} detail
 * @param {unknown[] | undefined} errors
 */
function refusalWords(detail, errors) {
  const path = /** @type {{ path?: unknown } | undefined} */ (errors?.[0])?.path;
  const prefix = `${path}: `;
  if (path && String(detail).startsWith(prefix)) {
    const words = apiWords(String(detail).slice(prefix.length));
    if (words.lang === undefined) return words;
  }
  return apiWords(detail);
}

/**
 * LACKING is the API's refusal of a holder of Users.Edit that would grant, or act as one holding,
 * permissions it lacks itself ("This role grants Alerts.View, which you do not hold."): the console
 * names them in the user's language, as the Roles tab does, rather than a bare "no permission".
 */
const LACKING =
  /^(?<what>This user holds|This group grants|This role grants|These roles grant|This role would grant) (?<codes>\w+\.\w+(?:, \w+\.\w+)*), which you do not hold\.$/;

/**
 * lackingText says which permissions a refusal of LACKING's kind names, in the user's language; undefined for another refusal.
 * @param {unknown} detail
 */
function lackingText(detail) {
  const match = LACKING.exec(String(detail ?? ''));
  if (!match?.groups) return undefined;
  const names = match.groups.codes.split(', ').map((code) => {
    const name = t(`permission.${code}`);
    return name === `permission.${code}` ? code : name;
  });
  const permissions = new Intl.ListFormat(currentLanguage(), { type: 'conjunction' }).format(names);
  return t(match.groups.what === 'This user holds' ? 'forbidden.userHoldsMore' : 'forbidden.lacksToGrant', { permissions });
}

/**
 * useOneAtATime runs a dialog's call one at a time: a second Save or Confirm while the first is
 * still on its way (a double click on a slow API) is not sent again, which would make a second API
 * token nobody is shown, a second mute. `busy` says one is on its way (aria-busy on the button; it
 * stays enabled, so the keyboard stays on it).
 */
export function useOneAtATime() {
  const running = useRef(false);
  const [busy, setBusy] = useState(false);
  /** @param {() => Promise<unknown>} call */
  const once = async (call) => {
    if (running.current) return;
    running.current = true;
    setBusy(true);
    try {
      await call();
    } finally {
      running.current = false;
      setBusy(false);
    }
  };
  return { busy, once };
}

/**
 * useSaver runs a dialog's API call one at a time (useOneAtATime), handing its answer to `onDone`
 * and keeping the refusal's field errors and message for the dialog to show.
 * @param {(answer: any) => unknown} onDone
 */
export function useSaver(onDone) {
  const [errors, setErrors] = useState(/** @type {Record<string, string>} */ ({}));
  const [message, setMessage] = useState(/** @type {import('preact').ComponentChildren} */ (''));
  const { busy, once } = useOneAtATime();
  /** @param {() => Promise<unknown>} call */
  const run = (call) =>
    once(async () => {
      try {
        onDone(await call());
      } catch (err) {
        setErrors(fieldErrors(err));
        setMessage(problemText(err));
      }
    });
  return { errors, message, run, busy };
}

/**
 * gone says whether the API refused an action because what it acts on is no longer there (404):
 * deleted meanwhile, by someone else or by the retention, while the page showed it.
 * @param {unknown} err
 */
export const gone = (err) => /** @type {{ status?: number }} */ (err)?.status === 404;

/**
 * problemText is what to show for a failed call: the problem's detail, else its title. The API
 * answers in English: words the console knows are said in the user's language (apiWords), others
 * are marked English (screen readers read them so), and refused values are announced in the
 * user's language first.
 * @param {unknown} caught
 * @returns {import('preact').ComponentChildren}
 */
export function problemText(caught) {
  if (!caught) return '';
  const error =
    /** @type {{ status?: number, unreachable?: boolean, retryAfter?: number | null, problem?: { detail?: string, title?: string, errors?: unknown[] }, message?: string }} */ (
      caught
    );
  if (error.status === 403) return lackingText(error.problem?.detail) ?? t('forbidden');
  // Rate limited (Test Mail Settings' 10 a minute): how long to wait, in the user's language.
  if (error.status === 429) return error.retryAfter ? t('problem.rateLimitedFor', { seconds: error.retryAfter }) : t('problem.rateLimited');
  if (error.unreachable) return t('problem.unreachable');
  // The session ended under the action: shown once signed in again, on the page kept meanwhile.
  if (error.status === 401) return t('problem.sessionEnded');
  // Tocsin up but unable to serve (its database down or restarting): the API's English says only to retry.
  if (error.status === 503) return t('problem.unavailable');
  if (!error.problem) return error.message || String(error);
  const words = refusalWords(error.problem.detail || error.problem.title || error.message, error.problem.errors);
  const said = html`<span lang=${words.lang}>${words.text}</span>`;
  return error.problem.errors?.length ? html`${t('problem.invalid')} ${said}` : said;
}
