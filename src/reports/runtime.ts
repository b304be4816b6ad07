import type { ReadCache } from '../shared/read-cache.js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { FatalSignal } from '../alerts/fatal-signal.js';
import type { CommitDecision } from '../alerts/ingest.js';
import { ActionLinks } from '../actions/links.js';
import type { Config } from '../config.js';
import type { LeasedReads } from '../delivery/outbox/leased-reads.js';
import type { ComposerRegistry } from '../delivery/outbox/render.js';
import { getMailSettings, getMailSettingsOf } from '../settings/mail-settings.js';
import type { Clock } from '../shared/clock.js';
import type { SecretBox } from '../settings/secret-box.js';
import type { Storage } from '../storage/storage.js';
import type { UrgentSends } from '../shared/urgent-sends.js';
import type { LoopTimings } from '../pipeline.js';
import { reportComposers } from './composers.js';
import { ReportMetrics } from './metrics.js';
import { ImmediateDecider, type ImmediateSender, decideInCommit } from './immediate.js';
import { ReportScheduler } from './scheduler.js';
import { UnsubscribeLinks } from './unsubscribe/links.js';

/** ReportRuntimeDeps are what startTocsin hands the reports. */
export interface ReportRuntimeDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: Pick<Config, 'publicUrl' | 'summaryIntervalSeconds'>;
}

/** composersFor builds the outbox composers of the summary, daily and immediate emails. */
export function composersFor(
  deps: Omit<ReportRuntimeDeps, 'config'> & {
    readonly config: ReportRuntimeDeps['config'] & Pick<Config, 'actionLinkMs'>;
    /** Seals the emails' action links; without it emails carry none. */
    readonly secretBox?: SecretBox;
    /** Keeps what compose reads of the tenant and the recipients' access between claims (ReadCache). */
    readonly kept?: ReadCache;
    /** What the commits of Fatal alerts read for the emails they lease to this process's worker. */
    readonly leasedReads?: LeasedReads;
    /** The urgent emails this process's worker is sending: the reports' renders give way to them. */
    readonly urgentSends?: UrgentSends;
  },
): ComposerRegistry {
  return reportComposers({
    db: deps.storage.db,
    publicUrl: deps.config.publicUrl,
    summaryIntervalMs: deps.config.summaryIntervalSeconds * 1000,
    unsubscribeLinks: new UnsubscribeLinks(deps.storage.db, deps.config.publicUrl, deps.clock),
    clock: deps.clock,
    ...(deps.kept ? { kept: deps.kept } : {}),
    leasedReads: deps.leasedReads,
    urgentSends: deps.urgentSends,
    ...(deps.secretBox ? { actionLinks: new ActionLinks(deps.secretBox, deps.config.publicUrl, deps.config.actionLinkMs, deps.clock) } : {}),
  });
}

/**
 * startReportScheduler starts the loop that decides the alert emails (in a worker or all-in-one
 * process), reading each tenant's mail settings, and rings the outbox doorbell when it queued mail.
 */
export function startReportScheduler(
  deps: ReportRuntimeDeps & {
    readonly doorbell?: { ring(): void };
    readonly registry?: Registry;
    /** Shorter tick and settle for tests (LoopTimings); the scheduler's defaults when left out. */
    readonly timings?: Pick<LoopTimings, 'reportTickMs' | 'reportSettleMs'> | undefined;
  },
): {
  /** stop ends the loop; with `patience` (a stopping process's) not waiting for its look past it (ReportScheduler.stop). */
  stop(patience?: AbortSignal): Promise<void>;
  ticked(): Promise<void>;
} {
  const scheduler = new ReportScheduler({
    storage: deps.storage,
    clock: deps.clock,
    logger: deps.logger.child({ component: 'reports' }),
    doorbell: deps.doorbell,
    settingsOf: getMailSettings,
    settingsOfTenants: getMailSettingsOf,
    settings: {
      summaryIntervalMs: deps.config.summaryIntervalSeconds * 1000,
      ...(deps.timings?.reportTickMs === undefined ? {} : { tickMs: deps.timings.reportTickMs }),
      ...(deps.timings?.reportSettleMs === undefined ? {} : { settleMs: deps.timings.reportSettleMs }),
    },
    metrics: deps.registry ? new ReportMetrics(deps.registry) : undefined,
  });
  scheduler.start();
  return { stop: (patience) => scheduler.stop(patience), ticked: () => scheduler.ticked() };
}

/**
 * startImmediateDecisions decides the immediate emails of the Fatal alerts this process commits as
 * soon as the signal says so (`api` too, whose outbox workers in other processes then find the
 * rows at their next poll), and in every process sweeps for decisions a crash lost; it rings the
 * outbox doorbell. `settled` resolves once what was heard so far is decided.
 */
export function startImmediateDecisions(
  deps: Omit<ReportRuntimeDeps, 'config'> & { readonly doorbell?: { ring(): void }; readonly fatalSignal: FatalSignal },
): { stop(patience?: AbortSignal): Promise<void>; settled(): Promise<void> } {
  const decider = new ImmediateDecider({
    storage: deps.storage,
    clock: deps.clock,
    logger: deps.logger.child({ component: 'reports' }),
    settingsOf: getMailSettings,
    doorbell: deps.doorbell,
  });
  const unsubscribe = deps.fatalSignal.subscribe((commit) => decider.hear(commit));
  decider.start();
  return {
    stop: (patience) => {
      unsubscribe();
      return decider.stop(patience);
    },
    settled: () => decider.settled(),
  };
}

/**
 * immediateInCommit is the decision the ingest runs in the transaction that stores Fatal alerts,
 * reading each tenant's mail settings there: the rows go to this process's worker when there is
 * one (leased at insert), else the doorbell rings once they are committed.
 */
export function immediateInCommit(deps: {
  readonly clock: Clock;
  readonly sender?: ImmediateSender | undefined;
  readonly doorbell: { ring(): void };
  readonly leasedReads?: LeasedReads | undefined;
}): CommitDecision {
  return decideInCommit({ clock: deps.clock, sender: deps.sender, doorbell: deps.doorbell, leasedReads: deps.leasedReads });
}
