import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect, insertManyUsers } from '../../test/support/storage.js';
import { type Recipient, wantsKind } from './eligibility.js';
import { recipientPages } from './query.js';

describeEachDialect('alert email recipients', (dialect) => {
  let t: TestApp;
  let tenantId: string;
  const base = '/api/v1/tenants/rcpt';
  const user = async (email: string, extra: Record<string, unknown> = {}) =>
    (await t.call('POST', `${base}/users`, { email, name: email.split('@')[0], ...extra })).json<{ id: string }>().id;

  async function all(pageSize = 2): Promise<Recipient[]> {
    const result: Recipient[] = [];
    const tenant = { id: tenantId, language: 'en', timeZone: 'Europe/Paris' };
    for await (const page of recipientPages(t.tocsin.deps.storage.db, tenant, pageSize)) result.push(...page);
    return result;
  }

  beforeAll(async () => {
    t = await startTestApp(dialect);
    tenantId = (await t.call('POST', '/api/v1/tenants', { name: 'rcpt', timeZone: 'Europe/Paris' })).json().id;
    await user('viewer@example.com', { roles: ['Alerts Viewer'], language: 'fr', timeZone: 'Asia/Tokyo' });
    await user('inactive@example.com', { roles: ['Alerts Viewer'], active: false });
    await user('noview@example.com', { roles: [] });
    const viaGroup = await user('viagroup@example.com', { language: 'de' });
    const shared = await user('Shared@Example.com', { roles: ['Alerts Viewer'] });
    await t.call('POST', `${base}/groups`, { name: 'Ops', email: 'ops@example.com', language: 'ja', roles: ['Alerts Viewer'], members: [viaGroup] });
    await t.call('POST', `${base}/groups`, { name: 'Expanded', email: 'expanded@example.com', roles: ['Alerts Viewer'], expandMembers: true });
    await t.call('POST', `${base}/groups`, { name: 'Blind', email: 'blind@example.com', roles: [] });
    await t.call('POST', `${base}/groups`, { name: 'Same', email: 'shared@example.com', roles: ['Alerts Viewer'], members: [shared] });
  });
  afterAll(() => t.close());

  it('takes active users with Alerts.View from their own roles or a group, in pages', async () => {
    const users = (await all())
      .filter((r) => r.type === 'user')
      .map((r) => r.address)
      .sort();
    expect(users).toEqual(['Shared@Example.com', 'viagroup@example.com', 'viewer@example.com']);
  });

  it('writes to each user in its own language and time zone, falling back to the tenant', async () => {
    const byAddress = new Map((await all()).map((r) => [r.address, r]));
    expect(byAddress.get('viewer@example.com')).toMatchObject({ language: 'fr', timeZone: 'Asia/Tokyo' });
    expect(byAddress.get('viagroup@example.com')).toMatchObject({ language: 'de', timeZone: 'Europe/Paris' });
  });

  it("writes in the tenant's time zone to a user whose stored zone the runtime does not know, as the console shows it", async () => {
    // Saved by a process whose runtime knew it: the emails said 'Times are shown in UTC', the console and action pages the tenant's.
    const martian = await user('martian@example.com', { roles: ['Alerts Viewer'] });
    await t.tocsin.deps.storage.db.updateTable('users').set({ time_zone: 'Mars/Olympus_Mons' }).where('id', '=', martian).execute();
    const recipients = await all();
    await t.call('DELETE', `${base}/users/${martian}`);
    expect(recipients.find((r) => r.address === 'martian@example.com')).toMatchObject({ timeZone: 'Europe/Paris' });
  });

  it('writes once to a group address in the group language, never to an expanded or blind group, and lets the individual win a shared address', async () => {
    const groups = (await all(1000)).filter((r) => r.type === 'group');
    expect(groups.map((g) => [g.address, g.language])).toEqual([['ops@example.com', 'ja']]);
    const addresses = (await all(1)).map((r) => r.address.toLowerCase());
    expect(new Set(addresses).size).toBe(addresses.length);
  });

  it("honours each recipient's email choices and its groups' rules", async () => {
    const viewer = (await all()).find((r) => r.address === 'viewer@example.com')!;
    expect([wantsKind(viewer, 'summary'), wantsKind(viewer, 'daily'), wantsKind(viewer, 'immediate')]).toEqual([true, true, false]);
    await t.call('PUT', `${base}/users/${viewer.id}/alert-preferences`, { email: { tenMinuteSummary: false, fatalImmediately: true } });
    const ops = (await t.call('GET', `${base}/groups`)).json().items.find((g: { name: string }) => g.name === 'Ops');
    await t.call('PUT', `${base}/groups/${ops.id}/alert-preferences`, { email: { dailyReport: false } });
    const after = new Map((await all()).map((r) => [r.address, r]));
    expect(wantsKind(after.get('viewer@example.com')!, 'summary')).toBe(false);
    expect(wantsKind(after.get('viewer@example.com')!, 'immediate')).toBe(true);
    // The group's rule reaches its member who set nothing, and the group's own address.
    expect(wantsKind(after.get('viagroup@example.com')!, 'daily')).toBe(false);
    expect(wantsKind(after.get('ops@example.com')!, 'daily')).toBe(false);
  });

  it("reads none of another tenant's users: the same addresses there neither add a recipient nor take a group's address", async () => {
    const other = (await t.call('POST', '/api/v1/tenants', { name: 'rcpt-other' })).json().id;
    for (const email of ['ops@example.com', 'viewer@example.com', 'elsewhere@example.com'])
      await t.call('POST', '/api/v1/tenants/rcpt-other/users', { email, name: 'x', roles: ['Alerts Viewer'] });
    const recipients = await all(2).finally(() => t.call('DELETE', `/api/v1/tenants/${other}`));
    expect(recipients.map((r) => `${r.type} ${r.address}`).sort()).toEqual([
      'group ops@example.com',
      'user Shared@Example.com',
      'user viagroup@example.com',
      'user viewer@example.com',
    ]);
  });

  it('writes to an address two groups share once, as the first group by name, in its language', async () => {
    const beta = (await t.call('POST', `${base}/groups`, { name: 'Beta', email: 'team@example.com', language: 'de', roles: ['Alerts Viewer'] })).json();
    const alpha = (await t.call('POST', `${base}/groups`, { name: 'Alpha', email: 'Team@Example.com', language: 'fr', roles: ['Alerts Viewer'] })).json();
    const team = (await all()).filter((r) => r.address.toLowerCase() === 'team@example.com');
    await Promise.all([beta, alpha].map((g) => t.call('DELETE', `${base}/groups/${g.id}`)));
    expect(team).toEqual([expect.objectContaining({ type: 'group', name: 'Alpha', language: 'fr' })]);
  });

  it('writes once to a mailbox whose international domain a user and groups spell in Unicode or in punycode', async () => {
    // ana@xn--bcher-kva.example is ana@bücher.example (IDNA): as three spellings, the mailbox got each email three times.
    const ana = await user('ana@xn--bcher-kva.example', { roles: ['Alerts Viewer'] });
    const groups = await Promise.all(
      [
        ['Ana desk', 'ANA@B\u00dcCHER.example'],
        ['Desk', 'desk@b\u00fccher.example'],
        ['Desk too', 'desk@xn--bcher-kva.example'],
      ].map(async ([name, email]) => (await t.call('POST', `${base}/groups`, { name, email, roles: ['Alerts Viewer'] })).json()),
    );
    const atBucher = (await all()).filter((r) => /@(b\u00fccher|xn--bcher-kva)\.example$/i.test(r.address));
    await Promise.all([...groups.map((g) => t.call('DELETE', `${base}/groups/${g.id}`)), t.call('DELETE', `${base}/users/${ana}`)]);
    expect(atBucher.map((r) => [r.type, r.address])).toEqual(
      expect.arrayContaining([
        ['user', 'ana@xn--bcher-kva.example'],
        ['group', 'desk@b\u00fccher.example'],
      ]),
    );
    expect(atBucher).toHaveLength(2);
  });

  it('leaves a group mailbox out of the kinds it unsubscribed from, and only those, at decision time', async () => {
    // The composer checks again at send time; here no row is queued for it at all, so none waits out a retry.
    const group = (await t.call('POST', `${base}/groups`, { name: 'Desk', email: 'desk@example.com', roles: ['Alerts Viewer'] })).json();
    await t.call('PATCH', `${base}/groups/${group.id}`, { unsubscribed: ['summary'] });
    const desk = (await all()).find((r) => r.address === 'desk@example.com')!;
    await t.call('DELETE', `${base}/groups/${group.id}`);
    expect([wantsKind(desk, 'summary'), wantsKind(desk, 'daily'), wantsKind(desk, 'immediate')]).toEqual([false, true, false]);
  });

  it('writes to a group address that a user also has when that user gets no alert emails (inactive, or without Alerts.View)', async () => {
    // A team mailbox with a console account of its own that reads no alerts, and one whose old personal account was switched off.
    await user('Desk-Console@example.com', { roles: [] });
    await user('former@example.com', { roles: ['Alerts Viewer'], active: false });
    await t.call('POST', `${base}/groups`, { name: 'Console desk', email: 'desk-console@example.com', language: 'fr', roles: ['Alerts Viewer'] });
    await t.call('POST', `${base}/groups`, { name: 'Former', email: 'FORMER@example.com', roles: ['Alerts Viewer'] });
    const byAddress = new Map((await all()).map((r) => [r.address.toLowerCase(), r]));
    expect(byAddress.get('desk-console@example.com')).toMatchObject({ type: 'group', language: 'fr' });
    expect(byAddress.get('former@example.com')).toMatchObject({ type: 'group', name: 'Former' });
  });
});

describeEachDialect('recipient queries', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
  });
  afterAll(() => t.close());

  it('reads a tenant of thousands of users in a few queries a page, never one per user', async () => {
    const tenantId = (await t.call('POST', '/api/v1/tenants', { name: 'many' })).json().id;
    const db = t.tocsin.deps.storage.db;
    const viewer = await db.selectFrom('roles').select('id').where('tenant_id', '=', tenantId).where('name', '=', 'Alerts Viewer').executeTakeFirstOrThrow();
    await insertManyUsers(db, tenantId, 2_500, viewer.id);
    let queries = 0;
    const counting = db.withPlugin({
      transformQuery: (args) => {
        queries++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    let found = 0;
    for await (const page of recipientPages(counting, { id: tenantId, language: 'en', timeZone: 'UTC' }, 1_000)) found += page.length;
    expect(found).toBe(2_500);
    // Roles, groups and their rules once; then per page of users: users, roles, groups, preferences.
    expect(queries).toBeLessThanOrEqual(3 + 4 * 4);
  });
});
