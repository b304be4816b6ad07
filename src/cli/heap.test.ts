import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const MB = 1024 * 1024;
/**
 * PROBE_MS bounds one probe. It needs 2-3 s of CPU, but it allocates 3 million objects through a
 * capped young generation (thousands of scavenges) after loading tsx: on two cores at a load of 20
 * it took 43 s of wall time, past vitest's 30 s default that each test had.
 */
const PROBE_MS = 100_000;

/** largestYoungGeneration runs test/support/processes/heap-probe.ts as a process of `role` and returns its largest new space. */
async function largestYoungGeneration(role: string): Promise<number> {
  const probe = path.join(here, '../../test/support/processes/heap-probe.ts');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', probe, role], { timeout: PROBE_MS });
  return Number(stdout.trim());
}

describe('the heap of a tocsin serve process', () => {
  it(
    'a worker lets its young generation grow to 2 x 4 MB and no further under a burst of allocations',
    async () => {
      expect(await largestYoungGeneration('worker')).toBe(8 * MB);
    },
    PROBE_MS + 10_000,
  );

  it(
    'an api process leaves the young generation to grow past it as V8 would',
    async () => {
      expect(await largestYoungGeneration('api')).toBeGreaterThan(8 * MB);
    },
    PROBE_MS + 10_000,
  );
});
