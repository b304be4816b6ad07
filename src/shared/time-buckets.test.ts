import { describe, expect, it } from 'vitest';
import { bucketPeriods, hourBuckets, rangeBuckets } from './time-buckets.js';

const at = (iso: string) => Date.parse(iso);

describe('chart buckets on the local clock', () => {
  it('ends 24 hourly buckets with the hour that holds now', () => {
    const buckets = rangeBuckets('24h', 'Europe/Paris', at('2026-11-30T10:20:00Z'));
    expect(buckets.unit).toBe('hour');
    expect(buckets.bounds).toHaveLength(25);
    expect(bucketPeriods(buckets).at(-1)).toEqual({ start: '2026-11-30T11:00:00+01:00', end: '2026-11-30T12:00:00+01:00' });
  });

  it('keeps whole local hours in a zone half an hour off UTC', () => {
    const buckets = hourBuckets(3, 'Asia/Kolkata', at('2026-11-30T10:20:00Z'));
    expect(bucketPeriods(buckets).map((p) => p.start)).toEqual(['2026-11-30T13:00:00+05:30', '2026-11-30T14:00:00+05:30', '2026-11-30T15:00:00+05:30']);
  });

  it('keeps whole local hours across Lord Howe’s half-hour daylight-saving changes, the hour holding one 90 minutes long', () => {
    const zone = 'Australia/Lord_Howe';
    // 4 Oct 2026: 02:00 → 02:30 (15:00 UTC); 5 Apr 2026: 02:00 → 01:30 (15:00 UTC). Asked at 05:20 local either day.
    for (const now of [at('2026-10-03T18:20:00Z'), at('2026-04-04T18:50:00Z')]) {
      const buckets = hourBuckets(24, zone, now);
      const periods = bucketPeriods(buckets);
      expect(periods).toHaveLength(24);
      for (const p of [...periods.map((period) => period.start), periods.at(-1)!.end]) expect(p, p).toMatch(/T\d{2}:00:00[+-]/);
      expect(periods.at(-1)!.start.slice(11, 16)).toBe('05:00');
      expect(buckets.bounds.at(-2)! <= now && now < buckets.bounds.at(-1)!).toBe(true);
      const lengths = buckets.bounds.slice(1).map((bound, i) => (bound - buckets.bounds[i]!) / 60_000);
      // 01:00–03:00 in spring (02:00 never shows), 01:00–02:00 with 01:30–02:00 twice in autumn.
      expect(lengths.filter((minutes) => minutes !== 60)).toEqual([90]);
    }
  });

  it('cuts 30 calendar days, a daylight-saving day being 25 hours long', () => {
    const buckets = rangeBuckets('30d', 'Europe/Paris', at('2026-11-10T08:00:00Z'));
    expect(buckets.unit).toBe('day');
    const periods = bucketPeriods(buckets);
    expect(periods).toHaveLength(30);
    expect(periods[0]!.start).toBe('2026-10-12T00:00:00+02:00');
    expect(periods.at(-1)).toEqual({ start: '2026-11-10T00:00:00+01:00', end: '2026-11-11T00:00:00+01:00' });
    const dstDay = periods.findIndex((p) => p.start.startsWith('2026-10-25'));
    expect(buckets.bounds[dstDay + 1]! - buckets.bounds[dstDay]!).toBe(25 * 3_600_000);
  });

  it('cuts 7 days into 28 local quarters, the last holding now', () => {
    const now = at('2026-11-30T16:30:00Z');
    const buckets = rangeBuckets('7d', 'America/New_York', now);
    expect(buckets.unit).toBe('6h');
    const periods = bucketPeriods(buckets);
    expect(periods).toHaveLength(28);
    expect(periods.at(-1)).toEqual({ start: '2026-11-30T06:00:00-05:00', end: '2026-11-30T12:00:00-05:00' });
    expect(periods[0]!.start).toBe('2026-11-23T12:00:00-05:00');
    expect(buckets.bounds.at(-2)! <= now && now < buckets.bounds.at(-1)!).toBe(true);
  });
  it('starts a day at its first midnight where the clock goes back to one (the Azores, Havana): the repeated hour is the new day’s', () => {
    // 25 Oct 2026 in the Azores: 01:00 (UTC+00:00) → 00:00 (UTC−01:00), so 00:00–01:00 comes twice, both times on the 25th.
    const zone = 'Atlantic/Azores';
    const now = at('2026-10-27T12:00:00Z');
    const days = bucketPeriods(rangeBuckets('30d', zone, now));
    expect(days.find((p) => p.start.startsWith('2026-10-25'))).toEqual({ start: '2026-10-25T00:00:00+00:00', end: '2026-10-26T00:00:00-01:00' });
    expect(days.find((p) => p.start.startsWith('2026-10-24'))?.end).toBe('2026-10-25T00:00:00+00:00');
    const quarters = bucketPeriods(rangeBuckets('7d', zone, now));
    expect(quarters.find((p) => p.start.startsWith('2026-10-25T00'))).toEqual({ start: '2026-10-25T00:00:00+00:00', end: '2026-10-25T06:00:00-01:00' });
    // Havana, 1 Nov 2026: 01:00 (UTC−04:00) → 00:00 (UTC−05:00).
    const havana = bucketPeriods(rangeBuckets('30d', 'America/Havana', at('2026-11-05T12:00:00Z')));
    expect(havana.find((p) => p.start.startsWith('2026-11-01'))).toEqual({ start: '2026-11-01T00:00:00-04:00', end: '2026-11-02T00:00:00-05:00' });
  });
});
