import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.js';
import { maskSecrets } from '../../shared/redact.js';
import { isRetryable } from '../../shared/stage-error.js';
import { type MailSender, type RenderedEmail, type SmtpEndpoint, SmtpDeliveryError } from '../contract.js';
import { type EndpointGate, serverAddress } from './admission.js';
import { type ComposerRegistry, renderDelivery } from './render.js';
import type { Delivery } from './delivery.js';
import type { OutboxMetrics } from './metrics.js';
import type { AttemptResult } from './outcomes.js';
import { type Random, decideAfterFailure } from './retry-policy.js';

/**
 * EndpointResolver gives a tenant's effective SMTP endpoint (its custom settings or the system
 * default), or throws why it has none: a StageError saying whether that may pass (settings'
 * resolveEndpoint and its EndpointRefusedError).
 */
export type EndpointResolver = (tenantId: string) => Promise<SmtpEndpoint>;

/**
 * cachedEndpoints reuses each tenant's resolution for `ttlMs`, so settings are not read and
 * decrypted per email; a resolution that throws is forgotten at once.
 */
export function cachedEndpoints(resolve: EndpointResolver, clock: Clock, ttlMs: number): EndpointResolver {
  const cache = new Map<string, { resolution: Promise<SmtpEndpoint>; expiresAt: number }>();
  return (tenantId) => {
    const now = clock.now();
    const cached = cache.get(tenantId);
    if (cached && cached.expiresAt > now) return cached.resolution;
    const resolution = resolve(tenantId);
    cache.set(tenantId, { resolution, expiresAt: now + ttlMs });
    resolution.catch(() => cache.delete(tenantId));
    return resolution;
  };
}

/**
 * AttemptOutcome is an attempt's result to record, or `deferred`: the server's breaker is open, so
 * the row goes back unrecorded, or `unleased`: the worker's lease on the row was lost or is in
 * doubt, so it was not sent and is left to whoever claims it next.
 */
export type AttemptOutcome = AttemptResult | { readonly status: 'deferred'; readonly retryAt: number } | { readonly status: 'unleased' };

/** AttemptContext is what one attempt reads and talks to; the claim loop builds it once. */
export interface AttemptContext {
  readonly clock: Clock;
  readonly sender: MailSender;
  readonly resolveEndpoint: EndpointResolver;
  readonly composers: ComposerRegistry;
  readonly gate: EndpointGate;
  readonly log: Logger;
  readonly random: Random;
  /** How long transient failures are retried when the row names no deadline. */
  readonly deliveryDeadlineMs: number;
  readonly metrics?: OutboxMetrics | undefined;
  /** Whether the worker's lease on the row still stands; asked just before the email goes to the sender. */
  readonly leased?: ((delivery: Delivery) => boolean) | undefined;
}

/**
 * attemptDelivery is one attempt at one claimed row: resolve the tenant's endpoint, render the
 * email, ask the server's breaker, send, and turn the answer into what to record (sent, retrying
 * at the policy's next time, or failed), every stored text cleared of the endpoint's secrets.
 */
export async function attemptDelivery(ctx: AttemptContext, delivery: Delivery): Promise<AttemptOutcome> {
  // Every stage's error says whether it is permanent (StageError); anything else is transient.
  let endpoint: SmtpEndpoint;
  let email: RenderedEmail;
  try {
    endpoint = await ctx.resolveEndpoint(delivery.tenantId);
  } catch (err) {
    return failure(ctx, delivery, isRetryable(err), `mail settings: ${messageOf(err)}`);
  }
  const secrets = { username: endpoint.username, values: [endpoint.password, endpoint.accessToken] };
  try {
    email = await renderDelivery(delivery, ctx.composers);
  } catch (err) {
    return failure(ctx, delivery, isRetryable(err), maskSecrets(`render: ${messageOf(err)}`, secrets));
  }

  const verdict = ctx.gate.admitEndpoint(delivery.tenantId, endpoint, ctx.clock.now());
  if (!verdict.allow) {
    // A paused endpoint still cannot keep an email past its deadline: it fails then, like a retry would.
    if (ctx.clock.now() >= deadlineOf(ctx, delivery)) {
      return failure(ctx, delivery, false, `connect: ${serverAddress(endpoint)} keeps failing; paused until the deadline passed`);
    }
    return { status: 'deferred', retryAt: verdict.retryAt };
  }

  // The last moment this worker can stop a send: once handed to the sender, the email goes out.
  if (ctx.leased && !ctx.leased(delivery)) return { status: 'unleased' };
  const t0 = performance.now();
  try {
    const receipt = await ctx.sender.send(endpoint, {
      ...email,
      headers: { 'X-Tocsin-Kind': delivery.kind, ...email.headers },
      to: { address: delivery.recipient.address, name: delivery.recipient.name },
      messageId: delivery.messageId,
    });
    ctx.metrics?.smtpLatency.observe({ outcome: 'sent' }, (performance.now() - t0) / 1000);
    ctx.gate.endpointAnswered(endpoint);
    return { status: 'sent', response: maskSecrets(receipt.response, secrets) };
  } catch (err) {
    ctx.metrics?.smtpLatency.observe({ outcome: 'error' }, (performance.now() - t0) / 1000);
    const smtp = err instanceof SmtpDeliveryError ? err : undefined;
    const retryable = isRetryable(err);
    // A transient failure counts against the endpoint; a definite answer (5xx) proves it is up.
    if (retryable) ctx.gate.endpointFailed(endpoint, ctx.clock.now());
    else ctx.gate.endpointAnswered(endpoint);
    return failure(
      ctx,
      delivery,
      retryable,
      maskSecrets(smtp ? `${smtp.stage}: ${smtp.message}` : messageOf(err), secrets),
      smtp?.code,
      smtp?.response === undefined ? undefined : maskSecrets(smtp.response, secrets),
    );
  }
}

function failure(ctx: AttemptContext, delivery: Delivery, retryable: boolean, error: string, code?: number, response?: string): AttemptResult {
  const decision = decideAfterFailure({
    retryable,
    attempts: delivery.attempts,
    now: ctx.clock.now(),
    deadline: deadlineOf(ctx, delivery),
    random: ctx.random,
  });
  if (decision.status === 'failed') {
    ctx.log.info({ delivery: delivery.id, tenant: delivery.tenantId, code, error }, 'delivery failed');
    return { status: 'failed', error, code, response };
  }
  return { status: 'retrying', nextAttemptAt: decision.nextAttemptAt, error, code, response };
}

function deadlineOf(ctx: AttemptContext, delivery: Delivery): number {
  return delivery.deadline ?? delivery.createdAt + ctx.deliveryDeadlineMs;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
