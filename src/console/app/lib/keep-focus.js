// A control that goes away under the keyboard (a row deleted, "I'm on it" once the alert is
// acknowledged, a mute lifted) takes the focus with it, to the start of the page: a keyboard user
// would Tab through the header again to get back to the list. The focus goes instead to what took
// its place: the control of the same name (else at the same place) in its row, else in the row
// after it or before it, else the next control after it on the page, else the previous one.

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled])';

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
 * @typedef {{ control: HTMLElement, name: string, row: Element | null, index: number, after: Element | null, before: Element | null, nextRow: Element | null, previousRow: Element | null }} Place
 */

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
  };
}

/** inRow is the row's control named as the lost one, else the one at its index (or the row's last). @param {Element | null} row @param {Place} place */
function inRow(row, place) {
  if (!row?.isConnected) return null;
  const own = controls(row);
  return own.find((control) => nameOf(control) === place.name) ?? own[Math.min(place.index, own.length - 1)] ?? null;
}

/** @param {Place} place */
function replacement(place) {
  const candidates = [inRow(place.row, place), inRow(place.nextRow, place), inRow(place.previousRow, place), place.after, place.before];
  return /** @type {HTMLElement | undefined} */ (candidates.find((e) => e?.isConnected && !e.closest('[inert]')));
}

/**
 * keepFocusInPlace moves the focus, when the control holding it leaves the page under `root`, to
 * the control that took its place. A dialog closing hands the focus back by itself; this acts only
 * when the focus fell to the page's body.
 * @param {HTMLElement} root
 */
export function keepFocusInPlace(root) {
  /** @type {Place | null} */
  let place = null;
  root.addEventListener('focusin', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    place = target.matches(FOCUSABLE) ? placeOf(target, root) : null;
  });
  new MutationObserver(() => {
    if (!place || place.control.isConnected || (document.activeElement && document.activeElement !== document.body)) return;
    const lost = place;
    place = null;
    replacement(lost)?.focus();
  }).observe(root, { childList: true, subtree: true });
}
