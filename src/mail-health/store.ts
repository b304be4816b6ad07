import { CompiledQuery, type Selectable } from 'kysely';
import type { Unreached } from '../delivery/contract.js';
import { FALLBACK_NOTE } from '../delivery/outbox/attempt.js';
import { retryTenantAfterOutage, retryTenantBy, retryTenantNow } from '../delivery/outbox/leases.js';
import type { HeldOut } from '../delivery/outbox/admission.js';
import type { AfterRecord } from '../delivery/outbox/outcomes.js';
import type { Storage } from '../storage/storage.js';
import type { MailSettingsTables } from '../settings/tables.js';
import type { Db } from '../storage/database.js';
import type { Dialect } from '../storage/dialect.js';
import { inListOf, sqlOnce } from '../storage/sql-once.js';
import { type ClaimedTransition, type NoticeContext, reportTransitions, sendMailHealthNotices } from './notices.js';
import {
  FAILING_AFTER_MS,
  HEALTHY,
  type MailHealth,
  type MailHealthObservation,
  type MailHealthSignal,
  type MailHealthTransition,
  nextHealth,
} from './model.js';

type Row = Selectable<MailSettingsTables['tenant_mail_health']>;

function fromRow(row: Row | undefined): MailHealth {
  if (!row) return HEALTHY;
  return {
    state: row.state === 'failing' ? 'failing' : 'ok',
    since: row.since === null ? null : Number(row.since),
    lastCode: row.last_code,
    lastError: row.last_error,
    permanent: row.permanent === 1,
    transientSince: row.transient_since === null ? null : Number(row.transient_since),
    incident: row.incident,
  };
}

/** getMailHealth reads a tenant's mail health; a tenant never observed is healthy. */
export async function getMailHealth(db: Db, tenantId: string): Promise<MailHealth> {
  return fromRow(await db.selectFrom('tenant_mail_health').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst());
}

/** MailHealthChange is a tenant's new incident or its end, with the health after it. */
export interface MailHealthChange {
  readonly tenantId: string;
  readonly transition: MailHealthTransition;
  readonly health: MailHealth;
  readonly at: number;
  /**
   * Why no server answered the failure that started an incident, when none did: known from that
   * failure alone, as the incident starts with it (nextHealth), so it needs no column of its own.
   */
  readonly unreached?: Unreached | undefined;
}

/**
 * observeMailHealth folds observations into their tenants' health rows, in the caller's
 * transaction (the one that records the attempts), and returns the transitions, and the tenants
 * whose server took an email after transient failures too short-lived to make an incident (the
 * server is back, with no transition), and the tenants left in a run of failures for now too short
 * for an incident yet, with when it makes one (openRuns). Each tenant's row is locked while it is read and written on
 * PostgreSQL, so two workers observing the same tenant take turns and only one of them sees a given
 * transition; SQLite writes one transaction at a time.
 */
async function observeMailHealth(
  tx: Db,
  dialect: Dialect,
  observations: readonly MailHealthObservation[],
): Promise<{ changes: MailHealthChange[]; backAfterFailures: { tenantId: string; at: number }[]; openRuns: { tenantId: string; failingAt: number }[] }> {
  const backAfterFailures: { tenantId: string; at: number }[] = [];
  const openRuns: { tenantId: string; failingAt: number }[] = [];
  const byTenant = new Map<string, MailHealthObservation[]>();
  for (const o of observations) byTenant.set(o.tenantId, [...(byTenant.get(o.tenantId) ?? []), o]);
  if (byTenant.size === 0) return { changes: [], backAfterFailures, openRuns };
  // Most attempts are deliveries by healthy tenants: they change nothing, and cost one read for all.
  // In every commit of outcomes: compiled once per (padded) tenant count.
  const tenantIds = inListOf([...byTenant.keys()]);
  const text = sqlOnce(tx, `observeMailHealth ${tenantIds.length}`, () => tx.selectFrom('tenant_mail_health').selectAll().where('tenant_id', 'in', tenantIds));
  const current = (await tx.executeQuery<Row>(CompiledQuery.raw(text, tenantIds))).rows;
  const known = new Set(current.map((r) => r.tenant_id));
  const clean = new Set(current.filter((r) => isClean(fromRow(r))).map((r) => r.tenant_id));
  const changes: MailHealthChange[] = [];
  // In a fixed order, so two transactions that lock several tenants cannot deadlock.
  for (const tenantId of [...byTenant.keys()].sort()) {
    const seen = byTenant.get(tenantId)!.sort((a, b) => a.at - b.at);
    if (seen.every((o) => o.signal.kind === 'delivered') && (!known.has(tenantId) || clean.has(tenantId))) continue;
    const lastAt = seen.at(-1)!.at;
    await tx
      .insertInto('tenant_mail_health')
      .values({
        tenant_id: tenantId,
        state: 'ok',
        since: null,
        last_code: null,
        last_error: null,
        permanent: 0,
        transient_since: null,
        incident: 0,
        updated_at: lastAt,
      })
      .onConflict((oc) => oc.column('tenant_id').doNothing())
      .execute();
    let read = tx.selectFrom('tenant_mail_health').selectAll().where('tenant_id', '=', tenantId);
    if (dialect === 'postgres') read = read.forUpdate();
    const before = fromRow(await read.executeTakeFirst());
    let health = before;
    for (const o of seen) {
      const next = nextHealth(health, o.signal, o.at);
      if (!next.transition && o.signal.kind === 'delivered' && health.transientSince !== null) backAfterFailures.push({ tenantId, at: o.at });
      health = next.health;
      if (next.transition) {
        const unreached = next.transition === 'failing' && o.signal.kind !== 'delivered' ? o.signal.unreached : undefined;
        changes.push({ tenantId, transition: next.transition, health, at: o.at, ...(unreached ? { unreached } : {}) });
      }
    }
    if (health.state === 'ok' && health.transientSince !== null) openRuns.push({ tenantId, failingAt: health.transientSince + FAILING_AFTER_MS + 1 });
    if (health === before) continue;
    await tx
      .updateTable('tenant_mail_health')
      .set({
        state: health.state,
        since: health.since,
        last_code: health.lastCode,
        last_error: health.lastError,
        permanent: health.permanent ? 1 : 0,
        transient_since: health.transientSince,
        incident: health.incident,
        updated_at: lastAt,
      })
      .where('tenant_id', '=', tenantId)
      .execute();
  }
  return { changes, backAfterFailures, openRuns };
}

