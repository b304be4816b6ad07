import type { Compilable } from 'kysely';
import type { Db } from './database.js';

const cache = new WeakMap<object, Map<string, string>>();

/**
 * sqlOnce is the SQL text of a hot statement, compiled by Kysely for the connection's dialect
 * once per `shape` (a name and whatever changes the text, such as a row or id count): building
 * and compiling a query tree costs Kysely more than SQLite spends running a small statement (a
 * hundred-row insert, or the one-row select of each group commit). Run it with
 * CompiledQuery.raw and the parameters in the order `build`'s query takes them. The cache hangs
 * off the executor's adapter, one per Kysely instance and dialect.
 */
export function sqlOnce(db: Db, shape: string, build: () => Compilable): string {
  const key = db.getExecutor().adapter;
  let byShape = cache.get(key);
  if (!byShape) cache.set(key, (byShape = new Map()));
  let text = byShape.get(shape);
  if (text === undefined) {
    text = build().compile().sql;
    byShape.set(shape, text);
  }
  return text;
}

/**
 * inListOf pads the values of an `in (…)` list to the next power of two by repeating the last one
 * (a repeat changes no answer), so that a statement compiled once per list length has a handful
 * of shapes, not one per length the callers happen to ask for.
 */
export function inListOf<T>(values: readonly T[]): T[] {
  let size = 1;
  while (size < values.length) size *= 2;
  const padded = [...values];
  while (padded.length < size) padded.push(values[values.length - 1]!);
  return padded;
}
