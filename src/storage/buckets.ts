import { type RawBuilder, sql } from 'kysely';

/**
 * bucketOf numbers the time bucket a row's `column` falls in: `case when column < b1 then 0 when
 * column < b2 then 1 … else n-1 end`, for rows already kept to [bounds[0], bounds[n]). Bounds passed
 * in (rather than arithmetic on the column) let both engines count local days and hours of any time
 * zone, daylight-saving changes included, in one GROUP BY.
 */
export function bucketOf(column: string, bounds: readonly number[]): RawBuilder<number> {
  const last = bounds.length - 2;
  if (last <= 0) return sql<number>`${sql.lit(0)}`;
  const whens = bounds.slice(1, -1).map((bound, i) => sql`when ${sql.ref(column)} < ${bound} then ${sql.lit(i)}`);
  return sql<number>`case ${sql.join(whens, sql` `)} else ${sql.lit(last)} end`;
}
