import { CompiledQuery, type Kysely, PostgresAdapter, type RawBuilder, type Selectable, type SqlBool, sql } from 'kysely';
import { newId } from '../shared/ids.js';
import type { Database, Db } from '../storage/database.js';
import { StorageRejectedError } from '../storage/errors.js';
import { serverPrepared } from '../storage/pg-prepared.js';
import { inListOf, sqlOnce } from '../storage/sql-once.js';
import type { NewAlert } from './input.js';
import { type AlertKind, type CommittedKinds, HOUR_MS, type HourRun, alertKinds, narrowsKinds, recordKindHours, walkKindHours } from './kind-hours.js';
import { floodLockName, lockResolutions } from './resolution-locks.js';
import { type Reader, isReadExpression, isUnreadCondition, readStateQuery } from './read-state.js';
import { type Severity, severityOfRank, severityRank } from './severity.js';
import { SOURCE_FILTER_PARTS, type SourceFilterPart, sourcePart } from './source-parts.js';
import type { AlertTables } from './tables.js';

/** DEFAULT_FLOOD_WINDOW_MS: repeats of a dedup key at most this far apart are one flood (one line). */
export const DEFAULT_FLOOD_WINDOW_MS = 10 * 60_000;

/** AlertRow is an alert as stored. */
export type AlertRow = Selectable<AlertTables['alerts']>;

/** StoredAlert is an alert as the domain sees it: names, parsed JSON, epoch-ms times. */
export interface StoredAlert {
  readonly id: string;
  readonly severity: Severity;
  readonly component: string;
  readonly event: string;
  readonly message: string;
  readonly data: Record<string, unknown> | null;
  readonly source: Record<string, string> | null;
  readonly folder: string | null;
  readonly dedupKey: string | null;
  /** The flood this alert belongs to (the id of its first alert); its own id when alone. */
  readonly groupId: string;
  readonly occurredAt: number;
  readonly createdAt: number;
}

/** toStoredAlert maps a row to the domain's shape. */
export function toStoredAlert(row: AlertRow): StoredAlert {
  return {
    id: row.id,
    severity: severityOfRank(row.severity),
    component: row.component,
    event: row.event,
    message: row.message,
    data: row.data === null ? null : (JSON.parse(row.data) as Record<string, unknown>),
    source: row.source === null ? null : (JSON.parse(row.source) as Record<string, string>),
    folder: row.folder,
    dedupKey: row.dedup_key,
    groupId: row.group_id ?? row.id,
    occurredAt: Number(row.occurred_at),
    createdAt: Number(row.created_at),
  };
}

/**
 * insertAlerts stores a batch in one transaction and one multi-row insert, and returns the ids once
 * committed. See writeAlerts for how floods are grouped.
 */
export async function insertAlerts(
  db: Kysely<Database>,
  tenantId: string,
  alerts: readonly NewAlert[],
  now: number,
  floodWindowMs = DEFAULT_FLOOD_WINDOW_MS,
): Promise<string[]> {
  return db.transaction().execute((tx) => writeAlerts(tx, tenantId, alerts, now, floodWindowMs));
}

/**
 * writeAlerts stores a batch with one multi-row insert inside the caller's transaction. An alert
 * with a dedup key joins the flood of that key's last alert when that one is less than
 * `floodWindowMs` old, else starts a new flood (sliding: a robot flapping all day is one flood).
 * A Success resolves its key's flood (it joins it, and so do repeats of the Success), and the
 * next alert of the key that is not a Success starts a new one: a failure after the resolution is
 * a new incident, with its own immediate email and line.
 * On PostgreSQL it first takes the alerts' resolution locks (resolution-locks.ts), after the floor's
 * when the caller read it, unless `options.resolutionsLocked` says the transaction took them already.
 * Fatal alerts are also stored as undecided, unless `options.undecided` is false or
 * `options.news` calls them history (stored decided: listed and reported, never emailed at once).
 * Its arguments are writeAlertsTelling's: (tx, tenantId, alerts, now, floodWindowMs, options).
 */
