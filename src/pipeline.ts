/**
 * The pipeline: an alert's path from POST to an inbox, its stages composed as one value in the
 * order the journey reads. `startTocsin` (server.ts) only starts it, hands `ingest` to the routes
 * and stops it. A stage's failure says whether trying again may help: a StageError
 * (shared/stage-error.ts) is permanent or not, anything else is transient; a permanent one fails
 * the email at once, a transient one is retried until its deadline (bad input at ingest is a 4xx).
 *
 *   ingest    alerts/ingest.ts                  group-commit validated alerts (REST, OData, sources);
 *             sources/pull/connector.ts         poll Orchestrator pull sources; signal the Fatal ones
 *   decide    reports/immediate.ts, scheduler.ts who gets which email: immediate ones in their Fatal
 *                                                alerts' own commit, summaries and daily reports per window
 *   outbox    delivery/outbox/enqueue.ts        one row per email, queued in the decision's own
 *                                                transaction; the doorbell wakes the claim loop
 *   claim     delivery/outbox/worker.ts         lease due rows; admission.ts bounds the sends per
 *                                                tenant and pauses failing servers. Immediate emails
 *                                                skip the claim: leased at insert (leases.ts
 *                                                enqueueLeased), the worker adopts them at commit
 *   resolve endpoint  settings/endpoint.ts      the tenant's SMTP server, secrets opened, read
 *                                                once per claim (attempt.ts, onePerClaim)
 *   compose   reports/composers.ts              render each email at send time from the database
 *   send      delivery/smtp/sender.ts           pooled SMTP connections, errors classified
 *   record    delivery/outbox/attempt-recorder.ts every attempt, in group commits
 *
 * One attempt at one claimed row (resolve → compose → send) is delivery/outbox/attempt.ts.
 */
import { UnsubscribeLinks } from './reports/unsubscribe/links.js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { FatalSignal } from './alerts/fatal-signal.js';
import { type AlertIngest, createAlertIngest, storedAlertsCounter } from './alerts/ingest.js';
import type { Config } from './config.js';
import type { MailSender } from './delivery/contract.js';
import type { EndpointResolver } from './delivery/outbox/attempt.js';
import { LEASED_KEYS, LeasedReads } from './delivery/outbox/leased-reads.js';
import { AttemptRecorder } from './delivery/outbox/attempt-recorder.js';
import { OutboxDoorbell, listenForOutbox, notifyChanges, notifyOutbox } from './delivery/outbox/doorbell.js';
import { OutboxMetrics } from './delivery/outbox/metrics.js';
import type { ComposerRegistry } from './delivery/outbox/render.js';
import { COMMIT_WINDOW_MS, DeliveryWorker } from './delivery/outbox/worker.js';
import { CONNECTIONS_PER_ENDPOINT, createMailSender } from './delivery/smtp/sender.js';
import { mailHealthComposer } from './mail-health/notices.js';
import { mailHealthAfterRecord, mailHealthHeldOut } from './mail-health/store.js';
import { warningBeforeTokenExpiry } from './mail-health/token-expiry.js';
import { composersFor, immediateInCommit, startImmediateDecisions, startReportScheduler } from './reports/runtime.js';
import { endpointContext, resolveEndpoint, resolveSystemEndpoint } from './settings/endpoint.js';
import { settingsSavedSince } from './settings/mail-settings.js';
import { ReadCache } from './shared/read-cache.js';
import { ChangeCount } from './shared/change-count.js';
import { warmImmediateEmails } from './reports/templates/warm-up.js';
import { startPullConnector } from './sources/pull/connector.js';
import { pullFailuresCounter } from './sources/pull/failures.js';
import type { SecretBox } from './settings/secret-box.js';
import type { UrlSmtp } from './settings/smtp-settings.js';
import type { Clock } from './shared/clock.js';
import { stopPatience } from './shared/stop-patience.js';
import { UrgentSends } from './shared/urgent-sends.js';
import type { Storage } from './storage/storage.js';

/**
 * WARM_MS is how long after its last email a worker keeps a connection to an SMTP server open
 * (the system default's from start): a Fatal alert after a quiet spell skips connect and login.
 */
const WARM_MS = 30 * 60_000;

