import type { Unreached } from '../delivery/contract.js';

/**
 * Mail health, the decisions: whether a tenant's mail works, from what its deliveries meet
 * (issue 13). Pure; store.ts keeps the result per tenant.
 */

/** FAILING_AFTER_MS: transient failures that go on for longer than this make the mail failing. */
export const FAILING_AFTER_MS = 15 * 60_000;

/**
 * MailHealthSignal is what one attempt at a tenant's alert email says about its mail server: it
 * took the email, it failed for now (it may pass), or it refused for good.
 */
export type MailHealthSignal =
  | { readonly kind: 'delivered' }
  | {
      readonly kind: 'transient' | 'permanent';
      readonly code?: number | undefined;
      readonly error: string;
      /** Why no server answered, when none did (classify.ts): what the notices word in each reader's language. */
      readonly unreached?: Unreached;
      /**
       * The email was given up on: its deadline passed while the server kept failing for now. Its
       * reader will never get it, so the mail is failing however short the deadline (less than
       * FAILING_AFTER_MS under TOCSIN_DELIVERY_DEADLINE_HOURS=0.1), not only after that wait.
       */
      readonly gaveUp?: boolean;
      /**
       * A mailbox refusing for now (4xx to RCPT, but 421) rather than the server. With mailboxSince,
       * when that email first failed, which the store reads: given up on, it says the mail is failing
       * only if the server took no email since (tookEmailSince); else it is that mailbox's problem
       * (full, greylisting one address), as a 550 "no such user" is, and no incident that the next
       * delivery would end.
       */
      readonly mailboxRefused?: boolean;
      readonly mailboxSince?: number;
      /**
       * A relay refusal (554 5.7.1 Relay access denied at RCPT), or one of the sender or this client
       * there (attempt.ts refusesSender): the server's problem only when it is
       * not delivering other emails (relayVerdict), as one external reader refused among delivered
       * ones is that reader's, as a 550 "no such user" is. With tookEmailAt, when the server last took
       * an email before it (null: none that the attempt log keeps), which the store reads.
       */
      readonly relayDenied?: boolean;
      readonly tookEmailAt?: number | null;
      /**
       * The tenant's due emails are held out by its server's open circuit breaker, since this time
       * (when the breaker opened, or its first held email fell due, if later): no attempt tells of
       * its mail, which is failing for now all the same, its run of failures starting then.
       */
      readonly heldSince?: number;
    };

/** MailHealthObservation is one signal about one tenant's mail, at one time. */
export interface MailHealthObservation {
  readonly tenantId: string;
  readonly at: number;
  readonly signal: MailHealthSignal;
}

/** MailHealthState is `ok` while the tenant's mail works, `failing` during an incident. */
export type MailHealthState = 'ok' | 'failing';

/** MailHealth is what is kept per tenant. */
export interface MailHealth {
  readonly state: MailHealthState;
  /** When the state began; for `failing`, the first failure of the incident. */
  readonly since: number | null;
  readonly lastCode: number | null;
  readonly lastError: string | null;
  /** A refusal for good: the last failure, or the one that started the incident, until an email gets through. What `fallbackToDefault` acts on. */
  readonly permanent: boolean;
  /** The first transient failure since the last success, while they go on. */
  readonly transientSince: number | null;
  /** The number of the current (or last) incident; each notice is sent once per number. */
  readonly incident: number;
}

/** HEALTHY is a tenant that never had a failure observed. */
export const HEALTHY: MailHealth = Object.freeze({
  state: 'ok',
  since: null,
  lastCode: null,
  lastError: null,
  permanent: false,
  transientSince: null,
  incident: 0,
});

/** MailHealthTransition is a change of state that calls for notices: a new incident, or its end. */
export type MailHealthTransition = 'failing' | 'recovered';

/**
 * nextHealth folds one signal into a tenant's health. A delivery ends an incident; a permanent
 * refusal starts one at once, but a relay refusal while the server delivers other emails
 * (relayVerdict); transient failures start one once they have gone on for more than
 * FAILING_AFTER_MS, or once an email is given up on at its deadline. A failure during an incident
 * only updates the last reply.
 */
