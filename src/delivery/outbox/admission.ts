import type { Logger } from 'pino';
import type { ServerFailure, SmtpEndpoint } from '../contract.js';
import { type ClaimPlan, type ConcurrencyLimits, admissionBunch, admitClaimed, planClaim } from './capacity.js';
import {
  type BreakerPolicy,
  type BreakerState,
  breakerAdmit,
  breakerBlocked,
  breakerFailed,
  breakerHoldsOut,
  breakerProbeUntried,
  closedBreaker,
} from './circuit-breaker.js';
import type { Delivery } from './delivery.js';
import { isUrgentKind } from './urgency.js';
import { loginName } from '../smtp/transport-options.js';
import { hostAndPort } from '../../shared/host-port.js';

/** HeldRow is a claimed row in a worker, with when its claim (this attempt's start) took it. */
export interface HeldRow {
  readonly tenantId: string;
  readonly delivery: Delivery;
  readonly claimedAt: number;
}

/** EndpointGate is what one attempt asks of admission: may it talk to this server now, and how did it go. */
export interface EndpointGate {
  /**
   * admitEndpoint lets a send to the tenant's server start, or says until when its rows wait;
   * `tenantId` null for a send that is not through the tenant's own route (a mail health notice
   * through the system default), which says nothing of the server the tenant's rows wait for.
   */
  admitEndpoint(tenantId: string | null, endpoint: SmtpEndpoint, now: number): EndpointVerdict;
  /** probeUntried: the send let through as the server's probe (`probe` true) ended before reaching it; the next send probes instead. */
  probeUntried(endpoint: SmtpEndpoint): void;
  /** endpointAnswered: the server answered, with a 2xx or a definite 5xx; it is up. */
  endpointAnswered(endpoint: SmtpEndpoint): void;
  /** endpointFailed counts a transient failure (timeout, refused connection, 4xx) against the server: `failure`, what mail health would show of it. */
  endpointFailed(endpoint: SmtpEndpoint, now: number, failure: ServerFailure): void;
  /** lastFailure is the server's last failure since it last answered: why it is paused, for an email failed unsent. */
  lastFailure(endpoint: SmtpEndpoint): ServerFailure | undefined;
  /**
   * pausedUntil says until when the server keeps sends out now (its breaker open, or its probe in
   * flight), or undefined while sends may go: asked of a send let through earlier, when a connection takes it.
   */
  pausedUntil(endpoint: SmtpEndpoint, now: number): number | undefined;
}

/**
 * HeldOut is one breaker verdict that keeps its tenants' mail out (it opened, or its probe failed):
 * the tenants it holds out whose mail health is observed (not under the system default standing
 * in), since when it is open, until when, and the server's failure that paused it, which their
 * mail health shows as a failure of their own would be: the pause is Tocsin's, not a reason.
 */
export interface HeldOut {
  readonly tenantIds: readonly string[];
  readonly since: number;
  readonly until: number;
  readonly at: number;
  readonly failure: ServerFailure;
}

/**
 * EndpointVerdict: a send may start (`probe` when it is the one that decides whether a paused
 * server is back), or waits until `retryAt`; `probe` then is the verdict of the probe in flight,
 * true when the server answered it, false when it failed again (or the probe never reached it).
 */
export type EndpointVerdict =
  | { readonly allow: true; readonly probe: boolean }
  | { readonly allow: false; readonly retryAt: number; readonly probe?: Promise<boolean> | undefined };

/** serverAddress names an SMTP server: where the connection goes, whoever's settings lead there. */
export function serverAddress(endpoint: SmtpEndpoint): string {
  return hostAndPort(endpoint.connectAddress ?? endpoint.host, endpoint.port);
}

/**
 * breakerKey names what one circuit breaker guards: a server and the account signed in to it. The
 * tenants of a provider (the presets' smtp.gmail.com, smtp.office365.com, SES) share its address
 * but not its limits: one account's throttling (421, 454) or a mailbox's submission limit must not
 * pause the other tenants' mail. Tenants of one account (the system default) share its breaker.
 */
function breakerKey(endpoint: SmtpEndpoint): string {
  const login = loginName(endpoint);
  return login === undefined ? serverAddress(endpoint) : `${serverAddress(endpoint)} as ${login}`;
}

