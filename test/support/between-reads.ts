import type { Db } from '../../src/storage/database.js';

/**
 * afterReads wraps `db` so that `between` runs once, after the first `reads` statements read
 * through it (`selectFrom`) have their answers and before the next one runs: another request's
 * commit landing between two reads of one request, at a point the test chooses.
 */
export function afterReads(db: Db, reads: number, between: () => Promise<unknown>): Db {
  let started = 0;
  const wrap = <T extends object>(builder: T): T =>
    new Proxy(builder, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        if (key === 'execute' || key === 'executeTakeFirst' || key === 'executeTakeFirstOrThrow') {
          return async (...args: unknown[]) => {
            if (started++ === reads) await between();
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
