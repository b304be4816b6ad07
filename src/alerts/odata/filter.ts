/**
 * A parser for the `$filter` subset that Orchestrator's alert scripts use: comparisons
 * (`eq ne gt ge lt le`, and `in` a list) of a property (or its `tolower`/`toupper`) with a literal,
 * OData's string functions `contains`, `startswith` and `endswith` of a property and a 'string'
 * (alone or compared with true or false), joined by `and`/`or`, negated by `not`, grouped by
 * parentheses. Literals are 'strings' (with '' for a quote), numbers, `null`, unquoted ISO date-times and dates (midnight UTC), unquoted Guids (OData 4's Edm.Guid, read as strings), and enum literals such as
 * `UiPath.Core.Enums.NotificationSeverity'Error'`.
 */
import { DateTime } from 'luxon';

/** ComparisonOperator is one of OData's comparison operators that the subset supports. */
export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

/** FilterLiteral is a literal value of a comparison. */
export type FilterLiteral =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'datetime'; readonly value: number; readonly text: string }
  | { readonly kind: 'null' };

/** CaseFold is OData's `tolower` or `toupper` around a property. */
export type CaseFold = 'tolower' | 'toupper';

/** StringFunction is one of OData's string functions that answer true or false. */
export type StringFunction = 'contains' | 'startswith' | 'endswith';

/** FilterNode is a parsed `$filter` expression; `fold` is set when the property is inside tolower or toupper. */
export type FilterNode =
  | { readonly kind: 'and' | 'or'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly kind: 'not'; readonly operand: FilterNode }
  | {
      readonly kind: 'compare';
      readonly property: string;
      readonly op: ComparisonOperator;
      readonly value: FilterLiteral;
      readonly fold?: CaseFold;
    }
  | { readonly kind: 'function'; readonly name: StringFunction; readonly property: string; readonly value: string; readonly fold?: CaseFold };

/** applyFold is a text as OData's tolower or toupper gives it (unchanged without one). */
export function applyFold(text: string, fold: CaseFold | undefined): string {
  return fold === 'tolower' ? text.toLowerCase() : fold === 'toupper' ? text.toUpperCase() : text;
}

/** matchesFunction is whether OData's contains, startswith or endswith holds of `text` and `value`. */
export function matchesFunction(name: StringFunction, text: string, value: string): boolean {
  return name === 'contains' ? text.includes(value) : name === 'startswith' ? text.startsWith(value) : text.endsWith(value);
}

