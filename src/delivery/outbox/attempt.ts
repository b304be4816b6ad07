import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.js';
import type { OutageLog } from '../../storage/outage-log.js';
import { maskSecrets, serverSaid } from '../../shared/redact.js';
import { isRetryable } from '../../shared/stage-error.js';
import {
  EndpointError,
  LocalSendError,
  type Mailbox,
  type MailSender,
  type OutgoingEmail,
  type PendingEmail,
  type RenderedEmail,
  SendCalledOffError,
  type ServerFailure,
  type SmtpEndpoint,
  SmtpDeliveryError,
} from '../contract.js';
import { bindMessageIds } from '../message-id.js';
import { refusedAsTooLarge } from '../smtp/too-large.js';
import { endpointSecrets } from '../smtp/transport-options.js';
import { type EndpointGate, serverAddress } from './admission.js';
import { ComposeLaterError, type ComposerRegistry, renderDelivery } from './render.js';
import type { Delivery } from './delivery.js';
import type { OutboxMetrics } from './metrics.js';
import { isUrgentKind } from './urgency.js';
import type { MailHealthSignal } from '../../mail-health/model.js';
import type { AttemptResult, FailureStage } from './outcomes.js';
import { type Random, decideAfterFailure } from './retry-policy.js';

/**
 * EndpointRoute says whose server an email goes through: the tenant's effective one (alert
 * emails), or the system default (the notices about the tenant's own server, which may be failing).
 */
export type EndpointRoute = 'tenant' | 'system';

/**
 * EndpointResolver gives a tenant's effective SMTP endpoint (its custom settings or the system
 * default), or the system default for the `system` route, or throws why it has none: a StageError
 * saying whether that may pass (settings' resolveEndpoint and its EndpointRefusedError). The rows'
 * lease token finds what the commit that leased them read of the settings (LeasedReads). A lookup
 * of the server's name (private hosts refused) ends at `stop`, the worker's, rejecting with its reason.
 */
export type EndpointResolver = (tenantId: string, route: EndpointRoute, leaseToken: string | null, stop?: AbortSignal) => Promise<SmtpEndpoint>;

/** routeOf is the route of a delivery: the mail health notices go through the system default. */
function routeOf(delivery: Delivery): EndpointRoute {
  return delivery.kind === 'mail-health' ? 'system' : 'tenant';
}

/** ClaimEndpoints gives the endpoint of a claimed row's tenant, as resolved for the row's claim. */
export interface ClaimEndpoints {
  (delivery: Delivery): Promise<SmtpEndpoint>;
  /** When (the clock's ms) the settings of the row's claim were read for its endpoint; undefined before. */
  readAt(delivery: Delivery): number | undefined;
}

/** Claims whose resolutions are kept: far more than a worker holds at once (a few claims of 100 rows). */
const CLAIMS_KEPT = 1_024;

/**
 * onePerClaim is the settings resolver of the claim stage: it reads each tenant's mail settings
 * once per claim. The rows one claim took (one lease token) share their tenant's resolution,
 * refusal or failure included, and the next claim reads afresh, so a change of settings applies
 * from the next claim on; settings are not read and decrypted per email.
 */
export function onePerClaim(resolve: EndpointResolver, clock: Clock, stop?: AbortSignal): ClaimEndpoints {
  const resolutions = new Map<string, { readonly endpoint: Promise<SmtpEndpoint>; readonly at: number }>();
  const keyOf = (delivery: Delivery) => `${delivery.leaseToken}:${delivery.tenantId}:${routeOf(delivery)}`;
  const endpointOf = (delivery: Delivery) => {
    const key = keyOf(delivery);
    let resolution = resolutions.get(key);
    if (!resolution) {
      resolution = { at: clock.now(), endpoint: resolve(delivery.tenantId, routeOf(delivery), delivery.leaseToken, stop) };
      // A refusal or failure is the claim's answer too; it is read when the rows are awaited.
      resolution.endpoint.catch(() => {});
      resolutions.set(key, resolution);
      // Maps iterate in insertion order: the first key is the oldest.
      if (resolutions.size > CLAIMS_KEPT) resolutions.delete(resolutions.keys().next().value!);
    }
    return resolution.endpoint;
  };
  return Object.assign(endpointOf, { readAt: (delivery: Delivery) => resolutions.get(keyOf(delivery))?.at });
}

