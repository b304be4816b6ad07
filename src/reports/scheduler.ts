import type { Logger } from 'pino';
import type { Clock } from '../shared/clock.js';
import { raiseAlertTimeFloor } from '../alerts/time-floor.js';
import { multiMap } from '../shared/multi-map.js';
import { isRetryable } from '../shared/stage-error.js';
import { endedWithin } from '../shared/stop-patience.js';
import { CONNECT_BACKOFF, backoffDelay } from '../storage/connect.js';
import { StorageUnavailableError, storageFailure } from '../storage/errors.js';
import type { Db } from '../storage/database.js';
import { OutageLog } from '../storage/outage-log.js';
import type { Storage } from '../storage/storage.js';
import {
  type ReportSettings,
  type ReportSettingsSource,
  type ReportTenant,
  type WindowDecision,
  decideWindows,
  lastWindowEnds,
  purgeDecidedWindows,
  recordQuietWindows,
  reportTenants,
} from './decision-transactions.js';
import type { ReportMetrics } from './metrics.js';
import { tenantsWithAlerts } from './alert-facts.js';
import { type DueReport, claimDueReports, prepareSchedule, rescheduleReports, scheduleUnscheduledTenants } from './schedule.js';
import {
  type ReportTime,
  type Window,
  dailyChainEnd,
  dailyWindowIfDue,
  latestDailyWindow,
  nextReportInstant,
  nextSummaryEnd,
  parseReportTime,
  reportDayStart,
  summaryWindowEnd,
  summaryWindowIfDue,
} from './windows.js';

/** SchedulerSettings tune the loop; tests shorten them. */
export interface SchedulerSettings {
  /** How often the loop looks for due windows (one query, however many tenants). */
  readonly tickMs: number;
  /** Length of a summary window (TOCSIN_SUMMARY_INTERVAL_SECONDS). */
  readonly summaryIntervalMs: number;
  /**
   * How long after its end a window is judged. Exactness does not hang on it: before reading a
   * window the scheduler raises the alerts' time floor to its end (../alerts/time-floor.ts), which
   * waits for the commits that stamped an alert inside it, however slow, and keeps a clock that is
   * behind from stamping one there later. The second only spares that raise a wait, most of the time.
   */
  readonly settleMs: number;
  /** How many (tenant, kind) pairs one claim takes. */
  readonly batchSize: number;
  /** How many decisions run at once (each is a transaction, so it holds a connection). */
  readonly concurrency: number;
  /**
   * How many tenants' windows one decision transaction decides together (set-based queries over
   * them all). On SQLite a transaction holds the database, so a batch of large tenants holds it longer.
   */
  readonly decisionBatch: number;
  /** How long a claim keeps other schedulers off; a scheduler that died is replaced after it. */
  readonly leaseMs: number;
  /** How long decided windows are kept as history (the scheduler itself needs only the latest). */
  readonly windowRetentionMs: number;
}

/** DEFAULT_SCHEDULER_SETTINGS: look every second, so a window is decided within about a second of its end. */
const DEFAULT_SCHEDULER_SETTINGS: Omit<SchedulerSettings, 'summaryIntervalMs'> = Object.freeze({
  tickMs: 1_000,
  settleMs: 1_000,
  batchSize: 500,
  concurrency: 4,
  decisionBatch: 125,
  leaseMs: 60_000,
  windowRetentionMs: 30 * 24 * 3_600_000,
});

/** SchedulerDeps are what the loop is built from; the clock and the doorbell are injected. */
export interface SchedulerDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settingsOf: ReportSettingsSource;
  /** Reads many tenants' settings by one query (the settings domain's getMailSettingsOf); without it, settingsOf for each. */
  readonly settingsOfTenants?: ManyReportSettingsSource | undefined;
  /** Rung after a commit that queued mail, so this process's outbox workers send at once. */
  readonly doorbell?: { ring(): void } | undefined;
  readonly settings: Partial<SchedulerSettings> & Pick<SchedulerSettings, 'summaryIntervalMs'>;
  readonly metrics?: ReportMetrics | undefined;
}

