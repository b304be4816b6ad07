import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

// How a `tocsin serve` process sizes its V8 heap, set by the process itself at run time, so that it
// applies however the process was started (`npm start`, the `tocsin` bin, `node dist/cli/main.js`,
// the api processes of `--processes`) instead of as command-line flags that each way of starting
// would have to repeat. V8 reads these flags at each collection. Measured in bench/worker-rss.md.
// This module imports nothing but node:v8: main.ts loads it before any of serve's modules.

/**
 * holdYoungGeneration keeps V8's young generation at its initial size (two 1 MB semi-spaces): V8
 * otherwise doubles it whenever enough survives a scavenge, and loading serve's modules alone grows
 * it to 2 × 8 MB, under a burst to 2 × 16 MB, all of it resident once used. V8 reads its maximum
 * only at start, but the growth factor at each scavenge, so the hold is a growth factor of 1, set
 * before the modules load; servingHeap releases it for the roles that keep V8's defaults.
 */
export function holdYoungGeneration(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

/** V8_SEMI_SPACE_GROWTH_FACTOR is V8's own default, which servingHeap restores for api and all-in-one processes. */
const V8_SEMI_SPACE_GROWTH_FACTOR = 2;

/**
 * WORKER_HEAP_GROWING_PERCENT is how far a worker's old generation may grow past what was live at
 * the last full collection before the next one: V8 otherwise lets it grow up to four times that
 * under a burst (it scales the factor with how fast the process allocates), which held a worker at
 * 190-260 MB for about 40 MB live. 50 % brought the peak to 154-160 MB for no CPU per email that
 * the runs could tell apart; 30 % to 149-151 MB for 10-17 % more CPU.
 */
const WORKER_HEAP_GROWING_PERCENT = 50;

/**
 * WORKER_SEMI_SPACE_MB is the most a worker's young generation grows to, per semi-space (V8's own
 * maximum is 16 MB). Held at the initial 1 MB, a worker spent about 10 % more CPU per email (objects
 * of an email in flight were promoted before they died, and full collections ran more often).
 */
const WORKER_SEMI_SPACE_MB = 4;

/**
 * capYoungGeneration lets the young generation grow to `semiSpaceMb` per semi-space and no
 * further. V8 fixes the maximum at start, but reads the growth factor each time it grows the young
 * generation, so after every collection the factor is set to what takes it exactly to the cap in
 * one step (1 once there); V8 may also shrink it when the process allocates little, and it then
 * grows back to the cap, not past it. The factor is set between tasks (V8 reports collections to
 * JavaScript after the task that ran them): a server's tasks are small (an email, a query), but one
 * long synchronous stretch of allocation could take the young generation past the cap.
 */
function capYoungGeneration(semiSpaceMb: number): void {
  // The new space's size counts both of its semi-spaces.
  const cap = 2 * semiSpaceMb * 1024 * 1024;
  let factor = 1;
  const steer = () => {
    const size = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? cap;
    const next = Math.max(1, Math.floor(cap / size));
    if (next === factor) return;
    factor = next;
    v8.setFlagsFromString(`--semi-space-growth-factor=${next}`);
  };
  new PerformanceObserver(steer).observe({ entryTypes: ['gc'] });
  steer();
}

/**
 * servingHeap sizes the heap of a `tocsin serve` process once its role is known (the young
 * generation is already held by holdYoungGeneration):
 * - `TOCSIN_LEAN_HEAP=true`, any role: V8's `--optimize-for-size`, which keeps the old generation
 *   near twice what is live as well, for half as much CPU again per email (and delivery
 *   throughput with it), so for processes short of memory rather than of CPU.
 * - a worker: its young generation grows to at most WORKER_SEMI_SPACE_MB per semi-space, and its
 *   old generation by at most WORKER_HEAP_GROWING_PERCENT between full collections. What this costs is more collections of
 *   both kinds in a burst, each cheaper.
 * - an api or all-in-one process: V8's defaults (the young generation free to grow again).
 */
export function servingHeap(role: 'api' | 'worker' | 'all', lean: boolean): void {
  if (lean) v8.setFlagsFromString('--optimize-for-size');
  else if (role === 'worker') {
    v8.setFlagsFromString(`--heap-growing-percent=${WORKER_HEAP_GROWING_PERCENT}`);
    capYoungGeneration(WORKER_SEMI_SPACE_MB);
  } else v8.setFlagsFromString(`--semi-space-growth-factor=${V8_SEMI_SPACE_GROWTH_FACTOR}`);
}
