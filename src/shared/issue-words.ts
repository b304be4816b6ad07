/**
 * The words of a refused field, as a user reads them: what zod says itself ("Too big: expected int
 * to be <=9007199254740991", "Invalid input: expected int, received number") names its own types and
 * bounds, not what the field takes. issueInWords says that instead, and the same way for every way a
 * value can miss it, so that one field refused twice for one value (1e308 is past the whole numbers'
 * safe range and the field's own maximum) says one thing once.
 */

import { inWords } from './in-words.js';

/** ZodIssueLike is what issueInWords reads of one of zod's raw issues (customError's argument). */
export interface ZodIssueLike {
  readonly code?: string;
  readonly input?: unknown;
  readonly expected?: string;
  readonly origin?: string;
  readonly minimum?: unknown;
  readonly maximum?: unknown;
  readonly inclusive?: boolean;
  readonly exact?: boolean;
  readonly values?: readonly unknown[];
  /** The schema that refused the value (a number's checks say its range). */
  readonly inst?: unknown;
  readonly schema?: unknown;
}

/** What a field of each of zod's types must be, in words; a type not here keeps zod's own. */
const EXPECTED: Record<string, string> = {
  string: 'a string',
  boolean: 'true or false',
  array: 'a list (a JSON array)',
  object: 'a JSON object',
  record: 'a JSON object',
};

/**
 * issueInWords is one issue in the API's words, or undefined for zod's own: a value outside a list
 * as the list ("must be en, fr, de, es or ja"), a required field left out as "is required", a number
 * of any kind as the numbers its field takes ("must be a whole number from 1 to 3,650", whether it was
 * 1.5, 1e308, -0 or "30"), a value of another type as the type it must be, and a text or list out of
 * its bounds as those bounds.
 */
export function issueInWords(issue: ZodIssueLike): string | undefined {
  if (issue.code === 'invalid_value' && issue.values) return `must be ${inWords(issue.values)}`;
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'is required';
  if (isAboutNumber(issue)) return numberInWords(issue.schema ?? issue.inst, issue.input);
  if (issue.code === 'invalid_type') {
    const expected = EXPECTED[issue.expected ?? ''];
    return expected && `must be ${expected}, not ${valueKind(issue.input)}`;
  }
  if ((issue.code === 'too_big' || issue.code === 'too_small') && (issue.origin === 'string' || issue.origin === 'array')) {
    return sizeInWords(issue);
  }
  return undefined;
}

/** isAboutNumber tells whether an issue is a number's: of a number's type, range or step. */
function isAboutNumber(issue: ZodIssueLike): boolean {
  if (issue.code === 'invalid_type') return issue.expected === 'number' || issue.expected === 'int';
  if (issue.code === 'too_big' || issue.code === 'too_small') return issue.origin === 'number' || issue.origin === 'int';
  return issue.code === 'not_multiple_of' && typeof issue.input === 'number';
}

interface NumberRange {
  whole: boolean;
  low?: { value: number; inclusive: boolean };
  high?: { value: number; inclusive: boolean };
}

/**
 * numberRange reads a zod number's checks: whether it takes only whole numbers (a format: int,
 * safeint, int32…) and its bounds. A schema it cannot read is any number.
 */
function numberRange(schema: unknown): NumberRange {
  const range: NumberRange = { whole: false };
  const checks = (schema as { _zod?: { def?: { checks?: unknown[] } } } | undefined)?._zod?.def?.checks ?? [];
  for (const check of checks) {
    const def = (check as { _zod?: { def?: { check?: string; value?: unknown; inclusive?: boolean; format?: string } } })._zod?.def;
    if (def?.check === 'number_format') range.whole = true;
    if (typeof def?.value !== 'number') continue;
    const bound = { value: def.value, inclusive: def.inclusive !== false };
    if (def.check === 'greater_than' && (!range.low || bound.value >= range.low.value)) range.low = bound;
    if (def.check === 'less_than' && (!range.high || bound.value <= range.high.value)) range.high = bound;
  }
  return range;
}

/** numberInWords says which numbers a schema takes, and that text is no number when text was sent ("30" for 30). */
function numberInWords(schema: unknown, input: unknown): string {
  const { whole, low, high } = numberRange(schema);
  const kind = whole ? 'a whole number' : 'a number';
  const sent = typeof input === 'string' ? ', written without quotes' : '';
  let bounds = '';
  if (low?.inclusive && high?.inclusive) bounds = ` from ${writtenNumber(low.value)} to ${writtenNumber(high.value)}`;
  else {
    const parts = [
      low && (low.inclusive ? `at least ${writtenNumber(low.value)}` : `greater than ${writtenNumber(low.value)}`),
      high && (high.inclusive ? `at most ${writtenNumber(high.value)}` : `less than ${writtenNumber(high.value)}`),
    ].filter(Boolean);
    if (parts.length > 0) bounds = ` ${low?.inclusive || (!low && high?.inclusive) ? 'of ' : ''}${parts.join(' and ')}`;
  }
  return `must be ${kind}${bounds}${sent}`;
}

/** sizeInWords says the bounds of a text's length or a list's size. */
function sizeInWords(issue: ZodIssueLike): string | undefined {
  const bound = issue.code === 'too_big' ? issue.maximum : issue.minimum;
  if (typeof bound !== 'number' && typeof bound !== 'bigint') return undefined;
  const unit = issue.origin === 'string' ? (Number(bound) === 1 ? 'character' : 'characters') : Number(bound) === 1 ? 'item' : 'items';
  if (issue.code === 'too_small' && Number(bound) === 1 && issue.exact !== true) return 'must not be empty';
  const verb = issue.origin === 'string' ? 'be' : 'have';
  if (issue.exact) return `must ${verb} exactly ${writtenNumber(bound)} ${unit}`;
  const side = issue.code === 'too_big' ? (issue.inclusive === false ? 'fewer than' : 'at most') : issue.inclusive === false ? 'more than' : 'at least';
  return `must ${verb} ${side} ${writtenNumber(bound)} ${unit}`;
}

/**
 * atMostEntries says an object's bound on its keys as the schema's own bounds read ("must have at
 * most 1,000 items"): the bounded maps (subscriptions, a mapping's events) said "at most 500 entries",
 * unlike every other field's message.
 */
export function atMostEntries(max: number): string {
  return `must have at most ${writtenNumber(max)} entries`;
}

/**
 * writtenNumber is a bound as the API's own messages write a number, with its thousands grouped ("at most
 * 1,000 alerts", "16,384 bytes", "1,000 to 600,000 milliseconds"): zod's bounds came out as raw digits,
 * "must have at most 1000 items" beside API.md's "at most 1,000", "from 1 to 86400" for a day of seconds.
 */
export function writtenNumber(value: number | bigint): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 20 });
}

/** valueKind says what kind of JSON value was sent instead. */
function valueKind(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  switch (typeof input) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return input ? 'true' : 'false';
    case 'object':
      return 'an object';
    default:
      return typeof input;
  }
}
