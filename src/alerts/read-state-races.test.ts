/**
 * One reader marking the same alerts read and unread from several requests at once (the console's
 * bell and its Alerts page, a script, two api processes): on PostgreSQL each mark wrote the
 * reader's rows in the order its plan met them, so a mark of some alerts and a "mark all read"
 * (which deletes the rows it makes moot) could each hold a row the other waited for, and
 * PostgreSQL cancelled one as a deadlock: a 503 for a plain click.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';

describeEachDialect('one reader marking alerts from several requests at once', (dialect) => {
  let t: TestApp;
  let user: { token: string };
  let ids: string[];
  const base = '/api/v1/tenants/marks-at-once/alerts';
  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_DB_POOL_SIZE: '8' });
    user = await t.tenantWithUser('marks-at-once', ['Alerts Viewer']);
    const alerts = Array.from({ length: 120 }, (_, i) => ({ severity: 'Error', component: 'Jobs', message: `alert ${i}` }));
    const posted = await t.call('POST', base, { alerts });
    expect(posted.statusCode).toBe(202);
    ids = posted.json().ids;
  });
  afterAll(() => t.close());

  it('answers every mark read, mark unread and mark all read sent at once 200, with the unread count the list agrees with', async () => {
    const statuses: number[] = [];
    for (let round = 0; round < 20; round++) {
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, i) => {
          // Overlapping selections, named in different orders, beside marks of all.
          const some = (i % 2 === 0 ? ids : [...ids].reverse()).slice((i * 7) % 60, ((i * 7) % 60) + 50);
          if (i % 4 === 0) return t.call('POST', `${base}/mark-read`, { all: true }, user.token);
          if (i % 4 === 1) return t.call('POST', `${base}/mark-unread`, { ids: some }, user.token);
          if (i % 4 === 2) return t.call('POST', `${base}/mark-read`, { ids: some }, user.token);
          return t.call('POST', '/odata/Alerts/UiPath.Server.Configuration.OData.MarkAsRead', { ids: some }, user.token);
        }),
      );
      statuses.push(...answers.map((answer) => answer.statusCode));
    }
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    const count = (await t.call('GET', `${base}/unread-count`, undefined, user.token)).json().unread;
    const listed = (await t.call('GET', `${base}?unread=true&limit=1000`, undefined, user.token)).json().items.length;
    expect(count).toBe(listed);
  }, 180_000);
});