/**
 * IDLE_POLL_MS: on PostgreSQL, how long a worker that found nothing due and nothing falling due
 * sooner waits before looking again. What an `api` process queues wakes it at once (NOTIFY), what
 * this process queues rings its doorbell, and what another worker process queues is that one's to
 * send: the look only catches what no one announced (a row handed back by a stopping worker).
 */
const IDLE_POLL_MS = 2_000;

/**
 * SQLITE_IDLE_POLL_MS: on SQLite, the same longest wait. The worker looks at every poll (250 ms)
 * whether the file changed (ChangeMark: any commit, of this process or another), which tells it of
 * every row queued, handed back or renewed; the claim itself runs only then, or when the next row
 * falls due. This look catches only a wall clock stepped forward, by which rows fall due sooner than
 * the sleep's timer knows.
 */
const SQLITE_IDLE_POLL_MS = 60_000;

/** PipelineDeps are what the pipeline is built from: the process's storage, config and services. */
export interface PipelineDeps {
  readonly storage: Storage;
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly secretBox: SecretBox;
  /** The system default SMTP in force, read once at start (TOCSIN_SMTP_URL, else the built-in catcher's). */
  readonly systemSmtp: UrlSmtp;
  /** Shorter waits of the loops, for tests (StartOptions.timings); the production ones when left out. */
  readonly timings?: LoopTimings;
}

/**
 * LoopTimings shorten the waits of the background loops, for tests that wait on what a loop does
 * next on real timers (a poll, a window's decision, a dead process's rows taken over). Each left
 * out is the loop's production default; `tocsin serve` sets none.
 */
export interface LoopTimings {
  /** How often a worker looks for Orchestrator pull sources that are due (1 s). */
  readonly pullTickMs?: number;
  /** The delivery worker's lease (10 s, DEFAULT_WORKER_SETTINGS): a killed worker's rows move on after about one. */
  readonly outboxLeaseMs?: number;
  /** How often the report scheduler looks for due windows (1 s). */
  readonly reportTickMs?: number;
  /** How long after its end the report scheduler judges a window (1 s; exactness does not hang on it: SchedulerSettings). */
  readonly reportSettleMs?: number;
}

/** Stoppable is a started loop of a stage; `patience` bounds its wait for its database work in progress (stop-patience.ts). */
interface Stoppable {
  stop(patience?: AbortSignal): Promise<void>;
}

/**
 * Pipeline is the running pipeline of one process, stage by stage. Which stages run depends on
 * the role: every process ingests, decides immediate emails and queues; `worker` and `all`
 * processes also decide the window reports and claim, resolve, compose, send and record.
 */
export interface Pipeline {
  readonly ingest: AlertIngest;
  readonly decide: {
    /** settled resolves once the immediate emails of the Fatal alerts committed so far are decided (tests wait on it). */
    settled(): Promise<void>;
    /** reportsTicked resolves once the report scheduler's next look for due windows has ended (at once where none runs); tests wait on it. */
    reportsTicked(): Promise<void>;
  };
  readonly outbox: {
    /** ring wakes the claim loops that can send the rows just queued (this process's, and others' on PostgreSQL). */
    ring(): void;
  };
  /** The claim loop, in a worker process. */
  readonly claim: DeliveryWorker | undefined;
  readonly resolveEndpoint: EndpointResolver;
  /** What resolve and compose keep between emails; forget it when settings or access change. */
  readonly kept: ReadCache;
  /**
   * Counts a change to who gets which email made through this process's API (bump it after each):
   * for this process's worker, and, on PostgreSQL, for the workers of the others (notifyChanges).
   */
  readonly recipientChanges: { bump(tenantId?: string): Promise<void> | undefined };
  readonly compose: ComposerRegistry;
  /** The SMTP sender, in a worker process. */
  readonly send: MailSender | undefined;
  /** The group commit of finished attempts, in a worker process. */
  readonly record: AttemptRecorder | undefined;
  /** stop stops the stages from the first to the last: nothing new comes in, then the sends in flight finish and are recorded. */
  stop(): Promise<void>;
}

