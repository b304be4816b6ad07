import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { createTenant } from '../access/tenants.js';
import { SecretBox } from '../settings/secret-box.js';
import { systemClock } from '../shared/clock.js';
import type { Dialect } from '../storage/dialect.js';
import { migratorFor } from '../storage/migrate.js';
import { openStorage } from '../storage/storage.js';
import { mapOrchestratorEvent } from './mapping/orchestrator.js';
import type { MappedAlerts } from './mapping/shared.js';
import { signOrchestrator } from './signatures.js';
import { DELIVERY_KEY_DAYS, createSource, purgeOldDeliveries } from './store.js';

/** More keys than a migration copies a statement (2,000), so that it pages through them. */
const OLDER_KEYS = 2_500;
const TENANT = 'keys-before-upgrade';

/**
 * byDigest lays the keys out as 20261207-10 did while it indexed them by a 16-byte digest of the
 * source and key (main of 2026-12-07 from 08:41 UTC, 0f09589e, until its withdrawal), their ids and times as they were.
 */
async function byDigest(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const rows = await db.selectFrom('source_deliveries').selectAll().execute();
  await db.schema.dropTable('source_deliveries').execute();
  await db.schema
    .createTable('source_deliveries')
    .addColumn('key_digest', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.primaryKey())
    .addColumn('source_id', 'text', (c) => c.notNull().references('sources.id').onDelete('cascade'))
    .addColumn('delivery_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('alert_ids', 'text', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('source_deliveries_source_received').on('source_deliveries').columns(['source_id', 'received_at']).execute();
  const digest = (sourceId: string, key: string) => crypto.createHash('sha256').update(sourceId).update('\n').update(key).digest().subarray(0, 16);
  for (let at = 0; at < rows.length; at += 1_000) {
    await db
      .insertInto('source_deliveries')
      .values(rows.slice(at, at + 1_000).map((row) => ({ key_digest: digest(row.source_id, row.delivery_id), ...row })))
      .execute();
  }
}

/** The layouts an installation's keys may be in before this version: as of 2026-12-06, and as 20261207-10 left them. */
const LAYOUTS = [
  { name: 'by source and key (2026-12-06)', migratedTo: '20261206-10-deliveries-urgent-due', relaid: undefined },
  { name: 'by digest (20261207-10 while it did so)', migratedTo: '20261207-10-sources-delivery-key-digests', relaid: byDigest },
] as const;

const jobFaulted = (eventId: string, jobKey: string, folder: number) => ({
  Type: 'job.faulted',
  EventId: eventId,
  Timestamp: new Date().toISOString(),
  Job: { Id: 7, Key: jobKey, State: 'Faulted', Info: 'It failed', Robot: { Id: 1, Name: 'R1', MachineName: 'PC' }, Release: { ProcessKey: 'P' } },
  TenantId: 1,
  OrganizationUnitId: folder,
});

for (const layout of LAYOUTS)
  describeEachDialect(`delivery keys received before an upgrade, laid out ${layout.name}`, (dialect) => {
    let t: TestApp;
    let source: { id: string; secret: string };
    const receivedAt = Date.now() - 60_000;
    const jobKey = crypto.randomUUID();
    const first = jobFaulted('ev-before-upgrade', jobKey, 1);
    const firstIds = ['01a2aaaa-0000-7000-8000-000000000001'];

    beforeAll(async () => {
      t = await startTestApp(
        dialect,
        {},
        {},
        {
          // An installation of 2026-12-06: a source that received an event (its event and content keys) and many others.
          prepare: async (database, dataDir) => {
            const storage = await openStorage(database.url, { poolSize: 1 });
            try {
              const { error } = await migratorFor(storage).migrateTo(layout.migratedTo);
              if (error) throw error;
              const tenant = await createTenant(storage.db, { name: TENANT }, systemClock);
              const created = await createSource(storage.db, SecretBox.fromDataDir(dataDir), systemClock, tenant.id, {
                name: 'orchestrator',
                kind: 'orchestrator-webhook',
              });
              source = { id: created.row.id, secret: created.secret };
              const text = JSON.stringify(first);
              const { deliveryKeys } = mapOrchestratorEvent(first, text, { events: {} }) as MappedAlerts;
              expect(deliveryKeys).toHaveLength(2);
              const row = (key: string, ids: readonly string[]) => ({
                source_id: source.id,
                delivery_id: key,
                tenant_id: tenant.id,
                alert_ids: JSON.stringify(ids),
                received_at: receivedAt,
              });
              const rows = [
                ...deliveryKeys.map((key) => row(key, firstIds)),
                ...Array.from({ length: OLDER_KEYS }, (_, i) => row(`event:older-${i}`, [`older-${i}`])),
              ];
              const old = storage.db as unknown as Kysely<any>;
              for (let at = 0; at < rows.length; at += 1_000)
                await old
                  .insertInto('source_deliveries')
                  .values(rows.slice(at, at + 1_000))
                  .execute();
              await layout.relaid?.(old, dialect);
            } finally {
              await storage.close();
            }
          },
        },
      );
    });
    afterAll(() => t.close());

    const receive = (event: Record<string, unknown>) => {
      const body = JSON.stringify(event);
      return t.tocsin.app.inject({
        method: 'POST',
        url: `/api/v1/sources/${source.id}/receive`,
        headers: { 'content-type': 'application/json', 'x-uipath-signature': signOrchestrator(Buffer.from(source.secret), body) },
        payload: body,
      });
    };
    const storedAlerts = async () => (await t.call('GET', `/api/v1/tenants/${TENANT}/alerts?limit=1000`)).json<{ items: unknown[] }>().items.length;
    const keysOf = async () =>
      Number(
        (
          await t.tocsin.deps.storage.db
            .selectFrom('source_deliveries')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );

    it('answers a redelivery and a copy from another folder of an event received before with its first ids, stores a new event once, and purges and deletes them all', async () => {
      // By source and key again, every key kept.
      const [table] = (await t.tocsin.deps.storage.db.introspection.getTables()).filter((table) => table.name === 'source_deliveries');
      expect(table?.columns.map((c) => c.name)).toEqual(['source_id', 'delivery_id', 'tenant_id', 'alert_ids', 'received_at']);
      expect(await keysOf()).toBe(OLDER_KEYS + 2);

      const again = await receive(first);
      expect(again.statusCode, again.body).toBe(202);
      expect(again.json().ids).toEqual(firstIds);
      const copy = await receive(jobFaulted('ev-copy-in-folder-2', jobKey, 2));
      expect(copy.statusCode, copy.body).toBe(202);
      expect(copy.json().ids).toEqual(firstIds);
      expect(await storedAlerts()).toBe(0);

      const fresh = jobFaulted('ev-after-upgrade', crypto.randomUUID(), 1);
      const stored = await receive(fresh);
      expect(stored.statusCode, stored.body).toBe(202);
      const [id] = stored.json().ids;
      expect((await receive(fresh)).json().ids).toEqual([id]);
      expect(await storedAlerts()).toBe(1);

      // The older keys past the migration's first page were copied too: each is purged once it is old enough.
      const db = t.tocsin.deps.storage.db;
      expect(await purgeOldDeliveries(db, receivedAt + DELIVERY_KEY_DAYS * 86_400_000 + 1, 1_000)).toBe(OLDER_KEYS + 2);
      expect(await keysOf()).toBe(2);
      expect((await t.call('DELETE', `/api/v1/tenants/${TENANT}/sources/${source.id}`)).statusCode).toBe(204);
      expect(await keysOf()).toBe(0);
    });
  });
