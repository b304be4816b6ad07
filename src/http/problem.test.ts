import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { toProblem } from './app.js';
import { inflateBody } from './input-guard.js';
import { serviceUnavailable, titleFor, tooManyRequests } from './problem.js';

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

describe('titleFor', () => {
  it("titles every problem from one table, RFC 9110's phrases: a body that inflates too large reads as one sent too large", () => {
    expect(titleFor(413)).toBe('Content Too Large');
    expect(titleFor(503)).toBe('Service Unavailable');
    expect(titleFor(500)).toBe('Internal Server Error');
    expect(titleFor(418)).toBe('Client Error');
    let inflatedTooLarge: unknown;
    try {
      inflateBody(gzipSync(Buffer.alloc(2048, ' ')), 'gzip', 1024);
    } catch (error) {
      inflatedTooLarge = error;
    }
    expect(toProblem(inflatedTooLarge)).toMatchObject({ status: 413, title: titleFor(413) });
    expect(toProblem(serviceUnavailable('later')).title).toBe(titleFor(503));
  });
});
