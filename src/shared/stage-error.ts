/** PipelineStage names the stages of src/pipeline.ts, in the order an alert meets them. */
export type PipelineStage = 'ingest' | 'decide' | 'outbox' | 'claim' | 'resolve' | 'compose' | 'send' | 'record';

/**
 * StageError is the one error contract of the pipeline's stages (src/pipeline.ts): each kind of
 * failure is its own subclass, and every one says whether a later attempt may succeed. A
 * permanent failure (`retryable: false`) ends its work at once, e.g. an email whose alert was
 * deleted fails on its first attempt instead of being retried until its deadline.
 *
 * The kinds, by stage: the database's failures in any stage (storage/errors.ts, `asStage`) are a
 * StorageUnavailableError (retryable: claim backs off, record commits again, ingest answers 503
 * with Retry-After) or a StorageRejectedError (permanent: a constraint, a value it cannot store);
 * resolve has EndpointRefusedError, RefusedHostError and SecretDecryptError (settings/), compose
 * ComposeError (delivery/outbox/render.ts), send SmtpDeliveryError (delivery/contract.ts).
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