export function nextHealth(health: MailHealth, signal: MailHealthSignal, at: number): { health: MailHealth; transition?: MailHealthTransition } {
  if (signal.kind === 'delivered') {
    if (health.state === 'ok' && health.transientSince === null && !health.permanent) return { health };
    const recovered = health.state === 'failing';
    return {
      health: { ...health, state: 'ok', since: recovered ? at : health.since, permanent: false, transientSince: null },
      ...(recovered ? { transition: 'recovered' as const } : {}),
    };
  }
  const relay = relayVerdict(signal, at);
  if (relay === 'reader' && health.state === 'ok') return { health };
  // Transient failures, and a relay refusal after a while without deliveries, make a run of failures
  // that only a delivery ends, and the mail failing once it goes on for more than FAILING_AFTER_MS.
  const joinsRun = signal.kind === 'transient' || relay === 'run';
  const transientSince = joinsRun ? (health.transientSince ?? Math.min(signal.heldSince ?? at, at)) : health.transientSince;
  const failed: MailHealth = {
    ...health,
    lastCode: signal.code ?? null,
    lastError: signal.error,
    // An incident that a refusal for good started stays one for `fallbackToDefault` until an email
    // gets through: the own server, tried again a while later, being busy for now is no reason to
    // stop the system default standing in for it.
    permanent: signal.kind === 'permanent' || (health.state === 'failing' && health.permanent),
    transientSince,
  };
  if (health.state === 'failing') return { health: failed };
  const gaveUp = signal.kind === 'transient' && signal.gaveUp === true && !(signal.mailboxSince !== undefined && tookEmailSince(health, signal.mailboxSince));
  const failing = !joinsRun || gaveUp || at - transientSince! > FAILING_AFTER_MS;
  if (!failing) return { health: failed };
  return {
    health: { ...failed, state: 'failing', since: joinsRun ? transientSince : at, incident: health.incident + 1 },
    transition: 'failing',
  };
}

/**
 * tookEmailSince tells whether the server took an email after `since`, the first failure of one
 * email: that failure began a run of failures (transientSince) or joined one, which only a delivery
 * ends, so a run that began later, or none at all, means another email got through meanwhile.
 */
function tookEmailSince(health: MailHealth, since: number): boolean {
  return health.transientSince === null || health.transientSince > since;
}

/**
 * relayVerdict tells what a relay refusal says of the server, from when it last took an email
 * (MailHealthSignal's tookEmailAt): 'server' when it never did (it refuses every reader: an
 * incident at once, as any refusal for good); 'reader' when it took one within FAILING_AFTER_MS
 * before (the server delivers the others: that reader's email fails alone, health unchanged);
 * else 'run', a failure that begins or joins the run of failures that only a delivery ends, so
 * that a server that took emails before and now refuses every reader starts an incident once it
 * has taken none for more than FAILING_AFTER_MS of refusals (since: the first of them), a little
 * later than its first refusal. The run begins only past FAILING_AFTER_MS after the last delivery,
 * so that the refused reader's email sent last in one window and first in the next, with the
 * other readers' emails around them, makes no incident. Undefined for any other signal.
 */
function relayVerdict(signal: MailHealthSignal, at: number): 'server' | 'reader' | 'run' | undefined {
  if (signal.kind !== 'permanent' || signal.relayDenied !== true || signal.tookEmailAt === undefined) return undefined;
  if (signal.tookEmailAt === null) return 'server';
  return at - signal.tookEmailAt <= FAILING_AFTER_MS ? 'reader' : 'run';
}

/** MailHealthView is the answer of `GET /settings/mail/health` (API.md). */
export interface MailHealthView {
  state: MailHealthState;
  since?: string;
  lastCode?: number;
  lastError?: string;
}

/** showMailHealth is the API answer: the last reply only while failing, when there is one. */
export function showMailHealth(health: MailHealth): MailHealthView {
  return {
    state: health.state,
    ...(health.since !== null ? { since: new Date(health.since).toISOString() } : {}),
    ...(health.state === 'failing' && health.lastCode !== null ? { lastCode: health.lastCode } : {}),
    ...(health.state === 'failing' && health.lastError !== null ? { lastError: health.lastError } : {}),
  };
}
