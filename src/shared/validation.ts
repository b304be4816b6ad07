import { domainToASCII, domainToUnicode } from 'node:url';
import { z } from 'zod';
import { IANA_ALIAS_MAP } from 'windows-iana';
import { LANGUAGES } from '../i18n/languages.js';
import { HEADER_BREAKING, IDEOGRAPHIC_DOTS, isEmailAddress } from './email-address.js';
import { issueInWords, writtenNumber } from './issue-words.js';

/** ONE_LINE is the pattern, as the OpenAPI document shows it, of a text without HEADER_BREAKING's characters. */
const ONE_LINE = '^[^\\r\\n\\u0000\\u0085\\u2028\\u2029]*$';

// The control characters but tab (C0, DEL, C1: ESC, VT, FF, BEL…) and the Unicode line and paragraph
// separators: no one types them in a name, and a name is read in a header, where a mail program
// shows them as boxes or acts on them (a terminal reader ran "\u001b[2J" in a To line).
// Written as a class's inside once, for the check and for the OpenAPI document's patterns.
const CONTROLS = '\\u0000-\\u0008\\u000a-\\u001f\\u007f-\\u009f\\u2028\\u2029';
const CONTROL = new RegExp(`[${CONTROLS}]`);
/** NAME_TEXT is the pattern, as the OpenAPI document shows it, of a text without CONTROL's characters. */
const NAME_TEXT = `^[^${CONTROLS}]*$`;
/** NAME_TEXT_NOT_BLANK is NAME_TEXT with a character that is not white space (what trim keeps) among them. */
const NAME_TEXT_NOT_BLANK = `^[^${CONTROLS}]*[^\\s${CONTROLS}][^${CONTROLS}]*$`;
/** CONTROL_MESSAGE says what a name may not hold; a tab is taken, as the space it is shown as. */
const CONTROL_MESSAGE = 'must not contain line breaks or control characters such as ESC, DEL, NUL, vertical tab or form feed';

/** headerSafe is a string that may end up in an email header: no line breaks, no NUL. */
export function headerSafe(max: number) {
  return z
    .string()
    .max(max)
    .refine((s) => !HEADER_BREAKING.test(s), 'must not contain line breaks or NUL characters')
    .meta({ pattern: ONE_LINE });
}

/**
 * emailAddress is a zod schema for one mailbox address, kept in Unicode's composed form (NFC, as
 * RFC 6532 asks): an accent typed as its own combining character is the same address. Its
 * domain's ideographic full stops are written as the dots they stand for.
 */
export const emailAddress = z
  .string()
  .trim()
  .min(3)
  .max(254)
  .refine(isEmailAddress, 'must be an email address such as ops@example.com')
  .transform((address) => {
    const at = address.lastIndexOf('@');
    return `${address.slice(0, at)}@${address.slice(at + 1).replace(IDEOGRAPHIC_DOTS, '.')}`.normalize('NFC');
  });

/**
 * emailKey is what makes two spellings of one address the same: composed (NFC), in lower case, and
 * an international domain written as IDNA maps it, in Unicode: ana@xn--bcher-kva.example and
 * ana@ｂücher.example (full-width letters) are the mailbox ana@bücher.example, as every lookup and
 * SMTP write it, and as two users it got every email twice.
 */
export function emailKey(address: string): string {
  const key = address.trim().normalize('NFC').toLowerCase();
  const at = key.lastIndexOf('@');
  // Only a punycode label or a character beyond ASCII changes: skipped for the addresses almost all are.
  if (at < 0 || !IDNA_MAPPED.test(key.slice(at + 1))) return key;
  const unicode = domainToUnicode(key.slice(at + 1));
  return unicode ? `${key.slice(0, at + 1)}${unicode.normalize('NFC')}` : key;
}

const IDNA_MAPPED = /(^|\.)xn--|[^\x00-\x7f]/;

/** sameMailbox tells whether two addresses are one mailbox, as emailKey spells them. */
export function sameMailbox(a: string, b: string): boolean {
  return emailKey(a) === emailKey(b);
}

/**
 * emailKeys are the keys an address may be stored under: emailKey's, and those a user saved before
 * emailKey mapped international domains had (the address as typed then, composed and in lower case,
 * or its domain in punycode), so that such a user is still found by either spelling.
 */
export function emailKeys(address: string): string[] {
  const key = emailKey(address);
  const at = key.lastIndexOf('@');
  const ascii = at < 0 ? '' : domainToASCII(key.slice(at + 1));
  const typed = address.trim().normalize('NFC').toLowerCase();
  return [...new Set([key, typed, ...(ascii ? [`${key.slice(0, at + 1)}${ascii}`] : [])])];
}

