import type { Kysely } from 'kysely';

/** The delivery log's hourly chart counts a tenant's attempts by the time they ended; this index finds them. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('delivery_attempts_tenant_finished').on('delivery_attempts').columns(['tenant_id', 'finished_at']).execute();
}
