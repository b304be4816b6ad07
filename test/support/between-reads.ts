import type { CompiledQuery } from 'kysely';
import type { Db } from '../../src/storage/database.js';

/**
 * runsFirst wraps a query builder (and those its methods return) so that `before` runs before each
 * of its statements is executed.
 */
function runsFirst<T extends object>(builder: T, before: () => Promise<void>): T {
  return new Proxy(builder, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      if (key === 'execute' || key === 'executeTakeFirst' || key === 'executeTakeFirstOrThrow') {
        return async (...args: unknown[]) => {
          await before();
          return value.apply(target, args);
        };
      }
      return (...args: unknown[]) => {
        const out = value.apply(target, args);
        return out && typeof out === 'object' && 'compile' in out ? runsFirst(out, before) : out;
      };
    },
  });
}

/**
 * afterReads wraps `db` so that `between` runs once, after the first `reads` statements read
 * through it (`selectFrom`) have their answers and before the next one runs: another request's
 * commit landing between two reads of one request, at a point the test chooses.
 */
export function afterReads(db: Db, reads: number, between: () => Promise<unknown>): Db {
  let started = 0;
  const before = async () => {
    if (started++ === reads) await between();
  };
  return new Proxy(db, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      return key === 'selectFrom' ? (...args: unknown[]) => runsFirst((value as (...a: unknown[]) => object).apply(target, args), before) : value;
    },
  });
}

/**
 * beforeStatement wraps `db` so that `between` runs once, before the statement on `table` begun
 * through `method` (insertInto, updateTable) that comes after the first `skipped` of them have
 * started; every other query goes through untouched.
 */
function beforeStatement(db: Db, method: 'insertInto' | 'updateTable', table: string, skipped: number, between: () => Promise<unknown>): Db {
  let started = 0;
  const before = async () => {
    if (started++ === skipped) await between();
  };
  return new Proxy(db, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      if (key !== method) return value.bind(target);
      return (name: string) => {
        const builder = (value as (t: string) => object).call(target, name);
        return name === table ? runsFirst(builder, before) : builder;
      };
    },
  });
}

/**
 * beforeFirstInsert wraps `db` so that `between` runs once, just before the first insert into
 * `table` made through it: another request's commit landing at that point.
 */
export function beforeFirstInsert(db: Db, table: string, between: () => Promise<unknown>): Db {
  return beforeStatement(db, 'insertInto', table, 0, between);
}

/**
 * afterUpdates wraps `db` so that `between` runs once, before the update of `table` made through it
 * that comes after the first `updates` of them: another process's write landing between a read
 * and the compare-and-set that depends on it, at a point the test chooses.
 */
export function afterUpdates(db: Db, table: string, updates: number, between: () => Promise<unknown>): Db {
  return beforeStatement(db, 'updateTable', table, updates, between);
}

/**
 * aroundStatement wraps `db` so that `between` runs once at the statement numbered `index` (from 0)
 * of those run through it, whatever builds them (a builder, or a compiled text run with
 * executeQuery): before it runs, or with `after`, once its answer has come and before its caller
 * gets it (another process's change landing while one statement is under way). `texts` records
 * the SQL of every statement run through it, as recordingStatements does.
 */
export function aroundStatement(db: Db, index: number, between: () => Promise<unknown>, options: { after?: boolean } = {}): { db: Db; texts: string[] } {
  const gated = db.withPlugin({ transformQuery: (args) => args.node, transformResult: async (args) => args.result });
  const executor = gated.getExecutor();
  const execute = executor.executeQuery.bind(executor);
  const texts: string[] = [];
  executor.executeQuery = (async <R>(query: CompiledQuery<R>) => {
    const here = texts.push(query.sql) - 1 === index;
    if (here && !options.after) await between();
    const result = await execute(query);
    if (here && options.after) await between();
    return result;
  }) as typeof executor.executeQuery;
  return { db: gated, texts };
}