export async function writeAlerts(...args: Parameters<typeof writeAlertsTelling>): Promise<string[]> {
  return (await writeAlertsTelling(...args)).ids;
}

/** WriteOptions are writeAlerts' options: see there. */
export interface WriteOptions {
  readonly undecided?: boolean;
  readonly news?: (alert: NewAlert) => boolean;
  /** The transaction took these alerts' resolution locks as it began (resolution-locks.ts; the group commit does), after the floor's. */
  readonly resolutionsLocked?: boolean;
  /** The kinds this process's commits wrote for the hour (the group commit's): only the others are written. */
  readonly committedKinds?: CommittedKinds;
}

/** WrittenAlerts is what writeAlertsTelling stored, and what its insert read on the way. */
export interface WrittenAlerts {
  /** The ids of the alerts, in their order. */
  readonly ids: string[];
  /**
   * Whether the tenant's alert emails are on (tenant_mail_settings), as read by the insert's own
   * statement in the caller's transaction (PostgreSQL); undefined where not read (SQLite).
   */
  readonly mailing: boolean | undefined;
  /** The kinds it wrote for the hour of `now` (kind-hours.ts), for options.committedKinds to remember once committed. */
  readonly kinds: readonly AlertKind[];
}

/**
 * writeAlertsTelling is writeAlerts that also says whether the tenant's alert emails are on, read
 * in its insert's statement on PostgreSQL: the ingest's decision of the commit's Fatal alerts
 * needs it first, and a statement of its own for it was one more round trip in every group commit.
 */
export async function writeAlertsTelling(
  tx: Db,
  tenantId: string,
  alerts: readonly NewAlert[],
  now: number,
  floodWindowMs = DEFAULT_FLOOD_WINDOW_MS,
  options: WriteOptions = {},
): Promise<WrittenAlerts> {
  const ids = alerts.map(() => newId());
  const postgres = tx.getExecutor().adapter instanceof PostgresAdapter;
  // Each alert with a dedup key gets its flood: the one its key's last alert belongs to, else its own.
  const groups: (string | null)[] = new Array(alerts.length).fill(null);
  const keys = new Set<string>();
  for (const a of alerts) if (a.dedupKey !== null) keys.add(a.dedupKey);
  if (keys.size > 0) {
    if (!options.resolutionsLocked) await lockResolutions(tx, tenantId, alerts);
    const found = await currentFloods(tx, tenantId, [...keys], now - floodWindowMs);
    if (postgres) {
      // A key whose flood is missing or past half its window may be started anew by another commit
      // at the same time: those are locked and looked at again (see lockFloods). A flood fresher
      // than that can only be joined, unless a commit lasted half a flood window (5 minutes by default):
      // a Success of its key that another commit stores is committed by now (the resolution locks).
      // So may a resolved flood's key: its next failure starts a new one.
      const unsure = [...keys].filter((key) => {
        const flood = found.get(key);
        return !flood || flood.resolved || flood.lastAt < now - floodWindowMs / 2;
      });
      if (unsure.length > 0) {
        await lockFloods(tx, tenantId, unsure);
        const again = await currentFloods(tx, tenantId, unsure, now - floodWindowMs);
        for (const key of unsure) {
          const flood = again.get(key);
          if (flood) found.set(key, flood);
          else found.delete(key);
        }
      }
    }
    const floods = new Map([...found].map(([key, flood]) => [key, { groupId: flood.groupId, resolved: flood.resolved }]));
    alerts.forEach((a, i) => {
      if (a.dedupKey === null) return;
      const resolved = a.severity === 'Success';
      const flood = floods.get(a.dedupKey);
      const group = flood && (resolved || !flood.resolved) ? flood.groupId : ids[i]!;
      groups[i] = group;
      floods.set(a.dedupKey, { groupId: group, resolved });
    });
  }
  let mailing: boolean | undefined;
  const all = alertKinds(alerts);
  const kinds = options.committedKinds?.unknown(tenantId, now, all) ?? all;
  if (postgres) {
    mailing = await insertColumns(tx, tenantId, alerts, ids, groups, now, kinds);
  } else {
    await insertRows(tx, tenantId, alerts, ids, groups, now);
    await recordKindHours(tx, tenantId, kinds, now);
  }
  // Committed with the alerts, so a Fatal alert's immediate email is decided even if the
  // process dies before its decider hears of it (the decider's sweep finds the row). Not when
  // the caller decides them in this same transaction (`undecided: false`).
  if (options.undecided !== false) {
    const fatal: string[] = [];
    alerts.forEach((a, i) => {
      if (a.severity === 'Fatal' && (options.news?.(a) ?? true)) fatal.push(ids[i]!);
    });
    let start = 0;
    for (const count of insertChunks(fatal.length)) {
      const params: unknown[] = [];
      for (let i = start; i < start + count; i++) params.push(fatal[i], tenantId, now);
      await tx.executeQuery(CompiledQuery.raw(insertSql(tx, 'undecided_fatal_alerts', UNDECIDED_COLUMNS, count), params));
      start += count;
    }
  }
  return { ids, mailing, kinds };
}

