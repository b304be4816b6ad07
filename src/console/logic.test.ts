import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { APP_DIR } from './assets.js';
import { PERMISSIONS } from '../access/permissions.js';
import { localeFormat } from '../i18n/format.js';
import { LANGUAGES } from '../i18n/languages.js';
import { REFUSED_HOST_MESSAGE } from '../settings/host-guard.js';
import { SECRET_AGAIN, SECRET_UNREADABLE } from '../settings/mail-settings.js';
import { MergeError, type SmtpSettingsInput, mergeSmtp } from '../settings/smtp-settings.js';

// The console's modules are plain JavaScript for the browser; their decisions are pure functions,
// tested here in Node. A computed specifier keeps TypeScript from looking for their types.
const load = (file: string): Promise<any> => import(`./app/${file}`);

/** stubConsoleStrings serves the console's strings from disk, as the files it is served, instead of over HTTP. */
function stubConsoleStrings(): void {
  vi.stubGlobal('fetch', async (url: string) => ({
    ok: true,
    json: async () => JSON.parse(fs.readFileSync(path.join(APP_DIR, url.replace('console/', '')), 'utf8')),
  }));
  vi.stubGlobal('document', { documentElement: {} });
}

describe('console decisions', () => {
  it('sends the SMTP password only when it was typed or cleared, and empty optional fields as null', async () => {
    const { smtpFormOf, smtpPayload } = await load('lib/smtp-form.js');
    const stored = smtpFormOf({ host: 'smtp.gmail.com', port: 465, security: 'tls', passwordSet: true, fromAddress: 'a@b.example', timeoutMs: 15000 });
    expect(stored.password).toBeUndefined();
    expect(stored.timeoutSeconds).toBe('15');
    const kept = smtpPayload(stored);
    expect(kept).not.toHaveProperty('password');
    expect(kept).toMatchObject({ host: 'smtp.gmail.com', port: 465, security: 'tls', domain: null, username: null, fromDisplayName: null, timeoutMs: 15000 });
    expect(smtpPayload({ ...stored, password: 'new-secret' }).password).toBe('new-secret');
    expect(smtpPayload({ ...stored, password: null }).password).toBeNull();
    expect(smtpPayload({ ...stored, password: '' })).not.toHaveProperty('password');
    // A port that is not a number goes as typed, so the API names the field.
    expect(smtpPayload({ ...stored, port: 'abc' }).port).toBe('abc');
    // An emptied timeout is the default again, not the stored 15 s kept silently; a word is the API's to refuse.
    expect(smtpPayload({ ...stored, timeoutSeconds: '' }).timeoutMs).toBeNull();
    expect(smtpPayload({ ...stored, timeoutSeconds: 'ten' }).timeoutMs).toBe('ten');
  });

  it("sends a pull source's password and client secret as typed, spaces included, and trims the other fields", async () => {
    const { pullBody } = await load('pages/sources.js');
    const form = {
      baseUrl: ' https://orch.example.com ',
      intervalSeconds: '30',
      tenancyName: ' Default ',
      username: ' robot ',
      password: ' p4ss word ',
      mode: 'onprem',
    };
    expect(pullBody(form)).toEqual({
      baseUrl: 'https://orch.example.com',
      intervalSeconds: 30,
      tenancyName: 'Default',
      username: 'robot',
      password: ' p4ss word ',
    });
    const cloud = { ...form, mode: 'cloud', clientId: ' app ', clientSecret: ' s3cret ', identityUrl: '', scope: 'OR.Monitoring.Read', organizationUnitId: '' };
    expect(pullBody(cloud)).toEqual({
      baseUrl: 'https://orch.example.com',
      intervalSeconds: 30,
      clientId: 'app',
      clientSecret: ' s3cret ',
      scope: 'OR.Monitoring.Read',
    });
  });

  it('says when the form would send credentials without TLS, and whether that is allowed', async () => {
    const { smtpFormOf, smtpPayload, plaintextAuthOf } = await load('lib/smtp-form.js');
    const plain = smtpFormOf({ host: 'relay.example.com', port: 25, security: 'none', username: 'robot', passwordSet: true, fromAddress: 'a@b.example' });
    expect(plain.allowPlaintextAuth).toBe(false);
    expect(plaintextAuthOf(plain)).toBe('refused');
    expect(plaintextAuthOf({ ...plain, allowPlaintextAuth: true })).toBe('allowed');
    expect(smtpPayload({ ...plain, allowPlaintextAuth: true }).allowPlaintextAuth).toBe(true);
    expect(plaintextAuthOf({ ...plain, security: 'starttls' })).toBeNull();
    expect(plaintextAuthOf({ ...plain, username: '', password: null })).toBeNull();
    expect(plaintextAuthOf({ ...plain, username: '', password: 'typed' })).toBe('refused');
  });

  it("maps the seed's Enable SSL box to a security mode and its ports", async () => {
    const { smtpFormOf, withSsl } = await load('lib/smtp-form.js');
    const empty = smtpFormOf(null);
    expect(withSsl({ ...empty, port: '' }, true)).toMatchObject({ port: '465', security: 'tls' });
    expect(withSsl({ ...empty, port: '465' }, false)).toMatchObject({ port: '587', security: 'none' });
    expect(withSsl({ ...empty, port: '2525' }, true)).toMatchObject({ port: '2525', security: 'starttls' });
    expect(withSsl({ ...empty, port: '2525' }, false)).toMatchObject({ port: '2525', security: 'none' });
    const { withPort } = await load('lib/smtp-form.js');
    expect(withPort({ ...empty, port: '2525', security: 'starttls' }, '465')).toMatchObject({ security: 'tls' });
    expect(withPort({ ...empty, port: '465', security: 'tls' }, '587')).toMatchObject({ security: 'starttls' });
    expect(withPort({ ...empty, port: '25', security: 'none' }, '465')).toMatchObject({ security: 'none' });
  });

  it('opens "Authentication and timeout" when OAuth 2 is chosen, so its access token field is in sight', async () => {
    const { smtpFormOf, advancedOpen } = await load('lib/smtp-form.js');
    const plain = smtpFormOf({ host: 'smtp.example.com', port: 587, security: 'starttls', fromAddress: 'a@b.example' });
    expect(advancedOpen(plain, {})).toBe(false);
    // The Microsoft 365 preset (and a saved OAuth 2 server) signs in with an access token only that section asks for.
    expect(advancedOpen({ ...plain, authMethod: 'xoauth2' }, {})).toBe(true);
    expect(advancedOpen(smtpFormOf({ ...plain, port: 587, timeoutMs: 30000, authMethod: 'xoauth2', accessTokenSet: true }), {})).toBe(true);
    expect(advancedOpen(plain, { timeoutMs: 'must be a whole number' })).toBe(true);
  });

  it('counts a test as covering the form only when it ran the values shown', async () => {
    const { testsWhatIsShown } = await load('pages/mail-settings.js');
    expect(testsWhatIsShown({ useCustom: true }, { useCustom: false })).toBe(true);
    expect(testsWhatIsShown({ useCustom: false }, { useCustom: false })).toBe(true);
    // "Default" on screen while custom is saved: a test would run the saved custom values.
    expect(testsWhatIsShown({ useCustom: false }, { useCustom: true })).toBe(false);
  });

  it('asks "not tested?" only before saving custom values that were not tested as shown', async () => {
    const { asksBeforeSaving, testedKey } = await load('pages/mail-settings.js');
    const { smtpFormOf } = await load('lib/smtp-form.js');
    const custom = { useCustom: true, custom: smtpFormOf({ host: 'smtp.example.com', port: 587, security: 'starttls', fromAddress: 'a@b.example' }) };
    expect(asksBeforeSaving(custom, null)).toBe(true);
    expect(asksBeforeSaving(custom, testedKey(custom))).toBe(false);
    expect(asksBeforeSaving({ ...custom, custom: { ...custom.custom, port: '2525' } }, testedKey(custom))).toBe(true);
    // The default settings are the host's server: nothing the tenant could test or fix.
    expect(asksBeforeSaving({ ...custom, useCustom: false }, null)).toBe(false);
  });

  it('names the host that did not resolve in the explanation, in every language', async () => {
    const { failureFacts } = await load('lib/smtp-failure.js');
    const facts = failureFacts({ stage: 'connect', message: 'could not resolve the SMTP host "smtp.exmaple.com" (ENOTFOUND): DNS knows no such name' });
    expect(facts).toEqual({ host: 'smtp.exmaple.com' });
    expect(failureFacts({ stage: 'connect', message: 'connect ECONNREFUSED 127.0.0.1:2525' })).toEqual({});
    for (const language of LANGUAGES) {
      const strings = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'i18n', `${language}.json`), 'utf8')) as Record<string, string>;
      for (const key of ['test.why.hostNotFound', 'test.why.dnsTemporary']) expect(strings[key], `${language} ${key}`).toContain('{host}');
    }
  });

  it('explains a server without STARTTLS by the Enable SSL switch that asks for it, not by a password the form may not have, in every language', async () => {
    // Enable SSL on a port other than 465 requires STARTTLS with or without credentials: the test fails the same
    // way for a server that needs no sign-in, so the explanation names the switch and both ways out.
    const password: Record<string, RegExp> = { en: /password/i, fr: /mot de passe/i, de: /passwort/i, es: /contraseña/i, ja: /パスワード/ };
    for (const language of LANGUAGES) {
      const strings = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'i18n', `${language}.json`), 'utf8')) as Record<string, string>;
      const why = strings['test.why.noStarttls'];
      expect(why, language).toContain(strings['mail.enableSsl']);
      expect(why, language).toContain('465');
      expect(why, language).not.toMatch(password[language] as RegExp);
    }
  });

  it("says with the Gmail preset, in every language, that the Default From Address must be the Gmail address, as the seed's Gmail steps do", async () => {
    // Gmail puts the signed-in account's address in place of any other From (but a verified alias): the
    // seed's step 16 says the From address must be the one of step 2, so the preset says it too.
    for (const language of LANGUAGES) {
      const strings = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'i18n', `${language}.json`), 'utf8')) as Record<string, string>;
      expect(strings['preset.gmailNote']?.toLowerCase(), language).toContain((strings['mail.fromAddress'] as string).toLowerCase());
    }
  });

  it('explains a failed test by its stage, code and words, and says when the server calls it temporary', async () => {
    const { failureReasons } = await load('lib/smtp-failure.js');
    const why = (stage: string, message: string, code?: number) => failureReasons({ stage, message, code });
    expect(why('connect', 'connect ECONNREFUSED 127.0.0.1:2525')).toEqual(['connectionRefused']);
    // As classify.ts words it: the cure it names (host, port, firewall) is no timeout, closed connection or security mode.
    expect(
      why(
        'connect',
        'connect ECONNREFUSED 127.0.0.1:2525: the server refused the connection, so nothing takes connections on this host and port: check the host and the port (usually 587 with STARTTLS, 465 with implicit TLS), and that no firewall refuses them',
      ),
    ).toEqual(['connectionRefused']);
    expect(
      why('connect', "connect ENETUNREACH 2001:db8::25:587: Tocsin's machine has no route to this address: check the host, and this machine's network"),
    ).toEqual(['connect']);
    expect(why('connect', 'could not resolve the SMTP host (ENOTFOUND)')).toEqual(['hostNotFound']);
    // A lookup that failed for now is no misspelt name; its ETIMEOUT is no server that did not answer either.
    expect(why('connect', 'could not resolve the SMTP host "smtp.example.com" (EAI_AGAIN): the DNS lookup failed for now, likely transient')).toEqual([
      'dnsTemporary',
    ]);
    expect(why('connect', 'could not resolve the SMTP host "smtp.example.com" (ETIMEOUT): the DNS lookup failed for now, likely transient')).toEqual([
      'dnsTemporary',
    ]);
    expect(why('connect', 'timed out during connect')).toEqual(['timeout']);
    // A server that greeted and then stopped answering is no wrong host or port.
    expect(why('connect', "timed out during connect after 30 s, waiting for the server's answer to EHLO")).toEqual(['stoppedAnswering']);
    expect(why('data', "timed out during data after 30 s, waiting for the server's answer to DATA")).toEqual(['stoppedAnswering']);
    // Past the final ".", the server may have taken the message: no "try again" that may send it twice.
    expect(
      why(
        'data',
        'timed out during data after 30 s, waiting for the server\'s answer to the message\'s final ".": the whole message was sent, so the server may have taken it and the email may still arrive',
      ),
    ).toEqual(['messageUnanswered']);
    // A server that stopped reading the message partway answered at first too: no wrong host or port.
    expect(why('data', "timed out during data after 30 s, waiting for the server to read the message: it stopped reading before the message's end")).toEqual([
      'stoppedAnswering',
    ]);
    // A server that agreed to STARTTLS and then never completed the handshake answered at first too.
    expect(why('tls', 'timed out after 30 s waiting for the TLS handshake: the server agreed to STARTTLS, then did not complete a handshake')).toEqual([
      'stoppedAnswering',
    ]);
    expect(why('connect', 'timed out after 30 s waiting for the SMTP greeting: the port accepted the connection but no SMTP server answered on it')).toEqual([
      'timeout',
    ]);
    expect(why('connect', 'This SMTP server cannot be used: give a public host name or address, on port 25, 465, 587 or 2525.')).toEqual(['refusedHost']);
    expect(why('tls', "the server's certificate did not verify (ERR_SSL_WRONG_VERSION_NUMBER): wrong version number")).toEqual(['tlsMode']);
    expect(why('tls', "the server's certificate did not verify (DEPTH_ZERO_SELF_SIGNED_CERT): self-signed certificate")).toEqual(['certificateUntrusted']);
    expect(why('tls', 'the server sent no SMTP greeting: it expects implicit TLS from the first byte on port 465, not STARTTLS')).toEqual(['tlsMode']);
    expect(why('tls', 'the server did not upgrade to TLS (STARTTLS is required)')).toEqual(['noStarttls']);
    // A server without extensions (EHLO unknown) has no STARTTLS to offer either (classify.ts).
    expect(
      failureReasons({
        stage: 'tls',
        code: 502,
        message:
          'the server does not know EHLO (an SMTP server without extensions), so it cannot offer STARTTLS, which these settings require: 502 5.5.2 Error',
      }),
    ).toEqual(['noStarttls']);
    // The reverse: security none, and the server wants TLS before the mail or the sign-in.
    for (const [code, reply] of [
      [530, '530 5.7.0 Must issue a STARTTLS command first.'],
      [538, '538 5.7.11 Encryption required for requested authentication mechanism'],
    ] as const) {
      const message = `the server asks for encryption first, and these settings send without TLS: choose security "starttls" (the Enable SSL box), usually with port 587, or "tls" with port 465: ${reply}`;
      expect(why('tls', message, code), reply).toEqual(['encryptionRequired']);
    }
    expect(why('auth', 'Invalid login: 535 5.7.8 Error: authentication failed', 535)).toEqual(['auth535']);
    expect(why('auth', 'Invalid login: 534 5.7.9 Application-specific password required', 534)).toEqual(['auth534']);
    // Microsoft 365 with basic authentication off: no password helps, OAuth does.
    expect(why('auth', 'Invalid login: 535 5.7.139 Authentication unsuccessful, basic authentication is disabled.', 535)).toEqual(['basicAuthDisabled']);
    expect(why('auth', 'Invalid login: 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.', 535)).toEqual([
      'basicAuthDisabled',
    ]);
    expect(why('sender', 'Mail command failed: 553 5.7.1 Sender address rejected', 553)).toEqual(['sender']);
    expect(why('recipient', 'Recipient command failed: 554 5.7.1 Relay access denied', 554)).toEqual(['relay']);
    expect(why('recipient', 'Recipient command failed: 550 5.1.1 User unknown', 550)).toEqual(['recipient']);
    expect(why('data', 'Message failed: 552 5.3.4 Message size exceeds fixed limit', 552)).toEqual(['data']);
    expect(why('recipient', 'Recipient command failed: 450 4.2.0 Mailbox busy', 450)).toEqual(['recipient', 'temporary']);
  });

  it('explains a server that greeted with a refusal (421 busy, 554 blocked) as reached and refusing, not as a wrong host or port', async () => {
    const { failureReasons } = await load('lib/smtp-failure.js');
    // The host and port are right: a server answered on them, and its reply says why it will not talk now.
    expect(failureReasons({ stage: 'connect', message: 'Invalid greeting: 421 Too many connections, try later', code: 421 })).toEqual([
      'greetingRefused',
      'temporary',
    ]);
    expect(failureReasons({ stage: 'connect', message: 'Invalid greeting: 554 5.7.1 Client host blocked', code: 554 })).toEqual(['greetingRefused']);
    for (const language of LANGUAGES) {
      const strings = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'i18n', `${language}.json`), 'utf8')) as Record<string, string>;
      expect(strings['test.why.greetingRefused'], language).toBeTruthy();
    }
  });

  it('explains a refusal for want of a sign-in that the settings had credentials for, but the server offered no AUTH, by the host, not by empty fields', async () => {
    const { failureReasons } = await load('lib/smtp-failure.js');
    const skipped = (reply: string) =>
      `the server offered no sign-in (AUTH) on this connection, so the user name and password were not sent, and it refused the mail without one: give the host and port of the mail submission service (usually port 587 with STARTTLS), which offers AUTH: ${reply}`;
    expect(failureReasons({ stage: 'auth', message: skipped('530 5.7.0 Authentication required'), code: 530 })).toEqual(['authNotOffered']);
    expect(failureReasons({ stage: 'recipient', message: skipped('550 5.7.54 Unable to relay'), code: 550 })).toEqual(['authNotOffered']);
    expect(failureReasons({ stage: 'auth', message: 'Mail command failed: 530 5.7.0 Authentication required', code: 530 })).toEqual(['authRequired']);
    // Offered only with STARTTLS, which Enable SSL off declined (Postfix's smtpd_tls_auth_only): the host is right, the box is not.
    const overTlsOnly = (reply: string) =>
      `the server offers a sign-in (AUTH) only over TLS: it offered STARTTLS, which these settings do not use (security none), so the user name and password were not sent, and it refused the mail without one: choose security "starttls" (the Enable SSL box): ${reply}`;
    expect(failureReasons({ stage: 'tls', message: overTlsOnly('554 5.7.1 <ops@example.com>: Relay access denied'), code: 554 })).toEqual([
      'encryptionRequired',
    ]);
    expect(failureReasons({ stage: 'tls', message: overTlsOnly('530 5.7.0 Authentication required'), code: 530 })).toEqual(['encryptionRequired']);
  });

  it('explains a server that defers mail for reasons of its own (421, storage, load) as the server, not as a sender, recipient or message to change', async () => {
    const { failureReasons } = await load('lib/smtp-failure.js');
    const why = (stage: string, message: string, code: number) => failureReasons({ stage, message, code });
    // 421 closes the session whatever the command: the service, not the address or the message.
    expect(why('sender', 'Mail command failed: 421 4.7.0 Too many messages, slow down', 421)).toEqual(['serverBusy', 'temporary']);
    expect(why('recipient', "Can't send mail - all recipients were rejected: 421 4.4.5 Server busy", 421)).toEqual(['serverBusy', 'temporary']);
    expect(why('data', 'Message failed: 421 4.3.2 System shutting down', 421)).toEqual(['serverBusy', 'temporary']);
    expect(why('auth', 'Invalid login: 421 4.7.0 Try again later, closing connection', 421)).toEqual(['serverBusy', 'temporary']);
    expect(why('tls', 'the server did not upgrade to TLS (STARTTLS is required): 421 4.3.2 Service shutting down', 421)).toEqual(['serverBusy', 'temporary']);
    // A 4xx to MAIL FROM is the server's state (storage, load, rate), unless it names the address (4.1.x).
    expect(why('sender', 'Mail command failed: 452 4.3.1 Insufficient system storage', 452)).toEqual(['serverBusy', 'temporary']);
    expect(why('sender', 'Mail command failed: 451 4.7.1 Rate limit exceeded, try later', 451)).toEqual(['serverBusy', 'temporary']);
    expect(why('sender', 'Mail command failed: 451 4.1.8 Domain of sender address does not resolve', 451)).toEqual(['sender', 'temporary']);
    expect(why('sender', 'Mail command failed: 553 5.7.1 Sender address rejected', 553)).toEqual(['sender']);
    // A mailbox busy or full for now is still the recipient's.
    expect(why('recipient', 'Recipient command failed: 452 4.2.2 Mailbox full', 452)).toEqual(['recipient', 'temporary']);
    // At RCPT TO too, a 4xx whose enhanced code is of the mail system (4.3.x), of the protocol's limits (4.5.x) or
    // of policy (4.7.x: a rate) is the server's state, not the address (4.1.x) or its mailbox (4.2.x): "Check the Send To address" misled.
    for (const reply of [
      '451 4.3.0 <ops@example.com>: Temporary lookup failure',
      '452 4.3.1 Insufficient system storage',
      '452 4.5.3 Too many recipients',
      '450 4.7.1 Error: too many recipients from [203.0.113.9]',
    ]) {
      expect(why('recipient', `Can't send mail - all recipients were rejected: ${reply}`, Number(reply.slice(0, 3))), reply).toEqual([
        'serverBusy',
        'temporary',
      ]);
    }
    // So after the message: a queue that cannot be written, too many connections of the account (Microsoft 365's 432), a server error.
    for (const reply of [
      '451 4.3.0 Error: queue file write error',
      '432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded',
      '451 4.7.0 Temporary server error. Please try again later. PRX4',
    ]) {
      expect(why('data', `Message failed: ${reply}`, Number(reply.slice(0, 3))), reply).toEqual(['serverBusy', 'temporary']);
    }
    for (const reply of ['450 4.1.2 <ops@example.com>: Recipient address rejected: Domain not found', '450 Mailbox unavailable']) {
      expect(why('recipient', `Can't send mail - all recipients were rejected: ${reply}`, 450), reply).toEqual(['recipient', 'temporary']);
    }
    for (const language of LANGUAGES) {
      const strings = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'i18n', `${language}.json`), 'utf8')) as Record<string, string>;
      expect(strings['test.why.serverBusy'], language).toBeTruthy();
    }
  });

  it("explains a server's reply by its code, not by Tocsin's words it happens to contain (a 421 'Timeout', 'cannot be used')", async () => {
    const { failureReasons } = await load('lib/smtp-failure.js');
    const why = (stage: string, message: string, code: number) => failureReasons({ stage, message, code });
    // The server answered, so no host, port or firewall is wrong, and no timeout of Tocsin's ran out: it closed the session itself.
    expect(why('data', 'Message failed: 421 4.4.2 Timeout, closing', 421)).toEqual(['serverBusy', 'temporary']);
    expect(why('sender', 'Mail command failed: 421 4.4.2 mx.example.com Error: timeout exceeded', 421)).toEqual(['serverBusy', 'temporary']);
    expect(why('connect', 'Invalid greeting: 421 4.4.1 Connection timed out', 421)).toEqual(['greetingRefused', 'temporary']);
    // Tocsin's own refusal of a host has no reply code; a server's refusal that says "cannot be used" is the server's.
    expect(why('sender', 'Mail command failed: 553 5.7.1 This sender address cannot be used', 553)).toEqual(['sender']);
  });

  it('explains a server that hung up after the sign-in as a dropped connection, not as a refused sender, recipient or message', async () => {
    const { failureReasons } = await load('lib/smtp-failure.js');
    expect(failureReasons({ stage: 'sender', message: 'the server closed the connection without answering MAIL FROM' })).toEqual(['closedMidway']);
    expect(failureReasons({ stage: 'recipient', message: 'the server closed the connection without answering RCPT TO' })).toEqual(['closedMidway']);
    expect(failureReasons({ stage: 'data', message: 'the server closed the connection during DATA, without accepting the message' })).toEqual(['closedMidway']);
    expect(
      failureReasons({
        stage: 'data',
        message:
          'the server closed the connection after the whole message was sent, without answering it: it may have taken the message, so the email may still arrive',
      }),
    ).toEqual(['closedMidway']);
    expect(failureReasons({ stage: 'connect', message: 'the server closed the connection without answering EHLO' })).toEqual(['connectionClosed']);
  });

  it('explains greylisting as a deferral that passes on its own, not as a recipient, sender or message to check', async () => {
    const { failureReasons } = await load('lib/smtp-failure.js');
    const why = (stage: string, message: string, code: number) => failureReasons({ stage, message, code });
    // postgrey, Exim and milter-greylist words: the console said "The server refused the recipient address. Check the Send To address."
    expect(
      why(
        'recipient',
        "Can't send mail - all recipients were rejected: 450 4.2.0 <ann@example.com>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.com.html",
        450,
      ),
    ).toEqual(['greylisted', 'temporary']);
    expect(why('recipient', "Can't send mail - all recipients were rejected: 451 4.7.1 Greylisted, please try again later", 451)).toEqual([
      'greylisted',
      'temporary',
    ]);
    expect(why('data', 'Message failed: 451 4.7.1 Greylisting in action, please come back later', 451)).toEqual(['greylisted', 'temporary']);
    // A refusal for good that happens to name a grey list is the server's verdict, explained by its stage.
    expect(why('recipient', "Can't send mail - all recipients were rejected: 550 5.7.1 Listed on a grey list", 550)).toEqual(['recipient']);
    for (const language of LANGUAGES) {
      const strings = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'i18n', `${language}.json`), 'utf8')) as Record<string, string>;
      expect(strings['test.why.greylisted'], language).toBeTruthy();
    }
  });

  it('explains an address Tocsin did not send to, as its user part is not ASCII and the server offers no SMTPUTF8, as that, not as a server refusing the address', async () => {
    const { failureReasons } = await load('lib/smtp-failure.js');
    // classify.ts's words (session.ts's unsendableAddress): no reply code, as the server was never asked.
    for (const [stage, who] of [
      ['recipient', 'recipient'],
      ['sender', 'sender'],
    ] as const) {
      const message = `the server does not offer SMTPUTF8 (RFC 6531), so it cannot take the address jürgen@bücher.example, whose user part is not ASCII: ask its administrators to enable SMTPUTF8, or give the ${who} an ASCII address`;
      expect(failureReasons({ stage, message }), stage).toEqual(['smtputf8']);
    }
    for (const language of LANGUAGES) {
      const strings = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'i18n', `${language}.json`), 'utf8')) as Record<string, string>;
      expect(strings['test.why.smtputf8'], language).toContain('SMTPUTF8');
    }
  });

  it("explains Postfix's refusals of the sender, of the client or of its EHLO name by what they name, though they answer RCPT TO", async () => {
    const { failureReasons } = await load('lib/smtp-failure.js');
    const why = (stage: string, message: string, code: number) => failureReasons({ stage, message, code });
    // Postfix evaluates its client, HELO and sender restrictions at RCPT TO (smtpd_delay_reject=yes, the
    // default): the console said "The server refused the recipient address. Check the Send To address."
    const rcpt = "Can't send mail - all recipients were rejected: ";
    expect(why('recipient', `${rcpt}450 4.1.8 <alerts@acme.example>: Sender address rejected: Domain not found`, 450)).toEqual(['sender', 'temporary']);
    expect(why('recipient', `${rcpt}553 5.7.1 <alerts@acme.example>: Sender address rejected: not owned by user robot`, 553)).toEqual(['sender']);
    expect(why('recipient', `${rcpt}450 4.7.1 <vm>: Helo command rejected: Host not found`, 450)).toEqual(['clientRefused', 'temporary']);
    expect(why('recipient', `${rcpt}554 5.7.1 <unknown[192.0.2.7]>: Client host rejected: Access denied`, 554)).toEqual(['clientRefused']);
    expect(why('connect', 'Invalid HELO: 554 5.7.1 <vm>: Helo command rejected: need fully-qualified hostname', 554)).toEqual(['clientRefused']);
    // The recipient's own refusal is still the recipient's.
    expect(why('recipient', `${rcpt}550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown in local recipient table`, 550)).toEqual([
      'recipient',
    ]);
    for (const language of LANGUAGES) {
      const strings = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'i18n', `${language}.json`), 'utf8')) as Record<string, string>;
      expect(strings['test.why.clientRefused'], language).toBeTruthy();
    }
  });

  it('explains a server that replied as it hung up by its reply, not as a hang-up that refused nothing', async () => {
    const { failureReasons } = await load('lib/smtp-failure.js');
    // Its reply line left unended (classify.ts keeps it): a 554 to the message is a refusal of the message, for good.
    expect(failureReasons({ stage: 'data', message: 'the server closed the connection during DATA, replying: 554 5.7.1 rejected as spam', code: 554 })).toEqual(
      ['data'],
    );
    expect(failureReasons({ stage: 'connect', message: 'the server refused the connection and closed it: 421 4.7.0 too busy', code: 421 })).toEqual([
      'greetingRefused',
      'temporary',
    ]);
  });

  it('explains a certificate by what is wrong with it: the host name, an authority Tocsin does not trust, or its dates', async () => {
    const { failureReasons } = await load('lib/smtp-failure.js');
    // Another host name helps only a name that does not match: the others are about the certificate itself.
    const reasons: Record<string, string[]> = {
      certificate: ['ERR_TLS_CERT_ALTNAME_INVALID'],
      certificateUntrusted: ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'],
      // What Node says of a server that sends its certificate without the intermediate ones (a public
      // authority's, as often as a private one's): "needs a certificate from a public authority" sent
      // its administrator to buy what they had; the cure is to install the whole chain.
      certificateChain: ['UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
      certificateExpired: ['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'],
    };
    for (const [reason, codes] of Object.entries(reasons)) {
      for (const code of codes)
        expect(failureReasons({ stage: 'tls', message: `the server's certificate did not verify (${code}): …` }), code).toEqual([reason]);
    }
    for (const language of LANGUAGES) {
      const strings = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'i18n', `${language}.json`), 'utf8')) as Record<string, string>;
      expect(strings['test.why.certificateChain'], language).toBeTruthy();
    }
  });

  it('tells of a self-signed or privately issued certificate the way out the README documents: the host trusting that authority', () => {
    // "The mail server needs a certificate from a public authority" alone told an internal Exchange's
    // administrators that Tocsin cannot use it (Novu #5796), while NODE_EXTRA_CA_CERTS makes it trusted.
    for (const language of LANGUAGES) {
      const strings = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'i18n', `${language}.json`), 'utf8')) as Record<string, string>;
      for (const reason of ['certificateUntrusted', 'certificateChain'])
        expect(strings[`test.why.${reason}`], `${language} ${reason}`).toContain('NODE_EXTRA_CA_CERTS');
    }
  });

  it("explains Microsoft 365's SendAsDenied after DATA as a From address the mailbox may not send as, not as a message refused as spam", async () => {
    const { failureReasons } = await load('lib/smtp-failure.js');
    const sendAsDenied =
      'Message failed: 554 5.2.252 SendAsDenied; alerts@contoso.com not allowed to send as ops@contoso.com; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; Failed to process message due to a permanent exception';
    expect(failureReasons({ stage: 'data', code: 554, message: sendAsDenied })).toEqual(['sender']);
    expect(
      failureReasons({ stage: 'data', code: 550, message: 'Message failed: 550 5.7.60 SMTP; Client does not have permissions to send as this sender' }),
    ).toEqual(['sender']);
    expect(failureReasons({ stage: 'data', code: 552, message: 'Message failed: 552 5.3.4 Message size exceeds fixed limit' })).toEqual(['data']);
  });

  it('explains a refused XOAUTH2 sign-in as a refused access token, not as a wrong password', async () => {
    const { failureReasons } = await load('lib/smtp-failure.js');
    const message =
      'the server refused the access token (XOAUTH2), status 401, scope https://mail.google.com/: it may have expired, or not allow sending mail: 535-5.7.8 Username and Password not accepted';
    expect(failureReasons({ stage: 'auth', code: 535, message })).toEqual(['authToken']);
  });

  it("warns of an OAuth access token's expiry from a day before, and once it has passed; of a short-lived one only once it has passed", async () => {
    const { tokenNotice } = await load('pages/mail-health.js');
    const now = Date.UTC(2026, 10, 30, 9);
    const at = (hours: number) => ({ state: 'ok', accessTokenExpiresAt: new Date(now + hours * 3_600_000).toISOString() });
    expect(tokenNotice({ state: 'ok' }, now)).toBeNull();
    expect(tokenNotice(at(25), now)).toBeNull();
    expect(tokenNotice(at(23), now)).toBe('expiring');
    expect(tokenNotice(at(-1), now)).toBe('expired');
    // Issued to live 75 minutes (Microsoft's, renewed each hour by automation): told only once expired.
    const issued = (hours: number, minutesLeft: number) => ({
      state: 'ok',
      accessTokenIssuedAt: new Date(now - hours * 3_600_000).toISOString(),
      accessTokenExpiresAt: new Date(now + minutesLeft * 60_000).toISOString(),
    });
    expect(tokenNotice(issued(0.25, 60), now)).toBeNull();
    expect(tokenNotice(issued(1.5, -15), now)).toBe('expired');
    expect(tokenNotice(issued(24 * 6, 60), now)).toBe('expiring');
  });

  it('drops the field errors of the fields being corrected, and the credential errors once the security changes', async () => {
    const { errorsAfterEdit } = await load('pages/mail-settings.js');
    const { smtpFormOf } = await load('lib/smtp-form.js');
    const before = {
      useCustom: true,
      dailyReportTime: '10:00',
      custom: smtpFormOf({ host: 'relay.example.com', port: 25, security: 'none', username: 'robot' }),
    };
    const errors = { port: 'too big', username: 'would be sent without encryption', dailyReportTime: 'HH:MM', timeoutMs: 'too long' };
    expect(errorsAfterEdit(errors, before, { ...before, custom: { ...before.custom, port: '587' } })).toEqual({
      username: 'would be sent without encryption',
      dailyReportTime: 'HH:MM',
      timeoutMs: 'too long',
    });
    expect(errorsAfterEdit(errors, before, { ...before, custom: { ...before.custom, allowPlaintextAuth: true } })).toEqual({
      port: 'too big',
      dailyReportTime: 'HH:MM',
      timeoutMs: 'too long',
    });
    expect(errorsAfterEdit(errors, before, { ...before, dailyReportTime: '07:30', custom: { ...before.custom, timeoutSeconds: '20' } })).toEqual({
      port: 'too big',
      username: 'would be sent without encryption',
    });
  });

  it('reads field errors of a problem under a prefix', async () => {
    const { fieldErrors } = await load('lib/api.js');
    const error = {
      problem: {
        errors: [
          { path: 'custom.port', message: 'too big' },
          { path: 'dailyReportTime', message: 'HH:MM' },
        ],
      },
    };
    expect(fieldErrors(error, ['custom.', ''])).toEqual({ port: 'too big', dailyReportTime: 'HH:MM' });
    expect(fieldErrors(error, ['settings.'])).toEqual({});
    // An item of a list is its list's error: a role chosen and deleted meanwhile is said beside Roles.
    expect(fieldErrors({ problem: { errors: [{ path: 'roles.1', message: 'no role named "Gone" in this tenant' }] } })).toEqual({
      roles: 'no role named "Gone" in this tenant',
    });
  });

  it('keeps alert filters in the hash route, as email links give them', async () => {
    const { parseHash, href } = await load('lib/router.js');
    const { filtersOf } = await load('pages/alerts.js');
    const route = parseHash('#/alerts?severity=Warning&component=Robots&unread=true&other=x');
    expect(route.path).toBe('/alerts');
    expect(filtersOf(route.query)).toEqual({ severity: 'Warn', component: 'Robots', unread: 'true' });
    expect(filtersOf(parseHash('#/alerts?robot=R7&process=Invoices&queue=Q1').query)).toEqual({ robot: 'R7', process: 'Invoices', queue: 'Q1' });
    expect(href('/alerts', { severity: 'Error', component: '', unread: false })).toBe('#/alerts?severity=Error');
    expect(parseHash('')).toEqual({ path: '/', query: {} });
  });

  it('counts as narrowing the alert list every filter but unread only and the lowest severity and above', async () => {
    const { narrows } = await load('pages/alerts.js');
    expect(narrows({})).toBe(false);
    expect(narrows({ unread: 'true', severity: 'Info' })).toBe(false);
    expect(narrows({ severity: 'Success' })).toBe(true);
    expect(narrows({ component: 'Queues', unread: 'true' })).toBe(true);
    expect(narrows({ since: '2026-01-01T00:00:00Z' })).toBe(true);
    expect(narrows({ robot: 'R7' })).toBe(true);
  });

  it('lets an event override its component, and a component switch send its events back to following it', async () => {
    const { subscribed, toggleComponent } = await load('pages/preferences.js');
    const robots = { name: 'Robots', events: [{ name: 'Robot.StatusChanged.NotResponding' }] };
    expect(subscribed({}, 'Robots')).toBe(true);
    expect(subscribed({ Robots: false, 'Robot.StatusChanged.NotResponding': true }, 'Robots', 'Robot.StatusChanged.NotResponding')).toBe(true);
    expect(subscribed({ Robots: false }, 'Robots', 'Robot.StatusChanged.NotResponding')).toBe(false);
    // An event named like a property of every object is still read by its own entry only.
    expect(subscribed({ Process: false }, 'Process', 'toString')).toBe(false);
    expect(subscribed({}, 'constructor', 'constructor')).toBe(true);
    const shown = { Robots: true, 'Robot.StatusChanged.NotResponding': true, Jobs: true };
    expect(toggleComponent(shown, { Jobs: false }, robots, false)).toEqual({
      shown: { Robots: false, 'Robot.StatusChanged.NotResponding': false, Jobs: true },
      patch: { Jobs: false, Robots: false, 'Robot.StatusChanged.NotResponding': null },
    });
  });

  it('finds the catalogue component a name typed to add is, or holds the event of, in any case, as the API stores it', async () => {
    // Typed in another case, `robots` or `robot.statuschanged.offline` became a custom row switched on: saved, the API
    // stored it under the catalogue name, so Robots (turned off) or its event was pinned on by a look-up.
    const { catalogueHome } = await load('pages/preferences.js');
    const robots = { name: 'Robots', events: [{ name: 'Robot.StatusChanged.Offline' }] };
    const catalogue = [{ name: 'Jobs', events: [] }, robots];
    expect(catalogueHome(catalogue, 'Robot.StatusChanged.Offline')).toBe(robots);
    expect(catalogueHome(catalogue, 'robot.statuschanged.offline')).toBe(robots);
    expect(catalogueHome(catalogue, 'ROBOTS')).toBe(robots);
    expect(catalogueHome(catalogue, 'jobs')?.name).toBe('Jobs');
    expect(catalogueHome(catalogue, 'node_down')).toBeUndefined();
  });

  it("tells a person's switch set by a group's default rules from its own choice and the built-in default", async () => {
    const { fromGroupRules } = await load('pages/preferences.js');
    // Bob chose Jobs off and Fatal immediately on; his group "night" turned Queues and the daily report off.
    const prefs = {
      subscriptions: { Queues: false, Robots: true, Jobs: false },
      email: { tenMinuteSummary: true, dailyReport: false, fatalImmediately: true },
      own: { subscriptions: { Jobs: false }, email: { fatalImmediately: true } },
    };
    const unchanged = { subscriptions: {}, email: {} };
    expect(fromGroupRules(prefs, unchanged, 'subscriptions', 'Queues')).toBe(true);
    expect(fromGroupRules(prefs, unchanged, 'email', 'dailyReport')).toBe(true);
    // His own choices, and what no rule changed, are not the group's.
    expect(fromGroupRules(prefs, unchanged, 'subscriptions', 'Jobs')).toBe(false);
    expect(fromGroupRules(prefs, unchanged, 'email', 'fatalImmediately')).toBe(false);
    expect(fromGroupRules(prefs, unchanged, 'subscriptions', 'Robots')).toBe(false);
    expect(fromGroupRules(prefs, unchanged, 'email', 'tenMinuteSummary')).toBe(false);
    // Switched on this page, not saved yet: already his own.
    expect(fromGroupRules(prefs, { subscriptions: { Queues: true }, email: {} }, 'subscriptions', 'Queues')).toBe(false);
    // A group's own rules page has no `own` part: nothing there comes from another group.
    expect(fromGroupRules({ subscriptions: { Queues: false }, email: {} }, unchanged, 'subscriptions', 'Queues')).toBe(false);
  });

  it("fills in the sign-in form's tenant by the name people know when an email's link names it by id", async () => {
    const { signInStart } = await load('pages/signin.js');
    const id = '01a2438f-e2e3-74a9-810e-14f8d1cf7328';
    const last = { name: 'acme', id };
    const nobody = { name: null, id: null };
    // Signed in to acme before in this browser: its email's link shows "acme", not the id.
    expect(signInStart({ tenant: id }, null, last)).toEqual({ theirs: null, tenant: 'acme' });
    // A tenant never signed in to here, or one named by the link: as the link says.
    expect(signInStart({ tenant: id }, null, nobody).tenant).toBe(id);
    expect(signInStart({ tenant: 'globex' }, null, last).tenant).toBe('globex');
    expect(signInStart({}, null, last).tenant).toBe('acme');
    // The session ended under Ann, then she opens acme's email link: still hers, email filled in.
    const ann = { kind: 'user', tenant: 'acme', tenantId: id, email: 'ann@acme.example' };
    expect(signInStart({ tenant: id }, ann, nobody)).toEqual({ theirs: ann, tenant: 'acme' });
    expect(signInStart({ tenant: 'acme' }, ann, nobody)).toEqual({ theirs: ann, tenant: 'acme' });
    // Another tenant's link is not hers: no email of hers, its tenant as named.
    expect(signInStart({ tenant: 'globex' }, ann, last)).toEqual({ theirs: null, tenant: 'globex' });
    // The host administrator's ended session keeps its kind when no link names a tenant.
    const host = { kind: 'host', tenant: '', tenantId: '', email: '' };
    expect(signInStart({}, host, last)).toEqual({ theirs: host, tenant: 'acme' });
    expect(signInStart({ tenant: id }, host, last)).toEqual({ theirs: null, tenant: 'acme' });
  });

  it("sends a person's language and time zone as chosen, and the tenant's default (left empty) as null, which clears them", async () => {
    const { languageAndZone } = await load('lib/person-fields.js');
    expect(languageAndZone({ language: 'fr', timeZone: ' Europe/Paris ' })).toEqual({ language: 'fr', timeZone: 'Europe/Paris' });
    expect(languageAndZone({ language: '', timeZone: '  ' })).toEqual({ language: null, timeZone: null });
  });

  it("shortens an alert's message for a checkbox's label or a dialog's title between characters, never inside an emoji, a flag or a joined family", async () => {
    const { shortened } = await load('lib/shorten.js');
    const short = 'Disk full on robot-7';
    expect(shortened(short, 60)).toBe(short);
    // An emoji across the 60th and 61st code units: a cut there left a lone surrogate, shown as �.
    const emoji = `${'a'.repeat(59)}🔥 after`;
    expect(shortened(emoji, 60)).toBe(`${'a'.repeat(59)}🔥`);
    const family = '👨‍👩‍👧‍👦';
    const flags = `${family}🇫🇷é`.repeat(30);
    expect(shortened(flags, 60)).toBe(`${family}🇫🇷é`.repeat(20));
    expect(shortened(`${'x'.repeat(119)}🇯🇵🇯🇵`, 120)).toBe(`${'x'.repeat(119)}🇯🇵`);
  });

  it('suggests every IANA zone the browser knows, and UTC, which Intl does not list, once and in order', async () => {
    const { timeZoneNames } = await load('lib/person-fields.js');
    const zones: string[] = timeZoneNames();
    expect(zones).toContain('UTC');
    expect(zones).toContain('Europe/Paris');
    expect(zones).toContain('America/New_York');
    expect(new Set(zones).size).toBe(zones.length);
    expect(zones).toEqual([...zones].sort());
  });

  it("offers to mute an alert by its event or by each part of its source it carries, as the email's links do", async () => {
    const { muteOptions } = await load('pages/alerts.js');
    const alert = { component: 'Robots', event: 'Robot.StatusChanged.NotResponding', source: { robot: 'R7', machine: 'VM-1', queue: 'Q1' } };
    expect(muteOptions(alert)).toEqual([
      ['event', { component: 'Robots', event: 'Robot.StatusChanged.NotResponding' }],
      ['robot', { robot: 'R7' }],
      ['queue', { queue: 'Q1' }],
    ]);
    expect(muteOptions({ ...alert, source: null })).toEqual([['event', { component: 'Robots', event: 'Robot.StatusChanged.NotResponding' }]]);
  });

  it('mutes for 7 days until the same time of day a week later on the user’s clock, across a daylight-saving change', async () => {
    const { setTimeZone } = await load('lib/format.js');
    const { muteUntil } = await load('pages/alerts.js');
    setTimeZone('Europe/Paris');
    // 09:00 on Friday 27 March 2026 in Paris, whose clocks go forward on the 29th: 09:00 the next Friday, not 10:00.
    const friday = Date.parse('2026-03-27T08:00:00Z');
    expect(muteUntil('7d', friday)).toBe('2026-04-03T07:00:00.000Z');
    expect(muteUntil('24h', friday)).toBe('2026-03-28T08:00:00.000Z');
    expect(muteUntil('1h', friday)).toBe('2026-03-27T09:00:00.000Z');
  });

  it('reads the alerts catalogue grouped by component or as a flat list of events', async () => {
    const { normalizeCatalogue } = await load('lib/catalogue.js');
    const grouped = normalizeCatalogue({
      components: [{ name: 'Jobs', displayName: 'Jobs', events: [{ name: 'Process.JobExecution.Faulted', defaultSeverity: 'Error' }] }],
    });
    expect(grouped).toEqual([
      { name: 'Jobs', displayName: 'Jobs', events: [{ name: 'Process.JobExecution.Faulted', displayName: 'Process.JobExecution.Faulted', severity: 'Error' }] },
    ]);
    const flat = normalizeCatalogue({ items: [{ component: 'Queues', event: 'Queue.ItemFailed', severity: 'Warn' }] });
    expect(flat[0]).toMatchObject({ name: 'Queues', events: [{ name: 'Queue.ItemFailed', severity: 'Warn' }] });
    expect(normalizeCatalogue(null)).toEqual([]);
  });

  it("names components and events in the user's language, English or the code standing in for a missing name", async () => {
    const { normalizeCatalogue, catalogueNames } = await load('lib/catalogue.js');
    const answer = {
      components: [
        {
          name: 'Jobs',
          displayName: { en: 'Jobs', fr: 'Tâches', de: 'Aufträge', es: 'Trabajos', ja: 'ジョブ' },
          events: [{ name: 'Process.JobExecution.Faulted', displayName: { en: 'Job faulted', fr: "Échec de l'exécution de la tâche" } }],
        },
      ],
    };
    const french = catalogueNames(normalizeCatalogue(answer, 'fr'));
    expect(french.component('Jobs')).toBe('Tâches');
    expect(french.event('Process.JobExecution.Faulted')).toBe("Échec de l'exécution de la tâche");
    expect(french.event('Custom.Unknown')).toBe('Custom.Unknown');
    const german = catalogueNames(normalizeCatalogue(answer, 'de'));
    expect(german.component('Jobs')).toBe('Aufträge');
    expect(german.event('Process.JobExecution.Faulted')).toBe('Job faulted');
  });

  it('keeps the shown alerts in place while new ones wait behind "N new", and adds older pages once', async () => {
    const { emptyList, withFirstPage, showArrived, withOlderPage, updateRows } = await load('lib/live-list.js');
    const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 10, minute)).toISOString();
    const row = (id: string, minute: number, extra = {}) => ({ id, createdAt: at(minute), ...extra });
    // The first page shows at once.
    let list = withFirstPage(emptyList(), { items: [row('c', 3), row('b', 2)], nextCursor: 'after-b' });
    expect(list.items.map((r: { id: string }) => r.id)).toEqual(['c', 'b']);
    expect(list.nextCursor).toBe('after-b');
    list = withOlderPage(list, { items: [row('b', 2), row('a', 1)], nextCursor: null });
    expect(list.items.map((r: { id: string }) => r.id)).toEqual(['c', 'b', 'a']);
    expect(list.nextCursor).toBeNull();
    // Two arrive, one shown row is read elsewhere: the shown rows change in place, the new ones wait.
    list = withFirstPage(list, { items: [row('e', 5), row('d', 4), row('c', 3, { read: true })], nextCursor: 'after-c' });
    expect(list.items.map((r: { id: string }) => r.id)).toEqual(['c', 'b', 'a']);
    expect(list.items[0].read).toBe(true);
    expect(list.arrived.map((r: { id: string }) => r.id)).toEqual(['e', 'd']);
    expect(list.gap).toBe(false);
    // Rows below the polled page's span are kept; older pages' cursor is unchanged.
    expect(list.nextCursor).toBeNull();
    list = showArrived(list);
    expect(list.items.map((r: { id: string }) => r.id)).toEqual(['e', 'd', 'c', 'b', 'a']);
    expect(list.arrived).toEqual([]);
    // A row the whole result no longer holds (deleted, or read under "unread only") goes.
    list = withFirstPage(list, { items: [row('e', 5), row('d', 4), row('b', 2), row('a', 1)], nextCursor: null });
    expect(list.items.map((r: { id: string }) => r.id)).toEqual(['e', 'd', 'b', 'a']);
    // A whole page of arrivals may hide more: showing them starts the list again from that page.
    list = withFirstPage(list, { items: [row('g', 7), row('f', 6)], nextCursor: 'after-f' });
    expect(list.gap).toBe(true);
    list = showArrived(list);
    expect(list.items.map((r: { id: string }) => r.id)).toEqual(['g', 'f']);
    expect(list.nextCursor).toBe('after-f');
    expect(updateRows(list, (r: { id: string }) => (r.id === 'g' ? null : r)).items.map((r: { id: string }) => r.id)).toEqual(['f']);
  });

  it('orders the rows as the API does, and drops from the bottom what the whole result no longer holds', async () => {
    const { emptyList, withFirstPage } = await load('lib/live-list.js');
    const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 10, minute)).toISOString();
    const row = (id: string, minute: number) => ({ id, createdAt: at(minute) });
    const ids = (rows: { id: string }[]) => rows.map((r) => r.id);
    let list = withFirstPage(emptyList(), { items: [row('c', 3), row('b', 2), row('a', 1)], nextCursor: null });
    // An alert stored in the same millisecond as the newest shown, after it (a group commit stamps its
    // alerts alike): the API lists it first, by id, so it waits behind "N new" rather than slip in below.
    list = withFirstPage(list, { items: [row('d', 3), row('c', 3), row('b', 2), row('a', 1)], nextCursor: null });
    expect(ids(list.arrived)).toEqual(['d']);
    expect(ids(list.items)).toEqual(['c', 'b', 'a']);
    // One marked unread again elsewhere, under "unread only", comes back in its place, not at the bottom.
    list = withFirstPage(emptyList(), { items: [row('c', 3), row('a', 1)], nextCursor: null });
    list = withFirstPage(list, { items: [row('c', 3), row('b', 2), row('a', 1)], nextCursor: null });
    expect(ids(list.items)).toEqual(['c', 'b', 'a']);
    // The oldest one deleted (or read under "unread only"): a page that is the whole result holds all there is.
    list = withFirstPage(list, { items: [row('c', 3), row('b', 2)], nextCursor: null });
    expect(ids(list.items)).toEqual(['c', 'b']);
  });

  it('refreshes a list grown by Load more as one page of at most the 1,000 rows the API gives', async () => {
    // Past 19 clicks the refresh asked for more, and every 3-s refresh of the list was a 400.
    const { pageLimit } = await load('lib/polling.js');
    expect([0, 1, 19, 20, 40].map(pageLimit)).toEqual([50, 100, 1000, 1000, 1000]);
  });

  it("shows times in the tenant's zone, not the browser's, when the browser does not know the user's stored zone", async () => {
    // A zone saved through a server whose time zone data is newer than the browser's: the console kept the browser's
    // zone for that user, where the API's charts and the emails (firstKnownZone) take the tenant's.
    const { setTimeZone, timeZone } = await load('lib/format.js');
    setTimeZone('Asia/Tokyo');
    setTimeZone('Mars/Olympus_Mons', 'Asia/Kathmandu');
    expect(timeZone()).toBe('Asia/Kathmandu');
    setTimeZone(undefined, 'Pacific/Chatham');
    expect(timeZone()).toBe('Pacific/Chatham');
  });

  it("reads and shows the time filters in the user's time zone, not the browser's", async () => {
    const { setTimeZone, localInputToIso, isoToLocalInput, timeZone } = await load('lib/format.js');
    setTimeZone('Mars/Olympus');
    setTimeZone('Europe/Paris');
    expect(timeZone()).toBe('Europe/Paris');
    expect(localInputToIso('2026-07-01T10:00')).toBe('2026-07-01T10:00:00.000+02:00');
    expect(isoToLocalInput('2026-11-27T09:30:00Z')).toBe('2026-11-27T10:30');
    expect(localInputToIso('')).toBe('');
    // Shown times are in that zone too, on the emails' 24-hour clock whatever the language.
    const { formatTime } = await load('lib/format.js');
    setTimeZone('Asia/Tokyo');
    expect(formatTime('2026-12-01T09:51:56Z')).toMatch(/\b18:51:56\b/);
    expect(formatTime('2026-12-01T21:51:56Z')).toMatch(/\b06:51:56\b/);
    expect(formatTime('2026-12-01T21:51:56Z')).not.toMatch(/AM|PM|午前|午後/);
    // The charts' bars too, at the offset the API gave for the zone.
    const { bucketLabel } = await load('pages/charts.js');
    expect(bucketLabel('2026-12-01T18:00:00.000+09:00', 'hour')).toMatch(/^18:00$/);
    expect(bucketLabel('2026-12-02T06:00:00.000+09:00', '6h')).toMatch(/\b06:00$/);
  });

  it('says which of the two 02:30s a time filter in the hour the clock repeats is, as the emails write its offset', async () => {
    const { setTimeZone, formatInputTime, localInputToIso } = await load('lib/format.js');
    setTimeZone('Europe/Paris');
    // A summary's link of 02:40–02:50 summer time on 25 October 2026, then the same clock time in winter time.
    expect(formatInputTime('2026-10-25T00:40:00Z')).toMatch(/02:40 GMT\+2$/);
    expect(formatInputTime('2026-10-25T01:40:00Z')).toMatch(/02:40 GMT\+1$/);
    expect(formatInputTime(localInputToIso('2026-10-25T02:40'))).toMatch(/02:40 GMT\+1$/);
    // Any other time is written as before, without an offset.
    expect(formatInputTime('2026-10-25T02:40:00Z')).toMatch(/03:40$/);
  });

  it('saves a daily report time set to the second (HH:MM:SS, as the API takes it) as it is, not cut to the minute', async () => {
    const { mailFormOf, mailPayload } = await load('pages/mail-settings.js');
    const stored = { alertsEmailEnabled: true, useCustom: false, custom: null, sendEmptyDailyReport: false, fallbackToDefault: false };
    // Saving the tab to switch "all quiet" on moved a report set to 10:00:30 by a script to 10:00.
    expect(mailPayload({ ...mailFormOf({ ...stored, dailyReportTime: '10:00:30' }), sendEmptyDailyReport: true }).dailyReportTime).toBe('10:00:30');
    expect(mailFormOf({ ...stored, dailyReportTime: '10:00:00' }).dailyReportTime).toBe('10:00');
    expect(mailFormOf({ ...stored, dailyReportTime: '02:30' }).dailyReportTime).toBe('02:30');
  });

  it('labels the two bars of the hour the clock repeats with their offsets, not "02:00" twice', async () => {
    const { setTimeZone } = await load('lib/format.js');
    const { bucketLabel } = await load('pages/charts.js');
    setTimeZone('Europe/Paris');
    // The 24 hours' chart over 25 October 2026 in Paris, as the API cuts it: 01:00, 02:00 twice, 03:00.
    expect(bucketLabel('2026-10-25T01:00:00+02:00', 'hour')).toBe('01:00');
    expect(bucketLabel('2026-10-25T02:00:00+02:00', 'hour')).toMatch(/^02:00 GMT\+2$/);
    expect(bucketLabel('2026-10-25T02:00:00+01:00', 'hour')).toMatch(/^02:00 GMT\+1$/);
    expect(bucketLabel('2026-10-25T03:00:00+01:00', 'hour')).toBe('03:00');
  });

  // The delivery log read "8 déc. 2026, 0:00:01" in French where the ten-minute report it listed said 00:00.
  it("writes the hour with two digits in every language, as the emails do: the list's times, a time filter's, the charts' bars", async () => {
    stubConsoleStrings();
    try {
      const { loadLanguage } = await load('lib/i18n.js');
      const { setTimeZone, formatTime, formatInputTime } = await load('lib/format.js');
      const { bucketLabel } = await load('pages/charts.js');
      setTimeZone('Europe/Paris');
      for (const language of LANGUAGES) {
        await loadLanguage(language);
        const email = localeFormat(language, 'Europe/Paris');
        // 06:51:56 and 00:00:01 in Paris.
        for (const at of ['2026-12-08T05:51:56Z', '2026-12-07T23:00:01Z']) {
          expect(formatTime(at), `${language} ${at}`).toContain(email.time(Date.parse(at)));
          expect(formatInputTime(at), `${language} ${at}`).toContain(email.clock(Date.parse(at)));
        }
        expect(bucketLabel('2026-12-08T06:00:00+01:00', 'hour'), language).toBe(email.clock(Date.parse('2026-12-08T05:00:00Z')));
        expect(bucketLabel('2026-12-08T06:00:00+01:00', '6h'), language).toContain(email.clock(Date.parse('2026-12-08T05:00:00Z')));
      }
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('picks the plural form of the language and writes the count with its digit grouping', async () => {
    stubConsoleStrings();
    try {
      const { loadLanguage, t } = await load('lib/i18n.js');
      await loadLanguage('en');
      expect(t('alerts.arrived', { count: 1 })).toBe('1 new alert — show');
      expect(t('alerts.arrived', { count: 1234 })).toBe('1,234 new alerts — show');
      await loadLanguage('fr');
      expect(t('bell.unread', { count: 0 })).toBe('0 non lue');
      expect(t('bell.unread', { count: 1 })).toBe('1 non lue');
      expect(t('bell.unread', { count: 2 })).toBe('2 non lues');
      expect(t('alerts.arrived', { count: 1_000_000 })).toBe('1\u202f000\u202f000 de nouvelles alertes — afficher');
      // A page of arrivals that may hide more is counted as `50+`, in the plural.
      expect(t('alerts.arrived', { count: '50+' })).toBe('50+ nouvelles alertes — afficher');
      expect(t('tenants.sent', { count: 1 })).toBe('1 envoyé');
      await loadLanguage('ja');
      expect(t('sources.testOk', { count: 1 })).toBe('テスト イベントを受信して保存しました: アラート 1 件。');
      // A key without plural forms takes the count as any other value.
      expect(t('chart.total', { count: 3 })).toBe('(合計 3 件)');
    } finally {
      vi.unstubAllGlobals();
    }
  });

  // Manage Access > Roles read 「アラートの表示, アラートの作成」 in Japanese: an English comma between Japanese words.
  it('separates the items of a list as the language does (、 in Japanese), and no page joins them with an English comma', async () => {
    stubConsoleStrings();
    try {
      const { loadLanguage, listSeparator } = await load('lib/i18n.js');
      await loadLanguage('ja');
      expect(listSeparator()).toBe('、');
      await loadLanguage('de');
      expect(listSeparator()).toBe(', ');
    } finally {
      vi.unstubAllGlobals();
    }
    const pages = fs.readdirSync(path.join(APP_DIR, 'pages')).filter((file) => file.endsWith('.js'));
    const joined = pages.filter((file) => /\? ', ' :|join\(', '\)/.test(fs.readFileSync(path.join(APP_DIR, 'pages', file), 'utf8')));
    expect(joined).toEqual([]);
  });

  // A pull source polled every second (intervalSeconds takes 1) read "every 1 seconds", "cada 1 segundos", "alle 1 Sekunden".
  it('says how often a pull source is read in the plural form its interval takes, in every language', async () => {
    stubConsoleStrings();
    try {
      const { loadLanguage } = await load('lib/i18n.js');
      const { pullStep } = await load('pages/sources.js');
      const source = (intervalSeconds: number) => ({ kind: 'orchestrator-pull', pull: { baseUrl: 'https://orch.example', intervalSeconds } });
      await loadLanguage('en');
      expect(pullStep(source(1))).toBe('Tocsin reads the alerts of https://orch.example every second; nothing needs to change in Orchestrator.');
      expect(pullStep(source(3600))).toBe('Tocsin reads the alerts of https://orch.example every 3,600 seconds; nothing needs to change in Orchestrator.');
      await loadLanguage('es');
      expect(pullStep(source(1))).toContain('cada segundo;');
      expect(pullStep(source(60))).toContain('cada 60 segundos;');
      await loadLanguage('de');
      expect(pullStep(source(1))).toContain('jede Sekunde;');
      expect(pullStep(source(60))).toContain('alle 60 Sekunden;');
      await loadLanguage('ja');
      expect(pullStep(source(1))).toContain('1 秒ごとに');
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("says the API's refusals it knows in the user's language, and marks the others as English", async () => {
    stubConsoleStrings();
    try {
      const { loadLanguage } = await load('lib/i18n.js');
      const { apiWords } = await load('lib/ui.js');
      await loadLanguage('fr');
      expect(apiWords('A user with the email ops@acme.example already exists.')).toEqual({
        text: 'Un utilisateur a déjà cette adresse e-mail.',
        lang: undefined,
      });
      for (const taken of [
        'A group named "Ops" already exists.',
        'A role named "Administrator" already exists.',
        'A tenant named "acme" already exists.',
        'A source named "am" already exists.',
      ]) {
        expect(apiWords(taken), taken).toEqual({ text: 'Ce nom est déjà pris\u202f: choisissez-en un autre.', lang: undefined });
      }
      expect(apiWords('must not be empty').text).toBe('Obligatoire.');
      expect(apiWords('must be an email address such as ops@example.com').text).toBe('Saisissez une adresse e-mail, par exemple ops@example.com.');
      // An empty Default From Address in Test Mail Settings, a name too long.
      expect(apiWords('must be at least 3 characters')).toEqual({ text: 'Au moins 3 caractères.', lang: undefined });
      expect(apiWords('must be at most 200 characters')).toEqual({ text: 'Au plus 200 caractères.', lang: undefined });
      // Numbers as French writes them, as the field's hint does: the API groups thousands in English.
      expect(apiWords('must be a whole number from 1 to 3,650').text).toBe('Saisissez un nombre entier de 1 à 3\u202f650.');
      expect(apiWords('must be at most 2,000 characters').text).toBe('Au plus 2\u202f000 caractères.');
      expect(apiWords('must be a port number from 1 to 65535, such as 465 or 587').text).toBe(
        'Saisissez un numéro de port de 1 à 65535, par exemple 465 ou 587.',
      );
      expect(apiWords('must be a host name or an IP address, such as smtp.example.com').text).toBe(
        "Saisissez un nom d'hôte ou une adresse IP, par exemple smtp.example.com.",
      );
      expect(
        apiWords('must be a host name or an IP address alone, without a scheme or a port, such as smtp.example.com: the port has a field of its own').text,
      ).toBe(
        "Saisissez le nom d'hôte ou l'adresse IP seul, par exemple smtp.example.com, sans préfixe de protocole ni port\u202f: le port se saisit dans le champ Port SMTP.",
      );
      expect(apiWords('must be 1 to 63 lower-case letters, digits or hyphens').text).toBe("De 1 à 63 lettres minuscules, chiffres ou traits d'union.");
      // A console password too short (Add user), a timeout out of range in the seconds the form asks
      // for (the API counts milliseconds), SMTP credentials that would go without TLS (Save).
      expect(apiWords('must be at least 8 characters')).toEqual({ text: 'Au moins 8 caractères.', lang: undefined });
      expect(apiWords('must be from 1,000 to 600,000 milliseconds (1 second to 10 minutes)')).toEqual({
        text: 'Saisissez un délai de 1 à 600 secondes.',
        lang: undefined,
      });
      const plaintext = apiWords(
        'would be sent without encryption with security "none": choose security "starttls" or "tls", or set allowPlaintextAuth to true to accept that',
      );
      expect(plaintext.lang).toBeUndefined();
      expect(plaintext.text).toMatch(/^Votre nom d'utilisateur et votre mot de passe seraient envoyés sans chiffrement/);
      expect(apiWords("must be a component of the catalogue (GET /alerts/catalogue), e.g. Robots, Jobs, Queues, not 'Nope'")).toEqual({
        text: "Ce composant n'est pas dans le catalogue\u202f: choisissez-en un dans la liste.",
        lang: undefined,
      });
      expect(apiWords('must be a time of day as HH:MM or HH:MM:SS')).toEqual({ text: 'must be a time of day as HH:MM or HH:MM:SS', lang: 'en' });
    } finally {
      vi.unstubAllGlobals();
    }
  });

  // A French administrator who picked the Microsoft 365 preset and saved before pasting the access token read
  // "is required for XOAUTH2" under « Jeton d'accès OAuth » and "custom.accessToken: is required for XOAUTH2" above
  // Save; one who moved a saved Gmail server to another host read "type it again to save another host: …".
  it('says in every language each refusal of the SMTP fields that Save and Test Mail Settings can meet', async () => {
    const merged = (authMethod: 'xoauth2' | 'plain' | 'login') => {
      const input = { host: 'smtp.office365.com', port: 587, fromAddress: 'alerts@acme.example', username: 'alerts@acme.example', authMethod };
      try {
        mergeSmtp(null, { password: null, accessToken: null }, input as SmtpSettingsInput);
      } catch (err) {
        if (err instanceof MergeError) return err.message;
        throw err;
      }
      throw new Error(`${authMethod} without its secret was accepted`);
    };
    const refusals = [
      ...(['xoauth2', 'plain', 'login'] as const).map(merged),
      ...(['save', 'test'] as const).flatMap((doing) => [SECRET_AGAIN.host(doing), SECRET_AGAIN.tls(doing)]),
      SECRET_UNREADABLE,
      REFUSED_HOST_MESSAGE,
    ];
    stubConsoleStrings();
    try {
      const { loadLanguage } = await load('lib/i18n.js');
      const { apiWords } = await load('lib/ui.js');
      for (const language of LANGUAGES) {
        await loadLanguage(language);
        expect(refusals.filter((message) => apiWords(message).lang === 'en').map((message) => `${language}: ${message}`)).toEqual([]);
      }
      await loadLanguage('fr');
      expect(apiWords(merged('xoauth2')).text).toBe('Obligatoire pour l’authentification XOAUTH2.');
      expect(apiWords(SECRET_AGAIN.host('save')).text).toBe(
        'Saisissez-le de nouveau pour ce nouvel hôte\u202f: celui qui est enregistré n’est envoyé qu’à l’hôte avec lequel il a été enregistré.',
      );
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('names every permission a role can grant in every language of the console', () => {
    for (const language of LANGUAGES) {
      const strings = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'i18n', `${language}.json`), 'utf8')) as Record<string, string>;
      expect(
        PERMISSIONS.filter((code) => !strings[`permission.${code}`]),
        language,
      ).toEqual([]);
    }
  });

  it('picks the first supported language', async () => {
    const { pickLanguage } = await load('lib/i18n.js');
    expect(pickLanguage(null, 'fr-CA')).toBe('fr');
    expect(pickLanguage(['pt-BR', 'ja'])).toBe('ja');
    expect(pickLanguage(undefined, 'xx')).toBe('en');
  });

  it('hands on the answer, or the error, of the question last asked only, and of none asked before a forget', async () => {
    const { lastAsked } = await load('lib/last-asked.js');
    const reads = lastAsked();
    const seen: string[] = [];
    const later = (value: string, fail = false) => {
      let settle = () => {};
      const answer = new Promise<string>((resolve, reject) => {
        settle = () => (fail ? reject(new Error(value)) : resolve(value));
      });
      return { answer, settle };
    };
    const first = later('first');
    const second = later('second', true);
    const firstRead = reads.read(
      () => first.answer,
      (answer: string) => seen.push(answer),
      (error: Error) => seen.push(`error ${error.message}`),
    );
    const secondRead = reads.read(
      () => second.answer,
      (answer: string) => seen.push(answer),
      (error: Error) => seen.push(`error ${error.message}`),
    );
    second.settle();
    await secondRead;
    first.settle();
    // The older read settles (a poll asks again once it has), its answer not handed on.
    await firstRead;
    expect(seen).toEqual(['error second']);
    const third = later('third');
    const thirdRead = reads.read(
      () => third.answer,
      (answer: string) => seen.push(answer),
    );
    reads.forget();
    third.settle();
    await thirdRead;
    expect(seen).toEqual(['error second']);
    const last = reads.ask();
    expect(last()).toBe(true);
    reads.ask();
    expect(last()).toBe(false);
  });
});
