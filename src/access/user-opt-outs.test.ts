/**
 * An administrator's opt-out of the mail-health notices, taken through their one-click link (by
 * the administrator, or by anyone reading a shared inbox), shows on its user, and Users.Edit (or
 * the user itself) turns it back on there: PRODUCT.md's "mail never fails silently".
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { takeOneClick } from '../../test/support/one-click.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { optedOut } from '../reports/unsubscribe/apply.js';
import { FakeClock } from '../shared/clock.js';

describeEachDialect("a user's opt-out of the mail-health notices", (dialect) => {
  const base = '/api/v1/tenants/team';
  let t: TestApp;
  const clock = new FakeClock(Date.parse('2026-06-01T09:00:00Z'));
  let tenantId: string;

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    tenantId = (await t.call('POST', '/api/v1/tenants', { name: 'team' })).json().id;
  });
  afterAll(async () => {
    await t?.close();
  });

  /** administrator adds a user with the Administrator role (so the mail-health notices go to it) and a token of its own. */
  async function administrator(email: string) {
    const user = (await t.call('POST', `${base}/users`, { email, name: email, roles: ['Administrator'] })).json();
    const token = (await t.call('POST', `${base}/users/${user.id}/tokens`, { name: 'own' })).json().token as string;
    return { ...user, token } as { id: string; email: string; unsubscribed: string[]; token: string };
  }
  /** noticesOff takes the one-click link of a mail-health notice to a user, as its mail client's Unsubscribe button does. */
  const noticesOff = (user: { id: string; email: string }) =>
    takeOneClick(t, clock, { tenantId, kind: 'mail-health', recipient: { type: 'user', id: user.id, address: user.email } });
  const pathsOf = (body: { errors: { path: string }[] }) => body.errors.map((e) => e.path);

  it('shows on its user the mail-health notices an administrator unsubscribed from through their link, and turns them back on', async () => {
    const ana = await administrator('Ana@team.example.com');
    expect(ana.unsubscribed).toEqual([]);
    await noticesOff(ana);

    expect((await t.call('GET', `${base}/users/${ana.id}`)).json().unsubscribed).toEqual(['mail-health']);
    expect((await t.call('GET', `${base}/users`)).json().items).toMatchObject([{ id: ana.id, unsubscribed: ['mail-health'] }]);
    const me = (await t.call('GET', `${base}/me`, undefined, ana.token)).json();
    expect(me.unsubscribed).toEqual(['mail-health']);
    expect(me.user.unsubscribed).toEqual(['mail-health']);

    const patched = await t.call('PATCH', `${base}/users/${ana.id}`, { unsubscribed: [] });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ email: 'Ana@team.example.com', unsubscribed: [] });
    expect(await optedOut(t.tocsin.deps.storage.db, tenantId, 'Ana@team.example.com', 'mail-health')).toBe(false);
    expect((await t.call('GET', `${base}/users/${ana.id}`)).json().unsubscribed).toEqual([]);
  });

  it('turns the notices off with a list naming them and on with null, against the address after a change of email in the same PATCH', async () => {
    const bo = await administrator('bo@team.example.com');
    const off = await t.call('PATCH', `${base}/users/${bo.id}`, { unsubscribed: ['mail-health', 'mail-health'] });
    expect(off.statusCode, off.body).toBe(200);
    expect(off.json().unsubscribed).toEqual(['mail-health']);
    expect(await optedOut(t.tocsin.deps.storage.db, tenantId, 'bo@team.example.com', 'mail-health')).toBe(true);
    // A new address starts with none; the old one keeps its own.
    const moved = await t.call('PATCH', `${base}/users/${bo.id}`, { email: 'bo2@team.example.com' });
    expect(moved.json().unsubscribed).toEqual([]);
    const back = await t.call('PATCH', `${base}/users/${bo.id}`, { email: 'BO@team.example.com', unsubscribed: null });
    expect(back.json()).toMatchObject({ email: 'BO@team.example.com', unsubscribed: [] });
    expect(await optedOut(t.tocsin.deps.storage.db, tenantId, 'bo@team.example.com', 'mail-health')).toBe(false);
  });

  it("names unsubscribed.0 for a kind a user's alert preferences hold, or none at all", async () => {
    const cy = await administrator('cy@team.example.com');
    for (const kind of ['daily', 'weekly']) {
      const res = await t.call('PATCH', `${base}/users/${cy.id}`, { unsubscribed: [kind] });
      expect(res.statusCode, kind).toBe(400);
      expect(pathsOf(res.json()), kind).toEqual(['unsubscribed.0']);
    }
    expect(await optedOut(t.tocsin.deps.storage.db, tenantId, 'cy@team.example.com', 'daily')).toBe(false);
  });

  it('lets the user itself turn its notices back on, and only Users.Edit change those of another', async () => {
    // Settings.Edit makes it an administrator of the tenant's mail, to whom the notices go; it has no Users.Edit.
    expect((await t.call('POST', `${base}/roles`, { name: 'Mail Keeper', permissions: ['Settings.View', 'Settings.Edit'] })).statusCode).toBe(201);
    const keeper = await t.tenantWithUser('team', ['Mail Keeper']);
    const dee = await administrator('dee@team.example.com');
    await noticesOff(dee);
    await noticesOff({ id: keeper.userId, email: keeper.email });
    expect((await t.call('PATCH', `${base}/users/${dee.id}`, { unsubscribed: [] }, keeper.token)).statusCode).toBe(403);
    expect(await optedOut(t.tocsin.deps.storage.db, tenantId, 'dee@team.example.com', 'mail-health')).toBe(true);
    // Its own inbox, which the link's page turns back on as well: no Users.Edit needed.
    const own = await t.call('PATCH', `${base}/users/${keeper.userId}`, { unsubscribed: [] }, keeper.token);
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json().unsubscribed).toEqual([]);
    expect(await optedOut(t.tocsin.deps.storage.db, tenantId, keeper.email, 'mail-health')).toBe(false);
  });
});
