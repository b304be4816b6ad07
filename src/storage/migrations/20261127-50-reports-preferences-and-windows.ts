import type { Kysely } from 'kysely';
import { columnType } from '../dialect.js';

/**
 * Alert preferences of users and groups (only what was set explicitly: a missing row or a null
 * column inherits), address-level unsubscribes of group mailboxes, and the report windows already
 * decided, whose unique key is what makes each summary and daily report go out once.
 */
export async function up(db: Kysely<any>): Promise<void> {
  for (const [table, owner] of [
    ['user_alert_preferences', 'users.id'],
    ['group_alert_preferences', 'groups.id'],
  ] as const) {
    await db.schema
      .createTable(table)
      .addColumn('owner_id', 'text', (c) => c.primaryKey().references(owner).onDelete('cascade'))
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('subscriptions', columnType.json, (c) => c.notNull())
      .addColumn('ten_minute_summary', columnType.flag)
      .addColumn('daily_report', columnType.flag)
      .addColumn('fatal_immediately', columnType.flag)
      .addColumn('updated_at', columnType.time, (c) => c.notNull())
      .execute();
    await db.schema.createIndex(`${table}_tenant`).on(table).column('tenant_id').execute();
  }

  await db.schema
    .createTable('email_unsubscribes')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('address_key', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('created_at', columnType.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('email_unsubscribes_pk', ['tenant_id', 'address_key', 'kind'])
    .execute();

  await db.schema
    .createTable('report_windows')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('window_start', columnType.time, (c) => c.notNull())
    .addColumn('window_end', columnType.time, (c) => c.notNull())
    .addColumn('deliveries', 'integer', (c) => c.notNull())
    .addColumn('decided_at', columnType.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('report_windows_pk', ['tenant_id', 'kind', 'window_start'])
    .execute();
}