/** FilterSyntaxError says what is wrong with a `$filter` and where (0-based character offset). */
export class FilterSyntaxError extends Error {
  override readonly name = 'FilterSyntaxError';

  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at character ${offset + 1})`);
  }
}

/** MAX_FILTER_COMPARISONS bounds a `$filter`, as Orchestrator does (100 expressions). */
const MAX_FILTER_COMPARISONS = 100;

/** MAX_FILTER_DEPTH bounds nesting, so that no input can exhaust the parser's stack. */
const MAX_FILTER_DEPTH = 32;

const OPERATORS = new Set<string>(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const FOLDS = new Set<string>(['tolower', 'toupper']);
const STRING_FUNCTIONS = new Set<string>(['contains', 'startswith', 'endswith']);
// Hours 00–23 and minutes 00–59, in the time and in its offset, as GET /alerts' since reads them:
// Luxon takes +99:00 (99 hours ahead) and 24:00 (the next midnight), instants nobody wrote.
const DATETIME = /^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d(:\d{2}(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/i;
// OData 3's datetime'…' literal carries no offset; Orchestrator's times are UTC.
const ZONELESS_DATETIME = /^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d(:\d{2}(\.\d{1,9})?)?$/i;
// An OData Edm.Date literal, compared with a date-time as that day's midnight UTC.
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * instantOf is the instant that a date-time with an offset or a date (its midnight UTC) names, or,
 * with `zoneless`, also a date-time without an offset (read as UTC); undefined for any other text,
 * a day the calendar lacks included.
 */
export function instantOf(text: string, zoneless = false): number | undefined {
  const iso = DATETIME.test(text) ? text : DATE.test(text) ? `${text}T00:00:00Z` : zoneless && ZONELESS_DATETIME.test(text) ? `${text}Z` : undefined;
  if (iso === undefined) return undefined;
  // Luxon, not Date.parse, which rolls a day the month lacks over (2026-02-30 is March 2).
  const at = DateTime.fromISO(iso, { setZone: true });
  return at.isValid ? at.toMillis() : undefined;
}

// OData 4 writes an Edm.Guid (AlertDto's Id) unquoted, so generated clients send `Id eq 01a2…`.
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Token {
  readonly kind: 'word' | 'string' | 'enum' | 'open' | 'close' | 'comma';
  readonly text: string;
  readonly offset: number;
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const readString = (start: number): [string, number] => {
    let value = '';
    let j = start + 1;
    for (;;) {
      if (j >= input.length) throw new FilterSyntaxError('unterminated string literal', start);
      if (input[j] === "'") {
        if (input[j + 1] === "'") {
          value += "'";
          j += 2;
          continue;
        }
        return [value, j + 1];
      }
      value += input[j];
      j += 1;
    }
  };
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c === '(' ? 'open' : c === ')' ? 'close' : 'comma', text: c, offset: i });
      i += 1;
    } else if (c === "'") {
      const [value, end] = readString(i);
      tokens.push({ kind: 'string', text: value, offset: i });
      i = end;
    } else {
      const match = /^[A-Za-z0-9_.:+-]+/.exec(input.slice(i));
      if (!match) throw new FilterSyntaxError(`unexpected character "${c}"`, i);
      let word = match[0];
      let length = word.length;
      // An offset's '+' sent unencoded arrives as a space (as for GET /alerts' since, see queryInstant): ' 01:00' after a time without one is its offset.
      const offset = ZONELESS_DATETIME.test(word) ? /^ (\d{2}:\d{2})(?![\w.:+-])/.exec(input.slice(i + length)) : null;
      if (offset) {
        word = `${word}+${offset[1]}`;
        length += offset[0].length;
      }
      if (input[i + length] === "'") {
        const [value, end] = readString(i + length);
        tokens.push({ kind: 'enum', text: value, offset: i });
        i = end;
      } else {
        tokens.push({ kind: 'word', text: word, offset: i });
        i += length;
      }
    }
  }
  return tokens;
}

/** parseFilter parses a `$filter` value into a tree, or throws FilterSyntaxError. */
export function parseFilter(input: string): FilterNode {
  const tokens = tokenize(input);
  let pos = 0;
  let comparisons = 0;
  let depth = 0;
  const peek = () => tokens[pos];
  const isWord = (t: Token | undefined, word: string) => t?.kind === 'word' && t.text.toLowerCase() === word;
  const end = () => (tokens.length > 0 ? tokens[tokens.length - 1]!.offset + tokens[tokens.length - 1]!.text.length : 0);

  const literal = (): FilterLiteral => {
    const t = tokens[pos++];
    if (!t) throw new FilterSyntaxError('expected a value', end());
    if (t.kind === 'string' || t.kind === 'enum') return { kind: 'string', value: t.text };
    if (t.kind === 'word') {
      if (t.text.toLowerCase() === 'null') return { kind: 'null' };
      if (/^-?\d+(\.\d+)?$/.test(t.text)) return { kind: 'number', value: Number(t.text) };
      if (GUID.test(t.text)) return { kind: 'string', value: t.text };
      const at = instantOf(t.text);
      if (at !== undefined) return { kind: 'datetime', value: at, text: t.text };
    }
    throw new FilterSyntaxError(`expected a value such as 'Error' or 2024-01-31T00:00:00Z, got "${t.text}"`, t.offset);
  };

  const primary = (): FilterNode => {
    const t = peek();
    if (!t) throw new FilterSyntaxError('expected a comparison', end());
    if (t.kind === 'open' || isWord(t, 'not')) {
      depth += 1;
      if (depth > MAX_FILTER_DEPTH) throw new FilterSyntaxError(`nested more than ${MAX_FILTER_DEPTH} deep`, t.offset);
    }
    if (t.kind === 'open') {
      pos += 1;
      const inner = orExpression();
      depth -= 1;
      if (peek()?.kind !== 'close') throw new FilterSyntaxError('expected ")"', peek()?.offset ?? end());
      pos += 1;
      return inner;
    }
    if (isWord(t, 'not')) {
      pos += 1;
      const operand = primary();
      depth -= 1;
      return { kind: 'not', operand };
    }
    if (t.kind !== 'word') throw new FilterSyntaxError(`expected a property name, got "${t.text}"`, t.offset);
    const counted = (): void => {
      comparisons += 1;
      if (comparisons > MAX_FILTER_COMPARISONS) throw new FilterSyntaxError(`at most ${MAX_FILTER_COMPARISONS} comparisons`, t.offset);
    };
    if (tokens[pos + 1]?.kind === 'open' && STRING_FUNCTIONS.has(t.text.toLowerCase())) {
      counted();
      return stringFunction(t.text.toLowerCase() as StringFunction);
    }
    const { property, fold } = operand();
    const op = peek();
    if (isWord(op, 'in')) {
      pos += 1;
      return inList(property, fold, counted);
    }
    if (op?.kind !== 'word' || !OPERATORS.has(op.text.toLowerCase())) {
      throw new FilterSyntaxError(`expected one of eq, ne, gt, ge, lt, le or in after ${property}`, op?.offset ?? end());
    }
    pos += 1;
    counted();
    return { kind: 'compare', property, op: op.text.toLowerCase() as ComparisonOperator, value: literal(), ...(fold ? { fold } : {}) };
  };

  const expect = (kind: Token['kind'], what: string): void => {
    if (peek()?.kind !== kind) throw new FilterSyntaxError(`expected ${what}`, peek()?.offset ?? end());
    pos += 1;
  };

  // A property, or tolower(property) / toupper(property); another function is named as unsupported.
  const operand = (): { property: string; fold?: CaseFold } => {
    const t = tokens[pos];
    if (t?.kind !== 'word') throw new FilterSyntaxError(`expected a property name, got "${t?.text ?? ''}"`, t?.offset ?? end());
    pos += 1;
    if (peek()?.kind !== 'open') return { property: t.text };
    const name = t.text.toLowerCase();
    if (!FOLDS.has(name)) throw new FilterSyntaxError(`unsupported function ${t.text}; use contains, startswith, endswith, tolower or toupper`, t.offset);
    pos += 1;
    const property = tokens[pos];
    if (property?.kind !== 'word' || tokens[pos + 1]?.kind === 'open') {
      throw new FilterSyntaxError(`expected a property name in ${t.text}()`, property?.offset ?? end());
    }
    pos += 1;
    expect('close', `")" after ${t.text}(${property.text}`);
    return { property: property.text, fold: name as CaseFold };
  };

  // contains(Component,'Rob'), startswith(tolower(NotificationName),'robot.'): true or false, alone or
  // compared with true or false (`contains(…) eq false`).
  const stringFunction = (name: StringFunction): FilterNode => {
    const at = tokens[pos]!.offset;
    pos += 2;
    const { property, fold } = operand();
    expect('comma', `"," after the property of ${name}`);
    const value = literal();
    if (value.kind !== 'string') throw new FilterSyntaxError(`${name} needs a 'quoted string' as its second argument`, at);
    expect('close', `")" to end ${name}(…)`);
    const node: FilterNode = { kind: 'function', name, property, value: value.value, ...(fold ? { fold } : {}) };
    const op = peek();
    if (!isWord(op, 'eq') && !isWord(op, 'ne')) return node;
    pos += 1;
    const flag = tokens[pos++];
    if (!isWord(flag, 'true') && !isWord(flag, 'false'))
      throw new FilterSyntaxError(`${name}(…) can only be compared with true or false`, flag?.offset ?? end());
    return isWord(flag, 'true') === isWord(op, 'eq') ? node : { kind: 'not', operand: node };
  };

  // OData 4.01's `Severity in ('Error','Fatal')`: each value a comparison with eq, joined by or.
  const inList = (property: string, fold: CaseFold | undefined, counted: () => void): FilterNode => {
    if (peek()?.kind !== 'open') throw new FilterSyntaxError('expected "(" after in', peek()?.offset ?? end());
    pos += 1;
    let node: FilterNode | undefined;
    for (;;) {
      counted();
      const compare: FilterNode = { kind: 'compare', property, op: 'eq', value: literal(), ...(fold ? { fold } : {}) };
      node = node ? { kind: 'or', left: node, right: compare } : compare;
      const next = tokens[pos++];
      if (next?.kind === 'close') return node;
      if (next?.kind !== 'comma') throw new FilterSyntaxError('expected "," or ")" in the list of in', next?.offset ?? end());
    }
  };

  const andExpression = (): FilterNode => {
    let left = primary();
    while (isWord(peek(), 'and')) {
      pos += 1;
      left = { kind: 'and', left, right: primary() };
    }
    return left;
  };

  const orExpression = (): FilterNode => {
    let left = andExpression();
    while (isWord(peek(), 'or')) {
      pos += 1;
      left = { kind: 'or', left, right: andExpression() };
    }
    return left;
  };

  const tree = orExpression();
  const rest = peek();
  if (rest) throw new FilterSyntaxError(`unexpected "${rest.text}"; join comparisons with and/or`, rest.offset);
  return tree;
}
