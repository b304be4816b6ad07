import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** SPOILED is the exit code of a child whose step had a descriptor freed under it (withoutDescriptors): it is run again. */
const SPOILED = 75;

/** How many times a spoiled child is run in all before its test fails. */
const RUNS = 3;

/**
 * runOutOfDescriptors runs `body`, an ES module's code, in a child Node process (with tsx, so it
 * may import the sources) whose open-files limit is 256, and returns what its last line printed, as
 * JSON. The body calls `takeAll()` to take every descriptor left, again before each step it
 * proves, as one the loader closes meanwhile would let a step through; the taken ones are in `taken`.
 * `await withoutDescriptors(step)` does so and returns the step's outcome, unless takeAll finds a
 * descriptor free after it: another part of the process freed one while the step ran, which the
 * step may have had (a lookup that failed out of descriptors, then found one free when it checked
 * why, read as a DNS failure: host-guard.test.ts, once under heavy load). The child is then run
 * again from the start, as a process that has once had a descriptor is changed for good (glibc
 * loads its name service then, and a later lookup needs none). A body may also call `spoiled()`
 * itself, for a step that went through where it could not have without a descriptor freed under it
 * (a send that connected), when its own failure frees descriptors and so cannot use withoutDescriptors.
 */
export async function runOutOfDescriptors<T>(body: string): Promise<T> {
  const script = `
    const fs = await import('node:fs');
    const taken = [];
    const takeAll = () => {
      try {
        for (;;) taken.push(fs.openSync('/dev/null', 'r'));
      } catch {}
    };
    const spoiled = () => process.exit(${SPOILED});
    const withoutDescriptors = async (step) => {
      takeAll();
      const held = taken.length;
      const outcome = await step();
      takeAll();
      if (taken.length !== held) spoiled();
      return outcome;
    };
    ${body}`;
  for (let run = 1; ; run += 1) {
    try {
      const { stdout } = await promisify(execFile)(
        'sh',
        ['-c', 'ulimit -n 256 && exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, script],
        {
          cwd: process.cwd(),
          timeout: 60_000,
        },
      );
      return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
    } catch (err) {
      if ((err as { code?: unknown }).code !== SPOILED || run === RUNS) throw err;
    }
  }
}
