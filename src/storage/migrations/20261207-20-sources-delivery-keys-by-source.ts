import type { Kysely } from 'kysely';
import { createSourceDeliveries } from './20261130-70-sources.js';

/** COPY_BATCH bounds the rows copied a statement (5 parameters each, within SQLite's 32,766). */
const COPY_BATCH = 2_000;

/**
 * Puts back the delivery keys' primary key (source_id, delivery_id) and their index by age in a
 * database that ran 20261207-10 while it indexed them by digest, copying every key with its alert
 * ids and time, so that a redelivery is still answered with its first ids. A database that did not
 * (its keys still by source and key) is left as it is.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const tables = await db.introspection.getTables();
  const keys = tables.find((t) => t.name === 'source_deliveries');
  if (!keys?.columns.some((c) => c.name === 'key_digest')) return;
  const digested = 'source_deliveries_by_digest';
  await db.schema.dropIndex('source_deliveries_source_received').execute();
  await db.schema.alterTable('source_deliveries').renameTo(digested).execute();
  await createSourceDeliveries(db);
  let after: Buffer | undefined;
  for (;;) {
    let page = db.selectFrom(digested).selectAll().orderBy('key_digest').limit(COPY_BATCH);
    if (after) page = page.where('key_digest', '>', after);
    const rows = await page.execute();
    if (rows.length === 0) break;
    await db
      .insertInto('source_deliveries')
      .values(rows.map(({ key_digest, ...row }) => row))
      .execute();
    after = rows.at(-1)!.key_digest as Buffer;
  }
  await db.schema.dropTable(digested).execute();
}