/**
 * AttemptOutcome is an attempt's result to record, or `deferred`: the server's breaker is open, or
 * the worker stopped before a connection took the email, so the row goes back unrecorded, or `unleased`: the worker's lease on the row was lost or is in
 * doubt, so it was not sent and is left to whoever claims it next.
 */
export type AttemptOutcome = AttemptResult | { readonly status: 'deferred'; readonly retryAt: number } | { readonly status: 'unleased' };

/** AttemptContext is what one attempt reads and talks to; the claim loop builds it once. */
export interface AttemptContext {
  readonly clock: Clock;
  readonly sender: MailSender;
  readonly endpointOf: ClaimEndpoints;
  readonly composers: ComposerRegistry;
  readonly gate: EndpointGate;
  readonly log: Logger;
  readonly random: Random;
  /** How long transient failures are retried when the row names no deadline. */
  readonly deliveryDeadlineMs: number;
  readonly metrics?: OutboxMetrics | undefined;
  /**
   * Whether the worker's lease on the row still stands, confirmed for `ticks` more of its heartbeat
   * (two unless given); asked just before the email goes to the sender, and with one before its message goes out.
   */
  readonly leased?: ((delivery: Delivery, ticks?: number) => boolean) | undefined;
  /** Aborted when the worker stops: a send still waiting for a connection is called off and its row handed back. */
  readonly stopping?: AbortSignal | undefined;
  /**
   * How many of the row's earlier attempts the server failed for now (`retry` in the attempt log):
   * the retry ladder's step. An attempt a dead worker left (`interrupted`) was no answer of the
   * server's; without it, every earlier attempt counts.
   */
  readonly failedBefore?: ((delivery: Delivery) => Promise<number>) | undefined;
  /**
   * Whether the settings a row's emails go by (its tenant's, the system default) were saved after
   * `since`: a failure for now of an attempt that went by the settings read before such a save is
   * retried at once, with the new ones.
   */
  readonly settingsSavedSince?: ((delivery: Delivery, route: EndpointRoute, since: number) => Promise<boolean>) | undefined;
  /**
   * How many changes to who gets which email of a tenant were made through this process's API
   * (ChangeCount): an email rendered before one, still waiting for a connection, is not started but
   * goes back to the queue, to be rendered again (a reader deleted or who snoozed it gets none).
   */
  readonly changes?: ((tenantId: string) => number) | undefined;
  /** Logs the sends this process failed itself (LocalSendError) as an outage: once when they begin, once when one is sent again. */
  readonly localFailures?: OutageLog | undefined;
}

/**
 * outgoingEmail addresses a rendered email to the delivery's recipient. The bodies are passed on
 * as they are read, not copied: a composer that prepared the MIME (ImmediateEmailCache) fills them
 * in only when read, and the sender, writing the prepared MIME, reads neither.
 */
function outgoingEmail(email: RenderedEmail, delivery: Delivery): OutgoingEmail {
  return {
    subject: email.subject,
    get text() {
      return email.text;
    },
    get html() {
      return email.html;
    },
    headers: { 'X-Tocsin-Kind': delivery.kind, ...email.headers },
    prepared: email.prepared,
    to: email.to ?? recipientOf(delivery),
    messageId: delivery.messageId,
  };
}

function recipientOf(delivery: Delivery): Mailbox {
  return { address: delivery.recipient.address, name: delivery.recipient.name };
}

/** SHORTENED_WHEN_TOO_LARGE are the kinds whose composer can render a shorter email (fewer lines, the rest counted). */
const SHORTENED_WHEN_TOO_LARGE: ReadonlySet<Delivery['kind']> = new Set(['summary', 'daily']);

/**
 * rendersWhileSending is whether an email's render can run while its SMTP transaction starts
 * (PendingEmail): a Fatal alert's email at its first attempt, whose render reads only what the
 * commit that decided it read (or a claim's batch) and calls nothing off. A retry may find its reader
 * gone or muted, and a report may find nothing left to report: those render first, for an email
 * called off should cost no SMTP transaction, and ending one costs its connection.
 */
