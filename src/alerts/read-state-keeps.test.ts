import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { ReadCache } from '../shared/read-cache.js';

// Marking alerts read or unread changes the caller's read state only, which nothing the API keeps
// holds: every mark forgot the robots' principals, the tenants kept for raising and the readers'
// reads (the Fatal path's among them), while a person read alerts during an incident.
describeEachDialect('marking alerts read or unread', (dialect) => {
  let t: TestApp;
  let reader: { tenantId: string; token: string };
  let alertId: string;
  const base = '/api/v1/tenants/marks';

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    reader = await t.tenantWithUser('marks', ['Alerts Viewer']);
    const raised = await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: 'Invoices job faulted' });
    expect(raised.statusCode, raised.body).toBe(202);
    alertId = raised.json<{ ids: string[] }>().ids[0]!;
  });
  afterAll(() => t.close());

  it('keeps what the API keeps (principals, tenants, readers), as raising alerts does', async () => {
    const forgotten = vi.spyOn(ReadCache.prototype, 'forget');
    const principals = vi.spyOn(t.tocsin.deps.authenticator, 'forget');
    try {
      const marks = [
        await t.call('POST', `${base}/alerts/mark-read`, { ids: [alertId] }, reader.token),
        await t.call('POST', `${base}/alerts/mark-unread`, { ids: [alertId] }, reader.token),
        await t.call('POST', `${base}/alerts/mark-read`, { all: true }, reader.token),
        await t.call('POST', '/odata/Alerts/UiPath.Server.Configuration.OData.MarkAsRead', { ids: [alertId] }, reader.token),
      ];
      expect(marks.map((res) => res.statusCode)).toEqual([200, 200, 200, 200]);
      expect(forgotten).not.toHaveBeenCalled();
      expect(principals).not.toHaveBeenCalled();
      // A change of what is kept still forgets it.
      expect((await t.call('PATCH', `${base}`, { displayName: 'Marks Europe' })).statusCode).toBe(200);
      expect(principals).toHaveBeenCalled();
    } finally {
      forgotten.mockRestore();
      principals.mockRestore();
    }
  });
});
