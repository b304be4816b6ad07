/**
 * S1 of the security test list for the emails header-injection.test.ts does not send: the 10-minute
 * summary, the daily report and the mail-health notices, in every language, where the tenant's display
 * name, the readers' names, the sender's display name and a tenant's SMTP server's reply are put into
 * translated subjects, address headers and bodies. The
 * real app sends them (its own worker and scheduler) to a test SMTP server that keeps each raw
 * session, which is what is checked: recipients, header names and line lengths.
 */
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPORTS_SOON, type TestApp, startTestApp } from '../../test/support/http.js';
import { OWN_HEADERS, headerNames, longestLine } from '../../test/support/raw-mail.js';
import { type ReceivedMessage, type TestSmtpServer, kindOf, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { LANGUAGES } from '../i18n/languages.js';
import { queueAdminNotices } from '../mail-health/notices.js';

const TENANT = 'inject-every';
// Each is accepted by the API (no line break), and each would add a header, a recipient or a
// decoded line break if glued into a header unencoded: percent-encoded CR/LF, an RFC 2047 encoded
// word that decodes to CR/LF, a quoted name closing early, address lists, and an invalid header tail.
const PAYLOADS = [
  'Acme %0d%0aBcc: eve@evil.example',
  '=?utf-8?q?x=0D=0ABcc:_eve@evil.example?=',
  '"Boss" <boss@evil.example>, Bcc: eve@evil.example',
  'Ops\tX-Injected: 1',
];
// At the length limit, in a script that encodes to many more octets than characters.
const LONG_NAME = 'é日'.repeat(100);
const KINDS = ['summary', 'daily'] as const;

describeEachDialect('header-bound fields in the summary and the daily report, in every language, on the wire', (dialect) => {
  let t: TestApp;
  let server: TestSmtpServer;

  beforeAll(async () => {
    server = await startTestSmtpServer();
    t = await startTestApp(dialect, { TOCSIN_SUMMARY_INTERVAL_SECONDS: '1', TOCSIN_PUBLIC_URL: 'https://tocsin.example.com' }, REPORTS_SOON);
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  it('sends each reader one RCPT, only its own headers, no line over 998 octets, and the hostile names back as text', async () => {
    const base = `/api/v1/tenants/${TENANT}`;
    const displayName = `${PAYLOADS[0]} ${PAYLOADS[1]}`;
    expect((await t.call('POST', '/api/v1/tenants', { name: TENANT, displayName, timeZone: 'UTC' })).statusCode).toBe(201);
    const mail = await t.call('PUT', `${base}/settings/mail`, {
      alertsEmailEnabled: true,
      useCustom: true,
      custom: { host: '127.0.0.1', port: server.port, security: 'none', fromAddress: 'alerts@inject.example.com', fromDisplayName: PAYLOADS[2] },
    });
    expect(mail.statusCode, mail.body).toBe(200);
    // A reader per language and payload, named with it; one more with the longest name.
    const readers = new Map<string, string>();
    for (const [index, language] of LANGUAGES.entries()) {
      const name = index === 0 ? LONG_NAME : PAYLOADS[index % PAYLOADS.length]!;
      const email = `reader-${language}@inject.example.com`;
      const user = await t.call('POST', `${base}/users`, { email, name, language, roles: ['Alerts Viewer'] });
      expect(user.statusCode, user.body).toBe(201);
      readers.set(email, name);
    }
    const raised = await t.call('POST', `${base}/alerts`, {
      alerts: PAYLOADS.map((payload, i) => ({
        severity: i % 2 ? 'Error' : 'Fatal',
        component: 'Robots',
        event: `Custom.Event${i}`,
        message: `${payload} ${'m'.repeat(4_000)}`,
        source: { process: payload, robot: LONG_NAME, queue: payload },
      })),
    });
    expect(raised.statusCode, raised.body).toBe(202);
    // The report time moved to a few seconds from now (the tenant's zone) once its readers and
    // alerts are there, or a slow setup outlived it and the day's report went out with nothing to
    // send; one that has passed by the time it is saved still goes out at once, as a first report.
    const soon = new Date(Date.now() + 2_000).toISOString().slice(11, 19);
    const moved = await t.call('PUT', `${base}/settings/mail`, { dailyReportTime: soon });
    expect(moved.statusCode, moved.body).toBe(200);

    // Every reader gets one summary and one daily report.
    let received: ReceivedMessage[] = [];
    for (;;) {
      received = server.messages.filter((m) => (KINDS as readonly string[]).includes(kindOf(m.raw) ?? ''));
      if (received.length >= readers.size * KINDS.length) break;
      await server.waitForMessages(server.messages.length + 1, 20_000);
    }
    expect(received.map((m) => `${m.envelope.to.join(',')} ${kindOf(m.raw)}`).sort()).toEqual(
      [...readers.keys()].flatMap((email) => KINDS.map((kind) => `${email} ${kind}`)).sort(),
    );
    for (const message of received) {
      const what = `${message.envelope.to.join(',')} ${kindOf(message.raw)}`;
      expect(
        headerNames(message.raw).filter((name) => !OWN_HEADERS.has(name)),
        what,
      ).toEqual([]);
      expect(longestLine(message.raw), what).toBeLessThanOrEqual(998);
      const parsed = await simpleParser(message.raw);
      expect([parsed.cc, parsed.bcc], what).toEqual([undefined, undefined]);
      expect(
        parsed.from?.value.map((v) => [v.address, v.name]),
        what,
      ).toEqual([['alerts@inject.example.com', PAYLOADS[2]]]);
      const to = parsed.to && !Array.isArray(parsed.to) ? parsed.to.value : [];
      expect(
        to.map((v) => [v.address, v.name]),
        what,
      ).toEqual([[message.envelope.to[0], readers.get(message.envelope.to[0]!)]]);
      // The tenant's name in each language's subject is its display name, as text (clipped, with an ellipsis, when long).
      expect(parsed.subject, what).toContain(PAYLOADS[0]);
      expect(parsed.subject, what).not.toMatch(/[\r\n]/);
      expect(parsed.headers.get('x-tocsin-tenant'), what).toBe(TENANT);
    }
  });
});

describeEachDialect('header-bound fields in the mail-health notices, in every language, on the wire', (dialect) => {
  let t: TestApp;
  let server: TestSmtpServer;

  beforeAll(async () => {
    server = await startTestSmtpServer();
    // The notices go through the system default: the test server here.
    t = await startTestApp(dialect, {
      TOCSIN_SMTP_URL: `smtp://127.0.0.1:${server.port}?from=alerts@example.com`,
      TOCSIN_PUBLIC_URL: 'https://tocsin.example.com',
    });
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  it("sends each administrator one RCPT, only its own headers, no line over 998 octets, whatever the tenant's name and its server's reply", async () => {
    const tenant = 'inject-notices';
    const displayName = `${PAYLOADS[0]} ${PAYLOADS[1]}`;
    const created = await t.call('POST', '/api/v1/tenants', { name: tenant, displayName, timeZone: 'UTC' });
    expect(created.statusCode, created.body).toBe(201);
    const admins = new Map<string, string>();
    for (const [index, language] of LANGUAGES.entries()) {
      const name = index === 0 ? LONG_NAME : PAYLOADS[index % PAYLOADS.length]!;
      const email = `admin-${language}@inject.example.com`;
      const user = await t.call('POST', `/api/v1/tenants/${tenant}/users`, { email, name, language, roles: ['Administrator'] });
      expect(user.statusCode, user.body).toBe(201);
      admins.set(email, name);
    }
    // What a tenant's server said is its own text: line breaks, header-looking lines and one unbroken word past 998 octets.
    const lastError = `535 5.7.8 ${PAYLOADS.join(' ')}\r\nBcc: eve@evil.example\r\n\r\n${'日'.repeat(600)}`;
    const now = Date.now();
    await queueAdminNotices(t.tocsin.deps.storage.db, created.json().id, {
      kind: 'failing',
      key: 'wire:failing',
      at: now,
      lastError,
      now,
      context: { publicUrl: 'https://tocsin.example.com' },
    });
    const notices = () => server.messages.filter((m) => kindOf(m.raw) === 'mail-health');
    while (notices().length < admins.size) await server.waitForMessages(server.messages.length + 1, 20_000);
    const received = notices();
    expect(received.map((m) => m.envelope.to.join(',')).sort()).toEqual([...admins.keys()].sort());
    for (const message of received) {
      const what = message.envelope.to.join(',');
      expect(
        headerNames(message.raw).filter((name) => !OWN_HEADERS.has(name)),
        what,
      ).toEqual([]);
      expect(longestLine(message.raw), what).toBeLessThanOrEqual(998);
      const parsed = await simpleParser(message.raw);
      expect([parsed.cc, parsed.bcc], what).toEqual([undefined, undefined]);
      const to = parsed.to && !Array.isArray(parsed.to) ? parsed.to.value : [];
      expect(
        to.map((v) => [v.address, v.name]),
        what,
      ).toEqual([[message.envelope.to[0], admins.get(message.envelope.to[0]!)]]);
      expect(parsed.subject, what).toContain(PAYLOADS[0]);
      expect(parsed.subject, what).not.toMatch(/[\r\n]/);
      // The reply arrives whole, as text in the body.
      expect(parsed.text, what).toContain('日'.repeat(600));
    }
  });
});
