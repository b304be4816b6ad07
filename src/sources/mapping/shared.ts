import crypto from 'node:crypto';
import { findComponent, findEvent } from '../../alerts/catalogue.js';
import { type AlertInput, MAX_DATA_BYTES, MAX_MESSAGE_LENGTH } from '../../alerts/input.js';
import type { Severity } from '../../alerts/severity.js';
import type { FieldError } from '../../http/problem.js';
import type { EventOverride } from '../model.js';
import { isWrittenAsIso } from '../../shared/validation.js';

/** MAX_PAYLOAD_BYTES bounds the sender's payload kept in an alert's `data`, leaving room for the rest. */
const MAX_PAYLOAD_BYTES = 12 * 1024;

/** MappedAlerts is what a sender's event becomes: the alerts to store and the keys that make it once-only. */
export interface MappedAlerts {
  readonly alerts: AlertInput[];
  /**
   * Delivery keys (an event id, a content key): if any was received before, the delivery is a
   * redelivery or a copy and is answered with the earlier ids.
   */
  readonly deliveryKeys: string[];
  /**
   * Keys of the alerts one by one, in the order of `alerts` (senders that repeat alerts inside
   * new deliveries: Alertmanager re-sends a group's firing alerts whenever the group changes): an
   * alert whose key was received before answers its earlier id and is not stored again.
   */
  readonly alertKeys?: readonly string[];
  /** Events acknowledged without an alert (not alert-worthy by the mapping). */
  readonly ignored: number;
}

/** MappingFailure names what is malformed in an authenticated sender's body: the fields, and them in one line. */
export interface MappingFailure {
  readonly invalid: string;
  /** The fields for the 400's `errors` (API.md: a 400 names the field). */
  readonly errors: readonly FieldError[];
}

/** mappingFailure is the failure naming these fields (at least one). */
export function mappingFailure(errors: readonly FieldError[]): MappingFailure {
  return { invalid: errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors };
}

/**
 * cut keeps the first `max` UTF-16 units of a text (within the alert's bounds, which count
 * characters as a reader does, so never over them), one fewer when the last would be the first half
 * of a character outside the BMP (an emoji 🚨, many CJK ideographs): half a character is stored as
 * U+FFFD and shown as "�".
 */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/** clip shortens text to `max` characters, marking the cut. */
export function clip(text: string, max = MAX_MESSAGE_LENGTH): string {
  return text.length <= max ? text : `${cut(text, max - 1)}…`;
}

/** firstLine is the first non-empty line of a multi-line text (an exception's message, not its stack). */
export function firstLine(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l.length > 0);
}

// Latin letters that NFKD does not split into a base letter and an accent, as they are spelt in ASCII.
const LATIN_SPELLING: Readonly<Record<string, string>> = {
  Ø: 'O',
  ø: 'o',
  Ł: 'L',
  ł: 'l',
  Đ: 'D',
  đ: 'd',
  Ð: 'D',
  ð: 'd',
  Ħ: 'H',
  ħ: 'h',
  ı: 'i',
  Æ: 'AE',
  æ: 'ae',
  Œ: 'OE',
  œ: 'oe',
  ß: 'ss',
  Þ: 'Th',
  þ: 'th',
};
const UNSPLIT_LATIN = new RegExp(`[${Object.keys(LATIN_SPELLING).join('')}]`, 'g');

/**
 * eventName makes any text a valid alert event name (letters, digits, `._:-`, at most 128): an
 * accented letter loses its accent (`Échec` → `Echec`, not `chec`), a letter without one to lose
 * takes its ASCII spelling (`Øst` → `Ost`, `Straße` → `Strasse`), every other character outside
 * those, an emoji included, becomes one `_`.
 */
export function eventName(text: string, fallback: string): string {
  const cleaned = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(UNSPLIT_LATIN, (letter) => LATIN_SPELLING[letter]!)
    .replace(/[^A-Za-z0-9_.:-]/gu, '_')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 128);
  return cleaned || fallback;
}

/** str reads a value as a short non-empty string (numbers too), else undefined. */
export function str(value: unknown, max = 512): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed ? cut(trimmed, max) : undefined;
}

