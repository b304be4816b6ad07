import type { Logger } from 'pino';
import type { FatalCommit } from '../alerts/fatal-signal.js';
import type { CommitDecision } from '../alerts/ingest.js';
import { type NewDelivery, enqueueDeliveries } from '../delivery/outbox/enqueue.js';
import { type ClaimedBatch, type InsertLease, enqueueLeased } from '../delivery/outbox/leases.js';
import type { Clock } from '../shared/clock.js';
import { endedWithin } from '../shared/stop-patience.js';
import type { Db } from '../storage/database.js';
import { StorageUnavailableError, storageFailure } from '../storage/errors.js';
import { OutageLog } from '../storage/outage-log.js';
import type { Storage } from '../storage/storage.js';
import { LEASED_KEYS, type LeasedReads } from '../delivery/outbox/leased-reads.js';
import { readSendSettings } from '../settings/mail-settings.js';
import { committedFatalFloods } from './alert-facts.js';
import { immediateFactsOf } from './composers.js';
import type { ReportData } from './recipient-rules.js';
import { type DecisionFacts, decisionFacts, mailingTenants } from './decision-facts.js';
import { readerReadsOf } from './reader-reads.js';
import { type ReportSettingsSource, decideImmediate, forgetUndecided, immediateRows, immediateRowsOf, reportTenants } from './decision-transactions.js';

/**
 * ImmediateSender is the worker of this process as the decision in the commit sees it: it leases
 * the rows it can take as they are queued, and sends them once their transaction has committed.
 */
export interface ImmediateSender {
  leaseForInsert(now: number): InsertLease | undefined;
  /** adopt sends the rows; it returns a promise settled once the servers of those it started at once have answered. */
  adopt(batch: ClaimedBatch, lease: InsertLease): Promise<void>;
}

/**
 * decideInCommit is the decision of the immediate emails of Fatal alerts inside the transaction
 * that stores them (the ingest's group commit): one durable commit holds the alert and its
 * emails, so no decision can be lost between two commits and none waits for a second flush. The
 * same rules as ImmediateDecider.decide apply (alert emails enabled, preferences, permissions,
 * mutes, one email per flood and address). The rows are leased at insert to this process's
 * worker when it has room, which sends them right after the commit without claiming them; else
 * they are queued for the claim loops, whose doorbell rings after the commit.
 */
export function decideInCommit(deps: {
  readonly clock: Clock;
  readonly sender?: ImmediateSender | undefined;
  readonly doorbell?: { ring(): void } | undefined;
  /** Where the rows leased to the sender find what this transaction read for sending them. */
  readonly leasedReads?: LeasedReads | undefined;
}): CommitDecision {
  const { clock, sender, doorbell, leasedReads } = deps;
  // The tenants whose alert emails were on when this process last read their facts. Only which
  // statement comes first depends on it: what is decided is always read in the transaction.
  const mailing = new Set<string>();
  return async (tx, commits) => {
    const now = clock.now();
    // Before anything is read: a change made through the API after it makes the reads left for the send stale.
    const stamp = leasedReads?.stamp() ?? 0;
    const rows: NewDelivery[] = [];
    let tenantIds = [...new Set(commits.map((c) => c.tenantId))];
    const told = toldMailing(commits);
    if (told) {
      // The commit's inserts read whether each tenant mails, in this transaction (PostgreSQL).
      tenantIds = told;
      if (tenantIds.length === 0) return () => undefined;
    } else if (!tenantIds.some((id) => mailing.has(id))) {
      // None known to mail (a tenant with alert emails off, or not seen yet): whether any does is
      // one small read, and the facts are read only for those that do.
      const on = await mailingTenants(tx, tenantIds);
      tenantIds = tenantIds.filter((id) => on.has(id));
      if (tenantIds.length === 0) return () => undefined;
    }
    const facts = await decisionFacts(
      tx,
      tenantIds,
      commits.filter((c) => tenantIds.includes(c.tenantId)).flatMap((c) => c.alertIds),
      now,
    );
    if (mailing.size > MAX_TENANTS_REMEMBERED) mailing.clear();
    for (const { tenant, alertsEmailEnabled, floods, mutes, recipients } of facts) {
      if (alertsEmailEnabled) mailing.add(tenant.id);
      else mailing.delete(tenant.id);
      if (!alertsEmailEnabled || floods.length === 0) continue;
      rows.push(...(recipients ? immediateRowsOf(tenant.id, floods, recipients, mutes, now) : await immediateRows(tx, tenant, floods, now)));
    }
    if (rows.length === 0) return () => undefined;
    const lease = sender?.leaseForInsert(now);
    if (sender && lease) {
      const batch = await enqueueLeased(tx, rows, lease);
      if (leasedReads) await readForSending(tx, batch, { reads: leasedReads, token: lease.token, stamp }, facts);
      return () => sender.adopt(batch, lease);
    }
    const queued = await enqueueDeliveries(tx, rows, clock);
    return () => {
      if (queued > 0) doorbell?.ring();
      return undefined;
    };
  };
}

