import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * runOutOfDescriptors runs `body`, an ES module's code, in a child Node process (with tsx, so it
 * may import the sources) whose open-files limit is 256, and returns what its last line printed, as
 * JSON. The body calls `takeAll()` to take every descriptor left, again before each step it
 * proves, as one the loader closes meanwhile would let a step through; the taken ones are in `taken`.
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
    ${body}`;
  const { stdout } = await promisify(execFile)('sh', ['-c', 'ulimit -n 256 && exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, script], {
    cwd: process.cwd(),
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}
