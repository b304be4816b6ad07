import { DateTime, Settings } from 'luxon';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../shared/clock.js';
import { dailyWindowEndingOn, dueDailyWindow, dueSummaryWindow, nextReportInstant, nextSummaryEnd, parseReportTime, summaryWindowEnd } from './windows.js';

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

describe('summary windows on the tenant’s own clock', () => {
  const tenMinutes = 600_000;
  const MINUTE = 60_000;
  const HOUR = 60 * MINUTE;
  /** local is an instant's wall-clock time in a zone, e.g. "10:00". */
  const local = (t: number, zone: string) => DateTime.fromMillis(t, { zone }).toFormat('HH:mm:ss.SSS');
  /** walk decides the windows of a tenant a minute after another over a span, as a scheduler would. */
  const walk = (from: number, to: number, interval: number, zone: string, lastEnd: number | undefined = from) => {
    const windows: { start: number; end: number }[] = [];
    let last = lastEnd;
    for (let now = from; now <= to; now += MINUTE) {
      const window = dueSummaryWindow(now, interval, last, 0, zone);
      if (window) {
        windows.push(window);
        last = window.end;
      }
    }
    return windows;
  };
  const expectContiguousOnTheClock = (windows: readonly { start: number; end: number }[], interval: number, zone: string) => {
    for (const [i, w] of windows.entries()) {
      if (i > 0) expect(w.start).toBe(windows[i - 1]!.end);
      expect(w.end).toBeGreaterThan(w.start);
      // Every end is on the tenant's clock: 10:00, 10:10… (or 10:00, 11:00… for an hour).
      const wall = DateTime.fromMillis(w.end, { zone });
      expect(((wall.hour * 60 + wall.minute) * MINUTE + wall.second * 1000 + wall.millisecond) % interval, local(w.end, zone)).toBe(0);
    }
  };

  it('ends a 10-minute window in Kathmandu (+05:45) at 10:00 and 10:10 Kathmandu time', () => {
    const zone = 'Asia/Kathmandu';
    // 10:01 in Kathmandu is 04:16 UTC.
    const window = dueSummaryWindow(utc('2026-03-29T04:16:00Z'), tenMinutes, utc('2026-03-29T04:05:00Z'), 0, zone)!;
    expect([local(window.start, zone), local(window.end, zone)]).toEqual(['09:50:00.000', '10:00:00.000']);
    expect(dueSummaryWindow(utc('2026-03-29T04:24:59.999Z'), tenMinutes, window.end, 0, zone)).toBeUndefined();
    const next = dueSummaryWindow(utc('2026-03-29T04:25:00Z'), tenMinutes, window.end, 0, zone)!;
    expect([local(next.start, zone), local(next.end, zone)]).toEqual(['10:00:00.000', '10:10:00.000']);
    expect(nextSummaryEnd(utc('2026-03-29T04:16:00Z'), tenMinutes, zone)).toBe(utc('2026-03-29T04:25:00Z'));
  });

  it('aligns Eucla (+08:45) and, for an hourly or 15-minute interval, India, Tehran, Newfoundland and Adelaide on their own clocks', () => {
    const cases: [string, number][] = [
      ['Australia/Eucla', tenMinutes],
      ['Asia/Kolkata', HOUR],
      ['Asia/Tehran', HOUR],
      ['America/St_Johns', HOUR],
      ['Australia/Adelaide', HOUR],
      ['Asia/Kathmandu', 15 * MINUTE],
    ];
    for (const [zone, interval] of cases) {
      // Two days across Adelaide's and St John's DST changes of 2026 (5 April, 8 March and 1 November).
      for (const from of [utc('2026-04-03T00:00:00Z'), utc('2026-03-07T00:00:00Z'), utc('2026-10-31T00:00:00Z')]) {
        const windows = walk(from, from + 48 * HOUR, interval, zone);
        expect(windows.length).toBeGreaterThan(40);
        expectContiguousOnTheClock(windows, interval, zone);
      }
    }
  });

  it('keeps a window on the clock across Chatham’s (+12:45/+13:45) and Lord Howe’s half-hour DST changes, without gap or overlap', () => {
    const changes = [
      // Chatham: 5 April 2026 03:45 → 02:45, 27 September 2026 02:45 → 03:45.
      ['Pacific/Chatham', utc('2026-04-04T12:00:00Z')],
      ['Pacific/Chatham', utc('2026-09-26T12:00:00Z')],
      // Lord Howe: 5 April 2026 02:00 → 01:30, 4 October 2026 02:00 → 02:30.
      ['Australia/Lord_Howe', utc('2026-04-04T12:00:00Z')],
      ['Australia/Lord_Howe', utc('2026-10-03T12:00:00Z')],
    ] as const;
    for (const [zone, from] of changes) {
      for (const interval of [tenMinutes, 15 * MINUTE, HOUR]) {
        const windows = walk(from, from + 12 * HOUR, interval, zone);
        expectContiguousOnTheClock(windows, interval, zone);
        // A window may hold the skipped or repeated half hour, never more.
        for (const w of windows.slice(1)) expect(w.end - w.start).toBeLessThanOrEqual(interval + 30 * MINUTE);
        expect(windows.at(-1)!.end - windows[0]!.start).toBeGreaterThan(11 * HOUR);
      }
    }
    // Lord Howe's clocks go from 02:00 to 02:30: the hour holding that change runs 01:00–03:00, 90 minutes.
    const zone = 'Australia/Lord_Howe';
    const around = walk(utc('2026-10-03T12:00:00Z'), utc('2026-10-03T18:00:00Z'), HOUR, zone);
    const spanning = around.slice(1).find((w) => w.end - w.start !== HOUR)!;
    expect([local(spanning.start, zone), local(spanning.end, zone), spanning.end - spanning.start]).toEqual(['01:00:00.000', '03:00:00.000', 90 * MINUTE]);
  });

  it('names the next end as the first instant a later window ends, in every zone', () => {
    for (const zone of ['Asia/Kathmandu', 'Pacific/Chatham', 'Australia/Lord_Howe', 'Europe/Paris', 'UTC']) {
      for (const interval of [tenMinutes, HOUR]) {
        for (let t = utc('2026-10-03T12:00:00Z'); t < utc('2026-10-03T20:00:00Z'); t += 7 * MINUTE + 13_000) {
          const end = nextSummaryEnd(t, interval, zone);
          expect(end).toBeGreaterThan(t);
          expect(summaryWindowEnd(end, interval, zone)).toBe(end);
          expect(summaryWindowEnd(end - 1, interval, zone)).toBe(summaryWindowEnd(t, interval, zone));
        }
      }
    }
  });

  it('keeps the windows of a zone whose offset is a multiple of the interval exactly as before: multiples since the epoch', () => {
    for (const zone of ['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe']) {
      for (let t = utc('2026-03-01T00:00:00Z'); t < utc('2026-12-01T00:00:00Z'); t += 3 * 24 * HOUR + 7 * MINUTE + 1_234) {
        expect(summaryWindowEnd(t, tenMinutes, zone)).toBe(Math.floor(t / tenMinutes) * tenMinutes);
        expect(nextSummaryEnd(t, tenMinutes, zone)).toBe((Math.floor(t / tenMinutes) + 1) * tenMinutes);
      }
    }
    expect(dueSummaryWindow(7_500, 2_000, 4_000, 0, 'Europe/Paris')).toEqual({ start: 4_000, end: 6_000 });
  });

  it('goes from the last window aligned on UTC to the first aligned on Kathmandu’s clock with a shorter window, no gap, no overlap', () => {
    const zone = 'Asia/Kathmandu';
    // The last window decided before the change (or while the tenant was in UTC) ended at 04:10 UTC.
    const lastEnd = utc('2026-03-29T04:10:00Z');
    expect(dueSummaryWindow(lastEnd + 1_000, tenMinutes, lastEnd, 0, zone)).toBeUndefined();
    const windows = walk(lastEnd, lastEnd + HOUR, tenMinutes, zone, lastEnd);
    expect(windows[0]).toEqual({ start: lastEnd, end: utc('2026-03-29T04:15:00Z') });
    expectContiguousOnTheClock(windows, tenMinutes, zone);
    // And back to UTC: the first window ends on the next UTC multiple.
    const back = walk(utc('2026-03-29T04:15:00Z'), utc('2026-03-29T04:40:00Z'), tenMinutes, 'UTC', utc('2026-03-29T04:15:00Z'));
    expect(back[0]).toEqual({ start: utc('2026-03-29T04:15:00Z'), end: utc('2026-03-29T04:20:00Z') });
  });

  it("starts a Kathmandu tenant's first window at the window of its creation on its clock", () => {
    const created = utc('2026-01-01T04:18:00Z'); // 10:03 in Kathmandu
    const window = dueSummaryWindow(utc('2026-01-01T04:40:00Z'), tenMinutes, undefined, created, 'Asia/Kathmandu')!;
    expect(window).toEqual({ start: utc('2026-01-01T04:15:00Z'), end: utc('2026-01-01T04:35:00Z') });
  });

  it('aligns on UTC for a zone it does not know, rather than looping', () => {
    expect(summaryWindowEnd(utc('2026-01-01T04:18:00Z'), tenMinutes, 'Nowhere/Atlantis')).toBe(utc('2026-01-01T04:10:00Z'));
    expect(nextSummaryEnd(utc('2026-01-01T04:18:00Z'), tenMinutes, 'Nowhere/Atlantis')).toBe(utc('2026-01-01T04:20:00Z'));
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

  it('neither decides nor skips a report time that the spring change moves past midnight (Nuuk skips 23:00–24:00)', () => {
    // Greenland's clock jumps from 23:00 (UTC-02:00) to 00:00 (UTC-01:00) on Saturday 28 March 2026:
    // that Saturday's 23:30 report falls at 00:30 on Sunday (01:30 UTC), the date after its own.
    const zone = 'America/Nuuk';
    const time = parseReportTime('23:30');
    const friday = utc('2026-03-28T01:30:00Z');
    const saturday = utc('2026-03-29T01:30:00Z');
    expect(dailyWindowEndingOn(day('2026-03-28', zone), time, zone).end).toBe(saturday);
    // Between Sunday 00:00 and 00:30 that report is still ahead: nothing is due, and it is the next one.
    const sundayAt0010 = utc('2026-03-29T01:10:00Z');
    expect(dueDailyWindow(sundayAt0010, time, zone, friday, 0)).toBeUndefined();
    expect(nextReportInstant(sundayAt0010, time, zone)).toBe(saturday);
    expect(dueDailyWindow(saturday, time, zone, friday, 0)).toEqual({ start: friday, end: saturday });
    expect(nextReportInstant(saturday, time, zone)).toBe(utc('2026-03-30T00:30:00Z'));
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

  it('sends no second report the same day for a report time moved, after that day’s report, to one already passed: the next is tomorrow, from the last', () => {
    const zone = 'Europe/Paris';
    // 10:00:30 Paris was reported on 28 October (09:00:30 UTC); at noon the time moves to 11:00.
    const reported = utc('2026-10-28T09:00:30Z');
    const movedAt = utc('2026-10-28T11:00:00Z');
    const eleven = parseReportTime('11:00');
    // Whenever a scheduler looks between the change and tomorrow's 11:00, nothing is due.
    for (const now of [movedAt, movedAt + 1, utc('2026-10-28T22:59:59Z'), utc('2026-10-29T09:59:59.999Z')]) {
      expect(dueDailyWindow(now, eleven, zone, reported, 0, movedAt)).toBeUndefined();
    }
    expect(nextReportInstant(movedAt, eleven, zone)).toBe(utc('2026-10-29T10:00:00Z'));
    // Tomorrow's report begins where this morning's ended: no alert missed, none twice.
    expect(dueDailyWindow(utc('2026-10-29T10:00:00Z'), eleven, zone, reported, 0, movedAt)).toEqual({ start: reported, end: utc('2026-10-29T10:00:00Z') });
    // Moved later, to a time still ahead that day, it goes out at that time the same day (10:00 to 18:00 at noon).
    expect(dueDailyWindow(utc('2026-10-28T17:00:00Z'), parseReportTime('18:00'), zone, utc('2026-10-28T09:00:00Z'), 0, movedAt)).toEqual({
      start: utc('2026-10-28T09:00:00Z'),
      end: utc('2026-10-28T17:00:00Z'),
    });
    // Downtime from before tomorrow's 11:00 to the day after: one catch-up report, from this morning's.
    expect(dueDailyWindow(utc('2026-10-30T15:00:00Z'), eleven, zone, reported, 0, movedAt)).toEqual({ start: reported, end: utc('2026-10-30T10:00:00Z') });
    // Before that day's report went out (10:00 moved to 09:00 at 09:30), the passed time is that day's report, sent at once.
    expect(dueDailyWindow(utc('2026-10-28T08:30:00Z'), parseReportTime('09:00'), zone, utc('2026-10-27T09:00:00Z'), 0, utc('2026-10-28T08:30:00Z'))).toEqual({
      start: utc('2026-10-27T09:00:00Z'),
      end: utc('2026-10-28T08:00:00Z'),
    });
  });

  it('covers every day since its creation in a tenant’s first daily report when downtime hid the first report time', () => {
    const zone = 'Europe/Paris';
    // Created at 09:00 Paris on 22 October (07:00 UTC), the server then down until 26 October at noon.
    const created = utc('2026-10-22T07:00:00Z');
    expect(dueDailyWindow(utc('2026-10-26T11:00:00Z'), TEN, zone, undefined, created)).toEqual({
      start: utc('2026-10-21T08:00:00Z'),
      end: utc('2026-10-26T09:00:00Z'),
    });
    // Without downtime the first report is the one after its creation, covering the day before it, as ever.
    expect(dueDailyWindow(utc('2026-10-22T08:00:00Z'), TEN, zone, undefined, created)).toEqual({
      start: utc('2026-10-21T08:00:00Z'),
      end: utc('2026-10-22T08:00:00Z'),
    });
  });

  it('sends a new tenant its first daily report at a report time moved to later the same day, as one who tries it out expects', () => {
    const zone = 'Europe/Paris';
    // Created at 13:00 Paris, after that day's 10:00; its administrator moves the report to 13:06 to see one.
    const created = utc('2026-10-22T11:00:00Z');
    const moved = parseReportTime('13:06');
    expect(dueDailyWindow(utc('2026-10-22T11:05:59Z'), moved, zone, undefined, created)).toBeUndefined();
    expect(dueDailyWindow(utc('2026-10-22T11:06:00Z'), moved, zone, undefined, created)).toEqual({
      start: utc('2026-10-21T11:06:00Z'),
      end: utc('2026-10-22T11:06:00Z'),
    });
  });
});
