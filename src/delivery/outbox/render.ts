import { StageError } from '../../shared/stage-error.js';
import type { EmailKind, RenderedEmail } from '../contract.js';
import type { Delivery } from './delivery.js';

/**
 * EmailComposer renders one delivery at send time, in its recipient's language and time zone,
 * from the `data` its enqueuer stored. A ComposeError fails the delivery at once (its facts are
 * gone or wrong: retrying cannot bring them back); anything else thrown is transient (retried until
 * the deadline), since what fails then is usually the database, not the data.
 */
export type EmailComposer = (delivery: Delivery) => Promise<RenderedEmail>;

/**
 * ComposerRegistry maps each kind to its composer; startTocsin builds it from the reports domain.
 * A delivery whose payload already holds a rendered email (e.g. a test mail) needs none.
 */
export type ComposerRegistry = Readonly<Partial<Record<EmailKind, EmailComposer>>>;

/**
 * ComposeError is the compose stage's StageError: a delivery cannot be rendered from its data (no
 * composer for its kind, its alert or tenant deleted since it was queued). Permanent.
 */
export class ComposeError extends StageError {
  override readonly name = 'ComposeError';
  readonly retryable = false;
}

/**
 * ComposeLaterError is the compose stage's when an email cannot be written yet: another row holds
 * its mailbox's key and is being sent right now (readdressDelivery's `inFlightUntil`). The row goes
 * back to the queue until `retryAt`, untried, its attempt not counted; by then that send has ended.
 */
export class ComposeLaterError extends StageError {
  override readonly name = 'ComposeLaterError';
  readonly retryable = true;
  constructor(
    message: string,
    readonly retryAt: number,
  ) {
    super(message);
  }
}

/**
 * CHECKED_WHEN_SENT are the kinds stored written whose composer, when one is registered, still
 * decides at send time whether the email goes and how it reads (mail-health: is its administrator
 * still one, and in which language, for which tenant name?).
 */
const CHECKED_WHEN_SENT: ReadonlySet<EmailKind> = new Set(['mail-health']);

/** renderDelivery returns the delivery's email: the stored one, or its kind's composer's. */
export async function renderDelivery(delivery: Delivery, composers: ComposerRegistry): Promise<RenderedEmail> {
  if ('rendered' in delivery.payload) {
    const check = CHECKED_WHEN_SENT.has(delivery.kind) ? composers[delivery.kind] : undefined;
    return check ? check(delivery) : delivery.payload.rendered;
  }
  const compose = composers[delivery.kind];
  if (!compose) throw new ComposeError(`no composer is registered for ${delivery.kind} emails`);
  return compose(delivery);
}
