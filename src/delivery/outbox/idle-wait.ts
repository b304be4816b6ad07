/**
 * How the claim loop hears of rows that other processes queue, which ring no doorbell here:
 * `notified`, the database tells it (PostgreSQL's NOTIFY); `watched`, it looks at each poll
 * whether the SQLite file changed (ChangeMark), a few microseconds against a claim's read;
 * `unseen`, neither (the mark could not be read: taken inside a transaction).
 */
export type NewRowsHeard = 'notified' | 'watched' | 'unseen';

/** What the claim loop knows after a claim, to decide how long it sleeps (idleWaitMs). */
export interface AfterClaim {
  /** The claim found nothing due and said when the first row it could take falls due (null: none queued), else undefined. */
  readonly nextDueAt: number | null | undefined;
  readonly now: number;
  /** The worker's poll (WorkerSettings.pollIntervalMs). */
  readonly pollMs: number;
  /** The worker's longest sleep when it knows the next due time (WorkerSettings.idlePollIntervalMs); undefined: it polls. */
  readonly idlePollMs: number | undefined;
  readonly heard: NewRowsHeard;
  /** Whether a tenant is kept out of the claims now, its server paused: its rows' due times are not in `nextDueAt`. */
  readonly paused: boolean;
}

/**
 * idleWaitMs is how long the claim loop sleeps after a claim that did not fill its batch: its poll,
 * or, when the claim said when the next row falls due, until then (the idle sleep, at most
 * `idlePollMs`), which a doorbell, a wake() or what it hears of other processes' rows cuts short.
 * When it cannot hear them (`unseen`), and on SQLite while a tenant is paused (the pause's end and
 * the look at its settings every 2 s, PAUSED_RECHECK_MS, are times that no row tells), the poll.
 */
export function idleWaitMs(after: AfterClaim): number {
  const { nextDueAt, now, pollMs, idlePollMs, heard, paused } = after;
  if (nextDueAt === undefined || idlePollMs === undefined) return pollMs;
  if (heard === 'unseen' || (heard === 'watched' && paused)) return pollMs;
  const untilDue = nextDueAt === null ? Number.POSITIVE_INFINITY : nextDueAt - now;
  return Math.max(0, Math.min(idlePollMs, untilDue));
}
