/**
 * The retry schedule of a transient failure. RFC 5321 asks MTAs for 30 minutes between tries, but
 * alert mail goes to the tenant's own submission server and is time-critical, so the ladder starts
 * short and settles at the RFC's 30 minutes.
 */
const RETRY_LADDER_MS: readonly number[] = Object.freeze([30_000, 120_000, 600_000]);
/** RETRY_STEADY_MS is the delay once the ladder is climbed. */
const RETRY_STEADY_MS = 1_800_000;
/** RETRY_JITTER spreads retries ±20 % so that a server coming back is not hit by every row at once. */
const RETRY_JITTER = 0.2;

/** Random returns a number in [0, 1); injected so that tests know the jitter. */
export type Random = () => number;

/**
 * retryDelayMs is how long to wait after the given number of failed attempts (1 for the first),
 * jittered: 30 s, 2 min, 10 min, then every 30 min, each ±20 %.
 */
export function retryDelayMs(failedAttempts: number, random: Random): number {
  const base = RETRY_LADDER_MS[Math.max(0, failedAttempts - 1)] ?? RETRY_STEADY_MS;
  return Math.round(base * (1 + RETRY_JITTER * (2 * random() - 1)));
}

/** FailureDecision is what happens to a delivery after a failed attempt. */
export type FailureDecision = { readonly status: 'retrying'; readonly nextAttemptAt: number } | { readonly status: 'failed' };

/**
 * decideAfterFailure fails a permanent error at once and retries a transient one until the
 * deadline; the last retry is pulled in to the deadline itself so the deadline is honoured exactly.
 */
export function decideAfterFailure(input: {
  readonly retryable: boolean;
  readonly attempts: number;
  readonly now: number;
  readonly deadline: number;
  readonly random: Random;
}): FailureDecision {
  if (!input.retryable || input.now >= input.deadline) return { status: 'failed' };
  const next = input.now + retryDelayMs(input.attempts, input.random);
  return { status: 'retrying', nextAttemptAt: Math.min(next, input.deadline) };
}
