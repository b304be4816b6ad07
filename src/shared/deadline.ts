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
