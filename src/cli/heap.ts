import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import type { Role } from '../shared/serve-roles.js';

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
 * maximum is 16 MB). Held at the initial 1 MB, a worker spent about 13 % more CPU per email (objects
 * of an email in flight were promoted before they died, and full collections ran more often).
 */
const WORKER_SEMI_SPACE_MB = 4;

/**
 * semiSpaceCapacity is what one of the young generation's two semi-spaces holds now, used and
 * free, in bytes. (The young generation's committed size would not do: it counts the second
 * semi-space only while that one is committed, which V8 undoes when it shrinks the space.)
 */
function semiSpaceCapacity(): number {
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return space ? space.space_used_size + space.space_available_size : 0;
}

/**
 * growYoungGeneration takes each semi-space to `target` bytes (within a page's rounding) at
 * once, in one synchronous stretch, so that no other code runs while the growth factor is above 1:
 * V8 grows the space at the scavenge that finds more survived since the last growth than the space
 * holds, and the objects kept here make that scavenge come at once, after a few MB. Between growths
 * the factor is 1, so nothing else grows it past the target.
 */
function growYoungGeneration(target: number): void {
  const kept: number[][] = [];
  let allocated = 0;
  for (let capacity = semiSpaceCapacity(); capacity > 0 && allocated < 8 * target; capacity = semiSpaceCapacity()) {
    // A semi-space holds a little less than its size (page headers): 5 % of slack.
    const factor = Math.floor((1.05 * target) / capacity);
    if (factor < 2) break;
    v8.setFlagsFromString(`--semi-space-growth-factor=${factor}`);
    // 16 KB a piece (2,048 small integers), until the space has grown.
    while (semiSpaceCapacity() < 1.5 * capacity && allocated < 8 * target) {
      kept.push(new Array<number>(2048).fill(0));
      allocated += 16 * 1024;
    }
  }
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

/**
 * capYoungGeneration keeps the young generation at `semiSpaceMb` per semi-space. V8 fixes the
 * maximum at start, but reads the growth factor each time it grows the space: held at 1 (by
 * holdYoungGeneration) it never grows by itself, and growYoungGeneration takes it to the cap now
 * and again after every collection that finds it smaller (V8 shrinks it when the process allocates
 * little, as an idle worker does).
 */
function capYoungGeneration(semiSpaceMb: number): void {
  const target = semiSpaceMb * 1024 * 1024;
  const steer = () => {
    if (semiSpaceCapacity() < 0.9 * target) growYoungGeneration(target);
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
export function servingHeap(role: Role, lean: boolean): void {
  if (lean) v8.setFlagsFromString('--optimize-for-size');
  else if (role === 'worker') {
    v8.setFlagsFromString(`--heap-growing-percent=${WORKER_HEAP_GROWING_PERCENT}`);
    capYoungGeneration(WORKER_SEMI_SPACE_MB);
  } else v8.setFlagsFromString(`--semi-space-growth-factor=${V8_SEMI_SPACE_GROWTH_FACTOR}`);
}
