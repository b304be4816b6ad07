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
import { type Window, dueDailyWindow, dueSummaryWindow, nextReportInstant, parseReportTime } from './windows.js';

/** SchedulerSettings tune the loop; tests shorten them. */
export interface SchedulerSettings {
  /** How often the loop looks. */
  readonly tickMs: number;
  /** Length of a summary window (TOCSIN_SUMMARY_INTERVAL_SECONDS). */
  readonly summaryIntervalMs: number;
  /**
   * How long after its creation time an alert is first looked at: an alert's created_at is taken
   * before its transaction commits, so a span is read only once every insert in it has committed.
   */
  readonly settleMs: number;
  /** How often the daily report time is re-read, in case the tenant changed it. */
  readonly dailyRecheckMs: number;
  /** How long decided windows are kept as history (the scheduler itself needs only the latest). */
  readonly windowRetentionMs: number;
}

/** DEFAULT_SCHEDULER_SETTINGS: look every second, so a window is decided within about a second of its end. */
export const DEFAULT_SCHEDULER_SETTINGS: Omit<SchedulerSettings, 'summaryIntervalMs'> = Object.freeze({
  tickMs: 1_000,
  settleMs: 1_000,
  dailyRecheckMs: 30_000,
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

interface TenantState {
  nextSummaryCheck: number;
  nextDailyCheck: number;
}

/**
 * ReportScheduler is the loop that decides, for each tenant, the summary and daily windows that
 * are due (the immediate emails of Fatal alerts are the ImmediateDecider's). What it remembers in memory only saves
 * queries; what is decided lives in the database, so any number of instances may run it.
 */
export class ReportScheduler {
  readonly settings: SchedulerSettings;
  readonly #deps: SchedulerDeps;
  readonly #tenants = new Map<string, TenantState>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  #nextPurge = 0;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
    this.settings = Object.freeze({ ...DEFAULT_SCHEDULER_SETTINGS, ...deps.settings });
  }

  /** start ticks every tickMs until stop(). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** stop ends the loop after the tick in progress, whose transactions then have committed or rolled back. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delay: number): void {
    this.#timer = setTimeout(() => {
      this.#running = this.tick()
        .catch((err: unknown) => this.#deps.logger.error({ err }, 'the report scheduler could not look at the tenants; will try again'))
        .finally(() => {
          if (!this.#stopped) this.#schedule(this.settings.tickMs);
        });
    }, delay);
  }

  /** tick looks once at every tenant; one tenant's failure is logged and does not stop the others. */
  async tick(): Promise<void> {
    const now = this.#deps.clock.now();
    const tenants = await reportTenants(this.#deps.storage.db);
    let queued = 0;
    // A deleted tenant's remembered state goes with it.
    const present = new Set(tenants.map((t) => t.id));
    for (const id of this.#tenants.keys()) if (!present.has(id)) this.#tenants.delete(id);
    for (const tenant of tenants) {
      try {
        queued += await this.#tickTenant(tenant, now);
      } catch (err) {
        this.#deps.logger.error({ err, tenant: tenant.name }, 'deciding alert emails failed; will try again');
      }
    }
    if (queued > 0) this.#deps.doorbell?.ring();
    if (now >= this.#nextPurge) {
      await purgeDecidedWindows(this.#deps.storage.db, now - this.settings.windowRetentionMs);
      this.#nextPurge = now + 3_600_000;
    }
  }

  async #tickTenant(tenant: ReportTenant, now: number): Promise<number> {
    const { storage, clock, settingsOf } = this.#deps;
    const db = storage.db;
    const s = this.settings;
    let state = this.#tenants.get(tenant.id);
    if (!state) {
      state = { nextSummaryCheck: now, nextDailyCheck: now };
      this.#tenants.set(tenant.id, state);
    }
    let queued = 0;
    // Windows are judged as of `settled`, so every alert created inside one has committed.
    const settled = now - s.settleMs;

    if (now >= state.nextSummaryCheck) {
      const due = dueSummaryWindow(settled, s.summaryIntervalMs, await lastWindowEnd(db, tenant.id, 'summary'), tenant.createdAt);
      if (due) {
        queued += this.#decided('summary', tenant, due, await decideWindow(storage, tenant, 'summary', due, await settingsOf(db, tenant.id), clock));
      }
      state.nextSummaryCheck = (Math.floor(settled / s.summaryIntervalMs) + 1) * s.summaryIntervalMs + s.settleMs;
    }

    if (now >= state.nextDailyCheck) {
      const settings = await settingsOf(db, tenant.id);
      const time = parseReportTime(settings.dailyReportTime);
      const due = dueDailyWindow(settled, time, tenant.timeZone, await lastWindowEnd(db, tenant.id, 'daily'), tenant.createdAt);
      if (due) {
        queued += this.#decided('daily', tenant, due, await decideWindow(storage, tenant, 'daily', due, settings, clock));
      }
      state.nextDailyCheck = Math.min(now + s.dailyRecheckMs, nextReportInstant(settled, time, tenant.timeZone) + s.settleMs);
    }

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
