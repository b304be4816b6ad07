import type { Db } from '../../src/storage/database.js';
import { newId } from '../../src/shared/ids.js';
import type { NewDelivery } from '../../src/delivery/outbox/enqueue.js';
import type { Dialect } from '../../src/storage/dialect.js';
import { type Storage, openStorage } from '../../src/storage/storage.js';
import { createTestDatabase } from './storage.js';
import { type TcpProxy, proxyFor, viaProxy } from './tcp-proxy.js';

/**
 * insertTestTenant adds a bare UTC tenant row (deliveries reference one) and returns its id: a new
 * one unless `id` is given (retention tests name tenants by id), keeping its alerts `retentionDays`
 * (30 unless told), created at `createdAt` (0 unless told).
 */
export async function insertTestTenant(
  db: Db,
  name: string,
  { id = newId(), retentionDays = 30, createdAt = 0 }: { id?: string; retentionDays?: number; createdAt?: number } = {},
): Promise<string> {
  await db
    .insertInto('tenants')
    .values({ id, name, display_name: name, time_zone: 'UTC', language: 'en', retention_days: retentionDays, created_at: createdAt })
    .execute();
  return id;
}

/** testDelivery is a ready-rendered email to `to` with a unique idempotency key unless one is given. */
export function testDelivery(tenantId: string, to: string, overrides: Partial<NewDelivery> = {}): NewDelivery {
  return {
    tenantId,
    kind: 'test',
    idempotencyKey: `test:${newId()}`,
    recipient: { address: to, name: 'Test Recipient', language: 'en', timeZone: 'UTC' },
    rendered: {
      subject: `Hello ${to}`,
      text: 'A test email.',
      html: '<p>A test email.</p>',
      headers: { 'X-Tocsin-Kind': 'test', 'X-Tocsin-Tenant': 'test' },
    },
    ...overrides,
  };
}

/** TestOutboxDatabase is a fresh migrated database and its URL, for tests that start child processes. */
export interface TestOutboxDatabase {
  readonly storage: Storage;
  readonly url: string;
  close(): Promise<void>;
}

/** openTestOutboxDatabase is openTestStorage plus the URL, so a child process can open the same database. */
export async function openTestOutboxDatabase(dialect: Dialect): Promise<TestOutboxDatabase> {
  const database = await createTestDatabase(dialect, { migrated: true });
  const storage = await openStorage(database.url, { poolSize: 4 });
  return {
    storage,
    url: database.url,
    async close() {
      await storage.close();
      await database.drop();
    },
  };
}

/** StorageBehindProxy is a fresh PostgreSQL outbox database that a test reaches through a proxy it can cut. */
export interface StorageBehindProxy {
  /** storage reaches the database through `proxy`, with a pool of 2. */
  readonly storage: Storage;
  readonly proxy: TcpProxy;
  /**
   * close restores the proxy, then runs `stop` (the loop under test, which may still be querying
   * and must be able to finish), then closes the storage, the proxy and the database.
   */
  close(stop: () => Promise<void>): Promise<void>;
}

/**
 * openStorageBehindProxy is what the outage tests of a background loop start from: a migrated
 * PostgreSQL outbox database, a TcpProxy in front of its server, and storage opened through it.
 */
export async function openStorageBehindProxy(): Promise<StorageBehindProxy> {
  const database = await openTestOutboxDatabase('postgres');
  const proxy = await proxyFor(database.url);
  const storage = await openStorage(viaProxy(database.url, proxy), { poolSize: 2 });
  return {
    storage,
    proxy,
    async close(stop) {
      proxy.restore();
      await stop();
      await storage.close();
      await proxy.close();
      await database.close();
    },
  };
}
