import { DateTime } from 'luxon';
import { firstKnownZone } from '../shared/validation.js';
import type { Language } from './languages.js';

/** LocaleFormat formats times and numbers for one recipient: their language and time zone. */
export interface LocaleFormat {
  /** A day without a time, e.g. `27 Nov 2026`. */
  date(epochMs: number): string;
  /** A day and a time to the minute, e.g. `27 Nov 2026, 14:05`. */
  dateTime(epochMs: number): string;
  /** A day and a time to the second, e.g. `27 Nov 2026, 14:05:09`. */
  dateTimeToSecond(epochMs: number): string;
  /** A time of day to the minute, e.g. `14:05`. */
  clock(epochMs: number): string;
  /** A time of day to the second, e.g. `14:05:09`. */
  time(epochMs: number): string;
  /** A whole number with the language's grouping, e.g. `1,234` or `1 234`. */
  number(value: number): string;
  /** A label and its value as the language writes them: `Folder: HR`, `Dossier : HR` in French. */
  labelled(label: string, value: string): string;
  /** The zone as people read it: its IANA name and UTC offset, e.g. `Europe/Paris (UTC+01:00)`. */
  zoneLabel(epochMs: number): string;
  /** The zone's UTC offset at an instant, e.g. `UTC+01:00` (`UTC` for UTC itself). */
  utcOffset(epochMs: number): string;
  /** Whether two instants fall on the same calendar day in the zone. */
  sameDay(a: number, b: number): boolean;
}

// Building an Intl formatter costs far more than using one: each language and zone is built once.
const formats = new Map<string, LocaleFormat>();
const dayFormats = new Map<string, Intl.DateTimeFormat>();

/**
 * localeFormat gives the formatters of a language and IANA zone. Every language gets a 24-hour
 * clock and a month written out or in day-first order, so that no date reads two ways (the
 * US-format and 12-hour complaints of other alert emails).
 */
export function localeFormat(language: Language, timeZone: string): LocaleFormat {
  const key = `${language} ${timeZone}`;
  let format = formats.get(key);
  if (!format) formats.set(key, (format = buildLocaleFormat(language, timeZone)));
  return format;
}

