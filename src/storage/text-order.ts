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
