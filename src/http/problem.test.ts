import { describe, expect, it } from 'vitest';
import { tooManyRequests } from './problem.js';

describe('tooManyRequests', () => {
  it('asks for whole seconds in Retry-After, rounded up and never 0: a client told 0 would come back at once', () => {
    expect(tooManyRequests('slow down', 0.2).headers).toEqual({ 'retry-after': '1' });
    expect(tooManyRequests('slow down', 0).headers).toEqual({ 'retry-after': '1' });
    expect(tooManyRequests('slow down', 59.5).headers).toEqual({ 'retry-after': '60' });
    expect(tooManyRequests('slow down', 60).headers).toEqual({ 'retry-after': '60' });
  });
});
