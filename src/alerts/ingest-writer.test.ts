import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp } from '../../test/support/http.js';
import { createTestDatabase, describeEachDialect, type TestDatabase } from '../../test/support/storage.js';
import { StorageRejectedError } from '../storage/errors.js';
import { migrate } from '../storage/migrate.js';
import { type Storage, openStorage } from '../storage/storage.js';
import { type IngestWriter, packAlerts, startIngestWriter, unpackAlerts } from './ingest-writer.js';
import type { NewAlert } from './input.js';

const one = (message: string, severity: NewAlert['severity'] = 'Error'): NewAlert => ({
  severity,
  component: 'Jobs',
  event: 'Process.RaiseAlert',
  message,
  data: null,
  source: JSON.stringify({ robot: 'R1' }),
  folder: null,
  dedupKey: null,
  occurredAt: undefined,
});

it('hands the thread each alert as it was given, field by field', () => {
  const alerts = [one('plain'), { ...one('full', 'Fatal'), data: '{"a":1}', folder: 'Shared', dedupKey: 'k', occurredAt: 1_700_000_000_000 }];
  expect(unpackAlerts(structuredClone(packAlerts(alerts)))).toEqual(alerts);
});

// One writer for the file's tests, closed by the last: starting a thread that loads the decision's
// modules through tsx takes seconds.
describe('the ingest writer thread (SQLite)', () => {
  let database: TestDatabase;
  let storage: Storage;
  let writer: IngestWriter;
  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    storage = await openStorage(database.url);
    await migrate(storage);
    await storage.db
      .insertInto('tenants')
      .values({ id: 't', name: 't', display_name: 't', time_zone: 'UTC', language: 'en', retention_days: 30, created_at: 0 })
      .execute();
    writer = startIngestWriter({ databaseUrl: database.url, floodWindowMs: 600_000, undecided: () => {}, ring: () => {} });
  });
  afterAll(async () => {
    await writer.close();
    await storage.close();
    await database.drop();
  });

  it('stores concurrent batches, each caller hearing its own ids once they are committed and readable by other connections', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => writer.raise('t', [one(`${i}-a`), one(`${i}-b`)])));
    const rows = await storage.db.selectFrom('alerts').select(['id', 'message', 'source']).execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    results.forEach((ids, i) => {
      expect(ids.map((id) => byId.get(id)?.message)).toEqual([`${i}-a`, `${i}-b`]);
    });
    expect(byId.get(results[0]![0]!)?.source).toBe('{"robot":"R1"}');
  });

  it("refuses a batch the database refuses with the ingest stage's error, storing its neighbours", async () => {
    const outcomes = await Promise.allSettled([
      writer.raise('t', [one('before')]),
      writer.raise('no-such-tenant', [one('orphan')]),
      writer.raise('t', [one('after')]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const refusal = (outcomes[1] as PromiseRejectedResult).reason;
    expect(refusal).toBeInstanceOf(StorageRejectedError);
    expect(refusal).toMatchObject({ stage: 'ingest', kind: 'foreign-key', retryable: false });
  });

  it('finishes the commits under way before it closes, and then leaves the batches to the main thread', async () => {
    const raised = writer.raise('t', [one('last words')]);
    await writer.close();
    const [id] = await raised;
    expect(await storage.db.selectFrom('alerts').select('message').where('id', '=', id!).executeTakeFirst()).toEqual({ message: 'last words' });
    expect(writer.usable).toBe(false);
  });
});

describeEachDialect("an api process's ingestion", (dialect) => {
  it("answers 202 once a batch is committed, a Fatal alert's immediate email queued in that same commit", async () => {
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    try {
      await t.call('POST', '/api/v1/tenants', { name: 'writer' });
      await t.enableAlertEmails('writer');
      const di = (await t.call('POST', '/api/v1/tenants/writer/users', { email: 'di@example.com', name: 'di', roles: ['Alerts Viewer'] })).json().id;
      await t.call('PUT', `/api/v1/tenants/writer/users/${di}/alert-preferences`, { email: { fatalImmediately: true } });
      const res = await t.call('POST', '/api/v1/tenants/writer/alerts', {
        alerts: [
          { severity: 'Error', component: 'Jobs', message: 'not Fatal' },
          { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'robot 7 is offline' },
        ],
      });
      expect(res.statusCode).toBe(202);
      const ids = res.json<{ ids: string[] }>().ids;
      const db = t.tocsin.deps.storage.db;
      expect(await db.selectFrom('alerts').select('message').where('id', 'in', ids).orderBy('message').execute()).toEqual([
        { message: 'not Fatal' },
        { message: 'robot 7 is offline' },
      ]);
      // Decided in the alert's own commit: queued already, nothing left undecided.
      expect(await db.selectFrom('deliveries').select('recipient_address').where('kind', '=', 'immediate').execute()).toEqual([
        { recipient_address: 'di@example.com' },
      ]);
      expect(await db.selectFrom('undecided_fatal_alerts').selectAll().execute()).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
