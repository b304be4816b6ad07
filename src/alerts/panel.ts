import type { Db } from '../storage/database.js';
import { inListOf } from '../storage/sql-once.js';
import { type Reader, isUnreadCondition, readStateQuery } from './read-state.js';
import { SEVERITIES } from './severity.js';
import { bySeverity } from './severity-index.js';
import { type ListPosition, type ReadAlert, olderThan, toStoredAlert } from './store.js';

/** PanelEntry is one line of the bell panel: the most severe, then newest, unread alert of a flood, and the flood's unread size. */
export interface PanelEntry extends ReadAlert {
  /** Unread alerts of the flood (1 when the alert stands alone). */
  readonly count: number;
  readonly firstCreatedAt: number;
  readonly lastCreatedAt: number;
}

/** PANEL_SIZE is how many lines the bell panel shows. */
const PANEL_SIZE = 5;

/** FloodFigures are a flood's unread alerts as the reader sees them: the most severe one's rank, the first's and the last's times, how many. */
interface FloodFigures {
  /** The flood's id: its first alert's, which is a lone alert's own. */
  readonly flood: string;
  readonly severity: number;
  readonly first: number;
  readonly last: number;
  readonly n: number;
}

/** panelOrder orders the panel's lines: the more severe flood, then the later last unread alert, then the greater flood id. */
function panelOrder(a: FloodFigures, b: FloodFigures): number {
  if (a.severity !== b.severity) return b.severity - a.severity;
  if (a.last !== b.last) return b.last - a.last;
  return a.flood < b.flood ? 1 : a.flood > b.flood ? -1 : 0;
}

/** The first page of a severity's walk; each next one is twice as long, up to WALK_PAGE_MAX. */
const WALK_PAGE = 64;
const WALK_PAGE_MAX = 4096;
/** At most this many floods' figures are read by one statement. */
const FIGURES_PER_QUERY = 64;

/** An unread alert as the panel's walks read it. */
interface WalkedAlert {
  readonly id: string;
  readonly group_id: string | null;
  readonly severity: number | string;
  readonly created_at: number | string;
}

/**
 * panelAlerts gives the bell panel: at most five unread floods, most severe first, then newest
 * (the flood's last unread alert); a robot flapping 500 times is one line with count 500.
 *
 * It reads a severity at a time, most severe first, from alerts_tenant_severity, so that the
 * floods of one level are found without grouping every unread alert of the tenant (a reader who
 * never read anything has a million in a big tenant: 8.5 s on SQLite). See levelLines.
 */
export async function panelAlerts(db: Db, tenantId: string, reader: Reader): Promise<PanelEntry[]> {
  const known = new Map<string, FloodFigures>();
  const lines: FloodFigures[] = [];
  for (let severity = SEVERITIES.length - 1; severity >= 0 && lines.length < PANEL_SIZE; severity--) {
    lines.push(...(await levelLines(db, tenantId, reader, severity, PANEL_SIZE - lines.length, known)));
  }
  const entries: PanelEntry[] = [];
  for (const line of lines) {
    const leads = await Promise.all(floodLeadQueries(db, tenantId, reader, line.flood).map((query) => query.executeTakeFirst()));
    const newest = leads.reduce((best, row) => (row && (!best || leadsBefore(row, best)) ? row : best), undefined);
    if (!newest) continue;
    entries.push({ ...toStoredAlert(newest), read: false, count: line.n, firstCreatedAt: line.first, lastCreatedAt: line.last });
  }
  return entries;
}

/**
 * levelLines finds the first `need` (in panelOrder) of the floods whose most severe unread alert
 * is of rank `severity`: every such flood has an unread alert of that rank, so walking those
 * newest first finds them all, in the order of their newest alert of that rank. That is not
 * quite the panel's order, which is by the flood's last unread alert of any rank: a flood whose
 * later alerts are less severe (an Error, then Warn repeats) comes before floods met earlier in
 * the walk. So once `need` floods are found, every unread alert from the `need`th one's last on
 * is read as well (any flood that could come before it has one there), and the level's floods
 * among them are added. `known` keeps the figures read so far, for every level.
 */
async function levelLines(db: Db, tenantId: string, reader: Reader, severity: number, need: number, known: Map<string, FloodFigures>): Promise<FloodFigures[]> {
  const level = new Map<string, FloodFigures>();
  const take = async (rows: readonly WalkedAlert[]) => {
    await learnFigures(db, tenantId, reader, rows, known);
    for (const row of rows) {
      const figures = known.get(row.group_id ?? row.id)!;
      if (figures.severity === severity) level.set(figures.flood, figures);
    }
  };
  let after: ListPosition | undefined;
  for (let size = WALK_PAGE; ; size = Math.min(2 * size, WALK_PAGE_MAX)) {
    const rows = await unreadOfSeverity(db, tenantId, reader, severity, size, after);
    await take(rows);
    // The walk ended: every flood of this level is found.
    if (rows.length < size) return firstLines(level, need);
    if (level.size >= need) break;
    const last = rows[rows.length - 1]!;
    after = { createdAt: Number(last.created_at), id: last.id };
  }
  await take(await unreadSince(db, tenantId, reader, firstLines(level, need)[need - 1]!.last));
  return firstLines(level, need);
}