function buildLocaleFormat(language: Language, requestedZone: string): LocaleFormat {
  // A zone the runtime does not know (stored before an ICU update, say) shows times in UTC, labelled
  // so, rather than failing the email.
  const timeZone = firstKnownZone(requestedZone);
  const dateOptions: Intl.DateTimeFormatOptions = {
    timeZone,
    year: 'numeric',
    month: language === 'ja' || language === 'de' ? '2-digit' : 'short',
    day: language === 'ja' || language === 'de' ? '2-digit' : 'numeric',
  };
  const dateTimeOptions: Intl.DateTimeFormatOptions = { ...dateOptions, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  const date = new Intl.DateTimeFormat(language, dateOptions);
  const dateTime = new Intl.DateTimeFormat(language, dateTimeOptions);
  const dateTimeToSecond = new Intl.DateTimeFormat(language, { ...dateTimeOptions, second: '2-digit' });
  const clock = new Intl.DateTimeFormat(language, { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const time = new Intl.DateTimeFormat(language, {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  const number = new Intl.NumberFormat(language, { maximumFractionDigits: 0 });
  const offset = new Intl.DateTimeFormat('en', { timeZone, timeZoneName: 'longOffset' });
  const offsetAt = (epochMs: number) => {
    const name = offset.formatToParts(epochMs).find((part) => part.type === 'timeZoneName')?.value ?? 'GMT';
    // `GMT+01:00` → `UTC+01:00`; plain `GMT` is UTC itself.
    return name === 'GMT' ? 'UTC+00:00' : name.replace('GMT', 'UTC');
  };
  const kept = keptOffsets(offsetAt);
  const utcOffset = (epochMs: number) => (timeZone === 'UTC' || timeZone === 'Etc/UTC' ? 'UTC' : kept(epochMs));
  return {
    date: isoYears(date, timeZone),
    dateTime: isoYears(dateTime, timeZone),
    dateTimeToSecond: isoYears(dateTimeToSecond, timeZone),
    clock: (epochMs) => clock.format(epochMs),
    time: (epochMs) => time.format(epochMs),
    number: (value) => number.format(value),
    // French puts a no-break space before a colon.
    labelled: (label, value) => `${label}${language === 'fr' ? '\u00a0:' : ':'} ${value}`,
    zoneLabel(epochMs) {
      if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return 'UTC';
      return `${timeZone} (${utcOffset(epochMs)})`;
    },
    utcOffset,
    sameDay: (a, b) => isoDay(a, timeZone) === isoDay(b, timeZone),
  };
}

/** OFFSET_SPAN_MS: the hours of the clock whose offset is kept, each as one. */
const OFFSET_SPAN_MS = 3_600_000;
/** How many hours' offsets one zone keeps at most (a daily report names two days, a mute's end months ahead); past it, it starts again. */
const OFFSETS_KEPT = 256;
/** The last instant Dates hold (ECMAScript's ±8.64e15 ms): an hour that runs past it is not kept. */
const LAST_INSTANT = 8.64e15;

/**
 * keptOffsets gives `offsetAt` (a zone's UTC offset at an instant, one Intl formatToParts: 2.7 CPU-µs
 * warm, six of them in a Fatal alert's email, all of the same hour or two) with the offset of each hour
 * of UTC kept once it is the same at the hour's first and last millisecond: no zone changes its offset
 * and back within one hour, so it holds for every instant between. An hour whose two ends differ
 * holds a change: each instant of it is asked of `offsetAt` itself.
 */
function keptOffsets(offsetAt: (epochMs: number) => string): (epochMs: number) => string {
  const offsets = new Map<number, string>();
  return (epochMs) => {
    const hour = Math.floor(epochMs / OFFSET_SPAN_MS);
    const known = offsets.get(hour);
    if (known !== undefined) return known;
    const first = hour * OFFSET_SPAN_MS;
    const last = first + OFFSET_SPAN_MS - 1;
    if (!(last <= LAST_INSTANT && first >= -LAST_INSTANT)) return offsetAt(epochMs);
    const atFirst = offsetAt(first);
    if (atFirst !== offsetAt(last)) return offsetAt(epochMs);
    if (offsets.size >= OFFSETS_KEPT) offsets.clear();
    offsets.set(hour, atFirst);
    return atFirst;
  };
}

/** isoDay is the calendar day `YYYY-MM-DD` of an instant in an IANA zone, e.g. for ids. */
export function isoDay(epochMs: number, timeZone: string): string {
  let day = dayFormats.get(timeZone);
  if (!day) {
    // en-CA writes dates as YYYY-MM-DD.
    day = new Intl.DateTimeFormat('en-CA', { timeZone: firstKnownZone(timeZone), year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormats.set(timeZone, day);
  }
  return epochMs < FOUR_DIGIT_YEARS ? withIsoYear(day, firstKnownZone(timeZone), epochMs) : day.format(epochMs);
}

// Intl writes a year before 1000 unpadded and one before 1 CE as its era's year, the era left out:
// the API's year 0000 (1 BC) read "Jan 1, 1", and 0000-01-01T00:00Z in New York "Dec 31, 2" (2 BC).
// Such a year is written as ISO 8601 and the API write it instead: four digits, 0000, -0001 before.
// A day past the year 1000 in UTC, so that no zone's offset brings an earlier year in.
const FOUR_DIGIT_YEARS = Date.UTC(1000, 0, 2);

/** isoYears formats an instant as `formatter` does, with the year written as ISO 8601 before the year 1000. */
function isoYears(formatter: Intl.DateTimeFormat, timeZone: string): (epochMs: number) => string {
  return (epochMs) => (epochMs < FOUR_DIGIT_YEARS ? withIsoYear(formatter, timeZone, epochMs) : formatter.format(epochMs));
}

function withIsoYear(formatter: Intl.DateTimeFormat, timeZone: string, epochMs: number): string {
  // Luxon numbers years as ISO 8601 does (1 BC is 0), in the zone as Intl reckons its offset.
  const year = DateTime.fromMillis(epochMs, { zone: timeZone }).year;
  const written = `${year < 0 ? '-' : ''}${String(Math.abs(year)).padStart(4, '0')}`;
  return formatter
    .formatToParts(epochMs)
    .map((part) => (part.type === 'year' ? written : part.value))
    .join('');
}

/** onWholeMinutes says whether every instant falls on a whole minute (every zone today is offset by whole minutes). */
export function onWholeMinutes(...instants: number[]): boolean {
  return instants.every((ms) => ms % 60_000 === 0);
}

/**
 * acrossOffsetChange gives the formatters for a period: those of the zone when its UTC offset is
 * the same at both ends, else ones that write each date and time with its own offset
 * (`Oct 24, 2026, 10:00 (UTC+02:00)`), since one offset said for the whole period would be wrong
 * for the times on the other side of a daylight-saving change; the zone is then named without one.
 * So is a period with an end in the hour the clock repeats (onRepeatedClock), same offset or not.
 */
export function acrossOffsetChange(fmt: LocaleFormat, timeZone: string, start: number, end: number): LocaleFormat {
  if (fmt.utcOffset(start) === fmt.utcOffset(end) && !onRepeatedClock(timeZone, start) && !onRepeatedClock(timeZone, end)) return fmt;
  const withOffset = (write: (epochMs: number) => string) => (epochMs: number) => `${write(epochMs)} (${fmt.utcOffset(epochMs)})`;
  return {
    ...fmt,
    dateTime: withOffset(fmt.dateTime),
    dateTimeToSecond: withOffset(fmt.dateTimeToSecond),
    clock: withOffset(fmt.clock),
    time: withOffset(fmt.time),
    zoneLabel: () => firstKnownZone(timeZone),
  };
}

/**
 * dateTimeBeside writes an instant far from the one whose offset an email says its times are in
 * (`Times are shown in Europe/Paris (UTC+01:00)` at `statedAt`), such as a mute's end months
 * ahead: with its own offset when that differs (`May 1, 2027, 10:00 (UTC+02:00)`), else as
 * dateTime does. A format from acrossOffsetChange, whose zone is said without an offset, already
 * writes one with every time.
 */
export function dateTimeBeside(fmt: LocaleFormat, epochMs: number, statedAt: number): string {
  return offsetsBeside(fmt, statedAt).dateTime(epochMs);
}

/**
 * offsetsBeside gives the formatters of an email that says its times are in the zone's offset at
 * `statedAt`: each time whose own offset differs (an alert that occurred before a daylight-saving
 * change, a source that last failed in winter) is written with it, `01:55:00 (UTC+01:00)`; the
 * others as `fmt` writes them. A format whose zone is said without an offset (acrossOffsetChange)
 * already writes one with every time, and is kept. Give it the zone's own format, not one it gave.
 */
export function offsetsBeside(fmt: LocaleFormat, statedAt: number): LocaleFormat {
  const stated = fmt.utcOffset(statedAt);
  if (!fmt.zoneLabel(statedAt).includes(stated)) return fmt;
  const withOwn = (write: (epochMs: number) => string) => (epochMs: number) => {
    const own = fmt.utcOffset(epochMs);
    return own === stated ? write(epochMs) : `${write(epochMs)} (${own})`;
  };
  return {
    ...fmt,
    dateTime: withOwn(fmt.dateTime),
    dateTimeToSecond: withOwn(fmt.dateTimeToSecond),
    clock: withOwn(fmt.clock),
    time: withOwn(fmt.time),
  };
}

/**
 * onRepeatedClock says whether the zone's clock reads the same at another instant too (the hour
 * repeated when summer time ends): a time written there needs its offset to say which it is, or
 * the summaries of 02:00–02:10 summer time and 02:00–02:10 winter time read the same.
 */
function onRepeatedClock(timeZone: string, epochMs: number): boolean {
  return DateTime.fromMillis(epochMs, { zone: firstKnownZone(timeZone) }).getPossibleOffsets().length > 1;
}
