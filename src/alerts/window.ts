import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { Database, Db } from '../storage/database.js';
import { type Severity, severityOfRank, severityRank } from './severity.js';
import { SOURCE_FILTER_PARTS, type SourceFilterPart, sourcePart } from './source-parts.js';
import { storedBeforeBucket } from './stored-before.js';
import { MAIL_HEALTH_ALERT } from '../mail-health/alert-message.js';
import { type AlertRow, type StoredAlert, toStoredAlert } from './store.js';

/**
 * WindowAlert is what a report line reads of an alert: all but its data, which no line shows (but
 * Tocsin's own Mail.DeliveryFailing alert's, small, tocsinData). A summary window can hold 20,000
 * alerts of 16 KiB of data each: read and parsed, 320 MB and seconds.
 */
export type WindowAlert = Omit<StoredAlert, 'data'> & {
  /** The data of Tocsin's own Mail.DeliveryFailing alert alone (tocsinData), which its line words in the reader's language (alert-message.ts). */
  readonly tocsinData?: string | null;
};

/**
 * tocsinData selects an alert's data only when it is Tocsin's own Mail.DeliveryFailing alert, whose
 * data says why no server answered (alert-message.ts): null for every other alert, so a window
 * reads no robot's data.
 */
function tocsinData(table: 'a' | 'alerts') {
  return sql<
    string | null
  >`case when ${sql.ref(`${table}.event`)} = ${sql.lit(MAIL_HEALTH_ALERT.event)} and ${sql.ref(`${table}.component`)} = ${sql.lit(MAIL_HEALTH_ALERT.component)} then ${sql.ref(`${table}.data`)} end`.as(
    'tocsin_data',
  );
}

/** WINDOW_COLUMNS are the alert columns a window reads: every one but `data` (a column added to the table must be named here). */
const WINDOW_COLUMN_SET = {
  id: true,
  tenant_id: true,
  severity: true,
  component: true,
  event: true,
  message: true,
  source: true,
  folder: true,
  dedup_key: true,
  group_id: true,
  occurred_at: true,
  created_at: true,
} as const satisfies Record<Exclude<keyof AlertRow, 'data'>, true>;
const WINDOW_COLUMNS = Object.keys(WINDOW_COLUMN_SET) as (keyof typeof WINDOW_COLUMN_SET)[];

function toWindowAlert({ tocsin_data, ...row }: Omit<AlertRow, 'data'> & { tocsin_data: string | null }): WindowAlert {
  const { data: _none, ...alert } = toStoredAlert({ ...row, data: null } as AlertRow);
  return tocsin_data === null ? alert : { ...alert, tocsinData: tocsin_data };
}

/** nextTurn lets the event loop answer other work: SQLite answers a query at once, so a window read page after page would not. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** WindowQuery selects a tenant's alerts created in [from, to), optionally by severity. */
export interface WindowQuery {
  /** Epoch ms, inclusive. */
  readonly from: number;
  /** Epoch ms, exclusive. */
  readonly to: number;
  /** That severity and every one above it (the 10-minute summary passes Error). */
  readonly minSeverity?: Severity | undefined;
  /** Only these severities. */
  readonly severities?: readonly Severity[] | undefined;
}

/**
 * AlertGroup is one line of a report: the alerts of one flood (same dedup key, see insertAlerts)
 * and one event that fall in the window and match its severities; an alert without a dedup key is
 * a group of one. A key's alerts of another event (a robot not responding, then offline) are a
 * line of their own: the first event's line would hide the other, from the reader's subscriptions
 * and mutes too, which look at a line's first alert.
 */
