/**
 * A password is changed because it leaked, so what the old one signed in ends with the change. A
 * sign-in whose password was checked while the change was being made was stored after the change
 * had ended the user's sign-ins: a console session or an Authenticate token of the old password
 * outlived it. And a user's own change, checked against the password an administrator then
 * replaced, wrote over the administrator's. Each check here is held until the other request is done.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { TestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';

const gate = vi.hoisted(() => ({ hold: undefined as undefined | { entered: () => void; released: Promise<void> } }));

vi.mock('./passwords.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./passwords.js')>();
  return {
    ...actual,
    // The next check, once decided, waits for the test to let it go on.
    verifyPassword: async (hash: string, password: string) => {
      const ok = await actual.verifyPassword(hash, password);
      const hold = gate.hold;
      gate.hold = undefined;
      if (hold) {
        hold.entered();
        await hold.released;
      }
      return ok;
    },
  };
});

/** holdNextCheck holds the next password check once decided: `inside` when it is, `release` to let it go on. */
function holdNextCheck() {
  let entered!: () => void;
  let release!: () => void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  gate.hold = { entered, released };
  return { inside, release };
}

describeEachDialect('signing in while the password changes', (dialect) => {
  let t: TestApp;
  const tenant = 'sign-in-races';
  beforeAll(async () => {
    // The suite's files share one module graph per worker (vitest.config.ts, isolate: false), so
    // a file run before this one may have loaded the server with the real passwords module: the
    // server is loaded afresh here, for the mock above to be the one its sign-ins call.
    vi.resetModules();
    const { startTestApp } = await import('../../test/support/http.js');
    t = await startTestApp(dialect);
    await t.call('POST', '/api/v1/tenants', { name: tenant });
  });
  afterAll(() => t.close());

  async function userWithPassword(email: string) {
    const user = await t.call('POST', `/api/v1/tenants/${tenant}/users`, { email, name: email, password: 'the old password', roles: ['Alerts Viewer'] });
    expect(user.statusCode).toBe(201);
    return user.json().id as string;
  }
  const resetPassword = async (userId: string) => {
    const reset = await t.call('PATCH', `/api/v1/tenants/${tenant}/users/${userId}`, { password: 'the new password' });
    expect(reset.statusCode).toBe(200);
  };

  it('refuses a console sign-in with the old password checked while an administrator set a new one: no session of it outlives the change', async () => {
    const userId = await userWithPassword('ann@example.com');
    const held = holdNextCheck();
    const login = t.tocsin.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { tenant, email: 'ann@example.com', password: 'the old password' },
    });
    await held.inside;
    await resetPassword(userId);
    held.release();
    const answer = await login;
    const cookie = String(answer.headers['set-cookie'] ?? '').split(';')[0]!;
    const session = await t.tocsin.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: cookie ? { cookie } : {} });
    expect({ status: answer.statusCode, session: session.json() }).toEqual({ status: 401, session: { signedIn: false } });
  });

  it('refuses an Authenticate with the old password checked while an administrator set a new one: no token of it outlives the change', async () => {
    const userId = await userWithPassword('bob@example.com');
    const held = holdNextCheck();
    const authenticate = t.tocsin.app.inject({
      method: 'POST',
      url: '/api/Account/Authenticate',
      payload: { tenancyName: tenant, usernameOrEmailAddress: 'bob@example.com', password: 'the old password' },
    });
    await held.inside;
    await resetPassword(userId);
    held.release();
    const answer = await authenticate;
    const token = answer.statusCode === 200 ? (answer.json().result as string) : 'none';
    const me = await t.call('GET', `/api/v1/tenants/${tenant}/me`, undefined, token);
    expect({ status: answer.statusCode, me: me.statusCode }).toEqual({ status: 401, me: 401 });
  });

  it('refuses with 401 a sign-in checked while an administrator deleted the user, where it was a 409 asking to retry', async () => {
    for (const [email, path, payload] of [
      ['dee@example.com', '/api/v1/auth/login', { tenant, email: 'dee@example.com', password: 'the old password' }],
      ['eve@example.com', '/api/Account/Authenticate', { tenancyName: tenant, usernameOrEmailAddress: 'eve@example.com', password: 'the old password' }],
    ] as const) {
      const userId = await userWithPassword(email);
      const held = holdNextCheck();
      const signIn = t.tocsin.app.inject({ method: 'POST', url: path, payload });
      await held.inside;
      expect((await t.call('DELETE', `/api/v1/tenants/${tenant}/users/${userId}`)).statusCode).toBe(204);
      held.release();
      expect((await signIn).statusCode, path).toBe(401);
    }
  });

  it("keeps an administrator's new password over the user's own change checked against the old one meanwhile", async () => {
    const userId = await userWithPassword('cid@example.com');
    const token = (await t.call('POST', `/api/v1/tenants/${tenant}/users/${userId}/tokens`, { name: 'script' })).json().token as string;
    const held = holdNextCheck();
    const change = t.call('POST', `/api/v1/tenants/${tenant}/me/password`, { currentPassword: 'the old password', newPassword: 'the user’s choice' }, token);
    await held.inside;
    await resetPassword(userId);
    held.release();
    const answer = await change;
    expect(answer.statusCode).toBe(400);
    expect(answer.json().errors).toEqual([{ path: 'currentPassword', message: 'is not your current password' }]);
    const login = (password: string) =>
      t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { tenant, email: 'cid@example.com', password } }).then((res) => res.statusCode);
    expect({ administrators: await login('the new password'), users: await login('the user’s choice') }).toEqual({ administrators: 200, users: 401 });
  });
});
