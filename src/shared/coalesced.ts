/**
 * coalesced runs `task` for a key at most once at a time: the calls that come while a run is under
 * way share the next run, which begins when it ends. Each caller's answer comes from a run begun
 * after it called, so it sees whatever was committed before it called, and a flood of calls costs
 * one run per run's length rather than one per call.
 */
export function coalesced<K, T>(task: (key: K) => Promise<T>): (key: K) => Promise<T> {
  // The next run of a key, not begun yet, and the run under way (settled either way).
  const next = new Map<K, Promise<T>>();
  const current = new Map<K, Promise<void>>();
  return (key) => {
    const waiting = next.get(key);
    if (waiting) return waiting;
    // With none under way, the run begins once the I/O already come in has been handled (a
    // synchronous database answers within the caller's microtasks, so no call would ever wait).
    const run = (current.get(key) ?? new Promise<void>((begin) => setImmediate(begin))).then(() => {
      next.delete(key);
      return task(key);
    });
    next.set(key, run);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    current.set(key, settled);
    void settled.then(() => {
      if (current.get(key) === settled) current.delete(key);
    });
    return run;
  };
}
