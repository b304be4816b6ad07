import type { Db } from '../../storage/database.js';
import { type HourRun, walkKindHours } from '../kind-hours.js';
import { type Reader, isReadExpression, readStateQuery } from '../read-state.js';
import { type ListPosition, listSpan } from '../store.js';
import type { FilterNode } from './filter.js';
import { type OrderTerm, type OrderValue, afterCondition, filterCondition, impliedBounds, orderExpression } from './query.js';

/**
 * The rows of GET /odata/Alerts. A `$filter` naming a component or an event (`Component eq`,
 * `NotificationName eq` among its top-level `and`s, with a `Severity eq`, `ge` or `gt` there narrowing
 * it further) listed newest first walks only the hours holding alerts of those kinds (walkKindHours),
 * as GET /alerts' component and event do: as one query over the tenant's alerts, a Component or
 * NotificationName that few or no alerts have read the whole list newest first (2–3 s at a million
 * alerts on SQLite, 0.4–0.6 s on PostgreSQL). A severity alone is read as one query: every severity
 * is in most hours, where the walk is a query per run of hours (Fatal, 1 alert in 200: 8 → 22
 * CPU-ms on PostgreSQL). Any other order, or a `$skip` past WALKED_SKIP_MAX, reads the one query.
 */

/** OdataListQuery is one page of GET /odata/Alerts, its options read. */
export interface OdataListQuery {
  readonly filter: FilterNode | undefined;
  readonly order: readonly OrderTerm[];
  /** How many rows to read: `$top`, or a page and one more (server-driven paging). */
  readonly limit: number;
  readonly skip: number;
  /** The newest alert the list holds, the one at its first page (server-driven paging). */
  readonly newest: ListPosition | undefined;
  /** The order's values of the alert the page starts after (`$skiptoken`). */
  readonly after: readonly OrderValue[] | undefined;
}

/**
 * WALKED_SKIP_MAX bounds the `$skip` of a walked list: the positions of the alerts skipped are read
 * (a creation time and an id each, a few MB at this bound), where the one query's offset passes over them in the database.
 */
const WALKED_SKIP_MAX = 100_000;

/**
 * odataListBase is the tenant's alerts, with the reader's read state, that the list's filter takes
 * and that are no newer than its newest alert, within `run` when given ([from, to)): what `$count`
 * counts and each page reads from. A run's bounds come first: of two bounds on one side of the
 * creation time, SQLite starts or ends the index range at the first written, so that behind the
 * newest alert's they had a run of 80 days back read from the newest alert down (0.5 s, 2 rows).
 */
export function odataListBase(db: Db, tenantId: string, reader: Reader, filter: FilterNode | undefined, newest: ListPosition | undefined, run?: HourRun) {
  return readStateQuery(db, tenantId, reader)
    .$if(run !== undefined, (qb) => qb.where('a.created_at', '>=', run!.from).where('a.created_at', '<', run!.to))
    .$if(filter !== undefined, (qb) => qb.where(filterCondition(filter!, reader)))
    .$if(newest !== undefined, (qb) =>
      qb.where('a.created_at', '<=', newest!.createdAt).where((eb) => eb.or([eb('a.created_at', '<', newest!.createdAt), eb('a.id', '<=', newest!.id)])),
    );
}

/** isNewestFirst is whether an order is the list's default, newest first (creation time, then id, descending). */
function isNewestFirst(order: readonly OrderTerm[]): boolean {
  return (
    order.length === 2 && order[0]!.column === 'a.created_at' && order[0]!.direction === 'desc' && order[1]!.column === 'a.id' && order[1]!.direction === 'desc'
  );
}

/** odataAlertRows reads the rows of one page of GET /odata/Alerts (every alert column, and is_read), in its order. */
export async function odataAlertRows(db: Db, tenantId: string, reader: Reader, query: OdataListQuery) {
  const after = query.after;
  const rows = (run?: HourRun) => {
    let ordered = odataListBase(db, tenantId, reader, query.filter, query.newest, run)
      .selectAll('a')
      .select(isReadExpression(reader).as('is_read'))
      .$if(after !== undefined, (qb) => qb.where(afterCondition(db, reader, query.order, after!)));
    for (const term of query.order) ordered = ordered.orderBy(orderExpression(db, reader, term), term.direction);
    return ordered;
  };
  const bounds = impliedBounds(query.filter);
  const named = bounds.kinds.component !== undefined || bounds.kinds.event !== undefined;
  if (!named || !isNewestFirst(query.order) || query.skip > WALKED_SKIP_MAX) {
    return rows().limit(query.limit).offset(query.skip).execute();
  }
  // The newest the page may start at: the list's newest alert, or the one it starts after (newest first, its first value is its time).
  const start = after === undefined ? query.newest : { createdAt: Math.min(Number(after[0]), query.newest?.createdAt ?? Number.POSITIVE_INFINITY), id: '' };
  const span = listSpan(bounds, reader, start);
  if (query.skip === 0) return walkKindHours(db, tenantId, bounds.kinds, span, query.limit, (run, count) => rows(run).limit(count).execute());
  // Skipped alerts are walked over by their place alone; the page's are then read whole, by id.
  const places = await walkKindHours(db, tenantId, bounds.kinds, span, query.skip + query.limit, (run, count) =>
    rows(run).clearSelect().select(['a.id']).limit(count).execute(),
  );
  const ids = places.slice(query.skip).map((place) => place.id);
  if (ids.length === 0) return [];
  // Read by id, without an order (put in the walk's after): by the tenant's indexes, SQLite walked its alerts for them (0.8 s).
  const read = await readStateQuery(db, tenantId, reader, ids).selectAll('a').select(isReadExpression(reader).as('is_read')).execute();
  const byId = new Map(read.map((row) => [row.id, row]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}
