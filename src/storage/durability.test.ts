/**
 * A 202 promises the alert survives a power cut (B1 of the reliability anchors): SQLite commits in
 * WAL mode with synchronous=FULL, and Tocsin's PostgreSQL sessions commit synchronously even where
 * the server, the database or the role defaults to synchronous_commit=off (a commit it acknowledged
 * could otherwise vanish in a crash of the server).
 */
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestDatabase, createTestDatabase, describeEachDialect } from '../../test/support/storage.js';
import { type Storage, openStorage } from './storage.js';

describeEachDialect('durable commits', (dialect) => {
  let database: TestDatabase;
  let storage: Storage;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    if (dialect === 'postgres') {
      // A database whose sessions default to commits that return before the WAL is flushed.
      const client = new pg.Client({ connectionString: database.url, user: decodeURIComponent(new URL(database.url).username) });
      await client.connect();
      await client.query(`alter database ${new URL(database.url).pathname.slice(1)} set synchronous_commit = off`);
      await client.end();
    }
    storage = await openStorage(database.url, { poolSize: 2 });
  });
  afterAll(async () => {
    await storage?.close();
    await database?.drop();
  });

  it.runIf(dialect === 'sqlite')('writes SQLite in WAL mode with synchronous=FULL', async () => {
    const { rows } = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(storage.db);
    expect(rows[0]!.journal_mode).toBe('wal');
    // 2 is FULL: the WAL is synced at every commit, not only at checkpoints (NORMAL).
    expect((await sql<{ synchronous: number }>`pragma synchronous`.execute(storage.db)).rows[0]!.synchronous).toBe(2);
  });

  it.runIf(dialect === 'postgres')('commits synchronously on every pooled connection, whatever the database default', async () => {
    // Both connections of the pool, held at once so that neither is the other reused.
    const answers = await Promise.all(
      [0, 1].map(() =>
        storage.db.transaction().execute(async (tx) => {
          const { rows } = await sql<{
            synchronous_commit: string;
            pid: number;
          }>`select current_setting('synchronous_commit') as synchronous_commit, pg_backend_pid() as pid, pg_sleep(0.05)`.execute(tx);
          return rows[0]!;
        }),
      ),
    );
    expect(new Set(answers.map((a) => a.pid)).size).toBe(2);
    expect(answers.map((a) => a.synchronous_commit)).toEqual(['on', 'on']);
  });
});
