import { describe, expect, it } from 'vitest';
import { isCi, testDialects } from '../../test/support/storage.js';

describe('which databases a test run covers', () => {
  it('tests SQLite alone on a developer machine without PostgreSQL', () => {
    expect(testDialects({})).toEqual(['sqlite']);
    expect(testDialects({ CI: 'false' })).toEqual(['sqlite']);
  });

  it('tests both engines when TOCSIN_TEST_PG_URL is set, in CI or not', () => {
    const url = 'postgres://tocsin:tocsin@127.0.0.1:5432/postgres';
    expect(testDialects({ TOCSIN_TEST_PG_URL: url })).toEqual(['sqlite', 'postgres']);
    expect(testDialects({ TOCSIN_TEST_PG_URL: url, CI: 'true' })).toEqual(['sqlite', 'postgres']);
  });

  it('fails in CI rather than skip PostgreSQL', () => {
    for (const CI of ['true', '1', 'yes', 'TRUE']) {
      expect(() => testDialects({ CI })).toThrow(/CI must test PostgreSQL too/);
    }
  });

  it('reads CI as most CI systems set it', () => {
    expect([undefined, '', 'false', '0', ' FALSE '].map((CI) => isCi(CI === undefined ? {} : { CI }))).toEqual([false, false, false, false, false]);
    expect(['true', '1', 'woodpecker'].map((CI) => isCi({ CI }))).toEqual([true, true, true]);
  });
});