/**
 * insertRows inserts alerts with multi-row VALUES statements (SQLite): the parameters row after
 * row, in ALERT_COLUMNS' order, built without a row object each, in statements of the sizes
 * insertChunks gives.
 */
async function insertRows(tx: Db, tenantId: string, alerts: readonly NewAlert[], ids: readonly string[], groups: readonly (string | null)[], now: number) {
  let start = 0;
  for (const count of insertChunks(alerts.length)) {
    const end = start + count;
    const params: unknown[] = [];
    for (let i = start; i < end; i++) {
      const a = alerts[i]!;
      params.push(
        ids[i],
        tenantId,
        severityRank(a.severity),
        a.component,
        a.event,
        a.message,
        a.data,
        a.source,
        a.folder,
        a.dedupKey,
        groups[i],
        a.occurredAt ?? now,
        now,
      );
    }
    await tx.executeQuery(CompiledQuery.raw(insertSql(tx, 'alerts', ALERT_COLUMNS, count), params));
    start = end;
  }
}

type AlertColumn = keyof AlertTables['alerts'];
/** The insert's columns, in the order of its parameters (row after row). */
const ALERT_COLUMNS: readonly AlertColumn[] = [
  'id',
  'tenant_id',
  'severity',
  'component',
  'event',
  'message',
  'data',
  'source',
  'folder',
  'dedup_key',
  'group_id',
  'occurred_at',
  'created_at',
];
const UNDECIDED_COLUMNS = ['alert_id', 'tenant_id', 'created_at'] as const;
/** The most rows of one multi-row insert; 128 × 13 parameters is far inside SQLite's 32,766. */
const INSERT_ROWS = 128;

/**
 * insertChunks splits `n` rows into statements of INSERT_ROWS rows and a remainder in powers of
 * two (300 = 128 + 128 + 32 + 8 + 4), so a table's insert has eight shapes, each compiled and
 * prepared once per process. One statement of exactly the commit's size, as before, had a new
 * shape for most group commits (any sum of the batches queued meanwhile): each compiled by Kysely
 * and prepared by SQLite inside the commit (183 ms of the 2.3 CPU-s of a 50,000-alert bench:ingest
 * run), and kept prepared, thousands of parameters each, up to the connection's thousand statements.
 * Statements of 25 to 400 rows cost about the same per row (6.5–8.7 µs in a bare loop).
 */
export function insertChunks(n: number): number[] {
  const sizes: number[] = [];
  let left = n;
  while (left >= INSERT_ROWS) {
    sizes.push(INSERT_ROWS);
    left -= INSERT_ROWS;
  }
  for (let size = INSERT_ROWS / 2; size >= 1; size /= 2) {
    if (left >= size) {
      sizes.push(size);
      left -= size;
    }
  }
  return sizes;
}

