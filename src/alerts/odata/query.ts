import { type Expression, type RawBuilder, type SqlBool, sql } from 'kysely';
import { findComponent, findEvent } from '../catalogue.js';
import { unknownComponent } from '../input.js';
import { type Reader, isReadExpression } from '../read-state.js';
import { SEVERITIES, parseSeverity, severityRank } from '../severity.js';
import { finerThanMillisecond } from '../../shared/validation.js';
import type { Db } from '../../storage/database.js';
import { inCodePointOrder } from '../../storage/text-order.js';
import type { KindFilter } from '../kind-hours.js';
import {
  type CaseFold,
  type ComparisonOperator,
  type FilterLiteral,
  type FilterNode,
  FilterSyntaxError,
  type StringFunction,
  applyFold,
  instantOf,
  matchesFunction,
} from './filter.js';
import { orderByTerms } from './options.js';

const SQL_OPERATOR: Record<ComparisonOperator, string> = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' };

/** FILTER_PROPERTIES are the AlertDto properties that `$filter` accepts. */
const FILTER_PROPERTIES = ['Severity', 'Component', 'State', 'CreationTime', 'NotificationName', 'Id'] as const;

type Property = (typeof FILTER_PROPERTIES)[number];

function propertyOf(name: string): Property {
  const found = FILTER_PROPERTIES.find((p) => p.toLowerCase() === name.toLowerCase());
  if (!found) throw new FilterSyntaxError(`cannot filter on "${name}"; use ${FILTER_PROPERTIES.join(', ')}`, 0);
  return found;
}

function describe(value: FilterLiteral): string {
  return value.kind === 'null' ? 'null' : value.kind === 'datetime' ? value.text : String(value.value);
}

function onlyEquality(property: Property, op: ComparisonOperator) {
  if (op !== 'eq' && op !== 'ne') throw new FilterSyntaxError(`${property} can only be compared with eq or ne`, 0);
}

/** severityRankOf is the rank a Severity is compared with: a name (Warning for Warn, any case) or its number 0–4. */
function severityRankOf(value: FilterLiteral): number | undefined {
  if (value.kind === 'number') return Number.isInteger(value.value) && value.value >= 0 && value.value <= 4 ? value.value : undefined;
  const severity = value.kind === 'string' ? parseSeverity(value.value) : undefined;
  return severity && severityRank(severity);
}

/**
 * storedName is the name alerts store that `Component eq` or `NotificationName eq` a text means: the
 * catalogue's spelling of it, or an event outside the catalogue as written; undefined for a component
 * outside the catalogue, which no alert has.
 */
function storedName(property: 'Component' | 'NotificationName', text: string): string | undefined {
  return property === 'Component' ? findComponent(text)?.name : (findEvent(text)?.name ?? text);
}

/**
 * creationTimeOf is the instant a CreationTime is compared with (the millisecond it falls in) and its
 * text: a quoted one (or datetime'…') is read as strictly as an unquoted one, a missing offset as UTC.
 */
function creationTimeOf(value: FilterLiteral): { at: number; text: string } | undefined {
  const text = value.kind === 'datetime' ? value.text : value.kind === 'string' ? value.value.trim() : '';
  const at = value.kind === 'datetime' ? value.value : value.kind === 'string' ? instantOf(text, true) : undefined;
  return at === undefined ? undefined : { at, text };
}

