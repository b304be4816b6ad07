import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestStorage } from '../../test/support/storage.js';
import { serverPrepared } from './pg-prepared.js';
import type { Storage } from './storage.js';

describe.runIf(DIALECTS.includes('postgres'))('statements prepared on PostgreSQL', () => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage('postgres');
  });
  afterAll(() => storage.close());

  const prepared = async (conn: Storage['db']) =>
    (await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(conn)).rows.map((r) => r.statement);

  it('runs a marked text as a statement its connection prepares once, and every other text unnamed', async () => {
    const marked = serverPrepared('select $1::integer + 1 as next');
    const unmarked = 'select $1::integer + 2 as next';
    await storage.db.connection().execute(async (conn) => {
      for (const n of [1, 2]) {
        expect((await conn.executeQuery(CompiledQuery.raw(marked, [n]))).rows).toEqual([{ next: n + 1 }]);
        expect((await conn.executeQuery(CompiledQuery.raw(unmarked, [n]))).rows).toEqual([{ next: n + 2 }]);
      }
      const statements = await prepared(conn);
      expect(statements.filter((s) => s === marked)).toHaveLength(1);
      expect(statements).not.toContain(unmarked);
    });
  });

  it('answers a text of several statements, sent as one, with the rows of its last', async () => {
    await storage.db.connection().execute(async (conn) => {
      const { rows } = await conn.executeQuery(CompiledQuery.raw('begin; select 41 + 1 as answer', []));
      expect(rows).toEqual([{ answer: 42 }]);
      await conn.executeQuery(CompiledQuery.raw('rollback', []));
    });
  });
});
