import { type Kysely, sql } from 'kysely';

/**
 * The delivery log's recipient filter (`lower(recipient_address) = ?`, newest first) reads one
 * recipient's emails from this index: without it each page walked the tenant's whole log by id
 * (400,000 emails of a year: 2-3 s for `GET /deliveries?recipient=…` of someone with a few
 * hundred). The expression is the filter's own, which both engines match to the index.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index deliveries_tenant_recipient on deliveries (tenant_id, lower(recipient_address), id)`.execute(db);
}