/** isClean: healthy with no failure pending, so a delivery changes nothing. */
function isClean(health: MailHealth): boolean {
  return health.state === 'ok' && health.transientSince === null && !health.permanent;
}

/**
 * mailHealthAfterRecord is the outbox's AfterRecord that keeps the tenants' mail health, and the
 * notices of its transitions, with the attempts it is learnt from, in the same commit: a crash
 * loses none of them without the others. The transitions it claimed are logged after that commit
 * (what it returns), only when there are some.
 */
export function mailHealthAfterRecord(dialect: Dialect, context: NoticeContext): AfterRecord {
  return async (tx, recorded) => {
    const observations: MailHealthObservation[] = [];
    for (const a of recorded) {
      if (!a.result.health) continue;
      const signal = await withLastEmailTaken(tx, a.tenantId, a.finishedAt, await withFirstFailure(tx, a.deliveryId, a.result.health));
      observations.push({ tenantId: a.tenantId, at: a.finishedAt, signal });
    }
    const claimed = await observeAndNotify(tx, dialect, context, observations);
    return claimed.length === 0 ? undefined : () => reportTransitions(context, claimed);
  };
}

/**
 * mailHealthHeldOut is the worker's observer of a circuit breaker's verdict (admission.ts HeldOut):
 * each tenant it holds out with alert emails due before the breaker lets sends through again has
 * its mail failing for now, as a transient failure of its own would say, its run starting when the
 * breaker opened or when its first held email was queued, if later. Emails the worker has claimed
 * (the probe's batch, waiting for its verdict) count as due. One observation per tenant and verdict,
 * in one transaction; a tenant with no email due is left alone.
 */
export function mailHealthHeldOut(storage: Storage, context: NoticeContext): (held: HeldOut) => Promise<void> {
  return async (held) => {
    const claimed = await storage.db.transaction().execute(async (tx) => {
      const due = await tx
        .selectFrom('deliveries')
        .select(['tenant_id', (eb) => eb.fn.min('created_at').as('first')])
        .where('tenant_id', 'in', held.tenantIds)
        .where('kind', 'not in', ['mail-health', 'test'])
        // Due before the breaker lets sends through again, or claimed: a worker holds those waiting for
        // the probe's verdict (their next_attempt_at is the lease's end), and they are held out as much.
        .where((eb) => eb.or([eb('status', '=', 'sending'), eb.and([eb('status', 'in', ['pending', 'retrying']), eb('next_attempt_at', '<=', held.until)])]))
        .groupBy('tenant_id')
        .execute();
      const observations = due.map((row) => ({
        tenantId: row.tenant_id,
        at: held.at,
        signal: { kind: 'transient' as const, ...held.failure, heldSince: Math.max(held.since, Number(row.first)) },
      }));
      return observeAndNotify(tx, storage.dialect, context, observations);
    });
    // Once committed: a transaction rolled back claimed nothing.
    reportTransitions(context, claimed);
  };
}

