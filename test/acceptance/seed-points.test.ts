/**
 * Acceptance walk of the seed's points (PRODUCT.md §1, the guide page of Orchestrator's alert
 * emails), as a test written from PRODUCT.md and API.md alone would take them: the built server
 * run as `tocsin serve` with 1-second summary windows, driven over HTTP only, the emails read at
 * two real SMTP servers (the system default, and the tenant's own, which signs in with a domain
 * account). One server for the whole walk; each step waits for the emails it expects.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TenantsApi, type TenantsRequest, tenantsApi, tenantsRequest } from '../support/http.js';
import { dailyReportTimeAway } from '../support/report-runs.js';
import { type ReceivedMessage, type TestSmtpServer, kindOf, messageIdOf, startTestSmtpServer } from '../support/smtp-servers.js';
import { type TestDatabase, createTestDatabase, describeEachDialect } from '../support/storage.js';
import { until } from '../support/until.js';
import { type Started, ensureBuilt, killGroup, serveBuilt } from './processes.js';

const ADMIN = 'seed-points-admin-token-0123456789';

/** Mail is an email a test SMTP server took, with what the walk reads of it. */
interface Mail {
  readonly to: string;
  readonly kind: string | undefined;
  readonly messageId: string | null;
  readonly subject: string;
  readonly text: string;
  readonly from: string;
  readonly via: ReceivedMessage;
}

async function read(via: ReceivedMessage): Promise<Mail> {
  const mail: ParsedMail = await simpleParser(via.raw);
  const [to] = via.envelope.to;
  return {
    to: to!,
    kind: kindOf(via.raw),
    messageId: messageIdOf(via.raw),
    subject: mail.subject ?? '',
    text: mail.text ?? '',
    from: mail.from?.text ?? '',
    via,
  };
}

beforeAll(ensureBuilt, 180_000);