function rendersWhileSending(delivery: Delivery): boolean {
  return delivery.kind === 'immediate' && delivery.attempts === 1;
}

/**
 * attemptDelivery is one attempt at one claimed row: resolve the tenant's endpoint, render the
 * email, ask the server's breaker, send, and turn the answer into what to record (sent, retrying
 * at the policy's next time, or failed), every stored text cleared of the endpoint's secrets.
 * A Fatal alert's first email renders while the server answers its envelope (rendersWhileSending).
 */
export async function attemptDelivery(ctx: AttemptContext, delivery: Delivery): Promise<AttemptOutcome> {
  // Every stage's error says whether it is permanent (StageError); anything else is transient.
  let endpoint: SmtpEndpoint;
  let email: RenderedEmail | undefined;
  try {
    endpoint = await ctx.endpointOf(delivery);
  } catch (err) {
    // A stopping worker's email whose server's name was still being looked up: nothing was sent, it goes back to the queue now.
    if (ctx.stopping?.aborted && err === ctx.stopping.reason) return { status: 'deferred', retryAt: ctx.clock.now() };
    // The server's name looked up with no file descriptor left: this process's failure, as at the connection.
    if (err instanceof LocalSendError) return localFailure(ctx, delivery, err);
    // A lookup of the server's name that got no answer within the endpoint's timeout (settings'
    // guardEndpoint) fails as a server that never answers does: at the connect stage, retryable.
    const unanswered = err instanceof SmtpDeliveryError ? err : undefined;
    const error = unanswered ? `${unanswered.stage}: ${unanswered.message}` : `mail settings: ${messageOf(err)}`;
    const stage = unanswered?.stage ?? 'settings';
    const result = await failure(ctx, delivery, isRetryable(err), stage, error);
    // Settings that can no longer be used fail every email as surely as a refused password: never silently.
    const failsMail = err instanceof EndpointError && err.failsMail;
    if (!failsMail && !unanswered) return result;
    const signal = healthOf(delivery, {
      kind: isRetryable(err) ? 'transient' : 'permanent',
      error,
      ...(unanswered?.unreached ? { unreached: unanswered.unreached } : {}),
    });
    // As for a refusing server: under fallbackToDefault this email goes again at once, through the system default.
    if (failsMail && err.fallsBack && signal?.kind === 'permanent') return { status: 'retrying', nextAttemptAt: ctx.clock.now(), error, stage, health: signal };
    return { ...result, health: signal && gaveUpOn(signal, result.status === 'failed') };
  }
  const secrets = endpointSecrets(endpoint);
  // What its render reads of who gets it, and how, stands until the next change of its tenant's (ChangeCount).
  const changes = ctx.changes;
  const seen = changes?.(delivery.tenantId);
  // A render that must wait (ComposeLaterError) hands the row back untried, as a stop or a pause does.
  const renderFailure = (err: unknown): AttemptOutcome | Promise<AttemptOutcome> =>
    err instanceof ComposeLaterError
      ? { status: 'deferred', retryAt: err.retryAt }
      : failure(ctx, delivery, isRetryable(err), 'render', maskSecrets(`render: ${messageOf(err)}`, secrets));
  if (!rendersWhileSending(delivery)) {
    try {
      email = await renderDelivery(delivery, ctx.composers);
    } catch (err) {
      return renderFailure(err);
    }
  }

  const admitted = await admitPastPause(ctx, delivery, endpoint);
  if (admitted !== 'probe' && admitted !== 'send') return admitted;
  // The probe that reaches no server (called off, its lease lost) hands its turn on: else the
  // server stayed paused for good in this worker, its tenants' rows never claimed again.
  const untried = <T>(outcome: T): T => {
    if (admitted === 'probe') ctx.gate.probeUntried(endpoint);
    return outcome;
  };

  // The last moment this worker can stop a send: once handed to the sender, the email goes out.
  // A render still under way is the last moment itself: its message is not written if the lease is gone.
  if (ctx.leased && !ctx.leased(delivery)) return untried({ status: 'unleased' });
  let calledOff: AttemptOutcome | Promise<AttemptOutcome> | undefined;
  const outgoing: OutgoingEmail | PendingEmail = email
    ? outgoingEmail(email, delivery)
    : {
        to: recipientOf(delivery),
        rendering: renderDelivery(delivery, ctx.composers).then(
          (rendered) => {
            if (ctx.leased && !ctx.leased(delivery)) {
              calledOff = { status: 'unleased' };
              throw new Error('lease lost while rendering');
            }
            // Written for its reader's new address, while its envelope went to the former one: nothing of it goes
            // there; the row, moved to the new address, goes back to the queue and is sent there next.
            if (rendered.to) {
              calledOff = { status: 'deferred', retryAt: ctx.clock.now() };
              throw new Error('its reader has a new address');
            }
            return outgoingEmail(rendered, delivery);
          },
          (err: unknown) => {
            // A stopping worker's render (its database closing, the send called off and handed back
            // already): nothing was sent, the row goes back to the queue, and no failure is told.
            calledOff = ctx.stopping?.aborted ? { status: 'deferred', retryAt: ctx.clock.now() } : renderFailure(err);
            throw err;
          },
        ),
      };
  // Until when the server is paused, if a connection took the email after its pause began (mayStart below).
  let pausedUntil: number | undefined;
  const unpaused = () => {
    pausedUntil = admitted === 'probe' ? undefined : ctx.gate.pausedUntil(endpoint, ctx.clock.now());
    return pausedUntil === undefined;
  };
  const t0 = performance.now();
  try {
    // Checked again when a connection takes it: one that waited for a connection past its lease is not sent;
    // and before its message goes out, with a tick's margin: one frozen past its lease is not finished.
    // And when a connection takes it: one that waited while its reader was deleted or snoozed it goes back to the queue,
    // to be rendered again (called off, as a stopping worker's, so deferred to now).
    // And when a connection takes it: one let through before its server was paused (the sends ahead of
    // it failed meanwhile) waits for the pause's end with the others, rather than hold its slot for
    // one more timeout of a hanging server; the probe goes on, it is what ends the pause.
    const leased = ctx.leased;
    const receipt = await ctx.sender.send(endpoint, outgoing, {
      signal: ctx.stopping,
      mayStart: () => (!leased || leased(delivery)) && (!changes || changes(delivery.tenantId) === seen) && unpaused(),
      mayFinish: leased && (() => leased(delivery, 1)),
      // Ahead of the reports waiting for one of the server's connections, as it was claimed and admitted ahead of them.
      urgent: isUrgentKind(delivery.kind),
      // Taking turns with other tenants' emails for a server they share (the system default).
      tenantId: delivery.tenantId,
    });
    ctx.metrics?.smtpLatency.observe({ outcome: 'sent' }, (performance.now() - t0) / 1000);
    ctx.localFailures?.worked();
    ctx.gate.endpointAnswered(endpoint);
    const response = serverSaid(receipt.response, secrets);
    // Logged as such in the delivery log; it says nothing of the tenant's own server.
    const messageId = receipt.messageId;
    if (endpoint.fallback) return { status: 'sent', response: `${FALLBACK_NOTE}${response}`, messageId };
    return { status: 'sent', response, messageId, health: healthOf(delivery, { kind: 'delivered' }) };
  } catch (err) {
    // An email that no connection had taken: nothing was sent. Its lease gone, the row is its new
    // owner's; else a stopping worker's, it goes back to the queue now.
    if (err instanceof SendCalledOffError)
      return untried(ctx.leased && !ctx.leased(delivery) ? { status: 'unleased' } : { status: 'deferred', retryAt: pausedUntil ?? ctx.clock.now() });
    if (calledOff) return untried(await calledOff);
    ctx.metrics?.smtpLatency.observe({ outcome: 'error' }, (performance.now() - t0) / 1000);
    // This process's own failure (no file descriptor for the socket): the server was not tried, so
    // neither its breaker nor the tenant's mail health hears of it; the operator does, once.
    if (err instanceof LocalSendError) return untried(await localFailure(ctx, delivery, err));
    const smtp = err instanceof SmtpDeliveryError ? err : undefined;
    const retryable = isRetryable(err);
    // An error that is not the SMTP dialogue's (none is expected) is counted where the dialogue begins.
    const stage = smtp?.stage ?? 'connect';
    // Standing in for the tenant's server, the system default's refusal says so, as its acceptance does.
    const note = endpoint.fallback ? FALLBACK_REFUSED_NOTE : '';
    const error = note + serverSaid(smtp ? `${smtp.stage}: ${smtp.message}` : messageOf(err), secrets);
    const response = smtp?.response === undefined ? undefined : note + serverSaid(smtp.response, secrets);
    // A refused recipient is that address's problem, not the server's, unless the refusal is the
    // server's policy (relaying denied): that one may refuse every alert email. So is one mailbox
    // refused after DATA by a server that looks it up only then. An open breaker is no more than a
    // run of transient failures (five in one burst, a server restarting): mail health waits for
    // them to go on, as for any transient failure, before it calls the tenant's mail failing.
    const reply = response ?? error;
    // A refusal at RCPT of the sender or of this client (refusesSender) is the server's, as a relay refusal is.
    const refusesEveryone = refusesToRelay(reply) || refusesSender(reply);
    const recipientsOwn =
      !retryable && ((smtp?.stage === 'recipient' && !refusesEveryone) || (smtp?.stage === 'data' && refusesOneMailbox(reply) && !refusesSender(reply)));
    // A mailbox refusing for now (full, greylisted): given up on while the server took other emails,
    // it is that mailbox's problem (MailHealthSignal's mailboxRefused: the store reads when this email
    // first failed from its attempt log). Its first try alone proves nothing of the others.
    const mailboxRefused = mailboxRefusesForNow(smtp) && delivery.attempts > 1 ? { mailboxRefused: true } : {};
    // A relay refusal (or of the sender) is the server's only while it delivers no other email (MailHealthSignal's
    // relayDenied: the store reads when it last took one). Not under fallbackToDefault: there the
    // refusal sends this email through the system default at once, which only an incident does.
    // At the tls stage too: a relay refusal for want of a sign-in offered only over TLS, which the settings
    // declined (classify.ts), is placed at what to change, and still refuses only the readers the server does not keep.
    const atRcpt = smtp?.stage === 'recipient' || smtp?.stage === 'tls';
    const relayDenied = !retryable && atRcpt && refusesEveryone && !endpoint.fallsBack ? { relayDenied: true } : {};
    // Mail health shows the server's reply, but a refused upgrade's ("500 command not recognized" to
    // STARTTLS) names no command: there it shows what failed, the reply in it.
    const failed: ServerFailure = {
      code: smtp?.code,
      error: smtp?.stage === 'tls' ? error : reply,
      // No server answered: mail health words why in each reader's language, then these words of Node's.
      ...(smtp?.unreached ? { unreached: { cause: smtp.unreached.cause, detail: serverSaid(smtp.unreached.detail, secrets) } } : {}),
    };
    // A transient failure counts against the endpoint (the tenants a pause holds out are told it);
    // a definite answer (5xx) proves it is up, and so does a mailbox refusing for now (greylisting,
    // a full mailbox: 4xx to RCPT): else five readers with such mailboxes in a row paused the
    // server, the system default's for every tenant on it, up to 10 minutes.
    if (retryable && !mailboxRefusesForNow(smtp)) ctx.gate.endpointFailed(endpoint, ctx.clock.now(), failed);
    else ctx.gate.endpointAnswered(endpoint);
    const signal: MailHealthSignal | undefined = recipientsOwn
      ? undefined
      : { kind: retryable ? 'transient' : 'permanent', ...failed, ...mailboxRefused, ...relayDenied };
    // A report refused for its size (a big day's summary or daily report over the server's message
    // size limit) goes again at once, shorter: its composer reads refusedAsTooLarge from this outcome.
    // Nothing is wrong with the tenant's mail, so no incident; refused so again, it fails as any refusal.
    if (!retryable && SHORTENED_WHEN_TOO_LARGE.has(delivery.kind) && !delivery.refusedAsTooLarge && refusedAsTooLarge(smtp?.code, reply))
      return { status: 'retrying', nextAttemptAt: ctx.clock.now(), error, stage, code: smtp?.code, response };
    const health = signal && !endpoint.fallback ? healthOf(delivery, signal) : undefined;
    // Under fallbackToDefault the refusal that starts the fallback loses no email either: it goes
    // again at once, and its next claim resolves the system default (the health of this commit).
    if (endpoint.fallsBack && health?.kind === 'permanent')
      return { status: 'retrying', nextAttemptAt: ctx.clock.now(), error, stage, code: smtp?.code, response, health };
    const result = await failure(ctx, delivery, retryable, stage, error, smtp?.code, response);
    // A message sent whole whose answer never came (a timeout or a drop after ".") may have been
    // delivered: its resend keeps the Message-ID it went with, for the receiver's deduplication,
    // even if the From address (and so the ID's domain) changes in between. A message refused
    // after "." is logged under the ID the server saw and logged too.
    const messageId = smtp?.stage === 'data' ? bindMessageIds(delivery.messageId, endpoint.fromAddress) : undefined;
    return { ...result, messageId, health: health && gaveUpOn(health, retryable && result.status === 'failed') };
  }
}

