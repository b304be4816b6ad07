import { sql } from 'kysely';
import type { Db } from '../../storage/database.js';

const DAY_MS = 86_400_000;
/** The statuses of an email that is done with: nothing will send it or write its row again. */
const FINISHED = ['sent', 'failed'] as const;

/**
 * purgeExpiredDeliveries forgets, past each tenant's retention (`retention_days`, the one its
 * alerts keep), the emails that are done with (sent or failed) and their attempts, oldest first,
 * `batchSize` emails per statement so that sends and enqueues interleave with a large purge;
 * returns how many emails it forgot. Without it the outbox kept every email ever sent (a million
 * rows and more a day for a thousand tenants), and the delivery log showed them long after their
 * alerts had gone. An email not yet finished stays whatever its age: its deadline ends it, and
 * then a later purge. Forgetting an old email never lets it be sent again: its alert is past the
 * same retention and its report window long decided.
 */
export async function purgeExpiredDeliveries(db: Db, now: number, batchSize: number): Promise<number> {
  // One index seek per tenant (its oldest email), not a scan of every tenant's emails.
  const tenants = await db
    .selectFrom('tenants')
    .select(['id', 'retention_days'])
    .select((eb) =>
      eb
        .selectFrom('deliveries')
        .select(sql<number | string | null>`min(created_at)`.as('oldest'))
        .whereRef('deliveries.tenant_id', '=', 'tenants.id')
        .as('oldest'),
    )
    .execute();
  let deleted = 0;
  for (const tenant of tenants) {
    const cutoff = now - tenant.retention_days * DAY_MS;
    if (tenant.oldest === null || Number(tenant.oldest) >= cutoff) continue;
    for (;;) {
      const ids = (
        await db
          .selectFrom('deliveries')
          .select('id')
          .where('tenant_id', '=', tenant.id)
          .where('created_at', '<', cutoff)
          .where('status', 'in', FINISHED)
          .orderBy('created_at')
          .limit(batchSize)
          .execute()
      ).map((row) => row.id);
      if (ids.length === 0) break;
      // The attempts first: an interrupted purge leaves an email without its history for a minute, never the reverse.
      await db.deleteFrom('delivery_attempts').where('delivery_id', 'in', ids).execute();
      const result = await db.deleteFrom('deliveries').where('id', 'in', ids).executeTakeFirst();
      deleted += Number(result.numDeletedRows);
      if (ids.length < batchSize) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return deleted;
}
