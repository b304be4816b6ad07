import { z } from 'zod';
import { bucketOf } from '../storage/buckets.js';
import type { Db } from '../storage/database.js';
import type { TimeBuckets } from '../shared/time-buckets.js';
import { SEVERITIES, type Severity, severityOfRank } from './severity.js';

/** SeverityCounts counts alerts per severity. */
export type SeverityCounts = Record<Severity, number>;

/** severityCountsView documents a SeverityCounts in an answer. */
export const severityCountsView = z.object(Object.fromEntries(SEVERITIES.map((s) => [s, z.number().int()])) as Record<Severity, z.ZodNumber>);

/** noSeverities is a SeverityCounts of zeros. */
export function noSeverities(): SeverityCounts {
  return Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as SeverityCounts;
}

/**
 * alertHistogram counts a tenant's alerts per bucket (by createdAt, as the list filters) and
 * severity; the database groups and counts, one row per non-empty bucket and severity.
 */
export async function alertHistogram(db: Db, tenantId: string, buckets: TimeBuckets): Promise<SeverityCounts[]> {
  const { bounds } = buckets;
  const rows = await db
    .selectFrom('alerts')
    .select((eb) => [bucketOf('created_at', bounds).as('bucket'), 'severity', eb.fn.countAll<number | string>().as('n')])
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', bounds[0]!)
    .where('created_at', '<', bounds[bounds.length - 1]!)
    .groupBy(['bucket', 'severity'])
    .execute();
  const counts = Array.from({ length: bounds.length - 1 }, noSeverities);
  for (const row of rows) counts[Number(row.bucket)]![severityOfRank(row.severity)] += Number(row.n);
  return counts;
}