/**
 * FORGET_UNSEEN_MS is how long a tenant or a closed breaker goes unused before admission forgets
 * it: longer than the longest wait between two tries of an email (30 min + 20 %, retry-policy.ts),
 * so that a tenant with an email still to go is seen again first. Without it every tenant that ever
 * sent stayed (a tenant deleted, or its settings changed to another server), and each claim's plan
 * looked through them all.
 */
export const FORGET_UNSEEN_MS = 60 * 60_000;

/**
 * Admission is a worker's state of who may send now, the shell around the pure decisions of
 * capacity.ts and circuit-breaker.ts: sends in flight per tenant and in all, the rows claimed
 * beyond a tenant's free slots (held under lease until one of its sends ends), and one breaker
 * per SMTP server and account (breakerKey), whose open state keeps its tenants' rows out of the next claim.
 */
export class Admission implements EndpointGate {
  readonly #limits: ConcurrencyLimits;
  readonly #batchSize: number;
  readonly #policy: BreakerPolicy;
  readonly #log: Logger;
  /** Sends talking to a server, by tenant and in all: what the concurrency limits bound. */
  readonly #sendingByTenant = new Map<string, number>();
  #sendingTotal = 0;
  /** Claimed rows whose tenant is at its limit. */
  #waiting: HeldRow[] = [];
  /** The last claim took all it asked for, so more rows are probably due. */
  #lastClaimFull = false;
  /** The tenants the last claim left out (at their limit, or their server paused): rows of theirs may be due. */
  #lastExcluded: ReadonlySet<string> = new Set();
  readonly #breakers = new Map<string, BreakerState>();
  /** Each breaker's last failure, what a paused server's unsent emails tell mail health (kept and dropped with its breaker). */
  readonly #lastFailures = new Map<string, ServerFailure>();
  /** The probe in flight per breaker, for the rows past their deadline that wait for its verdict. */
  readonly #probes = new Map<string, { readonly verdict: Promise<boolean>; readonly settle: (back: boolean) => void }>();
  /** Each tenant's server as last seen, so an open breaker keeps its tenants out of claims. */
  readonly #tenantServer = new Map<string, string>();
  /** The tenants last seen sending through the system default standing in for their server: no health of theirs to observe. */
  readonly #standingIn = new Set<string>();
  /** The tenants and breakers used since the last #forgetUnseen: the others are forgotten then. */
  readonly #seenTenants = new Set<string>();
  readonly #usedBreakers = new Set<string>();
  #forgotAt: number | undefined;
  /** The breakers' verdicts that held tenants out, for the worker to tell their mail health (takeHeldOut). */
  #heldOut: HeldOut[] = [];

  constructor(limits: ConcurrencyLimits, batchSize: number, policy: BreakerPolicy, log: Logger) {
    this.#limits = limits;
    this.#batchSize = batchSize;
    this.#policy = policy;
    this.#log = log;
  }

  /** waiting are the held rows not started yet (their leases are renewed like the sending ones). */
  get waiting(): readonly HeldRow[] {
    return this.#waiting;
  }

