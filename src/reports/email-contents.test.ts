/**
 * What a reader sees in the alert emails, point by point against PRODUCT.md's "The emails": the
 * real app on both dialects with a one-second summary window, alerts raised through the API, and
 * each email read back from a real SMTP server with mailparser.
 */
import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { localeFormat } from '../i18n/format.js';

describeEachDialect('alert emails as their readers see them', (dialect) => {
  let t: TestApp;
  let smtp: TestSmtpServer;

  beforeAll(async () => {
    smtp = await startTestSmtpServer();
    t = await startTestApp(dialect, {
      TOCSIN_SMTP_URL: `smtp://127.0.0.1:${smtp.port}?from=alerts@example.com`,
      TOCSIN_SUMMARY_INTERVAL_SECONDS: '1',
      TOCSIN_PUBLIC_URL: 'https://tocsin.example.com',
    });
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  /** ok calls the API as the host administrator and fails the test on any error answer. */
  async function ok(method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, body?: unknown) {
    const res = await t.call(method, `/api/v1/tenants${url}`, body);
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
    return res.body ? res.json() : undefined;
  }

  /** tenant creates a tenant with alert emails on and one user, returning the user's id. */
  async function tenant(name: string, tenantFields: object, user: object): Promise<string> {
    await ok('POST', '', { name, ...tenantFields });
    await ok('PUT', `/${name}/settings/mail`, { alertsEmailEnabled: true });
    return (await ok('POST', `/${name}/users`, { name: 'Reader', roles: ['Alerts Viewer'], ...user })).id;
  }

  /** mailOf waits for the first email of a kind to an address and parses it. */
  async function mailOf(address: string, kind: string): Promise<ParsedMail> {
    for (;;) {
      for (const message of smtp.messages) {
        if (message.envelope.to[0] !== address) continue;
        const mail = await simpleParser(message.raw);
        if (mail.headers.get('x-tocsin-kind') === kind) return mail;
      }
      await smtp.waitForMessages(smtp.messages.length + 1, 20_000);
    }
  }

  it('dates a summary line whose alert occurred on another day than the window, and writes the window’s own to the second', async () => {
    await tenant('late', { timeZone: 'Europe/Paris' }, { email: 'late@example.com', language: 'en' });
    // An alert imported late (a pull source's first import goes back 24 hours), beside a fresh one.
    const occurredAt = Date.parse('2026-03-02T05:04:07Z');
    await ok('POST', '/late/alerts', {
      alerts: [
        {
          severity: 'Error',
          component: 'Jobs',
          message: 'imported from yesterday',
          occurredAt: new Date(occurredAt).toISOString(),
          source: { process: 'Old' },
        },
        { severity: 'Error', component: 'Queues', message: 'failing now', source: { queue: 'Now' } },
      ],
    });
    const fresh = (await ok('GET', '/late/alerts?component=Queues')).items[0].occurredAt as string;
    const text = (await mailOf('late@example.com', 'summary')).text!;
    const fmt = localeFormat('en', 'Europe/Paris');
    const lineOf = (message: string) => text.split('\n').slice(text.split('\n').indexOf(`  ${message}`) + 1)[0];
    expect(lineOf('imported from yesterday')).toMatch(new RegExp(`^  ${fmt.dateTime(occurredAt)} · `));
    expect(text).toContain(`· ${fmt.dateTime(occurredAt)}\n`); // its source group's heading too
    expect(lineOf('failing now')).toMatch(new RegExp(`^  ${fmt.time(Date.parse(fresh))} · `));
  });
});