/**
 * admitPastPause asks the server's breaker whether the email may go now ('send', or 'probe' when it
 * is the send that decides whether a paused server is back), or what becomes of it: deferred until
 * the breaker lets sends through, or failed once its deadline has passed while the server was
 * paused. An email past its deadline claimed along with the probe waits for the probe's verdict:
 * the server back, it gets its one last try (as an email whose deadline passed while Tocsin was
 * down does); failing again, it fails now.
 */
async function admitPastPause(ctx: AttemptContext, delivery: Delivery, endpoint: SmtpEndpoint): Promise<'send' | 'probe' | AttemptOutcome> {
  const tenantId = routeOf(delivery) === 'tenant' ? delivery.tenantId : null;
  let verdict = ctx.gate.admitEndpoint(tenantId, endpoint, ctx.clock.now());
  if (verdict.allow) return verdict.probe ? 'probe' : 'send';
  if (ctx.clock.now() < deadlineOf(ctx, delivery)) return { status: 'deferred', retryAt: verdict.retryAt };
  if (verdict.probe) {
    const back = await probeVerdict(verdict.probe, ctx.stopping);
    if (back === 'stopped') return { status: 'deferred', retryAt: ctx.clock.now() };
    if (back) {
      verdict = ctx.gate.admitEndpoint(tenantId, endpoint, ctx.clock.now());
      if (verdict.allow) return verdict.probe ? 'probe' : 'send';
    }
  }
  // A paused endpoint still cannot keep an email past its deadline: it fails then, like a retry would.
  // Mail health hears why the server is paused, its own failure: the pause is Tocsin's, no reason.
  const error = `connect: ${serverAddress(endpoint)} keeps failing; paused until the deadline passed`;
  const failed = ctx.gate.lastFailure(endpoint) ?? { error };
  const health = endpoint.fallback ? undefined : healthOf(delivery, { kind: 'transient', ...failed, gaveUp: true });
  return { ...(await failure(ctx, delivery, true, 'connect', error)), health };
}