/** ManyReportSettingsSource reads the ReportSettings of many tenants at once; every id asked for is in the answer. */
export type ManyReportSettingsSource = (db: Db, tenantIds: readonly string[]) => Promise<ReadonlyMap<string, ReportSettings>>;

/** How often a scheduler looks again for tenants without schedule rows. */
const PREPARE_EVERY_MS = 5 * 60_000;

/** How long after each whole tick on the clock a look starts: due times are whole seconds, and a timer may fire a little early. */
const TICK_PHASE_MS = 50;

/**
 * nextTickDelay is how long to wait for the next look: until just after the next whole tick on
 * the clock (a multiple of tickMs, plus TICK_PHASE_MS or a tenth of a short tick). Looks thus start
 * at the same point of each tick however long the last one took. Timed from the end of the last
 * one, they drifted by its length: with 1-second summary windows, every few seconds a look fell
 * after the next window's due time as well, and two windows went out as one catch-up summary
 * ("Tocsin could not send summaries for a while") though nothing was down.
 */
export function nextTickDelay(now: number, tickMs: number): number {
  const phase = Math.min(TICK_PHASE_MS, Math.floor(tickMs / 10));
  return (Math.floor((now - phase) / tickMs) + 1) * tickMs + phase - now;
}

/**
 * ReportScheduler is the loop that decides the summary and daily windows that are due (the
 * immediate emails of Fatal alerts are the ImmediateDecider's). Each tick claims the due
 * (tenant, kind) pairs of `report_schedule` by one query across tenants, decides them a few
 * tenants at a time, and writes when each is next due. What is decided lives in the database
 * (report_windows, the deliveries' idempotency keys), so any number of instances may run it.
 */
