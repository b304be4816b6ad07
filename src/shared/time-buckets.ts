import { DateTime } from 'luxon';
import { z } from 'zod';
import { nextSummaryEnd, summaryWindowEnd } from '../reports/windows.js';
import { firstReading } from './local-clock.js';

const HOUR_MS = 3_600_000;

/** CHART_RANGES are the periods the console's charts offer. */
export const CHART_RANGES = ['24h', '7d', '30d'] as const;

/** ChartRange is one of CHART_RANGES. */
export type ChartRange = (typeof CHART_RANGES)[number];

/** BucketUnit is how long one bar of a chart is: an hour, six hours or a day, on the local clock. */
export type BucketUnit = 'hour' | '6h' | 'day';

/** TimeBuckets are consecutive periods: bucket i runs from bounds[i] (included) to bounds[i + 1] (excluded). */
export interface TimeBuckets {
  readonly unit: BucketUnit;
  readonly timeZone: string;
  /** Epoch milliseconds, ascending, one more than there are buckets. */
  readonly bounds: readonly number[];
}

/**
 * rangeBuckets cuts a chart's period, ending with the bucket that holds `now`, on the local clock
 * of `timeZone`: 24 hours, 7 days in quarters (00:00, 06:00, 12:00, 18:00), or 30 calendar days.
 * Days and quarters follow the calendar, so a day of a daylight-saving change is 23 or 25 hours.
 */
export function rangeBuckets(range: ChartRange, timeZone: string, now: number): TimeBuckets {
  const local = DateTime.fromMillis(now, { zone: timeZone });
  if (range === '24h') return hourBuckets(24, timeZone, now);
  const today = local.startOf('day');
  if (range === '30d') return { unit: 'day', timeZone, bounds: Array.from({ length: 31 }, (_, i) => dayStart(today.plus({ days: i - 29 }))) };
  const bounds: number[] = [];
  for (let day = -7; day <= 1; day++) {
    const date = today.plus({ days: day });
    for (const hour of [0, 6, 12, 18]) bounds.push(hour === 0 ? dayStart(date) : date.set({ hour }).toMillis());
  }
  // Seven days of quarters, ending with the quarter that holds now.
  const last = bounds.findIndex((bound) => bound > now);
  return { unit: '6h', timeZone, bounds: bounds.slice(last - 28, last + 1) };
}

/**
 * dayStart is when a local date begins: its first midnight where the clock goes back to midnight and
 * reads it twice (the Azores and Havana), so that the hour read twice is that date's, as its clock
 * says (firstReading). A midnight the clock skips begins the date at 01:00.
 */
function dayStart(date: DateTime): number {
  return firstReading(date.startOf('day'));
}

/**
 * hourBuckets cuts the last `hours` hours, ending with the local hour that holds `now`: whole hours of
 * the local clock, also in a :30 or :45 zone and across Lord Howe's half-hour changes, where the hour
 * holding the change is 90 minutes long (the clock's whole hours as the summary windows find them).
 */
export function hourBuckets(hours: number, timeZone: string, now: number): TimeBuckets {
  const bounds = [nextSummaryEnd(now, HOUR_MS, timeZone)];
  while (bounds.length <= hours) bounds.unshift(summaryWindowEnd(bounds[0]! - 1, HOUR_MS, timeZone));
  return { unit: 'hour', timeZone, bounds };
}

/** bucketPeriodView documents a bucket's period as bucketPeriods writes it, with the zone's offset. */
export const bucketPeriodView = {
  start: z.iso.datetime({ offset: true }).describe('Included'),
  end: z.iso.datetime({ offset: true }).describe('Excluded'),
};

/** bucketStarts are the buckets' periods as ISO strings with the zone's offset, for an API answer. */
export function bucketPeriods(buckets: TimeBuckets): { start: string; end: string }[] {
  const iso = (ms: number) => DateTime.fromMillis(ms, { zone: buckets.timeZone }).toISO({ suppressMilliseconds: true })!;
  return buckets.bounds.slice(0, -1).map((start, i) => ({ start: iso(start), end: iso(buckets.bounds[i + 1]!) }));
}