/** probeVerdict waits for a probe's verdict, or for the worker to stop ('stopped': the row goes back to the queue). */
function probeVerdict(probe: Promise<boolean>, stopping: AbortSignal | undefined): Promise<boolean | 'stopped'> {
  if (!stopping) return probe;
  if (stopping.aborted) return Promise.resolve('stopped');
  return new Promise((resolve) => {
    const stop = () => resolve('stopped');
    stopping.addEventListener('abort', stop, { once: true });
    probe.then((back) => {
      stopping.removeEventListener('abort', stop);
      resolve(back);
    });
  });
}

/** localFailure is the retry of an email this process failed itself (LocalSendError), told the operator once (localFailures). */
function localFailure(ctx: AttemptContext, delivery: Delivery, err: LocalSendError): Promise<AttemptResult> {
  ctx.localFailures?.failed(err);
  return failure(ctx, delivery, true, 'local', `${err.stage}: ${err.message}`);
}

async function failure(
  ctx: AttemptContext,
  delivery: Delivery,
  retryable: boolean,
  stage: FailureStage,
  error: string,
  code?: number,
  response?: string,
): Promise<AttemptResult> {
  const decision = decideAfterFailure({
    retryable,
    attempts: retryable ? await serverFailures(ctx, delivery) : delivery.attempts,
    now: ctx.clock.now(),
    deadline: deadlineOf(ctx, delivery),
    random: ctx.random,
  });
  if (decision.status === 'failed') {
    // A transient failure (451 try later) that ends its email only because the deadline came says
    // so: the bare reply read as the server refusing the email for good.
    const said = retryable ? gaveUpText(deadlineOf(ctx, delivery) - delivery.createdAt, error) : error;
    // An email given up on is what an operator running at LOG_LEVEL=warn must still see.
    ctx.log.warn({ delivery: delivery.id, tenant: delivery.tenantId, stage, code, error: said }, 'delivery failed');
    return { status: 'failed', error: said, stage, code, response };
  }
  // Settings saved while this attempt went by the ones read before (another server, a corrected
  // password): the save made due at once the emails then waiting (retryTenantNow), not this one, in
  // flight; it tries the new settings now too, not after its backoff (up to 30 minutes).
  const at = (await savedSinceRead(ctx, delivery)) ? ctx.clock.now() : decision.nextAttemptAt;
  // Logged as a final failure is: an operator sees a greylisting or a full mailbox before its deadline.
  ctx.log.info({ delivery: delivery.id, tenant: delivery.tenantId, stage, code, error, nextAttemptAt: new Date(at).toISOString() }, 'delivery will be retried');
  return { status: 'retrying', nextAttemptAt: at, error, stage, code, response };
}

