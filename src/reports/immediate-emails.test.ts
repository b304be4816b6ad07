import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { localeFormat } from '../i18n/format.js';

const OCCURRED = '2026-03-28T08:00:30Z';

// Three people of one tenant, each in a language and time zone of their own, all mailed for Fatal alerts.
const PEOPLE = [
  { name: 'Élise Martin', language: 'fr', timeZone: 'Europe/Paris', roles: ['Administrator'], hello: 'Bonjour Élise Martin,' },
  { name: '山田 太郎', language: 'ja', timeZone: 'Asia/Tokyo', roles: ['Alerts Viewer'], hello: '山田 太郎 様' },
  { name: 'Bo & "Co"', language: 'en', timeZone: 'America/New_York', roles: ['Alerts Viewer'], hello: 'Hello Bo & "Co",' },
] as const;

describeEachDialect('one Fatal alert mailed to several recipients from one prepared MIME', (dialect) => {
  let t: TestApp;
  let server: TestSmtpServer;
  let robot: string;
  const ids: string[] = [];

  beforeAll(async () => {
    server = await startTestSmtpServer();
    t = await startTestApp(dialect, { TOCSIN_SMTP_URL: `smtp://127.0.0.1:${server.port}`, TOCSIN_PUBLIC_URL: 'https://tocsin.example.com' });
    robot = (await t.tenantWithUser('multi', ['Robot'])).token;
    await t.enableAlertEmails('multi');
    for (const p of PEOPLE) {
      const res = await t.call('POST', '/api/v1/tenants/multi/users', {
        email: `${p.language}@multi.example.com`,
        name: p.name,
        language: p.language,
        timeZone: p.timeZone,
        roles: p.roles,
      });
      ids.push(res.json().id);
      // Fatal emails only: the report scheduler runs on the real clock, and a 10-minute window
      // ending mid-test would mail them their summaries too, among the emails the tests read.
      await t.call('PUT', `/api/v1/tenants/multi/users/${res.json().id}/alert-preferences`, {
        email: { fatalImmediately: true, tenMinuteSummary: false, dailyReport: false },
      });
    }
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  it('gives each recipient its own To, greeting, language, time zone, unsubscribe and action links, which work', async () => {
    const posted = await t.call(
      'POST',
      '/api/v1/tenants/multi/alerts',
      {
        severity: 'Fatal',
        component: 'Robots',
        event: 'Robot.StatusChanged.Offline',
        message: 'Robot R7 is offline',
        source: { robot: 'R7' },
        occurredAt: OCCURRED,
      },
      robot,
    );
    expect(posted.statusCode).toBe(202);
    const alertId = posted.json().ids[0] as string;
    const received = await server.waitForMessages(PEOPLE.length, 20_000);
    const byAddress = new Map(received.map((m) => [m.envelope.to[0], m]));
    const seenLinks = new Set<string>();
    const messageIds = new Set<string>();

    for (const [i, p] of PEOPLE.entries()) {
      const message = byAddress.get(`${p.language}@multi.example.com`);
      expect(message, p.language).toBeDefined();
      const mail = await simpleParser(message!.raw);
      expect(mail.to).toMatchObject({ value: [{ address: `${p.language}@multi.example.com`, name: p.name }] });
      expect(mail.date).toBeInstanceOf(Date);
      messageIds.add(mail.messageId!);
      expect(mail.text).toContain(p.hello);
      const zone = localeFormat(p.language, p.timeZone).zoneLabel(Date.parse(OCCURRED));
      expect(mail.text).toContain(zone);
      expect(mail.html).toContain(zone.replace(/&/g, '&amp;'));

      // The links of the text part are the HTML part's, and nobody else's.
      const links = [...(mail.text ?? '').matchAll(/https:\/\/tocsin\.example\.com\/(?:actions|unsubscribe)\/[\w.-]+/g)].map((m) => m[0]);
      const actions = links.filter((l) => l.includes('/actions/'));
      // Acknowledge and snooze for everyone; mute for everyone only for the administrator.
      expect(actions).toHaveLength(p.roles[0] === 'Administrator' ? 3 : 2);
      for (const link of links) {
        expect(mail.html).toContain(`href="${link}"`);
        expect(seenLinks.has(link)).toBe(false);
        seenLinks.add(link);
        expect((await t.tocsin.app.inject({ method: 'GET', url: new URL(link).pathname })).statusCode, link).toBe(200);
      }
      const unsubscribe = links.find((l) => l.includes('/unsubscribe/'));
      expect(message!.raw).toContain(`List-Unsubscribe: <${unsubscribe}>`);

      // The Japanese reader acknowledges from the email: the others would see it.
      if (p.language === 'ja') {
        // The line's links come in the order acknowledge, snooze, mute.
        const url = actions[0]!;
        const done = await t.tocsin.app.inject({
          method: 'POST',
          url: new URL(url).pathname,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: '',
        });
        expect(done.statusCode).toBe(200);
        const alert = (await t.call('GET', `/api/v1/tenants/multi/alerts/${alertId}`)).json();
        expect(alert.acknowledgedBy).toMatchObject({ userId: ids[i] });
      }
    }
    expect(messageIds.size).toBe(PEOPLE.length);
  });

  it('mails a robot failing again after its resolution, which a repeat of the same key within the flood window would not be', async () => {
    const offline = { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', source: { robot: 'R9' }, dedupKey: 'am-fingerprint-r9' };
    const raise = async (alert: object) => expect((await t.call('POST', '/api/v1/tenants/multi/alerts', alert, robot)).statusCode).toBe(202);
    const before = server.messages.length;
    await raise({ ...offline, message: 'R9 is offline' });
    await server.waitForMessages(before + PEOPLE.length, 20_000);
    // Alertmanager's resolved alert (a Success with the firing alert's key), then the robot goes down again minutes later.
    await raise({ ...offline, severity: 'Success', message: 'Resolved: R9 is offline' });
    await raise({ ...offline, message: 'R9 is offline again' });
    const received = await server.waitForMessages(before + 2 * PEOPLE.length, 20_000);
    const again = await Promise.all(received.slice(before + PEOPLE.length).map((m) => simpleParser(m.raw)));
    for (const mail of again) expect(mail.text).toContain('R9 is offline again');
  });
});