/**
 * insertColumnsSql inserts any number of alerts of one tenant on PostgreSQL, one array per
 * column: one SQL text for every batch size, so it is prepared once per connection
 * (serverPrepared) where a VALUES list of N rows would be parsed and planned on every commit. The
 * arrays are unnested in the select list, in step (they are of one length), not in FROM: there a
 * function scan copied every row into a tuplestore before the insert read it (ROWS FROM, 7 % of
 * the backends' samples under the ingest); in the select list each row goes straight to the insert.
 * The statement answers one row: whether the tenant was there (all the alerts are stored, else
 * none) and whether its alert emails are on (see writeAlertsTelling). With `kinds`, it also writes
 * the commit's kinds for its hour ($14-$16); without, a commit whose kinds its process has
 * committed this hour (CommittedKinds, nearly every one) runs the statement as it was before them.
 */
function insertColumnsSql(kinds: boolean): string {
  return serverPrepared(
    // The tenant's row is locked once for the statement (FOR KEY SHARE, what a foreign key's check
    // took per row: deleteTenant waits for this transaction); a tenant gone inserts no row.
    'with tenant as (select id from tenants where id = $2::text for key share), ' +
      `stored as (insert into alerts (${ALERT_COLUMNS.join(', ')}) ` +
      'select unnest($1::text[]), $2::text, unnest($4::integer[]), unnest($5::text[]), unnest($6::text[]), unnest($7::text[]), ' +
      'unnest($8::text[]), unnest($9::text[]), unnest($10::text[]), unnest($11::text[]), unnest($12::text[]), unnest($13::bigint[]), $3::bigint ' +
      'where exists (select 1 from tenant)) ' +
      // The commit's kinds for its hour (kind-hours.ts) that no committed row has: no unique index, so no
      // wait for another commit under way that writes the same (the migration), only a rare duplicate.
      (kinds
        ? ', hours as (insert into alert_kind_hours (tenant_id, hour, severity, component, event) ' +
          `select $2::text, $3::bigint / ${HOUR_MS}, k.severity, k.component, k.event ` +
          'from (select unnest($14::integer[]) as severity, unnest($15::text[]) as component, unnest($16::text[]) as event) as k ' +
          'where exists (select 1 from tenant) and not exists (select 1 from alert_kind_hours as h where h.tenant_id = $2::text ' +
          `and h.hour = $3::bigint / ${HOUR_MS} and h.severity = k.severity and h.component = k.component and h.event = k.event)) `
        : '') +
      'select exists (select 1 from tenant) as stored, ' +
      'exists (select 1 from tenant_mail_settings where tenant_id = $2::text and alerts_email_enabled = 1) as mailing',
  );
}
const INSERT_COLUMNS_SQL = insertColumnsSql(false);
const INSERT_COLUMNS_AND_KINDS_SQL = insertColumnsSql(true);

/**
 * insertColumns inserts alerts with insertColumnsSql's statements (PostgreSQL): the parameters column by
 * column. It returns whether the tenant's alert emails are on, as the statement read it.
 */
async function insertColumns(
  tx: Db,
  tenantId: string,
  alerts: readonly NewAlert[],
  ids: readonly string[],
  groups: readonly (string | null)[],
  now: number,
  kinds: readonly AlertKind[],
): Promise<boolean> {
  const n = alerts.length;
  const severity: number[] = new Array(n);
  const component: string[] = new Array(n);
  const event: string[] = new Array(n);
  const message: string[] = new Array(n);
  const data: (string | null)[] = new Array(n);
  const source: (string | null)[] = new Array(n);
  const folder: (string | null)[] = new Array(n);
  const dedupKey: (string | null)[] = new Array(n);
  const occurredAt: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const a = alerts[i]!;
    severity[i] = severityRank(a.severity);
    component[i] = a.component;
    event[i] = a.event;
    message[i] = a.message;
    data[i] = a.data;
    source[i] = a.source;
    folder[i] = a.folder;
    dedupKey[i] = a.dedupKey;
    occurredAt[i] = a.occurredAt ?? now;
  }
  const texts = [ids, component, event, message, data, source, folder, dedupKey, groups].map(textArray);
  const params = [texts[0], tenantId, now, `{${severity.join(',')}}`, ...texts.slice(1), `{${occurredAt.join(',')}}`];
  if (kinds.length > 0)
    params.push(`{${kinds.map((k) => k.severity).join(',')}}`, textArray(kinds.map((k) => k.component)), textArray(kinds.map((k) => k.event)));
  const text = kinds.length > 0 ? INSERT_COLUMNS_AND_KINDS_SQL : INSERT_COLUMNS_SQL;
  const { rows } = await tx.executeQuery<{ stored: boolean; mailing: boolean }>(CompiledQuery.raw(text, params));
  // No foreign key on PostgreSQL (migration 20261130-97): refused as the constraint would have.
  if (n > 0 && !rows[0]?.stored) throw new StorageRejectedError('ingest', 'foreign-key', new Error('the tenant of these alerts no longer exists'));
  return rows[0]?.mailing === true;
}