/**
 * toldMailing gives the tenants of `commits` whose alert emails are on, as the commit's inserts
 * read it (FatalCommit's `mailing`), or undefined when that was not read for every one of them.
 */
function toldMailing(commits: readonly FatalCommit[]): string[] | undefined {
  if (commits.some((c) => c.mailing === undefined)) return undefined;
  return [...new Set(commits.filter((c) => c.mailing).map((c) => c.tenantId))];
}

/** At most this many tenants are remembered as mailing by one decideInCommit (past it, it starts again). */
const MAX_TENANTS_REMEMBERED = 10_000;

/**
 * MAX_ALERTS_READ_AT_COMMIT: a commit of at most this many emailed Fatal alerts reads what their
 * emails need (readForSending); a larger one, a storm, holds the write lock no longer for it, and
 * the worker reads the alerts of the emails it starts together (TurnBatch).
 */
const MAX_ALERTS_READ_AT_COMMIT = 16;

/**
 * MAX_READERS_LEFT_AT_COMMIT: a commit that leases at most this many emails leaves what composing
 * each reads of its reader (leaveReaderReads); the emails of a larger one (a Fatal alert for a whole
 * team) read it once per reader at the send, as a claim's emails do, rather than the commit working
 * out every reader's permissions while it holds the write lock.
 */
const MAX_READERS_LEFT_AT_COMMIT = 16;

/** LeaseReads is where a commit leaves what it read for the rows it leased: their token, and the changes' count before its reads. */
interface LeaseReads {
  readonly reads: LeasedReads;
  readonly token: string;
  readonly stamp: number;
}

/**
 * readForSending reads, in the transaction that queues a Fatal alert's emails leased to this
 * process (`batch`, whose rows name their tenants and alerts), what sending them reads: each tenant's mail settings (with the saved system default),
 * each alert's facts (the row, its flood so far, the flood's acknowledgement), and counts each
 * alert's emails (one alone is rendered without the cache its recipients would share); and it
 * leaves what composing a user's email reads of its tenant and of the user (names, address,
 * permissions), made from the decision's `facts` (readerReadsOf). The worker takes them from
 * `reads` right after the commit, where it read them in statements of its own (and turns of the
 * event loop) on the way to the SMTP server; they are the database's all the same, as the
 * committing transaction saw them.
 */
async function readForSending(tx: Db, batch: ClaimedBatch, into: LeaseReads, facts: readonly DecisionFacts[]): Promise<void> {
  const put = (key: string, value: unknown) => into.reads.put(into.token, key, value, into.stamp);
  const emails = new Map<string, number>();
  const alertsByTenant = new Map<string, string[]>();
  if (batch.deliveries.length <= MAX_READERS_LEFT_AT_COMMIT) leaveReaderReads(batch, put, facts);
  for (const d of batch.deliveries) {
    const alertId = 'data' in d.payload ? (d.payload.data as ReportData).alertId : undefined;
    if (!alertId) continue;
    const n = emails.get(alertId) ?? 0;
    if (n === 0) {
      const alertIds = alertsByTenant.get(d.tenantId);
      if (alertIds) alertIds.push(alertId);
      else alertsByTenant.set(d.tenantId, [alertId]);
    }
    emails.set(alertId, n + 1);
  }
  if (emails.size > MAX_ALERTS_READ_AT_COMMIT) return;
  for (const [alertId, n] of emails) put(LEASED_KEYS.alertEmails(alertId), n);
  for (const [tenantId, alertIds] of alertsByTenant) {
    put(LEASED_KEYS.sendSettings(tenantId), await readSendSettings(tx, tenantId));
    for (const [alertId, facts] of await immediateFactsOf(tx, tenantId, alertIds)) put(LEASED_KEYS.immediateFacts(alertId), facts);
  }
}

