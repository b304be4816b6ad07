import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const MB = 1024 * 1024;

/** largestYoungGeneration runs test/support/processes/heap-probe.ts as a process of `role` and returns its largest new space. */
async function largestYoungGeneration(role: string): Promise<number> {
  const probe = path.join(here, '../../test/support/processes/heap-probe.ts');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', probe, role], { timeout: 60_000 });
  return Number(stdout.trim());
}

describe('the heap of a tocsin serve process', () => {
  it('a worker lets its young generation grow to 2 x 4 MB and no further under a burst of allocations', async () => {
    expect(await largestYoungGeneration('worker')).toBe(8 * MB);
  });

  it('an api process leaves the young generation to grow past it as V8 would', async () => {
    expect(await largestYoungGeneration('api')).toBeGreaterThan(8 * MB);
  });
});
