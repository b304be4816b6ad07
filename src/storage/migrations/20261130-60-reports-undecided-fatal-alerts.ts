import type { Kysely } from 'kysely';
import { columnType } from '../dialect.js';

/**
 * The Fatal alerts whose immediate email is not yet decided: written in the transaction that
 * stores the alert and deleted in the one that decides it, so an alert whose decision was lost (a
 * crash between the commit and the decision) is still found, by one indexed query, and decided.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('undecided_fatal_alerts')
    .addColumn('alert_id', 'text', (c) => c.primaryKey().references('alerts.id').onDelete('cascade'))
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('created_at', columnType.time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('undecided_fatal_alerts_created').on('undecided_fatal_alerts').column('created_at').execute();
}