/** leaveReaderReads leaves (`put`) what composing each user's email of `batch` reads of its tenant and of the user (readForSending). */
function leaveReaderReads(batch: ClaimedBatch, put: (key: string, value: unknown) => void, facts: readonly DecisionFacts[]): void {
  for (const d of batch.deliveries) {
    const recipient = 'data' in d.payload ? (d.payload.data as ReportData).recipient : undefined;
    if (recipient?.type !== 'user') continue;
    const tenant = facts.find((f) => f.tenant.id === d.tenantId);
    const user = tenant?.readers?.users.get(recipient.id);
    if (!tenant?.readers || !user) continue;
    for (const [what, value] of readerReadsOf(tenant.names, user, tenant.readers.access)) put(LEASED_KEYS.readerRead(what), value);
  }
}

/** ImmediateDeciderDeps are what the decider is built from; the doorbell wakes this process's outbox. */
export interface ImmediateDeciderDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settingsOf: ReportSettingsSource;
  readonly doorbell?: { ring(): void } | undefined;
  readonly settings?: Partial<ImmediateDeciderSettings> | undefined;
}

/** ImmediateDeciderSettings tune the sweep for decisions a crash lost; tests shorten them. */
export interface ImmediateDeciderSettings {
  /** How often the undecided Fatal alerts are looked for (besides at start). */
  readonly sweepIntervalMs: number;
  /**
   * How old an undecided Fatal alert must be before a sweep decides it: younger ones are most
   * likely being decided by the process that stored them, and deciding twice only costs queries.
   */
  readonly sweepGraceMs: number;
}

/** DEFAULT_IMMEDIATE_SETTINGS: a lost decision is made again within about a minute. */
export const DEFAULT_IMMEDIATE_SETTINGS: ImmediateDeciderSettings = Object.freeze({ sweepIntervalMs: 30_000, sweepGraceMs: 30_000 });

/** MAX_ALERTS_PER_DECISION bounds how many heard Fatal alerts one decision reads. */
const MAX_ALERTS_PER_DECISION = 1_000;

/**
 * ImmediateDecider decides the immediate emails of Fatal alerts stored undecided, in a transaction
 * of its own: as soon as their commit is signalled (alerts of pull sources, or of an ingest whose
 * decision in the commit failed), and, for an alert whose decision was lost (its process died
 * between the commit and the decision, or the decision failed), by a sweep of the alerts stored as
 * undecided, at start and every sweepIntervalMs. The REST ingest decides in the alerts' own commit
 * instead (decideInCommit). Deciding an alert twice (two processes sweeping) queues nothing more:
 * see decideImmediate.
 */
export class ImmediateDecider {
  readonly settings: ImmediateDeciderSettings;
  readonly #deps: ImmediateDeciderDeps;
  /** Fatal alert ids heard but not yet decided, by tenant. */
  readonly #pending = new Map<string, Set<string>>();
  #draining: Promise<void> | undefined;
  #sweeping: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Logs sweeps failing in a row (an outage) once when it begins and once when it ends, not each sweep. */
  readonly #sweepOutage: OutageLog;

