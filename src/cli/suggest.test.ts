import { describe, expect, it } from 'vitest';
import { closestName, didYouMean } from './suggest.js';

describe('a misspelt command or option', () => {
  it('is matched to the one name it is a slip away from', () => {
    const commands = ['serve', 'migrate', 'raise', 'test-mail'];
    expect(closestName('serv', commands)).toBe('serve');
    expect(closestName('rasie', commands)).toBe('raise');
    expect(closestName('testmail', commands)).toBe('test-mail');
    expect(closestName('Migrate', commands)).toBe('migrate');
    expect(closestName('start', commands)).toBeUndefined();
    // Equally near two names, it names neither rather than guess.
    expect(closestName('ab', ['aa', 'bb'])).toBeUndefined();
  });

  it("adds the near option to parseArgs' refusal, and nothing when none is near", () => {
    const options = ['tenant', 'severity', 'component', 'message', 'dedup-key'];
    expect(didYouMean(new Error("Unknown option '--tennant'"), options)).toBe(' (did you mean --tenant?)');
    expect(didYouMean(new Error("Unknown option '--dedupkey'"), options)).toBe(' (did you mean --dedup-key?)');
    expect(didYouMean(new Error("Unknown option '--bogus'"), options)).toBe('');
    expect(didYouMean(new Error("Unexpected argument 'extra'"), options)).toBe('');
  });
});
