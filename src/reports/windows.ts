import { DateTime, IANAZone } from 'luxon';
import { firstKnownZone } from '../shared/validation.js';

/** Window is a half-open span of time [start, end) in epoch milliseconds. */
export interface Window {
  readonly start: number;
  readonly end: number;
}

/** FIRST_SUMMARY_LOOKBACK_MS bounds the first summary of a tenant that had none (e.g. after an upgrade). */
const FIRST_SUMMARY_LOOKBACK_MS = 24 * 3_600_000;

/**
 * dueSummaryWindow decides the summary window to decide now, if any. Windows are aligned on the
 * clock of the tenant's time zone (…:00, …:10 there for 600 s; see summaryWindowEnd). Each one
 * starts where the last decided one ended, so after downtime every missed window goes out as one
 * catch-up window, two instances that read the same last end compute the same start (the unique
 * key), and after a change of time zone the first window is shorter, with no gap and no overlap.
 * A tenant's first window starts at the window of its creation (`notBefore`), at most a day back,
 * so no alert falls before the first window; nothing is due before the tenant existed.
 */
export function dueSummaryWindow(now: number, intervalMs: number, lastEnd: number | undefined, notBefore: number, zone = 'UTC'): Window | undefined {
  return summaryWindowIfDue(summaryWindowEnd(now, intervalMs, zone), intervalMs, zone, lastEnd, notBefore);
}

/**
 * summaryWindowIfDue is the summary window ending at `end` (the latest end, summaryWindowEnd) of a
 * tenant, unless it was decided already or ends before `notBefore` (see dueSummaryWindow).
 */
export function summaryWindowIfDue(end: number, intervalMs: number, zone: string, lastEnd: number | undefined, notBefore: number): Window | undefined {
  if (end <= notBefore || (lastEnd !== undefined && lastEnd >= end)) return undefined;
  if (lastEnd !== undefined) return { start: lastEnd, end };
  return { start: Math.max(summaryWindowEnd(notBefore, intervalMs, zone), end - FIRST_SUMMARY_LOOKBACK_MS), end };
}

/**
 * summaryWindowEnd is the latest instant not after `t` at which the zone's clock reads a multiple
 * of the interval (…:00, …:10 for 600 s; the day's start for a day). In a zone whose offsets are
 * all multiples of the interval these are the multiples since the epoch, the same in every such
 * zone; in Kathmandu (+05:45) a 10-minute window ends at :05 and :15 UTC. Across a change of
 * offset that is not a multiple (Lord Howe's half hour, for an hourly window), the window holding
 * the change is longer or shorter by it. A zone the host does not know counts as UTC.
 */
export function summaryWindowEnd(t: number, intervalMs: number, zone: string): number {
  const offsetAt = offsetsOf(zone);
  // A few changes of offset at most lie within one interval: the loop goes back across each.
  for (let limit = t; ; ) {
    const offset = offsetAt(limit);
    const end = Math.floor((limit + offset) / intervalMs) * intervalMs - offset;
    if (offsetAt(end) === offset) return end;
    limit = offsetChange(offsetAt, end, limit) - 1;
  }
}

/** nextSummaryEnd is the first instant after `t` at which a summary window ends (see summaryWindowEnd). */
export function nextSummaryEnd(t: number, intervalMs: number, zone: string): number {
  const offsetAt = offsetsOf(zone);
  for (let from = t + 1; ; ) {
    const offset = offsetAt(from);
    const end = Math.ceil((from + offset) / intervalMs) * intervalMs - offset;
    if (offsetAt(end) === offset) return end;
    from = offsetChange(offsetAt, from, end);
  }
}

// The most windows summaryWindowCount steps through one by one; past it, a catch-up's length tells.
const MAX_STEPPED_WINDOWS = 48;

/**
 * summaryWindowCount is how many summary windows `window` covers on the zone's clock (see
 * summaryWindowEnd): one for a window that a change of offset made longer (Lord Howe's 90-minute
 * hour of the change, for an hourly summary), where its length over the interval would say two;
 * each window missed for a catch-up. Past MAX_STEPPED_WINDOWS it is the length over the interval.
 */
export function summaryWindowCount(window: Window, intervalMs: number, zone: string): number {
  let count = 0;
  for (let end = window.start; end < window.end; count += 1) {
    if (count === MAX_STEPPED_WINDOWS) return Math.round((window.end - window.start) / intervalMs);
    end = nextSummaryEnd(end, intervalMs, zone);
  }
  return Math.max(1, count);
}

/**
 * offsetsOf is the UTC offset of a zone at an instant, in milliseconds. A zone the host does not know
 * (saved by a process whose runtime knew it) counts as UTC, for summary and daily windows alike,
 * rather than giving no window at all (and failing the decisions of the other tenants claimed with it).
 */
function offsetsOf(zone: string): (t: number) => number {
  const known = IANAZone.create(firstKnownZone(zone));
  return (t) => known.offset(t) * 60_000;
}

/**
 * offsetChange is the first instant after `before` whose offset differs from the one there, given
 * that the offset at `after` does (a binary search, to the millisecond).
 */
