import { describe, expect, it } from 'vitest';
import { TurnBatch } from './turn-batch.js';

describe('TurnBatch', () => {
  it('reads every key asked for in one turn with one call per tenant, and each later turn afresh', async () => {
    const calls: [string, readonly string[]][] = [];
    const batch = new TurnBatch<string>(async (tenantId, keys) => {
      calls.push([tenantId, keys]);
      return new Map(keys.filter((k) => k !== 'gone').map((k) => [k, `${tenantId}/${k}`]));
    });
    const first = await Promise.all([batch.get('t1', 'a'), batch.get('t1', 'b'), batch.get('t2', 'a'), batch.get('t1', 'a'), batch.get('t1', 'gone')]);
    expect(first).toEqual(['t1/a', 't1/b', 't2/a', 't1/a', undefined]);
    expect(calls).toEqual([
      ['t1', ['a', 'b', 'gone']],
      ['t2', ['a']],
    ]);
    expect(await batch.get('t1', 'a')).toBe('t1/a');
    expect(calls).toHaveLength(3);
  });

  it('fails every email of the turn when the read fails, and reads again next turn', async () => {
    let fail = true;
    const batch = new TurnBatch<number>(async (_tenant, keys) => {
      if (fail) throw new Error('database unavailable');
      return new Map(keys.map((k) => [k, k.length]));
    });
    const asked = [batch.get('t', 'x'), batch.get('t', 'yy')];
    for (const p of asked) await expect(p).rejects.toThrow('database unavailable');
    fail = false;
    expect(await batch.get('t', 'yy')).toBe(2);
  });
  it('reads the keys asked for while a read is in flight together, once it ends', async () => {
    const calls: (readonly string[])[] = [];
    const pending: (() => void)[] = [];
    // Waiting behind a read is bounded (MAX_WAIT_MS); here long enough that only the read's end can end it.
    const batch = new TurnBatch<string>((_tenant, keys) => {
      calls.push(keys);
      return new Promise((resolve) => pending.push(() => resolve(new Map(keys.map((k) => [k, k.toUpperCase()])))));
    }, 60_000);
    const first = batch.get('t', 'a');
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([['a']]);
    // Two later turns while the first read is in flight: no read of their own yet.
    const second = batch.get('t', 'b');
    await new Promise((resolve) => setImmediate(resolve));
    const third = batch.get('t', 'c');
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([['a']]);
    pending.shift()!();
    expect(await first).toBe('A');
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([['a'], ['b', 'c']]);
    pending.shift()!();
    expect(await Promise.all([second, third])).toEqual(['B', 'C']);
  });

  it('reads a key anyway when the read in flight takes longer than MAX_WAIT_MS', async () => {
    const calls: (readonly string[])[] = [];
    let stuck = true;
    const batch = new TurnBatch<string>((_tenant, keys) => {
      calls.push(keys);
      if (stuck) {
        stuck = false;
        return new Promise(() => {});
      }
      return Promise.resolve(new Map(keys.map((k) => [k, k])));
    });
    void batch.get('t', 'never');
    await new Promise((resolve) => setImmediate(resolve));
    expect(await batch.get('t', 'later')).toBe('later');
    expect(calls).toEqual([['never'], ['later']]);
  });
});
