/**
 * A save or clear of a tenant's SMTP server and what follows from it (the fallback no longer standing
 * in, the emails waiting for a retry due now) are one write: another process never reads the new
 * server with the fallback still standing in, or its emails still waiting for the old server's retry.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { insertTestTenant, testDelivery } from '../../test/support/outbox-fixtures.js';
import { afterEachStatement, createTestDatabase, describeEachDialect, type TestDatabase } from '../../test/support/storage.js';
import { enqueueDeliveries } from '../delivery/outbox/enqueue.js';
import { FakeClock } from '../shared/clock.js';
import { type Storage, openStorage } from '../storage/storage.js';
import { clearCustomSmtp, type MailSettingsInput, saveMailSettings } from './mail-settings.js';
import { SecretBox } from './secret-box.js';

const CUSTOM = { host: 'smtp.example.com', port: 587, security: 'starttls', username: 'alerts', password: 'a password', fromAddress: 'alerts@example.com' };

describeEachDialect("a change of a tenant's SMTP server as another process reads it", (dialect) => {
  let database: TestDatabase;
  let writer: Storage;
  let reader: Storage;
  const clock = new FakeClock(Date.UTC(2026, 11, 8, 12));
  const box = SecretBox.fromPassphrase('server-change');
  beforeAll(async () => {
    database = await createTestDatabase(dialect, { migrated: true });
    writer = await openStorage(database.url, { poolSize: 2 });
    reader = await openStorage(database.url, { poolSize: 2 });
  });
  afterAll(async () => {
    await reader?.close();
    await writer?.close();
    await database?.drop();
  });

  /** failingTenant is a tenant on its own server, which refused for good just now: the fallback stands in, an email waits 30 minutes for its retry. */
  async function failingTenant(name: string): Promise<{ tenantId: string; deliveryId: string }> {
    const tenantId = await insertTestTenant(writer.db, name);
    await saveMailSettings(writer.db, box, tenantId, { useCustom: true, fallbackToDefault: true, custom: CUSTOM } as MailSettingsInput, clock, {
      allowPrivateHosts: true,
    });
    const now = clock.now();
    const health = {
      state: 'failing',
      since: now,
      last_code: 550,
      last_error: '550 relay denied',
      permanent: 1,
      transient_since: null,
      incident: 1,
      updated_at: now,
    };
    await writer.db
      .insertInto('tenant_mail_health')
      .values({ tenant_id: tenantId, ...health })
      .execute();
    await enqueueDeliveries(writer.db, [testDelivery(tenantId, 'ops@example.com', { kind: 'alert' } as never)], clock);
    await writer.db
      .updateTable('deliveries')
      .set({ status: 'retrying', next_attempt_at: now + 30 * 60_000 })
      .where('tenant_id', '=', tenantId)
      .execute();
    const { id } = await writer.db.selectFrom('deliveries').select('id').where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
    return { tenantId, deliveryId: id };
  }

  /** stateOf is what another process reads of the tenant: its server, whether the fallback stands in, whether its email waits. */
  async function stateOf(tenantId: string, deliveryId: string) {
    const settings = await reader.db
      .selectFrom('tenant_mail_settings')
      .select(['use_custom', 'custom_smtp'])
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    const health = await reader.db.selectFrom('tenant_mail_health').select('permanent').where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
    const delivery = await reader.db.selectFrom('deliveries').select('next_attempt_at').where('id', '=', deliveryId).executeTakeFirstOrThrow();
    return {
      server: settings.use_custom === 1 ? JSON.parse(settings.custom_smtp!).host : 'default',
      fallbackStandsIn: Number(health.permanent) === 1,
      waiting: Number(delivery.next_attempt_at) > clock.now(),
    };
  }

  /**
   * changedInOneWrite runs `change` on a failing tenant, the other process reading after each of its
   * statements, and checks that the tenant was read as before the change or as after it, never between.
   */
  async function changedInOneWrite(name: string, serverAfter: string, change: (db: Storage['db'], tenantId: string) => Promise<unknown>): Promise<void> {
    const { tenantId, deliveryId } = await failingTenant(name);
    clock.advance(1_000);
    const seen: Awaited<ReturnType<typeof stateOf>>[] = [];
    await change(
      afterEachStatement(writer.db, async () => void seen.push(await stateOf(tenantId, deliveryId))),
      tenantId,
    );
    const before = JSON.stringify({ server: 'smtp.example.com', fallbackStandsIn: true, waiting: true });
    const after = { server: serverAfter, fallbackStandsIn: false, waiting: false };
    expect(await stateOf(tenantId, deliveryId)).toEqual(after);
    expect(seen.map((s) => JSON.stringify(s))).toContain(before);
    expect(seen.filter((s) => JSON.stringify(s) !== before && JSON.stringify(s) !== JSON.stringify(after))).toEqual([]);
  }

  it('saves a new custom server with the fallback stood down and the waiting email due, in one write', async () => {
    const fixed = { custom: { ...CUSTOM, host: 'fixed.example.com' } } as MailSettingsInput;
    await changedInOneWrite('saved', 'fixed.example.com', (db, tenantId) => saveMailSettings(db, box, tenantId, fixed, clock, { allowPrivateHosts: true }));
  }, 60_000);

  it('clears the custom server with the fallback stood down and the waiting email due, in one write', async () => {
    await changedInOneWrite('cleared', 'default', (db, tenantId) => clearCustomSmtp(db, tenantId, clock));
  }, 60_000);
});