// Asking the runtime builds an Intl formatter, tens of microseconds, and report windows ask once per
// window computed: the answers are kept, up to a bound, since names typed into requests are not.
const zonesKnown = new Map<string, boolean>();
const ZONES_KNOWN_KEPT = 1_000;

/** isTimeZone tells whether the runtime knows an IANA time zone name. */
export function isTimeZone(value: string): boolean {
  let known = zonesKnown.get(value);
  if (known === undefined) {
    known = value.length <= 64 && formatsIn(value);
    if (zonesKnown.size >= ZONES_KNOWN_KEPT) zonesKnown.clear();
    zonesKnown.set(value, known);
  }
  return known;
}

function formatsIn(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/**
 * firstKnownZone is the first of a person's stored time zones (a user's own, then the tenant's) that
 * the runtime knows, else UTC: a zone saved by a process whose runtime knew it (a newer Node or
 * tzdata) is passed over for the next, rather than read as no zone at all.
 */
export function firstKnownZone(...zones: readonly (string | null | undefined)[]): string {
  return zones.find((zone): zone is string => !!zone && isTimeZone(zone)) ?? 'UTC';
}

/**
 * UPPER_CASE_ZONES are IANA's names of one upper-case word that a runtime may resolve to a city
 * and list nowhere (Node 20's ICU reads CET as Europe/Brussels), so that they are not capitalised
 * word by word as a name newer than the runtime would be (Cet).
 */
const UPPER_CASE_ZONES = 'CET EET MET WET EST HST MST CST6CDT EST5EDT MST7MDT PST8PDT GMT UTC UCT GB NZ PRC ROC ROK'.split(' ');

/**
 * ZONE_SPELLINGS are the names of time zones as IANA writes them, by their lower-case form: the
 * runtime's own and every alias CLDR knows, since the runtime names some zones by a former name
 * (Node's ICU says Asia/Katmandu for Asia/Kathmandu, Asia/Calcutta for Asia/Kolkata).
 */
const ZONE_SPELLINGS = new Map(
  [...IANA_ALIAS_MAP.flatMap((zone) => zone.alias), ...Intl.supportedValuesOf('timeZone'), ...UPPER_CASE_ZONES].map((name) => [name.toLowerCase(), name]),
);

/**
 * zoneSpelling writes a known time zone as IANA spells it when it was given in another case
 * (`europe/paris` is Europe/Paris, `asia/kathmandu` Asia/Kathmandu, as the runtime accepts both);
 * an alias keeps its own name. A name newer than both lists (Europe/Kyiv) typed all in one case
 * gets each word capitalised, as IANA writes it; typed otherwise, it is kept as given.
 */
export function zoneSpelling(value: string): string {
  const spelled = new Intl.DateTimeFormat('en', { timeZone: value }).resolvedOptions().timeZone;
  if (spelled.toLowerCase() === value.toLowerCase()) return spelled;
  const known = ZONE_SPELLINGS.get(value.toLowerCase());
  if (known) return known;
  if (value !== value.toLowerCase() && value !== value.toUpperCase()) return value;
  return value.toLowerCase().replace(/(^|[/_-])([a-z])/g, (_, separator: string, letter: string) => separator + letter.toUpperCase());
}

/**
 * sayIssuesInWords makes zod say its issues as the API's own messages do (issueInWords): a value
 * outside a list as the list in words, a required field left out as "is required", a number, a
 * type, a length as what the field takes. A message a schema gives itself is kept.
 */
export function sayIssuesInWords(): void {
  z.config({ customError: issueInWords });
}

/**
 * timeZone is a zod schema for an IANA time zone name such as Europe/Paris, kept as IANA spells it;
 * white space around it is dropped, as around an email address or a name (pasted from a sheet or a file).
 */
export const timeZone = z.string().trim().refine(isTimeZone, 'must be an IANA time zone such as Europe/Paris').transform(zoneSpelling);

/**
 * language is a zod schema for one of the supported languages. A tag is read as BCP 47 reads it:
 * in any case, and by its language subtag, as .NET and browsers send their culture's name (FR,
 * fr-FR, es-MX, de_DE are fr, fr, es, de), white space around it dropped as around a time zone;
 * what is left must be a supported language.
 */
export const language = z.preprocess((value) => (typeof value === 'string' ? languageSubtag(value.trim()) : value), z.enum(LANGUAGES));

/** languageSubtag is a BCP 47 tag's language, lower-case; anything that is no tag is left as given, for the enum to refuse. */
function languageSubtag(tag: string): string {
  return /^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$/.test(tag) ? tag.split(/[-_]/)[0]!.toLowerCase() : tag;
}

/**
 * patchedValue reads one field of a PUT or PATCH as API.md's conventions say: left out keeps the
 * current value, `null` clears it (`cleared`: the field's empty value or default).
 */
export function patchedValue<T>(given: T | null | undefined, current: T, cleared: T): T {
  return given === undefined ? current : given === null ? cleared : given;
}

/** NOT_BLANK is the pattern, as the OpenAPI document shows it, of a text that is more than white space (what trim removes). */
export const NOT_BLANK = '\\S';

/**
 * isNameText tells whether a text holds none of CONTROL's characters: what a name that may reach an
 * email header (a subject, a From or To display name) may be.
 */
function isNameText(value: string): boolean {
  return !CONTROL.test(value);
}

/**
 * nameText is a text of at most `max` characters without control characters (isNameText): a name
 * that may end up in an email header. Refused at the API, as a 400 naming the field, rather than
 * stored and mailed as symbols or spaces in the subject and the From or To line.
 */
export function nameText(max: number) {
  return z.string().max(max).refine(isNameText, CONTROL_MESSAGE).meta({ pattern: NAME_TEXT });
}

/**
 * displayTextOf is a header-safe human label of at most `max` characters, trimmed and not empty,
 * without control characters (nameText); the bound is checked first, so a label too long is
 * refused naming its own limit.
 */
export function displayTextOf(max: number) {
  // min(1) before the pipe too: the OpenAPI document reads a request's schema from the pipe's first
  // part, so without it the document took the empty names that the trimmed part refuses; and the
  // pattern (no control, with a character that is not white space, which trim keeps) says the blank ones are refused too.
  return nameText(max).min(1).pipe(z.string().trim().min(1)).meta({ pattern: NAME_TEXT_NOT_BLANK });
}

/** displayText is a short, header-safe human label (names, display names). */
export const displayText = displayTextOf(200);

// Outside these, toISOString writes a signed six-digit year (+010000-01-01T…, -000001-…), which
// no ISO-8601 reader of the API takes back.
const FIRST_INSTANT = Date.parse('0000-01-01T00:00:00.000Z');
const LAST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

/** INSTANT_RANGE_MESSAGE is what an instant outside isWrittenAsIso must be instead. */
export const INSTANT_RANGE_MESSAGE = 'must fall within the years 0000 to 9999 in UTC';

/** isWrittenAsIso tells whether an epoch ms falls within the years 0000 to 9999 in UTC, the ones an ISO-8601 date-time writes. */
export function isWrittenAsIso(at: number): boolean {
  return at >= FIRST_INSTANT && at <= LAST_INSTANT;
}

/**
 * An instant with its offset as scripts write it beside RFC 3339's usual form: a space or a
 * lower-case t between date and time and a lower-case z (RFC 3339 §5.6 allows them; `date
 * --rfc-3339=seconds` writes the space), minutes without seconds (ISO 8601; `date -Iminutes`), and
 * an offset without its colon (ISO 8601's basic form; strftime's %z).
 */
const WRITTEN_INSTANT = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?(?:([Zz])|([+-]\d{2}):?(\d{2}))$/;

/** canonicalInstant writes such an instant as RFC 3339 usually does; anything else is left for the schema to refuse. */
function canonicalInstant(value: unknown): unknown {
  const written = typeof value === 'string' ? WRITTEN_INSTANT.exec(value) : null;
  if (!written) return value;
  const [, date, minutes, seconds = ':00', utc, offsetHours, offsetMinutes] = written;
  return `${date}T${minutes}${seconds}${utc ? 'Z' : `${offsetHours}:${offsetMinutes}`}`;
}

/** INSTANT_MESSAGE says what an instant must look like, with the example of one. */
const INSTANT_MESSAGE = 'must be a date and time with its offset from UTC, such as 2026-03-01T09:00:00+01:00 or 2026-03-01T08:00:00Z';

/**
 * isoInstant is a date-time with its offset (RFC 3339, or the forms canonicalInstant reads) whose
 * instant falls within the years 0000 to 9999 in UTC; it gives it as RFC 3339 usually writes it. A
 * time without an offset is refused: which instant it means is unknown.
 */
export const isoInstant = z.preprocess(
  canonicalInstant,
  // abort: a text that is no such date-time is refused for that alone; Date.parse reads a six-digit
  // year (+275760-…), and the range's check then listed a second error for the same field.
  // A field left out falls through to issueInWords' "is required", as every other missing field reads.
  z.iso
    .datetime({ offset: true, error: (issue) => (issue.input === undefined ? undefined : INSTANT_MESSAGE), abort: true })
    .refine((value) => isWrittenAsIso(Date.parse(value)), INSTANT_RANGE_MESSAGE),
);

/**
 * millisecondsUp is an isoInstant as the whole milliseconds times are kept in, rounded up: a time
 * finer than a millisecond (`…00.000001Z`) comes after everything stored within that millisecond,
 * where Date.parse cuts it down to the millisecond itself. A bound of a filter on stored times.
 */
export function millisecondsUp(instant: string): number {
  const at = Date.parse(instant);
  return finerThanMillisecond(instant) ? at + 1 : at;
}

/** finerThanMillisecond is whether a time's text names an instant between two milliseconds (`.0001`, .NET's seven digits). */
export function finerThanMillisecond(text: string): boolean {
  return /\.\d{3}\d*[1-9]/.test(text);
}

/**
 * A count in the query (`$top`, `$skip`, `limit`, `hours`), written in decimal digits as OData's
 * grammar has it: a coerced number read `$top=` as 0 (an empty page, silently), and `limit=0x10`
 * as 16, `limit=1e3` as 1000 and `limit=%201` as 1. The OpenAPI document shows it as the whole
 * number from `min` to `max` that a client sends: as the digits' pattern alone it took any count
 * up to ten digits, so a client generated from it sent `$top=5000` and got a 400.
 */
export const queryCount = (max: number, min = 0) => {
  // One wording for both ends, as the refusal of other text says it (not zod's "Too big: expected…").
  const range = `must be a whole number from ${writtenNumber(min)} to ${writtenNumber(max)}`;
  return (
    z
      .string()
      .refine((value) => /^\d+$/.test(value), { message: 'must be a whole number written in digits', abort: true })
      // Digits past any range are refused as out of it: more than 15 of them would coerce to a number
      // rounded, or to Infinity (zod's "expected number, received Infinity"), and {1,10} digits alone
      // told $skip=99999999999 it was no whole number written in digits.
      .refine((value) => value.replace(/^0+/, '').length <= 15, range)
      // Coerced, not transformed: the OpenAPI document of a query drops the default of a transformed value.
      .pipe(z.coerce.number<string>().min(min, range).max(max, range))
      .meta({ type: 'integer', minimum: min, maximum: max })
  );
};

/**
 * anyCase is the pattern of a case-insensitive regular expression as the OpenAPI document shows it:
 * JSON Schema's patterns take no flags, so each letter is written as a class of both its cases
 * (the document's `^(true|false)$` refused the `$count=True` the server reads).
 */
export function anyCase(pattern: RegExp): string {
  return pattern.source.replace(/(?<!\\)[A-Za-z]/g, (letter) => `[${letter.toUpperCase()}${letter.toLowerCase()}]`);
}

const TRUE_OR_FALSE = /^(true|false)$/i;

/**
 * queryBoolean is a yes-or-no of the query string, `true` or `false` in any case, as .NET writes a
 * boolean (`True`) and as the query's other words (a severity, `$count`) are read: `unread=TRUE` was
 * a 400 where `severity=ERROR` and `$count=True` were taken.
 */
export const queryBoolean = z
  .string()
  .regex(TRUE_OR_FALSE, 'must be true or false')
  .meta({ pattern: anyCase(TRUE_OR_FALSE) })
  .transform((value) => value.toLowerCase() === 'true');

/**
 * instantText is an instant in an answer, as the API writes it (RFC 3339: toISOString(), or with a
 * zone's offset), documented as an OpenAPI date-time so that generated clients read a time, as
 * they do the alerts'. It checks only that it is text: a response schema that refused a stored
 * value would turn the whole answer into a 500 (openapi-answers.test.ts holds the real ones to
 * date-time).
 */
export const instantText = z.string().meta({ format: 'date-time' });

/**
 * queryInstant is isoInstant read from a query string, where an unencoded '+' arrives as a space:
 * curl '…?since=2026-03-01T09:00:00+01:00' sends the offset's '+' as is, and the query string
 * decodes it as ' 01:00'. A space followed by the offset's HH:MM at the end is read as that '+'.
 */
export const queryInstant = z.preprocess(
  (value) => (typeof value === 'string' ? value.replace(/([Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$/, '$1+$2') : value),
  isoInstant,
);

/**
 * acceptingAnswerFields lets a PATCH body carry the read-only fields of its resource's answer, and
 * drops them: a client may send back what it read, changed (as the mail settings' `passwordSet` and
 * the preferences' `own`), while a field neither settable nor answered is still refused.
 */
export function acceptingAnswerFields<S extends z.ZodObject>(schema: S, readOnly: readonly string[]) {
  const ignored = Object.fromEntries(readOnly.map((name) => [name, z.unknown().optional()]));
  return schema.extend(ignored).transform((body) => {
    const kept: Record<string, unknown> = { ...body };
    for (const name of readOnly) delete kept[name];
    return kept as z.output<S>;
  });
}

/**
 * noBody is the body schema of a route that takes none (…/acknowledge, rotate-secret, every DELETE): no
 * body, `{}` or `null` is taken, and a field is refused by name ("is not a known field") as every
 * other route refuses one, where it was ignored and a script's `{"note": …}` seemed to be kept.
 */
export const noBody = z.strictObject({}).nullish();
