import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { bucketOf } from './buckets.js';

describe('bucketOf', () => {
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }) });
  afterAll(() => db.destroy());
  /** The bounds of `n` buckets ten apart from 100. */
  const boundsOf = (n: number) => Array.from({ length: n + 1 }, (_, i) => 100 + 10 * i);

  it('numbers every value of [first bound, last bound) by the bucket it falls in, for 1 to 40 buckets', async () => {
    for (let n = 1; n <= 40; n++) {
      const bounds = boundsOf(n);
      const values = Array.from({ length: 10 * n }, (_, i) => 100 + i);
      const rows = await db
        .selectFrom(sql`(select column1 as at from (values ${sql.join(values.map((v) => sql`(${v})`))}))`.as('v'))
        .select(bucketOf('at', bounds).as('bucket'))
        .execute();
      expect(rows.map((r) => r.bucket)).toEqual(values.map((v) => Math.floor((v - 100) / 10)));
    }
  });

  it('compares a value with at most log2 of the bucket count bounds, rounded up: one bound a case, nested that deep', () => {
    for (const n of [2, 7, 24, 30, 31, 32, 33]) {
      const text = db.selectNoFrom(bucketOf('at', boundsOf(n)).as('bucket')).compile().sql;
      const cases = text.match(/\bcase\b/g)?.length ?? 0;
      expect(text.match(/\bwhen\b/g)?.length).toBe(cases);
      let depth = 0;
      let deepest = 0;
      for (const word of text.match(/\b(case|end)\b/g) ?? []) {
        depth += word === 'case' ? 1 : -1;
        deepest = Math.max(deepest, depth);
      }
      expect(deepest).toBe(Math.ceil(Math.log2(n)));
    }
  });
});