/** The OID of PostgreSQL's text type, the element type of textArray's arrays. */
const TEXT_OID = 25;

/**
 * textArray writes an array of texts in PostgreSQL's binary format (pg sends a Buffer parameter as
 * binary): a header, then each element's length (-1 for null) and UTF-8 bytes. The backend reads it
 * with array_recv, a length and a copy per element, where an array literal was scanned twice
 * character by character (array_in, quotes and escapes; 8.6 % of the backend's samples under the
 * ingest's insert) and each element parsed again by textin. The buffer is sized for the worst case
 * (3 bytes per UTF-16 unit) so that each text is encoded once, its length written after it.
 */
export function textArray(values: readonly (string | null)[]): Buffer {
  let most = 20 + 4 * values.length;
  let hasNull = false;
  // == null: a field left undefined is stored NULL, as pg writes undefined.
  for (const v of values) {
    if (v == null) hasNull = true;
    else most += 3 * v.length;
  }
  const out = Buffer.allocUnsafe(most);
  out.writeInt32BE(1, 0); // one dimension
  out.writeInt32BE(hasNull ? 1 : 0, 4);
  out.writeInt32BE(TEXT_OID, 8);
  out.writeInt32BE(values.length, 12);
  out.writeInt32BE(1, 16); // its lower bound
  let at = 20;
  for (const v of values) {
    if (v == null) {
      out.writeInt32BE(-1, at);
      at += 4;
    } else {
      const length = out.write(v, at + 4);
      out.writeInt32BE(length, at);
      at += 4 + length;
    }
  }
  return out.subarray(0, at);
}

/**
 * insertSql is the SQL of a multi-row insert of `count` rows into `table`, compiled once per table
 * and row count (sqlOnce): building and compiling the query tree of a hundred rows cost more than
 * the insert itself.
 */
function insertSql(db: Db, table: 'alerts' | 'undecided_fatal_alerts', columns: readonly string[], count: number): string {
  return sqlOnce(db, `insert ${table} ${count}`, () => {
    const row = Object.fromEntries(columns.map((c) => [c, null]));
    return (db as Kysely<any>).insertInto(table).values(Array.from({ length: count }, () => row));
  });
}

/**
 * lockFloods takes a transaction lock on each of the tenant's dedup keys (PostgreSQL), in one order
 * whatever the commit, so that no two commits look for the same key's flood at once: without it,
 * two instances (or two commits of one) storing the first alerts of a key side by side each found
 * no flood, started one of their own, and each flood got its own immediate email. The look that
 * follows is a statement of its own, so it sees what the commit that held the lock stored.
 * A key's lock is its bucket of the tenant's (resolutionBucket), not the key itself: a group commit
 * of thousands of new keys held a lock for each until it ended, and a few such commits at once
 * (two api processes, a pull import) filled PostgreSQL's shared lock table, so that every
 * transaction needing a lock failed "out of shared memory". Two keys sharing a bucket only make a
 * commit wait for one it need not have; two commits of one tenant's hundreds of new keys always
 * share one, so they take turns (bench/hot-paths.md, rv75i). The buckets are the tenant's own, so callers storing
 * several tenants in one transaction still take them in one order: the tenants' ids'. A group commit of
 * several tenants' new keys would hold up to 1,024 of each: it takes batches only up to
 * POSTGRES_COMMITS' maxFloodLocks in all (ingest.ts).
 */
