import { describe, expect, it } from 'vitest';
import { WindowCache, WINDOW_CACHE_MAX_AGE_MS } from './window-cache.js';

describe('the cache of what a window holds', () => {
  it('reads a window once for the emails rendered together', async () => {
    let now = 0;
    const cache = new WindowCache<number>(16, () => now);
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.get('w', load)).toBe(1);
    now += WINDOW_CACHE_MAX_AGE_MS;
    expect(await cache.get('w', load)).toBe(1);
    expect(loads).toBe(1);
  });

  it('reads it again once it is older than a moment: an email retried later shows no alert deleted since', async () => {
    // A summary whose server was down is rendered again at each retry, an hour later say: the alert
    // an administrator deleted meanwhile (a password pasted in a message) must not be in it.
    let now = 0;
    const cache = new WindowCache<number>(16, () => now);
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.get('w', load)).toBe(1);
    now += WINDOW_CACHE_MAX_AGE_MS + 1;
    expect(await cache.get('w', load)).toBe(2);
    expect(await cache.get('w', load)).toBe(2);
  });

  it('keeps at most its number of windows, forgetting the oldest', async () => {
    const cache = new WindowCache<string>(2, () => 0);
    const loads: string[] = [];
    const load = (key: string) => async () => {
      loads.push(key);
      return key;
    };
    for (const key of ['a', 'b', 'c', 'a']) await cache.get(key, load(key));
    expect(loads).toEqual(['a', 'b', 'c', 'a']);
  });
});