/** savedSinceRead tells whether the row's settings were saved after its claim read them (false when that cannot be told now). */
async function savedSinceRead(ctx: AttemptContext, delivery: Delivery): Promise<boolean> {
  const readAt = ctx.endpointOf.readAt(delivery);
  if (readAt === undefined || !ctx.settingsSavedSince) return false;
  try {
    return await ctx.settingsSavedSince(delivery, routeOf(delivery), readAt);
  } catch {
    // The database away: the backoff stands, as it would have without the save.
    return false;
  }
}

/**
 * serverFailures counts this attempt's failure and the earlier ones the server gave, for the retry
 * ladder: attempts that crashed or stopped workers left unfinished (kill -9, a lease given up) are
 * not the server's, else a single 450 after two restarts waited 10 minutes instead of 30 s. A first
 * attempt needs no look; one the attempt log cannot answer now counts every earlier attempt.
 */
async function serverFailures(ctx: AttemptContext, delivery: Delivery): Promise<number> {
  if (delivery.attempts <= 1 || !ctx.failedBefore) return delivery.attempts;
  try {
    return (await ctx.failedBefore(delivery)) + 1;
  } catch {
    return delivery.attempts;
  }
}

/**
 * refusesToRelay tells a server that relays for nobody of ours ("550 5.7.54 Unable to relay",
 * "554 5.7.1 Relay access denied") from a recipient refused for its own sake (5.1.1 no such user,
 * 5.2.2 mailbox full, and the same 5.7.1 of a policy barring that one address, e.g. Postfix's
 * "Recipient address rejected: Access denied"): only the first may refuse every alert email, so only
 * it may make the tenant's mail failing: when the server delivers no other (model.ts relayVerdict).
 * The class X.7 alone cannot tell the two apart; the words can.
 */
