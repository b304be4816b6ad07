/**
 * heap-probe is a child process for the heap-sizing test: it sizes its heap as `tocsin serve` of
 * the role in argv[2] does (holdYoungGeneration before loading, servingHeap once the role is
 * known), then allocates like a burst (objects that survive a few scavenges, then die) and prints
 * the largest young generation (V8's new space, both semi-spaces) it saw, in bytes. A process of its
 * own, since V8's flags are per process.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { holdYoungGeneration, servingHeap } from '../../../src/cli/heap.js';

holdYoungGeneration();
servingHeap(process.argv[2] as 'api' | 'worker' | 'all', false);

const newSpaceSize = () => v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')!.space_size;
let largest = newSpaceSize();
new PerformanceObserver(() => {
  largest = Math.max(largest, newSpaceSize());
}).observe({ entryTypes: ['gc'] });

// In long synchronous stretches (many collections each, none reported to JavaScript until the
// stretch ends), the worst case for a cap that is steered from JavaScript.
let kept: { n: number; s: string }[] = [];
for (let round = 0; round < 30; round++) {
  for (let i = 0; i < 100_000; i++) kept.push({ n: i, s: `email ${round} ${i}` });
  if (kept.length > 300_000) kept = kept.slice(100_000);
  await new Promise((resolve) => setImmediate(resolve));
}
process.stdout.write(`${Math.max(largest, newSpaceSize())}\n`);
