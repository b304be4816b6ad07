import type { EmailKind } from '../contract.js';
import type { ComposerRegistry, EmailComposer } from './render.js';
import { isUrgentKind } from './urgency.js';

/**
 * RENDERS_AT_ONCE is how many reports a worker renders at once. A claim holds up to a tenant's 100
 * sends, and each report's render reads a few rows: rendered all at once, their reads queued by the
 * hundred for the pool's few PostgreSQL connections (5 by default), and the heartbeat's renewal and
 * the next claim waited behind them, past the 10 s a pooled connection is waited for ("timeout
 * exceeded when trying to connect"): leases in doubt, reports not sent, renders failed and retried.
 * Rendering is CPU work; a few at once keep the reads of one overlapping the render of another.
 */
export const RENDERS_AT_ONCE = 4;

/**
 * fewRendersAtOnce wraps the composers of the kinds that wait their turn (reports) so that at most
 * `limit` of their renders run at once, the others starting as those end, first come first served.
 * The urgent kinds' composers (a Fatal alert's email) are left as they are: they never wait for a report.
 */
export function fewRendersAtOnce(composers: ComposerRegistry, limit = RENDERS_AT_ONCE): ComposerRegistry {
  let running = 0;
  const waiting: (() => void)[] = [];
  const limited =
    (compose: EmailComposer): EmailComposer =>
    async (delivery) => {
      if (running >= limit) await new Promise<void>((start) => waiting.push(start));
      else running += 1;
      try {
        return await compose(delivery);
      } finally {
        // The slot passes to the next waiter as it is; with none waiting, it is free.
        const next = waiting.shift();
        if (next) next();
        else running -= 1;
      }
    };
  return Object.fromEntries(
    Object.entries(composers).map(([kind, compose]) => [kind, isUrgentKind(kind as EmailKind) ? compose : limited(compose)]),
  ) as ComposerRegistry;
}
