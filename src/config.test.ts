import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('the database pool setting', () => {
  it('defaults to a pool of 5 and takes TOCSIN_DB_POOL_SIZE', () => {
    expect(loadConfig({}).dbPoolSize).toBe(5);
    expect(loadConfig({ TOCSIN_DB_POOL_SIZE: '12' }).dbPoolSize).toBe(12);
  });

  it('stops the start naming the variable when the size is not a positive whole number', () => {
    for (const value of ['0', '-1', '2.5', 'ten']) {
      expect(() => loadConfig({ TOCSIN_DB_POOL_SIZE: value })).toThrow(ConfigError);
      expect(() => loadConfig({ TOCSIN_DB_POOL_SIZE: value })).toThrow(/TOCSIN_DB_POOL_SIZE/);
    }
  });
});
