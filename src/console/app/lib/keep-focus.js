// A control that goes away under the keyboard (a row deleted, "I'm on it" once the alert is
// acknowledged, a mute lifted) takes the focus with it, to the start of the page: a keyboard user
// would Tab through the header again to get back to the list. The focus goes instead to what took
// its place: the control of the same name (else at the same place) in its row, else in the row
// after it or before it, else the next control after it on the page, else the previous one; and
// when the whole page was drawn anew (in another language), the control at the same place in it.

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled])';

/** LOOK_MS is how long a lost control's place is looked for while the page is drawn anew. */
const LOOK_MS = 3000;

/** @param {Element | null | undefined} within */
function controls(within) {
  return within ? /** @type {HTMLElement[]} */ ([...within.querySelectorAll(FOCUSABLE)]) : [];
}

/** @param {Element} control */
function nameOf(control) {
  return `${control.getAttribute('aria-label') ?? ''}|${control.textContent ?? ''}`;
}

/**
 * Place is where a focused control was: its row (a table row or a list item), its name and index
 * among the row's controls, the rows beside it, and the controls before and after its row on the page.
 * @typedef {{ control: HTMLElement, name: string, row: Element | null, index: number, after: Element | null, before: Element | null, nextRow: Element | null, previousRow: Element | null, path: [string, number][], hash: string }} Place
 */

/**
 * pathOf is where an element is under `root`, as XPath says it: each ancestor's tag and its index
 * among its siblings of that tag, outermost first (a message shown above a button moves it in no step).
 * @param {Element} element @param {Element} root
 * @returns {[string, number][]}
 */
function pathOf(element, root) {
  /** @type {[string, number][]} */
  const path = [];
  for (let e = element; e !== root && e.parentElement; e = e.parentElement) {
    path.unshift([e.tagName, [...e.parentElement.children].filter((sibling) => sibling.tagName === e.tagName).indexOf(e)]);
  }
  return path;
}

/** samePlace is the control at `place`'s path under `root`, when the page drawn anew has one there. @param {Place} place @param {Element} root */
function samePlace(place, root) {
  let e = /** @type {Element | undefined} */ (root);
  for (const [tag, index] of place.path) e = e ? [...e.children].filter((child) => child.tagName === tag)[index] : undefined;
  return e?.matches(FOCUSABLE) ? e : null;
}

/** @param {HTMLElement} control @param {HTMLElement} root @returns {Place} */
function placeOf(control, root) {
  const row = control.closest('tr, li');
  const all = controls(root);
  const own = row ? controls(row) : [control];
  const first = all.indexOf(own[0] ?? control);
  const last = all.indexOf(own[own.length - 1] ?? control);
  return {
    control,
    name: nameOf(control),
    row,
    index: Math.max(own.indexOf(control), 0),
    after: last >= 0 ? (all[last + 1] ?? null) : null,
    before: first > 0 ? all[first - 1] : null,
    nextRow: row?.nextElementSibling ?? null,
    previousRow: row?.previousElementSibling ?? null,
    path: pathOf(control, root),
    hash: location.hash,
  };
}

/** inRow is the row's control named as the lost one, else the one at its index (or the row's last). @param {Element | null} row @param {Place} place */
function inRow(row, place) {
  if (!row?.isConnected) return null;
  const own = controls(row);
  return own.find((control) => nameOf(control) === place.name) ?? own[Math.min(place.index, own.length - 1)] ?? null;
}

/** @param {Place} place @param {Element} root */
function replacement(place, root) {
  const candidates = [inRow(place.row, place), inRow(place.nextRow, place), inRow(place.previousRow, place), place.after, place.before, samePlace(place, root)];
  return /** @type {HTMLElement | undefined} */ (candidates.find((e) => e?.isConnected && !e.closest('[inert]')));
}

/**
 * keepFocusInPlace moves the focus, when the control holding it leaves the page under `root`, to
 * the control that took its place on the same page. A dialog closing hands the focus back by
 * itself; this acts only when the focus fell to the page's body.
 * @param {HTMLElement} root
 */
export function keepFocusInPlace(root) {
  /** @type {Place | null} */
  let place = null;
  // A page drawn anew may show its controls only once its data is in: the place is looked for as
  // the page changes, for a few seconds.
  let lostAt = 0;
  root.addEventListener('focusin', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    place = target.matches(FOCUSABLE) ? placeOf(target, root) : null;
    lostAt = 0;
  });
  // A click elsewhere (on text, the page's background, outside the console) takes the focus away on
  // purpose: the control last focused is then no longer the user's place, and its going later (a
  // row another user deleted) must not pull the focus, and the page's scroll, back to the list.
  document.addEventListener(
    'pointerdown',
    (event) => {
      if (place && !(event.target instanceof Node && place.control.contains(event.target))) place = null;
    },
    true,
  );
  new MutationObserver(() => {
    if (!place || place.control.isConnected || (document.activeElement && document.activeElement !== document.body)) return;
    lostAt ||= Date.now();
    // Another page (a link, a filter) starts from its top, as the browser has it.
    const found = location.hash === place.hash ? replacement(place, root) : undefined;
    if (found || Date.now() - lostAt > LOOK_MS) {
      place = null;
      lostAt = 0;
      found?.focus();
    }
  }).observe(root, { childList: true, subtree: true });
}
