import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { createTenant } from '../access/tenants.js';
import { SecretBox } from '../settings/secret-box.js';
import { systemClock } from '../shared/clock.js';
import { migratorFor } from '../storage/migrate.js';
import { openStorage } from '../storage/storage.js';
import { mapOrchestratorEvent } from './mapping/orchestrator.js';
import type { MappedAlerts } from './mapping/shared.js';
import { signOrchestrator } from './signatures.js';
import { DELIVERY_KEY_DAYS, createSource, purgeOldDeliveries } from './store.js';

/** The last migration before the delivery keys were indexed by their digests (20261207-10). */
const BEFORE_DIGESTS = '20261206-10-deliveries-urgent-due';
/** More keys than the migration copies a statement (2,000), so that it pages through them. */
const OLDER_KEYS = 2_500;
const TENANT = 'keys-before-digests';

const jobFaulted = (eventId: string, jobKey: string, folder: number) => ({
  Type: 'job.faulted',
  EventId: eventId,
  Timestamp: new Date().toISOString(),
  Job: { Id: 7, Key: jobKey, State: 'Faulted', Info: 'It failed', Robot: { Id: 1, Name: 'R1', MachineName: 'PC' }, Release: { ProcessKey: 'P' } },
  TenantId: 1,
  OrganizationUnitId: folder,
});

describeEachDialect('delivery keys received before the upgrade that indexes them by digest', (dialect) => {
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
            const { error } = await migratorFor(storage).migrateTo(BEFORE_DIGESTS);
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
