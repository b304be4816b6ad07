import { type Kysely, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, describeEachDialect, TEST_PG_URL } from '../../test/support/storage.js';
import { migratorFor } from './migrate.js';
import { openStorage } from './storage.js';

const BEFORE = '20261208-10-deliveries-failed';

/** A text column of the database with the collation it compares in ('default' for the database's own). */
interface TextColumn {
  readonly table: string;
  readonly column: string;
  readonly collation: string;
}

describe.runIf(TEST_PG_URL)('opaque keys on PostgreSQL', () => {
  it('compares every id, every column of a foreign key and the dedup and idempotency keys by their bytes, and names in the database collation', async () => {
    // A new table's tenant_id or alert_id left in the database's collation would compare with the
    // "C" keys it joins in "C", which its own index cannot answer: this names it.
    const database = await createTestDatabase('postgres', { migrated: true });
    const storage = await openStorage(database.url, { poolSize: 1 });
    try {
      const { rows: columns } = await sql<TextColumn>`
        select c.relname as "table", a.attname as "column", coll.collname as collation
        from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
        join pg_collation coll on coll.oid = a.attcollation
        where n.nspname = current_schema() and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped
          and a.atttypid = 'text'::regtype and c.relname not like 'kysely%'`.execute(storage.db);
      const { rows: foreign } = await sql<{ table: string; column: string }>`
        select c.relname as "table", a.attname as "column"
        from pg_constraint k cross join lateral (select k.conrelid as rel, unnest(k.conkey) as num union all select k.confrelid, unnest(k.confkey)) as side
        join pg_class c on c.oid = side.rel join pg_attribute a on a.attrelid = side.rel and a.attnum = side.num
        where k.contype = 'f' and k.connamespace = current_schema()::regnamespace`.execute(storage.db);
      const keyed = new Set(foreign.map((f) => `${f.table}.${f.column}`));
      const isKey = (c: TextColumn) =>
        c.column === 'id' || c.column.endsWith('_id') || ['dedup_key', 'idempotency_key'].includes(c.column) || keyed.has(`${c.table}.${c.column}`);
      const keys = columns.filter(isKey);
      expect(keys.length).toBeGreaterThan(60);
      expect(keys.filter((c) => c.collation !== 'C').map((c) => `${c.table}.${c.column}`)).toEqual([]);
      const named = (table: string, column: string) => columns.find((c) => c.table === table && c.column === column)?.collation;
      expect([named('tenants', 'name'), named('users', 'name'), named('groups', 'name'), named('alerts', 'component')]).toEqual([
        'default',
        'default',
        'default',
        'default',
      ]);
    } finally {
      await storage.close();
      await database.drop();
    }
  });
});

describeEachDialect('migration 20261208-20-keys-in-byte-order on a populated database', (dialect) => {
  it('keeps the rows, the foreign keys and the unique keys, and orders ids by their bytes as SQLite does', async () => {
    // On PostgreSQL an ICU collation that passes over punctuation, as glibc's en_US does: 'a-b' after 'aa'.
    const database = await createTestDatabase(dialect, dialect === 'postgres' ? { icuLocale: 'en-US-u-ka-shifted' } : {});
    const storage = await openStorage(database.url, { poolSize: 1 });
    try {
      const { error } = await migratorFor(storage).migrateTo(BEFORE);
      if (error) throw error;
      const db = storage.db as unknown as Kysely<any>;
      const tenant = (id: string) => ({ id, name: `n${id}`, display_name: id, time_zone: 'UTC', language: 'en', retention_days: 30, created_at: 0 });
      await db
        .insertInto('tenants')
        .values([tenant('t-1'), tenant('t1')])
        .execute();
      await db
        .insertInto('users')
        .values({ id: 'u-1', tenant_id: 't-1', email: 'a@x.com', email_key: 'a@x.com', name: 'A', active: 1, created_at: 0, updated_at: 0 })
        .execute();
      const alert = (id: string, tenantId: string, dedupKey: string | null) => ({
        id,
        tenant_id: tenantId,
        severity: 4,
        component: 'Jobs',
        event: 'e',
        message: 'm',
        dedup_key: dedupKey,
        group_id: dedupKey && `g-${dedupKey}`,
        occurred_at: 1,
        created_at: 1,
      });
      const ids = ['a-b', 'aa', 'a0', 'a_c', 'A-z'];
      await db
        .insertInto('alerts')
        .values([...ids.map((id, i) => alert(id, 't-1', i % 2 ? 'robot-1' : null)), alert('zz', 't1', 'robot-1')])
        .execute();
      await db.insertInto('alert_read_state').values({ user_id: 'u-1', alert_id: 'a-b', tenant_id: 't-1', read: 1 }).execute();
      const foreignKeys = async () =>
        dialect === 'postgres'
          ? (await sql<{ n: number }>`select count(*)::int as n from pg_constraint where contype = 'f' and convalidated`.execute(db)).rows[0]!.n
          : 0;
      const keysBefore = await foreignKeys();

      const { error: latest } = await migratorFor(storage).migrateToLatest();
      if (latest) throw latest;

      const stored = await db.selectFrom('alerts').select('id').where('tenant_id', '=', 't-1').orderBy('id').execute();
      expect(stored.map((r) => r.id)).toEqual([...ids].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
      expect(stored.map((r) => r.id)).toEqual(['A-z', 'a-b', 'a0', 'a_c', 'aa']);
      const flood = await db.selectFrom('alerts').select('id').where('tenant_id', '=', 't-1').where('dedup_key', '=', 'robot-1').orderBy('id').execute();
      expect(flood.map((r) => r.id)).toEqual(['a_c', 'aa']);
      const read = await db
        .selectFrom('alerts as a')
        .innerJoin('alert_read_state as r', 'r.alert_id', 'a.id')
        .innerJoin('users as u', 'u.id', 'r.user_id')
        .innerJoin('tenants as t', 't.id', 'u.tenant_id')
        .select(['a.id', 't.name'])
        .execute();
      expect(read).toEqual([{ id: 'a-b', name: 'nt-1' }]);
      expect(await foreignKeys()).toBe(keysBefore);
      if (dialect === 'postgres') {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_index where not indisvalid or not indisready`.execute(db);
        expect(rows[0]!.n).toBe(0);
      }
      await expect(
        db
          .insertInto('alerts')
          .values(alert('aa', 't1', null))
          .execute(),
      ).rejects.toThrow(/unique|UNIQUE/);
      await expect(
        db.insertInto('alert_read_state').values({ user_id: 'u-1', alert_id: 'no-such-alert', tenant_id: 't-1', read: 1 }).execute(),
      ).rejects.toThrow(/foreign key|FOREIGN KEY/);
      // The foreign keys still cascade: an alert's read state goes with it.
      await db.deleteFrom('alerts').where('id', '=', 'a-b').execute();
      expect(await db.selectFrom('alert_read_state').selectAll().execute()).toEqual([]);
    } finally {
      await storage.close();
      await database.drop();
    }
  });
});
