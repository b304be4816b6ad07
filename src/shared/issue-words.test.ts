import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sayIssuesInWords } from './validation.js';

sayIssuesInWords();

/** messagesOf is what a schema says of a value it refuses, once per issue. */
function messagesOf(schema: z.ZodType, value: unknown): string[] {
  return schema.safeParse(value).error?.issues.map((issue) => issue.message) ?? [];
}

describe('issueInWords', () => {
  it('says every way a number can miss its field as the numbers the field takes, where zod said "expected int" or "<=9007199254740991"', () => {
    // PATCH /tenants/{tenant} {retentionDays: 1e308} said 'Too big: expected int to be <=9007199254740991' beside '<=3650',
    // and 1.5 'Invalid input: expected int, received number'.
    const days = z.object({ retentionDays: z.number().int().min(1).max(3650).nullish() });
    for (const value of [1e308, 1.5, -0, 0, 3651, -1e308]) {
      expect(new Set(messagesOf(days, { retentionDays: value })), String(value)).toEqual(new Set(['must be a whole number from 1 to 3,650']));
    }
    expect(messagesOf(days, { retentionDays: '30' })).toEqual(['must be a whole number from 1 to 3,650, written without quotes']);
    expect(messagesOf(z.number().int().positive(), 0)).toEqual(['must be a whole number greater than 0']);
    expect(messagesOf(z.number().min(0.5), 0)).toEqual(['must be a number of at least 0.5']);
    expect(messagesOf(z.number().int(), 1e300)).toEqual(['must be a whole number']);
  });

  it('says a value of another type as the type it must be and what was sent', () => {
    expect(messagesOf(z.boolean(), 'true')).toEqual(['must be true or false, not a string']);
    expect(messagesOf(z.string(), null)).toEqual(['must be a string, not null']);
    expect(messagesOf(z.array(z.string()), 'Administrator')).toEqual(['must be a list (a JSON array), not a string']);
    expect(messagesOf(z.object({}), [])).toEqual(['must be a JSON object, not a list']);
    expect(messagesOf(z.object({ name: z.string() }), {})).toEqual(['is required']);
  });

  it('says a text or a list out of its bounds as its bounds', () => {
    expect(messagesOf(z.string().min(1), '')).toEqual(['must not be empty']);
    expect(messagesOf(z.string().min(3), 'ab')).toEqual(['must be at least 3 characters']);
    expect(messagesOf(z.string().max(200), 'a'.repeat(201))).toEqual(['must be at most 200 characters']);
    expect(messagesOf(z.array(z.string()).min(1), [])).toEqual(['must not be empty']);
    expect(messagesOf(z.array(z.string()).max(2), ['a', 'b', 'c'])).toEqual(['must have at most 2 items']);
  });
});
