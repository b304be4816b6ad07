import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect } from '../../test/support/storage.js';

describeEachDialect('email previews', (dialect) => {
  let t: TestApp;
  // 27 Nov 2026, 10:03 in Paris.
  const clock = new FakeClock(Date.UTC(2026, 10, 27, 9, 3));
  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_PUBLIC_URL: 'https://tocsin.example.com' }, { clock });
    await t.call('POST', '/api/v1/tenants', { name: 'acme', displayName: 'Acme Finance', timeZone: 'Europe/Paris', language: 'fr' });
  });
  afterAll(() => t.close());

  it('renders each kind as {subject, text, html, headers}, in the tenant language and zone by default', async () => {
    for (const kind of ['summary', 'daily', 'immediate', 'test']) {
      const res = await t.call('GET', `/api/v1/tenants/acme/emails/preview?kind=${kind}`);
      expect(res.statusCode).toBe(200);
      const body = res.json<{ subject: string; text: string; html: string; headers: Record<string, string> }>();
      expect(Object.keys(body).sort()).toEqual(['headers', 'html', 'subject', 'text']);
      expect(body.headers['X-Tocsin-Kind']).toBe(kind);
      expect(body.headers['X-Tocsin-Tenant']).toBe('acme');
      expect(body.subject).toContain('Acme Finance\u00a0:');
      expect(body.html).toContain('lang="fr"');
    }
    const summary = (await t.call('GET', '/api/v1/tenants/acme/emails/preview?kind=summary')).json();
    expect(summary.text).toContain('entre le 27 nov. 2026, 09:50 et 10:00.');
    expect(summary.text).toContain('Europe/Paris (UTC+01:00)');
    expect(summary.headers['List-Unsubscribe']).toMatch(/^<https:\/\/tocsin\.example\.com\/unsubscribe\//);
  });

  it("renders the notices to a tenant's mail administrators: failing, working again, access token expiring", async () => {
    const subjects = [];
    for (const kind of ['mail-health-failing', 'mail-health-recovered', 'mail-health-token']) {
      const body = (await t.call('GET', `/api/v1/tenants/acme/emails/preview?kind=${kind}&language=en`)).json();
      expect(body.headers['X-Tocsin-Kind']).toBe('mail-health');
      expect(body.text).toContain('https://tocsin.example.com/#/settings/mail?tenant=acme');
      expect(body.headers['List-Unsubscribe']).toMatch(/^<https:\/\/tocsin\.example\.com\/unsubscribe\//);
      subjects.push(body.subject);
    }
    expect(subjects).toEqual([
      'Alert emails of Acme Finance are failing',
      'Alert emails of Acme Finance work again',
      'The mail server access token of Acme Finance expires soon',
    ]);
  });

  it("shows the daily report over the tenant's last daily period, ending at its report time in its zone, not the 24 hours before now", async () => {
    // 10:03 in Paris: today's 08:30 report is the latest; a report time not yet come today shows yesterday's.
    await t.call('PUT', '/api/v1/tenants/acme/settings/mail', { dailyReportTime: '08:30' });
    let body = (await t.call('GET', '/api/v1/tenants/acme/emails/preview?kind=daily')).json();
    expect(body.text).toContain('du 26 nov. 2026, 08:30 au 27 nov. 2026, 08:30.');
    await t.call('PUT', '/api/v1/tenants/acme/settings/mail', { dailyReportTime: '18:00' });
    body = (await t.call('GET', '/api/v1/tenants/acme/emails/preview?kind=daily&language=en&timeZone=America/New_York')).json();
    expect(body.text).toContain('from Nov 25, 2026, 12:00 to Nov 26, 2026, 12:00.');
    await t.call('PUT', '/api/v1/tenants/acme/settings/mail', { dailyReportTime: null });
  });

  it('takes a language and a time zone', async () => {
    const res = await t.call('GET', '/api/v1/tenants/acme/emails/preview?kind=daily&language=ja&timeZone=Asia/Tokyo');
    const body = res.json();
    expect(body.subject).toBe('Acme Finance: 日次アラート概要 - 135 件、うち致命的 2 件 (2026/11/27)');
    expect(body.text).toContain('Asia/Tokyo (UTC+09:00)');
  });

  it('returns the HTML itself for a browser with format=html, under a strict content policy', async () => {
    const res = await t.call('GET', '/api/v1/tenants/acme/emails/preview?kind=immediate&language=en&format=html');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.body).toMatch(/^<!doctype html>/i);
    expect(res.body).toContain('Robot offline');
  });

  it('names the invalid query field in a 400 problem', async () => {
    for (const [query, path] of [
      ['kind=weekly', 'kind'],
      ['language=it', 'language'],
      ['timeZone=Mars/Olympus', 'timeZone'],
      ['format=pdf', 'format'],
    ] as const) {
      const res = await t.call('GET', `/api/v1/tenants/acme/emails/preview?${query}`);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().errors[0].path).toBe(path);
    }
  });

  it('needs Settings.View, and another tenant is 404', async () => {
    const viewer = await t.tenantWithUser('acme', ['Alerts Viewer']);
    expect((await t.call('GET', '/api/v1/tenants/acme/emails/preview', undefined, viewer.token)).statusCode).toBe(403);
    const admin = await t.tenantWithUser('acme', ['Administrator']);
    expect((await t.call('GET', '/api/v1/tenants/acme/emails/preview', undefined, admin.token)).statusCode).toBe(200);
    const other = await t.tenantWithUser('globex', ['Administrator']);
    expect((await t.call('GET', '/api/v1/tenants/acme/emails/preview', undefined, other.token)).statusCode).toBe(404);
    expect((await t.call('GET', '/api/v1/tenants/nope/emails/preview')).statusCode).toBe(404);
  });
});
