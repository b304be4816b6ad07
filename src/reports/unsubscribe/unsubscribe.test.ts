import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type TestApp, startTestApp } from '../../../test/support/http.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../../test/support/smtp-servers.js';
import { lookAlikeTokens } from '../../../test/support/tokens.js';
import { whileDeleting } from '../../../test/support/lost-race.js';
import { emailTranslator } from '../../i18n/email-i18n.js';
import { LANGUAGES, type Language } from '../../i18n/languages.js';
import { recipientPages } from '../../recipients/query.js';
import { FakeClock } from '../../shared/clock.js';
import { up as keepLegacyLinksForAWhile } from '../../storage/migrations/20261130-90-reports-unsubscribe-legacy-links.js';
import { describeEachDialect } from '../../../test/support/storage.js';
import { addressTag, sealToken } from '../../shared/sealed-token.js';
import { UnsubscribeLinks, loadUnsubscribeKey } from './links.js';
import { unsubscribePage } from './page.js';
import { type UnsubscribeTarget, openUnsubscribeToken, sealUnsubscribeToken, verifyLegacyUnsubscribeToken } from './token.js';

const DAY = 24 * 3_600_000;

/** legacyToken writes a link as Tocsin did before tokens were opaque: readable fields, then their HMAC. */
function legacyToken(key: Buffer, target: UnsubscribeTarget): string {
  const fields = [target.kind, target.recipient.type, target.tenantId, target.recipient.id, target.recipient.address];
  const payload = Buffer.from(fields.join('\n'), 'utf8').toString('base64url');
  return `${payload}.${crypto.createHmac('sha256', key).update(`tocsin-unsubscribe:${payload}`).digest('base64url')}`;
}

/** v2Token seals a link as Tocsin did before email links shared one sealing module: nonce, ciphertext, tag. */
function v2Token(key: Buffer, target: UnsubscribeTarget, expiresAt: number): string {
  const sealing = Buffer.from(crypto.hkdfSync('sha256', key, Buffer.alloc(0), 'tocsin-unsubscribe-seal', 32));
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', sealing, iv).setAAD(Buffer.from('tocsin-unsubscribe-v2'));
  const plain = [String(expiresAt), target.kind, target.recipient.type, target.tenantId, target.recipient.id, target.recipient.address].join('\n');
  const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url');
}

describe('unsubscribe tokens', () => {
  const key = Buffer.alloc(32, 7);
  const target = { tenantId: 'tenant-4f1c', kind: 'daily', recipient: { type: 'user', id: 'user-9a2b', address: 'ana.lopez@example.com' } } as const;
  const NOW = 1_800_000_000_000;

  it('round-trips a target, its address as a tag, shows nothing of it, and refuses an altered, foreign or expired token', () => {
    const token = sealUnsubscribeToken(key, target, NOW + DAY);
    const tagged = { ...target, recipient: { type: 'user', id: 'user-9a2b', addressTag: addressTag('Ana.Lopez@example.com') } };
    expect(openUnsubscribeToken(key, token, NOW)).toEqual(tagged);
    expect(token).toMatch(/^[\w-]+$/);
    const readable = `${token} ${Buffer.from(token, 'base64url').toString('latin1')}`;
    for (const secret of ['ana.lopez', 'example.com', 'user-9a2b', 'tenant-4f1c', 'daily']) expect(readable).not.toContain(secret);
    expect(sealUnsubscribeToken(key, target, NOW + DAY)).not.toBe(token);
    const bytes = Buffer.from(token, 'base64url');
    bytes[20] = (bytes[20] ?? 0) ^ 1;
    expect(openUnsubscribeToken(key, bytes.toString('base64url'), NOW)).toBeUndefined();
    expect(openUnsubscribeToken(Buffer.alloc(32, 8), token, NOW)).toBeUndefined();
    expect(openUnsubscribeToken(key, token, NOW + DAY)).toBeUndefined();
    expect(openUnsubscribeToken(key, 'garbage', NOW)).toBeUndefined();
  });

  it('opens the sealed links of emails sent before, which carried the address (v3), until they expire', () => {
    const plain = [String(NOW + DAY), target.kind, target.recipient.type, target.tenantId, target.recipient.id, target.recipient.address].join('\n');
    const sealing = Buffer.from(crypto.hkdfSync('sha256', key, Buffer.alloc(0), 'tocsin-unsubscribe-seal', 32));
    const v3 = sealToken(sealing, Buffer.from('tocsin-unsubscribe-v3'), Buffer.from(plain, 'utf8'));
    expect(openUnsubscribeToken(key, v3, NOW)).toEqual(target);
    expect(openUnsubscribeToken(key, v3, NOW + DAY)).toBeUndefined();
    expect(openUnsubscribeToken(Buffer.alloc(32, 8), v3, NOW)).toBeUndefined();
  });

  it('opens the sealed links of emails sent before (v2) until they expire, refusing an altered one', () => {
    const old = v2Token(key, target, NOW + DAY);
    expect(openUnsubscribeToken(key, old, NOW)).toEqual(target);
    expect(openUnsubscribeToken(key, old, NOW + DAY)).toBeUndefined();
    expect(openUnsubscribeToken(Buffer.alloc(32, 8), old, NOW)).toBeUndefined();
    const bytes = Buffer.from(old, 'base64url');
    bytes[20] = (bytes[20] ?? 0) ^ 1;
    expect(openUnsubscribeToken(key, bytes.toString('base64url'), NOW)).toBeUndefined();
    // The new layout is not the old one: a new token is refused by the old reader, and the other way round.
    expect(sealUnsubscribeToken(key, target, NOW + DAY)).not.toBe(old);
  });

  it('still reads the old readable format, refusing an altered one', () => {
    const token = legacyToken(key, target);
    expect(verifyLegacyUnsubscribeToken(key, token)).toEqual(target);
    const [payload, mac] = token.split('.');
    const forged = Buffer.from(Buffer.from(payload!, 'base64url').toString().replace('user-9a2b', 'user-0000')).toString('base64url');
    expect(verifyLegacyUnsubscribeToken(key, `${forged}.${mac}`)).toBeUndefined();
    expect(verifyLegacyUnsubscribeToken(Buffer.alloc(32, 8), token)).toBeUndefined();
  });
});

