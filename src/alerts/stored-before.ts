import { type RawBuilder, sql } from 'kysely';

/**
 * storedBeforeBucket is the SQL that splits a window's alerts at some instants (ascending; the ends
 * of mutes that ended inside the window and when they were made, endedMuteBounds): the first instant after the alert's created_at, or null
 * after the last. Grouped by it, a count stands for alerts all stored before its bound, which a
 * mute ending at the bound or later still covers. Literals, not parameters: PostgreSQL must see
 * the same expression in select and group by. `table` qualifies the column when the query joins.
 */
export function storedBeforeBucket(ends: readonly number[], table?: string): RawBuilder<number | string | null> {
  const column = sql.ref(table ? `${table}.created_at` : 'created_at');
  const cases = ends.map((end) => sql`when ${column} < ${sql.lit(Math.trunc(end))} then ${sql.lit(Math.trunc(end))}`);
  return sql<number | string | null>`(case ${sql.join(cases, sql` `)} end)`;
}