export interface AlertGroup {
  /** The flood's id (its first alert's id, even when that alert is before the window). */
  readonly groupId: string;
  readonly dedupKey: string | null;
  /** How many of the flood's alerts are in the window ("×500"). */
  readonly count: number;
  /** The highest severity among them. */
  readonly severity: Severity;
  /** How many of them are Fatal (a key's Error may be repeated as Fatal): the summary's "N of them Fatal". */
  readonly fatal: number;
  /** The first of them in the window: its component, event, message and source stand for the line. */
  readonly first: WindowAlert;
  /**
   * The process, robot and queue that every alert of the line names alike (the first's, less the
   * parts its repeats differ in: a process failing on several robots): what the line's link filters on.
   */
  readonly sharedSource: { readonly [K in SourceFilterPart]?: string };
  /**
   * The component every alert of the line has (the first's), undefined when they differ: the line's
   * link filters on it too, since an event does not name one component (`Process.RaiseAlert`, the
   * event of every alert raised without one, is any component's).
   */
  readonly sharedComponent: string | undefined;
  /**
   * Every alert of the line has the first's component, process, robot and queue: a reader's
   * subscriptions and mutes, which look at those, decide the whole line as they decide its first
   * alert. A line that is not (a process failing on several robots) is read by its parts
   * (linePartsOf) for a reader whose mutes may keep some of its alerts out and not others.
   */
  readonly uniform: boolean;
  readonly firstCreatedAt: number;
  readonly lastCreatedAt: number;
  readonly firstOccurredAt: number;
  readonly lastOccurredAt: number;
}

/** WindowCursor is where the next page of groups starts (after the first alert of the last group). */
export interface WindowCursor {
  readonly createdAt: number;
  readonly id: string;
}

/** WINDOW_PAGE_SIZE is the default number of groups per page. */
const WINDOW_PAGE_SIZE = 500;

function severityFilter(alias: 'a' | 'b', query: WindowQuery): Expression<SqlBool> {
  const column = sql.ref(`${alias}.severity`);
  const conditions: Expression<SqlBool>[] = [sql<SqlBool>`1 = 1`];
  if (query.minSeverity) conditions.push(sql<SqlBool>`${column} >= ${severityRank(query.minSeverity)}`);
  if (query.severities) {
    const ranks = query.severities.map(severityRank);
    conditions.push(ranks.length > 0 ? sql<SqlBool>`${column} in (${sql.join(ranks)})` : sql<SqlBool>`1 = 0`);
  }
  return sql<SqlBool>`(${sql.join(conditions, sql` and `)})`;
}

/**
 * lineFigures are what a line, or a part of one, counts of its alerts: how many, the worst
 * severity, how many are Fatal, and the first and last times they were stored and occurred.
 */
function lineFigures(eb: ExpressionBuilder<Database & { a: Database['alerts'] }, 'a'>) {
  return [
    eb.fn.countAll<number>().as('n'),
    eb.fn.max('a.severity').as('sev'),
    sql<number>`sum(case when ${sql.ref('a.severity')} = ${severityRank('Fatal')} then 1 else 0 end)`.as('f'),
    eb.fn.min('a.created_at').as('fc'),
    eb.fn.max('a.created_at').as('lc'),
    eb.fn.min('a.occurred_at').as('fo'),
    eb.fn.max('a.occurred_at').as('lo'),
  ] as const;
}

/**
 * alertsInWindow is what the reports read: the groups of a tenant's alerts created in a window,
 * in the order of their first alert, one page at a time (a daily window can hold 100,000 alerts).
 * Each page costs two indexed queries: the first alert of each group in the window (an alert
 * with no earlier alert of its flood and event in the window), then the counts of those groups.
 */