function compare(property: Property, op: ComparisonOperator, value: FilterLiteral, reader: Reader): RawBuilder<SqlBool> {
  const sqlOp = sql.raw(SQL_OPERATOR[op]);
  switch (property) {
    case 'Severity': {
      const rank = severityRankOf(value);
      if (rank === undefined) throw new FilterSyntaxError(`Severity must be Info, Success, Warn, Error or Fatal, not ${describe(value)}`, 0);
      return sql<SqlBool>`a.severity ${sqlOp} ${rank}`;
    }
    case 'Component':
    case 'NotificationName': {
      onlyEquality(property, op);
      if (value.kind !== 'string') throw new FilterSyntaxError(`${property} must be compared with a 'quoted string'`, 0);
      const named = storedName(property, value.value);
      // Every stored alert has a catalogue component, so another one would answer an empty list, read as
      // 'no alerts' (as GET /alerts refuses it); events are open (a source's own names), so not those.
      if (named === undefined) throw new FilterSyntaxError(`Component ${unknownComponent(value.value)}`, 0);
      return sql<SqlBool>`${sql.ref(property === 'Component' ? 'a.component' : 'a.event')} ${sqlOp} ${named}`;
    }
    case 'Id': {
      onlyEquality(property, op);
      if (value.kind !== 'string') throw new FilterSyntaxError(`Id must be compared with a 'quoted string'`, 0);
      // Ids are lower-case UUIDs, and a Guid is the same Guid in either case (.NET prints them upper-case).
      return sql<SqlBool>`a.id ${sqlOp} ${value.value.toLowerCase()}`;
    }
    case 'State': {
      onlyEquality(property, op);
      const text = value.kind === 'string' ? value.value.toLowerCase() : value.kind === 'number' ? String(value.value) : '';
      const read = text === 'read' || text === '1' ? 1 : text === 'unread' || text === '0' ? 0 : undefined;
      if (read === undefined) throw new FilterSyntaxError(`State must be 'Unread' or 'Read', not ${describe(value)}`, 0);
      return sql<SqlBool>`${isReadExpression(reader)} ${sqlOp} ${read}`;
    }
    case 'CreationTime': {
      const { at, text } = creationTimeOf(value) ?? {};
      if (at === undefined) throw new FilterSyntaxError(`CreationTime must be compared with a date-time such as 2024-01-31T00:00:00Z`, 0);
      if (!finerThanMillisecond(text!)) return sql<SqlBool>`a.created_at ${sqlOp} ${at}`;
      // Stored to the millisecond, no alert is at an instant between two (instantOf gives the one before it): none
      // is equal to it, and at or after it means after `at`, before it at or before `at`.
      if (op === 'eq' || op === 'ne') return op === 'eq' ? sql<SqlBool>`1 = 0` : sql<SqlBool>`1 = 1`;
      return sql<SqlBool>`a.created_at ${sql.raw(SQL_OPERATOR[op === 'ge' ? 'gt' : op === 'lt' ? 'le' : op])} ${at}`;
    }
  }
}

// The text properties and their columns; Severity and State are stored as numbers, each with a name.
const TEXT_COLUMNS = { Component: 'a.component', NotificationName: 'a.event', Id: 'a.id' } as const;

function isTextProperty(property: Property): property is keyof typeof TEXT_COLUMNS {
  return property in TEXT_COLUMNS;
}

function textColumn(property: keyof typeof TEXT_COLUMNS, fold: CaseFold | undefined): RawBuilder<string> {
  const column = sql.ref(TEXT_COLUMNS[property]);
  return fold === 'tolower' ? sql<string>`lower(${column})` : fold === 'toupper' ? sql<string>`upper(${column})` : sql<string>`${column}`;
}

/**
 * namedCondition is the condition that Severity or State is one of those whose name passes `test`:
 * a case fold or a string function on them is decided on their names (Info … Fatal, Unread and Read),
 * as OData reads an enum property as its name.
 */
function namedCondition(property: 'Severity' | 'State', reader: Reader, test: (name: string) => boolean): RawBuilder<SqlBool> {
  const names: readonly string[] = property === 'Severity' ? SEVERITIES : ['Unread', 'Read'];
  const values = names.flatMap((name, value) => (test(name) ? [value] : []));
  if (values.length === 0) return sql<SqlBool>`1 = 0`;
  const column = property === 'Severity' ? sql`a.severity` : isReadExpression(reader);
  return sql<SqlBool>`${column} in (${sql.join(values)})`;
}

/** foldedCompare is `tolower(property) eq 'value'` (or toupper, or ne): case-sensitive, on the folded text. */
function foldedCompare(property: Property, op: ComparisonOperator, value: FilterLiteral, fold: CaseFold, reader: Reader): RawBuilder<SqlBool> {
  if (property === 'CreationTime') throw new FilterSyntaxError(`${fold} takes a text property, not CreationTime`, 0);
  onlyEquality(property, op);
  if (value.kind !== 'string') throw new FilterSyntaxError(`${fold}(${property}) must be compared with a 'quoted string'`, 0);
  if (isTextProperty(property)) return sql<SqlBool>`${textColumn(property, fold)} ${sql.raw(SQL_OPERATOR[op])} ${value.value}`;
  return namedCondition(property, reader, (name) => (applyFold(name, fold) === value.value) === (op === 'eq'));
}

/**
 * stringFunction is OData's contains, startswith or endswith of a property (case-sensitive, as
 * OData's are), in SQL that both dialects read alike: SQLite's LIKE ignores case, PostgreSQL's does not.
 */
function stringFunction(name: StringFunction, property: Property, value: string, fold: CaseFold | undefined, reader: Reader): RawBuilder<SqlBool> {
  if (property === 'CreationTime') throw new FilterSyntaxError(`${name} takes a text property, not CreationTime`, 0);
  if (!isTextProperty(property)) return namedCondition(property, reader, (n) => matchesFunction(name, applyFold(n, fold), value));
  if (value === '') return sql<SqlBool>`1 = 1`;
  const column = textColumn(property, fold);
  // Both dialects count characters (code points) in length and substr.
  const length = [...value].length;
  switch (name) {
    case 'contains':
      return sql<SqlBool>`replace(${column}, ${value}, '') <> ${column}`;
    case 'startswith':
      return sql<SqlBool>`substr(${column}, 1, ${length}) = ${value}`;
    case 'endswith':
      return sql<SqlBool>`substr(${column}, length(${column}) - ${length} + 1) = ${value}`;
  }
}

