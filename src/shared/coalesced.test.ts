import { describe, expect, it } from 'vitest';
import { coalesced } from './coalesced.js';

describe('coalesced', () => {
  it('answers each call from a run begun after it, the calls made during a run sharing the next one', async () => {
    let value = 0;
    const runs: number[] = [];
    let release: () => void = () => {};
    const read = coalesced(async (key: string) => {
      const seen = value;
      runs.push(seen);
      if (runs.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return `${key}:${seen}`;
    });
    const first = read('a');
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toEqual([0]);
    // Made while the first run is under way, after a change it could not have seen.
    value = 1;
    const during = [read('a'), read('a'), read('a')];
    release();
    expect(await first).toBe('a:0');
    expect(await Promise.all(during)).toEqual(['a:1', 'a:1', 'a:1']);
    expect(runs).toEqual([0, 1]);
    expect(await read('a')).toBe('a:1');
    expect(runs).toHaveLength(3);
  });

  it('keeps keys apart and passes a failure to the calls of that run only', async () => {
    let fail = true;
    const run = coalesced(async (key: string) => {
      if (key === 'bad' && fail) throw new Error('no');
      return key;
    });
    const [good, bad] = await Promise.allSettled([run('good'), run('bad')]);
    expect(good).toEqual({ status: 'fulfilled', value: 'good' });
    expect(bad.status).toBe('rejected');
    fail = false;
    expect(await run('bad')).toBe('bad');
  });
});
