import type { Kysely } from 'kysely';
import { columnType } from '../dialect.js';

/**
 * When each tenant's summary and daily windows next need a look, so that the scheduler finds the
 * due ones by one indexed query across tenants instead of asking every tenant every second. The
 * scheduler adds the rows of tenants that have none when it starts (existing tenants included).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('report_schedule')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('due_at', columnType.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('report_schedule_pk', ['tenant_id', 'kind'])
    .execute();
  await db.schema.createIndex('report_schedule_due').on('report_schedule').column('due_at').execute();
}