  /**
   * plan sizes the next claim. A tenant's waiting rows count against its own limit only: rows held
   * for a hanging server must not use up the slots other tenants' mail needs.
   */
  plan(now: number): ClaimPlan {
    this.#forgotAt ??= now;
    if (now - this.#forgotAt >= FORGET_UNSEEN_MS) this.#forgetUnseen(now);
    const held = new Map(this.#sendingByTenant);
    for (const w of this.#waiting) held.set(w.tenantId, (held.get(w.tenantId) ?? 0) + 1);
    const plan = planClaim({
      inFlightByTenant: held,
      inFlightTotal: this.#sendingTotal,
      limits: this.#limits,
      batchSize: this.#batchSize,
      blockedTenants: this.#blockedTenants(now),
    });
    this.#lastExcluded = new Set(plan.excludeTenants);
    return plan;
  }

  /** hold adds a claim's rows, `full` saying whether it took all it asked for, or rows leased at insert (no claim, `full` undefined). */
  hold(rows: readonly HeldRow[], full?: boolean): void {
    // Urgent rows (a Fatal alert's, a mail-health notice) go before the reports already waiting.
    const urgent = (r: HeldRow) => isUrgentKind(r.delivery.kind);
    const all = [...this.#waiting, ...rows];
    this.#waiting = rows.some(urgent) ? [...all.filter(urgent), ...all.filter((r) => !urgent(r))] : all;
    if (full !== undefined) this.#lastClaimFull = full;
  }

  /** admit takes the held rows whose tenant has free slots (a bunch of them, admissionBunch), oldest first, and counts them as sending. */
  admit(): HeldRow[] {
    const { start, wait } = admitClaimed(this.#waiting, this.#sendingByTenant, this.#limits.perTenant, admissionBunch(this.#limits.perTenant), {
      sending: this.#sendingTotal,
      global: this.#limits.global,
    });
    this.#waiting = wait;
    for (const w of start) this.#sendingByTenant.set(w.tenantId, (this.#sendingByTenant.get(w.tenantId) ?? 0) + 1);
    this.#sendingTotal += start.length;
    return start;
  }

  /** release frees the slot of a send the server has answered (or that ended without a server). */
  release(tenantId: string): void {
    this.#sendingTotal -= 1;
    const left = (this.#sendingByTenant.get(tenantId) ?? 1) - 1;
    if (left > 0) this.#sendingByTenant.set(tenantId, left);
    else this.#sendingByTenant.delete(tenantId);
  }

  /**
   * worthClaiming says whether a claim now can bring something after one of the tenant's sends
   * ended: more rows are probably due when the last claim was full, or left this tenant out and
   * it now has room. Otherwise the last claim took every due row, and a claim now would most
   * likely find nothing and still cost a statement (it was most of the claims while a queue
   * drained); new rows ring the doorbell, and the poll finds the rest.
   */
  worthClaiming(tenantId: string): boolean {
    const free = this.#limits.global - this.#sendingTotal;
    const roomy = free >= Math.ceil(Math.min(this.#batchSize, this.#limits.global) / 2);
    return roomy && (this.#lastClaimFull || (this.#lastExcluded.has(tenantId) && this.#held(tenantId) < this.#limits.perTenant));
  }

  /** takeWaiting removes and returns every row not started (to hand back at shutdown). */
  takeWaiting(): HeldRow[] {
    return this.#waiting.splice(0);
  }

  /** pausedTenants are the tenants kept out of claims because the server they last sent through is paused. */
  pausedTenants(now: number): string[] {
    return this.#blockedTenants(now);
  }

  /**
   * seenServer notes the server a tenant's mail goes through now: a tenant whose settings changed
   * leaves its paused server behind at once, instead of waiting out that server's cool-down.
   */
  seenServer(tenantId: string, endpoint: SmtpEndpoint): void {
    this.#tenantServer.set(tenantId, breakerKey(endpoint));
    this.#seenTenants.add(tenantId);
    if (endpoint.fallback) this.#standingIn.add(tenantId);
    else this.#standingIn.delete(tenantId);
  }

  /** takeHeldOut removes and returns the verdicts that held tenants out since the last call. */
  takeHeldOut(): HeldOut[] {
    return this.#heldOut.splice(0);
  }

  admitEndpoint(tenantId: string | null, endpoint: SmtpEndpoint, now: number): EndpointVerdict {
    if (tenantId !== null) this.seenServer(tenantId, endpoint);
    const key = breakerKey(endpoint);
    this.#usedBreakers.add(key);
    const before = this.#breakers.get(key) ?? closedBreaker(this.#policy);
    const verdict = breakerAdmit(before, now);
    if (!verdict.allow) return verdict.probing ? { allow: false, retryAt: verdict.retryAt, probe: this.#probes.get(key)?.verdict } : verdict;
    // A closed breaker is what an absent one means: only a changed state is kept.
    if (verdict.state !== before) this.#breakers.set(key, verdict.state);
    const probe = verdict.state.probing && !before.probing;
    if (probe) {
      let settle!: (back: boolean) => void;
      const waiting = new Promise<boolean>((resolve) => {
        settle = resolve;
      });
      this.#probes.get(key)?.settle(false);
      this.#probes.set(key, { verdict: waiting, settle });
    }
    return { allow: true, probe };
  }

  probeUntried(endpoint: SmtpEndpoint): void {
    const key = breakerKey(endpoint);
    const state = this.#breakers.get(key);
    if (state) this.#breakers.set(key, breakerProbeUntried(state));
    this.#settleProbe(key, false);
  }

  endpointAnswered(endpoint: SmtpEndpoint): void {
    const key = breakerKey(endpoint);
    // Closed again: the state an absent breaker has, so nothing is kept of a server that works.
    this.#breakers.delete(key);
    this.#lastFailures.delete(key);
    this.#settleProbe(key, true);
  }

  endpointFailed(endpoint: SmtpEndpoint, now: number, failure: ServerFailure): void {
    const key = breakerKey(endpoint);
    this.#usedBreakers.add(key);
    const before = this.#breakers.get(key) ?? closedBreaker(this.#policy);
    const after = breakerFailed(before, now, this.#policy);
    if (after.openUntil !== null && after.openUntil !== before.openUntil) {
      this.#log.warn({ endpoint: key, until: new Date(after.openUntil).toISOString() }, 'SMTP endpoint failing; pausing its deliveries');
    }
    this.#breakers.set(key, after);
    this.#lastFailures.set(key, failure);
    if (before.probing) this.#settleProbe(key, false);
    const held = breakerHoldsOut(before, after);
    if (held) {
      const tenantIds = [...this.#tenantServer].filter(([tenant, k]) => k === key && !this.#standingIn.has(tenant)).map(([tenant]) => tenant);
      if (tenantIds.length > 0) this.#heldOut.push({ tenantIds, ...held, at: now, failure });
    }
  }

  lastFailure(endpoint: SmtpEndpoint): ServerFailure | undefined {
    return this.#lastFailures.get(breakerKey(endpoint));
  }

  pausedUntil(endpoint: SmtpEndpoint, now: number): number | undefined {
    const state = this.#breakers.get(breakerKey(endpoint));
    if (!breakerBlocked(state, now)) return undefined;
    const verdict = breakerAdmit(state!, now);
    return verdict.allow ? undefined : verdict.retryAt;
  }

  /** tracked counts the tenants and breakers kept (tests check that they are bounded). */
  tracked(): { readonly tenants: number; readonly breakers: number } {
    return { tenants: this.#tenantServer.size, breakers: this.#breakers.size };
  }

  /**
   * #forgetUnseen forgets the breakers not used since the last call (a server left long ago; one
   * still in use is asked at least every cool-down, 10 min at most, by its tenants' rows let
   * through to probe it), unless a probe is in flight, then the tenants not seen sending since,
   * unless their server's breaker is kept (#blockedTenants and a verdict that holds tenants out need them).
   */
  #forgetUnseen(now: number): void {
    this.#forgotAt = now;
    for (const [key, state] of this.#breakers) {
      if (state.probing || this.#usedBreakers.has(key)) continue;
      this.#breakers.delete(key);
      this.#lastFailures.delete(key);
    }
    for (const [tenant, key] of this.#tenantServer) {
      if (this.#seenTenants.has(tenant) || this.#breakers.has(key)) continue;
      this.#tenantServer.delete(tenant);
      this.#standingIn.delete(tenant);
    }
    this.#seenTenants.clear();
    this.#usedBreakers.clear();
  }

  /** #settleProbe tells the rows waiting on a server's probe how it went. */
  #settleProbe(key: string, back: boolean): void {
    const probe = this.#probes.get(key);
    if (!probe) return;
    this.#probes.delete(key);
    probe.settle(back);
  }

  /** #held counts a tenant's rows in this worker: sending, or waiting for a slot. */
  #held(tenantId: string): number {
    let held = this.#sendingByTenant.get(tenantId) ?? 0;
    for (const w of this.#waiting) if (w.tenantId === tenantId) held += 1;
    return held;
  }

  #blockedTenants(now: number): string[] {
    const blocked: string[] = [];
    for (const [tenant, key] of this.#tenantServer) if (breakerBlocked(this.#breakers.get(key), now)) blocked.push(tenant);
    return blocked;
  }
}
