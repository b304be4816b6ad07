import { describe, expect, it } from 'vitest';
import { LEASED_READS_MAX_AGE_MS, LEASED_READS_MAX_COMMITS, LeasedReads } from './leased-reads.js';

describe('what a commit read for the rows it leased', () => {
  it('is found by the rows of that lease only, and by none without one (a claim reads afresh)', () => {
    const reads = new LeasedReads(() => 0);
    reads.put('lease-1', 'settings:t1', 'as committed', 0);
    expect(reads.get('lease-1', 'settings:t1')).toBe('as committed');
    expect(reads.get('lease-1', 'settings:t2')).toBeUndefined();
    expect(reads.get('lease-2', 'settings:t1')).toBeUndefined();
    expect(reads.get(null, 'settings:t1')).toBeUndefined();
  });

  it('stands for a short while after the read, then the rows read what they need when sent', () => {
    let now = 1_000;
    const reads = new LeasedReads(() => now);
    reads.put('lease-1', 'facts:a1', 'as committed', 0);
    now += LEASED_READS_MAX_AGE_MS;
    expect(reads.get('lease-1', 'facts:a1')).toBe('as committed');
    now += 1;
    expect(reads.get('lease-1', 'facts:a1')).toBeUndefined();
  });

  it('stands no longer once a change was made through the API since the commit began its reads', () => {
    let changes = 0;
    const reads = new LeasedReads(
      () => 0,
      () => changes,
    );
    const stamp = reads.stamp();
    // Forgotten between the commit's reads and its put (another connection's change, on PostgreSQL).
    changes += 1;
    reads.put('lease-1', 'user:u1', 'as committed', stamp);
    expect(reads.get('lease-1', 'user:u1')).toBeUndefined();
    reads.put('lease-2', 'user:u1', 'as committed', reads.stamp());
    expect(reads.get('lease-2', 'user:u1')).toBe('as committed');
    changes += 1;
    expect(reads.get('lease-2', 'user:u1')).toBeUndefined();
  });

  it("keeps a bounded number of commits' reads, the oldest going first", () => {
    const reads = new LeasedReads(() => 0);
    for (let i = 0; i <= LEASED_READS_MAX_COMMITS; i++) reads.put(`lease-${i}`, 'k', i, 0);
    expect(reads.get('lease-0', 'k')).toBeUndefined();
    expect(reads.get('lease-1', 'k')).toBe(1);
    expect(reads.get(`lease-${LEASED_READS_MAX_COMMITS}`, 'k')).toBe(LEASED_READS_MAX_COMMITS);
  });
});
