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

  it('names a day of the years 1 to 999 with four digits (0987-06-05, not 987-06-05)', () => {
    expect(isoDay(Date.parse('0987-06-05T12:00:00Z'), 'UTC')).toBe('0987-06-05');
  });
});