export class ReportScheduler {
  readonly settings: SchedulerSettings;
  readonly #deps: SchedulerDeps;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #looping = false;
  /** Set by stop(): a tick in progress ends after its current batch. */
  #stopped = false;
  /** When the first tick ran prepareSchedule, then when tenants without schedule rows were last looked for. */
  #preparedAt: number | undefined;
  #nextPurge = 0;
  /** Ticks that failed in a row, for the back-off. */
  #failures = 0;
  /** Logs an outage once when it begins and once when it ends, not each failed tick. */
  readonly #outage: OutageLog;
  /** Callers of ticked() waiting for the next tick to start and end. */
  #tickWaiters: (() => void)[] = [];

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
    this.#outage = new OutageLog(deps.logger, {
      failed: 'the report scheduler could not look for due windows; will try again',
      back: 'the report scheduler looks for due windows again',
    });
    this.settings = Object.freeze({ ...DEFAULT_SCHEDULER_SETTINGS, ...deps.settings });
  }

  /** start ticks every tickMs until stop(). */
  start(): void {
    if (this.#looping) return;
    this.#looping = true;
    this.#stopped = false;
    this.#schedule(0);
  }

  /**
   * stop ends the loop after the tick in progress, whose transactions then have committed or rolled
   * back; with `patience` (a stopping process's), not waiting for a tick past it (endedWithin).
   */
  async stop(patience?: AbortSignal): Promise<void> {
    this.#looping = false;
    this.#stopped = true;
    clearTimeout(this.#timer);
    await endedWithin(this.#running, patience, this.#deps.logger, "the report scheduler's look for due windows");
    for (const resolve of this.#tickWaiters.splice(0)) resolve();
  }

  /**
   * ticked resolves once a tick that starts after this call has ended (at once when the loop is
   * stopped): a test waits on it to know that everything due by then was looked at, instead of
   * sleeping to see that nothing more is decided.
   */
  ticked(): Promise<void> {
    if (!this.#looping) return Promise.resolve();
    return new Promise((resolve) => this.#tickWaiters.push(resolve));
  }

  #schedule(delay: number): void {
    this.#timer = setTimeout(() => {
      const waiting = this.#tickWaiters.splice(0);
      let next = this.settings.tickMs;
      this.#running = this.tick()
        .then(
          () => {
            this.#failures = 0;
            this.#outage.worked();
            next = nextTickDelay(this.#deps.clock.now(), this.settings.tickMs);
          },
          (raised: unknown) => {
            // The decide stage's error says whether waiting helps: through an outage the loop backs
            // off (doubling from a tick up to CONNECT_BACKOFF's ceiling) instead of failing every tick.
            const err = storageFailure('decide', raised);
            // An outage is logged when it begins and ends (OutageLog); any other failure, a fault, each time.
            if (isRetryable(err)) {
              next = backoffDelay(this.#failures++, { firstMs: this.settings.tickMs, maxMs: CONNECT_BACKOFF.maxMs }, Math.random);
              this.#outage.failed(err, next);
            } else {
              this.#deps.logger.error({ err, retryInMs: next }, 'the report scheduler could not look for due windows; will try again');
            }
          },
        )
        .finally(() => {
          for (const resolve of waiting) resolve();
          if (this.#looping) this.#schedule(next);
        });
    }, delay);
  }

  /**
   * tick decides every window due now, a batch of claimed (tenant, kind) pairs after another;
   * one tenant's failure is logged and does not stop the others (it is looked at again when its
   * claim's lease ends).
   */
  async tick(): Promise<void> {
    const { storage, clock } = this.#deps;
    const s = this.settings;
    const at = clock.now();
    if (this.#preparedAt === undefined) {
      await prepareSchedule(storage.db, at + s.summaryIntervalMs + s.settleMs);
      this.#preparedAt = at;
    } else if (Math.abs(at - this.#preparedAt) >= PREPARE_EVERY_MS) {
      // Not only at start: during a rolling upgrade, a process of an older version creates tenants
      // without the schedule's rows.
      await scheduleUnscheduledTenants(storage.db);
      this.#preparedAt = at;
    }
    let queued = 0;
    for (let full = true; full && !this.#stopped; ) {
      const now = clock.now();
      const lease = now + s.leaseMs;
      const due = await claimDueReports(storage, now, lease, s.batchSize);
      full = due.length === s.batchSize;
      if (due.length === 0) break;
      const tenants = new Map((await reportTenants(storage.db, [...new Set(due.map((d) => d.tenantId))])).map((t) => [t.id, t]));
      // A tenant deleted meanwhile took its schedule rows with it.
      const of = (kind: DueReport['kind']) => due.flatMap((d) => (d.kind === kind && tenants.has(d.tenantId) ? [tenants.get(d.tenantId)!] : []));
      try {
        queued += await this.#decideSummaries(of('summary'), now, lease);
      } catch (err) {
        this.#deps.logger.error({ err }, 'deciding summary windows failed; will try again');
      }
      try {
        queued += await this.#decideDailies(of('daily'), now, lease);
      } catch (err) {
        this.#deps.logger.error({ err }, 'deciding daily windows failed; will try again');
      }
    }
    if (queued > 0) this.#deps.doorbell?.ring();
    const now = clock.now();
    if (now >= this.#nextPurge) {
      await purgeDecidedWindows(storage.db, now - s.windowRetentionMs);
      this.#nextPurge = now + 3_600_000;
    }
  }

  /**
   * #decideSummaries decides the due summary windows of some claimed tenants and writes when the
   * next ones are due. Most tenants are idle most of the time: their empty windows are recorded
   * together (a few queries for the whole batch); the windows holding a Fatal or Error alert are
   * decided many tenants to a transaction. A tenant whose decision failed keeps its lease, and is looked at
   * again when the lease ends.
   */
  async #decideSummaries(tenants: readonly ReportTenant[], now: number, lease: number): Promise<number> {
    const { storage, clock } = this.#deps;
    const db = storage.db;
    const s = this.settings;
    // Windows are judged as of `settled`, and closed (closeWindows) before they are read.
    const settled = now - s.settleMs;
    const lastEnds = await lastWindowEnds(
      db,
      tenants.map((t) => t.id),
      'summary',
    );
    // Windows are aligned on the clock of each tenant's zone: the time zone arithmetic is done once a zone.
    const zoned = new Map<string, { end: number; next: number }>();
    const endsIn = (zone: string) => {
      let ends = zoned.get(zone);
      if (!ends) {
        ends = { end: summaryWindowEnd(settled, s.summaryIntervalMs, zone), next: nextSummaryEnd(settled, s.summaryIntervalMs, zone) };
        zoned.set(zone, ends);
      }
      return ends;
    };
    const due = tenants.flatMap((tenant) => {
      const window = summaryWindowIfDue(endsIn(tenant.timeZone).end, s.summaryIntervalMs, tenant.timeZone, lastEnds.get(tenant.id), tenant.createdAt);
      return window ? [{ tenant, window }] : [];
    });
    await closeWindows(db, due);
    // Most tenants share a window (a first or catch-up window, or a zone off the hour, differs).
    const busy = new Set<string>();
    for (const group of multiMap(due.map((d) => [`${d.window.start}-${d.window.end}`, d] as const)).values()) {
      const ids = await tenantsWithAlerts(
        db,
        group.map((d) => d.tenant.id),
        group[0]!.window,
        'Error',
      );
      for (const id of ids) busy.add(id);
    }
    const empty = due.filter((d) => !busy.has(d.tenant.id));
    const recorded = new Set(
      await recordQuietWindows(
        db,
        'summary',
        empty.map((d) => ({ tenantId: d.tenant.id, window: d.window })),
        clock.now(),
      ),
    );
    for (const d of empty) if (recorded.has(d.tenant.id)) this.#deps.metrics?.decided('summary', d.window.end, clock.now(), 0);
    if (recorded.size > 0) this.#deps.logger.debug({ windows: recorded.size }, 'empty summary windows recorded');
    const busyDue = due.filter((d) => busy.has(d.tenant.id));
    const settings = await this.#settingsOf(busyDue.map((d) => d.tenant.id));
    const { queued, failed } = await this.#decideInBatches(
      'summary',
      busyDue.map((d) => ({ ...d, settings: settings.get(d.tenant.id)! })),
    );
    const next = tenants.flatMap((t) => (failed.has(t.id) ? [] : [[endsIn(t.timeZone).next + s.settleMs, t.id] as const]));
    for (const [dueAt, dueIds] of multiMap(next)) await rescheduleReports(db, 'summary', dueIds, lease, dueAt);
    return queued;
  }

  /**
   * #decideDailies decides the due daily windows of some claimed tenants (each report time is the
   * tenant's own, in its zone), many tenants to a transaction, and writes when the next ones are
   * due, one query per distinct time. A tenant whose decision failed keeps its lease.
   */
  async #decideDailies(tenants: readonly ReportTenant[], now: number, lease: number): Promise<number> {
    const db = this.#deps.storage.db;
    const settled = now - this.settings.settleMs;
    const ids = tenants.map((t) => t.id);
    const [lastEnds, settings] = await Promise.all([lastWindowEnds(db, ids, 'daily'), this.#settingsOf(ids)]);
    const next: (readonly [number, string])[] = [];
    const due: WindowDecision[] = [];
    // Time zone arithmetic is the costly part of a tenant here: done once per zone and report time.
    const instants = new Map<string, { time: ReportTime; latest: Window; dayStart: number; next: number }>();
    for (const tenant of tenants) {
      try {
        const tenantSettings = settings.get(tenant.id)!;
        const key = `${tenant.timeZone}\n${tenantSettings.dailyReportTime}`;
        let zoned = instants.get(key);
        if (!zoned) {
          const time = parseReportTime(tenantSettings.dailyReportTime);
          const latest = latestDailyWindow(settled, time, tenant.timeZone);
          zoned = { time, latest, dayStart: reportDayStart(latest, tenant.timeZone), next: nextReportInstant(settled, time, tenant.timeZone) };
          instants.set(key, zoned);
        }
        const lastEnd = dailyChainEnd(lastEnds.get(tenant.id), tenant.createdAt, zoned.time, tenant.timeZone);
        const window = dailyWindowIfDue(zoned.latest, zoned.dayStart, lastEnd, tenant.createdAt, tenantSettings.dailyReportTimeChangedAt ?? 0);
        if (window) due.push({ tenant, window, settings: tenantSettings });
        next.push([zoned.next + this.settings.settleMs, tenant.id]);
      } catch (err) {
        this.#deps.logger.error({ err, tenant: tenant.name, kind: 'daily' }, 'deciding alert emails failed; will try again');
      }
    }
    await closeWindows(db, due);
    const { queued, failed } = await this.#decideInBatches('daily', due);
    for (const [dueAt, dueIds] of multiMap(next.filter(([, id]) => !failed.has(id)))) await rescheduleReports(db, 'daily', dueIds, lease, dueAt);
    return queued;
  }

  /**
   * #decideInBatches decides windows of a kind, `decisionBatch` tenants to a transaction and
   * `concurrency` transactions at once. A batch that fails is decided again one tenant at a time,
   * so that one tenant's failure (logged; the tenant keeps its lease and is looked at again when it
   * ends) does not hold back the others. Returns how many deliveries were queued, and who failed.
   */
  async #decideInBatches(kind: 'summary' | 'daily', decisions: readonly WindowDecision[]): Promise<{ queued: number; failed: Set<string> }> {
    const { storage, clock, logger } = this.#deps;
    const size = this.settings.decisionBatch;
    const batches = Array.from({ length: Math.ceil(decisions.length / size) }, (_, i) => decisions.slice(i * size, (i + 1) * size));
    let queued = 0;
    const failed = new Set<string>();
    const decide = async (batch: readonly WindowDecision[]) => {
      const won = await decideWindows(storage, kind, batch, clock);
      for (const d of batch) queued += this.#decided(kind, d.tenant, d.window, won.get(d.tenant.id));
    };
    await forEachConcurrently(batches, this.settings.concurrency, async (batch) => {
      try {
        await decide(batch);
      } catch (raised) {
        const err = storageFailure('decide', raised);
        if (err instanceof StorageUnavailableError) {
          // Through an outage each tenant alone would fail too: the batch keeps its leases and is
          // looked at again when they end, rather than costing the database one failed try a tenant.
          for (const d of batch) failed.add(d.tenant.id);
          logger.warn({ err, kind, tenants: batch.length }, 'deciding a batch of alert emails failed: the database is unavailable; will try again');
          return;
        }
        if (batch.length === 1) {
          failed.add(batch[0]!.tenant.id);
          logger.error({ err, tenant: batch[0]!.tenant.name, kind }, 'deciding alert emails failed; will try again');
          return;
        }
        logger.warn({ err, kind, tenants: batch.length }, 'deciding a batch of alert emails failed; deciding its tenants one by one');
        for (const d of batch) {
          try {
            await decide([d]);
          } catch (err) {
            failed.add(d.tenant.id);
            logger.error({ err, tenant: d.tenant.name, kind }, 'deciding alert emails failed; will try again');
          }
        }
      }
    });
    return { queued, failed };
  }

  /** #settingsOf reads the report settings of some tenants, by one query when the source can. */
  async #settingsOf(tenantIds: readonly string[]): Promise<ReadonlyMap<string, ReportSettings>> {
    const { storage, settingsOf, settingsOfTenants } = this.#deps;
    if (tenantIds.length === 0) return new Map();
    if (settingsOfTenants) return settingsOfTenants(storage.db, tenantIds);
    return new Map(await Promise.all(tenantIds.map(async (id) => [id, await settingsOf(storage.db, id)] as const)));
  }

  /** #decided logs and counts a window this process won; undefined means another instance had it. */
  #decided(kind: 'summary' | 'daily', tenant: ReportTenant, window: Window, queued: number | undefined): number {
    if (queued === undefined) return 0;
    this.#deps.logger.info({ tenant: tenant.name, kind, window, deliveries: queued }, 'report window decided');
    this.#deps.metrics?.decided(kind, window.end, this.#deps.clock.now(), queued);
    return queued;
  }
}

/**
 * closeWindows makes the windows about to be judged hold every alert they ever will: no commit that
 * stamped an alert inside them is still under way, and none will stamp one there (see SchedulerSettings.settleMs).
 */
async function closeWindows(db: Db, due: readonly { readonly window: Window }[]): Promise<void> {
  if (due.length > 0) await raiseAlertTimeFloor(db, Math.max(...due.map((d) => d.window.end)));
}

/** forEachConcurrently runs `task` over the items with at most `limit` running at once. */
async function forEachConcurrently<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
