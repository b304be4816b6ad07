/**
 * StageError is the one error contract of the pipeline's stages (src/pipeline.ts): each kind of
 * failure is its own subclass, and every one says whether a later attempt may succeed. A
 * permanent failure (`retryable: false`) ends its work at once, e.g. an email whose alert was
 * deleted fails on its first attempt instead of being retried until its deadline.
 */
export abstract class StageError extends Error {
  /** Whether trying again later may help; false makes the failure final. */
  abstract readonly retryable: boolean;
}

/**
 * isRetryable reads the contract: a StageError says, and anything else (a dropped database
 * connection, a bug) counts as transient, since retrying until a deadline loses nothing.
 */
export function isRetryable(err: unknown): boolean {
  return err instanceof StageError ? err.retryable : true;
}
