import type { Kysely } from 'kysely';
import { columnType } from '../dialect.js';

/**
 * The times of each tenant's recent Test Mail Settings sends, so that the limit of 10 a minute
 * (API.md) holds for the tenant as a whole, whichever process each request reaches: it was kept
 * in each process's memory, and every api process behind a load balancer allowed 10 more.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('test_mail_turns')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('at', columnType.time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('test_mail_turns_tenant_at').on('test_mail_turns').columns(['tenant_id', 'at']).execute();
}