/**
 * withFirstFailure gives a mailbox's email given up on (MailHealthSignal's mailboxRefused) the time
 * its first attempt failed (mailboxSince), from the attempt log; without one, the signal is the
 * server's, as before.
 */
async function withFirstFailure(tx: Db, deliveryId: string, signal: MailHealthSignal): Promise<MailHealthSignal> {
  if (signal.kind !== 'transient' || signal.mailboxRefused !== true || signal.gaveUp !== true) return signal;
  const first = await tx
    .selectFrom('delivery_attempts')
    .select((eb) => eb.fn.min('finished_at').as('at'))
    .where('delivery_id', '=', deliveryId)
    .where('outcome', '=', 'retry')
    .executeTakeFirst();
  return first?.at == null ? signal : { ...signal, mailboxSince: Number(first.at) };
}

/**
 * withLastEmailTaken gives a relay refusal (MailHealthSignal's relayDenied) when the tenant's server
 * last took an email before it, from the attempt log: its alert emails sent, not through the system
 * default (the notices, fallbackToDefault); null when the log keeps none.
 */
async function withLastEmailTaken(tx: Db, tenantId: string, at: number, signal: MailHealthSignal): Promise<MailHealthSignal> {
  if (signal.kind !== 'permanent' || signal.relayDenied !== true) return signal;
  const last = await tx
    .selectFrom('delivery_attempts as a')
    .innerJoin('deliveries as d', 'd.id', 'a.delivery_id')
    .select('a.finished_at')
    .where('a.tenant_id', '=', tenantId)
    .where('a.outcome', '=', 'sent')
    .where('a.finished_at', '<', at)
    .where('d.kind', '<>', 'mail-health')
    .where('a.response', 'not like', `${FALLBACK_NOTE}%`)
    .orderBy('a.finished_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return { ...signal, tookEmailAt: last?.finished_at == null ? null : Number(last.finished_at) };
}

/**
 * observeAndNotify folds observations into their tenants' health and queues the notices of the
 * transitions, in the caller's transaction (the one that records what was observed). When a
 * tenant's mail works again, its emails waiting for a retry are due at once: the server came
 * back without a settings change (restarted, unblocked), and their next try may be 30 minutes off.
 * So are, after failures too short-lived for an incident, those its server failed as a whole.
 * While failures for now go on without an incident yet, an email is tried again when they have gone
 * on long enough for one (retryTenantBy), so that the incident begins then, not at a later retry.
 * Returns the transitions whose notices it claimed, for the caller to log (reportTransitions) once
 * its transaction has committed.
 */
export async function observeAndNotify(
  tx: Db,
  dialect: Dialect,
  context: NoticeContext,
  observations: readonly MailHealthObservation[],
): Promise<readonly ClaimedTransition[]> {
  const { changes, backAfterFailures, openRuns } = await observeMailHealth(tx, dialect, observations);
  for (const back of backAfterFailures) await retryTenantAfterOutage(tx, back.tenantId, back.at);
  for (const run of openRuns) await retryTenantBy(tx, run.tenantId, run.failingAt);
  // Most commits change no tenant's health: nothing allocated for them.
  if (changes.length === 0) return NO_TRANSITIONS;
  const claimed = await sendMailHealthNotices(tx, changes, context);
  for (const change of changes) if (change.transition === 'recovered') await retryTenantNow(tx, change.tenantId, change.at);
  return claimed;
}

const NO_TRANSITIONS: readonly ClaimedTransition[] = Object.freeze([]);

/**
 * OWN_SERVER_RETRY_MS is how long, under `fallbackToDefault`, the system default stands in for a
 * tenant's own server after it last refused for good; then the next alert email tries it again.
 */
const OWN_SERVER_RETRY_MS = 15 * 60_000;

/**
 * fallbackStandsIn tells whether a tenant's alert emails go through the system default now, under
 * `fallbackToDefault`: its own server refused for good, less than OWN_SERVER_RETRY_MS ago (the
 * health row is written with each refusal observed, and not while the default stands in).
 */
export async function fallbackStandsIn(db: Db, tenantId: string, now: number): Promise<boolean> {
  const row = await db.selectFrom('tenant_mail_health').select(['state', 'permanent', 'updated_at']).where('tenant_id', '=', tenantId).executeTakeFirst();
  return row !== undefined && row.state === 'failing' && row.permanent === 1 && now - Number(row.updated_at) < OWN_SERVER_RETRY_MS;
}

/**
 * tryOwnServerAgain forgets that a tenant's server refused for good, after its settings changed:
 * `fallbackToDefault` stops standing in, and the next email tells whether the new settings work.
 */
export async function tryOwnServerAgain(db: Db, tenantId: string): Promise<void> {
  await db.updateTable('tenant_mail_health').set({ permanent: 0 }).where('tenant_id', '=', tenantId).execute();
}
