import type { Kysely } from 'kysely';
import { deliveryKeyDigest } from '../../sources/key-digest.js';
import { type Dialect, columnType } from '../dialect.js';

/** COPY_BATCH bounds the rows copied a statement (6 parameters each, within SQLite's 32,766). */
const COPY_BATCH = 2_000;

/**
 * The receivers' delivery keys are indexed by a 16-byte digest of the source and key
 * (sources/key-digest.ts) instead of the two as text: an orchestrator-webhook event inserts two
 * keys at random places in that index, and smaller entries rewrite fewer pages a commit. The
 * source's keys are found for a purge and for its deletion's cascade by source and age. The keys
 * received before are copied with their digests, so a redelivery after the upgrade is still
 * answered with its first ids.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const before = 'source_deliveries_before_digests';
  await db.schema.dropIndex('source_deliveries_received').execute();
  await db.schema.alterTable('source_deliveries').renameTo(before).execute();
  await db.schema
    .createTable('source_deliveries')
    .addColumn('key_digest', dialect === 'postgres' ? 'bytea' : 'blob', (c) => c.primaryKey())
    .addColumn('source_id', 'text', (c) => c.notNull().references('sources.id').onDelete('cascade'))
    .addColumn('delivery_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('alert_ids', columnType.json, (c) => c.notNull())
    .addColumn('received_at', columnType.time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('source_deliveries_source_received').on('source_deliveries').columns(['source_id', 'received_at']).execute();
  let after: { source_id: string; delivery_id: string } | undefined;
  for (;;) {
    let page = db.selectFrom(before).selectAll().orderBy('source_id').orderBy('delivery_id').limit(COPY_BATCH);
    if (after) {
      const last = after;
      page = page.where((eb) => eb(eb.refTuple('source_id', 'delivery_id'), '>', eb.tuple(last.source_id, last.delivery_id)));
    }
    const rows = await page.execute();
    if (rows.length === 0) break;
    await db
      .insertInto('source_deliveries')
      .values(rows.map((row) => ({ key_digest: deliveryKeyDigest(row.source_id, row.delivery_id), ...row })))
      .execute();
    after = rows.at(-1) as { source_id: string; delivery_id: string };
  }
  await db.schema.dropTable(before).execute();
}