function offsetChange(offsetAt: (t: number) => number, before: number, after: number): number {
  const offset = offsetAt(before);
  let [lo, hi] = [before, after];
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(mid) === offset) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** ReportTime is a time of day on the wall clock of the tenant's time zone. */
export interface ReportTime {
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** parseReportTime reads `HH:MM` or `HH:MM:SS` (mail settings validate the format). */
export function parseReportTime(value: string): ReportTime {
  const [hour = 10, minute = 0, second = 0] = value.split(':').map(Number);
  return { hour, minute, second };
}

/**
 * reportInstant is the report time on one local date of a zone. A time inside the hour skipped in
 * spring moves forward by the gap (02:30 → 03:30), as luxon resolves it; a time that happens
 * twice in autumn is its second occurrence (standard time).
 */
function reportInstant(date: DateTime, time: ReportTime, zone: string): number {
  const local = DateTime.fromObject(
    { year: date.year, month: date.month, day: date.day, hour: time.hour, minute: time.minute, second: time.second },
    { zone: firstKnownZone(zone) },
  );
  // luxon resolves a repeated time with the offset in force today, so ask for both occurrences:
  // the report must not move with the date the schedule happens to be computed on.
  return Math.max(...local.getPossibleOffsets().map((d) => d.toMillis()));
}

/**
 * dailyWindowEndingOn is the daily window whose report is on a local date: from the previous
 * day's report time to this one's, which is 23 or 25 hours long across a daylight-saving change.
 */
export function dailyWindowEndingOn(date: DateTime, time: ReportTime, zone: string): Window {
  return { start: reportInstant(date.minus({ days: 1 }), time, zone), end: reportInstant(date, time, zone) };
}

/**
 * dueDailyWindow decides the daily window to decide now, if any: the one whose report time is the
 * latest not after now; nothing is due once it was decided, nor before `notBefore`. Like summary
 * windows, it begins where the last decided one ended: after downtime the missed days go out as
 * one catch-up report (not one per missed day, and no alert of them left out), and after the
 * report time moves no alert is in two daily reports. A tenant's first begins at the report time
 * before its creation (see dailyChainEnd). `timeChangedAt` is when the report time was last
 * changed (0: never); see dailyWindowIfDue for what it holds back.
 */
export function dueDailyWindow(
  now: number,
  time: ReportTime,
  zone: string,
  lastEnd: number | undefined,
  notBefore: number,
  timeChangedAt = 0,
): Window | undefined {
  const latest = latestDailyWindow(now, time, zone);
  return dailyWindowIfDue(latest, reportDayStart(latest, zone), dailyChainEnd(lastEnd, notBefore, time, zone), notBefore, timeChangedAt);
}

/**
 * dailyChainEnd is where a tenant's next daily report begins: where its last one ended, or for its
 * first, at the report time at or before its creation (`notBefore`), as if a report had gone out
 * then. The first report thus covers the day before it, and when downtime hid its report time,
 * every day since, as a catch-up report does.
 */
export function dailyChainEnd(lastEnd: number | undefined, notBefore: number, time: ReportTime, zone: string): number {
  return lastEnd ?? latestDailyWindow(notBefore, time, zone).end;
}

/**
 * latestDailyWindow is the daily window whose report time, in a zone, is the latest not after now.
 * It is the same for every tenant with that zone and time: the scheduler computes it once for them.
 */
export function latestDailyWindow(now: number, time: ReportTime, zone: string): Window {
  const today = DateTime.fromMillis(now, { zone: firstKnownZone(zone) }).startOf('day');
  // A report time that the spring change moves past midnight (Greenland's clock skips 23:00–24:00)
  // falls on the date after its own: yesterday's report can still be ahead, so look one more day back.
  for (let back = 0; ; back += 1) {
    const window = dailyWindowEndingOn(today.minus({ days: back }), time, zone);
    if (window.end <= now || back === 2) return window;
  }
}

/**
 * dailyWindowIfDue is a tenant's latest daily window, unless it was decided already or ended before
 * `notBefore`, starting where the last one ended (`lastEnd`, dailyChainEnd). Nor is it due when its
 * report time had already passed when the report time was changed to it (`timeChangedAt`) and that
 * day's report went out (`lastEnd` on or after `dayStart`, reportDayStart): at noon, after the
 * 10:00 report, a time moved to 11:00 is tomorrow's, and tomorrow's report begins at 10:00 today;
 * sent at once it would be a second report dated today covering only the hour since the first.
 * The decision hangs on when the time was changed, not on when a scheduler happens to look, so
 * every instance decides alike. A time moved to later the same day (10:00 to 18:00 at noon) is
 * still due at it, as is the first report of a tenant, or a catch-up after downtime that hid the
 * new time (its window ends after the change).
 */
export function dailyWindowIfDue(latest: Window, dayStart: number, lastEnd: number, notBefore: number, timeChangedAt: number): Window | undefined {
  if (latest.end <= notBefore || lastEnd >= latest.end) return undefined;
  if (latest.end <= timeChangedAt && lastEnd >= dayStart) return undefined;
  return { start: lastEnd, end: latest.end };
}

/**
 * reportDayStart is the start of the local date on which a daily window's report goes out, in the
 * zone: the day whose report a window ending then is (see dailyWindowIfDue). Like latestDailyWindow,
 * it is the same for every tenant with that zone and time.
 */
export function reportDayStart(window: Window, zone: string): number {
  return DateTime.fromMillis(window.end, { zone: firstKnownZone(zone) })
    .startOf('day')
    .toMillis();
}

/** nextReportInstant is the first report time strictly after now, when the next daily window ends. */
export function nextReportInstant(now: number, time: ReportTime, zone: string): number {
  const today = DateTime.fromMillis(now, { zone: firstKnownZone(zone) }).startOf('day');
  // Yesterday's first: moved past midnight by the spring change, it may still be ahead (see latestDailyWindow).
  for (const days of [-1, 0]) {
    const instant = reportInstant(today.plus({ days }), time, zone);
    if (instant > now) return instant;
  }
  return reportInstant(today.plus({ days: 1 }), time, zone);
}
