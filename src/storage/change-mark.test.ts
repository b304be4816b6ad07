import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/storage.js';
import { type Storage, openStorage } from './storage.js';

describe("the SQLite file's change mark", () => {
  let database: TestDatabase;
  let storage: Storage;
  let other: Storage;

  beforeAll(async () => {
    database = await createTestDatabase('sqlite', { migrated: true });
    storage = await openStorage(database.url);
    other = await openStorage(database.url);
  });
  afterAll(async () => {
    await other.close();
    await storage.close();
    await database.drop();
  });

  const tenant = (db: Storage['db'], name: string) =>
    db.insertInto('tenants').values({ id: name, name, display_name: name, time_zone: 'UTC', language: 'en', retention_days: 30, created_at: 0 }).execute();

  it('differs after a commit of another connection or of its own, and not after reads or a transaction that changed nothing', async () => {
    const mark = storage.changeMark!;
    const before = mark();
    expect(before).toBeDefined();
    await storage.db.selectFrom('tenants').selectAll().execute();
    await other.db.selectFrom('tenants').selectAll().execute();
    // An empty write transaction, as another worker's heartbeat (AnsweredTime) on SQLite.
    await other.db.transaction().execute(async (tx) => sql`select 1`.execute(tx));
    expect(mark()).toBe(before);
    await tenant(other.db, 'by-another');
    const afterOther = mark();
    expect(afterOther).not.toBe(before);
    await tenant(storage.db, 'by-itself');
    expect(mark()).not.toBe(afterOther);
  });

  it('cannot tell inside a transaction of its connection, whose changes are not committed yet', async () => {
    await storage.db.transaction().execute(async (tx) => {
      await tenant(tx, 'in-a-transaction');
      expect(storage.changeMark!()).toBeUndefined();
    });
    expect(storage.changeMark!()).toBeDefined();
  });
});
