import { describe, expect, it } from 'vitest';
import { newId, pooledRandomBytes } from './ids.js';

describe('ids and pooled random bytes', () => {
  it('hands out random bytes never handed out before, across refills of the block and between ids', () => {
    const seen = new Set<string>();
    // 12-byte draws, as nonces are: 2,000 of them refill the 4 KB block several times.
    for (let i = 0; i < 2_000; i++) {
      const bytes = pooledRandomBytes(12);
      expect(bytes.length).toBe(12);
      seen.add(bytes.toString('hex'));
      if (i % 100 === 0) newId();
    }
    expect(seen.size).toBe(2_000);
  });

  it('makes time-ordered UUIDv7 ids that sort in the order they were made', () => {
    const ids = Array.from({ length: 1_000 }, () => newId());
    expect(ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
