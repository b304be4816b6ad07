import type { Kysely } from 'kysely';
import { columnType } from '../dialect.js';

/**
 * The host administrator's read state in each tenant: API.md gives mark-read, mark-unread and the
 * unread count to every caller with Alerts.View, and the host administrator's token works on every
 * tenant, but it is no user, so alert_read_marks and alert_read_state (keyed by users) cannot hold
 * it. A watermark per tenant, and the exceptions to it, one row per alert (an alert has one tenant).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('host_alert_read_marks')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
    .addColumn('read_through', columnType.time, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('host_alert_read_state')
    .addColumn('alert_id', 'text', (c) => c.primaryKey().references('alerts.id').onDelete('cascade'))
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('read', columnType.flag, (c) => c.notNull())
    .execute();
  // The oldest alert marked unread, looked up per request (readerFor), and the drop of a mark all read.
  await db.schema.createIndex('host_alert_read_state_tenant').on('host_alert_read_state').columns(['tenant_id', 'read']).execute();
}
