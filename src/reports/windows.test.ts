import { DateTime, Settings } from 'luxon';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../shared/clock.js';
import { dailyWindowEndingOn, dueDailyWindow, dueSummaryWindow, nextReportInstant, parseReportTime } from './windows.js';

const utc = (iso: string) => Date.parse(iso);
const hours = (w: { start: number; end: number }) => (w.end - w.start) / 3_600_000;
const TEN = parseReportTime('10:00');
const day = (iso: string, zone: string) => DateTime.fromISO(iso, { zone });

describe('summary windows', () => {
  const tenMinutes = 600_000;

  it('aligns windows on the clock and makes one due as soon as it ends', () => {
    const clock = new FakeClock(utc('2026-03-29T00:09:59.999Z'));
    expect(dueSummaryWindow(clock.now(), tenMinutes, utc('2026-03-29T00:00:00Z'), 0)).toBeUndefined();
    clock.advance(1);
    expect(dueSummaryWindow(clock.now(), tenMinutes, utc('2026-03-29T00:00:00Z'), 0)).toEqual({
      start: utc('2026-03-29T00:00:00Z'),
      end: utc('2026-03-29T00:10:00Z'),
    });
  });

  it('covers every window missed during downtime with one catch-up window', () => {
    const window = dueSummaryWindow(utc('2026-03-29T01:03:00Z'), tenMinutes, utc('2026-03-28T23:50:00Z'), 0);
    expect(window).toEqual({ start: utc('2026-03-28T23:50:00Z'), end: utc('2026-03-29T01:00:00Z') });
  });

  it("starts a tenant's first window at the window of its creation, at most a day back, never before it existed", () => {
    const created = utc('2026-01-01T00:03:00Z');
    expect(dueSummaryWindow(utc('2026-01-01T00:25:00Z'), tenMinutes, undefined, created)).toEqual({
      start: utc('2026-01-01T00:00:00Z'),
      end: utc('2026-01-01T00:20:00Z'),
    });
    expect(dueSummaryWindow(utc('2026-03-01T00:25:00Z'), tenMinutes, undefined, created)).toEqual({
      start: utc('2026-02-28T00:20:00Z'),
      end: utc('2026-03-01T00:20:00Z'),
    });
    expect(dueSummaryWindow(utc('2026-01-01T00:25:00Z'), tenMinutes, undefined, utc('2026-01-01T00:21:00Z'))).toBeUndefined();
  });

  it("honours a short interval such as the tests' 2 seconds", () => {
    expect(dueSummaryWindow(7_500, 2_000, 4_000, 0)).toEqual({ start: 4_000, end: 6_000 });
  });
});

