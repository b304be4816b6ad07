import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { createLogger } from './logger.js';

/** captureLogs returns a JSON logger at trace level and the lines it wrote. */
function captureLogs() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger('trace', stream), text: () => lines.join('') };
}

const SECRET = 'correct-horse-battery-staple';

describe('log redaction', () => {
  it('hides secret-named values at any depth, in arrays, and inside logged errors', () => {
    const { logger, text } = captureLogs();
    logger.info({ password: SECRET }, 'top');
    logger.info({ settings: { custom: { smtp: { auth: { password: SECRET, accessToken: SECRET } } } } }, 'deep');
    logger.info({ req: { headers: { authorization: `Bearer ${SECRET}`, cookie: `tocsin_session=${SECRET}` } } }, 'headers');
    logger.info({ res: { headers: { 'set-cookie': [`tocsin_session=${SECRET}`] } } }, 'set-cookie');
    logger.info({ env: { TOCSIN_ADMIN_TOKEN: SECRET, TOCSIN_SECRET_KEY: SECRET } }, 'env');
    logger.info({ users: [{ email: 'a@example.com', passwordHash: SECRET }] }, 'array');
    const err = Object.assign(new Error('auth failed'), { code: 'EAUTH', password: SECRET, config: { smtpPassword: SECRET } });
    logger.error({ err }, 'failure');
    logger.error(err);
    const out = text();
    expect(out).not.toContain(SECRET);
    expect(out.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(10);
    const failure = out
      .split('\n')
      .map((l) => (l ? JSON.parse(l) : {}))
      .find((l) => l.msg === 'failure');
    expect(failure.err).toMatchObject({ type: 'Error', message: 'auth failed', code: 'EAUTH' });
    expect(failure.err.stack).toContain('auth failed');
  });

  it('hides the password of URLs in messages and values, and keeps what is not secret', () => {
    const { logger, text } = captureLogs();
    logger.info({ smtp: `smtps://ops:${SECRET}@mail.example.com:465` }, `connecting to smtp://ops:${SECRET}@mail.example.com`);
    logger.info({ passwordSet: true, tokenId: 'tok-1', email: 'ana@example.com' }, 'facts');
    const out = text();
    expect(out).not.toContain(SECRET);
    expect(out).toContain('smtps://ops:[redacted]@mail.example.com:465');
    expect(out).toContain('"passwordSet":true');
    expect(out).toContain('ana@example.com');
  });

  it('leaves a URL without credentials whole, even with an address in its query', () => {
    const { logger, text } = captureLogs();
    logger.info({ smtp: 'smtp://127.0.0.1:2525?from=tocsin@localhost' }, 'sending through smtp://127.0.0.1:2525?from=tocsin@localhost');
    expect(text()).not.toContain('[redacted]');
    expect(text().match(/smtp:\/\/127\.0\.0\.1:2525\?from=tocsin@localhost/g)).toHaveLength(2);
  });

  it('survives cyclic and very deep objects', () => {
    const { logger, text } = captureLogs();
    const cyclic: Record<string, unknown> = { password: SECRET };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { password: SECRET };
    for (let i = 0; i < 50; i++) deep = { next: deep };
    logger.info({ cyclic, deep }, 'odd shapes');
    expect(text()).not.toContain(SECRET);
    expect(text()).toContain('odd shapes');
  });
});

describeEachDialect('no secret in the logs of a working app', (dialect) => {
  const capture = captureLogs();
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect, { LOG_LEVEL: 'trace' }, { logger: capture.logger });
  });
  afterAll(() => t.close());

  it('never writes passwords, API tokens, session cookies or the admin token', async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'logs' });
    const user = await t.call('POST', '/api/v1/tenants/logs/users', { email: 'ana@example.com', name: 'Ana', password: SECRET, roles: ['Administrator'] });
    const token = (await t.call('POST', `/api/v1/tenants/logs/users/${user.json().id}/tokens`, { name: 'ci' })).json().token as string;
    await t.call('GET', '/api/v1/tenants/logs/me', undefined, token);
    await t.call('GET', '/api/v1/tenants/logs/me', undefined, `${token}x`);
    const inject = (payload: object) => t.tocsin.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload });
    await inject({ tenant: 'logs', email: 'ana@example.com', password: `${SECRET}-wrong` });
    const login = await inject({ tenant: 'logs', email: 'ana@example.com', password: SECRET });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    await t.tocsin.app.inject({ method: 'GET', url: '/api/v1/tenants/logs/users', headers: { cookie } });
    await t.call('PATCH', `/api/v1/tenants/logs/users/${user.json().id}`, { password: `${SECRET}-new` });
    await t.call('POST', '/api/v1/tenants/logs/users', { email: 'not an email', name: 'Bad', password: SECRET });

    // Inbound sources: a secret shown once, used right and wrong, and an upstream password.
    const source = (await t.call('POST', '/api/v1/tenants/logs/sources', { name: 'am', kind: 'alertmanager' })).json();
    const receive = (authorization: string, payload: string) =>
      t.tocsin.app.inject({ method: 'POST', url: new URL(source.url).pathname, headers: { authorization, 'content-type': 'application/json' }, payload });
    await receive(`Bearer ${source.secret}`, '{"version":"4","alerts":[]}');
    await receive(`Bearer ${source.secret}`, '{"version":"3"');
    await receive(`Bearer ${source.secret}x`, '{"version":"4","alerts":[]}');
    await receive(`Basic ${Buffer.from(`am:${source.secret}`).toString('base64')}`, '{"version":"4","alerts":[]}');
    await t.call('POST', '/api/v1/tenants/logs/sources', {
      name: 'pull',
      kind: 'orchestrator-pull',
      pull: { baseUrl: 'https://orchestrator.example.com', username: 'u', password: `${SECRET}-upstream` },
    });

    const out = capture.text();
    for (const secret of [SECRET, token, cookie.split('=')[1]!, 'test-admin-token-0123456789', source.secret]) {
      expect(out).not.toContain(secret);
    }
  });
});