/** preferencesWords finds the emails' words for the alert preferences: the whole words, not a longer one they start (« préférences d’alertes »); Japanese runs on with no space. */
function preferencesWords(language: Language): RegExp {
  const words = emailTranslator(language)('common.preferences').toLowerCase();
  return new RegExp(`${words.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?!\\p{Script=Latin})`, 'u');
}

describe('the unsubscribe page', () => {
  it.each(LANGUAGES)('in %s, names the alert preferences as the footer link of the emails does, where it sends the reader', (language) => {
    const preferences = preferencesWords(language);
    const target: UnsubscribeTarget = { tenantId: 't', kind: 'daily', recipient: { type: 'user', id: 'u', address: 'a@example.com' } };
    for (const state of ['ask', 'unsubscribed'] as const) expect(unsubscribePage(target, language, state, 'x').toLowerCase()).toMatch(preferences);
  });

  it.each(LANGUAGES)(
    'in %s, sends no one to alert preferences that do not hold what the link turns off: the mail-health notices, a group mailbox',
    (language) => {
      // Neither is a choice of anyone's alert preferences: the page's own button is the way back, so it names no other.
      const preferences = preferencesWords(language);
      const notices: UnsubscribeTarget = { tenantId: 't', kind: 'mail-health', recipient: { type: 'user', id: 'u', address: 'a@example.com' } };
      const mailbox: UnsubscribeTarget = { tenantId: 't', kind: 'daily', recipient: { type: 'group', id: 'g', address: 'ops@example.com' } };
      for (const target of [notices, mailbox]) {
        for (const state of ['ask', 'unsubscribed'] as const) {
          expect(unsubscribePage(target, language, state, 'x').toLowerCase(), `${target.kind} ${state}`).not.toMatch(preferences);
        }
      }
    },
  );
});