export async function alertsInWindow(
  db: Db,
  tenantId: string,
  query: WindowQuery,
  page: { limit?: number; after?: WindowCursor | undefined } = {},
): Promise<{ groups: AlertGroup[]; next: WindowCursor | undefined }> {
  const limit = Math.max(1, Math.min(page.limit ?? WINDOW_PAGE_SIZE, 5_000));
  const after = page.after;
  const firsts = await db
    .selectFrom('alerts as a')
    .select([...WINDOW_COLUMNS.map((column) => `a.${column}` as const), tocsinData('a')])
    .where('a.tenant_id', '=', tenantId)
    .where('a.created_at', '>=', query.from)
    .where('a.created_at', '<', query.to)
    .where(severityFilter('a', query))
    .where((eb) =>
      eb.or([
        eb('a.group_id', 'is', null),
        eb.not(
          eb.exists(
            eb
              .selectFrom('alerts as b')
              .select('b.id')
              .whereRef('b.tenant_id', '=', 'a.tenant_id')
              .whereRef('b.group_id', '=', 'a.group_id')
              .whereRef('b.event', '=', 'a.event')
              .where('b.created_at', '>=', query.from)
              .where((inner: ExpressionBuilder<Database & { a: Database['alerts']; b: Database['alerts'] }, 'a' | 'b'>) =>
                inner.and([
                  severityFilter('b', query),
                  inner.or([
                    inner('b.created_at', '<', inner.ref('a.created_at')),
                    inner.and([inner('b.created_at', '=', inner.ref('a.created_at')), inner('b.id', '<', inner.ref('a.id'))]),
                  ]),
                ]),
              ),
          ),
        ),
      ]),
    )
    .$if(after !== undefined, (q) =>
      q
        // The redundant bound lets both engines start the index range at the cursor.
        .where('a.created_at', '>=', after!.createdAt)
        .where((eb) => eb.or([eb('a.created_at', '>', after!.createdAt), eb.and([eb('a.created_at', '=', after!.createdAt), eb('a.id', '>', after!.id)])])),
    )
    .orderBy('a.created_at')
    .orderBy('a.id')
    .limit(limit + 1)
    .execute();

  const pageRows = firsts.slice(0, limit);
  const floodIds = pageRows.flatMap((r) => (r.group_id === null ? [] : [r.group_id]));
  const counts = new Map<
    string,
    { n: number; sev: number; f: number; fc: number; lc: number; fo: number; lo: number; varied: Set<SourceFilterPart>; components: number }
  >();
  const countKey = (groupId: string, event: string) => `${groupId}\n${event}`;
  if (floodIds.length > 0) {
    const rows = await db
      .selectFrom('alerts as a')
      .select((eb) => [
        'a.group_id',
        'a.event',
        ...lineFigures(eb),
        // How many values each source part takes among the line's alerts (a missing part counts as one).
        ...SOURCE_FILTER_PARTS.map((part) => sql<number>`count(distinct coalesce(${sourcePart(db, part, 'a')}, ''))`.as(`d_${part}`)),
        sql<number>`count(distinct ${sql.ref('a.component')})`.as('d_component'),
      ])
      .where('a.tenant_id', '=', tenantId)
      .where('a.group_id', 'in', floodIds)
      .where('a.created_at', '>=', query.from)
      .where('a.created_at', '<', query.to)
      .where(severityFilter('a', query))
      .groupBy(['a.group_id', 'a.event'])
      .execute();
    for (const r of rows) {
      const values = r as unknown as Record<`d_${SourceFilterPart}`, number | string>;
      const varied = new Set(SOURCE_FILTER_PARTS.filter((part) => Number(values[`d_${part}`]) > 1));
      const n = {
        n: Number(r.n),
        sev: Number(r.sev),
        f: Number(r.f),
        fc: Number(r.fc),
        lc: Number(r.lc),
        fo: Number(r.fo),
        lo: Number(r.lo),
        varied,
        components: Number(r.d_component),
      };
      counts.set(countKey(r.group_id!, r.event), n);
    }
  }
  const groups = pageRows.map((row): AlertGroup => {
    const first = toWindowAlert(row);
    const c = row.group_id === null ? undefined : counts.get(countKey(row.group_id, row.event));
    return {
      groupId: first.groupId,
      dedupKey: first.dedupKey,
      count: c?.n ?? 1,
      severity: c ? severityOfRank(c.sev) : first.severity,
      fatal: c ? c.f : first.severity === 'Fatal' ? 1 : 0,
      first,
      sharedSource: Object.fromEntries(
        SOURCE_FILTER_PARTS.flatMap((part) => (first.source?.[part] && !c?.varied.has(part) ? [[part, first.source[part]]] : [])),
      ),
      sharedComponent: !c || c.components <= 1 ? first.component : undefined,
      uniform: !c || (c.varied.size === 0 && c.components <= 1),
      firstCreatedAt: c?.fc ?? first.createdAt,
      lastCreatedAt: c?.lc ?? first.createdAt,
      firstOccurredAt: c?.fo ?? first.occurredAt,
      lastOccurredAt: c?.lo ?? first.occurredAt,
    };
  });
  const last = groups[groups.length - 1];
  return {
    groups,
    next: firsts.length > limit && last ? { createdAt: last.first.createdAt, id: last.first.id } : undefined,
  };
}

