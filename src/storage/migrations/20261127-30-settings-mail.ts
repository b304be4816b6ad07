import type { Kysely } from 'kysely';
import { columnType } from '../dialect.js';

/** Tenant mail settings: the seed's Mail tab, with the custom SMTP values and sealed secrets. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tenant_mail_settings')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
    .addColumn('alerts_email_enabled', columnType.flag, (c) => c.notNull())
    .addColumn('use_custom', columnType.flag, (c) => c.notNull())
    .addColumn('daily_report_time', 'text', (c) => c.notNull())
    .addColumn('send_empty_daily_report', columnType.flag, (c) => c.notNull())
    .addColumn('custom_smtp', columnType.json)
    .addColumn('custom_password', 'text')
    .addColumn('custom_access_token', 'text')
    .addColumn('updated_at', columnType.time, (c) => c.notNull())
    .execute();
}
