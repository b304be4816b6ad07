/**
 * A parser for the `$filter` subset that Orchestrator's alert scripts use: comparisons
 * (`eq ne gt ge lt le`, and `in` a list) of a property with a literal, joined by `and`/`or`, negated by `not`,
 * grouped by parentheses. Literals are 'strings' (with '' for a quote), numbers, `null`,
 * unquoted ISO date-times and dates (midnight UTC), unquoted Guids (OData 4's Edm.Guid, read as strings), and enum literals such as
 * `UiPath.Core.Enums.NotificationSeverity'Error'`.
 */

/** ComparisonOperator is one of OData's comparison operators that the subset supports. */
export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

/** FilterLiteral is a literal value of a comparison. */
export type FilterLiteral =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'datetime'; readonly value: number; readonly text: string }
  | { readonly kind: 'null' };

/** FilterNode is a parsed `$filter` expression. */
export type FilterNode =
  | { readonly kind: 'and' | 'or'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly kind: 'not'; readonly operand: FilterNode }
  | { readonly kind: 'compare'; readonly property: string; readonly op: ComparisonOperator; readonly value: FilterLiteral };

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
export const MAX_FILTER_COMPARISONS = 100;

/** MAX_FILTER_DEPTH bounds nesting, so that no input can exhaust the parser's stack. */
export const MAX_FILTER_DEPTH = 32;

const OPERATORS = new Set<string>(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;
// An OData Edm.Date literal, compared with a date-time as that day's midnight UTC.
const DATE = /^\d{4}-\d{2}-\d{2}$/;
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
      const word = match[0];
      if (input[i + word.length] === "'") {
        const [value, end] = readString(i + word.length);
        tokens.push({ kind: 'enum', text: value, offset: i });
        i = end;
      } else {
        tokens.push({ kind: 'word', text: word, offset: i });
        i += word.length;
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
      if (DATETIME.test(t.text) && !Number.isNaN(Date.parse(t.text))) return { kind: 'datetime', value: Date.parse(t.text), text: t.text };
      if (DATE.test(t.text) && !Number.isNaN(Date.parse(`${t.text}T00:00:00Z`))) {
        return { kind: 'datetime', value: Date.parse(`${t.text}T00:00:00Z`), text: t.text };
      }
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
    pos += 1;
    const op = peek();
    const counted = (): void => {
      comparisons += 1;
      if (comparisons > MAX_FILTER_COMPARISONS) throw new FilterSyntaxError(`at most ${MAX_FILTER_COMPARISONS} comparisons`, t.offset);
    };
    if (isWord(op, 'in')) {
      pos += 1;
      return inList(t.text, counted);
    }
    if (op?.kind !== 'word' || !OPERATORS.has(op.text.toLowerCase())) {
      throw new FilterSyntaxError(`expected one of eq, ne, gt, ge, lt, le or in after ${t.text}`, op?.offset ?? end());
    }
    pos += 1;
    counted();
    return { kind: 'compare', property: t.text, op: op.text.toLowerCase() as ComparisonOperator, value: literal() };
  };

  // OData 4.01's `Severity in ('Error','Fatal')`: each value a comparison with eq, joined by or.
  const inList = (property: string, counted: () => void): FilterNode => {
    if (peek()?.kind !== 'open') throw new FilterSyntaxError('expected "(" after in', peek()?.offset ?? end());
    pos += 1;
    let node: FilterNode | undefined;
    for (;;) {
      counted();
      const compare: FilterNode = { kind: 'compare', property, op: 'eq', value: literal() };
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
