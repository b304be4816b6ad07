import type { Kysely } from 'kysely';

/** Retention forgets a tenant's oldest finished emails first (delivery/outbox/retention.ts); this index finds them. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('deliveries_tenant_created').on('deliveries').columns(['tenant_id', 'created_at']).execute();
}
