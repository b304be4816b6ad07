import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../http/testing.js';
import { recipientPages } from '../../recipients/query.js';
import { describeEachDialect } from '../../storage/testing.js';
import { UnsubscribeLinks } from './links.js';
import { signUnsubscribeToken, verifyUnsubscribeToken } from './token.js';

describe('unsubscribe tokens', () => {
  const key = Buffer.alloc(32, 7);
  const target = { tenantId: 't1', kind: 'daily', recipient: { type: 'user', id: 'u1', address: 'a@example.com' } } as const;

  it('round-trips a target and refuses any altered or foreign token', () => {
    const token = signUnsubscribeToken(key, target);
    expect(verifyUnsubscribeToken(key, token)).toEqual(target);
    const [payload, mac] = token.split('.');
    const forged = Buffer.from(Buffer.from(payload!, 'base64url').toString().replace('u1', 'u2')).toString('base64url');
    expect(verifyUnsubscribeToken(key, `${forged}.${mac}`)).toBeUndefined();
    expect(verifyUnsubscribeToken(key, `${payload}.${mac}x`)).toBeUndefined();
    expect(verifyUnsubscribeToken(Buffer.alloc(32, 8), token)).toBeUndefined();
    expect(verifyUnsubscribeToken(key, 'garbage')).toBeUndefined();
  });
});

describeEachDialect('one-click unsubscribe', (dialect) => {
  let t: TestApp;
  let links: UnsubscribeLinks;
  let tenantId: string;
  let user: { userId: string; token: string };
  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_PUBLIC_URL: 'https://tocsin.example.com' });
    links = new UnsubscribeLinks(t.tocsin.deps.storage.db, 'https://tocsin.example.com', t.tocsin.deps.clock);
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
    const url = await links.url({ tenantId, kind: 'daily', recipient: { type: 'user', id: user.userId, address: 'me@example.com' } });
    expect(url.startsWith('https://tocsin.example.com/unsubscribe/')).toBe(true);
    const res = await t.tocsin.app.inject({ method: 'GET', url: pathOf(url) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).toContain('<form method="post">');
    expect(res.body).toContain('Unsubscribe from daily reports');
    const prefs = (await t.call('GET', '/api/v1/tenants/unsub/me/alert-preferences', undefined, user.token)).json();
    expect(prefs.email.dailyReport).toBe(true);
  });

  it('turns that report off on a one-click POST, harmlessly when replayed, and leaves the others on', async () => {
    const url = await links.url({ tenantId, kind: 'daily', recipient: { type: 'user', id: user.userId, address: 'me@example.com' } });
    expect((await oneClick(pathOf(url))).statusCode).toBe(200);
    expect((await oneClick(pathOf(url))).statusCode).toBe(200);
    const prefs = (await t.call('GET', '/api/v1/tenants/unsub/me/alert-preferences', undefined, user.token)).json();
    expect(prefs.email).toEqual({ tenMinuteSummary: true, dailyReport: false, fatalImmediately: false });
  });

  it('answers 404 for a tampered token, without a login', async () => {
    const url = await links.url({ tenantId, kind: 'summary', recipient: { type: 'user', id: user.userId, address: 'me@example.com' } });
    const res = await oneClick(`${pathOf(url).slice(0, -2)}xx`);
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect((await t.tocsin.app.inject({ method: 'GET', url: '/unsubscribe/nope' })).statusCode).toBe(404);
  });

  it('records a group mailbox\'s opt-out against its address, speaking the group\'s language', async () => {
    const group = (
      await t.call('POST', '/api/v1/tenants/unsub/groups', { name: 'Ops', email: 'OPS@example.com', language: 'fr', roles: ['Alerts Viewer'] })
    ).json();
    const url = await links.url({ tenantId, kind: 'summary', recipient: { type: 'group', id: group.id, address: 'OPS@example.com' } });
    const res = await t.tocsin.app.inject({ method: 'POST', url: pathOf(url), headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<html lang="fr">');
    expect(res.body).toContain('OPS@example.com</strong> ne recevra plus');
    const pages = recipientPages(t.tocsin.deps.storage.db, { id: tenantId, language: 'en', timeZone: 'UTC' });
    const groups = (await pages.next()).value!;
    expect(groups[0]!.optedOut.has('summary')).toBe(true);
    expect(groups[0]!.optedOut.has('daily')).toBe(false);
  });
});
