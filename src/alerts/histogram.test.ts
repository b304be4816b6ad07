import { afterAll, beforeAll, expect, it } from 'vitest';
import { newAlert } from '../../test/support/alerts.js';
import { insertTestTenant } from '../../test/support/outbox-fixtures.js';
import type { Storage } from '../storage/storage.js';
import { describeEachDialect, openTestStorage, planOf, recordingStatements, sqlitePlanOf } from '../../test/support/storage.js';
import { alertHistogram } from './histogram.js';
import { insertAlerts } from './store.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const HOUR = 3_600_000;

describeEachDialect("the alerts chart's buckets", (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
    for (const id of ['chart', 'chart-other']) await insertTestTenant(storage.db, id, { id, createdAt: T0 });
  });
  afterAll(() => storage.close());

  it('counts an alert stored at the very start of a bucket in it, and one at the end of the last bucket in none', async () => {
    const at = async (tenant: string, severity: 'Error' | 'Info', now: number) =>
      insertAlerts(storage.db, tenant, [newAlert({ severity, component: 'Jobs', event: 'Job.Faulted', message: 'm' })], now);
    await at('chart', 'Error', T0);
    await at('chart', 'Info', T0 + HOUR);
    await at('chart', 'Error', T0 + 2 * HOUR - 1);
    await at('chart', 'Error', T0 + 3 * HOUR);
    await at('chart-other', 'Error', T0);
    const counts = await alertHistogram(storage.db, 'chart', { unit: 'hour', timeZone: 'UTC', bounds: [T0, T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR] });
    expect(counts.map((c) => [c.Error, c.Info])).toEqual([
      [1, 0],
      [1, 1],
      [0, 0],
    ]);
  });

  it.runIf(dialect === 'sqlite')("counts each severity from alerts_tenant_severity alone, reading no alert's row for it", async () => {
    // A storage of its own: a statement prepared by the test before is not prepared again, so not seen.
    const fresh = await openTestStorage(dialect);
    try {
      await insertTestTenant(fresh.db, 'plan', { id: 'plan', createdAt: T0 });
      const plan = await sqlitePlanOf('count(*)', () =>
        alertHistogram(fresh.db, 'plan', { unit: 'hour', timeZone: 'UTC', bounds: [T0, T0 + HOUR, T0 + 2 * HOUR] }),
      );
      const searches = plan?.filter((line) => line.startsWith('SEARCH') || line.startsWith('SCAN'));
      expect(searches).toHaveLength(5);
      for (const line of searches!)
        expect(line).toMatch(/^SEARCH alerts USING COVERING INDEX alerts_tenant_severity \(tenant_id=\? AND <expr>=\? AND created_at>\? AND created_at<\?\)/);
    } finally {
      await fresh.close();
    }
  });

  it.runIf(dialect === 'postgres')("counts each severity from that rank's index of the tenant's alerts alone on PostgreSQL", async () => {
    const recording = recordingStatements(storage.db);
    await alertHistogram(recording.db, 'chart', { unit: 'hour', timeZone: 'UTC', bounds: [T0, T0 + HOUR, T0 + 2 * HOUR] });
    const plan = await planOf(storage.db, recording.queries.find((q) => q.sql.includes('count(*)'))!);
    const scans = plan.split('\n').filter((line) => /Scan/.test(line));
    expect(scans).toHaveLength(5);
    for (const rank of [0, 1, 2, 3, 4])
      expect(scans.filter((line) => line.includes(`Index Only Scan using alerts_tenant_severity_${rank} on alerts`))).toHaveLength(1);
  });
});
