import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../storage/database.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';

/**
 * whileDeleting runs `request` while another transaction deletes rows of `table` and has not yet
 * committed (PostgreSQL: the request's write waits on the deleted rows, then finds them gone), and
 * returns its answer. SQLite takes one writer at a time, so there the deletion simply comes first.
 */
async function whileDeleting<T>(dialect: string, db: Db, table: 'users' | 'groups' | 'tenants' | 'alerts', id: string, request: () => Promise<T>): Promise<T> {
  if (dialect === 'sqlite') {
    await db.deleteFrom(table).where('id', '=', id).execute();
    return request();
  }
  let commit!: () => void;
  const held = new Promise<void>((resolve) => (commit = resolve));
  let deleted!: () => void;
  const done = new Promise<void>((resolve) => (deleted = resolve));
  const deleting = db.transaction().execute(async (tx) => {
    await tx.deleteFrom(table).where('id', '=', id).execute();
    deleted();
    await held;
  });
  await done;
  const answer = request();
  await new Promise((resolve) => setTimeout(resolve, 300));
  commit();
  await deleting;
  return answer;
}

describeEachDialect('a change that loses a race with a deletion', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect);
  });
  afterAll(() => t.close());
  const db = () => t.tocsin.deps.storage.db;
  const detail = (res: { statusCode: number; json(): { detail?: string } }) => `${res.statusCode} ${res.json().detail}`;

  it('answers 404 naming the user, group or tenant deleted meanwhile, as when deleted before, not 409', async () => {
    const { tenantId } = await t.tenantWithUser('racing');
    const base = '/api/v1/tenants/racing';
    const user = (await t.call('POST', `${base}/users`, { email: 'gone@example.com', name: 'Gone' })).json<{ id: string }>();
    const patched = await whileDeleting(dialect, db(), 'users', user.id, () => t.call('PATCH', `${base}/users/${user.id}`, { roles: ['Robot'] }));
    expect.soft(detail(patched)).toBe('404 User not found.');

    const other = (await t.call('POST', `${base}/users`, { email: 'other@example.com', name: 'Other' })).json<{ id: string }>();
    const token = await whileDeleting(dialect, db(), 'users', other.id, () => t.call('POST', `${base}/users/${other.id}/tokens`, { name: 'late' }));
    expect.soft(detail(token)).toBe('404 User not found.');

    const group = (await t.call('POST', `${base}/groups`, { name: 'Gone' })).json<{ id: string }>();
    const regrouped = await whileDeleting(dialect, db(), 'groups', group.id, () => t.call('PATCH', `${base}/groups/${group.id}`, { roles: ['Robot'] }));
    expect.soft(detail(regrouped)).toBe('404 Group not found.');

    const role = await whileDeleting(dialect, db(), 'tenants', tenantId, () => t.call('POST', `${base}/roles`, { name: 'Late', permissions: ['Alerts.View'] }));
    expect.soft(detail(role)).toBe('404 Tenant not found.');
  });

  it('marks an alert read or unread while it is deleted, as one deleted before: 200, the other alerts marked', async () => {
    const { token } = await t.tenantWithUser('marking', ['Alerts Viewer']);
    const url = '/api/v1/tenants/marking/alerts';
    const raised = (
      await t.call('POST', url, { alerts: ['kept', 'gone', 'gone too'].map((message) => ({ severity: 'Error', component: 'Jobs', message })) })
    ).json<{ ids: string[] }>().ids;
    const [kept, gone, goneToo] = raised as [string, string, string];
    const read = await whileDeleting(dialect, db(), 'alerts', gone, () => t.call('POST', `${url}/mark-read`, { ids: [kept, gone] }, token));
    expect.soft(`${read.statusCode} ${read.body}`).toBe('200 {"unread":1}');
    const unread = await whileDeleting(dialect, db(), 'alerts', goneToo, () => t.call('POST', `${url}/mark-unread`, { ids: [kept, goneToo] }, token));
    expect.soft(`${unread.statusCode} ${unread.body}`).toBe('200 {"unread":1}');
  });
});