function refusesToRelay(reply: string): boolean {
  return /\b5\.7\.54\b|\b(unable to|not permitted to|not allowed to|cannot) relay|\brelay(ing)? (access )?(denied|not permitted|prohibited)/i.test(reply);
}

/**
 * refusesSender tells a refusal at RCPT TO that is about the sender or this client, not the recipient:
 * Postfix answers its sender, client and HELO restrictions there by default (smtpd_delay_reject), as
 * "Sender address rejected" (not owned by user, domain not found), "Client host rejected" and "Helo
 * command rejected", and RFC 3463's 5.1.7 and 5.1.8 are the sender's address. Every alert email meets
 * them, whoever reads it: like a relay refusal, it is the server's while it delivers no other email.
 * So does Exchange Online's refusal of the signed-in mailbox's submission after DATA, a 5.2.0 that is
 * no mailbox full: "STOREDRV.Submission.Exception:SendAsDeniedException" (the From address is not
 * one it may send as), its sending quota or its block for spam; and a sending limit of the account,
 * which Gmail counts in recipients and answers at RCPT ("550 5.4.5 Daily user sending limit exceeded"),
 * or this client's address on a blocklist ("Client host [203.0.113.9] blocked using zen.spamhaus.org",
 * Exchange Online's "banned sending IP"), as a company's MX taking its own domain's mail answers.
 */
