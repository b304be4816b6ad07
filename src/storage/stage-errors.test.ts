import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTestTenant } from '../../test/support/outbox-fixtures.js';
import { TEST_PG_URL, describeEachDialect, openTestStorage } from '../../test/support/storage.js';
import { StageError, isRetryable } from '../shared/stage-error.js';
import { StorageRejectedError, StorageUnavailableError, asStage, classifyDbError, storageFailure } from './errors.js';
import { openStorage } from './storage.js';
import type { Storage } from './storage.js';

/** thrown is what `work` rejects with, as the stage reports it. */
async function thrown(work: () => Promise<unknown>): Promise<unknown> {
  return asStage('record', work).then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  );
}

describeEachDialect('storage failures in the stage error contract', (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
  });
  afterAll(() => storage.close());

  it('makes a constraint the database enforces a permanent failure of the stage, keeping its kind', async () => {
    await insertTestTenant(storage.db, 'twice');
    const err = await thrown(() => insertTestTenant(storage.db, 'twice'));
    expect(err).toBeInstanceOf(StorageRejectedError);
    expect(err).toMatchObject({ stage: 'record', kind: 'unique', retryable: false });
    expect(isRetryable(err)).toBe(false);
    // Code that asks what the database said still reads it through the stage's error.
    expect(classifyDbError(err)).toBe('unique');
  });

  it('leaves an error that is neither an outage nor a refusal as it is, which counts as transient', async () => {
    const bug = new TypeError('x is undefined');
    expect(await thrown(() => Promise.reject(bug))).toBe(bug);
    expect(isRetryable(bug)).toBe(true);
  });
});

describe('storage outages in the stage error contract', () => {
  it('makes SQLite’s lock held by another writer a retryable failure', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-busy-'));
    const file = path.join(dir, 'busy.db');
    const holder = new SqliteDatabase(file);
    const other = new SqliteDatabase(file, { timeout: 0 });
    try {
      holder.exec('create table t (x integer); begin exclusive; insert into t values (1)');
      let raised: unknown;
      try {
        other.exec('insert into t values (2)');
      } catch (err) {
        raised = err;
      }
      const failure = storageFailure('claim', raised);
      expect(failure).toBeInstanceOf(StorageUnavailableError);
      expect(failure).toMatchObject({ stage: 'claim', retryable: true });
      expect((failure as Error).message).toBe('claim: the database is unavailable (locked by another writer)');
    } finally {
      other.close();
      holder.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(TEST_PG_URL)('makes a PostgreSQL server that refuses connections a retryable failure, naming no host', async () => {
    const url = new URL(TEST_PG_URL!);
    url.port = '1';
    const failure = storageFailure(
      'ingest',
      await openStorage(url.toString(), { poolSize: 1 }).then(
        () => undefined,
        (err: unknown) => err,
      ),
    );
    expect(failure).toBeInstanceOf(StorageUnavailableError);
    expect(failure).toBeInstanceOf(StageError);
    expect((failure as Error).message).toBe('ingest: the database is unavailable (database unreachable (ECONNREFUSED))');
  });
});
