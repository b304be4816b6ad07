import { type Expression, PostgresAdapter, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { Principal } from '../access/principal.js';
import type { Kysely } from 'kysely';
import type { Database, Db } from '../storage/database.js';
import { classifyDbError } from '../storage/errors.js';
import { notSearchable } from '../storage/not-searchable.js';
import { holdTenantKey, lockTransactionOn } from '../storage/transaction-lock.js';
import { holdAlertTimeFloor, raiseAlertTimeFloorIn } from './time-floor.js';

/**
 * Reader is whose read state a query uses. Read state is per user and costs nothing until a user
 * reads: a watermark ("everything created up to T is read", none at first) plus one exception row
 * per alert the user marked against it. The host administrator, who is no user, has its own in
 * each tenant, kept alike in host_alert_read_marks and host_alert_read_state.
 */
export interface Reader {
  /** The user id, or HOST for the host administrator. */
  readonly userId: string;
  /** Alerts created at or before this epoch ms are read unless marked otherwise; -1 reads nothing. */
  readonly readThrough: number;
  /**
   * No alert created before this epoch ms is unread for the reader: the one after the watermark, or
   * the oldest alert the reader marked unread when that is older. Every query of unread alerts also
   * says `created_at >= unreadFrom`, which changes no answer but lets both engines start the
   * tenant's index range there: without it, a user who read all but the last day's alerts of a
   * year (1.5 million) had every one of them walked for each unread count, 3 s apart in the console.
   */
  readonly unreadFrom: number;
}

/** HOST is the reader and marker id of the host administrator, which no user id is (ids are UUIDs). */
const HOST = 'host';

/** readerIdOf is whose read state a caller reads and marks: its user id, or HOST. */
export function readerIdOf(principal: Principal): string {
  return principal.kind === 'host' ? HOST : principal.userId;
}

/**
 * readerFor loads the caller's watermark in the tenant (one primary-key lookup) and, when there is
 * one, the oldest alert the caller marked unread (the caller's exception rows, which markAllRead
 * keeps few).
 */
export async function readerFor(db: Db, principal: Principal, tenantId: string): Promise<Reader> {
  const userId = readerIdOf(principal);
  const mark =
    userId === HOST
      ? await db.selectFrom('host_alert_read_marks').select('read_through').where('tenant_id', '=', tenantId).executeTakeFirst()
      : await db.selectFrom('alert_read_marks').select('read_through').where('user_id', '=', userId).executeTakeFirst();
  const readThrough = Number(mark?.read_through ?? -1);
  if (readThrough < 0) return { userId, readThrough, unreadFrom: 0 };
  const marked = await exceptionsOf(db, tenantId, userId)
    .innerJoin('alerts as a', 'a.id', 'r.alert_id')
    .select((eb) => eb.fn.min('a.created_at').as('oldest'))
    .where('r.read', '=', 0)
    .executeTakeFirst();
  const oldest = marked?.oldest === null || marked?.oldest === undefined ? Number.POSITIVE_INFINITY : Number(marked.oldest);
  return { userId, readThrough, unreadFrom: Math.min(readThrough + 1, oldest) };
}

/**
 * readStateQuery starts a query on a tenant's alerts (`a`) joined with the reader's exceptions
 * (`r`); every alert read-aware query starts here so that they all agree on what "read" means.
 * With `ids`, only those alerts, looked up by the primary key (their tenant only checked: notSearchable).
 */
export function readStateQuery(db: Db, tenantId: string, reader: Pick<Reader, 'userId'>, ids?: readonly string[]) {
  const alerts = ids
    ? db.selectFrom('alerts as a').where('a.id', 'in', ids).where(notSearchable('a.tenant_id'), '=', tenantId)
    : db.selectFrom('alerts as a').where('a.tenant_id', '=', tenantId);
  const user = () => alerts.leftJoin('alert_read_state as r', (join) => join.onRef('r.alert_id', '=', 'a.id').on('r.user_id', '=', reader.userId));
  // The same columns under the same alias, but user_id, which no read-aware query reads.
  if (reader.userId === HOST) return alerts.leftJoin('host_alert_read_state as r', 'r.alert_id', 'a.id') as unknown as ReturnType<typeof user>;
  return user();
}

/** exceptionsOf reads the reader's exception rows (`r`) in the tenant: a user's, or the host administrator's there. */
function exceptionsOf(db: Db, tenantId: string, userId: string) {
  const user = () => db.selectFrom('alert_read_state as r').where('r.user_id', '=', userId);
  return userId === HOST ? (db.selectFrom('host_alert_read_state as r').where('r.tenant_id', '=', tenantId) as unknown as ReturnType<typeof user>) : user();
}

/** isReadExpression is 1 when the reader has read the alert, else 0. */
export function isReadExpression(reader: Reader): RawBuilder<number> {
  return sql<number>`case when r.read is null then (case when a.created_at <= ${reader.readThrough} then 1 else 0 end) else r.read end`;
}

/** isUnreadCondition holds for the alerts the reader has not read. */
export function isUnreadCondition(reader: Reader): Expression<SqlBool> {
  return sql<SqlBool>`(a.created_at >= ${reader.unreadFrom} and (r.read = 0 or (r.read is null and a.created_at > ${reader.readThrough})))`;
}

/** unreadCountQuery is unreadCount's statement: the tenant's alerts the reader has not read, counted as `n`. */
export function unreadCountQuery(db: Db, tenantId: string, reader: Reader) {
  return readStateQuery(db, tenantId, reader)
    .where(isUnreadCondition(reader))
    .select((eb) => eb.fn.countAll<number>().as('n'));
}

/**
 * unreadCount counts the tenant's alerts the reader has not read, or no further than `limit`: the
 * bell, which shows 999+ past 999, asks for 1,000, and both engines stop reading the tenant's index
 * there instead of walking every unread alert (tens of thousands) every 3 s of each open console.
 */
export async function unreadCount(db: Db, tenantId: string, reader: Reader, limit?: number): Promise<number> {
  if (limit === undefined) return Number((await unreadCountQuery(db, tenantId, reader).executeTakeFirstOrThrow()).n);
  const firstUnread = readStateQuery(db, tenantId, reader).where(isUnreadCondition(reader)).select(sql<number>`1`.as('one')).limit(limit);
  const row = await db
    .selectFrom(firstUnread.as('u'))
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** AlertSelection names alerts by id and whole floods by group id (a panel line's `groupId`). */
export interface AlertSelection {
  readonly ids?: readonly string[] | undefined;
  readonly groupIds?: readonly string[] | undefined;
}

/**
 * markAlerts sets the reader's read state (a user id, or HOST) of some of the tenant's alerts: those
 * named, and every alert of the floods named, so that a panel line "×500" is marked with one click.
 * Ids of other tenants' alerts, or of no alert, are ignored.
 */
export async function markAlerts(db: Kysely<Database>, tenantId: string, userId: string, selection: AlertSelection, read: boolean): Promise<void> {
  const ids = [...new Set(selection.ids ?? [])];
  const groupIds = [...new Set(selection.groupIds ?? [])];
  if (ids.length === 0 && groupIds.length === 0) return;
  const flag = read ? 1 : 0;
  // The alerts named, and the floods' first alerts, by id (the tenant only checked: notSearchable);
  // the floods' repeats by alerts_tenant_group. With the tenant outside the `or`, SQLite walked the
  // tenant's every alert for two ids or a flood, holding the write lock for seconds.
  const byId = [...new Set([...ids, ...groupIds])];
  const selected = db
    .selectFrom('alerts')
    .where((w) =>
      w.or([
        w.and([w('id', 'in', byId), w(notSearchable('tenant_id'), '=', tenantId)]),
        ...(groupIds.length > 0 ? [w.and([w('tenant_id', '=', tenantId), w('group_id', 'in', groupIds)])] : []),
      ]),
    );
  const write = (tx: Db) =>
    userId === HOST
      ? tx
          .insertInto('host_alert_read_state')
          .columns(['alert_id', 'tenant_id', 'read'])
          .expression(selected.select((eb) => ['id', 'tenant_id', eb.val(flag).as('read')]))
          .onConflict((oc) => oc.column('alert_id').doUpdateSet({ read: flag }))
          .execute()
      : tx
          .insertInto('alert_read_state')
          .columns(['user_id', 'alert_id', 'tenant_id', 'read'])
          .expression(selected.select((eb) => [eb.val(userId).as('user_id'), 'id', 'tenant_id', eb.val(flag).as('read')]))
          .onConflict((oc) => oc.columns(['user_id', 'alert_id']).doUpdateSet({ read: flag }))
          .execute();
  const mark = () =>
    db.transaction().execute(async (tx) => {
      await lockReadState(tx, tenantId, userId);
      await holdReader(tx, userId);
      await write(tx);
    });
  try {
    await mark();
  } catch (err) {
    // An alert named was deleted between the statement's read and its write (PostgreSQL; SQLite
    // writes one at a time): marked again, the ids of no alert are left out as always.
    if (classifyDbError(err) !== 'foreign-key') throw err;
    await mark();
  }
}

/**
 * lockReadState makes the transaction `tx` the only one writing the reader's read state in the
 * tenant until it ends (PostgreSQL; SQLite writes one at a time). Each mark writes the reader's rows
 * in the order its plan meets them (markAllRead's delete in the table's, markAlerts' upsert in the
 * alerts'), so two marks of one reader sent at once (the bell and the Alerts page, a script, two
 * api processes) could each hold a row the other waited for, and PostgreSQL cancelled one of them
 * as a deadlock: a 503 for a click. Other readers' rows are others, so they do not wait.
 */
async function lockReadState(tx: Db, tenantId: string, userId: string): Promise<void> {
  await lockTransactionOn(tx, `alert read state ${tenantId} ${userId}`);
}

/**
 * holdReader takes the reader's key, as its rows' foreign keys will (PostgreSQL): a user deleted
 * meanwhile is waited for here, holding nothing it writes. Taken later, by the check of a row the
 * mark had already written (the watermark, moved twice), it waited on the deletion while the
 * deletion's cascade waited on that row, and PostgreSQL aborted one of them (a 503).
 */
async function holdReader(tx: Db, userId: string): Promise<void> {
  if (userId !== HOST && tx.getExecutor().adapter instanceof PostgresAdapter) {
    await tx.selectFrom('users').select('id').where('id', '=', userId).forKeyShare().execute();
  }
}

/**
 * markAllRead moves the reader's watermark (a user id, or HOST) to `now` and drops the exceptions it
 * makes moot, so a reader's read state stays one row however many alerts the tenant has. The watermark marks the
 * alerts stored when it is set, and no later one: an alert's created_at is taken when its
 * transaction begins, so the mark waits for the transactions under way to end (on PostgreSQL one
 * stamped before `now` used to commit after the answer, below the watermark: read unseen), reaches
 * up to the newest alert they stored, and raises the time floor above it for the next ones.
 */
export async function markAllRead(db: Kysely<Database>, tenantId: string, userId: string, now: number): Promise<void> {
  await db.transaction().execute(async (tx) => {
    // Before the floor, which markAlerts never takes: the two locks are always taken in this order.
    await lockReadState(tx, tenantId, userId);
    await holdAlertTimeFloor(tx);
    // The reader's key once the floor is held, not while waiting for it: a commit storing alerts holds
    // the floor and waits on its tenant's row, which a tenant's deletion holds while its cascade waits
    // on this user's key, so holding the key here closed the circle (DELETE /tenants answered 503).
    // The tenant's key before it, as the watermark's row will check it: taken after the user's, the
    // mark held the user's key while waiting on the deletion holding the tenant's (a 503 again).
    await holdTenantKey(tx, tenantId);
    await holdReader(tx, userId);
    // The first write: on SQLite it takes the write lock before the alerts are read.
    const setMark = (through: number) =>
      userId === HOST
        ? tx
            .insertInto('host_alert_read_marks')
            .values({ tenant_id: tenantId, read_through: through })
            .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ read_through: through }))
            .execute()
        : tx
            .insertInto('alert_read_marks')
            .values({ user_id: userId, tenant_id: tenantId, read_through: through })
            .onConflict((oc) => oc.column('user_id').doUpdateSet({ read_through: through }))
            .execute();
    await setMark(now);
    const newest = await tx
      .selectFrom('alerts')
      .select((eb) => eb.fn.max('created_at').as('at'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    const through = Math.max(now, Number(newest?.at ?? 0));
    if (through > now) await setMark(through);
    await raiseAlertTimeFloorIn(tx, through + 1);
    const moot = tx.selectFrom('alerts').select('id').where('tenant_id', '=', tenantId).where('created_at', '<=', through);
    if (userId === HOST) await tx.deleteFrom('host_alert_read_state').where('tenant_id', '=', tenantId).where('alert_id', 'in', moot).execute();
    else await tx.deleteFrom('alert_read_state').where('user_id', '=', userId).where('alert_id', 'in', moot).execute();
  });
}
