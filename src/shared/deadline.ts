/** DeadlineError: what was waited for did not settle in time. */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
}

/**
 * withinMs settles as `promise` does, or rejects with a DeadlineError ("`what` did not answer within
 * N s") once `ms` have passed: for the answers that must come in bounded time (a readiness probe, a
 * scrape) from a database that may stop answering without closing its connections. The work goes on
 * and its late outcome is ignored.
 */
export function withinMs<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`${what} did not answer within ${ms / 1000} s`)), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * untilAborted settles as `promise` does, or rejects with `signal`'s reason once it aborts (at once
 * when it already has), as fetch does: for a step of a request that cannot be handed the signal
 * itself (a DNS lookup). The work goes on and its late outcome is ignored.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort!));
}
