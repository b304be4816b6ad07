/**
 * A per-endpoint circuit breaker, as pure state transitions: after a run of transient failures
 * (timeouts, refused connections, 421) an endpoint is left alone for a cool-down that doubles on
 * each relapse, then one probe decides whether it is back. The worker keeps one state per
 * endpoint and skips tenants whose endpoint is open, so a dead server costs no worker slots.
 */

/** BreakerPolicy tunes when an endpoint's breaker opens and how long it stays open. */
export interface BreakerPolicy {
  /** Consecutive transient failures that open the breaker. */
  readonly failureThreshold: number;
  readonly initialCooldownMs: number;
  readonly maxCooldownMs: number;
}

/** DEFAULT_BREAKER_POLICY opens after 5 failures in a row, for 30 s doubling up to 10 min. */
export const DEFAULT_BREAKER_POLICY: BreakerPolicy = Object.freeze({
  failureThreshold: 5,
  initialCooldownMs: 30_000,
  maxCooldownMs: 600_000,
});

/** BreakerState is one endpoint's breaker; `openUntil` null means closed. */
export interface BreakerState {
  readonly consecutiveFailures: number;
  readonly openUntil: number | null;
  readonly cooldownMs: number;
  /** A probe is in flight after the cool-down; everything else waits for its verdict. */
  readonly probing: boolean;
  /** When it opened, kept through its relapses until it closes: since when its tenants' mail is held out. */
  readonly openedAt: number | null;
}

/** closedBreaker is the state of an endpoint with no recent failures. */
export function closedBreaker(policy: BreakerPolicy = DEFAULT_BREAKER_POLICY): BreakerState {
  return { consecutiveFailures: 0, openUntil: null, cooldownMs: policy.initialCooldownMs, probing: false, openedAt: null };
}

/** BreakerVerdict says whether a send to the endpoint may start now, and if not until when to wait. */
export type BreakerVerdict =
  | { readonly allow: true; readonly state: BreakerState }
  /** `probing`: the cool-down is over and a probe is deciding now, rather than the breaker open for a while yet. */
  | { readonly allow: false; readonly retryAt: number; readonly probing?: true };

/** breakerAdmit lets a send through a closed breaker, one probe through an expired open one, and defers the rest. */
export function breakerAdmit(state: BreakerState, now: number): BreakerVerdict {
  if (state.openUntil === null) return { allow: true, state };
  if (now < state.openUntil) return { allow: false, retryAt: state.openUntil };
  // Rows waiting on a probe look again shortly rather than at the next full cool-down.
  if (state.probing) return { allow: false, retryAt: now + Math.min(state.cooldownMs, 5_000), probing: true };
  return { allow: true, state: { ...state, probing: true } };
}

/** breakerBlocked tells whether no send to the endpoint may start now (for choosing rows to claim). */
export function breakerBlocked(state: BreakerState | undefined, now: number): boolean {
  return state !== undefined && state.openUntil !== null && (now < state.openUntil || state.probing);
}

/** breakerProbeUntried hands the probe's turn on: the send let through as the probe never reached the server (called off, its lease lost). */
export function breakerProbeUntried(state: BreakerState): BreakerState {
  return state.probing ? { ...state, probing: false } : state;
}

/** breakerSucceeded closes the breaker: the endpoint answered. */
export function breakerSucceeded(policy: BreakerPolicy = DEFAULT_BREAKER_POLICY): BreakerState {
  return closedBreaker(policy);
}

/**
 * breakerFailed counts a transient failure: at the threshold the breaker opens; a failed probe
 * re-opens it for twice as long (up to the policy's maximum).
 */
export function breakerFailed(state: BreakerState, now: number, policy: BreakerPolicy = DEFAULT_BREAKER_POLICY): BreakerState {
  const failures = state.consecutiveFailures + 1;
  if (state.probing) {
    const cooldownMs = Math.min(state.cooldownMs * 2, policy.maxCooldownMs);
    return { consecutiveFailures: failures, openUntil: now + cooldownMs, cooldownMs, probing: false, openedAt: state.openedAt ?? now };
  }
  if (state.openUntil === null && failures >= policy.failureThreshold) {
    return { consecutiveFailures: failures, openUntil: now + state.cooldownMs, cooldownMs: state.cooldownMs, probing: false, openedAt: now };
  }
  return { ...state, consecutiveFailures: failures };
}

/**
 * breakerHoldsOut tells, after a failure, whether the breaker's verdict keeps its tenants' mail out
 * until a new time (it just opened, or its probe failed): what their mail health observes, once
 * per verdict. Null when it does not (still closed, or the failure was not a verdict).
 */
export function breakerHoldsOut(before: BreakerState, after: BreakerState): { readonly since: number; readonly until: number } | null {
  if (after.openUntil === null || after.openedAt === null || after.openUntil === before.openUntil) return null;
  return { since: after.openedAt, until: after.openUntil };
}
