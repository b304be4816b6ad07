/** StopSignals: the first SIGTERM, SIGINT or SIGHUP, as an AbortSignal for what waits and as its name. */
export interface StopSignals {
  readonly signal: AbortSignal;
  readonly received: Promise<string>;
}

/**
 * listenForStop hears SIGTERM, SIGINT and SIGHUP from now on. `tocsin serve` listens before it loads
 * the service's modules (main.ts), not once serving, nor once those modules have loaded: a signal
 * that came meanwhile (seconds of imports on a busy machine, a database waited for: a locked SQLite
 * file, an unreachable PostgreSQL) found no handler and ended the process by the signal (exit code
 * null, nothing logged), which a supervisor reads as a failed stop. SIGHUP (the terminal it ran in
 * closed) stops it as gracefully: Node's default ended it at once, cutting off requests in flight and
 * leaving the emails being sent leased, to be sent again by the next start. This module imports
 * nothing, so main.ts loads it at no cost to the other commands.
 */
export function listenForStop(): StopSignals {
  const controller = new AbortController();
  const received = new Promise<string>((resolve) => {
    const on = (signal: string) => {
      controller.abort();
      resolve(signal);
    };
    process.once('SIGTERM', () => on('SIGTERM'));
    process.once('SIGINT', () => on('SIGINT'));
    process.once('SIGHUP', () => on('SIGHUP'));
  });
  return { signal: controller.signal, received };
}
