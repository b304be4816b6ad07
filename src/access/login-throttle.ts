import { clientAddressKey } from '../shared/client-address.js';
import type { Clock } from '../shared/clock.js';

/** ThrottleRule allows `limit` failures within a sliding window of `windowMs`. */
export interface ThrottleRule {
  readonly limit: number;
  readonly windowMs: number;
}

/**
 * LOGIN_RULES: an account (tenant + email) takes 5 wrong passwords per 15 minutes, so guessing is
 * slow; one client address takes 30, so spraying one password over many accounts is slow too.
 */
export const LOGIN_RULES: Readonly<Record<'account' | 'address', ThrottleRule>> = Object.freeze({
  account: { limit: 5, windowMs: 15 * 60_000 },
  address: { limit: 30, windowMs: 15 * 60_000 },
});

/** How many keys are remembered; past it the oldest are forgotten, so memory stays bounded. */
const MAX_KEYS = 50_000;

/**
 * waitMs decides, from the times of recent failures (oldest first), how long the next attempt must
 * wait: 0 while fewer than `limit` failures fall inside the window, else until the oldest leaves it.
 */
export function waitMs(failures: readonly number[], rule: ThrottleRule, now: number): number {
  const recent = failures.filter((at) => at > now - rule.windowMs);
  if (recent.length < rule.limit) return 0;
  return recent[recent.length - rule.limit]! + rule.windowMs - now;
}

/** LoginKeys name who is trying: the account (absent for admin-token sign-in) and the address (counted by clientAddressKey: an IPv6 /64 as one). */
export interface LoginKeys {
  readonly account?: string;
  readonly address: string;
}

/** SignInAttempt is a sign-in being checked: it counts against its keys until it is settled. */
export interface SignInAttempt {
  /** failed records its wrong password (as LoginThrottle.failed) and ends it. */
  failed(): void;
  /** succeeded forgets the account's failures (as LoginThrottle.succeeded) and ends it. */
  succeeded(): void;
  /** end ends it unsettled (its check did not finish), counting nothing; a settled one stays as settled. */
  end(): void;
}

/**
 * LoginThrottle counts failed sign-ins in memory, per account and per client address. Each
 * process counts its own; several processes behind one address multiply the limits, which still
 * keeps online guessing far too slow to matter. The attempts still being checked count too
 * (begin): a check waits for the password hash, and guesses sent at once were all let through
 * before the first of them was counted. One that would pass a limit with them waits until one of
 * them is settled (crowded, settled), so right passwords sent at once all sign in.
 */
export class LoginThrottle {
  readonly #failures = new Map<string, number[]>();
  readonly #underWay = new Map<string, number>();
  readonly #waiting: (() => void)[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly rules = LOGIN_RULES,
  ) {}

  /** retryAfterMs is how long these keys must wait before trying again (0: go ahead). */
  retryAfterMs(keys: LoginKeys): number {
    const now = this.clock.now();
    return Math.max(...this.#entries(keys).map(([key, rule]) => waitMs(this.#failures.get(key) ?? [], rule, now)));
  }

  /**
   * crowded tells whether these keys' recent failures and their attempts still being checked
   * reach a limit: the next attempt must wait until one of those is settled (settled), then ask
   * retryAfterMs again, since each of them may yet fail.
   */
  crowded(keys: LoginKeys): boolean {
    const now = this.clock.now();
    return this.#entries(keys).some(([key, rule]) => {
      const underWay = this.#underWay.get(key) ?? 0;
      return underWay > 0 && (this.#failures.get(key) ?? []).filter((at) => at > now - rule.windowMs).length + underWay >= rule.limit;
    });
  }

  /** settled resolves once any attempt under way is settled or ended. */
  settled(): Promise<void> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /**
   * begin counts a sign-in about to be checked against its keys until it is settled: ask
   * retryAfterMs and crowded first, in the same turn of the event loop, and settle or end it in a finally.
   */
  begin(keys: LoginKeys): SignInAttempt {
    const entries = this.#entries(keys);
    for (const [key] of entries) this.#underWay.set(key, (this.#underWay.get(key) ?? 0) + 1);
    let open = true;
    const end = (record?: () => void) => {
      if (!open) return;
      open = false;
      for (const [key] of entries) {
        const left = (this.#underWay.get(key) ?? 1) - 1;
        if (left > 0) this.#underWay.set(key, left);
        else this.#underWay.delete(key);
      }
      record?.();
      for (const wake of this.#waiting.splice(0)) wake();
    };
    return {
      failed: () => end(() => this.failed(keys)),
      succeeded: () => end(() => this.succeeded(keys)),
      end: () => end(),
    };
  }

  /** failed records a wrong password, unknown account or bad admin token. */
  failed(keys: LoginKeys): void {
    const now = this.clock.now();
    for (const [key, rule] of this.#entries(keys)) {
      const kept = (this.#failures.get(key) ?? []).filter((at) => at > now - rule.windowMs).slice(-rule.limit);
      this.#failures.delete(key);
      this.#failures.set(key, [...kept, now]);
    }
    for (const key of this.#failures.keys()) {
      if (this.#failures.size <= MAX_KEYS) break;
      this.#failures.delete(key);
    }
  }

  /** succeeded forgets the account's failures; the address keeps its count. */
  succeeded(keys: LoginKeys): void {
    if (keys.account !== undefined) this.#failures.delete(`account:${keys.account}`);
  }

  #entries(keys: LoginKeys): [string, ThrottleRule][] {
    const entries: [string, ThrottleRule][] = [[`address:${clientAddressKey(keys.address)}`, this.rules.address]];
    if (keys.account !== undefined) entries.push([`account:${keys.account}`, this.rules.account]);
    return entries;
  }
}