function refusesSender(reply: string): boolean {
  return /\b5\.1\.[78]\b|\b(sender address|client host|helo command) rejected\b|\bSTOREDRV\.Submission\b|SendAsDenied|permissions to send as|not allowed to send as|sending (limit|quota) exceeded|\bblocked using\b|banned sending IP/i.test(
    reply,
  );
}

/**
 * mailboxRefusesForNow tells a recipient refused for now (RCPT answered 450, 451, 452: greylisting,
 * a full mailbox, a recipient's domain not reachable yet) by a server that took the connection and
 * the sender, from 421, the server closing the session, which is about the server whatever the stage.
 */
function mailboxRefusesForNow(smtp: SmtpDeliveryError | undefined): boolean {
  return smtp?.stage === 'recipient' && smtp.code !== undefined && smtp.code >= 400 && smtp.code < 500 && smtp.code !== 421;
}

/**
 * refusesOneMailbox tells a refusal after DATA that is about the recipient's mailbox (RFC 3463's
 * 5.1.x, a bad or unknown address, but for 5.1.7 and 5.1.8, the sender's, and 5.2.x, a mailbox
 * full or disabled), as servers that look mailboxes up only once they have the message give it
 * (LMTP behind Postfix, Exchange's recipient filter), from one of the message or the sender,
 * which every alert email would meet (refusesSender tells those of them that are the sender's).
 */
function refusesOneMailbox(reply: string): boolean {
  return /\b5\.(?:1\.(?![78]\b)\d{1,3}|2\.\d{1,3})\b/.test(reply);
}

/** FALLBACK_NOTE starts the recorded reply of an alert email sent through the system default instead of the tenant's failing server. */
export const FALLBACK_NOTE = 'sent through the system default (fallbackToDefault: the custom server refuses): ';

/** FALLBACK_REFUSED_NOTE starts the recorded error and reply of an alert email that the system default refused, standing in for the tenant's failing server. */
export const FALLBACK_REFUSED_NOTE = 'through the system default (fallbackToDefault: the custom server refuses): ';

/** gaveUpOn marks a transient failure's signal when it ended its email at the deadline (MailHealthSignal's gaveUp). */
function gaveUpOn(signal: MailHealthSignal, gaveUp: boolean): MailHealthSignal {
  return gaveUp && signal.kind === 'transient' ? { ...signal, gaveUp } : signal;
}

/** healthOf is the mail health signal of an attempt at a tenant's alert email, through its own route. */
function healthOf(delivery: Delivery, signal: MailHealthSignal): MailHealthSignal | undefined {
  return delivery.kind === 'test' || routeOf(delivery) === 'system' ? undefined : signal;
}

/** GAVE_UP_PREFIX starts the recorded error of an email given up at its deadline after transient failures (the log's `deadlineReached`). */
export const GAVE_UP_PREFIX = 'gave up after ';

/** gaveUpText is the recorded error of an email whose transient failures lasted until its deadline: "gave up after 24 h of retries: 451 …". */
function gaveUpText(retriedMs: number, error: string): string {
  const span =
    retriedMs >= 3_600_000 && retriedMs % 3_600_000 === 0
      ? `${retriedMs / 3_600_000} h`
      : retriedMs >= 60_000 && retriedMs % 60_000 === 0
        ? `${retriedMs / 60_000} min`
        : `${Math.max(0, Math.round(retriedMs / 1_000))} s`;
  return `${GAVE_UP_PREFIX}${span} of retries: ${error}`;
}

function deadlineOf(ctx: AttemptContext, delivery: Delivery): number {
  return delivery.deadline ?? delivery.createdAt + ctx.deliveryDeadlineMs;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
