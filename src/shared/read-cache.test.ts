import { describe, expect, it } from 'vitest';
import { READ_CACHE_MS, ReadCache } from './read-cache.js';

describe('the read cache of the send path', () => {
  it("serves a read for READ_CACHE_MS, then reads again: another process's change (no NOTIFY on SQLite) applies within that time", async () => {
    let now = 1_000;
    const cache = new ReadCache(READ_CACHE_MS, () => now);
    let reads = 0;
    const load = async () => ++reads;
    expect(await cache.get('user:u1', load)).toBe(1);
    now += READ_CACHE_MS - 1;
    expect(await cache.get('user:u1', load)).toBe(1);
    now += 1;
    expect(await cache.get('user:u1', load)).toBe(2);
  });

  it('keeps no failure: the next email asks the database again', async () => {
    const cache = new ReadCache(READ_CACHE_MS, () => 0);
    await expect(cache.get('tenant:t1', () => Promise.reject(new Error('database unreachable')))).rejects.toThrow('database unreachable');
    expect(await cache.get('tenant:t1', async () => 'read')).toBe('read');
  });
});
