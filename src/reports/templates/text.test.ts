import { describe, expect, it } from 'vitest';
import { clip, field } from './text.js';

describe('fields as emails show them', () => {
  it('keeps text of up to max characters as it is, counting a surrogate pair as one', () => {
    expect(clip('abc', 3)).toBe('abc');
    expect(clip('🔥🔥🔥', 3)).toBe('🔥🔥🔥');
    expect(clip('', 1)).toBe('');
  });

  it('shortens longer text to max characters ending in an ellipsis, never splitting a pair', () => {
    expect(clip('abcd', 3)).toBe('ab…');
    expect(clip('🔥🔥🔥🔥', 3)).toBe('🔥🔥…');
    expect(clip('ab  cd', 4)).toBe('ab…');
  });

  it('folds whitespace onto one line before clipping', () => {
    expect(field(' a\n\tb  c ', 5)).toBe('a b c');
    expect(field('a\nb c d', 4)).toBe('a b…');
  });
});