  constructor(deps: ImmediateDeciderDeps) {
    this.#deps = deps;
    this.#sweepOutage = new OutageLog(deps.logger, {
      failed: 'could not look for undecided Fatal alerts; will try again',
      back: 'looking for undecided Fatal alerts works again',
    });
    this.settings = Object.freeze({ ...DEFAULT_IMMEDIATE_SETTINGS, ...deps.settings });
  }

  /** start sweeps for lost decisions now and every sweepIntervalMs until stop(). */
  start(): void {
    const sweepAndRepeat = () => {
      this.#sweeping = this.sweep()
        .then(
          () => this.#sweepOutage.worked(),
          (err: unknown) => this.#sweepOutage.failed(err, this.settings.sweepIntervalMs),
        )
        .finally(() => {
          this.#sweeping = undefined;
          if (!this.#stopped) this.#timer = setTimeout(sweepAndRepeat, this.settings.sweepIntervalMs);
        });
    };
    sweepAndRepeat();
  }

  /**
   * hear queues a commit's Fatal alerts for deciding in the background. Decisions run one at a
   * time, and the commits heard meanwhile are merged per tenant: under a flood of Fatal alerts
   * one decision covers many commits instead of each commit starting its own transaction and
   * competing with ingestion for the database. A failure is logged and left to the sweep.
   */
  hear(commit: FatalCommit): void {
    if (this.#stopped || commit.alertIds.length === 0) return;
    const ids = this.#pending.get(commit.tenantId) ?? new Set<string>();
    for (const id of commit.alertIds) ids.add(id);
    this.#pending.set(commit.tenantId, ids);
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  /**
   * sweep hears the undecided Fatal alerts older than the grace period (one query on an index of
   * a table that holds only the alerts being decided) and resolves once they are decided.
   */
  async sweep(): Promise<void> {
    const rows = await undecidedFatalAlerts(this.#deps.storage.db, this.#deps.clock.now() - this.settings.sweepGraceMs);
    if (rows.length > 0) this.#deps.logger.warn({ alerts: rows.length }, 'deciding the immediate emails of Fatal alerts whose decision was lost');
    const byTenant = new Map<string, string[]>();
    for (const r of rows) byTenant.set(r.tenant_id, [...(byTenant.get(r.tenant_id) ?? []), r.alert_id]);
    for (const [tenantId, alertIds] of byTenant) this.hear({ tenantId, alertIds });
    await this.#draining;
  }

  async #drain(): Promise<void> {
    for (let next = this.#takeNext(); next; next = this.#takeNext()) {
      try {
        await this.decide(next);
      } catch (raised) {
        const err = storageFailure('decide', raised);
        if (err instanceof StorageUnavailableError) {
          // The database is out: the other tenants' decisions would fail alike. Their alerts are
          // stored undecided, so the sweep decides them once it can reach the database again.
          this.#deps.logger.warn(
            { err, tenantId: next.tenantId, tenantsLeft: this.#pending.size },
            'deciding immediate emails failed; the sweep will try again',
          );
          this.#pending.clear();
          return;
        }
        this.#deps.logger.error({ err, tenantId: next.tenantId }, 'deciding immediate emails failed; the sweep will try again');
      }
    }
  }

  #takeNext(): FatalCommit | undefined {
    const first = this.#pending.entries().next();
    if (first.done) return undefined;
    const [tenantId, ids] = first.value;
    // Bounded, so the `in (…)` list of one decision stays far below SQLite's bound-variable limit.
    const alertIds = [...ids].slice(0, MAX_ALERTS_PER_DECISION);
    if (alertIds.length === ids.size) this.#pending.delete(tenantId);
    else for (const id of alertIds) ids.delete(id);
    return { tenantId, alertIds };
  }

  /**
   * decide queues the immediate emails of a commit's Fatal floods and marks its alerts decided
   * (also when the tenant's alert emails are off: turning them on later mails no old alert),
   * rings the doorbell when it queued some, and says how many.
   */
  async decide(commit: FatalCommit): Promise<number> {
    const { storage, clock, settingsOf } = this.#deps;
    const [tenant] = await reportTenants(storage.db, [commit.tenantId]);
    if (!tenant) return 0;
    const floods = await committedFatalFloods(storage.db, tenant.id, commit.alertIds);
    if (floods.length === 0 || !(await settingsOf(storage.db, tenant.id)).alertsEmailEnabled) {
      await forgetUndecided(storage.db, tenant.id, commit.alertIds);
      return 0;
    }
    const queued = await decideImmediate(storage, tenant, floods, clock, commit.alertIds);
    if (queued > 0) this.#deps.doorbell?.ring();
    return queued;
  }

  /**
   * settled resolves once every commit heard so far, and a sweep in progress, is decided: what
   * tests wait on instead of sleeping. The signal of a commit comes a turn of the event loop
   * after it (see coalescedFatalSignal), so that turn is waited for first.
   */
  async settled(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#draining || this.#sweeping) await Promise.all([this.#draining, this.#sweeping]);
  }

  /**
   * stop hears nothing more and resolves once the decisions already heard have committed or rolled
   * back; with `patience` (a stopping process's), not waiting past it (endedWithin): the sweep of
   * any process decides their alerts later.
   */
  async stop(patience?: AbortSignal): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await endedWithin(Promise.all([this.#draining, this.#sweeping]), patience, this.#deps.logger, 'the decisions of the immediate emails in progress');
  }
}

/** undecidedFatalAlerts lists the undecided Fatal alerts stored before a time, oldest first, at most one decision's worth. */
async function undecidedFatalAlerts(db: Db, storedBefore: number): Promise<{ alert_id: string; tenant_id: string }[]> {
  return db
    .selectFrom('undecided_fatal_alerts')
    .select(['alert_id', 'tenant_id'])
    .where('created_at', '<=', storedBefore)
    .orderBy('created_at')
    .limit(MAX_ALERTS_PER_DECISION)
    .execute();
}
