import { describe, expect, it } from 'vitest';
import { newAlert } from '../../test/support/alerts.js';
import type { Severity } from './severity.js';
import { RESOLUTION_LOCK_BUCKETS, resolutionBucket, resolutionLocks, resolutionLocksSql } from './resolution-locks.js';

const alert = (severity: Severity, dedupKey: string | null) =>
  newAlert({ severity, component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'm', dedupKey });

describe('the resolution locks of a commit', () => {
  it('takes none for alerts without a dedup key', () => {
    expect(resolutionLocks([{ tenantId: 't', alerts: [alert('Success', null), alert('Fatal', null)] }])).toBeUndefined();
    expect(resolutionLocks([])).toBeUndefined();
  });

  it("takes a key's lock exclusive when one of its alerts is a Success, whatever their order, and shared otherwise", () => {
    const r = resolutionBucket('t', 'robot-r');
    const f = resolutionBucket('t', 'robot-f');
    expect(r).not.toBe(f);
    const locks = resolutionLocks([
      { tenantId: 't', alerts: [alert('Fatal', 'robot-r'), alert('Fatal', 'robot-f')] },
      { tenantId: 't', alerts: [alert('Success', 'robot-r'), alert('Fatal', 'robot-r'), alert('Error', 'robot-f')] },
    ]);
    expect(new Map(locks!.buckets.map((b, i) => [b, locks!.exclusive[i]]))).toEqual(
      new Map([
        [r, true],
        [f, false],
      ]),
    );
  });

  it('lists each lock once, in ascending order, the one order every transaction takes them in', () => {
    const alerts = Array.from({ length: 300 }, (_, i) => alert(i % 7 === 0 ? 'Success' : 'Warn', `key-${i % 150}`));
    const locks = resolutionLocks([{ tenantId: 't', alerts }])!;
    expect(locks.buckets).toEqual([...new Set(locks.buckets)].sort((a, b) => a - b));
    expect(locks.buckets).toHaveLength(new Set(alerts.map((a) => resolutionBucket('t', a.dedupKey!))).size);
    expect(locks.exclusive).toHaveLength(locks.buckets.length);
  });

  it("tells one tenant's key from another's, and keeps every key within the buckets", () => {
    const buckets = Array.from({ length: 2_000 }, (_, i) => resolutionBucket(`tenant-${i % 3}`, `key-${i}`));
    expect(buckets.every((b) => Number.isInteger(b) && b >= 0 && b < RESOLUTION_LOCK_BUCKETS)).toBe(true);
    // Spread over most of them, not a few.
    expect(new Set(buckets).size).toBeGreaterThan(RESOLUTION_LOCK_BUCKETS / 2);
    expect(resolutionBucket('a', 'robot')).not.toBe(resolutionBucket('b', 'robot'));
  });

  it('writes the locks into its statement as integers and booleans only', () => {
    const sql = resolutionLocksSql({ buckets: [3, 17], exclusive: [true, false] });
    expect(sql).toContain("'{3,17}'::integer[]");
    expect(sql).toContain("'{t,f}'::boolean[]");
  });
});
