import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { columnType } from '../dialect.js';

/** The durable outbox: one `deliveries` row per email and one `delivery_attempts` row per try. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('recipient_address', 'text', (c) => c.notNull())
    .addColumn('recipient_name', 'text')
    .addColumn('recipient_language', 'text', (c) => c.notNull())
    .addColumn('recipient_time_zone', 'text', (c) => c.notNull())
    .addColumn('recipient_user_id', 'text')
    .addColumn('recipient_group_id', 'text')
    .addColumn('window_start', columnType.time)
    .addColumn('window_end', columnType.time)
    .addColumn('payload', columnType.json, (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', columnType.time, (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_token', 'text')
    .addColumn('lease_expires_at', columnType.time)
    .addColumn('last_error', 'text')
    .addColumn('last_code', 'integer')
    .addColumn('smtp_response', 'text')
    .addColumn('created_at', columnType.time, (c) => c.notNull())
    .addColumn('sent_at', columnType.time)
    .addColumn('deadline', columnType.time)
    .addUniqueConstraint('deliveries_tenant_idempotency_key', ['tenant_id', 'idempotency_key'])
    .execute();

  // The claim query reads only unfinished rows by due time; a leased row's next_attempt_at is its
  // lease expiry, so one index finds both due rows and rows whose worker died.
  await db.schema
    .createIndex('deliveries_due')
    .on('deliveries')
    .column('next_attempt_at')
    .where(sql.ref('status'), 'in', ['pending', 'sending', 'retrying'])
    .execute();
  // The delivery log pages a tenant's rows newest first by id (UUIDv7, time-ordered).
  await db.schema.createIndex('deliveries_log').on('deliveries').columns(['tenant_id', 'id']).execute();
  await db.schema.createIndex('deliveries_log_status').on('deliveries').columns(['tenant_id', 'status', 'id']).execute();

  await db.schema
    .createTable('delivery_attempts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('delivery_id', 'text', (c) => c.notNull().references('deliveries.id').onDelete('cascade'))
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('worker', 'text', (c) => c.notNull())
    .addColumn('started_at', columnType.time, (c) => c.notNull())
    .addColumn('finished_at', columnType.time)
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('code', 'integer')
    .addColumn('response', 'text')
    .addColumn('duration_ms', 'integer')
    .execute();
  await db.schema.createIndex('delivery_attempts_delivery').on('delivery_attempts').columns(['delivery_id', 'attempt']).execute();
}
