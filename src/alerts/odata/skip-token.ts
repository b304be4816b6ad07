import { fieldError } from '../../http/problem.js';
import { openCursor, signCursor } from '../../shared/signed-cursor.js';
import type { ListPosition } from '../store.js';
import { positionOf, positionText } from '../view.js';
import { type OrderTerm, type OrderValue, isTextOrder } from './query.js';

/** SKIPTOKEN_MESSAGE is what an OData list's `$skiptoken` must be, where one is refused. */
const SKIPTOKEN_MESSAGE = 'must be the $skiptoken of an @odata.nextLink, as given, with the $orderby it was given with';

/** SkipToken is where an @odata.nextLink's page starts: among the alerts up to `newest` (the list's first page's), after the alert of `after`. */
export interface SkipToken {
  readonly newest: ListPosition;
  /** The orderValues of the previous page's last alert; undefined in a token of the versions that paged by `$skip` alone. */
  readonly after?: readonly OrderValue[] | undefined;
}

/** orderKey names an order in a token, so that one made for another `$orderby` is told apart. */
function orderKey(order: readonly OrderTerm[]): string {
  return order.map((term) => `${term.column} ${term.direction}`).join(',');
}

/** encodeSkipToken makes the opaque `$skiptoken` of a nextLink, signed for the tenant (signCursor). */
export function encodeSkipToken(key: Buffer, tenantId: string, order: readonly OrderTerm[], token: Required<SkipToken>): string {
  return signCursor(key, tenantId, `${positionText(token.newest)}.${JSON.stringify({ order: orderKey(order), after: token.after })}`);
}

/**
 * decodeSkipToken reads a `$skiptoken` back for the list's `order`; anything this server did not
 * hand out for this tenant and order is a 400 naming it. A token of the versions before (the first
 * page's newest alert, the page then chosen by its link's `$skip`) still reads as it did.
 */
export function decodeSkipToken(key: Buffer, tenantId: string, skipToken: string, order: readonly OrderTerm[]): SkipToken {
  const text = openCursor(key, tenantId, skipToken) ?? '';
  const old = positionOf(text);
  if (old) return { newest: old };
  const match = /^(\d+\.[\w-]+)\.(\{.*\})$/.exec(text);
  const newest = match ? positionOf(match[1]!) : undefined;
  const rest = match ? (JSON.parse(match[2]!) as { order?: unknown; after?: unknown }) : undefined;
  const after = rest?.after;
  if (
    !newest ||
    rest?.order !== orderKey(order) ||
    !Array.isArray(after) ||
    after.length !== order.length ||
    !after.every((value, i) => typeof value === (isTextOrder(order[i]!) ? 'string' : 'number'))
  )
    throw fieldError('$skiptoken', SKIPTOKEN_MESSAGE);
  return { newest, after };
}
