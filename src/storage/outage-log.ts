import type { Logger } from 'pino';
import { StageError } from '../shared/stage-error.js';
import { unavailableReason } from './connect.js';
import { isStorageOutage } from './errors.js';

/**
 * REMIND_EVERY_MS: how often a loop still failing says so again. Each loop retries every 15 s at
 * most through an outage; logging each retry with its stack wrote some 700 lines for five loops in
 * half an hour, burying the line that said what went wrong.
 */
export const REMIND_EVERY_MS = 5 * 60_000;

/** OutageMessages: what a loop logs when it starts failing, and when it works again. */
export interface OutageMessages {
  /**
   * The line of a failure: one for the whole outage, or one told from each failure's error, when
   * what the operator must do depends on it (a full disk is not an unreachable server): a failure
   * whose line differs from the last warned is a new state of the outage, warned anew.
   */
  readonly failed: string | ((err: unknown) => string);
  readonly back: string;
}

/**
 * OutageLog is how a background loop that retries through an outage (the outbox claim, its LISTEN
 * connection, the report scheduler, the pull connector, the undecided-Fatal sweep, the retention
 * purge, the lease renewal) and /readyz's failing probes log it: a warning with the error when the failures begin, a reminder
 * (without the stack) every REMIND_EVERY_MS saying how long it has lasted, and one info line when
 * the loop works again. Each retry in between is logged at debug only, with its wait. Not for hot paths:
 * a loop holds one and calls it once per turn.
 */
export class OutageLog {
  readonly #logger: Logger;
  readonly #messages: OutageMessages;
  readonly #now: () => number;
  /** When the failures in a row began, undefined while the loop works. */
  #since: number | undefined;
  #remindedAt = 0;
  #failures = 0;
  #reason = '';
  /** The line last warned: a failure that words it otherwise begins a new state. */
  #said = '';

  constructor(logger: Logger, messages: OutageMessages, options: { now?: () => number } = {}) {
    this.#logger = logger;
    this.#messages = messages;
    // Monotonic by default: the duration said must not jump with the wall clock (or a test's FakeClock).
    this.#now = options.now ?? (() => performance.now());
  }

  /** failed logs a failed turn of the loop; retryInMs is the wait before the next one, if it backs off. */
  failed(err: unknown, retryInMs?: number): void {
    const now = this.#now();
    const { failed } = this.#messages;
    const said = typeof failed === 'string' ? failed : failed(err);
    this.#reason = reasonOf(err);
    this.#failures += 1;
    if (this.#since === undefined || said !== this.#said) {
      this.#since ??= now;
      this.#remindedAt = now;
      this.#said = said;
      this.#logger.warn({ err, reason: this.#reason, retryInMs }, said);
      return;
    }
    const outageMs = now - this.#since;
    if (now - this.#remindedAt >= REMIND_EVERY_MS) {
      this.#remindedAt = now;
      this.#logger.warn(
        { reason: this.#reason, failures: this.#failures, outageMs: Math.round(outageMs), retryInMs },
        `${said} (still, for ${Math.round(outageMs / 60_000)} min)`,
      );
    } else {
      this.#logger.debug({ reason: this.#reason, retryInMs }, said);
    }
  }

  /** worked logs, after failures, that the loop works again and how long it did not; else nothing. */
  worked(): void {
    if (this.#since === undefined) return;
    this.#logger.info({ failures: this.#failures, outageMs: Math.round(this.#now() - this.#since), reason: this.#reason }, this.#messages.back);
    this.#since = undefined;
    this.#failures = 0;
  }
}

/**
 * reasonOf says in a line why a turn failed: a stage's error says it already ("claim: the database
 * is unavailable (…)"), a driver's refusal as /readyz words it, anything else by its message (a
 * failure that is no outage is not called "database unreachable").
 */
function reasonOf(err: unknown): string {
  if (err instanceof StageError || !isStorageOutage(err)) return err instanceof Error ? err.message : String(err);
  return unavailableReason(err);
}
