import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/support/storage.js';
import { migrate } from './migrate.js';
import { openStorage } from './storage.js';

const tenant = (id: string) => ({ id, name: id, display_name: id, time_zone: 'UTC', language: 'en', retention_days: 30, created_at: 1 });

/** contentsOf opens an SQLite file as the next start would (its -wal beside it included) and reads what it holds. */
function contentsOf(file: string): { integrity: string[]; tenants: string[] } {
  const database = new SqliteDatabase(file);
  try {
    return {
      integrity: (database.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check),
      tenants: (database.prepare('select id from tenants order by id').all() as { id: string }[]).map((r) => r.id),
    };
  } finally {
    database.close();
  }
}

describe('an SQLite file replaced by a restored backup while Tocsin runs (README: Backups)', () => {
  it('opens at the next start as it was restored: the replaced file’s WAL, left beside it, is not replayed into the restored copy', async () => {
    const database = await createTestDatabase('sqlite');
    const file = database.url.slice('sqlite:'.length);
    const storage = await openStorage(database.url);
    try {
      await migrate(storage);
      await storage.db.insertInto('tenants').values(tenant('in-the-backup')).execute();
      // The operator's backup (sqlite3 .backup does the same), then the running Tocsin goes on writing.
      await storage.sqlite!.backup(`${file}.backup`);
      for (let i = 0; i < 50; i += 1)
        await storage.db
          .insertInto('tenants')
          .values(tenant(`after-the-backup-${i}`))
          .execute();
      // The backup is moved into place while Tocsin runs, and Tocsin is restarted, as README says.
      fs.copyFileSync(`${file}.backup`, `${file}.restoring`);
      fs.renameSync(`${file}.restoring`, file);
    } finally {
      await storage.close();
    }
    try {
      // SQLite cannot write into a file that was moved (SQLITE_READONLY_DBMOVED), so the close
      // left the old file's -wal at the path: read with the restored file, the next start saw the
      // old file's pages over the restored ones (a mix, or "database disk image is malformed").
      expect(contentsOf(file)).toEqual({ integrity: ['ok'], tenants: ['in-the-backup'] });
      // The replaced file's last commits are kept beside it, for whoever kept that file.
      expect(fs.readdirSync(path.dirname(file)).filter((f) => f.startsWith('tocsin.db-wal.replaced-'))).toHaveLength(1);
    } finally {
      await database.drop();
    }
  });
});
