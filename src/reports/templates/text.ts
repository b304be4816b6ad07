import { withoutBidiControls } from '../../shared/bidi.js';
import { printable } from '../../shared/printable.js';

// Characters as people see them (grapheme clusters): an emoji sequence, a flag, a letter and its combining marks.
const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * clip shortens text to at most `max` characters (code points), ending in "…", cut between two
 * characters as people see them: cut inside one, a family emoji read as a man, the French flag as a
 * boxed F, a decomposed é as e, and a decomposed が as か. One such character longer than the room
 * (hundreds of combining marks) is cut between code points, rather than shown as nothing.
 */
export function clip(value: string, max: number): string {
  // No more UTF-16 units than `max` is no more characters either: most fields, without splitting them.
  if (value.length <= max) return value;
  const chars = Array.from(value);
  if (chars.length <= max) return value;
  let kept = 0;
  let end = 0;
  for (const { segment, index } of GRAPHEMES.segment(value)) {
    const size = segment.length === 1 ? 1 : Array.from(segment).length;
    if (kept + size > max - 1) break;
    kept += size;
    end = index + segment.length;
  }
  const cut = end > 0 ? value.slice(0, end) : chars.slice(0, max - 1).join('');
  return `${cut.trimEnd()}…`;
}

// A display name of blanks, controls and format characters alone (bidirectional controls, zero-width spaces) shows nothing.
const SHOWS_NOTHING = /^[\s\p{Cc}\p{Cf}]*$/u;

/**
 * tenantShownName is a tenant's display name as an email names it: without bidirectional controls,
 * which would turn the rest of its line backwards, and the tenant's name instead when it would
 * show nothing (the API takes '\u202e\u202c', which made subjects such as ': test email from Tocsin').
 */
export function tenantShownName(name: string, displayName: string): string {
  const shown = withoutBidiControls(displayName);
  return SHOWS_NOTHING.test(shown) ? name : shown;
}

/** shownTenant is a tenant as an email's sentences name it ("…the alerts of {tenant}."): its displayName is tenantShownName's. */
export function shownTenant<T extends { readonly name: string; readonly displayName: string }>(tenant: T): T {
  return { ...tenant, displayName: tenantShownName(tenant.name, tenant.displayName) };
}

// Whitespace that may break a line: \s but the no-break spaces (U+00A0, U+2007 figure, U+202F narrow,
// which French writes in « 12 h 05 », « 1 200 » and before « : »), and NEL (U+0085), which \s leaves out.
const BREAKING_SPACES = /(?:[^\S\u00a0\u2007\u202f]|\u0085)+/g;

/**
 * oneLine folds every run of whitespace that may break a line, line breaks included, into one
 * space, without bidirectional or other controls (printable). No-break spaces stay: folded, they
 * let a mail program break a line inside « 12 h 05 » or before a French colon.
 */
export function oneLine(value: string): string {
  return printable(withoutBidiControls(value).replace(BREAKING_SPACES, ' ').trim());
}

/** FIELD_MAX is the longest a one-line field (a name, an event, a folder) is shown, in characters. */
const FIELD_MAX = 200;

/** field is a name or label as an email shows it: on one line and at most `max` characters. */
export function field(value: string, max = FIELD_MAX): string {
  return clip(oneLine(value), max);
}

// East Asian wide and fullwidth characters (CJK, kana, hangul, fullwidth forms): two columns each.
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]/u;

/** columns is how many columns a fixed-width font gives text: two for a wide East Asian character, one for any other. */
export function columns(value: string): number {
  let width = 0;
  for (const c of value) width += WIDE.test(c) ? 2 : 1;
  return width;
}