/**
 * streamAlertsInWindow yields every group of a window, page by page, so memory stays one page,
 * and gives the event loop a turn before each page after the first, so that a window of 20,000
 * lines read from SQLite holds no request up for seconds.
 */
export async function* streamAlertsInWindow(db: Db, tenantId: string, query: WindowQuery, pageSize = WINDOW_PAGE_SIZE): AsyncGenerator<AlertGroup> {
  let after: WindowCursor | undefined;
  do {
    if (after) await nextTurn();
    const page = await alertsInWindow(db, tenantId, query, { limit: pageSize, after });
    yield* page.groups;
    after = page.next;
  } while (after);
}

/** LinePart is the alerts of one line that share a component, process, robot and queue: what subscriptions and mutes look at. */
export interface LinePart {
  readonly component: string;
  readonly source: { readonly [K in SourceFilterPart]?: string };
  readonly count: number;
  readonly severity: Severity;
  readonly fatal: number;
  /** The part's first alert (ids count up as alerts are stored). */
  readonly firstId: string;
  readonly firstCreatedAt: number;
  readonly lastCreatedAt: number;
  readonly firstOccurredAt: number;
  readonly lastOccurredAt: number;
}

/**
 * linePartsOf reads the parts of a line that is not uniform (see AlertGroup.uniform): its alerts
 * in the window counted by component and source parts, one indexed query of a few rows. Given the
 * ends of mutes that ended among the line's alerts (`ends`, ascending), the parts are split at them
 * too: a mute covers the alerts stored before its end and not those after.
 */
export async function linePartsOf(db: Db, tenantId: string, query: WindowQuery, group: AlertGroup, ends: readonly number[] = []): Promise<LinePart[]> {
  const parts = [...SOURCE_FILTER_PARTS.map((part) => sourcePart(db, part, 'a')), ...(ends.length > 0 ? [storedBeforeBucket(ends, 'a')] : [])];
  const rows = await db
    .selectFrom('alerts as a')
    .select((eb) => ['a.component', ...parts.map((p, i) => p.as(`s${i}`)), ...lineFigures(eb), eb.fn.min('a.id').as('first_id')])
    .where('a.tenant_id', '=', tenantId)
    .where('a.group_id', '=', group.groupId)
    .where('a.event', '=', group.first.event)
    .where('a.created_at', '>=', query.from)
    .where('a.created_at', '<', query.to)
    .where(severityFilter('a', query))
    .groupBy(['a.component', ...parts])
    .execute();
  return rows.map((r) => {
    const values = r as typeof r & Record<string, string | null>;
    const source: { [K in SourceFilterPart]?: string } = {};
    SOURCE_FILTER_PARTS.forEach((part, i) => {
      const value = values[`s${i}`];
      if (typeof value === 'string') source[part] = value;
    });
    return {
      component: r.component,
      source,
      count: Number(r.n),
      severity: severityOfRank(Number(r.sev)),
      fatal: Number(r.f),
      firstId: String(r.first_id),
      firstCreatedAt: Number(r.fc),
      lastCreatedAt: Number(r.lc),
      firstOccurredAt: Number(r.fo),
      lastOccurredAt: Number(r.lo),
    };
  });
}

/** windowAlertOf reads one alert of a tenant as a window line shows it (undefined when it is gone). */
export async function windowAlertOf(db: Db, tenantId: string, id: string): Promise<WindowAlert | undefined> {
  const row = await db
    .selectFrom('alerts')
    .select([...WINDOW_COLUMNS, tocsinData('alerts')])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toWindowAlert(row);
}