async function lockFloods(tx: Db, tenantId: string, keys: readonly string[]): Promise<void> {
  const names = new Set<string>();
  for (const key of keys) names.add(floodLockName(tenantId, key));
  await tx.executeQuery(CompiledQuery.raw(LOCK_FLOODS_SQL, [[...names]]));
}

/** lockFloods' statement: one text whatever the number of keys, prepared once per connection (it runs in many group commits). */
const LOCK_FLOODS_SQL = serverPrepared(
  'select count(pg_advisory_xact_lock(h)) from (select distinct hashtextextended(n, 0) as h from unnest($1::text[]) as n order by h) as ordered',
);

/** The rank of a Success, the severity that resolves a flood. */
const RESOLVED = severityRank('Success');

/** At most this many probes a query: a power of two (see currentFloods) within SQLite's 500 terms of a compound select. */
const FLOOD_PROBES_PER_QUERY = 256;

/** A flood as currentFloods finds it: the flood of its key's newest alert, when that came, and whether it resolved it. */
type CurrentFlood = { groupId: string; lastAt: number; resolved: boolean };

/** A row of currentFloods' queries: a key's newest alert since the time asked. */
type FloodRow = { dedup_key: string; group_id: string | null; created_at: number | string; severity: number };

/**
 * Above this many keys, PostgreSQL probes them with FLOODS_BY_KEYS_SQL. In a bare loop of prepared
 * probes (backend CPU-µs a statement, 6 rounds at load 12-21): 2 keys 70-90 as a union, 160-220
 * that way; 10 keys (a union of 16) 340-420 against 220-270; 40 (of 64) 1,500-2,260 against 810-1,230.
 */
const FEW_FLOOD_KEYS = 8;

/**
 * FLOODS_BY_KEYS_SQL probes any number of keys on PostgreSQL with one plan: a backward walk of
 * alerts_tenant_dedup per key, rescanned for each element of the array. The union of one probe per
 * key (floodsSql) starts a scan of its own for each, and sends three parameters for each of the
 * keys, padded to a power of two; past a few keys that costs both sides more than the rescans.
 */
const FLOODS_BY_KEYS_SQL = serverPrepared(
  'select k.key as dedup_key, f.group_id, f.created_at, f.severity from unnest($2::text[]) as k(key) cross join lateral ' +
    '(select group_id, created_at, severity from alerts where tenant_id = $1::text and dedup_key = k.key and created_at >= $3::bigint ' +
    'order by created_at desc, id desc limit 1) as f',
);

/**
 * currentFloods finds, for each key, the flood of its last alert since `since` (by time, then id:
 * a commit's alerts share its time), and whether that alert is a Success (it resolved the flood,
 * see writeAlerts). One query of
 * per-key "newest first, limit 1" probes: each is a short backward walk of alerts_tenant_dedup,
 * however many alerts a long flood already holds; past FEW_FLOOD_KEYS on PostgreSQL, that walk
 * rescanned for each key of an array (FLOODS_BY_KEYS_SQL), else a union of one probe per key.
 */
async function currentFloods(db: Db, tenantId: string, keys: string[], since: number): Promise<Map<string, CurrentFlood>> {
  const floods = new Map<string, CurrentFlood>();
  const found = (rows: readonly FloodRow[]) => {
    for (const row of rows) {
      if (row.group_id) floods.set(row.dedup_key, { groupId: row.group_id, lastAt: Number(row.created_at), resolved: Number(row.severity) === RESOLVED });
    }
  };
  if (keys.length > FEW_FLOOD_KEYS && db.getExecutor().adapter instanceof PostgresAdapter) {
    found((await db.executeQuery<FloodRow>(CompiledQuery.raw(FLOODS_BY_KEYS_SQL, [tenantId, textArray(keys), since]))).rows);
    return floods;
  }
  // The keys of a query are padded to a power of two (a repeated probe finds the same flood), so
  // that it has nine shapes, compiled and prepared once, not one per number of keys a commit holds.
  for (let i = 0; i < keys.length; i += FLOOD_PROBES_PER_QUERY) {
    const part = inListOf(keys.slice(i, i + FLOOD_PROBES_PER_QUERY));
    found(
      (
        await db.executeQuery<FloodRow>(
          CompiledQuery.raw(
            floodsSql(db, part.length),
            part.flatMap((key) => [tenantId, key, since]),
          ),
        )
      ).rows,
    );
  }
  return floods;
}