describe('daily windows', () => {
  it('is 24 hours ending at the report time on an ordinary day, also across a month end', () => {
    const w = dailyWindowEndingOn(day('2026-03-01', 'Europe/Paris'), TEN, 'Europe/Paris');
    expect(w).toEqual({ start: utc('2026-02-28T09:00:00Z'), end: utc('2026-03-01T09:00:00Z') });
    const y = dailyWindowEndingOn(day('2027-01-01', 'America/New_York'), TEN, 'America/New_York');
    expect(y).toEqual({ start: utc('2026-12-31T15:00:00Z'), end: utc('2027-01-01T15:00:00Z') });
  });

  it('is 23 hours on the spring change and 25 on the autumn change in Paris and New York', () => {
    expect(hours(dailyWindowEndingOn(day('2026-03-29', 'Europe/Paris'), TEN, 'Europe/Paris'))).toBe(23);
    expect(hours(dailyWindowEndingOn(day('2026-10-25', 'Europe/Paris'), TEN, 'Europe/Paris'))).toBe(25);
    expect(hours(dailyWindowEndingOn(day('2026-03-08', 'America/New_York'), TEN, 'America/New_York'))).toBe(23);
    expect(hours(dailyWindowEndingOn(day('2026-11-01', 'America/New_York'), TEN, 'America/New_York'))).toBe(25);
    expect(dailyWindowEndingOn(day('2026-03-29', 'Europe/Paris'), TEN, 'Europe/Paris').end).toBe(utc('2026-03-29T08:00:00Z'));
  });

  it('chains without gap or overlap day after day across both changes, even at a time inside the skipped hour', () => {
    for (const [zone, time] of [
      ['Europe/Paris', '02:30'],
      ['Europe/Paris', '10:00'],
      ['America/New_York', '02:30:30'],
      ['America/New_York', '01:30'],
    ] as const) {
      let date = day('2026-03-01', zone);
      let previous = dailyWindowEndingOn(date, parseReportTime(time), zone);
      for (let i = 0; i < 280; i++) {
        date = date.plus({ days: 1 });
        const next = dailyWindowEndingOn(date, parseReportTime(time), zone);
        expect(next.start).toBe(previous.end);
        expect([23, 24, 25]).toContain(hours(next));
        previous = next;
      }
    }
  });

  it('moves a report time inside the skipped hour forward by the gap', () => {
    const w = dailyWindowEndingOn(day('2026-03-29', 'Europe/Paris'), parseReportTime('02:30'), 'Europe/Paris');
    expect(DateTime.fromMillis(w.end, { zone: 'Europe/Paris' }).toFormat('HH:mm')).toBe('03:30');
    expect(hours(w)).toBe(24);
  });

  it('puts a report time inside the repeated hour at its second occurrence, whatever the date it is computed on', () => {
    const realNow = Settings.now;
    const cases = [
      ['Europe/Paris', '2026-10-25', '02:30', '2026-10-25T01:30:00Z'],
      ['America/New_York', '2026-11-01', '01:30', '2026-11-01T06:30:00Z'],
      ['Australia/Lord_Howe', '2026-04-05', '01:45', '2026-04-04T15:15:00Z'],
    ] as const;
    try {
      // Computed in summer or in winter (before or after the change), the instant is the same.
      for (const computedOn of ['2026-07-01T00:00:00Z', '2026-12-01T00:00:00Z', '2026-10-25T00:45:00Z', '2026-04-04T15:05:00Z']) {
        Settings.now = () => utc(computedOn);
        for (const [zone, date, time, second] of cases) {
          expect(dailyWindowEndingOn(day(date, zone), parseReportTime(time), zone).end, `${zone} computed on ${computedOn}`).toBe(utc(second));
          // Between the two occurrences, the next report is still that day's: one report, not two.
          expect(nextReportInstant(utc(second) - 60_000, parseReportTime(time), zone)).toBe(utc(second));
        }
      }
    } finally {
      Settings.now = realNow;
    }
  });

  it('is due at the report time, once, and after downtime one catch-up report covers the missed days', () => {
    const zone = 'Europe/Paris';
    const clock = new FakeClock(utc('2026-10-25T08:59:59Z'));
    const yesterday = dueDailyWindow(clock.now(), TEN, zone, undefined, 0)!;
    expect(yesterday.end).toBe(utc('2026-10-24T08:00:00Z'));
    expect(dueDailyWindow(clock.now(), TEN, zone, yesterday.end, 0)).toBeUndefined();
    clock.set(utc('2026-10-25T09:00:00Z'));
    expect(dueDailyWindow(clock.now(), TEN, zone, yesterday.end, 0)).toEqual({
      start: utc('2026-10-24T08:00:00Z'),
      end: utc('2026-10-25T09:00:00Z'),
    });
    clock.set(utc('2026-10-28T12:00:00Z'));
    expect(dueDailyWindow(clock.now(), TEN, zone, yesterday.end, 0)).toEqual({ start: yesterday.end, end: utc('2026-10-28T09:00:00Z') });
    expect(dueDailyWindow(clock.now(), TEN, zone, undefined, utc('2026-10-28T09:30:00Z'))).toBeUndefined();
  });

  it('starts where the last daily report ended when the report time moves, so no alert is reported twice', () => {
    const zone = 'Europe/Paris';
    // 10:00 Paris was reported on 28 October (09:00 UTC); the time then moves to 18:00 the same day.
    const reported = dueDailyWindow(utc('2026-10-28T09:00:00Z'), TEN, zone, undefined, 0)!;
    expect(dueDailyWindow(utc('2026-10-28T17:00:00Z'), parseReportTime('18:00'), zone, reported.end, 0)).toEqual({
      start: reported.end,
      end: utc('2026-10-28T17:00:00Z'),
    });
    // Moved back to 08:00 after the 18:00 report: the next morning's report begins at 18:00, not at 08:00.
    expect(dueDailyWindow(utc('2026-10-29T07:00:00Z'), parseReportTime('08:00'), zone, utc('2026-10-28T17:00:00Z'), 0)).toEqual({
      start: utc('2026-10-28T17:00:00Z'),
      end: utc('2026-10-29T07:00:00Z'),
    });
    // Moved earlier the same day it was reported: nothing more is due that day.
    expect(dueDailyWindow(utc('2026-10-28T17:30:00Z'), parseReportTime('08:00'), zone, utc('2026-10-28T17:00:00Z'), 0)).toBeUndefined();
  });
});
