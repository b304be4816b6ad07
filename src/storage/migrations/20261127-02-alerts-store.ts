import { type Kysely, sql } from 'kysely';
import { columnType } from '../dialect.js';

/** Alerts, with the indexes of the list, the report windows, flood grouping and retention, and read state. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('alerts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('severity', 'integer', (c) => c.notNull())
    .addColumn('component', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('data', columnType.json)
    .addColumn('source', columnType.json)
    .addColumn('folder', 'text')
    .addColumn('dedup_key', 'text')
    .addColumn('group_id', 'text')
    .addColumn('occurred_at', columnType.time, (c) => c.notNull())
    .addColumn('created_at', columnType.time, (c) => c.notNull())
    .execute();
  // Newest-first lists, report windows and retention all walk a tenant's alerts by creation.
  await db.schema.createIndex('alerts_tenant_created').on('alerts').columns(['tenant_id', 'created_at', 'id']).execute();
  // Only alerts with a dedup key pay for these two: finding a key's last alert, and a flood's members.
  await db.schema
    .createIndex('alerts_tenant_dedup')
    .on('alerts')
    .columns(['tenant_id', 'dedup_key', 'created_at'])
    .where(sql.ref('dedup_key'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('alerts_tenant_group')
    .on('alerts')
    .columns(['tenant_id', 'group_id', 'created_at', 'id'])
    .where(sql.ref('group_id'), 'is not', null)
    .execute();

  await db.schema
    .createTable('alert_read_marks')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('read_through', columnType.time, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('alert_read_state')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('alert_id', 'text', (c) => c.notNull().references('alerts.id').onDelete('cascade'))
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('read', columnType.flag, (c) => c.notNull())
    .addPrimaryKeyConstraint('alert_read_state_pk', ['user_id', 'alert_id'])
    .execute();
  // Purging an alert cascades here; without this index every purged alert would scan the table.
  await db.schema.createIndex('alert_read_state_alert').on('alert_read_state').column('alert_id').execute();
}
