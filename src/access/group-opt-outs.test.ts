/**
 * A group mailbox turned off by its one-click link (anyone on the list may press Gmail's
 * Unsubscribe) shows on the group, and an administrator turns it back on there: PRODUCT.md's
 * "mail never fails silently".
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { decideReports, sendQueuedReports } from '../../test/support/report-runs.js';
import { takeOneClick } from '../../test/support/one-click.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { optedOut } from '../reports/unsubscribe/apply.js';
import { FakeClock } from '../shared/clock.js';

describeEachDialect("a group mailbox's one-click opt-outs", (dialect) => {
  const START = Date.parse('2026-06-01T09:00:00Z');
  const INTERVAL = 600_000;
  const PUBLIC = 'https://tocsin.example.com';
  const base = '/api/v1/tenants/team';
  let t: TestApp;
  let smtp: TestSmtpServer;
  let clock: FakeClock;
  let tenantId: string;

  beforeAll(async () => {
    clock = new FakeClock(START);
    smtp = await startTestSmtpServer();
    // The API alone: the test decides and sends the daily report when it chooses.
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    tenantId = (await t.call('POST', '/api/v1/tenants', { name: 'team', timeZone: 'UTC' })).json().id;
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  /** oneClick takes a group's link as Gmail's Unsubscribe button does (RFC 8058). */
  const oneClick = (groupId: string, address: string, kind: 'summary' | 'daily' | 'immediate') =>
    takeOneClick(t, clock, { tenantId, kind, recipient: { type: 'group', id: groupId, address } }, PUBLIC);

  it('shows the daily report a group mailbox unsubscribed from, and sends it again once an administrator turns it back on', async () => {
    const group = (await t.call('POST', `${base}/groups`, { name: 'Ops', email: 'Ops@team.example.com', roles: ['Alerts Viewer'] })).json();
    expect(group.unsubscribed).toEqual([]);
    await oneClick(group.id, 'Ops@team.example.com', 'daily');

    expect((await t.call('GET', `${base}/groups/${group.id}`)).json().unsubscribed).toEqual(['daily']);
    expect((await t.call('GET', `${base}/groups`)).json().items).toMatchObject([{ id: group.id, unsubscribed: ['daily'] }]);

    const patched = await t.call('PATCH', `${base}/groups/${group.id}`, { unsubscribed: [] });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ name: 'Ops', email: 'Ops@team.example.com', unsubscribed: [] });
    expect(await optedOut(t.tocsin.deps.storage.db, tenantId, 'Ops@team.example.com', 'daily')).toBe(false);

    // The next daily report goes to the mailbox again.
    clock.advance(60_000);
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: 'Billing failed' })).statusCode).toBe(202);
    clock.set(Date.parse('2026-06-01T10:00:02Z'));
    await decideReports(t.tocsin, clock, INTERVAL);
    await sendQueuedReports(t.tocsin, clock, smtp, { summaryIntervalMs: INTERVAL, publicUrl: PUBLIC });
    const daily = smtp.messages.filter((m) => m.envelope.to[0]?.toLowerCase() === 'ops@team.example.com' && /^X-Tocsin-Kind: daily\r?$/m.test(m.raw));
    expect(daily).toHaveLength(1);
  });

  it('turns off the kinds a PATCH lists and back on those it leaves out, against the current address only', async () => {
    const group = (await t.call('POST', `${base}/groups`, { name: 'Desk', email: 'desk@team.example.com', roles: ['Alerts Viewer'] })).json();
    await oneClick(group.id, 'desk@team.example.com', 'summary');
    const set = await t.call('PATCH', `${base}/groups/${group.id}`, { unsubscribed: ['immediate', 'daily', 'daily'] });
    expect(set.json().unsubscribed).toEqual(['daily', 'immediate']);
    // A new address starts with none; the old one keeps its own.
    const moved = await t.call('PATCH', `${base}/groups/${group.id}`, { email: 'desk2@team.example.com' });
    expect(moved.json().unsubscribed).toEqual([]);
    expect(await optedOut(t.tocsin.deps.storage.db, tenantId, 'desk@team.example.com', 'daily')).toBe(true);
    const back = await t.call('PATCH', `${base}/groups/${group.id}`, { email: 'DESK@team.example.com', unsubscribed: null });
    expect(back.json().unsubscribed).toEqual([]);
    expect(await optedOut(t.tocsin.deps.storage.db, tenantId, 'desk@team.example.com', 'daily')).toBe(false);
  });

  it('keeps the opt-out of a mailbox whose address is typed again in another spelling, and sends it nothing it turned off', async () => {
    // desk@xn--bcher-kva.example and Desk@Bücher.example are one mailbox (emailKey), but its opt-out was kept under the
    // address in lower case only: typed again with its domain in Unicode, the group showed none, and the summaries the
    // mailbox had turned off came back to it.
    const db = t.tocsin.deps.storage.db;
    const group = (await t.call('POST', `${base}/groups`, { name: 'Intl desk', email: 'desk@xn--bcher-kva.example', roles: ['Alerts Viewer'] })).json();
    await oneClick(group.id, 'desk@xn--bcher-kva.example', 'summary');
    // Another one's opt-out recorded before, under its address in lower case.
    const before = (await t.call('POST', `${base}/groups`, { name: 'Intl night', email: 'Night@XN--BCHER-KVA.example', roles: ['Alerts Viewer'] })).json();
    await db
      .insertInto('email_unsubscribes')
      .values({ tenant_id: tenantId, address_key: 'night@xn--bcher-kva.example', kind: 'summary', created_at: clock.now() })
      .execute();
    for (const [id, email] of [
      [group.id, 'Desk@Bücher.example'],
      [before.id, 'night@bücher.example'],
    ]) {
      const respelt = await t.call('PATCH', `${base}/groups/${id}`, { email });
      expect(respelt.json().unsubscribed, email).toEqual(['summary']);
      expect(await optedOut(db, tenantId, email!, 'summary'), email).toBe(true);
    }
    clock.set((Math.floor(clock.now() / INTERVAL) + 1) * INTERVAL + 1_000);
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: 'Ledger failed' })).statusCode).toBe(202);
    clock.advance(INTERVAL);
    await decideReports(t.tocsin, clock, INTERVAL);
    const summaries = (await t.call('GET', `${base}/deliveries?kind=summary`)).json().items as { recipient: string }[];
    expect(summaries.map((d) => d.recipient.toLowerCase())).not.toContain('desk@bücher.example');
    expect(summaries.map((d) => d.recipient.toLowerCase())).not.toContain('night@bücher.example');
    // Turned back on, under either spelling.
    expect((await t.call('PATCH', `${base}/groups/${group.id}`, { unsubscribed: [] })).json().unsubscribed).toEqual([]);
    for (const spelling of ['desk@xn--bcher-kva.example', 'desk@bücher.example']) {
      expect(await optedOut(db, tenantId, spelling, 'summary'), spelling).toBe(false);
    }
  });

  it('names the field for an unknown kind, and for opting out a group without an address', async () => {
    const group = (await t.call('POST', `${base}/groups`, { name: 'Nobody', roles: ['Alerts Viewer'] })).json();
    expect(group.unsubscribed).toEqual([]);
    const unknown = await t.call('PATCH', `${base}/groups/${group.id}`, { unsubscribed: ['weekly'] });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().errors.map((e: { path: string }) => e.path)).toEqual(['unsubscribed.0']);
    const none = await t.call('PATCH', `${base}/groups/${group.id}`, { unsubscribed: ['daily'] });
    expect(none.statusCode).toBe(400);
    expect(none.json().errors.map((e: { path: string }) => e.path)).toEqual(['unsubscribed']);
    expect((await t.call('PATCH', `${base}/groups/${group.id}`, { unsubscribed: [] })).statusCode).toBe(200);
  });

  it('lets only Users.Edit change it', async () => {
    const group = (await t.call('POST', `${base}/groups`, { name: 'Watch', email: 'watch@team.example.com' })).json();
    const viewer = await t.tenantWithUser('team', ['Alerts Viewer']);
    expect((await t.call('PATCH', `${base}/groups/${group.id}`, { unsubscribed: ['daily'] }, viewer.token)).statusCode).toBe(403);
    expect(await optedOut(t.tocsin.deps.storage.db, tenantId, 'watch@team.example.com', 'daily')).toBe(false);
  });

  it('lists the emails a mailbox opted out of in one order, summary, daily, immediate, whichever link was taken first', async () => {
    const group = (await t.call('POST', `${base}/groups`, { name: 'Night desk', email: 'night@team.example.com', roles: ['Alerts Viewer'] })).json();
    for (const kind of ['immediate', 'daily', 'summary'] as const) await oneClick(group.id, 'night@team.example.com', kind);
    expect((await t.call('GET', `${base}/groups/${group.id}`)).json().unsubscribed).toEqual(['summary', 'daily', 'immediate']);
  });
});
