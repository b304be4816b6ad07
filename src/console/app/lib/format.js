import { DateTime } from 'luxon';
import { currentLanguage } from './i18n.js';

/** browserTimeZone is the IANA zone of the browser's machine (UTC where it says none). */
export function browserTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

const state = { zone: browserTimeZone() };

/**
 * setTimeZone sets the IANA zone dates are shown in: the first of `zones` (the user's, then the
 * tenant's) that the browser knows, as the API and the emails pass over a zone their runtime does
 * not know; none known keeps the zone as it was.
 * @param {...(string | null | undefined)} zones
 */
export function setTimeZone(...zones) {
  const known = zones.find((zone) => zone && DateTime.now().setZone(zone).isValid);
  if (known) state.zone = known;
}

/** timeZone is the zone dates are shown in. */
export function timeZone() {
  return state.zone;
}

/**
 * CLOCK is the hour and minute of every time the console writes: two digits each on a 24-hour clock in
 * every language, as the emails write them (src/i18n/format.ts). Luxon's presets ask for a `numeric`
 * hour, which French, German, Spanish and Japanese write with one digit (`0:00:01`, `6:51`) where the
 * email about the same alert says `00:00` and `06:51`, and English says `6:51:56 AM`.
 */
export const CLOCK = /** @type {const} */ ({ hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

/**
 * formatTime shows an ISO time in the user's zone and language, with the zone's abbreviation, on the
 * emails' CLOCK.
 * @param {string | null | undefined} iso
 */
export function formatTime(iso) {
  if (!iso) return '';
  const time = DateTime.fromISO(iso).setZone(state.zone).setLocale(currentLanguage());
  return time.isValid ? localeString(time, { ...DateTime.DATETIME_MED_WITH_SECONDS, ...CLOCK, timeZoneName: 'short' }) : iso;
}

/**
 * localeString writes a time as toLocaleString does, with a year before 1000 written as ISO 8601
 * and the API write it (0000, 0001, -0001 before): Intl writes such a year unpadded and, before
 * 1 CE, as its era's year with the era left out, so .NET's empty date read "Jan 1, 1" and the
 * API's year 0000 (1 BC) "1" too, as the emails did (src/i18n/format.ts).
 * @param {DateTime} time
 * @param {Intl.DateTimeFormatOptions} options
 */
function localeString(time, options) {
  if (time.year >= 1000) return time.toLocaleString(options);
  // Luxon numbers years as ISO 8601 does (1 BC is 0).
  const year = `${time.year < 0 ? '-' : ''}${String(Math.abs(time.year)).padStart(4, '0')}`;
  return time
    .toLocaleParts(options)
    .map((part) => (part.type === 'year' ? year : part.value))
    .join('');
}

/**
 * formatInputTime writes the time of a date-time field as the page writes times, to the minute, in
 * the user's zone and language (`2 janv. 2026, 04:04`): the field writes it as the browser's own
 * language does (`01/02/2026, 04:04 AM` in an American browser), which may not be the user's.
 * @param {string | null | undefined} iso
 */
export function formatInputTime(iso) {
  if (!iso) return '';
  const time = DateTime.fromISO(iso).setZone(state.zone).setLocale(currentLanguage());
  if (!time.isValid) return '';
  // In the hour the clock repeats when summer time ends, 02:40 is two instants: the field cannot say
  // which (a summary's link may name the first, a time typed is the second), so its zone's offset does,
  // as the alert rows and the emails write it.
  return localeString(time, { ...DateTime.DATETIME_MED, ...CLOCK, ...(onRepeatedClock(time) ? { timeZoneName: 'short' } : {}) });
}

/**
 * onRepeatedClock says whether a time's zone reads its clock time at another instant too: the hour
 * repeated when summer time ends, where a time written without its offset could be either.
 * @param {DateTime} time
 */
export function onRepeatedClock(time) {
  return time.getPossibleOffsets().length > 1;
}

/**
 * localInputToIso reads a datetime-local value as a time in the user's zone.
 * @param {string} value
 */
export function localInputToIso(value) {
  if (!value) return '';
  const time = DateTime.fromISO(value, { zone: state.zone });
  return time.isValid ? time.toISO() : '';
}

/**
 * isoToLocalInput is the datetime-local value showing an ISO time in the user's zone.
 * @param {string | null | undefined} iso
 */
export function isoToLocalInput(iso) {
  if (!iso) return '';
  const time = DateTime.fromISO(iso).setZone(state.zone);
  return time.isValid ? time.toFormat("yyyy-MM-dd'T'HH:mm") : '';
}
