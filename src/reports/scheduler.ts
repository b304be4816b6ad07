import type { Logger } from 'pino';
import type { Clock } from '../shared/clock.js';
import type { Storage } from '../storage/storage.js';
import {
  type ReportSettingsSource,
  type ReportTenant,
  decideWindow,
  lastWindowEnd,
  purgeDecidedWindows,
  reportTenants,
} from './decision-transactions.js';
import type { ReportMetrics } from './metrics.js';
import { type DueReport, claimDueReports, prepareSchedule, rescheduleReport } from './schedule.js';
import { type Window, dueDailyWindow, dueSummaryWindow, nextReportInstant, parseReportTime } from './windows.js';

/** SchedulerSettings tune the loop; tests shorten them. */
export interface SchedulerSettings {
  /** How often the loop looks for due windows (one query, however many tenants). */
  readonly tickMs: number;
  /** Length of a summary window (TOCSIN_SUMMARY_INTERVAL_SECONDS). */
  readonly summaryIntervalMs: number;
  /**
   * How long after its creation time an alert is first looked at: an alert's created_at is taken
   * before its transaction commits, so a span is read only once every insert in it has committed.
   */
  readonly settleMs: number;
  /** How many (tenant, kind) pairs one claim takes. */
  readonly batchSize: number;
  /** How many tenants are decided at once (each decision is a transaction, so it holds a connection). */
  readonly concurrency: number;
  /** How long a claim keeps other schedulers off; a scheduler that died is replaced after it. */
  readonly leaseMs: number;
  /** How long decided windows are kept as history (the scheduler itself needs only the latest). */
  readonly windowRetentionMs: number;
}

/** DEFAULT_SCHEDULER_SETTINGS: look every second, so a window is decided within about a second of its end. */
export const DEFAULT_SCHEDULER_SETTINGS: Omit<SchedulerSettings, 'summaryIntervalMs'> = Object.freeze({
  tickMs: 1_000,
  settleMs: 1_000,
  batchSize: 200,
  concurrency: 4,
  leaseMs: 60_000,
  windowRetentionMs: 30 * 24 * 3_600_000,
});

/** SchedulerDeps are what the loop is built from; the clock and the doorbell are injected. */
export interface SchedulerDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settingsOf: ReportSettingsSource;
  /** Rung after a commit that queued mail, so this process's outbox workers send at once. */
  readonly doorbell?: { ring(): void } | undefined;
  readonly settings: Partial<SchedulerSettings> & Pick<SchedulerSettings, 'summaryIntervalMs'>;
  readonly metrics?: ReportMetrics | undefined;
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
  #prepared = false;
  #nextPurge = 0;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
    this.settings = Object.freeze({ ...DEFAULT_SCHEDULER_SETTINGS, ...deps.settings });
  }

  /** start ticks every tickMs until stop(). */
  start(): void {
    if (this.#looping) return;
    this.#looping = true;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** stop ends the loop after the tick in progress, whose transactions then have committed or rolled back. */
  async stop(): Promise<void> {
    this.#looping = false;
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delay: number): void {
    this.#timer = setTimeout(() => {
      this.#running = this.tick()
        .catch((err: unknown) => this.#deps.logger.error({ err }, 'the report scheduler could not look for due windows; will try again'))
        .finally(() => {
          if (this.#looping) this.#schedule(this.settings.tickMs);
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
    if (!this.#prepared) {
      await prepareSchedule(storage.db, clock.now() + s.summaryIntervalMs + s.settleMs);
      this.#prepared = true;
    }
    let queued = 0;
    for (let full = true; full && !this.#stopped; ) {
      const now = clock.now();
      const lease = now + s.leaseMs;
      const due = await claimDueReports(storage, now, lease, s.batchSize);
      full = due.length === s.batchSize;
      if (due.length === 0) break;
      const tenants = new Map((await reportTenants(storage.db, [...new Set(due.map((d) => d.tenantId))])).map((t) => [t.id, t]));
      await forEachConcurrently(due, s.concurrency, async (report) => {
        const tenant = tenants.get(report.tenantId);
        // A tenant deleted meanwhile took its schedule rows with it.
        if (!tenant) return;
        try {
          const n = await this.#decide(tenant, report, now, lease);
          queued += n;
        } catch (err) {
          this.#deps.logger.error({ err, tenant: tenant.name, kind: report.kind }, 'deciding alert emails failed; will try again');
        }
      });
    }
    if (queued > 0) this.#deps.doorbell?.ring();
    const now = clock.now();
    if (now >= this.#nextPurge) {
      await purgeDecidedWindows(storage.db, now - s.windowRetentionMs);
      this.#nextPurge = now + 3_600_000;
    }
  }

  /** #decide decides the due window of one claimed (tenant, kind), if any, and writes when the next one is due. */
  async #decide(tenant: ReportTenant, report: DueReport, now: number, lease: number): Promise<number> {
    const { storage, clock, settingsOf } = this.#deps;
    const db = storage.db;
    const s = this.settings;
    // Windows are judged as of `settled`, so every alert created inside one has committed.
    const settled = now - s.settleMs;
    let queued = 0;
    let nextDue: number;
    if (report.kind === 'summary') {
      const due = dueSummaryWindow(settled, s.summaryIntervalMs, await lastWindowEnd(db, tenant.id, 'summary'), tenant.createdAt);
      if (due) {
        queued = this.#decided('summary', tenant, due, await decideWindow(storage, tenant, 'summary', due, await settingsOf(db, tenant.id), clock));
      }
      nextDue = (Math.floor(settled / s.summaryIntervalMs) + 1) * s.summaryIntervalMs + s.settleMs;
    } else {
      const settings = await settingsOf(db, tenant.id);
      const time = parseReportTime(settings.dailyReportTime);
      const due = dueDailyWindow(settled, time, tenant.timeZone, await lastWindowEnd(db, tenant.id, 'daily'), tenant.createdAt);
      if (due) queued = this.#decided('daily', tenant, due, await decideWindow(storage, tenant, 'daily', due, settings, clock));
      nextDue = nextReportInstant(settled, time, tenant.timeZone) + s.settleMs;
    }
    await rescheduleReport(db, report, lease, nextDue);
    return queued;
  }

  /** #decided logs and counts a window this process won; undefined means another instance had it. */
  #decided(kind: 'summary' | 'daily', tenant: ReportTenant, window: Window, queued: number | undefined): number {
    if (queued === undefined) return 0;
    this.#deps.logger.info({ tenant: tenant.name, kind, window, deliveries: queued }, 'report window decided');
    this.#deps.metrics?.decided(kind, window.end, this.#deps.clock.now(), queued);
    return queued;
  }
}

/** forEachConcurrently runs `task` over the items with at most `limit` running at once. */
async function forEachConcurrently<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