describeEachDialect('one-click unsubscribe', (dialect) => {
  let t: TestApp;
  let links: UnsubscribeLinks;
  let tenantId: string;
  let user: { userId: string; token: string; email: string };
  let key: Buffer;
  const clock = new FakeClock(Date.now());
  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_PUBLIC_URL: 'https://tocsin.example.com' }, { clock });
    // An installation that signed links before they became opaque: its upgrade keeps them a while.
    key = await loadUnsubscribeKey(t.tocsin.deps.storage.db, clock);
    await keepLegacyLinksForAWhile(t.tocsin.deps.storage.db);
    links = new UnsubscribeLinks(t.tocsin.deps.storage.db, 'https://tocsin.example.com', clock);
    user = await t.tenantWithUser('unsub', ['Alerts Viewer']);
    tenantId = (await t.call('GET', '/api/v1/tenants/unsub')).json().id;
  });
  afterAll(() => t.close());

  const pathOf = (url: string) => new URL(url).pathname;
  const oneClick = (path: string) =>
    t.tocsin.app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });

  it('shows a page with a button on GET and changes nothing', async () => {
    const url = await links.url({ tenantId, kind: 'daily', recipient: { type: 'user', id: user.userId, address: user.email } });
    expect(url.startsWith('https://tocsin.example.com/unsubscribe/')).toBe(true);
    const res = await t.tocsin.app.inject({ method: 'GET', url: pathOf(url) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).toContain('<form method="post">');
    expect(res.body).toContain('Unsubscribe from daily reports');
    expect(res.headers).toMatchObject({ 'x-frame-options': 'DENY', 'content-security-policy': expect.stringContaining("frame-ancestors 'none'") });
    const prefs = (await t.call('GET', '/api/v1/tenants/unsub/me/alert-preferences', undefined, user.token)).json();
    expect(prefs.email.dailyReport).toBe(true);
  });

  it('turns that report off on a one-click POST, harmlessly when replayed, and leaves the others on', async () => {
    const url = await links.url({ tenantId, kind: 'daily', recipient: { type: 'user', id: user.userId, address: user.email } });
    expect((await oneClick(pathOf(url))).statusCode).toBe(200);
    expect((await oneClick(pathOf(url))).statusCode).toBe(200);
    const prefs = (await t.call('GET', '/api/v1/tenants/unsub/me/alert-preferences', undefined, user.token)).json();
    expect(prefs.email).toEqual({ tenMinuteSummary: true, dailyReport: false, fatalImmediately: false });
  });

  it("sends back to the queue the waiting emails of the link's tenant alone, on the POST that changes something", async () => {
    // A change of who gets which email sends the emails rendered before it back to the queue (ChangeCount): one
    // unsubscribe clicked during a flood sent back every tenant's, as the app's hook does not know the link's tenant.
    const bumps = vi.spyOn(t.tocsin.deps.recipientChanges!, 'bump');
    try {
      const url = await links.url({ tenantId, kind: 'summary', recipient: { type: 'user', id: user.userId, address: user.email } });
      expect((await t.tocsin.app.inject({ method: 'GET', url: pathOf(url) })).statusCode).toBe(200);
      expect(bumps).not.toHaveBeenCalled();
      expect((await oneClick(pathOf(url))).statusCode).toBe(200);
      expect(bumps.mock.calls).toEqual([[tenantId]]);
      expect((await t.tocsin.app.inject({ method: 'POST', url: `${pathOf(url)}/resubscribe` })).statusCode).toBe(200);
      expect(bumps.mock.calls).toEqual([[tenantId], [tenantId]]);
    } finally {
      bumps.mockRestore();
    }
  });

  it('turns off each report whose link is taken at the same time as another', async () => {
    for (let round = 0; round < 5; round++) {
      const someone = await t.tenantWithUser('unsub', ['Alerts Viewer']);
      await t.call('PUT', '/api/v1/tenants/unsub/me/alert-preferences', { email: { fatalImmediately: true } }, someone.token);
      const recipient = { type: 'user' as const, id: someone.userId, address: someone.email };
      const urls = await Promise.all((['summary', 'daily', 'immediate'] as const).map((kind) => links.url({ tenantId, kind, recipient })));
      expect((await Promise.all(urls.map((url) => oneClick(pathOf(url))))).map((res) => res.statusCode)).toEqual([200, 200, 200]);
      const prefs = (await t.call('GET', '/api/v1/tenants/unsub/me/alert-preferences', undefined, someone.token)).json();
      expect(prefs.email, `round ${round}`).toEqual({ tenMinuteSummary: false, dailyReport: false, fatalImmediately: false });
    }
  });

  it('unsubscribes on a POST whatever its body and content type, JSON that does not parse and no body included', async () => {
    const bodies: { type?: string; payload?: string }[] = [
      { type: 'application/json', payload: 'List-Unsubscribe=One-Click' },
      { type: 'application/json' },
      { type: 'text/plain', payload: 'List-Unsubscribe=One-Click' },
      { type: 'application/x-www-form-urlencoded; charset=utf-8', payload: 'List-Unsubscribe=One-Click' },
      {},
    ];
    for (const { type, payload } of bodies) {
      const someone = await t.tenantWithUser('unsub', ['Alerts Viewer']);
      const url = await links.url({ tenantId, kind: 'daily', recipient: { type: 'user', id: someone.userId, address: someone.email } });
      const res = await t.tocsin.app.inject({
        method: 'POST',
        url: pathOf(url),
        headers: type === undefined ? {} : { 'content-type': type },
        ...(payload === undefined ? {} : { payload }),
      });
      expect(res.statusCode, `${type} ${payload}`).toBe(200);
      const prefs = (await t.call('GET', '/api/v1/tenants/unsub/me/alert-preferences', undefined, someone.token)).json();
      expect(prefs.email.dailyReport, `${type} ${payload}`).toBe(false);
    }
  });

  it('answers 404 for a tampered token, without a login', async () => {
    const url = await links.url({ tenantId, kind: 'summary', recipient: { type: 'user', id: user.userId, address: user.email } });
    const res = await oneClick(`${pathOf(url).slice(0, -2)}xx`);
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect((await t.tocsin.app.inject({ method: 'GET', url: '/unsubscribe/nope' })).statusCode).toBe(404);
    // A token padded past any link's length is tampered too: it was a 414 past the router's 500 characters.
    for (const padded of [`${pathOf(url)}${'A'.repeat(501)}`, `/unsubscribe/${'A'.repeat(1_500)}`]) {
      expect((await t.tocsin.app.inject({ method: 'GET', url: padded })).statusCode).toBe(404);
      const posted = await oneClick(padded);
      expect(posted.statusCode).toBe(404);
      expect(posted.headers['content-type']).toContain('application/problem+json');
    }
    // A link cut short before its token is no link either: 404 like the others, not a 400 about the path.
    expect((await t.tocsin.app.inject({ method: 'GET', url: '/unsubscribe/' })).statusCode).toBe(404);
    expect((await oneClick('/unsubscribe/')).statusCode).toBe(404);
  });

  it("answers a browser's 404 with a page in its language, and anything else's with a problem", async () => {
    const browser = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'accept-language': 'fr-CH, fr;q=0.9, en;q=0.8' };
    const page = await t.tocsin.app.inject({ method: 'GET', url: '/unsubscribe/nope', headers: browser });
    expect(page.statusCode).toBe(404);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('<html lang="fr">');
    expect(page.body).toContain('Lien non valide');
    const posted = await t.tocsin.app.inject({ method: 'POST', url: '/unsubscribe/nope', headers: { ...browser, 'accept-language': 'pt-BR' } });
    expect(posted.statusCode).toBe(404);
    expect(posted.body).toContain('<html lang="en">');
    const script = await t.tocsin.app.inject({ method: 'GET', url: '/unsubscribe/nope', headers: { accept: '*/*' } });
    expect(script.statusCode).toBe(404);
    expect(script.headers['content-type']).toContain('application/problem+json');
  });

  it('answers 404 for a link with a character added or its last one changed, on GET and POST, and unsubscribes no one', async () => {
    // Addresses of three lengths give tokens of every length modulo 4.
    const owners: string[] = [];
    for (const address of ['me@example.com', 'mee@example.com', 'meee@example.com']) {
      const owner = (await t.call('POST', '/api/v1/tenants/unsub/users', { email: address, name: address, roles: ['Alerts Viewer'] })).json();
      owners.push(owner.id);
      const url = await links.url({ tenantId, kind: 'summary', recipient: { type: 'user', id: owner.id, address } });
      expect((await t.tocsin.app.inject({ method: 'GET', url: pathOf(url) })).statusCode).toBe(200);
      const token = pathOf(url).split('/').pop()!;
      for (const tampered of lookAlikeTokens(token)) {
        expect((await t.tocsin.app.inject({ method: 'GET', url: `/unsubscribe/${tampered}` })).statusCode).toBe(404);
        expect((await oneClick(`/unsubscribe/${tampered}`)).statusCode).toBe(404);
      }
    }
    const saved = await t.tocsin.deps.storage.db.selectFrom('user_alert_preferences').select('owner_id').where('owner_id', 'in', owners).execute();
    expect(saved).toEqual([]);
  });

  it("answers 404 to the link sent to a user's former address, and leaves the user's reports on: that mailbox is no longer the user's", async () => {
    const mover = await t.tenantWithUser('unsub', ['Alerts Viewer']);
    const sentTo = { tenantId, kind: 'daily', recipient: { type: 'user', id: mover.userId, address: mover.email } } as const;
    const url = await links.url(sentTo);
    // An old-format link carries the address itself: the address the user has now decides, at the POST too.
    const old = `/unsubscribe/${legacyToken(key, sentTo)}`;
    expect((await t.call('PATCH', `/api/v1/tenants/unsub/users/${mover.userId}`, { email: `moved-${mover.email}` })).statusCode).toBe(200);
    expect((await t.tocsin.app.inject({ method: 'GET', url: pathOf(url) })).statusCode).toBe(404);
    expect((await oneClick(pathOf(url))).statusCode).toBe(404);
    expect((await oneClick(old)).statusCode).toBe(404);
    expect((await t.call('GET', '/api/v1/tenants/unsub/me/alert-preferences', undefined, mover.token)).json().email.dailyReport).toBe(true);
    // The link sent to the address it has now works, whatever the case it is written in.
    const now = await links.url({ tenantId, kind: 'daily', recipient: { type: 'user', id: mover.userId, address: `MOVED-${mover.email.toUpperCase()}` } });
    expect((await oneClick(pathOf(now))).statusCode).toBe(200);
    expect((await t.call('GET', '/api/v1/tenants/unsub/me/alert-preferences', undefined, mover.token)).json().email.dailyReport).toBe(false);
  });

  it('takes a link of the old format sent to an address typed again since for the same mailbox, its domain in Unicode where punycode was', async () => {
    const reader = await t.tenantWithUser('unsub', ['Alerts Viewer']);
    const local = reader.email.split('@')[0]!;
    const patch = async (email: string) => expect((await t.call('PATCH', `/api/v1/tenants/unsub/users/${reader.userId}`, { email })).statusCode).toBe(200);
    await patch(`${local}@xn--bcher-kva.example`);
    const sentTo = { tenantId, kind: 'daily', recipient: { type: 'user', id: reader.userId, address: `${local}@xn--bcher-kva.example` } } as const;
    // An old-format link carries the address itself, compared with the user's now as one mailbox (sameMailbox).
    const old = `/unsubscribe/${legacyToken(key, sentTo)}`;
    await patch(`${local.toUpperCase()}@Bücher.example`);
    expect((await oneClick(old)).statusCode).toBe(200);
    expect((await t.call('GET', '/api/v1/tenants/unsub/me/alert-preferences', undefined, reader.token)).json().email.dailyReport).toBe(false);
  });

  it('answers 404 on GET as on POST for the link of a user removed since, rather than a page whose button fails', async () => {
    const leaver = await t.tenantWithUser('unsub', ['Alerts Viewer']);
    const target = { tenantId, kind: 'daily', recipient: { type: 'user', id: leaver.userId, address: leaver.email } } as const;
    const url = await links.url(target);
    // A link of the old readable format carries the address itself, so its page has the user's row to look up.
    const old = `/unsubscribe/${legacyToken(key, target)}`;
    for (const path of [pathOf(url), old]) expect((await t.tocsin.app.inject({ method: 'GET', url: path })).statusCode, path).toBe(200);
    expect((await t.call('DELETE', `/api/v1/tenants/unsub/users/${leaver.userId}`)).statusCode).toBe(204);
    for (const path of [pathOf(url), old]) {
      expect((await t.tocsin.app.inject({ method: 'GET', url: path })).statusCode, path).toBe(404);
      expect((await oneClick(path)).statusCode, path).toBe(404);
    }
  });

  it('answers 404, not 409, to a one-click POST whose user is deleted while its choice is written', async () => {
    const leaver = await t.tenantWithUser('unsub', ['Alerts Viewer']);
    const url = await links.url({ tenantId, kind: 'daily', recipient: { type: 'user', id: leaver.userId, address: leaver.email } });
    const posted = await whileDeleting(dialect, t.tocsin.deps.storage.db, 'users', leaver.userId, () => oneClick(pathOf(url)));
    expect(`${posted.statusCode} ${posted.json().detail}`).toBe('404 Unsubscribe link not found.');
  });

  it("speaks a user's own language on its link's page, not its tenant's, on GET and after the POST", async () => {
    const reader = await t.tenantWithUser('unsub', ['Alerts Viewer']);
    expect((await t.call('PATCH', `/api/v1/tenants/unsub/users/${reader.userId}`, { language: 'de' })).statusCode).toBe(200);
    const url = await links.url({ tenantId, kind: 'daily', recipient: { type: 'user', id: reader.userId, address: reader.email } });
    for (const res of [await t.tocsin.app.inject({ method: 'GET', url: pathOf(url) }), await oneClick(pathOf(url))]) {
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('<html lang="de">');
    }
  });

  it("records a group mailbox's opt-out against its address, speaking the group's language", async () => {
    const group = (
      await t.call('POST', '/api/v1/tenants/unsub/groups', { name: 'Ops', email: 'OPS@example.com', language: 'fr', roles: ['Alerts Viewer'] })
    ).json();
    const url = await links.url({ tenantId, kind: 'summary', recipient: { type: 'group', id: group.id, address: 'OPS@example.com' } });
    const res = await t.tocsin.app.inject({
      method: 'POST',
      url: pathOf(url),
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      payload: '--x--',
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<html lang="fr">');
    expect(res.body).toContain('OPS@example.com</strong> ne recevra plus');
    const pages = recipientPages(t.tocsin.deps.storage.db, { id: tenantId, language: 'en', timeZone: 'UTC' });
    const groups = (await pages.next()).value!;
    expect(groups[0]!.optedOut.has('summary')).toBe(true);
    expect(groups[0]!.optedOut.has('daily')).toBe(false);
  });

  it.each(LANGUAGES)('does not send a group mailbox in %s to preferences it does not have, on the question or the answer', async (language) => {
    const group = (
      await t.call('POST', '/api/v1/tenants/unsub/groups', {
        name: `Desk ${language}`,
        email: `desk-${language}@example.com`,
        language,
        roles: ['Alerts Viewer'],
      })
    ).json();
    const url = await links.url({ tenantId, kind: 'daily', recipient: { type: 'group', id: group.id, address: `desk-${language}@example.com` } });
    // What a user's page says about preferences, in that language: the group's must say none of it.
    const userPage = unsubscribePage({ tenantId, kind: 'daily', recipient: { type: 'user', id: 'u', address: 'a@example.com' } }, language, 'ask', 'x');
    const preferences = { en: 'preferences', fr: 'préférences', de: 'alarmeinstellungen', es: 'preferencias', ja: 'アラートの設定' }[language];
    expect(userPage.toLowerCase()).toContain(preferences);
    const asked = await t.tocsin.app.inject({ method: 'GET', url: pathOf(url) });
    const done = await oneClick(pathOf(url));
    for (const page of [asked, done]) {
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain(`desk-${language}@example.com`);
      expect(page.body.toLowerCase()).not.toContain(preferences);
    }
  });

  it('undoes an unsubscribe from the button of its confirmation, for a user, a group mailbox and the mail-health notices, by POST only', async () => {
    const someone = await t.tenantWithUser('unsub', ['Alerts Viewer']);
    const group = (await t.call('POST', '/api/v1/tenants/unsub/groups', { name: 'Night shift', email: 'night@example.com', roles: ['Alerts Viewer'] })).json();
    const optOuts = (kind: string) =>
      t.tocsin.deps.storage.db.selectFrom('email_unsubscribes').select('address_key').where('tenant_id', '=', tenantId).where('kind', '=', kind).execute();
    const user = { type: 'user' as const, id: someone.userId, address: someone.email };
    const targets: [UnsubscribeTarget, () => Promise<boolean>][] = [
      [
        { tenantId, kind: 'summary', recipient: user },
        async () => (await t.call('GET', '/api/v1/tenants/unsub/me/alert-preferences', undefined, someone.token)).json().email.tenMinuteSummary,
      ],
      [
        { tenantId, kind: 'daily', recipient: { type: 'group', id: group.id, address: 'night@example.com' } },
        async () => !(await optOuts('daily')).some((r) => r.address_key === 'night@example.com'),
      ],
      [{ tenantId, kind: 'mail-health', recipient: user }, async () => !(await optOuts('mail-health')).some((r) => r.address_key === someone.email)],
    ];
    for (const [target, subscribed] of targets) {
      const path = pathOf(await links.url(target));
      const token = path.split('/').pop()!;
      const done = await oneClick(path);
      expect(done.body).toContain(`<form method="post" action="${token}/resubscribe"><button type="submit">Subscribe again</button>`);
      expect(await subscribed(), target.kind).toBe(false);
      // A mail scanner following links cannot undo it: only the button's POST does (a GET is 405).
      expect((await t.tocsin.app.inject({ method: 'GET', url: `${path}/resubscribe` })).statusCode).toBe(405);
      const again = await t.tocsin.app.inject({ method: 'POST', url: `${path}/resubscribe` });
      expect(again.statusCode).toBe(200);
      expect(again.body).toContain('will receive these emails again');
      // …and the page offers to unsubscribe once more, posting back to the link itself.
      expect(again.body).toContain(`<form method="post" action="../${token}">`);
      expect(await subscribed(), target.kind).toBe(true);
      expect((await t.tocsin.app.inject({ method: 'POST', url: `${path}/resubscribe` })).statusCode).toBe(200);
      expect(await subscribed(), target.kind).toBe(true);
    }
    const tampered = `${pathOf(await links.url(targets[0]![0]))}x`;
    expect((await t.tocsin.app.inject({ method: 'POST', url: `${tampered}/resubscribe` })).statusCode).toBe(404);
  });

  it('shows a link taken before as done, with the button that subscribes again, for a user, a group mailbox and the mail-health notices', async () => {
    // Its page offered to unsubscribe once more, as if the first click had done nothing.
    const someone = await t.tenantWithUser('unsub', ['Alerts Viewer']);
    const group = (await t.call('POST', '/api/v1/tenants/unsub/groups', { name: 'Day shift', email: 'day@example.com', roles: ['Alerts Viewer'] })).json();
    const user = { type: 'user' as const, id: someone.userId, address: someone.email };
    const targets: UnsubscribeTarget[] = [
      { tenantId, kind: 'summary', recipient: user },
      { tenantId, kind: 'daily', recipient: { type: 'group', id: group.id, address: 'day@example.com' } },
      { tenantId, kind: 'mail-health', recipient: user },
    ];
    for (const target of targets) {
      const path = pathOf(await links.url(target));
      const token = path.split('/').pop()!;
      const before = await t.tocsin.app.inject({ method: 'GET', url: path });
      expect(before.body, target.kind).toContain('<input type="hidden" name="List-Unsubscribe" value="One-Click">');
      expect((await oneClick(path)).statusCode).toBe(200);
      const after = await t.tocsin.app.inject({ method: 'GET', url: path });
      expect(after.statusCode).toBe(200);
      expect(after.body, target.kind).toContain(`<form method="post" action="${token}/resubscribe"><button type="submit">Subscribe again</button>`);
      expect(after.body, target.kind).toContain('will no longer receive');
      expect(after.body, target.kind).not.toContain('One-Click');
    }
  });

  it('puts no address or id in the URL', async () => {
    const url = await links.url({ tenantId, kind: 'summary', recipient: { type: 'user', id: user.userId, address: user.email } });
    for (const shown of [url, decodeURIComponent(url), Buffer.from(pathOf(url).split('/').pop()!, 'base64url').toString('latin1')]) {
      expect(shown).not.toContain(user.email);
      expect(shown).not.toContain(user.userId);
      expect(shown).not.toContain(tenantId);
    }
  });

  it('opens the link of the longest address, ASCII or not, and seals it as short as any other (it was refused 414 once past 500 characters)', async () => {
    // 254 characters, as POST /users takes: an ASCII one at the limit, and one of three-byte characters
    // (each label of its domain at most 63 letters of punycode, as an address must be: 57 of them).
    const ascii = `${'l'.repeat(64)}@${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(57)}.com`;
    const japanese = `${'あ'.repeat(64)}@${'い'.repeat(57)}.${'う'.repeat(57)}.${'え'.repeat(57)}.${'お'.repeat(12)}.jp`;
    const short = pathOf(await links.url({ tenantId, kind: 'mail-health', recipient: { type: 'user', id: user.userId, address: user.email } }));
    for (const email of [ascii, japanese]) {
      expect(email).toHaveLength(254);
      const created = await t.call('POST', '/api/v1/tenants/unsub/users', { email, name: 'Long', roles: ['Alerts Viewer'] });
      expect(created.statusCode, created.body).toBe(201);
      const recipient = { type: 'user' as const, id: created.json().id, address: email };
      const path = pathOf(await links.url({ tenantId, kind: 'mail-health', recipient }));
      expect(path.length).toBe(short.length);
      const asked = await t.tocsin.app.inject({ method: 'GET', url: path });
      expect(asked.statusCode, asked.body).toBe(200);
      expect(asked.body).toContain(email);
      expect((await oneClick(path)).statusCode).toBe(200);
      const optedOut = await t.tocsin.deps.storage.db
        .selectFrom('email_unsubscribes')
        .select('kind')
        .where('tenant_id', '=', tenantId)
        .where('address_key', '=', email)
        .execute();
      expect(optedOut).toEqual([{ kind: 'mail-health' }]);
    }
  });

  it('hands one recipient the same link for a minute, then seals a new one that works as well', async () => {
    const target = { tenantId, kind: 'summary', recipient: { type: 'user', id: user.userId, address: user.email } } as const;
    const first = await links.url(target);
    expect(await links.url(target)).toBe(first);
    expect(await links.url({ ...target, kind: 'daily' })).not.toBe(first);
    clock.advance(60_000);
    const next = await links.url(target);
    expect(next).not.toBe(first);
    expect(await links.verify(pathOf(next).split('/').pop()!)).toEqual(target);
    expect(await links.verify(pathOf(first).split('/').pop()!)).toEqual(target);
  });

  it('keeps old links working until their cut-off, and new ones until they expire', async () => {
    const target = { tenantId, kind: 'immediate', recipient: { type: 'user', id: user.userId, address: user.email } } as const;
    const old = `/unsubscribe/${legacyToken(key, target)}`;
    const fresh = pathOf(await links.url(target));
    expect((await t.tocsin.app.inject({ method: 'GET', url: old })).statusCode).toBe(200);
    // Links expire 90 days after their email (src/reports/README.md): a day before, it works; an hour after, it does not.
    clock.advance(89 * DAY);
    expect((await t.tocsin.app.inject({ method: 'GET', url: fresh })).statusCode).toBe(200);
    clock.advance(DAY + 3_600_000);
    expect((await t.tocsin.app.inject({ method: 'GET', url: old })).statusCode).toBe(404);
    expect((await oneClick(fresh)).statusCode).toBe(404);
    expect((await t.call('GET', '/api/v1/tenants/unsub/me/alert-preferences', undefined, user.token)).json().email.fatalImmediately).toBe(false);
  });
});

