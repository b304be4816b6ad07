import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';
import { loadConfig } from '../config.js';
import { startTocsin } from '../server.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { LOGIN_RULES, LoginThrottle, waitMs } from './login-throttle.js';

const rule = { limit: 3, windowMs: 60_000 };

describe('login throttle decisions', () => {
  it('lets attempts through until the limit falls inside the window, then waits for the oldest to leave', () => {
    expect(waitMs([], rule, 1_000)).toBe(0);
    expect(waitMs([1_000, 2_000], rule, 3_000)).toBe(0);
    expect(waitMs([1_000, 2_000, 3_000], rule, 4_000)).toBe(57_000);
    expect(waitMs([1_000, 2_000, 3_000], rule, 61_000)).toBe(0);
    expect(waitMs([0, 1_000, 2_000, 3_000], rule, 30_000)).toBe(31_000);
  });

  it('counts accounts and addresses apart, and forgets an account on success', () => {
    const clock = new FakeClock(0);
    const throttle = new LoginThrottle(clock, { account: rule, address: { limit: 5, windowMs: 60_000 } });
    const ana = { account: 't:ana', address: '10.0.0.1' };
    for (let i = 0; i < 3; i++) throttle.failed(ana);
    expect(throttle.retryAfterMs(ana)).toBe(60_000);
    expect(throttle.retryAfterMs({ account: 't:bo', address: '10.0.0.1' })).toBe(0);
    throttle.failed({ account: 't:bo', address: '10.0.0.1' });
    throttle.failed({ account: 't:cy', address: '10.0.0.1' });
    expect(throttle.retryAfterMs({ account: 't:dee', address: '10.0.0.1' })).toBe(60_000);
    expect(throttle.retryAfterMs({ account: 't:dee', address: '10.0.0.2' })).toBe(0);
    clock.advance(60_001);
    expect(throttle.retryAfterMs(ana)).toBe(0);
    throttle.failed(ana);
    throttle.succeeded(ana);
    throttle.failed(ana);
    throttle.failed(ana);
    expect(throttle.retryAfterMs(ana)).toBe(0);
  });

  it('counts sign-ins under way until they are settled, and an ended one as nothing', async () => {
    const clock = new FakeClock(0);
    const throttle = new LoginThrottle(clock, { account: rule, address: { limit: 10, windowMs: 60_000 } });
    const ana = { account: 't:ana', address: '10.0.0.1' };
    throttle.failed(ana);
    const first = throttle.begin(ana);
    expect(throttle.crowded(ana)).toBe(false);
    const second = throttle.begin(ana);
    expect([throttle.crowded(ana), throttle.retryAfterMs(ana)]).toEqual([true, 0]);
    const woken = throttle.settled();
    second.end();
    await woken;
    expect(throttle.crowded(ana)).toBe(false);
    first.failed();
    first.end();
    throttle.begin(ana).failed();
    expect(throttle.retryAfterMs(ana)).toBe(60_000);
  });
});

