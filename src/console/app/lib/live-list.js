// A list that stays where the reader left it while its first page is polled: rows already shown
// are refreshed in place, rows that arrive on top wait behind "N new — show", and older pages are
// added with the API's cursor. Pure functions, so the decisions are tested in Node.

/**
 * @typedef {{ id: string, createdAt: string }} Row
 */

/**
 * @template {Row} T
 * @typedef {object} LiveList
 * @property {T[]} items the rows shown, newest first
 * @property {T[]} arrived rows newer than the newest shown, not shown yet
 * @property {boolean} gap more arrived than one page holds: showing them starts the list again
 * @property {string | null} nextCursor where the next older page starts; null when all are shown
 * @property {string | null} firstPageCursor the latest first page's own cursor (the list starts again from it after a gap)
 * @property {boolean} loaded whether a first page was read
 */

/**
 * @template {Row} T
 * @typedef {{ items: T[], nextCursor?: string | null }} Page
 */

/**
 * emptyList is a list before its first page.
 * @returns {LiveList<any>}
 */
export function emptyList() {
  return { items: [], arrived: [], gap: false, nextCursor: null, firstPageCursor: null, loaded: false };
}

/**
 * newestFirst orders rows as the API does: newest `createdAt` first, then by id.
 * @param {Row} a
 * @param {Row} b
 */
function newestFirst(a, b) {
  const byTime = Date.parse(b.createdAt) - Date.parse(a.createdAt);
  return byTime || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * withFirstPage applies a fresh first page to the list. The first page shows directly when nothing
 * is shown yet. Otherwise rows already shown take their new state (read, acknowledged), rows the
 * page's span no longer holds (deleted, or no longer matching the filters) go, rows older than the
 * newest shown (marked unread again under "unread only") take their place, and rows newer than
 * every shown one wait in `arrived`, so the reader's place and selection stay as they were.
 * @template {Row} T
 * @param {LiveList<T>} list
 * @param {Page<T>} page
 * @returns {LiveList<T>}
 */
export function withFirstPage(list, page) {
  const nextCursor = page.nextCursor ?? null;
  if (list.items.length === 0) return { items: page.items, arrived: [], gap: false, nextCursor, firstPageCursor: nextCursor, loaded: true };
  const fresh = new Map(page.items.map((row) => [row.id, row]));
  const shownIds = new Set(list.items.map((row) => row.id));
  const newest = list.items[0];
  // A full page covers only down to its oldest row; below that, the shown rows are kept as they are.
  const oldest = page.items.at(-1);
  const covers = (/** @type {T} */ row) => !nextCursor || (oldest !== undefined && newestFirst(row, oldest) <= 0);
  const kept = list.items.filter((row) => fresh.has(row.id) || !covers(row)).map((row) => fresh.get(row.id) ?? row);
  const unseen = page.items.filter((row) => !shownIds.has(row.id));
  const arrived = unseen.filter((row) => newest !== undefined && newestFirst(row, newest) < 0);
  const between = unseen.filter((row) => !arrived.includes(row));
  const items = between.length ? [...kept, ...between].sort(newestFirst) : kept;
  // A page of nothing but arrivals may hide more between them and the rows shown.
  const gap = arrived.length === page.items.length && nextCursor !== null;
  return { items, arrived, gap, nextCursor: list.nextCursor, firstPageCursor: nextCursor, loaded: true };
}

/**
 * showArrived puts the waiting rows on top; after a gap the list starts again from them.
 * @template {Row} T
 * @param {LiveList<T>} list
 * @returns {LiveList<T>}
 */
export function showArrived(list) {
  if (list.gap) return { ...list, items: list.arrived, arrived: [], gap: false, nextCursor: list.firstPageCursor };
  return { ...list, items: [...list.arrived, ...list.items], arrived: [] };
}

/**
 * withOlderPage adds the page read with `nextCursor` below the shown rows (a row shown already is not repeated).
 * @template {Row} T
 * @param {LiveList<T>} list
 * @param {Page<T>} page
 * @returns {LiveList<T>}
 */
export function withOlderPage(list, page) {
  const shownIds = new Set(list.items.map((row) => row.id));
  return { ...list, items: [...list.items, ...page.items.filter((row) => !shownIds.has(row.id))], nextCursor: page.nextCursor ?? null };
}

/**
 * updateRows changes shown rows in place (read, acknowledged), or drops those `change` returns null for.
 * @template {Row} T
 * @param {LiveList<T>} list
 * @param {(row: T) => T | null} change
 * @returns {LiveList<T>}
 */
export function updateRows(list, change) {
  const apply = (/** @type {T[]} */ rows) => rows.map(change).filter((row) => row !== null);
  return { ...list, items: apply(list.items), arrived: apply(list.arrived) };
}
