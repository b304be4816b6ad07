import { describe, expect, it } from 'vitest';
import { isoDay, localeFormat } from './format.js';

const YEAR_0000 = Date.parse('0000-01-01T00:00:00Z');
// .NET's default DateTime, which some sources send for "no date"; the API stores it as given.
const DOTNET_EMPTY = Date.parse('0001-01-01T00:00:00Z');

describe('dates before the year 1000', () => {
  it('writes the year the API holds, four digits as ISO 8601 writes it, not the era year Intl gives (0000 read "1")', () => {
    expect(localeFormat('en', 'UTC').dateTime(YEAR_0000)).toBe('Jan 1, 0000, 00:00');
    expect(localeFormat('fr', 'UTC').dateTime(YEAR_0000)).toBe('1 janv. 0000, 00:00');
    expect(localeFormat('de', 'UTC').dateTimeToSecond(YEAR_0000)).toBe('01.01.0000, 00:00:00');
    expect(localeFormat('ja', 'UTC').date(YEAR_0000)).toBe('0000/01/01');
    expect(localeFormat('en', 'UTC').dateTime(DOTNET_EMPTY)).toBe('Jan 1, 0001, 00:00');
    expect(localeFormat('es', 'UTC').date(Date.parse('0987-06-05T00:00:00Z'))).toBe('5 jun 0987');
  });

  it('writes the year of the day in the zone, before 0000 too, not the era year (0000-01-01T00:00Z read "Dec 31, 2" in New York)', () => {
    const newYork = localeFormat('en', 'America/New_York');
    expect(newYork.date(YEAR_0000)).toBe('Dec 31, -0001');
    expect(newYork.date(DOTNET_EMPTY)).toBe('Dec 31, 0000');
  });

  it('names the day of such an instant as ISO 8601 does, and leaves later years as they were', () => {
    expect(isoDay(YEAR_0000, 'UTC')).toBe('0000-01-01');
    expect(isoDay(DOTNET_EMPTY, 'America/New_York')).toBe('0000-12-31');
    expect(isoDay(Date.UTC(2026, 10, 27), 'UTC')).toBe('2026-11-27');
    expect(localeFormat('en', 'UTC').dateTime(Date.UTC(2026, 10, 27, 10, 2))).toBe('Nov 27, 2026, 10:02');
  });
});

describe('numbers and zones as each reader writes them', () => {
  it('groups a count as the reader’s language does (a German reader sees 1.234.567, not 1,234,567)', () => {
    expect(localeFormat('de', 'UTC').number(1_234_567)).toBe('1.234.567');
    expect(localeFormat('fr', 'UTC').number(1234)).toBe('1\u202f234');
    expect(localeFormat('en', 'UTC').number(1234)).toBe('1,234');
  });

  it('labels a zone at UTC+0 in winter with its offset, keeping plain "UTC" for UTC itself', () => {
    expect(localeFormat('en', 'Europe/London').zoneLabel(Date.UTC(2026, 0, 5))).toBe('Europe/London (UTC+00:00)');
    expect(localeFormat('en', 'Europe/London').zoneLabel(Date.UTC(2026, 6, 5))).toBe('Europe/London (UTC+01:00)');
    expect(localeFormat('en', 'Etc/UTC').zoneLabel(0)).toBe('UTC');
  });

  it('gives each instant its own offset around a change, when an instant of the same hour was written before (offsets kept by the hour)', () => {
    // Lord Howe Island moves from UTC+10:30 to UTC+11:00 at 15:30 UTC, in the middle of an hour of UTC.
    const lordHowe = localeFormat('en', 'Australia/Lord_Howe');
    const change = Date.UTC(2026, 9, 3, 15, 30);
    expect(lordHowe.utcOffset(Date.UTC(2026, 9, 3, 15))).toBe('UTC+10:30');
    expect(lordHowe.utcOffset(change - 1)).toBe('UTC+10:30');
    expect(lordHowe.utcOffset(change)).toBe('UTC+11:00');
    expect(lordHowe.utcOffset(Date.UTC(2026, 9, 3, 15, 59))).toBe('UTC+11:00');
    // Paris moves to summer time at 01:00 UTC, an hour's first instant: the hours on either side keep one offset each.
    const paris = localeFormat('en', 'Europe/Paris');
    const summer = Date.UTC(2026, 2, 29, 1);
    for (const [at, offset] of [
      [summer - 3_600_000, 'UTC+01:00'],
      [summer - 1, 'UTC+01:00'],
      [summer, 'UTC+02:00'],
      [summer + 3_599_999, 'UTC+02:00'],
      [summer - 1, 'UTC+01:00'],
    ] as const) {
      expect(paris.utcOffset(at)).toBe(offset);
    }
    // Paris's local mean time (UTC+00:09:21) ended at 23:50:39 UTC on 10 March 1911, seconds into a minute.
    const lmtEnd = Date.UTC(1911, 2, 10, 23, 50, 39);
    expect(paris.utcOffset(lmtEnd - 1)).toBe('UTC+00:09:21');
    expect(paris.utcOffset(lmtEnd)).toBe('UTC+00:00');
    expect(paris.zoneLabel(lmtEnd - 1_000)).toBe('Europe/Paris (UTC+00:09:21)');
  });

  it('gives the offsets of the last and first instants a Date holds, whose hour runs past them (not kept by the hour)', () => {
    const paris = localeFormat('en', 'Europe/Paris');
    expect(paris.utcOffset(8.64e15)).toBe('UTC+02:00');
    expect(paris.utcOffset(-8.64e15)).toBe('UTC+00:09:21');
  });

  it('names a day of the years 1 to 999 with four digits (0987-06-05, not 987-06-05)', () => {
    expect(isoDay(Date.parse('0987-06-05T12:00:00Z'), 'UTC')).toBe('0987-06-05');
  });
});
