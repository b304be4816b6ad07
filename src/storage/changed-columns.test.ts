import { describe, expect, it } from 'vitest';
import { changedColumns, sameMembers } from './changed-columns.js';

describe('changedColumns', () => {
  it('keeps only the columns whose value differs from the stored row, null against a value included', () => {
    const row = { name: 'Ada', language: 'en', password_hash: null as string | null, active: 1 };
    expect(changedColumns(row, { name: 'Ada', language: 'de', active: 1 })).toEqual({ language: 'de' });
    expect(changedColumns(row, { password_hash: null })).toEqual({});
    expect(changedColumns(row, { password_hash: 'x', name: 'ada' })).toEqual({ password_hash: 'x', name: 'ada' });
  });
});

describe('sameMembers', () => {
  it('compares as sets: order and repeats do not matter', () => {
    expect(sameMembers(['a', 'b'], ['b', 'a', 'a'])).toBe(true);
    expect(sameMembers(['a'], ['a', 'b'])).toBe(false);
    expect(sameMembers([], [])).toBe(true);
  });
});
