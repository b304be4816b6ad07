import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { scavengeIfHalfFull } from './young-generation.js';

const young = () => v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')!;
/** What the young generation holds at most now (its space_size counts both semi-spaces). */
const capacity = () => young().space_used_size + young().space_available_size;

describe("V8's young generation at an idle moment", () => {
  it('is collected once at least half full of garbage', () => {
    let last: unknown;
    // Short-lived objects until the young generation is past half full: it only fills between two
    // of V8's own scavenges, so a bounded number of rounds always gets there. At least one round:
    // the worker runs other files before this one (isolate: false) and may start past half full.
    let round = 0;
    do {
      for (let i = 0; i < 100; i++) last = { n: i, s: `x${i}` };
    } while (++round < 100_000 && young().space_used_size < 0.6 * capacity());
    const before = young().space_used_size;
    expect(before).toBeGreaterThanOrEqual(0.5 * capacity());
    scavengeIfHalfFull();
    expect(young().space_used_size).toBeLessThan(before / 2);
    expect(last).toBeDefined();
  });

  it('is left to V8 while less than half full', () => {
    scavengeIfHalfFull();
    const before = young().space_used_size;
    scavengeIfHalfFull();
    expect(young().space_used_size).toBeGreaterThanOrEqual(before);
  });
});
