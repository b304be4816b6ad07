import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../storage/database.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { userPrincipal } from './principal.js';

/**
 * afterFirstRead wraps `db` so that `between` runs once, after the first statement read through it
 * has its answer and before the next one runs: another request's commit landing between two reads.
 */
function afterFirstRead(db: Db, between: () => Promise<unknown>): Db {
  let reads = 0;
  const wrap = <T extends object>(builder: T): T =>
    new Proxy(builder, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        if (key === 'execute' || key === 'executeTakeFirst') {
          return async (...args: unknown[]) => {
            if (reads++ === 1) await between();
            return value.apply(target, args);
          };
        }
        return (...args: unknown[]) => {
          const out = value.apply(target, args);
          return out && typeof out === 'object' && 'compile' in out ? wrap(out) : out;
        };
      },
    });
  return new Proxy(db, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      return key === 'selectFrom' ? (...args: unknown[]) => wrap((value as (...a: unknown[]) => object).apply(target, args)) : value;
    },
  });
}

describeEachDialect("the caller's principal", (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect);
  });
  afterAll(() => t.close());

  it('is no one (401), not a user without permissions (403), when its user is deleted between reading it and its permissions', async () => {
    const db = t.tocsin.deps.storage.db;
    const { userId } = await t.tenantWithUser('vanishing', ['Administrator']);
    const racing = afterFirstRead(db, () => db.deleteFrom('users').where('id', '=', userId).execute());
    expect(await userPrincipal(racing, userId)).toBeUndefined();
  });
});