/** firstLines is the first `need` of a level's floods in panelOrder. */
function firstLines(level: ReadonlyMap<string, FloodFigures>, need: number): FloodFigures[] {
  return [...level.values()].sort(panelOrder).slice(0, need);
}

/** unreadOfSeverity reads a page of the reader's unread alerts of one rank, newest first, after `after`: alerts_tenant_severity alone. */
async function unreadOfSeverity(
  db: Db,
  tenantId: string,
  reader: Reader,
  severity: number,
  limit: number,
  after: ListPosition | undefined,
): Promise<WalkedAlert[]> {
  const rows = await readStateQuery(db, tenantId, reader)
    .select(['a.id', 'a.group_id', 'a.created_at'])
    .where(bySeverity('a.severity'), '=', -severity)
    .where(isUnreadCondition(reader))
    .$if(after !== undefined, (q) => q.where(olderThan(after!)))
    .orderBy('a.created_at', 'desc')
    .orderBy('a.id', 'desc')
    .limit(limit)
    .execute();
  // The severity is the one asked: not selected, so that no row is read for it.
  return rows.map((row) => ({ ...row, severity }));
}

/** unreadSince reads the reader's unread alerts created at or after `since`, of any rank. */
function unreadSince(db: Db, tenantId: string, reader: Reader, since: number): Promise<WalkedAlert[]> {
  return readStateQuery(db, tenantId, reader)
    .select(['a.id', 'a.group_id', 'a.severity', 'a.created_at'])
    .where('a.created_at', '>=', since)
    .where(isUnreadCondition(reader))
    .execute();
}

/**
 * learnFigures adds to `known` the figures of the floods of `rows` not in it yet: a lone alert's
 * from its row, a flood's read by its group id from alerts_tenant_group, FIGURES_PER_QUERY at a time.
 */
async function learnFigures(db: Db, tenantId: string, reader: Reader, rows: readonly WalkedAlert[], known: Map<string, FloodFigures>): Promise<void> {
  const groups = new Set<string>();
  for (const row of rows) {
    if (row.group_id !== null) {
      if (!known.has(row.group_id)) groups.add(row.group_id);
      continue;
    }
    const at = Number(row.created_at);
    known.set(row.id, { flood: row.id, severity: Number(row.severity), first: at, last: at, n: 1 });
  }
  const all = [...groups];
  for (let i = 0; i < all.length; i += FIGURES_PER_QUERY) {
    const rows = await readStateQuery(db, tenantId, reader)
      .where(isUnreadCondition(reader))
      .where('a.group_id', 'in', inListOf(all.slice(i, i + FIGURES_PER_QUERY)))
      .select((eb) => [
        'a.group_id',
        eb.fn.max('a.severity').as('severity'),
        eb.fn.min('a.created_at').as('first'),
        eb.fn.max('a.created_at').as('last'),
        eb.fn.countAll<number | string>().as('n'),
      ])
      .groupBy('a.group_id')
      .execute();
    for (const row of rows) {
      const flood = row.group_id!;
      known.set(flood, { flood, severity: Number(row.severity), first: Number(row.first), last: Number(row.last), n: Number(row.n) });
    }
  }
}

/**
 * floodLeadQueries read a flood's lead unread alert (the most severe, then the newest): the alert
 * whose id names the flood (a lone alert, or a flood's first) by its primary key, and the flood's
 * repeats by alerts_tenant_group; the panel takes the first of their answers (leadsBefore). One
 * query with an `or` of both read every unread alert of the tenant on SQLite, for each panel line.
 */
export function floodLeadQueries(db: Db, tenantId: string, reader: Reader, flood: string) {
  const unread = () => readStateQuery(db, tenantId, reader).selectAll('a').where(isUnreadCondition(reader));
  return [
    unread().where('a.id', '=', flood).limit(1),
    unread().where('a.group_id', '=', flood).orderBy('a.severity', 'desc').orderBy('a.created_at', 'desc').orderBy('a.id', 'desc').limit(1),
  ];
}

/** leadsBefore orders two alerts as a panel line's lead is chosen: the more severe, then the newer, then the greater id. */
function leadsBefore(a: { severity: number; created_at: number; id: string }, b: { severity: number; created_at: number; id: string }): boolean {
  if (a.severity !== b.severity) return Number(a.severity) > Number(b.severity);
  if (a.created_at !== b.created_at) return Number(a.created_at) > Number(b.created_at);
  return a.id > b.id;
}
