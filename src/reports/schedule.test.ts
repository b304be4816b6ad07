import { afterAll, beforeAll, expect, it, vi } from 'vitest';
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

  it('claims at most its limit of the reports due by now, and builds its statement only once', async () => {
    await insertTestTenant(storage.db, 'later', { id: 'later' });
    await storage.db.updateTable('report_schedule').set({ due_at: TOMORROW }).execute();
    await storage.db.updateTable('report_schedule').set({ due_at: T0 }).where('tenant_id', 'in', ['changed', 'steady']).execute();
    await reportsDueNow(storage.db, 'later');
    await storage.db
      .updateTable('report_schedule')
      .set({ due_at: T0 + 1 })
      .where('tenant_id', '=', 'later')
      .execute();
    const compiles = vi.spyOn(storage.db.getExecutor(), 'compileQuery');
    try {
      const first = await claimDueReports(storage, T0, LEASE, 3);
      const second = await claimDueReports(storage, T0, LEASE, 3);
      expect(first).toHaveLength(3);
      expect([...first, ...second].map((c) => `${c.tenantId} ${c.kind}`).sort()).toEqual([
        'changed daily',
        'changed summary',
        'steady daily',
        'steady summary',
      ]);
      // A claim is a tick of every scheduler, busy or idle: its query is not built again each time.
      expect(compiles).not.toHaveBeenCalled();
    } finally {
      compiles.mockRestore();
    }
    expect([await dueAt('steady', 'daily'), await dueAt('later', 'daily')]).toEqual([LEASE, T0 + 1]);
  });
});