describeEachDialect('login throttling over HTTP', (dialect) => {
  const clock = new FakeClock(Date.UTC(2026, 10, 27, 12));
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect, {}, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'guarded' });
    await t.call('POST', '/api/v1/tenants/guarded/users', { email: 'ana@example.com', name: 'Ana', password: 'the real password' });
  });
  afterAll(() => t.close());

  const login = (body: object, remoteAddress = '192.0.2.1') => t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: body, remoteAddress });

  it('answers 429 with Retry-After once an account had too many wrong passwords, even for the right one', async () => {
    const wrong = { tenant: 'guarded', email: 'ana@example.com', password: 'a guess' };
    for (let i = 0; i < LOGIN_RULES.account.limit; i++) expect((await login(wrong)).statusCode).toBe(401);
    const blocked = await login({ ...wrong, email: 'ANA@example.com', password: 'the real password' });
    expect(blocked.statusCode).toBe(429);
    expect(blocked.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(blocked.headers['retry-after'])).toBe(LOGIN_RULES.account.windowMs / 1000);
    // Another address is blocked too: the count belongs to the account.
    expect((await login({ ...wrong, password: 'the real password' }, '198.51.100.7')).statusCode).toBe(429);

    clock.advance(LOGIN_RULES.account.windowMs);
    expect((await login({ ...wrong, password: 'the real password' })).statusCode).toBe(200);
  });

  it('lets a user whose administrator set a new password sign in with it at once, though its account was blocked', async () => {
    // Locked out after mistyping, the user asks an administrator, who sets a new password: it answered 429 for 15 more minutes.
    const bo = (await t.call('POST', '/api/v1/tenants/guarded/users', { email: 'bo@example.com', name: 'Bo', password: 'the forgotten one' })).json();
    const wrong = { tenant: 'guarded', email: 'bo@example.com', password: 'a guess' };
    for (let i = 0; i < LOGIN_RULES.account.limit; i++) expect((await login(wrong, '192.0.2.44')).statusCode).toBe(401);
    expect((await login({ ...wrong, password: 'the forgotten one' }, '192.0.2.44')).statusCode).toBe(429);
    // Changing the name leaves the count alone; setting the password starts it again.
    expect((await t.call('PATCH', `/api/v1/tenants/guarded/users/${bo.id}`, { name: 'Bo B.' })).statusCode).toBe(200);
    expect((await login({ ...wrong, password: 'the forgotten one' }, '192.0.2.44')).statusCode).toBe(429);
    expect((await t.call('PATCH', `/api/v1/tenants/guarded/users/${bo.id}`, { password: 'a brand new password' })).statusCode).toBe(200);
    expect((await login({ ...wrong, password: 'a brand new password' }, '192.0.2.44')).statusCode).toBe(200);
  });

  it('counts the sign-ins still being checked, so wrong passwords sent at once get no more tries than one after another', async () => {
    // Each check waited for argon2 before it counted: 40 guesses sent together were all checked (401), the limit being 5.
    await t.call('POST', '/api/v1/tenants/guarded/users', { email: 'cy@example.com', name: 'Cy', password: 'the real password' });
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login({ tenant: 'guarded', email: 'cy@example.com', password: `guess ${i}` }, `192.0.2.${100 + i}`)),
    );
    const checked = burst.filter((answer) => answer.statusCode === 401).length;
    expect(checked).toBeLessThanOrEqual(LOGIN_RULES.account.limit);
    expect(burst.every((answer) => answer.statusCode === 401 || (answer.statusCode === 429 && Number(answer.headers['retry-after']) > 0))).toBe(true);
    // And own-password changes guessing the current one, at once, from one session's token.
    const cy = (await t.call('GET', '/api/v1/tenants/guarded/users')).json().items.find((u: { email: string }) => u.email === 'cy@example.com');
    const token = (await t.call('POST', `/api/v1/tenants/guarded/users/${cy.id}/tokens`, { name: 'cy' })).json().token;
    clock.advance(LOGIN_RULES.account.windowMs);
    const changes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.tocsin.app.inject({
          method: 'POST',
          url: '/api/v1/tenants/guarded/me/password',
          headers: { authorization: `Bearer ${token}` },
          payload: { currentPassword: `guess ${i}`, newPassword: 'a brand new password' },
          remoteAddress: `192.0.2.${150 + i}`,
        }),
      ),
    );
    expect(changes.filter((answer) => answer.statusCode === 400).length).toBeLessThanOrEqual(LOGIN_RULES.account.limit);
  });

  it('lets right passwords sent at once all sign in, however many: the attempts still being checked wait rather than count as failed', async () => {
    // Robots sharing one account call Authenticate together when their jobs start: counted as failures while checked, the sixth was a 429.
    await t.call('POST', '/api/v1/tenants/guarded/users', { email: 'fleet@example.com', name: 'Fleet', password: 'the fleet password' });
    const together = await Promise.all(
      Array.from({ length: 3 * LOGIN_RULES.account.limit }, () =>
        login({ tenant: 'guarded', email: 'fleet@example.com', password: 'the fleet password' }, '192.0.2.200'),
      ),
    );
    expect(together.map((answer) => answer.statusCode)).toEqual(together.map(() => 200));
  });

  it('answers 429 to an address that sprays many accounts, while other addresses go on', async () => {
    const sprayer = '203.0.113.9';
    for (let i = 0; i < LOGIN_RULES.address.limit; i++) {
      expect((await login({ tenant: 'guarded', email: `user${i}@example.com`, password: 'Winter2026!' }, sprayer)).statusCode).toBe(401);
    }
    const blocked = await login({ tenant: 'guarded', email: 'ana@example.com', password: 'the real password' }, sprayer);
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await login({ adminToken: 'not the admin token at all' }, sprayer)).statusCode).toBe(429);
    expect((await login({ tenant: 'guarded', email: 'ana@example.com', password: 'the real password' })).statusCode).toBe(200);
  });

  // 64 sign-ins, each an argon2 check (twice the address test above): on a loaded two-core machine it took 21 s of the default 30.
  it('counts a /64 of IPv6 as one client, and an IPv4-mapped address as its IPv4 one, so a host cannot walk round the limit', { timeout: 60_000 }, async () => {
    // Each IPv6 address counted alone: a host given a /64 sprayed from a new address each time, never a 429.
    for (let i = 0; i < LOGIN_RULES.address.limit; i++) {
      expect(
        (await login({ tenant: 'guarded', email: `v6-${i}@example.com`, password: 'Winter2026!' }, `2001:db8:7:7::${(i + 1).toString(16)}`)).statusCode,
      ).toBe(401);
    }
    const blocked = await login({ tenant: 'guarded', email: 'ana@example.com', password: 'the real password' }, '2001:db8:7:7:abcd:1234:5678:9abc');
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // The next /64 is another client.
    expect((await login({ tenant: 'guarded', email: 'ana@example.com', password: 'the real password' }, '2001:db8:7:8::1')).statusCode).toBe(200);

    const v4 = '203.0.113.40';
    for (let i = 0; i < LOGIN_RULES.address.limit; i++) {
      const from = i % 2 === 0 ? v4 : `::ffff:${v4}`;
      expect((await login({ tenant: 'guarded', email: `mapped-${i}@example.com`, password: 'Winter2026!' }, from)).statusCode).toBe(401);
    }
    expect((await login({ tenant: 'guarded', email: 'ana@example.com', password: 'the real password' }, `::ffff:${v4}`)).statusCode).toBe(429);
    expect((await login({ tenant: 'guarded', email: 'ana@example.com', password: 'the real password' }, v4)).statusCode).toBe(429);
  });
});

