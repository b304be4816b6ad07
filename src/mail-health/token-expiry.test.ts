/**
 * XOAUTH2 tokens warned about before their known expiry: the pure reading of a JWT's `exp`, then
 * end to end on both dialects with two real SMTP servers (the system default, which carries the
 * warning, and the tenant's own, which takes alert emails by XOAUTH2) and mailparser.
 */
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ListeningApp, startListeningApp } from '../../test/support/http.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { TOKEN_WARNING_LEAD_MS, accessTokenLife, tokenWarningDue } from './token-expiry.js';

/** jwt is an unsigned JWT with the claims given: only the payload matters to Tocsin. */
const jwt = (claims: object) => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2lnbmF0dXJl`;

describe('the expiry of an XOAUTH2 access token', () => {
  it("is a JWT's exp claim, and unknown for an opaque or malformed token", () => {
    expect(accessTokenLife(jwt({ exp: 1_800_000_000, aud: 'https://outlook.office.com' }))?.expiresAt).toBe(1_800_000_000_000);
    expect(accessTokenLife('ya29.a0AfH6SMBopaque-google-token')?.expiresAt).toBeUndefined();
    expect(accessTokenLife(jwt({ aud: 'x' }))?.expiresAt).toBeUndefined();
    expect(accessTokenLife(jwt({ exp: 'soon' }))?.expiresAt).toBeUndefined();
    expect(accessTokenLife('a.%%%.c')?.expiresAt).toBeUndefined();
    expect(accessTokenLife('a..c')?.expiresAt).toBeUndefined();
  });

  it(`calls for the warning from ${TOKEN_WARNING_LEAD_MS / 3_600_000} hours before it, and after`, () => {
    const now = 1_000_000_000;
    expect(tokenWarningDue({ expiresAt: now + TOKEN_WARNING_LEAD_MS + 1 }, now)).toBe(false);
    expect(tokenWarningDue({ expiresAt: now + TOKEN_WARNING_LEAD_MS }, now)).toBe(true);
    expect(tokenWarningDue({ expiresAt: now - 1 }, now)).toBe(true);
    expect(tokenWarningDue(undefined, now)).toBe(false);
  });

  it('calls for none for a token issued to live no longer than that: automation renews it every hour, and each would warn', () => {
    const now = 1_000_000_000;
    // Microsoft's: issued now for 75 minutes. Warned of, the administrators would get an email an hour.
    expect(tokenWarningDue({ issuedAt: now, expiresAt: now + 75 * 60_000 }, now)).toBe(false);
    expect(tokenWarningDue({ issuedAt: now - TOKEN_WARNING_LEAD_MS, expiresAt: now }, now)).toBe(false);
    // Issued for a week, or for a day and a second: warned of in its last day.
    expect(tokenWarningDue({ issuedAt: now - 6 * 86_400_000, expiresAt: now + 3_600_000 }, now)).toBe(true);
    expect(tokenWarningDue({ issuedAt: now - TOKEN_WARNING_LEAD_MS - 1, expiresAt: now }, now)).toBe(true);
  });

  it("reads the issue time from a JWT's iat claim, when it has one", () => {
    expect(accessTokenLife(jwt({ iat: 1_799_995_500, exp: 1_800_000_000 }))).toEqual({ issuedAt: 1_799_995_500_000, expiresAt: 1_800_000_000_000 });
    expect(accessTokenLife(jwt({ exp: 1_800_000_000 }))).toEqual({ expiresAt: 1_800_000_000_000, issuedAt: undefined });
    expect(accessTokenLife(jwt({ iat: 'then', exp: 1_800_000_000 }))?.issuedAt).toBeUndefined();
  });
});

describeEachDialect('XOAUTH2 tenants warned before the token expires', (dialect) => {
  let system: TestSmtpServer;
  let own: TestSmtpServer;
  let app: ListeningApp;
  const soon = jwt({ exp: Math.floor(Date.now() / 1000) + 2 * 3600 });
  const later = jwt({ exp: Math.floor(Date.now() / 1000) + 10 * 86_400 });

  const api: ListeningApp['api'] = (...args) => app.api(...args);
  const xoauth2 = (accessToken: string) => ({
    useCustom: true,
    custom: {
      host: '127.0.0.1',
      port: own.port,
      security: 'none',
      allowPlaintextAuth: true,
      authMethod: 'xoauth2',
      username: 'robot@acme.example.com',
      accessToken,
      fromAddress: 'alerts@acme.example.com',
    },
  });

  beforeAll(async () => {
    system = await startTestSmtpServer();
    own = await startTestSmtpServer({ auth: { username: 'robot@acme.example.com', accessToken: soon, methods: ['XOAUTH2'] } });
    app = await startListeningApp(dialect, `smtp://127.0.0.1:${system.port}?from=tocsin@example.com`);
  });
  afterAll(async () => {
    await app?.close();
    await system?.close();
    await own?.close();
  });

  it('emails the administrators once through the system default, shows the expiry in the health answer, and sends alerts by XOAUTH2 meanwhile', async () => {
    const acme = await api('POST', '', { name: 'acme', timeZone: 'UTC' });
    await api('POST', '/acme/users', { email: 'admin@acme.example.com', name: 'Ada', language: 'fr', roles: ['Administrator'] });
    await api('PUT', '/acme/settings/mail', { alertsEmailEnabled: true, ...xoauth2(soon) });

    const [warning] = await system.waitForMessages(1, 20_000);
    const mail = await simpleParser(warning!.raw);
    expect(mail.headers.get('x-tocsin-kind')).toBe('mail-health');
    expect(mail.subject).toBe('Le jeton d’accès au serveur de messagerie du locataire acme expire bientôt');
    expect(mail.text).toContain(`https://tocsin.example.com/#/settings/mail?tenant=${acme.id}`);
    expect(mail.text).not.toContain(soon);
    const health = await api('GET', '/acme/settings/mail/health');
    expect(health).toEqual({ state: 'ok', accessTokenExpiresAt: new Date(accessTokenLife(soon)!.expiresAt).toISOString() });

    // Alert emails keep going through the tenant's server; each checks the token again, and warns no more.
    await api('POST', '/acme/alerts', { severity: 'Error', component: 'Jobs', message: 'Invoice run failed' });
    await own.waitForMessages(1, 20_000);
    await api('PUT', '/acme/settings/mail', xoauth2(soon));
    const notices = (await api('GET', '/acme/deliveries?kind=mail-health')).items;
    expect(notices).toHaveLength(1);
    expect(own.authSeen.map((a) => a.method)).toContain('XOAUTH2');

    // A token with ten days left: its expiry is shown, nobody is emailed yet.
    await api('PUT', '/acme/settings/mail', xoauth2(later));
    expect((await api('GET', '/acme/settings/mail/health')).accessTokenExpiresAt).toBe(new Date(accessTokenLife(later)!.expiresAt).toISOString());
    expect((await api('GET', '/acme/deliveries?kind=mail-health')).items).toHaveLength(1);

    // Microsoft's tokens live 75 minutes, issued now: the tenant's automation puts a new one every hour, and
    // its administrators are emailed none of them (the banner still shows its expiry).
    const now = Math.floor(Date.now() / 1000);
    for (const issuedAt of [now - 60, now]) await api('PUT', '/acme/settings/mail', xoauth2(jwt({ iat: issuedAt, exp: issuedAt + 75 * 60 })));
    expect(await api('GET', '/acme/settings/mail/health')).toMatchObject({
      accessTokenIssuedAt: new Date(now * 1000).toISOString(),
      accessTokenExpiresAt: new Date((now + 75 * 60) * 1000).toISOString(),
    });
    expect((await api('GET', '/acme/deliveries?kind=mail-health')).items).toHaveLength(1);
  });
  it("warns no tenant of the system default's token: it is the host's to renew, and the notice would say the tenant's server", async () => {
    // The host administrator saved an XOAUTH2 system default whose token expires within the day.
    const saved = await app.call('PUT', '/api/v1/system/mail-settings', { ...xoauth2(soon).custom, fromAddress: 'tocsin@example.com' });
    expect(saved.statusCode).toBe(200);
    await api('POST', '', { name: 'bravo', timeZone: 'UTC' });
    await api('POST', '/bravo/users', { email: 'admin@bravo.example.com', name: 'Bo', roles: ['Administrator'] });
    await api('PUT', '/bravo/settings/mail', { alertsEmailEnabled: true });
    const before = own.messages.length;
    await api('POST', '/bravo/alerts', { severity: 'Error', component: 'Jobs', message: 'Invoice run failed' });
    // Its endpoint, and so any warning about it, was settled before the email was sent.
    const [alert] = (await own.waitForMessages(before + 1, 20_000)).slice(before);
    expect(alert!.envelope.to).toEqual(['admin@bravo.example.com']);
    expect((await api('GET', '/bravo/deliveries?kind=mail-health')).items).toEqual([]);
    expect((await api('GET', '/bravo/settings/mail/health')).accessTokenExpiresAt).toBeUndefined();
  });
});
