import { describe, expect, it } from 'vitest';
import { FilterSyntaxError, instantOf, parseFilter } from './filter.js';

describe('OData $filter subset', () => {
  it('gives and precedence over or, and honours parentheses and not', () => {
    expect(parseFilter("Severity eq 'Error' or Severity eq 'Fatal' and Component eq 'Robots'")).toEqual({
      kind: 'or',
      left: { kind: 'compare', property: 'Severity', op: 'eq', value: { kind: 'string', value: 'Error' } },
      right: {
        kind: 'and',
        left: { kind: 'compare', property: 'Severity', op: 'eq', value: { kind: 'string', value: 'Fatal' } },
        right: { kind: 'compare', property: 'Component', op: 'eq', value: { kind: 'string', value: 'Robots' } },
      },
    });
    expect(parseFilter("not (State EQ 'Read')")).toMatchObject({ kind: 'not', operand: { op: 'eq', property: 'State' } });
  });

  it('reads quoted quotes, enum literals, numbers, null and date-times', () => {
    expect(parseFilter("Component eq 'O''Brien'")).toMatchObject({ value: { kind: 'string', value: "O'Brien" } });
    expect(parseFilter("Severity ge UiPath.Core.Enums.NotificationSeverity'Warn'")).toMatchObject({ op: 'ge', value: { kind: 'string', value: 'Warn' } });
    expect(parseFilter('Severity gt 2')).toMatchObject({ value: { kind: 'number', value: 2 } });
    expect(parseFilter('Component ne null')).toMatchObject({ value: { kind: 'null' } });
    expect(parseFilter('CreationTime lt 2026-03-01T10:00:00.5+01:00')).toMatchObject({
      value: { kind: 'datetime', value: Date.parse('2026-03-01T09:00:00.5Z') },
    });
  });

  it("reads OData's in (a list of values) as comparisons with eq joined by or", () => {
    const eq = (value: string) => ({ kind: 'compare', property: 'Severity', op: 'eq', value: { kind: 'string', value } });
    expect(parseFilter("Severity in ('Error', 'Fatal','Warn')")).toEqual({
      kind: 'or',
      left: { kind: 'or', left: eq('Error'), right: eq('Fatal') },
      right: eq('Warn'),
    });
    expect(parseFilter("Component IN ('Robots') and not (Severity in ('Info'))")).toMatchObject({ kind: 'and', right: { kind: 'not', operand: eq('Info') } });
  });

  it("reads OData's string functions, alone or compared with true or false, and tolower/toupper around a property", () => {
    expect(parseFilter("contains(Component,'Rob')")).toEqual({ kind: 'function', name: 'contains', property: 'Component', value: 'Rob' });
    expect(parseFilter("StartsWith(tolower(NotificationName), 'robot.') eq false")).toEqual({
      kind: 'not',
      operand: { kind: 'function', name: 'startswith', property: 'NotificationName', value: 'robot.', fold: 'tolower' },
    });
    expect(parseFilter("toupper(Severity) in ('ERROR')")).toEqual({
      kind: 'compare',
      property: 'Severity',
      op: 'eq',
      value: { kind: 'string', value: 'ERROR' },
      fold: 'toupper',
    });
  });

  it('reads a date (an OData Edm.Date) as its midnight UTC', () => {
    expect(parseFilter('CreationTime ge 2026-03-01')).toMatchObject({ value: { kind: 'datetime', value: Date.parse('2026-03-01T00:00:00Z') } });
  });

  it("reads a date-time's offset whose '+' an unencoded query string turned into a space, as GET /alerts' since and until do", () => {
    // curl '…/odata/Alerts?$filter=CreationTime ge 2026-03-01T10:00:00+01:00' sends the '+' as is: it arrives as ' 01:00'.
    expect(parseFilter('CreationTime ge 2026-03-01T10:00:00 01:00')).toMatchObject({
      value: { kind: 'datetime', value: Date.parse('2026-03-01T09:00:00Z') },
    });
    expect(parseFilter("(CreationTime lt 2026-03-01T10:00 05:30) and Severity eq 'Error'")).toMatchObject({
      kind: 'and',
      left: { value: { kind: 'datetime', value: Date.parse('2026-03-01T04:30:00Z') } },
    });
    // A '-' offset is never decoded, and a time with an offset of its own takes no second one.
    expect(() => parseFilter('CreationTime ge 2026-03-01T10:00:00Z 01:00')).toThrow(FilterSyntaxError);
  });

  it('refuses a date or date-time that is not on the calendar, which Date.parse rolls over (2026-02-30 read as March 2)', () => {
    for (const input of ['CreationTime gt 2026-02-30T00:00:00Z', 'CreationTime ge 2026-04-31', 'CreationTime lt 2027-02-29T10:00:00+01:00']) {
      expect(() => parseFilter(input), input).toThrow(FilterSyntaxError);
    }
    expect(parseFilter('CreationTime ge 2028-02-29')).toMatchObject({ value: { kind: 'datetime', value: Date.parse('2028-02-29T00:00:00Z') } });
  });

  it("refuses an offset or a time of day no clock has (+99:00, +14:60, 24:00), as GET /alerts' since does, rather than reading another instant", () => {
    // Luxon read +99:00 as 99 hours ahead and 24:00 as the next midnight: a filter answered alerts for a time nobody wrote.
    for (const input of ['CreationTime gt 2026-03-01T00:00:00+99:00', 'CreationTime gt 2026-03-01T00:00:00+14:60', 'CreationTime gt 2026-03-01T24:00:00Z']) {
      expect(() => parseFilter(input), input).toThrow(FilterSyntaxError);
    }
    expect(instantOf('2026-03-01T00:00:00+99:00')).toBeUndefined();
    // A quoted one (CreationTime gt '…') is read by instantOf with zoneless set.
    expect(instantOf('2026-03-01T24:00:00', true)).toBeUndefined();
    expect(instantOf('2026-03-01T23:59:59-12:00')).toBe(Date.parse('2026-03-02T11:59:59Z'));
  });

  it('says where a filter goes wrong', () => {
    const error = (input: string) => {
      try {
        parseFilter(input);
      } catch (err) {
        expect(err).toBeInstanceOf(FilterSyntaxError);
        return (err as Error).message;
      }
      throw new Error(`parsed: ${input}`);
    };
    expect(error("Severity eq 'Error")).toMatch(/unterminated string literal \(at character 13\)/);
    expect(error('Severity has 1')).toMatch(/expected one of eq, ne, gt, ge, lt, le or in after Severity/);
    expect(error('year(CreationTime) eq 2026')).toMatch(/unsupported function year; use contains, startswith, endswith, tolower or toupper/);
    expect(error("contains(Component 'x')")).toMatch(/expected "," after the property of contains/);
    expect(error("tolower(tolower(Component)) eq 'x'")).toMatch(/expected a property name in tolower\(\)/);
    expect(error("startswith(Component,'x') eq 'yes'")).toMatch(/can only be compared with true or false/);
    expect(error('Severity in ()')).toMatch(/expected a value/);
    expect(error("Severity in ('Error' 'Fatal')")).toMatch(/expected "," or "\)"/);
    expect(error("Severity in 'Error'")).toMatch(/expected "\(" after in/);
    expect(error("Severity eq 'Error' Component eq 'Jobs'")).toMatch(/join comparisons with and\/or/);
    expect(error('(Severity eq 1')).toMatch(/expected "\)"/);
    expect(error('Severity eq yesterday')).toMatch(/expected a value/);
    expect(error('')).toMatch(/expected a comparison/);
    expect(error('('.repeat(40))).toMatch(/nested more than 32 deep/);
    expect(error(Array.from({ length: 101 }, () => 'Severity eq 1').join(' or '))).toMatch(/at most 100 comparisons/);
  });
});
