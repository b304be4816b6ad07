import { describe, expect, it } from 'vitest';
import { lookAlikeTokens } from '../../test/support/tokens.js';
import { openCursor, signCursor } from './signed-cursor.js';

describe('list cursors', () => {
  const key = Buffer.alloc(32, 7);

  it('open as signed, in their tenant alone, and refuse a spelling Node would decode to the same bytes', () => {
    // Texts of every length modulo 3 give cursors of every length modulo 4, with and without unused low bits at the end.
    for (const text of ['1733000000000,a', '1733000000000,ab', '1733000000000,abc']) {
      const cursor = signCursor(key, 'tenant-1', text);
      expect(openCursor(key, 'tenant-1', cursor)).toBe(text);
      expect(openCursor(key, 'tenant-2', cursor)).toBeUndefined();
      // API.md: a cursor that is not one a page returned is a 400, however it was changed.
      for (const tampered of lookAlikeTokens(cursor)) expect(openCursor(key, 'tenant-1', tampered), tampered).toBeUndefined();
    }
  });
});
