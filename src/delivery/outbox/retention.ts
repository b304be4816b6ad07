import { sql } from 'kysely';
import type { Db } from '../../storage/database.js';
import { floodOfImmediateKey } from '../idempotency-key.js';
import { FINISHED_STATUSES } from './tables.js';

const DAY_MS = 86_400_000;

/** oldestEmails is each tenant's retention and the creation time of its oldest email: one index seek per tenant, not a scan of every tenant's emails. */
export function oldestEmails(db: Db) {
  return db
    .selectFrom('tenants')
    .select(['id', 'retention_days'])
    .select((eb) =>
      eb
        .selectFrom('deliveries')
        .select(sql<number | string | null>`min(created_at)`.as('oldest'))
        .whereRef('deliveries.tenant_id', '=', 'tenants.id')
        .as('oldest'),
    );
}

/**
 * purgeExpiredDeliveries forgets, past each tenant's retention (`retention_days`, the one its
 * alerts keep), the emails that are done with (sent or failed) and their attempts, oldest first,
 * `batchSize` emails per statement so that sends and enqueues interleave with a large purge;
 * returns how many emails it forgot. Without it the outbox kept every email ever sent (a million
 * rows and more a day for a thousand tenants), and the delivery log showed them long after their
 * alerts had gone. An email not yet finished stays whatever its age: its deadline ends it, and
 * then a later purge. Forgetting an old email never lets it be sent again: its report window is
 * long decided (report_windows), a mail-health notice is claimed in mail_health_notices, and an
 * immediate email stays as long as its Fatal flood has an alert stored (liveFloods).
 */
export async function purgeExpiredDeliveries(db: Db, now: number, batchSize: number): Promise<number> {
  const tenants = await oldestEmails(db).execute();
  let deleted = 0;
  for (const tenant of tenants) {
    const cutoff = now - tenant.retention_days * DAY_MS;
    if (tenant.oldest === null || Number(tenant.oldest) >= cutoff) continue;
    // Paged by (created_at, id): an email kept for its flood stays in place, and the next page starts after it.
    let after: { createdAt: number; id: string } | undefined;
    for (;;) {
      const page = await db
        .selectFrom('deliveries')
        .select(['id', 'created_at', 'kind', 'idempotency_key'])
        .where('tenant_id', '=', tenant.id)
        .where('created_at', '<', cutoff)
        .where('status', 'in', FINISHED_STATUSES)
        .$if(after !== undefined, (q) =>
          q
            // The bound alone is what an index range uses; the pair says where in a millisecond the page ended.
            .where('created_at', '>=', after!.createdAt)
            .where((eb) => eb.or([eb('created_at', '>', after!.createdAt), eb('id', '>', after!.id)])),
        )
        .orderBy('created_at')
        .orderBy('id')
        .limit(batchSize)
        .execute();
      if (page.length === 0) break;
      const last = page[page.length - 1]!;
      after = { createdAt: Number(last.created_at), id: last.id };
      const live = await liveFloods(db, tenant.id, page);
      const ids = page.filter((row) => !live.has(row.id)).map((row) => row.id);
      if (ids.length > 0) {
        // Its attempts go with it (on delete cascade), in the same statement.
        const result = await db.deleteFrom('deliveries').where('id', 'in', ids).executeTakeFirst();
        deleted += Number(result.numDeletedRows);
      }
      if (page.length < batchSize) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return deleted;
}

/**
 * liveFloods picks, among some emails of a tenant, the immediate ones whose Fatal flood still has
 * an alert stored. A flood slides (a robot failing every few minutes for days is one flood), and
 * its one email per recipient is kept from being queued again only by its row's idempotency key:
 * forgotten while the flood goes on, the flood's next repeat would email everyone a second time.
 * Once the flood's last alert is past the retention too, nothing can join the flood any more.
 */
async function liveFloods(db: Db, tenantId: string, rows: readonly { id: string; kind: string; idempotency_key: string }[]): Promise<Set<string>> {
  const floodOf = new Map<string, string>();
  for (const row of rows) {
    const flood = row.kind === 'immediate' ? floodOfImmediateKey(row.idempotency_key, tenantId) : undefined;
    if (flood !== undefined) floodOf.set(row.id, flood);
  }
  if (floodOf.size === 0) return new Set();
  const stored = await db
    .selectFrom('alerts')
    .select('group_id')
    .distinct()
    .where('tenant_id', '=', tenantId)
    .where('group_id', 'in', [...new Set(floodOf.values())])
    .execute();
  const live = new Set(stored.map((row) => row.group_id));
  return new Set([...floodOf].filter(([, flood]) => live.has(flood)).map(([id]) => id));
}
