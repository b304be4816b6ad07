/**
 * `POST /alerts/mark-read {all: true}` marks the alerts stored when it is asked. An alert's
 * created_at is taken when its ingest transaction begins, so on PostgreSQL an alert stamped before
 * the mark but committed after its answer was below the watermark: read, though the user could
 * never have seen it, and missing from the bell, the panel and `unread=true` for good.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newAlert } from '../../test/support/alerts.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { waitingBehindFloor } from '../../test/support/floor-lock.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { FakeClock } from '../shared/clock.js';
import { groupCommit } from './ingest.js';

const T0 = Date.parse('2026-11-02T10:01:00Z');

describeEachDialect('marking all alerts read while alerts are being stored', (dialect) => {
  let t: TestApp;
  let clock: FakeClock;
  let user: { tenantId: string; token: string };
  beforeAll(async () => {
    clock = new FakeClock(T0);
    t = await startTestApp(dialect, {}, { clock });
    user = await t.tenantWithUser('markall', ['Alerts Viewer']);
  });
  afterAll(() => t.close());

  it('never marks read an alert whose commit comes after its answer', async () => {
    const order: string[] = [];
    let release!: () => void;
    let stamped!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inside = new Promise<void>((resolve) => (stamped = resolve));
    const alert = newAlert({ severity: 'Error', component: 'Jobs', event: 'Process.RaiseAlert', message: 'stamped before the mark, committed after' });
    const committed = groupCommit(
      t.tocsin.deps.storage,
      clock,
      600_000,
      1,
    )(user.tenantId, [alert], {
      alongside: async () => {
        stamped();
        await gate;
      },
    }).then((ids) => {
      order.push('stored');
      return ids;
    });
    await inside;
    clock.advance(1_000);
    const marking = t.call('POST', '/api/v1/tenants/markall/alerts/mark-read', { all: true }, user.token).then((res) => {
      order.push('marked');
      return res;
    });
    // The mark either answers (it did not wait for the commit under way) or waits behind it.
    await waitingBehindFloor(dialect, t.tocsin.deps.storage.db, marking, 'the mark to answer or to wait for the commit under way');
    release();
    const [id] = await committed;
    const marked = await marking;
    expect(marked.statusCode).toBe(200);
    const read = (await t.call('GET', `/api/v1/tenants/markall/alerts/${id}`, undefined, user.token)).json().read;
    const unread = (await t.call('GET', '/api/v1/tenants/markall/alerts/unread-count', undefined, user.token)).json().unread;
    // Answered before the alert was stored, the mark leaves it unread; answered after, it counted it.
    expect({ order, read, unread, answered: marked.json().unread }).toEqual(
      order[0] === 'marked' ? { order, read: false, unread: 1, answered: 0 } : { order, read: true, unread: 0, answered: 0 },
    );
  });

  it('leaves unread an alert stored after it in the same millisecond', async () => {
    const marked = await t.call('POST', '/api/v1/tenants/markall/alerts/mark-read', { all: true }, user.token);
    expect(marked.json()).toEqual({ unread: 0 });
    // The clock has not moved: the next alert is stamped no earlier than the mark.
    const posted = await t.call('POST', '/api/v1/tenants/markall/alerts', { severity: 'Info', component: 'Jobs', message: 'right after' });
    expect(posted.statusCode).toBe(202);
    const [id] = posted.json().ids;
    expect((await t.call('GET', `/api/v1/tenants/markall/alerts/${id}`, undefined, user.token)).json().read).toBe(false);
    expect((await t.call('GET', '/api/v1/tenants/markall/alerts/unread-count', undefined, user.token)).json()).toEqual({ unread: 1 });
  });
});
