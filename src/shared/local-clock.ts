import type { DateTime } from 'luxon';

/**
 * firstReading is the first instant a zone's clock reads what it reads at `time`: the earlier of the
 * two where the clock goes back and reads an hour twice (02:30 in Paris on 25 October 2026, midnight
 * in the Azores and Havana, whose summer time ends at 01:00), else that instant. luxon keeps the
 * offset in hand, which may be the second reading's (a day's start, a report at the second midnight).
 */
export function firstReading(time: DateTime): number {
  return Math.min(...time.getPossibleOffsets().map((reading) => reading.toMillis()));
}
