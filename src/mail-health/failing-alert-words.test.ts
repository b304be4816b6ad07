/**
 * The Mail.DeliveryFailing alert that a mail incident stores is worded in the tenant's language (the
 * console and the API show it as stored), but the emails that list it are each in their reader's
 * language: its sentence is Tocsin's own, not a robot's message, so it is re-worded for each reader.
 * The real app with a one-second summary window, the tenant's server refusing every sender (550)
 * with fallbackToDefault on, so the summaries go out through the system default, read back with mailparser.
 */
import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPORTS_SOON, type TestApp, startTestApp } from '../../test/support/http.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { until } from '../../test/support/until.js';

describeEachDialect('the Mail.DeliveryFailing alert in the emails', (dialect) => {
  let t: TestApp;
  let system: TestSmtpServer;
  let refusing: TestSmtpServer;

  beforeAll(async () => {
    system = await startTestSmtpServer();
    refusing = await startTestSmtpServer({ failures: [{ at: 'mail', code: 550, message: '5.7.1 Sender rejected' }] });
    t = await startTestApp(
      dialect,
      { TOCSIN_SMTP_URL: `smtp://127.0.0.1:${system.port}?from=tocsin@example.com`, TOCSIN_SUMMARY_INTERVAL_SECONDS: '1' },
      REPORTS_SOON,
    );
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([system?.close(), refusing?.close()]);
  });

  /** summaryListing waits for the summary to `address` that lists the failing alert, and parses it. */
  async function summaryListing(address: string, listing = '5.7.1 Sender rejected'): Promise<ParsedMail> {
    let found: ParsedMail | undefined;
    await until(async () => {
      for (const message of system.messages.filter((m) => m.envelope.to[0] === address && /^X-Tocsin-Kind: summary/m.test(m.raw))) {
        const mail = await simpleParser(message.raw);
        if (mail.text?.includes(listing)) found = mail;
      }
      return found !== undefined;
    }, `the summary to ${address} that lists the Mail.DeliveryFailing alert`);
    return found!;
  }

  it("words it in each reader's language, not the tenant's", async () => {
    const base = '/api/v1/tenants/bakery';
    expect((await t.call('POST', '/api/v1/tenants', { name: 'bakery', language: 'en' })).statusCode).toBe(201);
    const custom = { host: '127.0.0.1', port: refusing.port, security: 'none', fromAddress: 'alerts@bakery.example.com' };
    const settings = await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true, fallbackToDefault: true, useCustom: true, custom });
    expect(settings.statusCode, settings.body).toBe(200);
    for (const [email, language] of [
      ['de@bakery.example.com', 'de'],
      ['ja@bakery.example.com', 'ja'],
      ['en@bakery.example.com', 'en'],
    ]) {
      expect((await t.call('POST', `${base}/users`, { email, name: language, language, roles: ['Alerts Viewer'] })).statusCode).toBe(201);
    }
    // Its summary meets the 550 that starts the incident, and the alert it stores is in the next window's.
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: 'Invoice run failed' })).statusCode).toBe(202);

    const de = await summaryListing('de@bakery.example.com');
    expect(de.text).toContain('Alarm-E-Mails schlagen fehl. Letzte Antwort des Mailservers: 550 5.7.1 Sender rejected');
    expect(de.html).toContain('Alarm-E-Mails schlagen fehl. Letzte Antwort des Mailservers: 550 5.7.1 Sender rejected');
    const ja = await summaryListing('ja@bakery.example.com');
    expect(ja.text).toContain('アラート メールの送信に失敗しています。メール サーバーの最後の応答: 550 5.7.1 Sender rejected');
    for (const mail of [de, ja]) expect(mail.text).not.toContain('Alert emails are failing');
    // The page its "I'm on it" link opens names the alert in the reader's words too.
    const acknowledge = /Ich kümmere mich darum: \S+(\/actions\/\S+)/.exec(de.text!)![1]!;
    const page = await t.call('GET', acknowledge, undefined, '');
    expect(page.body).toContain('Alarm-E-Mails schlagen fehl: Alarm-E-Mails schlagen fehl. Letzte Antwort des Mailservers: 550 5.7.1 Sender rejected');
    // The tenant's own language, as stored.
    expect((await summaryListing('en@bakery.example.com')).text).toContain("Alert emails are failing. The mail server's last reply: 550 5.7.1 Sender rejected");
    // The alert itself keeps the words it was stored with, for the console and the API.
    const stored = (await t.call('GET', `${base}/alerts?event=Mail.DeliveryFailing`)).json().items;
    expect(stored.map((a: { message: string }) => a.message)).toEqual(["Alert emails are failing. The mail server's last reply: 550 5.7.1 Sender rejected"]);
  });

  it("explains to a French reader, in French, a failure in which no server answered (plain SMTP on the TLS port), with OpenSSL's own words", async () => {
    const base = '/api/v1/tenants/creamery';
    expect((await t.call('POST', '/api/v1/tenants', { name: 'creamery', language: 'en' })).statusCode).toBe(201);
    // Implicit TLS to a server that speaks plain SMTP: refused for good at once, so the summaries go through the system default.
    const custom = { host: '127.0.0.1', port: refusing.port, security: 'tls', fromAddress: 'alerts@creamery.example.com' };
    const settings = await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: true, fallbackToDefault: true, useCustom: true, custom });
    expect(settings.statusCode, settings.body).toBe(200);
    expect((await t.call('POST', `${base}/users`, { email: 'fr@creamery.example.com', name: 'fr', language: 'fr', roles: ['Alerts Viewer'] })).statusCode).toBe(
      201,
    );
    expect((await t.call('POST', `${base}/alerts`, { severity: 'Error', component: 'Jobs', message: 'Invoice run failed' })).statusCode).toBe(202);

    const fr = await summaryListing('fr@creamery.example.com', 'Les e-mails d’alerte échouent');
    // Both parts keep French's narrow no-break spaces before « : », so that no line breaks there.
    const line =
      /Les e-mails d’alerte échouent\. Dernière erreur\u202f: le serveur ne parle pas TLS dès le premier octet sur ce port\u202f: il attend STARTTLS ou aucun TLS \(en général le port 587 avec STARTTLS, 465 avec TLS\) \(ERR_SSL_[A-Z_]+\)/;
    expect(fr.text).toMatch(line);
    expect(fr.html).toMatch(line);
    expect(fr.text).not.toContain('does not speak TLS');
    // The alert itself keeps the words it was stored with, for the console and the API.
    const stored = (await t.call('GET', `${base}/alerts?event=Mail.DeliveryFailing`)).json().items;
    expect(stored.map((a: { message: string }) => a.message)).toEqual([
      expect.stringMatching(/^Alert emails are failing\. The mail server's last reply: tls: the server does not speak TLS from the first byte on this port/),
    ]);
  });
});
