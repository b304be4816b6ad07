import { PostgresAdapter, type RawBuilder, sql } from 'kysely';
import type { Db } from './database.js';

/**
 * inCodePointOrder is a text column to order by, in the order SQLite's BINARY collation gives (by
 * code point) on PostgreSQL too: there `collate "C"`, since a database's own collation (en_US in
 * the official Docker image) sorts case, accents and punctuation otherwise ('_x' before '1st',
 * 'éclair' before 'Finance'), and the same lists came out in another order on each engine.
 */
export function inCodePointOrder(db: Db, column: string): RawBuilder<string> {
  return db.getExecutor().adapter instanceof PostgresAdapter ? sql<string>`${sql.ref(column)} collate "C"` : sql<string>`${sql.ref(column)}`;
}

/**
 * byCodePoint compares two strings in the order inCodePointOrder gives the databases: by code point.
 * JavaScript's own comparison (and sort()) goes by UTF-16 code unit, which puts a character beyond
 * U+FFFF (an emoji, whose surrogates start at U+D800) before U+E000–U+FFFF (full-width letters),
 * where both databases put it after: a user's role names came out in another order than GET /roles.
 * Their UTF-8 bytes compare as their code points do.
 */
export function byCodePoint(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * byNameIgnoringCase puts names in the order a person reads a list in: by their lower case ('a-c',
 * 'B-y', 'Z'), as users are listed (by their address in lower case), where by code point every
 * capital came before every small letter ('B-y', 'Z', 'a-c'). Names equal but for case go by code
 * point, so the order is one whatever the engine. JavaScript folds the case, identically for both
 * engines (SQLite's lower() folds only ASCII); each name is folded once, not once per comparison.
 */
export function byNameIgnoringCase<T>(items: readonly T[], nameOf: (item: T) => string): T[] {
  const keyed = items.map((item) => {
    const name = nameOf(item);
    return { item, folded: Buffer.from(name.toLowerCase()), exact: Buffer.from(name) };
  });
  keyed.sort((a, b) => Buffer.compare(a.folded, b.folded) || Buffer.compare(a.exact, b.exact));
  return keyed.map((k) => k.item);
}
