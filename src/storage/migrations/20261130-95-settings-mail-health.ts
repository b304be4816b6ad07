import type { Kysely } from 'kysely';
import { columnType } from '../dialect.js';

/**
 * Mail health (issue 13): the tenant setting `fallbackToDefault` (off for every tenant until it
 * says otherwise), one health row per tenant kept by the outcomes of its deliveries, and the
 * notices of each failing incident, whose primary key is what makes each notice happen once
 * whatever the number of workers and restarts.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('tenant_mail_settings')
    .addColumn('fallback_to_default', columnType.flag, (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('tenant_mail_health')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('since', columnType.time)
    .addColumn('last_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('permanent', columnType.flag, (c) => c.notNull().defaultTo(0))
    .addColumn('transient_since', columnType.time)
    .addColumn('incident', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', columnType.time, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('mail_health_notices')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('incident', 'integer', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('created_at', columnType.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('mail_health_notices_pk', ['tenant_id', 'incident', 'kind'])
    .execute();
}