/** obj reads a value as a plain object, else an empty one. */
export function obj(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * The JSON of each `data` that fits measured, by the object: a mapped alert's data is then
 * serialised once, not again when it is normalised (measuredJson). A mapping builds each data
 * object afresh and changes none it measured; nothing else holds them.
 */
const measured = new WeakMap<object, string>();

/** fits tells whether an object is within an alert's `data` bound. */
export function fits(value: Record<string, unknown>): boolean {
  const json = JSON.stringify(value);
  if (Buffer.byteLength(json) > MAX_DATA_BYTES) return false;
  measured.set(value, json);
  return true;
}

/** measuredJson is the JSON of a mapped alert's `data` that fits measured, if it did (normaliseAlert's `dataJson`). */
export function measuredJson(data: unknown): string | undefined {
  return typeof data === 'object' && data !== null ? measured.get(data) : undefined;
}

/**
 * withPayload returns `data` plus the sender's payload, or the first MAX_PAYLOAD_BYTES of its text
 * when it is larger (stacks and SpecificContent can be large), always within the alert's data bound.
 */
export function withPayload(data: Record<string, unknown>, payload: unknown, rawText: string): Record<string, unknown> {
  if (Buffer.byteLength(rawText) <= MAX_PAYLOAD_BYTES) {
    const whole = { ...data, payload };
    if (fits(whole)) return whole;
  }
  for (const bytes of [MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES / 8]) {
    const cut = { ...data, payloadTruncated: Buffer.from(rawText).subarray(0, bytes).toString('utf8') };
    if (fits(cut)) return cut;
  }
  return data;
}

const ZONE = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;
const TIME_OF_DAY = /\d[T ]\d{2}:\d{2}/;

const CALENDAR_DATE = /^(\d{4})-(\d{2})-(\d{2})/;

/** dayExists is whether a text's leading date names a day its month has: Date.parse rolls 2026-02-30 over into 2 March. */
function dayExists(text: string): boolean {
  const date = CALENDAR_DATE.exec(text);
  if (!date) return true;
  // Day 0 of the next month is this month's last day (setUTCFullYear: Date.UTC reads years 0–99 as 1900–1999).
  const last = new Date(0);
  last.setUTCFullYear(Number(date[1]), Number(date[2]), 0);
  return Number(date[3]) <= last.getUTCDate();
}

/**
 * instantOf reads a sender's ISO-8601 time as epoch ms. A date-time without a zone designator is
 * UTC: Orchestrator documents its times as UTC and a .NET DateTime may be written without `Z`,
 * which JavaScript would read in the server's own time zone. Unreadable text, Go's zero time
 * (`0001-01-01T00:00:00Z`, Alertmanager's "not ended"), and a time beyond the year 9999 (written
 * `+010000-…`, which no ISO-8601 reader of the API takes back) and a day its month has not give undefined.
 */
export function instantOf(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(TIME_OF_DAY.test(text) && !ZONE.test(text) ? `${text}Z` : text);
  return Number.isNaN(ms) || ms <= 0 || !isWrittenAsIso(ms) || !dayExists(text) ? undefined : ms;
}

/** Resolved is how one event type comes out after the source's overrides. */
export interface Resolved {
  component: string;
  severity: Severity;
  alert: boolean;
}

/**
 * applyOverride applies the source's mapping entries for a sender type and a Tocsin event name
 * (the event's entry wins): severity, component (when in the catalogue) and whether to alert.
 */
export function applyOverride(base: Resolved, overrides: Readonly<Record<string, EventOverride>>, ...keys: string[]): Resolved {
  const out = { ...base };
  for (const key of keys) {
    // A Tocsin event is keyed by its catalogue name (overridesByName), whatever the case the sender wrote it in.
    const name = Object.hasOwn(overrides, key) ? key : findEvent(key)?.name;
    const entry = name !== undefined && Object.hasOwn(overrides, name) ? overrides[name] : undefined;
    if (!entry) continue;
    if (entry.severity) out.severity = entry.severity;
    if (entry.component && findComponent(entry.component)) out.component = entry.component;
    if (entry.alert !== undefined) out.alert = entry.alert;
  }
  return out;
}

/**
 * deliveryKey names a delivery by a sender's id: as given when short, else by its SHA-256, since
 * a key is indexed (PostgreSQL refuses index entries of a few kilobytes) and ids are the sender's.
 */
export function deliveryKey(prefix: string, id: string): string {
  return id.length <= 200 ? `${prefix}:${id}` : `${prefix}#sha256:${crypto.createHash('sha256').update(id).digest('base64url')}`;
}
