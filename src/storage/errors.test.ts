import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { toProblem } from '../http/app.js';
import { StorageUnavailableError, classifyDbError, isStorageOutage, lostTransactionRace, storageFailure } from './errors.js';
import type { Storage } from './storage.js';
import { runOutOfDescriptors } from '../../test/support/out-of-descriptors.js';
import { TEST_PG_URL, describeEachDialect, openTestStorage } from '../../test/support/storage.js';

/** failureOf runs a statement expected to fail and returns what it threw. */
async function failureOf(statement: Promise<unknown>): Promise<unknown> {
  try {
    await statement;
  } catch (err) {
    return err;
  }
  throw new Error('the statement succeeded');
}

describeEachDialect('database errors a client can provoke', (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
  });
  afterAll(() => storage.close());

  it('reads a lost race on a unique key as a 409 conflict', async () => {
    const row = { key: 'race', value: 'x', updated_at: 1 };
    await storage.db.insertInto('host_settings').values(row).execute();
    const err = await failureOf(storage.db.insertInto('host_settings').values(row).execute());
    expect(classifyDbError(err)).toBe('unique');
    expect(toProblem(err)).toMatchObject({ status: 409, title: 'Conflict' });
  });

  it('reads a reference to something just deleted as a 409 conflict', async () => {
    const err = await failureOf(storage.db.insertInto('group_members').values({ group_id: 'no-such-group', user_id: 'no-such-user' }).execute());
    expect(classifyDbError(err)).toBe('foreign-key');
    expect(toProblem(err).status).toBe(409);
  });

  it.runIf(dialect === 'postgres')('reads a value PostgreSQL cannot store (a NUL in text) as a 400', async () => {
    const err = await failureOf(storage.db.insertInto('host_settings').values({ key: 'a\u0000b', value: 'x', updated_at: 1 }).execute());
    expect(classifyDbError(err)).toBe('invalid-value');
    expect(toProblem(err).status).toBe(400);
  });

  it.runIf(dialect === 'postgres')('reads a transaction whose connection the server ended between two statements as an outage (503)', async () => {
    // PostgreSQL restarted under load: mark-read answered 500, since what the transaction threw was
    // pg's 'Client has encountered a connection error and is not queryable', which carries no code.
    const err = await failureOf(
      storage.db.transaction().execute(async (trx) => {
        const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]?.pid;
        await sql`select pg_terminate_backend(${pid})`.execute(storage.db);
        // Until the backend is gone: it sends the transaction's client its FATAL before it exits. Not
        // vi.waitFor's 1 s default: a backend signalled on CI's loaded two cores may take longer to exit.
        const backends = sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where pid = ${pid}`;
        await vi.waitFor(async () => expect((await backends.execute(storage.db)).rows[0]?.n).toBe(0), { timeout: 20_000, interval: 50 });
        await sql`select 1`.execute(trx);
      }),
    );
    expect(isStorageOutage(err)).toBe(true);
    expect(await storage.db.selectFrom('host_settings').select('key').execute()).toBeInstanceOf(Array);
  });

  it.runIf(dialect === 'postgres')('reads a lock or statement timeout the operator set on the database as an outage (503)', async () => {
    // ALTER DATABASE … SET lock_timeout (or statement_timeout), with a table locked by a maintenance:
    // POST and GET /alerts answered 500 'canceling statement due to lock timeout' instead of 503.
    const key = 'errors.test lock timeout';
    const holder = storage.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(trx);
      const waiter = failureOf(
        storage.db.transaction().execute(async (other) => {
          await sql`set local lock_timeout = '50ms'`.execute(other);
          await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(other);
        }),
      );
      return waiter;
    });
    const lockTimeout = await holder;
    expect((lockTimeout as { code?: string }).code).toBe('55P03');
    const statementTimeout = await failureOf(
      storage.db.transaction().execute(async (trx) => {
        await sql`set local statement_timeout = '50ms'`.execute(trx);
        await sql`select pg_sleep(5)`.execute(trx);
      }),
    );
    expect((statementTimeout as { code?: string }).code).toBe('57014');
    for (const err of [lockTimeout, statementTimeout]) {
      expect(isStorageOutage(err)).toBe(true);
      expect(new StorageUnavailableError('ingest', err).message).toMatch(/timeout/);
    }
  });

  it.runIf(dialect === 'postgres')(
    'lets a statement the server is working on run past the check for a silent server',
    async () => {
      // A statement unanswered for 5 s has the server asked what its session does: one still at work
      // (a long statement, a lock wait) must not be cut as a lost one is.
      const slept = await sql<{ done: number }>`select 1 as done from pg_sleep(9)`.execute(storage.db);
      expect(slept.rows).toEqual([{ done: 1 }]);
    },
    60_000,
  );

  it('leaves anything else a 500, logged', () => {
    expect(classifyDbError(new Error('connection terminated'))).toBeUndefined();
    expect(classifyDbError({ code: 'ECONNREFUSED' })).toBeUndefined();
    expect(classifyDbError({ code: 'constructor' })).toBeUndefined();
    expect(toProblem(new Error('boom')).status).toBe(500);
  });
});

describe('a transaction that lost a race with another', () => {
  it('is told apart from other failures, wrapped in a stage or not', () => {
    for (const code of ['40P01', '40001']) {
      const cancelled = Object.assign(new Error('deadlock detected'), { code });
      expect(lostTransactionRace(cancelled)).toBe(true);
      expect(lostTransactionRace(new StorageUnavailableError('ingest', cancelled))).toBe(true);
    }
    expect(lostTransactionRace(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(lostTransactionRace(new Error('boom'))).toBe(false);
  });
});

describe('a database that served and now cannot, for a moment', () => {
  it('is an outage (503 with Retry-After, the stage retries), not a bug (500): credentials rotated, a deadlock broken, an SQLite table locked', () => {
    // Class 28 stops a start (isWorthRetrying) but, once serving, is the operator's rotation under way;
    // PostgreSQL's deadlock victim and SQLite's SQLITE_LOCKED pass when the other transaction ends.
    for (const code of ['28P01', '28000', '40P01', '40001', 'SQLITE_LOCKED']) {
      const err = Object.assign(new Error('refused'), { code });
      expect(isStorageOutage(err), code).toBe(true);
      expect(storageFailure('ingest', err), code).toBeInstanceOf(StorageUnavailableError);
    }
  });
});

describe('an SQLite file that may grow no more (a file size limit, a quota)', () => {
  it('is an outage (503), as a full disk is', async () => {
    // `ulimit -f` (or a user's disk quota, EDQUOT) makes SQLite's write fail with EFBIG, which it
    // reports as SQLITE_IOERR_WRITE ("disk I/O error"), not SQLITE_FULL: POST /alerts answered 500.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-fsize-'));
    try {
      const script = `
        const Database = require('better-sqlite3');
        const db = new Database(${JSON.stringify(path.join(dir, 't.db'))});
        db.pragma('journal_mode = WAL');
        db.exec('create table t (v text)');
        try {
          for (let i = 0; i < 1000; i++) db.prepare('insert into t values (?)').run('x'.repeat(4000));
          console.log('no error');
        } catch (err) {
          console.log(err.code);
        }`;
      const run = promisify(execFile);
      const { stdout } = await run('sh', ['-c', 'ulimit -f 256 && exec "$0" -e "$1"', process.execPath, script], { cwd: process.cwd() });
      const code = stdout.trim();
      expect(code).toMatch(/^SQLITE_/);
      const err = Object.assign(new Error('disk I/O error'), { code });
      expect(isStorageOutage(err)).toBe(true);
      expect(new StorageUnavailableError('ingest', err).message).toMatch(/SQLite/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails a transaction whose commit the disk refuses with the disk's error, not with the rollback SQLite already did", async () => {
    // SQLite rolls a transaction back itself when its commit cannot be written (a full disk, a size
    // limit); Kysely's rollback after it then threw "cannot rollback - no transaction is active", which
    // hid the disk's error: a new tenant or user on a full disk answered 500 where an alert got 503.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-fsize-commit-'));
    try {
      const storageModule = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'storage.ts')).href;
      const script = `
        const { openStorage } = await import(${JSON.stringify(storageModule)});
        const { sql } = await import('kysely');
        const storage = await openStorage(${JSON.stringify(`sqlite:${path.join(dir, 't.db')}`)});
        await sql\`create table t (v text)\`.execute(storage.db);
        let outcome = 'no error';
        try {
          for (let i = 0; i < 1000; i++) {
            await storage.db.transaction().execute((trx) => sql\`insert into t values (\${'x'.repeat(4000)})\`.execute(trx));
          }
        } catch (err) {
          outcome = JSON.stringify({ code: err.code, message: err.message });
        }
        console.log(outcome);
        await storage.close().catch(() => {});`;
      const run = promisify(execFile);
      const { stdout } = await run('sh', ['-c', 'ulimit -f 256 && exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, script], {
        cwd: process.cwd(),
        timeout: 60_000,
      });
      const failure = JSON.parse(stdout.trim().split('\n').at(-1)!) as { code: string; message: string };
      expect(failure.message).not.toMatch(/rollback/);
      expect(failure.code).toMatch(/^SQLITE_(IOERR|FULL)/);
      expect(isStorageOutage(failure)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('a process out of file descriptors (its open-files limit reached: many clients, many SMTP connections)', () => {
  it.runIf(TEST_PG_URL)(
    'cannot open a connection to PostgreSQL for now: an outage (503), told to Prometheus as such, and the next connection once one is free works [postgres]',
    async () => {
      // The pool opens a connection when its open ones are busy (or closed idle): with every descriptor
      // taken, connect() fails with EMFILE, which was no outage, so POST /alerts answered 500, not 503.
      const here = path.dirname(fileURLToPath(import.meta.url));
      const storageModule = pathToFileURL(path.join(here, 'storage.ts')).href;
      const readinessModule = pathToFileURL(path.join(here, '../ops/readiness.ts')).href;
      const outcome = await runOutOfDescriptors<{ failure: { code: string; message: string } | null; scrape: string; after: number }>(`
      const { openStorage } = await import(${JSON.stringify(storageModule)});
      const { watchReadiness } = await import(${JSON.stringify(readinessModule)});
      const { Registry } = await import('prom-client');
      const { sql } = await import('kysely');
      const storage = await openStorage(${JSON.stringify(TEST_PG_URL)});
      const registry = new Registry();
      watchReadiness(registry, storage);
      const outcome = {};
      await storage.db.transaction().execute(async (trx) => {
        await sql\`select 1\`.execute(trx);
        takeAll();
        try {
          await sql\`select 1\`.execute(storage.db);
          outcome.failure = null;
        } catch (err) {
          outcome.failure = { code: err.code, message: err.message };
        }
        // A scrape meanwhile: its readiness check needs a connection too.
        takeAll();
        outcome.scrape = await registry.metrics();
        for (const fd of taken.splice(0)) fs.closeSync(fd);
      });
      outcome.after = (await sql\`select 1 as one\`.execute(storage.db)).rows[0].one;
      console.log(JSON.stringify(outcome));
      await storage.close();`);
      expect(outcome.failure?.code).toBe('EMFILE');
      expect(isStorageOutage(outcome.failure)).toBe(true);
      expect(new StorageUnavailableError('ingest', outcome.failure).message).toMatch(/no file descriptor left .*EMFILE/);
      // Prometheus, where operators alert, is told so: it said nothing until requests failed.
      expect(outcome.scrape).toMatch(/^tocsin_ready 0$/m);
      expect(outcome.scrape).toMatch(/^tocsin_not_ready\{cause="file_descriptors"\} 1$/m);
      expect(outcome.after).toBe(1);
    },
    60_000,
  );
});