/** startPipeline builds every stage in the order an alert meets it and starts those the process's role runs. */
export async function startPipeline(deps: PipelineDeps): Promise<Pipeline> {
  const { storage, config, clock, logger, registry } = deps;
  const sends = config.role !== 'api';
  const remote = storage.dialect === 'postgres';
  // The loops started, stopped in this order: nothing new comes in, then what is decided is
  // queued, and last the sends in flight finish and are recorded before the SMTP pools close.
  let pull: Stoppable | undefined;
  let scheduler: (Stoppable & { ticked(): Promise<void> }) | undefined;
  let immediate: (Stoppable & { settled(): Promise<void> }) | undefined;
  let listener: Stoppable | undefined;
  let delivery: Stoppable | undefined;
  const stop = async () => {
    // One patience for all the loops' database work in progress, so that a database that answers
    // nothing (a partition) holds a stop a few seconds, not each loop's statements one after the other.
    const patience = stopPatience();
    // The LISTEN connection only wakes this process's worker, which claims nothing more: its goodbye
    // (which a partition makes wait its whole bound) goes on meanwhile.
    const listening = listener?.stop();
    for (const loop of [pull, scheduler, immediate, delivery]) await loop?.stop(patience);
    await listening;
    pull = scheduler = immediate = listener = delivery = undefined;
  };
  try {
    // outbox: decisions queue rows in their own transaction, then ring. On PostgreSQL an api
    // process's ring also reaches the workers of other processes.
    const doorbell = new OutboxDoorbell();
    const metrics = new OutboxMetrics(registry, storage, clock);
    const ring = () => {
      doorbell.ring();
      if (remote && !sends) notifyOutbox(storage.db).catch((err: unknown) => logger.warn({ err }, 'could not notify the workers; they poll'));
    };

    // resolve endpoint, compose: what one attempt reads at send time.
    // What composing reads of access (names, permissions), kept between emails; forgotten on every
    // change made through this process's API (server.ts).
    const kept = new ReadCache();
    // Emails rendered before such a change and still waiting for a connection go back to the queue (attempt.ts).
    const recipientChanges = new ChangeCount();
    // What the commit of a Fatal alert read for the emails it leased to this process's worker (the
    // settings, the alert's facts, the tenant's names, the readers' addresses and permissions), taken
    // instead of reading them again right after it, until the next change made through the API (kept's forget).
    const leasedReads = new LeasedReads(undefined, () => kept.generation);
    const context = endpointContext(config, deps.systemSmtp, clock);
    const resolve: EndpointResolver = warningBeforeTokenExpiry(
      (tenantId, route, leaseToken, stop) =>
        route === 'system'
          ? resolveSystemEndpoint(storage.db, deps.secretBox, context)
          : resolveEndpoint(storage.db, deps.secretBox, tenantId, context, leasedReads.get(leaseToken, LEASED_KEYS.sendSettings(tenantId)), stop),
      storage.db,
      () => clock.now(),
      { publicUrl: config.publicUrl, onQueued: ring, onError: (err) => logger.warn({ err }, 'could not check the XOAUTH2 token expiry') },
    );
    // The Fatal alerts' emails this process's worker sends go before its reports' renders.
    const urgentSends = new UrgentSends();
    // And SQLite's idle checkpoint and V8's scavenge, which ran as a slow server's Fatal email waited for its replies.
    storage.upkeepWaitsWhile?.(() => urgentSends.pressing);
    const compose = {
      ...composersFor({ storage, clock, logger, config, secretBox: deps.secretBox, kept, leasedReads, urgentSends }),
      'mail-health': mailHealthComposer(storage.db, new UnsubscribeLinks(storage.db, config.publicUrl, clock), clock),
    };
    // Every alert this process stores is counted once committed: the ingest's, the pull sources',
    // and the Mail.DeliveryFailing alert that a mail incident raises in the outbox's commit.
    const countStored = storedAlertsCounter(registry);
    const notices = { publicUrl: config.publicUrl, log: logger, countStored };

    // claim → (resolve → compose → send) → record, in worker processes: built first, since the
    // ingest hands the immediate emails it queues straight to this worker, and started below.
    let send: MailSender | undefined;
    let record: AttemptRecorder | undefined;
    let claim: DeliveryWorker | undefined;
    if (sends) {
      send = createMailSender({ maxConnections: CONNECTIONS_PER_ENDPOINT, warmMs: WARM_MS, clock });
      // record keeps each tenant's mail health in the commit of the attempts that tell it.
      record = new AttemptRecorder(storage, COMMIT_WINDOW_MS[storage.dialect], mailHealthAfterRecord(storage.dialect, notices));
      claim = new DeliveryWorker({
        storage,
        clock,
        sender: send,
        resolveEndpoint: resolve,
        settingsSavedSince: (delivery, route, since) => settingsSavedSince(storage.db, delivery.tenantId, route, since),
        recipientChanges,
        composers: compose,
        urgentSends,
        recorder: record,
        // An idle worker wakes when the next row falls due, or at an api process's NOTIFY (PostgreSQL)
        // or commit (SQLite's file changed), rather than claim 4 times a second (each worker process
        // paid it: 0.4-0.9 CPU-ms a claim on SQLite).
        settings: {
          deliveryDeadlineMs: config.deliveryDeadlineMs,
          idlePollIntervalMs: remote ? IDLE_POLL_MS : SQLITE_IDLE_POLL_MS,
          ...(deps.timings?.outboxLeaseMs === undefined ? {} : { leaseMs: deps.timings.outboxLeaseMs }),
        },
        logger: logger.child({ component: 'delivery' }),
        metrics,
        doorbell,
        // A paused server's tenants whose emails it holds out have their mail failing too.
        heldOut: mailHealthHeldOut(storage, notices),
      });
      const worker = claim;
      metrics.watchDue((now) => worker.pausedTenants(now));
    }

    // ingest → decide: a Fatal alert's immediate emails are decided and queued in the alert's own
    // commit, leased to this process's worker, which sends them once it is durable. The alerts of
    // pull sources (and of a decision in the commit that failed) are signalled to the decider.
    const fatalSignal = new FatalSignal();
    const ingest = createAlertIngest({
      storage,
      clock,
      floodWindowMs: config.floodWindowMs,
      countStored,
      fatalSignal,
      decideInCommit: immediateInCommit({ clock, sender: claim, doorbell: { ring }, leasedReads }),
      logger,
    });

    // decide: immediate emails of the alerts stored undecided (every role; each also sweeps for
    // decisions a crash lost), and the window reports where the workers run.
    immediate = startImmediateDecisions({ storage, clock, logger, doorbell: { ring }, fatalSignal });
    const decided = immediate;
    if (sends) scheduler = startReportScheduler({ storage, clock, logger, config, doorbell, registry, timings: deps.timings });

    if (claim && send) {
      const [worker, sender] = [claim, send];
      // The first Fatal alert's email is rendered and encoded as fast as the next ones: the code
      // and the templates it runs are compiled now, before the process says it is ready.
      warmImmediateEmails();
      worker.start();
      // The system default server's connection opens now, not when the first Fatal alert needs it.
      resolveSystemEndpoint(storage.db, deps.secretBox, context).then(
        (endpoint) => sender.warm(endpoint),
        (err: unknown) => logger.warn({ err }, 'could not read the system SMTP settings to open a connection ahead of the first email'),
      );
      delivery = {
        async stop(patience) {
          // The claim loop finishes the sends in flight and records them before the SMTP pools close.
          await worker.stop(patience);
          await sender.close();
        },
      };
      // Another process's change to who gets which email: the emails rendered before it go back to the queue, as for this one's.
      if (remote)
        listener = await listenForOutbox(config.databaseUrl, doorbell, logger, (tenantId) => {
          kept.forget();
          recipientChanges.bump(tenantId);
          logger.debug({ tenant: tenantId }, 'heard of a change to who gets which email');
        });
      // ingest, pulled: the workers poll Orchestrator pull sources (a lease on each source keeps two
      // workers from polling it at once), started last, once their alerts' decider listens.
      pull = startPullConnector({
        db: storage.db,
        secretBox: deps.secretBox,
        clock,
        logger,
        floodWindowMs: config.floodWindowMs,
        fatalSignal,
        countStored,
        countFailure: pullFailuresCounter(registry),
        tickMs: deps.timings?.pullTickMs,
        hosts: { allowPrivateHosts: config.allowPrivateSmtpHosts },
      });
    }

    return {
      ingest,
      decide: { settled: () => decided.settled(), reportsTicked: async () => scheduler?.ticked() },
      outbox: { ring },
      claim,
      resolveEndpoint: resolve,
      kept,
      recipientChanges: {
        bump(tenantId) {
          recipientChanges.bump(tenantId);
          // Told before the change's answer leaves, so a client that acts on the answer finds it heard.
          if (remote) return notifyChanges(storage.db, tenantId).catch((err: unknown) => logger.warn({ err }, 'could not tell the other workers of a change'));
        },
      },
      compose,
      send,
      record,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
