import { sql } from 'kysely';
import { z } from 'zod';
import { bucketOf } from '../storage/buckets.js';
import type { Db } from '../storage/database.js';
import type { TimeBuckets } from '../shared/time-buckets.js';
import { SEVERITIES, type Severity, severityOfRank, severityRank } from './severity.js';
import { bySeverity } from './severity-index.js';

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
 * severity; the database groups and counts, one row per non-empty bucket and severity. Each
 * severity is counted by a select of its own (one statement, their union), which both engines read
 * from alerts_tenant_severity alone: on alerts_tenant_created each alert's row was read for its
 * severity (30 days of 11,000 alerts a day: 2.2 s on SQLite, 1.0 s on PostgreSQL).
 */
export async function alertHistogram(db: Db, tenantId: string, buckets: TimeBuckets): Promise<SeverityCounts[]> {
  const { bounds } = buckets;
  const ofRank = (rank: number) =>
    db
      .selectFrom('alerts')
      .select((eb) => [bucketOf('created_at', bounds).as('bucket'), sql.lit(rank).as('severity'), eb.fn.countAll<number | string>().as('n')])
      .where('tenant_id', '=', tenantId)
      .where(bySeverity('severity'), '=', -rank)
      .where('created_at', '>=', bounds[0]!)
      .where('created_at', '<', bounds[bounds.length - 1]!)
      .groupBy('bucket');
  const [first, ...rest] = SEVERITIES.map((severity) => ofRank(severityRank(severity)));
  const rows = await rest.reduce((union, query) => union.unionAll(query), first!).execute();
  const counts = Array.from({ length: bounds.length - 1 }, noSeverities);
  for (const row of rows) counts[Number(row.bucket)]![severityOfRank(Number(row.severity))] += Number(row.n);
  return counts;
}
