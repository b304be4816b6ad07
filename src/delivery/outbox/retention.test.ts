import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newAlert } from '../../../test/support/alerts.js';
import type { NewAlert } from '../../alerts/input.js';
import { purgeExpiredAlerts } from '../../alerts/retention.js';
import { insertAlerts } from '../../alerts/store.js';
import { committedFatalFloods, type FatalFlood } from '../../reports/alert-facts.js';
import { idempotencyKey } from '../idempotency-key.js';
import { FakeClock } from '../../shared/clock.js';
import { newId } from '../../shared/ids.js';
import type { Storage } from '../../storage/storage.js';
import { insertTestTenant, testDelivery } from '../../../test/support/outbox-fixtures.js';
import { describeEachDialect, openTestStorage, planOf } from '../../../test/support/storage.js';
import { up as indexRecipients } from '../../storage/migrations/20261202-20-deliveries-by-recipient.js';
import { enqueueDeliveries } from './enqueue.js';
import { oldestEmails, purgeExpiredDeliveries } from './retention.js';
import type { DeliveryStatus } from './tables.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');

describeEachDialect('email retention', (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
    for (const [name, days] of [
      ['short', 7],
      ['long', 30],
    ] as const) {
      await insertTestTenant(storage.db, name, { id: name, retentionDays: days, createdAt: T0 });
    }
  });
  afterAll(() => storage.close());

  /** email queues one email of `tenant` at `at`, leaves it in `status` with one attempt logged, and returns its recipient. */
  async function email(tenant: string, at: number, status: DeliveryStatus): Promise<string> {
    const to = `${status}-${newId()}@acme.example`;
    await enqueueDeliveries(storage.db, [testDelivery(tenant, to)], new FakeClock(at));
    const { id } = await storage.db.selectFrom('deliveries').select('id').where('recipient_address', '=', to).executeTakeFirstOrThrow();
    await storage.db.updateTable('deliveries').set({ status, attempts: 1 }).where('id', '=', id).execute();
    await storage.db
      .insertInto('delivery_attempts')
      .values({
        id: newId(),
        delivery_id: id,
        tenant_id: tenant,
        attempt: 1,
        worker: 'test',
        started_at: at,
        finished_at: at + 1_000,
        outcome: status === 'sent' ? 'sent' : status === 'failed' ? 'failed' : 'retry',
        code: 250,
        response: '250 OK',
        duration_ms: 1_000,
      })
      .execute();
    return to;
  }

  const left = async (tenant: string) =>
    (await storage.db.selectFrom('deliveries').select('recipient_address').where('tenant_id', '=', tenant).orderBy('created_at').execute()).map(
      (row) => row.recipient_address,
    );
  const attemptsOf = async (tenant: string) =>
    Number(
      (
        await storage.db
          .selectFrom('delivery_attempts')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('tenant_id', '=', tenant)
          .executeTakeFirstOrThrow()
      ).n,
    );

  it("forgets the finished emails older than the tenant's retention, and their attempts, and keeps the rest", async () => {
    const old = T0;
    const recent = T0 + 5 * DAY;
    await email('short', old, 'sent');
    await email('short', old + 1, 'failed');
    const stillRetrying = await email('short', old + 2, 'retrying');
    const stillPending = await email('short', old + 3, 'pending');
    const sentRecently = await email('short', recent, 'sent');
    // Another tenant keeps its emails for 30 days: as old, they stay.
    const otherTenant = await email('long', old, 'sent');

    // Batches of 1: the loop goes on until the tenant has none left to forget.
    expect(await purgeExpiredDeliveries(storage.db, T0 + 8 * DAY, 1)).toBe(2);

    expect(await left('short')).toEqual([stillRetrying, stillPending, sentRecently]);
    expect(await attemptsOf('short')).toBe(3);
    expect(await left('long')).toEqual([otherTenant]);
    expect(await attemptsOf('long')).toBe(1);

    // Past 30 days, the other tenant's goes too, with the first tenant's recent one; then nothing is left to forget.
    expect(await purgeExpiredDeliveries(storage.db, T0 + 31 * DAY, 100)).toBe(2);
    expect(await left('short')).toEqual([stillRetrying, stillPending]);
    expect(await left('long')).toEqual([]);
    expect(await attemptsOf('long')).toBe(0);
    expect(await purgeExpiredDeliveries(storage.db, T0 + 31 * DAY, 100)).toBe(0);
  });

  it("keeps a Fatal flood's immediate email while the flood goes on, so a repeat past the retention is not emailed again", async () => {
    const db = storage.db;
    await insertTestTenant(db, 'flapping', { id: 'flapping', retentionDays: 1, createdAt: T0 });
    const offline: NewAlert = newAlert({ severity: 'Fatal', component: 'Robots', event: 'Robot.Offline', message: 'R7 is offline', dedupKey: 'robot-7' });
    // A flood slides: each repeat within the window joins it. Repeats a day apart stand for a robot
    // failing every few minutes for days (the default 10-minute window), in a few rows.
    const floodWindowMs = 2 * DAY;
    const to = 'ops@acme.example';
    const immediate = (flood: FatalFlood) =>
      testDelivery('flapping', to, { kind: 'immediate', idempotencyKey: idempotencyKey('immediate', 'flapping', flood.groupId, to) });
    const raise = async (at: number) => {
      const ids = await insertAlerts(db, 'flapping', [offline], at, floodWindowMs);
      const [flood] = await committedFatalFloods(db, 'flapping', ids);
      return flood!;
    };

    const flood = await raise(T0);
    expect(await enqueueDeliveries(db, [immediate(flood)], new FakeClock(T0))).toBe(1);
    await db.updateTable('deliveries').set({ status: 'sent', attempts: 1 }).where('tenant_id', '=', 'flapping').execute();
    // A test email of the same millisecond, queued after it: in batches of one, the purge passes the kept email to forget this one.
    await email('flapping', T0, 'sent');
    for (let day = 1; day <= 3; day++) {
      const repeat = await raise(T0 + day * DAY);
      expect(repeat.groupId).toBe(flood.groupId);
      // The retention loop runs: the flood's first alerts go, and its email stays, so the repeat's decision finds it.
      await purgeExpiredAlerts(db, T0 + day * DAY + 1);
      expect(await purgeExpiredDeliveries(db, T0 + day * DAY + 1, 1)).toBe(day === 1 ? 1 : 0);
      expect(await enqueueDeliveries(db, [immediate(repeat)], new FakeClock(T0 + day * DAY + 2))).toBe(0);
    }

    // The flood over and its last alert forgotten, its email goes too.
    await purgeExpiredAlerts(db, T0 + 5 * DAY);
    expect(await purgeExpiredDeliveries(db, T0 + 5 * DAY, 100)).toBe(1);
    expect(await left('flapping')).toEqual([]);
  });

  it.runIf(dialect === 'sqlite')('finds each tenant oldest email by its age index once the recipient index is added to an analyzed database', async () => {
    const db = storage.db;
    await insertTestTenant(db, 'analyzed', { id: 'analyzed', retentionDays: 7, createdAt: T0 });
    // A tenant of a few thousand emails, so that tenant_id alone says little in the statistics.
    await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < 3000)
      insert into deliveries (id, tenant_id, kind, idempotency_key, recipient_address, recipient_language, recipient_time_zone, payload, message_id, status, attempts, next_attempt_at, created_at)
      select 'd' || i, 'analyzed', 'test', 'k' || i, 'r' || (i % 50) || '@acme.example', 'en', 'UTC', '{}', '<' || i || '@acme>', 'sent', 1, ${T0} + i, ${T0} + i from n`.execute(
      db,
    );
    // A database analyzed before the migration: every index but the new one has statistics.
    await sql`drop index deliveries_tenant_recipient`.execute(db);
    await sql`analyze`.execute(db);
    await indexRecipients(db, 'sqlite');
    try {
      expect(await planOf(db, oldestEmails(db).compile())).toMatch(/SEARCH deliveries USING COVERING INDEX deliveries_tenant_created \(tenant_id=\?\)/);
    } finally {
      // Its 3,000 sent emails are past 7 days' retention for the purges of the other tests, in whatever order they run.
      await db.deleteFrom('deliveries').where('tenant_id', '=', 'analyzed').execute();
    }
  });
});
