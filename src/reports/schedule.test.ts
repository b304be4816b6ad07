import { afterAll, beforeAll, expect, it } from 'vitest';
import { insertTestTenant } from '../../test/support/outbox-fixtures.js';
import { describeEachDialect, openTestStorage } from '../../test/support/storage.js';
import type { Storage } from '../storage/storage.js';
import { claimDueReports, reportsDueNow, rescheduleReports } from './schedule.js';

const T0 = Date.parse('2026-01-01T10:00:00Z');
const LEASE = T0 + 60_000;
const TOMORROW = T0 + 86_400_000;

describeEachDialect('report schedule', (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
    for (const id of ['changed', 'steady']) await insertTestTenant(storage.db, id, { id });
  });
  afterAll(() => storage.close());

  const dueAt = async (tenant: string, kind: string) =>
    Number(
      (await storage.db.selectFrom('report_schedule').select('due_at').where('tenant_id', '=', tenant).where('kind', '=', kind).executeTakeFirstOrThrow())
        .due_at,
    );

  it('claims a report due at this very instant, and keeps a change made while it was decided over the next due time', async () => {
    for (const tenant of ['changed', 'steady']) {
      await reportsDueNow(storage.db, tenant);
      await storage.db.updateTable('report_schedule').set({ due_at: T0 }).where('tenant_id', '=', tenant).execute();
    }
    const claimed = await claimDueReports(storage, T0, LEASE, 10);
    expect(claimed.map((c) => `${c.tenantId} ${c.kind}`).sort()).toEqual(['changed daily', 'changed summary', 'steady daily', 'steady summary']);
    // The report time moved while the daily reports were decided: that tenant's next look is now, not tomorrow.
    await reportsDueNow(storage.db, 'changed');
    await rescheduleReports(storage.db, 'daily', ['changed', 'steady'], LEASE, TOMORROW);
    expect([await dueAt('changed', 'daily'), await dueAt('steady', 'daily')]).toEqual([0, TOMORROW]);
    // Rescheduling the daily reports leaves the summaries' rows to their own decision.
    expect(await dueAt('steady', 'summary')).toBe(LEASE);
  });
});