/** floodsSql is currentFloods' query for `count` keys, compiled once per count (it runs in every group commit). */
function floodsSql(db: Db, count: number): string {
  // Named columns: safe to prepare on PostgreSQL, where it is parsed and planned once per connection.
  return serverPrepared(
    sqlOnce(db, `floods ${count}`, () => {
      const probe = sql`select * from (select dedup_key, group_id, created_at, severity from alerts where tenant_id = ${''} and dedup_key = ${''} and created_at >= ${0} order by created_at desc, id desc limit 1) as newest`;
      const query = sql.join(
        Array.from({ length: count }, () => probe),
        sql` union all `,
      );
      return { compile: () => query.compile(db) };
    }),
  );
}

/** AlertFilter narrows a list of alerts; every field optional. */
export interface AlertFilter {
  /** That severity and every one above it. */
  readonly minSeverity?: Severity | undefined;
  readonly component?: string | undefined;
  readonly event?: string | undefined;
  readonly unreadOnly?: boolean | undefined;
  /** Created at or after (epoch ms). */
  readonly since?: number | undefined;
  /** Created before (epoch ms). */
  readonly until?: number | undefined;
  /** Only the alerts of this flood. */
  readonly groupId?: string | undefined;
  /** Only the alerts whose source has these parts (what the email's "what failed" groups link to). */
  readonly source?: { readonly [K in SourceFilterPart]?: string | undefined } | undefined;
}

/** ListPosition is where a newest-first page starts: after the alert (createdAt, id). */
export interface ListPosition {
  readonly createdAt: number;
  readonly id: string;
}

/** ReadAlert is a stored alert with the reader's read state. */
export interface ReadAlert extends StoredAlert {
  readonly read: boolean;
}

/** newestAlert is where the tenant's newest alert stands in the newest-first order (listAlerts'), or undefined without one. */
export async function newestAlert(db: Db, tenantId: string): Promise<ListPosition | undefined> {
  const row = await db
    .selectFrom('alerts')
    .select(['created_at', 'id'])
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && { createdAt: Number(row.created_at), id: row.id };
}

/**
 * olderThan holds for the alerts (`a`) after `after` in the newest-first order (created_at, then id,
 * descending). Its redundant bound lets both engines start the index range at the cursor.
 */
export function olderThan(after: ListPosition): RawBuilder<SqlBool> {
  return sql<SqlBool>`(a.created_at <= ${after.createdAt} and (a.created_at < ${after.createdAt} or (a.created_at = ${after.createdAt} and a.id < ${after.id})))`;
}

/**
 * listAlerts pages through a tenant's alerts, newest first, with the reader's read state. A filter
 * on a component, an event or a severity above Info walks only the hours that hold alerts of those
 * kinds (walkKindHours), each run of hours a range of alerts_tenant_created; any other walks the
 * tenant's alerts from the newest (or the cursor) on.
 */
export async function listAlerts(
  db: Db,
  tenantId: string,
  reader: Reader,
  filter: AlertFilter,
  page: { limit: number; after?: ListPosition | undefined },
): Promise<{ items: ReadAlert[]; next: ListPosition | undefined }> {
  const want = page.limit + 1;
  const kinds = { minSeverity: filter.minSeverity && severityRank(filter.minSeverity), component: filter.component, event: filter.event };
  // A flood's alerts are found by alerts_tenant_group, whatever their kinds.
  const rows =
    filter.groupId === undefined && narrowsKinds(kinds)
      ? await walkKindHours(db, tenantId, kinds, listSpan(filter, reader, page.after), want, (run, count) =>
          listRows(db, tenantId, reader, filter, page.after, run, count),
        )
      : await listRows(db, tenantId, reader, filter, page.after, undefined, want);
  const items = rows.slice(0, page.limit).map((row) => ({ ...toStoredAlert(row), read: Number(row.is_read) === 1 }));
  const last = items[items.length - 1];
  return { items, next: rows.length > page.limit && last ? { createdAt: last.createdAt, id: last.id } : undefined };
}

