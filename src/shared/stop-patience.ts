import type { Logger } from 'pino';
import { untilAborted } from './deadline.js';

/**
 * STOP_PATIENCE_MS is how long a stopping process waits, all its loops together, for the database
 * work they have in progress (the report scheduler's look, a claim, a decision, a poll's insert).
 * A database that answers ends such work in milliseconds; one that does not (a network partition,
 * a frozen server) held each loop until the silent-statement check dropped its statement, 5 to 8 s
 * a statement and one loop after the other, so a SIGTERM then ran past serve's 15 s grace and
 * exited 1. Work left behind is cut when the storage closes: PostgreSQL rolls its transaction back,
 * and what it had claimed (a report's schedule row, an email) is claimed again once its lease ends.
 */
const STOP_PATIENCE_MS = 2_000;

/** stopPatience is the STOP_PATIENCE_MS from now that a stopping process's loops share. */
export function stopPatience(): AbortSignal {
  return AbortSignal.timeout(STOP_PATIENCE_MS);
}

/**
 * endedWithin waits for a stopping loop's `work` in progress until `patience` (when given) aborts,
 * and says whether it ended; a failure of the work is the loop's own to log. Work not ended is
 * logged (`what` names it) and left to the storage's close.
 */
export async function endedWithin(work: Promise<unknown> | undefined, patience: AbortSignal | undefined, log: Logger, what: string): Promise<boolean> {
  const settled = (work ?? Promise.resolve()).then(
    () => true,
    () => true,
  );
  if (!patience) return settled;
  const ended = await untilAborted(settled, patience).catch(() => false);
  if (!ended) log.warn(`stopping without waiting longer for ${what}: the database did not answer it in time; it is rolled back as the database closes`);
  return ended;
}
