import type { EmailKind, RenderedEmail } from '../contract.js';
import type { Delivery } from './delivery.js';

/**
 * EmailComposer renders one delivery at send time, in its recipient's language and time zone,
 * from the `data` its enqueuer stored. Throwing makes the attempt a transient failure (retried
 * until the deadline), since what fails at render time is usually the database, not the data.
 */
export type EmailComposer = (delivery: Delivery) => Promise<RenderedEmail>;

/**
 * ComposerRegistry maps each kind to its composer; startTocsin builds it from the reports domain.
 * A delivery whose payload already holds a rendered email (e.g. a test mail) needs none.
 */
export type ComposerRegistry = Readonly<Partial<Record<EmailKind, EmailComposer>>>;

/** MissingComposerError says no composer is registered for a delivery's kind: a permanent failure. */
export class MissingComposerError extends Error {
  override readonly name = 'MissingComposerError';
}

/** renderDelivery returns the delivery's email: the stored one, or its kind's composer's. */
export async function renderDelivery(delivery: Delivery, composers: ComposerRegistry): Promise<RenderedEmail> {
  if ('rendered' in delivery.payload) return delivery.payload.rendered;
  const compose = composers[delivery.kind];
  if (!compose) throw new MissingComposerError(`no composer is registered for ${delivery.kind} emails`);
  return compose(delivery);
}
