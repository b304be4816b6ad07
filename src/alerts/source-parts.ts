import { PostgresAdapter, type RawBuilder, sql } from 'kysely';
import type { Db } from '../storage/database.js';

/** SOURCE_FILTER_PARTS are the parts of an alert's source that mutes match and lists filter on. */
export const SOURCE_FILTER_PARTS = ['process', 'robot', 'queue'] as const;

/** SourceFilterPart is one of SOURCE_FILTER_PARTS. */
export type SourceFilterPart = (typeof SOURCE_FILTER_PARTS)[number];

/**
 * sourcePart reads one part of the JSON `source` column in SQL, as each engine writes it; `table`
 * qualifies the column when the query joins.
 */
export function sourcePart(db: Db, part: SourceFilterPart, table?: string): RawBuilder<string | null> {
  const column = table ? sql.ref(`${table}.source`) : sql.ref('source');
  // A literal, not a parameter: PostgreSQL must see the same expression in select and group by.
  return db.getExecutor().adapter instanceof PostgresAdapter
    ? sql<string | null>`(${column}::json ->> ${sql.lit(part)})`
    : sql<string | null>`json_extract(${column}, ${sql.lit(`$.${part}`)})`;
}