describeEachDialect('login throttling in several api processes', (dialect) => {
  it('lets a user whose administrator set a new password through one process sign in with it through every other one at once', async () => {
    // Each process counts on its own, and only the process that took the new password forgot the count: the user,
    // locked out after mistyping, got 429 from every other api process (--processes) for 15 more minutes.
    const clock = new FakeClock(Date.UTC(2026, 10, 27, 12));
    const first = await startTestApp(dialect, {}, { clock });
    const { databaseUrl, dataDir } = first.tocsin.deps.config;
    const second = await startTocsin(
      loadConfig({ DATABASE_URL: databaseUrl, TOCSIN_DATA_DIR: dataDir, TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'silent' }),
      { listen: false, logger: pino({ level: 'silent' }), mailCatcher: false, clock },
    );
    try {
      await first.call('POST', '/api/v1/tenants', { name: 'processes' });
      const bo = (await first.call('POST', '/api/v1/tenants/processes/users', { email: 'bo@example.com', name: 'Bo', password: 'the forgotten one' })).json();
      const wrong = { tenant: 'processes', email: 'bo@example.com', password: 'a guess' };
      const login = (app: TestApp['tocsin']['app'], password: string) =>
        app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { ...wrong, password }, remoteAddress: '192.0.2.60' }).then((r) => r.statusCode);
      for (const app of [first.tocsin.app, second.app]) {
        for (let i = 0; i < LOGIN_RULES.account.limit; i++) expect(await login(app, 'a guess')).toBe(401);
        expect(await login(app, 'the forgotten one')).toBe(429);
      }
      expect((await first.call('PATCH', `/api/v1/tenants/processes/users/${bo.id}`, { password: 'a brand new password' })).statusCode).toBe(200);
      expect(await login(second.app, 'a brand new password')).toBe(200);
      expect(await login(first.tocsin.app, 'a brand new password')).toBe(200);
    } finally {
      await second.close();
      await first.close();
    }
  });
});

describeEachDialect('login throttling behind a reverse proxy', (dialect) => {
  // The proxy (or load balancer) that every sign-in comes through, named by TOCSIN_TRUST_PROXY.
  const proxy = '192.0.2.250';
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_TRUST_PROXY: `${proxy}, 10.1.0.0/16` });
    await t.call('POST', '/api/v1/tenants', { name: 'proxied' });
    await t.call('POST', '/api/v1/tenants/proxied/users', { email: 'ana@example.com', name: 'Ana', password: 'the real password' });
  });
  afterAll(() => t.close());

  const login = (body: object, forwardedFor: string | undefined, remoteAddress = proxy) =>
    t.tocsin.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: body,
      remoteAddress,
      headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
    });

  it("counts each client's address that the trusted proxy forwards, so one client's spray does not lock out everyone behind it", async () => {
    // Every sign-in came from the proxy's address: 30 wrong ones from anyone answered 429 to every user for 15 minutes.
    const sprayer = '203.0.113.9';
    for (let i = 0; i < LOGIN_RULES.address.limit; i++) {
      expect((await login({ tenant: 'proxied', email: `user${i}@example.com`, password: 'Winter2026!' }, sprayer)).statusCode).toBe(401);
    }
    expect((await login({ tenant: 'proxied', email: 'ana@example.com', password: 'the real password' }, sprayer)).statusCode).toBe(429);
    // Through a second trusted hop too (the header's right-most untrusted address is the client).
    expect((await login({ tenant: 'proxied', email: 'ana@example.com', password: 'the real password' }, `${sprayer}, 10.1.2.3`)).statusCode).toBe(429);
    expect((await login({ tenant: 'proxied', email: 'ana@example.com', password: 'the real password' }, '198.51.100.20')).statusCode).toBe(200);
  });

  it('believes no X-Forwarded-For from a client that is not the proxy, so a sprayer cannot pose as new addresses', async () => {
    const direct = '203.0.113.77';
    for (let i = 0; i < LOGIN_RULES.address.limit; i++) {
      const answer = await login({ tenant: 'proxied', email: `other${i}@example.com`, password: 'Winter2026!' }, `198.51.100.${i}`, direct);
      expect(answer.statusCode).toBe(401);
    }
    expect((await login({ tenant: 'proxied', email: 'ana@example.com', password: 'the real password' }, '198.51.100.250', direct)).statusCode).toBe(429);
    // A client's own forged entry left of the proxy's does not count either: the proxy appends the address it saw.
    expect((await login({ tenant: 'proxied', email: 'ana@example.com', password: 'the real password' }, `198.51.100.251, ${direct}`)).statusCode).toBe(429);
  });
});
