import { type RawBuilder, sql } from 'kysely';

/**
 * bySeverity is the expression that alerts_tenant_severity indexes after the tenant: `-severity`,
 * the most severe first (migration 20261207-10-alerts-by-severity). A query reads that index by
 * equality on it, one severity's alerts by creation; a condition on the plain column never does,
 * which is why it is an expression (see the migration). On PostgreSQL the index is five partial
 * ones, one per rank, whose predicate is this condition (migration 20261207-60): keep the two alike.
 */
export function bySeverity(column: 'severity' | 'a.severity'): RawBuilder<number> {
  return sql<number>`(-${sql.ref(column)})`;
}