/**
 * filterCondition turns a parsed `$filter` into a condition on alerts `a` joined with the reader's
 * read state `r` (see readStateQuery); values are always bound, never spliced into the SQL.
 */
export function filterCondition(node: FilterNode, reader: Reader): Expression<SqlBool> {
  switch (node.kind) {
    case 'and':
    case 'or':
      return sql<SqlBool>`(${filterCondition(node.left, reader)} ${sql.raw(node.kind)} ${filterCondition(node.right, reader)})`;
    case 'not':
      return sql<SqlBool>`(not ${filterCondition(node.operand, reader)})`;
    case 'compare':
      return node.fold
        ? foldedCompare(propertyOf(node.property), node.op, node.value, node.fold, reader)
        : compare(propertyOf(node.property), node.op, node.value, reader);
    case 'function':
      return stringFunction(node.name, propertyOf(node.property), node.value, node.fold, reader);
  }
}

/**
 * ImpliedBounds are what a `$filter` says of every alert it lists, by the comparisons its top-level
 * `and`s hold: the kinds (alert_kind_hours' filter), a span of creation times and unread alone. Each
 * bound may take in more than the filter (a superset): the filter's own condition still decides.
 */
export interface ImpliedBounds {
  readonly kinds: KindFilter;
  /** Created at or after (epoch ms). */
  readonly since?: number;
  /** Created before (epoch ms). */
  readonly until?: number;
  readonly unreadOnly: boolean;
}

/** conjuncts are the comparisons and functions a filter's top-level `and`s join: each holds of every alert it lists. */
function conjuncts(node: FilterNode): FilterNode[] {
  return node.kind === 'and' ? [...conjuncts(node.left), ...conjuncts(node.right)] : [node];
}

/**
 * impliedBounds reads a parsed (and checked: filterCondition) `$filter`'s ImpliedBounds: `Component eq`,
 * `NotificationName eq` and `Severity eq`, `ge` or `gt` name kinds, as GET /alerts' component, event and
 * severity do; `CreationTime` compared by eq, gt, ge, lt or le bounds the span; `State eq 'Unread'` lists
 * unread alerts only. Anything under `or`, `not`, a case fold or a string function says nothing.
 */
export function impliedBounds(node: FilterNode | undefined): ImpliedBounds {
  let kinds: { minSeverity?: number; component?: string; event?: string } = {};
  let since: number | undefined;
  let until: number | undefined;
  let unreadOnly = false;
  for (const term of node ? conjuncts(node) : []) {
    if (term.kind !== 'compare' || term.fold) continue;
    const { op, value } = term;
    const property = propertyOf(term.property);
    if ((property === 'Component' || property === 'NotificationName') && op === 'eq' && value.kind === 'string') {
      kinds = { ...kinds, [property === 'Component' ? 'component' : 'event']: storedName(property, value.value) };
    } else if (property === 'Severity' && (op === 'eq' || op === 'ge' || op === 'gt')) {
      const rank = severityRankOf(value);
      if (rank !== undefined) kinds = { ...kinds, minSeverity: Math.max(kinds.minSeverity ?? 0, op === 'gt' ? rank + 1 : rank) };
    } else if (property === 'CreationTime') {
      const time = creationTimeOf(value);
      if (time === undefined) continue;
      // As compare reads it: a time finer than the millisecond `at` lies after `at` itself (eq then takes
      // in that millisecond, a bound a little wide, where the condition lists nothing).
      const fine = finerThanMillisecond(time.text);
      const from = op === 'gt' || (op === 'ge' && fine) ? time.at + 1 : op === 'ge' || op === 'eq' ? time.at : undefined;
      const to = op === 'lt' && !fine ? time.at : op === 'lt' || op === 'le' || op === 'eq' ? time.at + 1 : undefined;
      if (from !== undefined) since = Math.max(since ?? from, from);
      if (to !== undefined) until = Math.min(until ?? to, to);
    } else if (property === 'State' && op === 'eq') {
      unreadOnly ||= (value.kind === 'string' && value.value.toLowerCase() === 'unread') || (value.kind === 'number' && value.value === 0);
    }
  }
  return { kinds, ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }), unreadOnly };
}