/**
 * listSpan is the instants a page may list, inclusive at both ends (either open): from the newest the
 * filter and cursor allow down to `since`, or to the reader's first unread alert for unread ones (a
 * reader who read all but the last hour has that hour's runs walked, not every Fatal hour of months).
 */
export function listSpan(
  filter: Pick<AlertFilter, 'since' | 'until' | 'unreadOnly'>,
  reader: Reader,
  after: ListPosition | undefined,
): { newest?: number; oldest?: number } {
  const newest = Math.min(filter.until === undefined ? Number.POSITIVE_INFINITY : filter.until - 1, after?.createdAt ?? Number.POSITIVE_INFINITY);
  const oldest = Math.max(filter.since ?? Number.NEGATIVE_INFINITY, filter.unreadOnly ? reader.unreadFrom : Number.NEGATIVE_INFINITY);
  return { ...(Number.isFinite(newest) ? { newest } : {}), ...(Number.isFinite(oldest) ? { oldest } : {}) };
}

/** listRows reads up to `count` of the filter's alerts after the cursor, newest first, within `run` when given ([from, to)). */
async function listRows(
  db: Db,
  tenantId: string,
  reader: Reader,
  filter: AlertFilter,
  after: ListPosition | undefined,
  run: HourRun | undefined,
  count: number,
) {
  let query = readStateQuery(db, tenantId, reader).selectAll('a').select(isReadExpression(reader).as('is_read'));
  // The run's bounds first: SQLite ranges its index by the first bound of each side written, so behind
  // `since` or `until` a run of an hour was read down to `since`, or from `until` down (3 ms -> 0.2 s at a million alerts).
  if (run) query = query.where('a.created_at', '>=', run.from).where('a.created_at', '<', run.to);
  if (filter.minSeverity) query = query.where('a.severity', '>=', severityRank(filter.minSeverity));
  if (filter.component) query = query.where('a.component', '=', filter.component);
  if (filter.event) query = query.where('a.event', '=', filter.event);
  if (filter.since !== undefined) query = query.where('a.created_at', '>=', filter.since);
  if (filter.until !== undefined) query = query.where('a.created_at', '<', filter.until);
  if (filter.unreadOnly) query = query.where(isUnreadCondition(reader));
  for (const part of SOURCE_FILTER_PARTS) {
    const value = filter.source?.[part];
    if (value !== undefined) query = query.where(sourcePart(db, part, 'a'), '=', value);
  }
  const groupId = filter.groupId;
  if (groupId !== undefined) query = query.where((eb) => eb.or([eb('a.group_id', '=', groupId), eb('a.id', '=', groupId)]));
  if (after) query = query.where(olderThan(after));
  return query.orderBy('a.created_at', 'desc').orderBy('a.id', 'desc').limit(count).execute();
}

/** findAlert returns one of the tenant's alerts as the reader sees it, or undefined (also for another tenant's id). */
export async function findAlert(db: Db, tenantId: string, reader: Reader, id: string): Promise<ReadAlert | undefined> {
  const row = await readStateQuery(db, tenantId, reader)
    .selectAll('a')
    .select(isReadExpression(reader).as('is_read'))
    .where('a.id', '=', id)
    .executeTakeFirst();
  return row ? { ...toStoredAlert(row), read: Number(row.is_read) === 1 } : undefined;
}

/** deleteAlert removes one of the tenant's alerts; false when there is no such alert. */
export async function deleteAlert(db: Db, tenantId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('alerts').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
