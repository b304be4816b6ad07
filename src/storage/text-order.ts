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