describeEachDialect('old-format unsubscribe links on a new installation', (dialect) => {
  it('are refused: it never signed any', async () => {
    const t = await startTestApp(dialect);
    try {
      const db = t.tocsin.deps.storage.db;
      await keepLegacyLinksForAWhile(db);
      const key = await loadUnsubscribeKey(db, t.tocsin.deps.clock);
      const token = legacyToken(key, { tenantId: 't', kind: 'daily', recipient: { type: 'user', id: 'u', address: 'a@example.com' } });
      expect((await t.tocsin.app.inject({ method: 'GET', url: `/unsubscribe/${token}` })).statusCode).toBe(404);
    } finally {
      await t.close();
    }
  });
});

describeEachDialect('one-click unsubscribe from a delivered email', (dialect) => {
  let t: TestApp;
  let server: TestSmtpServer;
  let robot: string;

  beforeAll(async () => {
    server = await startTestSmtpServer();
    t = await startTestApp(dialect, { TOCSIN_SMTP_URL: `smtp://127.0.0.1:${server.port}`, TOCSIN_PUBLIC_URL: 'https://tocsin.example.com' });
    robot = (await t.tenantWithUser('leaving', ['Robot'])).token;
    await t.enableAlertEmails('leaving');
    for (const name of ['stays', 'leaves']) {
      const user = await t.call('POST', '/api/v1/tenants/leaving/users', { email: `${name}@leaving.example.com`, name, roles: ['Alerts Viewer'] });
      // Fatal emails only: the report scheduler runs on the real clock, and a 10-minute window
      // ending mid-test would mail both their summaries of the alerts too, which the test counts.
      await t.call('PUT', `/api/v1/tenants/leaving/users/${user.json().id}/alert-preferences`, {
        email: { fatalImmediately: true, tenMinuteSummary: false, dailyReport: false },
      });
    }
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  const raiseFatal = async (message: string) => {
    const res = await t.call('POST', '/api/v1/tenants/leaving/alerts', { severity: 'Fatal', component: 'Robots', message }, robot);
    expect(res.statusCode, res.body).toBe(202);
  };
  const sentTo = (address: string) => server.messages.filter((m) => m.envelope.to[0] === address);

  it("takes the email's own List-Unsubscribe link by POST only, and no email of that kind follows", async () => {
    await raiseFatal('first');
    await server.waitForMessages(2, 20_000);
    const [first] = sentTo('leaves@leaving.example.com');
    const header = /^List-Unsubscribe: <([^>]+)>\r?$/m.exec(first!.raw);
    expect(first!.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    const path = new URL(header![1]!).pathname;
    // Following the link (as a mail scanner does) changes nothing; the one-click POST does.
    expect((await t.tocsin.app.inject({ method: 'GET', url: path })).statusCode).toBe(200);
    const leaver = (await t.call('GET', '/api/v1/tenants/leaving/users')).json().items.find((u: { email: string }) => u.email.startsWith('leaves@'));
    const prefs = () => t.call('GET', `/api/v1/tenants/leaving/users/${leaver.id}/alert-preferences`).then((r) => r.json().email.fatalImmediately);
    expect(await prefs()).toBe(true);
    const post = await t.tocsin.app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(post.statusCode).toBe(200);
    expect(await prefs()).toBe(false);

    // The next Fatal alert is decided for both at once: once the one who stays has it, no row was queued for the leaver.
    await raiseFatal('second');
    await server.waitForMessages(3, 20_000);
    expect(sentTo('stays@leaving.example.com')).toHaveLength(2);
    const queued = await t.tocsin.deps.storage.db.selectFrom('deliveries').select('id').where('recipient_address', '=', 'leaves@leaving.example.com').execute();
    expect(queued).toHaveLength(1);
    expect(sentTo('leaves@leaving.example.com')).toHaveLength(1);
  });
});
