import { DateTime } from 'luxon';

/** Window is a half-open span of time [start, end) in epoch milliseconds. */
export interface Window {
  readonly start: number;
  readonly end: number;
}

/** FIRST_SUMMARY_LOOKBACK_MS bounds the first summary of a tenant that had none (e.g. after an upgrade). */
export const FIRST_SUMMARY_LOOKBACK_MS = 24 * 3_600_000;

/**
 * dueSummaryWindow decides the summary window to decide now, if any. Windows are aligned on the
 * clock (multiples of the interval since the epoch: …:00, …:10 for 600 s). Each one starts where
 * the last decided one ended, so after downtime every missed window goes out as one catch-up
 * window, and two instances that read the same last end compute the same start (the unique key).
 * A tenant's first window starts at the window of its creation (`notBefore`), at most a day back,
 * so no alert falls before the first window; nothing is due before the tenant existed.
 */
export function dueSummaryWindow(now: number, intervalMs: number, lastEnd: number | undefined, notBefore: number): Window | undefined {
  const end = Math.floor(now / intervalMs) * intervalMs;
  if (end <= notBefore || (lastEnd !== undefined && lastEnd >= end)) return undefined;
  const first = Math.max(Math.floor(notBefore / intervalMs) * intervalMs, end - FIRST_SUMMARY_LOOKBACK_MS);
  return { start: lastEnd ?? first, end };
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
export function reportInstant(date: DateTime, time: ReportTime, zone: string): number {
  const local = DateTime.fromObject({ year: date.year, month: date.month, day: date.day, hour: time.hour, minute: time.minute, second: time.second }, { zone });
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
 * report time moves no alert is in two daily reports. A tenant's first covers the day before it.
 */
export function dueDailyWindow(now: number, time: ReportTime, zone: string, lastEnd: number | undefined, notBefore: number): Window | undefined {
  return dailyWindowIfDue(latestDailyWindow(now, time, zone), lastEnd, notBefore);
}

/**
 * latestDailyWindow is the daily window whose report time, in a zone, is the latest not after now.
 * It is the same for every tenant with that zone and time: the scheduler computes it once for them.
 */
export function latestDailyWindow(now: number, time: ReportTime, zone: string): Window {
  const today = DateTime.fromMillis(now, { zone }).startOf('day');
  const window = dailyWindowEndingOn(today, time, zone);
  return window.end > now ? dailyWindowEndingOn(today.minus({ days: 1 }), time, zone) : window;
}

/**
 * dailyWindowIfDue is a tenant's latest daily window, unless it was decided already or ended before
 * `notBefore`, starting where the last decided one ended (see dueDailyWindow).
 */
export function dailyWindowIfDue(latest: Window, lastEnd: number | undefined, notBefore: number): Window | undefined {
  if (latest.end <= notBefore || (lastEnd !== undefined && lastEnd >= latest.end)) return undefined;
  return lastEnd === undefined ? latest : { start: lastEnd, end: latest.end };
}

/** nextReportInstant is the first report time strictly after now, when the next daily window ends. */
export function nextReportInstant(now: number, time: ReportTime, zone: string): number {
  const today = DateTime.fromMillis(now, { zone }).startOf('day');
  const instant = reportInstant(today, time, zone);
  return instant > now ? instant : reportInstant(today.plus({ days: 1 }), time, zone);
}
