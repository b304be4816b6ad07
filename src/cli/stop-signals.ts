/** StopSignals: the first SIGTERM, SIGINT or SIGHUP, as an AbortSignal for what waits and as its name. */
export interface StopSignals {
  readonly signal: AbortSignal;
  readonly received: Promise<string>;
  /** onRepeat hears each stop signal that comes after the first, while the stop is under way. */
  onRepeat(listener: (signal: string) => void): void;
}

/**
 * listenForStop hears SIGTERM, SIGINT and SIGHUP from now on. `tocsin serve` listens before it loads
 * the service's modules (main.ts), not once serving, nor once those modules have loaded: a signal
 * that came meanwhile (seconds of imports on a busy machine, a database waited for: a locked SQLite
 * file, an unreachable PostgreSQL) found no handler and ended the process by the signal (exit code
 * null, nothing logged), which a supervisor reads as a failed stop. SIGHUP (the terminal it ran in
 * closed) stops it as gracefully: Node's default ended it at once, cutting off requests in flight and
 * leaving the emails being sent leased, to be sent again by the next start. The handlers stay for
 * every later signal too: a second Ctrl-C (or a SIGTERM sent again) did the same, silently, to a stop
 * under way, which is bounded anyway (serve.ts's grace). This module imports nothing, so main.ts
 * loads it at no cost to the other commands.
 */
export function listenForStop(): StopSignals {
  const controller = new AbortController();
  const repeats: ((signal: string) => void)[] = [];
  let resolveReceived: (signal: string) => void = () => undefined;
  const received = new Promise<string>((resolve) => {
    resolveReceived = resolve;
  });
  const on = (signal: string) => {
    if (!controller.signal.aborted) {
      controller.abort();
      resolveReceived(signal);
      return;
    }
    for (const listener of repeats) listener(signal);
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => on(signal));
  return { signal: controller.signal, received, onRepeat: (listener) => repeats.push(listener) };
}
