import { z } from 'zod';
import { bucketOf } from '../../storage/buckets.js';
import type { Db } from '../../storage/database.js';
import type { TimeBuckets } from '../../shared/time-buckets.js';

/** AttemptCounts counts the attempts that ended in one period, by how they ended. */
export interface AttemptCounts {
  sent: number;
  /** Failed for now, tried again later (an interrupted attempt is tried again too). */
  retrying: number;
  /** Failed for good. */
  failed: number;
}

/** attemptCountsView documents an AttemptCounts in an answer. */
export const attemptCountsView = z.object({
  sent: z.number().int(),
  retrying: z.number().int().describe('Failed for now, tried again later'),
  failed: z.number().int().describe('Failed for good'),
});

/** FailingReply is the last reply of a failed attempt: what the failing server said, verbatim. */
export interface FailingReply {
  at: number;
  code: number | null;
  response: string | null;
  recipient: string;
  final: boolean;
}

const COUNTED: Record<string, keyof AttemptCounts> = { sent: 'sent', retry: 'retrying', interrupted: 'retrying', failed: 'failed' };

/**
 * attemptHistogram counts a tenant's delivery attempts per bucket by the time they ended and how;
 * the database groups and counts. Attempts, not emails: an email retried three times in an hour
 * shows three times, which is what tells a failing server from a quiet one.
 */
export async function attemptHistogram(db: Db, tenantId: string, buckets: TimeBuckets): Promise<AttemptCounts[]> {
  const { bounds } = buckets;
  const rows = await db
    .selectFrom('delivery_attempts')
    .select((eb) => [bucketOf('finished_at', bounds).as('bucket'), 'outcome', eb.fn.countAll<number | string>().as('n')])
    .where('tenant_id', '=', tenantId)
    .where('outcome', 'in', Object.keys(COUNTED))
    .where('finished_at', '>=', bounds[0]!)
    .where('finished_at', '<', bounds[bounds.length - 1]!)
    .groupBy(['bucket', 'outcome'])
    .execute();
  const counts = Array.from({ length: bounds.length - 1 }, (): AttemptCounts => ({ sent: 0, retrying: 0, failed: 0 }));
  for (const row of rows) counts[Number(row.bucket)]![COUNTED[row.outcome]!] += Number(row.n);
  return counts;
}

/** lastFailingReply is the newest failed or retried attempt since `since`, with its server's reply; null when none failed. */
export async function lastFailingReply(db: Db, tenantId: string, since: number): Promise<FailingReply | null> {
  const row = await db
    .selectFrom('delivery_attempts as a')
    .innerJoin('deliveries as d', 'd.id', 'a.delivery_id')
    .select(['a.finished_at', 'a.code', 'a.response', 'a.outcome', 'd.recipient_address'])
    .where('a.tenant_id', '=', tenantId)
    .where('a.outcome', 'in', ['retry', 'failed'])
    .where('a.finished_at', '>=', since)
    .orderBy('a.finished_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return null;
  return { at: Number(row.finished_at), code: row.code, response: row.response, recipient: row.recipient_address, final: row.outcome === 'failed' };
}
