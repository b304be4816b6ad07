import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defer, releaseAll, runScript, startProcess, tempDir } from './lifecycle.js';

/** alive is whether a process runs; a killed one whose parent is gone may linger as a zombie until reaped. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function eventually(check: () => boolean, ms = 3_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/**
 * SCRIPT_MS bounds a script that should exit by itself: tsx compiling it took 8.3 s at a load of 26
 * on two cores, near the 10 s these tests gave it, and past it a script is killed ('exited with null').
 */
const SCRIPT_MS = 120_000;

// Room for two script starts and the overrun's three, each as slow as a loaded machine makes them.
describe('bench lifecycle', { timeout: 3 * SCRIPT_MS }, () => {
  it('releases everything newest first, and a released entry only once', async () => {
    const order: string[] = [];
    defer('a', () => void order.push('a'));
    const releaseB = defer('b', () => void order.push('b'));
    defer('c', () => void order.push('c'));
    await releaseB();
    await releaseAll();
    expect(order).toEqual(['b', 'c', 'a']);
  });

  it('removes temp folders and stops processes at release', async () => {
    const dir = tempDir('test');
    const { child } = startProcess('sleep', 'sleep', ['60']);
    expect(fs.existsSync(dir)).toBe(true);
    await releaseAll();
    expect(fs.existsSync(dir)).toBe(false);
    expect(await eventually(() => !alive(child.pid!))).toBe(true);
  });

  it('kills a script that overruns its time, with the processes it started', async () => {
    // The time allowed must cover the script's start (tsx compiling it, longer on a busy machine:
    // CI's run under load once took more than 1.5 s), or it is killed before it starts the
    // grandchild this is about. So it is measured first, on a run of the same script that exits.
    const begun = Date.now();
    await runScript('bench/fixtures/sleeper.ts', ['exit', '0'], { timeoutMs: SCRIPT_MS });
    const startMs = Date.now() - begun;
    const message = await runScript('bench/fixtures/sleeper.ts', [], { timeoutMs: 3 * startMs + 1_000 }).then(
      () => 'resolved',
      (err: Error) => err.message,
    );
    expect(message).toMatch(/exited with/);
    const grandchild = Number(/last output: (\d+)/.exec(message)?.[1]);
    expect(grandchild).toBeGreaterThan(0);
    expect(await eventually(() => !alive(grandchild))).toBe(true);
  });

  it('returns the output of a script that succeeds and stops what it left behind', async () => {
    const out = await runScript('bench/fixtures/sleeper.ts', ['exit', '0'], { timeoutMs: SCRIPT_MS });
    const grandchild = Number(out.trim());
    expect(grandchild).toBeGreaterThan(0);
    expect(await eventually(() => !alive(grandchild))).toBe(true);
  });

  it('fails when a script exits with an error', async () => {
    await expect(runScript('bench/fixtures/sleeper.ts', ['exit', '3'], { timeoutMs: SCRIPT_MS })).rejects.toThrow(/exited with 3/);
  });
});
