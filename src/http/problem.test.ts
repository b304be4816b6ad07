import { describe, expect, it } from 'vitest';
import { toProblem } from './app.js';
import { tooManyRequests } from './problem.js';

describe('tooManyRequests', () => {
  it('asks for whole seconds in Retry-After, rounded up and never 0: a client told 0 would come back at once', () => {
    expect(tooManyRequests('slow down', 0.2).headers).toEqual({ 'retry-after': '1' });
    expect(tooManyRequests('slow down', 0).headers).toEqual({ 'retry-after': '1' });
    expect(tooManyRequests('slow down', 59.5).headers).toEqual({ 'retry-after': '60' });
    expect(tooManyRequests('slow down', 60).headers).toEqual({ 'retry-after': '60' });
  });
});

describe('toProblem of a database refusal', () => {
  it('answers a value the database cannot store with a 400 naming the body, and a lost race with a 409', () => {
    // PostgreSQL's class 22 (a number out of range) and SQLite's SQLITE_TOOBIG: the client's value.
    for (const code of ['22003', 'SQLITE_TOOBIG']) {
      expect(toProblem(Object.assign(new Error('refused'), { code })), code).toMatchObject({
        status: 400,
        errors: [{ path: '(root)', message: 'A value is out of range or cannot be stored.' }],
      });
    }
    const race = toProblem(Object.assign(new Error('duplicate key'), { code: '23505' }));
    expect(race).toMatchObject({ status: 409, title: 'Conflict' });
    expect(race).not.toHaveProperty('errors');
  });
});