describeEachDialect('the seed, point by point', (dialect) => {
  let database: TestDatabase;
  let system: TestSmtpServer;
  let own: TestSmtpServer;
  const servers: Started[] = [];
  let api: TenantsApi;
  let request: TenantsRequest;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-seed-'));
  // The tenant's own server signs in a Windows domain account, as NTLM-era relays do.
  const account = { username: 'CORP\\relay', password: 'relay-password' };
  const readings = new Map<ReceivedMessage, Promise<Mail>>();
  const mails = (): Promise<Mail[]> => Promise.all([...system.messages, ...own.messages].map((m) => readings.get(m) ?? readings.set(m, read(m)).get(m)!));

  /**
   * summaryMailsOf waits until the summaries of the window an alert was stored in are decided and
   * sent (the delivery log lists each recipient the decision chose), then returns the email each
   * recipient got, by address: who is not in that map was not chosen.
   */
  async function summaryMailsOf(alertId: string): Promise<Map<string, Mail>> {
    const alert = await api('GET', `/acme/alerts/${alertId}`);
    const at = Date.parse(alert.createdAt);
    let rows: any[] = [];
    await until(async () => {
      const log = await api('GET', '/acme/deliveries?kind=summary&limit=1000');
      rows = log.items.filter((d: any) => Date.parse(d.windowStart) <= at && at < Date.parse(d.windowEnd));
      return rows.length > 0 && rows.every((d) => d.status === 'sent');
    }, `the summaries of the window of ${alert.createdAt} to be sent`);
    const ids = new Set(rows.map((d) => d.messageId));
    let got: Mail[] = [];
    await until(
      async () => (got = (await mails()).filter((m) => m.kind === 'summary' && ids.has(m.messageId))).length === ids.size,
      'the summaries at the SMTP servers',
    );
    return new Map(got.map((m) => [m.to, m]));
  }

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    system = await startTestSmtpServer();
    own = await startTestSmtpServer({ auth: account });
    const serveOptions = { databaseUrl: database.url, adminToken: ADMIN, dataDir, smtpPort: system.port, env: { TOCSIN_SUMMARY_INTERVAL_SECONDS: '1' } };
    const url = await serveBuilt(serveOptions, servers);
    api = tenantsApi(url, ADMIN);
    request = tenantsRequest(url, ADMIN);
  }, 60_000);
  afterAll(async () => {
    servers.forEach(killGroup);
    await own?.close();
    await system?.close();
    await database?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const people: Record<string, { id: string; token?: string }> = {};

  it('points 2, 3 and 7: once Enable alerts email is on, each account with an email and Alerts.View gets the Fatal and Error alerts; groups carry roles and an address in their own language (point 9)', async () => {
    expect((await request('POST', '', { name: 'acme', displayName: 'ACME', timeZone: 'Europe/Paris', language: 'fr' })).status).toBe(201);
    // A new tenant starts with alert emails off (the guide's first step is to switch them on).
    expect(await api('GET', '/acme/settings/mail')).toMatchObject({ alertsEmailEnabled: false, useCustom: false, custom: null, dailyReportTime: '10:00' });
    const user = async (name: string, extra: object) => {
      people[name] = await api('POST', '/acme/users', { email: `${name}@example.com`, name, ...extra });
    };
    await user('ann', { roles: ['Administrator'] }); // in the tenant's French
    await user('ben', { roles: ['Alerts Viewer'], language: 'de', timeZone: 'Asia/Tokyo' });
    await user('cy', {}); // no Alerts.View: no email
    await user('dee', { language: 'ja' }); // Alerts.View through the Viewers group
    await user('eve', { roles: ['Alerts Viewer'], active: false });
    await user('fay', { language: 'es' }); // a member of an expanded group
    await api('POST', '/acme/groups', { name: 'Viewers', members: [people.dee!.id], roles: ['Alerts Viewer'] });
    await api('POST', '/acme/groups', { name: 'Ops', email: 'ops@example.com', language: 'en', roles: ['Alerts Viewer'] });
    await api('POST', '/acme/groups', { name: 'Night', email: 'night@example.com', members: [people.fay!.id], roles: ['Alerts Viewer'], expandMembers: true });
    people.ann!.token = (await api('POST', `/acme/users/${people.ann!.id}/tokens`, { name: 'walk' })).token;
    // The daily report far from now until the walk moves it.
    await api('PUT', '/acme/settings/mail', { alertsEmailEnabled: true, dailyReportTime: dailyReportTimeAway('Europe/Paris') });

    const { ids } = await api('POST', '/acme/alerts', {
      alerts: [
        {
          severity: 'Error',
          component: 'Jobs',
          event: 'Process.JobExecution.Faulted',
          message: 'Invoice run <42> failed',
          source: { process: 'Invoice', robot: 'R1' },
        },
        { severity: 'Warning', component: 'Queues', message: 'Queue nearly full' },
        { severity: 'Info', component: 'Robots', message: 'Robot R3 is available' },
      ],
    });
    expect((await api('GET', `/acme/alerts/${ids[1]}`)).severity).toBe('Warn');

    const got = await summaryMailsOf(ids[0]);
    expect([...got.keys()].sort()).toEqual(['ann@example.com', 'ben@example.com', 'dee@example.com', 'fay@example.com', 'ops@example.com']);
    for (const mail of got.values()) {
      expect(mail.via.envelope.from).toBe('tocsin@example.com'); // the default settings: the system SMTP server
      expect(mail.text).toContain('Invoice run <42> failed');
      expect(mail.text).not.toContain('Queue nearly full'); // a summary is of Fatal and Error alerts only
      expect(mail.text).not.toContain('Robot R3 is available');
      expect(mail.via.raw).toMatch(/^X-Tocsin-Tenant: acme\r?$/m);
      expect(mail.via.raw).toMatch(/^List-Unsubscribe:\s+<http:\/\/[^>]+\/unsubscribe\/[\w.-]+>/m);
      expect(mail.via.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    }
    // Each in the language of its recipient: a user's own, else the tenant's; a group address the group's.
    expect(got.get('ann@example.com')!.subject).toContain('1 nouvelle alerte d’erreur');
    expect(got.get('ben@example.com')!.subject).toContain('1 neuer Fehleralarm');
    expect(got.get('ben@example.com')!.text).toContain('Asia/Tokyo');
    expect(got.get('dee@example.com')!.subject).toContain('新しいエラー アラート 1 件');
    expect(got.get('fay@example.com')!.subject).toContain('1 nueva alerta de error');
    expect(got.get('ops@example.com')!.subject).toContain('1 new error alert');
  });

  it('points 4, 5 and 8: Test Mail Settings sends to the caller by default, signs in as DOMAIN\\user, says at which stage and with what code it failed, and saves nothing', async () => {
    const custom = {
      host: '127.0.0.1',
      port: own.port,
      security: 'none',
      allowPlaintextAuth: true, // the test server has no TLS
      domain: 'CORP',
      username: 'relay',
      fromAddress: 'alerts@acme.example.com',
      fromDisplayName: 'ACME Alerts',
    };
    const wrong = await api('POST', '/acme/settings/mail/test', { settings: { ...custom, password: 'not-it' } }, people.ann!.token);
    expect(wrong).toMatchObject({ ok: false, stage: 'auth', code: 535 });
    const right = await api('POST', '/acme/settings/mail/test', { settings: { ...custom, password: account.password } }, people.ann!.token);
    expect(right).toMatchObject({ ok: true });
    expect(await api('GET', '/acme/settings/mail')).toMatchObject({ useCustom: false, custom: null });
    let tests: Mail[] = [];
    await until(async () => (tests = (await mails()).filter((m) => m.kind === 'test')).length === 1, 'the test email');
    const test = tests[0];
    // Sent to Ann, signed in as DOMAIN\user, From the display name, in Ann's language (the tenant's).
    expect(test!.to).toBe('ann@example.com');
    expect(test!.via.user).toBe('CORP\\relay');
    expect(test!.from).toBe('"ACME Alerts" <alerts@acme.example.com>');
    expect(test!.subject).toContain('e-mail de test');

    // Saved, they are the tenant's until switched back (point 10).
    await api('PUT', '/acme/settings/mail', { useCustom: true, custom: { ...custom, password: account.password } });
  });

  it('point 5: Enable SSL maps to implicit TLS on port 465 and to STARTTLS on any other', async () => {
    await api('POST', '', { name: 'gmail-user' });
    const put = (custom: object) => request('PUT', '/gmail-user/settings/mail', { useCustom: true, custom });
    const gmail = { host: 'smtp.gmail.com', username: 'me@gmail.com', password: 'app-password', fromAddress: 'me@gmail.com' };
    expect((await put({ ...gmail, port: 465, enableSsl: true })).json.custom).toMatchObject({ port: 465, security: 'tls', passwordSet: true });
    expect((await put({ ...gmail, port: 587, enableSsl: true })).json.custom).toMatchObject({ port: 587, security: 'starttls' });
  });

  it('point 10: switching custom → default → custom keeps the custom values, until an admin clears them', async () => {
    const saved = (await api('GET', '/acme/settings/mail')).custom;
    expect((await api('PUT', '/acme/settings/mail', { useCustom: false })).custom).toEqual(saved);
    expect((await api('PUT', '/acme/settings/mail', { useCustom: true })).custom).toEqual(saved);
    // Back on custom, the kept password still signs in.
    expect(await api('POST', '/acme/settings/mail/test', {}, people.ann!.token)).toMatchObject({ ok: true });
    await api('PUT', '/acme/settings/mail', { useCustom: false });
    expect((await request('DELETE', '/acme/settings/mail/custom')).status).toBe(204);
    expect(await api('GET', '/acme/settings/mail')).toMatchObject({ useCustom: false, custom: null });
  });

  it("point 7: the daily report of all alerts goes out at the tenant's report time, in its time zone", async () => {
    const at = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    await api('PUT', '/acme/settings/mail', { dailyReportTime: at.format(Date.now() + 2_000) });
    let dailies: Mail[] = [];
    await until(async () => (dailies = (await mails()).filter((m) => m.kind === 'daily')).length === 5, 'the daily reports', { timeoutMs: 15_000 });
    expect(dailies.map((m) => m.to).sort()).toEqual(['ann@example.com', 'ben@example.com', 'dee@example.com', 'fay@example.com', 'ops@example.com']);
    for (const mail of dailies) expect(mail.via.envelope.from).toBe('tocsin@example.com'); // back on the default settings
    // Every severity, not only Fatal and Error.
    expect(dailies.find((m) => m.to === 'ann@example.com')!.text.replace(/[\u00a0\u202f]/g, ' ')).toContain('Erreur : 1 · Avertissement : 1 · Information : 1');
  });

  it('the API: {tenant} by id as by name, another tenant’s objects 404, unknown fields named, batches of at most 1,000', async () => {
    const acme = await api('GET', '/acme');
    expect((await request('GET', `/${acme.id}/users/${people.ann!.id}`)).json.email).toBe('ann@example.com');
    await api('POST', '', { name: 'other' });
    const stranger = (await request('POST', '/other/users', { email: 'oz@example.com', name: 'Oz' })).json;
    expect((await request('GET', `/acme/users/${stranger.id}`)).status).toBe(404);
    expect((await request('GET', '/other/me', undefined, people.ann!.token)).status).toBe(404);
    const unknown = await request('POST', '/acme/users', { email: 'zed@example.com', name: 'Zed', nickname: 'z' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.errors).toEqual([expect.objectContaining({ path: 'nickname' })]);
    const batch = (n: number) => ({ alerts: Array.from({ length: n }, (_, i) => ({ severity: 'Info', component: 'Robots', message: `heartbeat ${i}` })) });
    expect((await request('POST', '/acme/alerts', batch(1_001))).status).toBe(400);
    const stored = await request('POST', '/acme/alerts', batch(1_000));
    expect(stored.status).toBe(202);
    expect(stored.json.ids).toHaveLength(1_000);
  });
});
