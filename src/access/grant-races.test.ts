/**
 * A holder of Users.Edit grants only the roles it holds (grants.ts). The roles of a body are named,
 * and the names were checked, then looked up again when written: a role renamed in between (a name
 * is no grant, so the caller may rename any custom role) took the checked name's place, and a user
 * with Users.Edit alone made itself a holder of every permission by renaming its own role away and
 * an Administrator's role to that name while its PATCH was on its way (seen on the built server on
 * PostgreSQL, 1 in 160 tries). Here the renames land right after the check, every time.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { TestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { PERMISSIONS } from './permissions.js';

const gate = vi.hoisted(() => ({ between: undefined as undefined | (() => Promise<unknown>) }));

vi.mock('./grants.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./grants.js')>();
  return {
    ...actual,
    // Once what the roles a body names grant has been read for the check, `between` runs before the request goes on.
    rolesPermissions: async (...args: Parameters<typeof actual.rolesPermissions>) => {
      const granted = await actual.rolesPermissions(...args);
      const between = gate.between;
      if (between && (args[2]?.length ?? 0) > 0) {
        gate.between = undefined;
        await between();
      }
      return granted;
    },
  };
});

/**
 * serverWithMock loads the server afresh once: the suite's files share one module graph per worker
 * (vitest.config.ts, isolate: false), so a file run before this one may have loaded it with the real
 * grants module. Once only: the mock keeps the first graph's errors, which a second graph's error
 * handler would not know for its own (a 403 answered 500).
 */
let loaded: Promise<typeof import('../../test/support/http.js')> | undefined;
function serverWithMock() {
  loaded ??= (async () => {
    vi.resetModules();
    return import('../../test/support/http.js');
  })();
  return loaded;
}

describeEachDialect('roles renamed while a grant of them is checked', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    const { startTestApp } = await serverWithMock();
    t = await startTestApp(dialect);
  });
  afterAll(() => t.close());

  /** desk is a user holding Users.Edit alone in a tenant of its own, beside a custom role granting everything. */
  async function desk(tenant: string) {
    const base = `/api/v1/tenants/${tenant}`;
    await t.call('POST', '/api/v1/tenants', { name: tenant });
    const ops = (await t.call('POST', `${base}/roles`, { name: 'Ops', permissions: [...PERMISSIONS] })).json();
    expect((await t.call('POST', `${base}/roles`, { name: 'People desk', permissions: ['Users.Edit'] })).statusCode).toBe(201);
    const user = await t.tenantWithUser(tenant, ['People desk']);
    const mine = await t.call('POST', `${base}/roles`, { name: 'Zed', permissions: ['Users.Edit'] }, user.token);
    expect(mine.statusCode, mine.body).toBe(201);
    // Its own role renamed away, and the role granting everything given its name, by the caller itself.
    const renameNext = () => {
      gate.between = async () => {
        await t.call('PATCH', `${base}/roles/${mine.json().id}`, { name: 'Zed before' }, user.token);
        await t.call('PATCH', `${base}/roles/${ops.id}`, { name: 'Zed' }, user.token);
      };
    };
    const permissions = async () => (await t.call('GET', `${base}/me`, undefined, user.token)).json().permissions as string[];
    return { base, user, renameNext, permissions };
  }

  it('gives no user the role that took a checked name: its own roles', async () => {
    const { base, user, renameNext, permissions } = await desk('grant-race-user');
    renameNext();
    const res = await t.call('PATCH', `${base}/users/${user.userId}`, { roles: ['People desk', 'Zed'] }, user.token);
    expect({ status: res.statusCode, permissions: await permissions() }).toEqual({ status: 403, permissions: ['Users.Edit'] });
  });

  it('gives no user the role that took a checked name: a user it creates', async () => {
    const { base, user, renameNext } = await desk('grant-race-new-user');
    renameNext();
    const res = await t.call('POST', `${base}/users`, { email: 'sock@example.com', name: 'Sock', password: 'a long password', roles: ['Zed'] }, user.token);
    const users = (await t.call('GET', `${base}/users`)).json().items as { email: string; roles: string[] }[];
    expect({ status: res.statusCode, sock: users.find((u) => u.email === 'sock@example.com') }).toEqual({ status: 403, sock: undefined });
  });

  it('gives no group the role that took a checked name, created or changed', async () => {
    const { base, user, renameNext, permissions } = await desk('grant-race-group');
    renameNext();
    const made = await t.call('POST', `${base}/groups`, { name: 'Mine', members: [user.userId], roles: ['Zed'] }, user.token);
    expect({ status: made.statusCode, permissions: await permissions() }).toEqual({ status: 403, permissions: ['Users.Edit'] });

    const again = await desk('grant-race-group-patch');
    const group = (await t.call('POST', `${again.base}/groups`, { name: 'Mine', members: [again.user.userId] }, again.user.token)).json();
    again.renameNext();
    const changed = await t.call('PATCH', `${again.base}/groups/${group.id}`, { roles: ['Zed'] }, again.user.token);
    expect({ status: changed.statusCode, permissions: await again.permissions() }).toEqual({ status: 403, permissions: ['Users.Edit'] });
  });
});