/** STATE_ORDER stands for the reader's read state in an OrderTerm: no column holds it (see isReadExpression). */
const STATE_ORDER = 'state';

// A Map, not an object: `$orderby=constructor` must find no column rather than Object's function.
const ORDER_COLUMNS: ReadonlyMap<string, string> = new Map([
  ['creationtime', 'a.created_at'],
  ['state', STATE_ORDER],
  ['severity', 'a.severity'],
  ['component', 'a.component'],
  ['notificationname', 'a.event'],
  ['id', 'a.id'],
]);

/** TEXT_ORDER_COLUMNS are the ORDER_COLUMNS of free text, ordered by code point on both engines (inCodePointOrder). */
const TEXT_ORDER_COLUMNS: ReadonlySet<string> = new Set(['a.component', 'a.event']);

/** OrderTerm is one `$orderby` term: a column and a direction. */
export interface OrderTerm {
  readonly column: string;
  readonly direction: 'asc' | 'desc';
}

/**
 * parseOrderBy reads `$orderby` (e.g. `Severity desc,CreationTime`), default newest first; the
 * creation time and id always end the list so that `$skip` pages are stable, the id in the
 * creation time's direction.
 */
export function parseOrderBy(value: string | undefined): OrderTerm[] {
  const terms: OrderTerm[] = [];
  for (const part of orderByTerms(value)) {
    const match = /^\s*(\w+)(?:\s+(asc|desc))?\s*$/i.exec(part);
    const column = match ? ORDER_COLUMNS.get(match[1]!.toLowerCase()) : undefined;
    if (!match || !column)
      throw new FilterSyntaxError(
        `cannot order by "${part.trim()}"; use CreationTime, Severity, Component, State, NotificationName or Id, then asc or desc`,
        0,
      );
    terms.push({ column, direction: (match[2]?.toLowerCase() ?? 'asc') as 'asc' | 'desc' });
  }
  // Alerts raised together share their creation time; their ids (UUIDv7) follow the order they were
  // raised in, so they break its ties in its direction: CreationTime asc is the reverse of desc.
  const created = terms.find((t) => t.column === 'a.created_at');
  if (!created) terms.push({ column: 'a.created_at', direction: 'desc' });
  if (!terms.some((t) => t.column === 'a.id')) terms.push({ column: 'a.id', direction: created?.direction ?? 'desc' });
  return terms;
}

/** OrderValue is an alert's value of one OrderTerm: a number (time, severity, read state) or a text. */
export type OrderValue = number | string;

/** orderExpression is what an OrderTerm orders by: its column (free text by code point), or the reader's read state. */
export function orderExpression(db: Db, reader: Reader, term: OrderTerm): RawBuilder<OrderValue> {
  if (term.column === STATE_ORDER) return isReadExpression(reader);
  return TEXT_ORDER_COLUMNS.has(term.column) ? inCodePointOrder(db, term.column) : sql<OrderValue>`${sql.ref(term.column)}`;
}

/** isTextOrder is whether an OrderTerm's values are texts (else numbers). */
export function isTextOrder(term: OrderTerm): boolean {
  return TEXT_ORDER_COLUMNS.has(term.column) || term.column === 'a.id';
}

/** orderValues are a listed alert's values of the order's terms (`row` as selected with its read state as is_read), where its page ends. */
export function orderValues(order: readonly OrderTerm[], row: Readonly<Record<string, unknown>>): OrderValue[] {
  return order.map((term) => {
    const value = row[term.column === STATE_ORDER ? 'is_read' : term.column.slice('a.'.length)];
    return isTextOrder(term) ? String(value) : Number(value);
  });
}

/**
 * afterCondition holds for the alerts that come after the one whose orderValues are `values` in
 * `order` (which ends with the id, so no two alerts tie): a page that starts there is the same
 * whatever became of the alerts before it (read, deleted), where an offset counted them again.
 */
export function afterCondition(db: Db, reader: Reader, order: readonly OrderTerm[], values: readonly OrderValue[]): RawBuilder<SqlBool> {
  const terms = order.map((term) => orderExpression(db, reader, term));
  const beyond = (i: number, strictly: boolean) =>
    sql`${terms[i]} ${sql.raw(order[i]!.direction === 'asc' ? (strictly ? '>' : '>=') : strictly ? '<' : '<=')} ${values[i]}`;
  const branches = order.map((_, i) => sql.join([...terms.slice(0, i).map((term, j) => sql`${term} = ${values[j]}`), beyond(i, true)], sql` and `));
  // The first term's bound alone, redundant, lets an index on it (the creation time's, by default) start there.
  return sql<SqlBool>`(${beyond(0, false)} and (${sql.join(
    branches.map((branch) => sql`(${branch})`),
    sql` or `,
  )}))`;
}
