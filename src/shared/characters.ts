import { z } from 'zod';
import { writtenNumber } from './issue-words.js';

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * UNITS_PER_CHARACTER bounds how many UTF-16 code units the characters of a text hold on average:
 * a family of joined emoji with skin tones holds 19, so 32 takes any real text, while a letter
 * under a hundred thousand combining accents (one character to a reader) is still refused.
 */
const UNITS_PER_CHARACTER = 32;

/**
 * fitsCharacters tells whether a text holds at most `max` characters as a reader counts them
 * (Unicode's grapheme clusters): an emoji, a flag, a family of joined emoji or a letter with its
 * combining accents is one character, where JavaScript's length counts 2 to 11 and zod's max
 * counts code points. A text of at most `max` code units needs no segmenting.
 */
export function fitsCharacters(text: string, max: number): boolean {
  if (text.length <= max) return true;
  if (text.length > max * UNITS_PER_CHARACTER) return false;
  let count = 0;
  for (const _ of graphemes.segment(text)) if (++count > max) return false;
  return true;
}

/**
 * textOfCharacters is a zod string of `min` to `max` characters as fitsCharacters counts them. The
 * OpenAPI document says maxLength `max`, which JSON Schema counts in code points: every text that
 * fits it is taken, and so is a longer one of at most `max` characters to a reader.
 */
export function textOfCharacters(min: number, max: number, tooShort?: { message: string; abort: boolean }) {
  return ofCharacters(z.string().min(min, tooShort), max);
}

/**
 * ofCharacters bounds a zod string (trimmed first, or not) to `max` characters as fitsCharacters
 * counts them, as textOfCharacters does; `meta` is the rest of its OpenAPI description (a pattern).
 * What looks up an alert by its text (a mute's match, a filter) takes all an alert may hold.
 */
export function ofCharacters(text: z.ZodString, max: number, meta: Record<string, unknown> = {}) {
  return text
    .max(max * UNITS_PER_CHARACTER, { message: `must be at most ${writtenNumber(max)} characters`, abort: true })
    .refine((value) => fitsCharacters(value, max), `must be at most ${writtenNumber(max)} characters`)
    .meta({ ...meta, maxLength: max });
}
