import { describe, expect, it } from 'vitest';
import { MergeError, isHostName, mergeSmtp, securityFromEnableSsl, smtpFromUrl, smtpSettingsInput } from './smtp-settings.js';

const NO_SECRETS = { password: null, accessToken: null };

describe('SMTP settings', () => {
  it('accepts host names, IDNs and IP addresses, and nothing else', () => {
    for (const ok of ['smtp.gmail.com', 'mail', 'smtp.bücher.example', '192.0.2.1', '2001:db8::1', 'smtp.example.com.']) expect(isHostName(ok), ok).toBe(true);
    for (const bad of ['', 'bad host', '-x.example.com', 'a..b', 'smtp.example.com:25', `${'a'.repeat(64)}.com`, 'x\r\ny'])
      expect(isHostName(bad), bad).toBe(false);
  });

  it('refuses a host with a slash, backslash, ?, # or % escape, which no host name has', () => {
    // A URL parser reads a host up to any of these (and decodes %): each was saved as it was written
    // (`smtp.gmail.com/` a pasted link's), then failed every send at its DNS lookup.
    for (const bad of ['smtp.gmail.com/', 'smtp.example.com/x', 'smtp.example.com?x', '127.0.0.1#x', 'a\\b.example.com', 'local%68ost', 'a%2eb.com'])
      expect(isHostName(bad), bad).toBe(false);
    const problem = (value: string) => smtpSettingsInput.safeParse({ host: value }).error?.issues.map((issue) => [issue.path.join('.'), issue.message]);
    expect(problem('smtp.example.com/x')).toEqual([['host', 'must be a host name or an IP address, such as smtp.example.com']]);
  });

  it('says a host written with a port or a scheme must be given alone, the port in its own field', () => {
    const problem = (value: string) => smtpSettingsInput.safeParse({ host: value }).error?.issues.map((issue) => [issue.path.join('.'), issue.message]);
    const alone = 'must be a host name or an IP address alone, without a scheme or a port, such as smtp.example.com: the port has a field of its own';
    for (const withPort of [
      'smtp.gmail.com:587',
      'smtp://smtp.gmail.com',
      'smtps://smtp.gmail.com:465',
      '[2001:db8::25]:587',
      '192.0.2.1:25',
      'SMTP://mail.example.com/',
    ])
      expect(problem(withPort), withPort).toEqual([['host', alone]]);
    // Anything else wrong keeps the general words.
    for (const bad of ['bad host', 'a..b', '[smtp.example.com]'])
      expect(problem(bad), bad).toEqual([['host', 'must be a host name or an IP address, such as smtp.example.com']]);
    // An IPv6 address ends in a group that may look like a port: it is the address, taken as it is.
    expect(smtpSettingsInput.safeParse({ host: '2001:db8::25' }).data?.host).toBe('2001:db8::25');
  });

  it('takes an IP address out of the brackets URLs and SMTP address literals write around it', () => {
    const host = (value: string) => smtpSettingsInput.safeParse({ host: value }).data?.host;
    expect(['[::1]', '[2001:db8::1]', ' [IPv6:2001:db8::1] ', '[192.0.2.1]'].map(host)).toEqual(['::1', '2001:db8::1', '2001:db8::1', '192.0.2.1']);
    for (const bad of ['[smtp.example.com]', '[::1', '::1]', '[]', '[[::1]]', '[::1]:25']) expect(host(bad), bad).toBeUndefined();
  });

  it('maps Enable SSL to implicit TLS on 465 and STARTTLS elsewhere', () => {
    expect([securityFromEnableSsl(true, 465), securityFromEnableSsl(true, 587), securityFromEnableSsl(false, 465)]).toEqual(['tls', 'starttls', 'none']);
  });

  it('merges an input over stored values: left out keeps, null clears, secrets likewise', () => {
    const first = mergeSmtp(null, NO_SECRETS, {
      host: 'smtp.example.com',
      port: 587,
      fromAddress: 'a@example.com',
      username: 'u',
      password: 'p',
      domain: 'CORP',
    });
    expect(first.smtp).toMatchObject({ security: 'starttls', authMethod: 'auto', timeoutMs: 30_000, domain: 'CORP' });
    const second = mergeSmtp(first.smtp, first.secrets, { domain: null, port: 25, enableSsl: false, allowPlaintextAuth: true });
    expect(second.smtp).toMatchObject({ host: 'smtp.example.com', port: 25, security: 'none', domain: null, username: 'u', allowPlaintextAuth: true });
    expect(second.secrets.password).toBe('p');
    expect(mergeSmtp(second.smtp, second.secrets, { password: null }).secrets.password).toBeNull();
  });

  it('clears the display name when it is sent empty or blank, as an empty domain or user name is cleared', () => {
    const stored = mergeSmtp(null, NO_SECRETS, { host: 'smtp.example.com', port: 587, fromAddress: 'a@example.com', fromDisplayName: 'Ops' }).smtp;
    for (const empty of ['', '   ']) {
      const input = smtpSettingsInput.parse({ fromDisplayName: empty, domain: empty, username: empty });
      expect(mergeSmtp(stored, NO_SECRETS, input).smtp, JSON.stringify(empty)).toMatchObject({ fromDisplayName: null, domain: null, username: null });
    }
    expect(smtpSettingsInput.safeParse({ fromDisplayName: 'x'.repeat(201) }).success).toBe(false);
  });

  it('names what is missing, including the credentials an AUTH method needs', () => {
    const missing = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as MergeError).path;
      }
      return undefined;
    };
    expect(missing(() => mergeSmtp(null, NO_SECRETS, { host: 'h.example.com' }))).toBe('port');
    expect(missing(() => mergeSmtp(null, NO_SECRETS, { host: 'h.example.com', port: 25, fromAddress: 'a@b.example', authMethod: 'plain' }))).toBe('username');
    expect(
      missing(() => mergeSmtp(null, NO_SECRETS, { host: 'h.example.com', port: 25, fromAddress: 'a@b.example', authMethod: 'xoauth2', username: 'u' })),
    ).toBe('accessToken');
  });

  it('refuses credentials over security none, naming each one it would send, unless plaintext AUTH is allowed explicitly', () => {
    const refused = (stored: Parameters<typeof mergeSmtp>[0], secrets: Parameters<typeof mergeSmtp>[1], input: Parameters<typeof mergeSmtp>[2]) => {
      try {
        mergeSmtp(stored, secrets, input);
      } catch (err) {
        return err instanceof MergeError ? err.fields.map((field) => `${field.path}: ${field.message}`).join('\n') : String(err);
      }
      return undefined;
    };
    const base = { host: 'relay.example.com', port: 25, security: 'none' as const, fromAddress: 'a@example.com' };
    expect(refused(null, NO_SECRETS, { ...base, username: 'robot', password: 'p' })).toMatch(
      /^username: would be sent without encryption.*allowPlaintextAuth.*\npassword: would be sent without encryption.*allowPlaintextAuth.*$/,
    );
    expect(refused(null, NO_SECRETS, { ...base, password: 'p' })).toMatch(/^password: /);
    expect(refused(null, NO_SECRETS, { ...base, authMethod: 'none' })).toBeUndefined();
    // No AUTH at all: a user name or password kept in the form is never sent, so nothing crosses in clear.
    expect(refused(null, NO_SECRETS, { ...base, username: 'robot', password: 'p', authMethod: 'none' })).toBeUndefined();
    const allowed = mergeSmtp(null, NO_SECRETS, { ...base, username: 'robot', password: 'p', allowPlaintextAuth: true });
    expect(allowed.smtp).toMatchObject({ security: 'none', username: 'robot', allowPlaintextAuth: true });
    // Switching TLS off later, or withdrawing the permission, is refused too; TLS needs no permission.
    const tls = mergeSmtp(null, NO_SECRETS, { ...base, security: 'starttls', username: 'robot', password: 'p' });
    expect(tls.smtp.allowPlaintextAuth).toBe(false);
    expect(refused(tls.smtp, tls.secrets, { enableSsl: false })).toMatch(/^username: /);
    expect(refused(allowed.smtp, allowed.secrets, { allowPlaintextAuth: false })).toMatch(/^username: /);
  });

  it('refuses a TOCSIN_SMTP_URL with credentials and no TLS unless it says allowPlaintextAuth', () => {
    expect(() => smtpFromUrl('smtp://robot:secret@relay.example.com:25')).toThrow(/no TLS.*allowPlaintextAuth=true/);
    expect(() => smtpFromUrl('smtp://robot@relay.example.com:25')).toThrow(/no TLS/);
    expect(smtpFromUrl('smtp://robot:secret@relay.example.com:25?allowPlaintextAuth=true').smtp).toMatchObject({ security: 'none', allowPlaintextAuth: true });
    expect(smtpFromUrl('smtp://robot:secret@relay.example.com:587?starttls=true').smtp).toMatchObject({ security: 'starttls', allowPlaintextAuth: false });
  });

  it('reads TOCSIN_SMTP_URL: scheme, credentials, from and STARTTLS', () => {
    expect(smtpFromUrl('smtps://user:p%40ss@mail.example.com:465?from=alerts@example.com')).toEqual({
      smtp: {
        host: 'mail.example.com',
        port: 465,
        security: 'tls',
        domain: null,
        username: 'user',
        authMethod: 'auto',
        fromAddress: 'alerts@example.com',
        fromDisplayName: 'Tocsin',
        timeoutMs: 30_000,
        allowPlaintextAuth: false,
      },
      secrets: { password: 'p@ss', accessToken: null },
    });
    expect(smtpFromUrl('smtp://mail.example.com:587?starttls=true').smtp).toMatchObject({
      port: 587,
      security: 'starttls',
      fromAddress: 'tocsin@mail.example.com',
    });
    expect(smtpFromUrl('smtp://127.0.0.1:2525?from=tocsin@localhost').smtp).toMatchObject({ security: 'none', authMethod: 'auto' });
    // Without ?from=, a user name that is an address is the From, as Microsoft 365 and any server checking the sender against the
    // sign-in take only that one (every email went out From tocsin@smtp.office365.com, refused 554 SendAsDenied); another keeps tocsin@host.
    expect(smtpFromUrl('smtp://alerts%40example.com:secret@smtp.office365.com:587?starttls=true').smtp.fromAddress).toBe('alerts@example.com');
    expect(smtpFromUrl('smtps://AKIAEXAMPLE:secret@email-smtp.eu-west-1.amazonaws.com').smtp.fromAddress).toBe('tocsin@email-smtp.eu-west-1.amazonaws.com');
    expect(smtpFromUrl('smtps://alerts%40example.com:secret@[::1]:465?from=ops@example.com').smtp.fromAddress).toBe('ops@example.com');
    expect(() => smtpFromUrl('http://mail.example.com')).toThrow(/smtp/);
    expect(() => smtpFromUrl('smtp://mail.example.com?timeoutMs=soon')).toThrow(/timeoutMs/);
  });

  it("refuses a TOCSIN_SMTP_URL port or timeoutMs outside what a tenant's settings take", () => {
    // ?timeoutMs=99999999999 started with Node's TimeoutOverflowWarning, and every send then failed at
    // once, "timed out after 100000000 s" (the timers ran after 1 ms); port 0 started and never connected.
    expect(() => smtpFromUrl('smtp://mail.example.com?timeoutMs=99999999999')).toThrow(/timeoutMs must be .* at most 600000/);
    expect(() => smtpFromUrl('smtp://mail.example.com?timeoutMs=600001')).toThrow(/timeoutMs/);
    expect(smtpFromUrl('smtp://mail.example.com?timeoutMs=600000').smtp.timeoutMs).toBe(600_000);
    // In decimal digits, as the variables' whole numbers: 0x2710 and 1e4 were taken as 10 seconds.
    for (const written of ['0x2710', '1e4', '+10000', '10000.0']) {
      expect(() => smtpFromUrl(`smtp://mail.example.com?timeoutMs=${written}`), written).toThrow(/timeoutMs must be a whole number/);
    }
    expect(() => smtpFromUrl('smtp://mail.example.com:0')).toThrow(/the port must be from 1 to 65535/);
    expect(smtpFromUrl('smtp://mail.example.com:1').smtp.port).toBe(1);
  });

  it('refuses smtps:// with ?security=none, which sent every email in clear while the scheme and the banner said TLS', () => {
    expect(() => smtpFromUrl('smtps://mail.example.com?security=none')).toThrow(
      'smtps:// is implicit TLS, which ?security=none would turn off: write smtp:// for a server without TLS',
    );
    expect(smtpFromUrl('smtps://mail.example.com?security=tls').smtp).toMatchObject({ port: 465, security: 'tls' });
    expect(smtpFromUrl('smtp://mail.example.com?security=none').smtp).toMatchObject({ port: 25, security: 'none' });
  });

  it("refuses a TOCSIN_SMTP_URL whose domain is not one line, as a tenant's domain must be", () => {
    // The SMTP Domain, joined with the user name when signing in (DOMAIN\user), is one line as every setting.
    expect(() => smtpFromUrl('smtp://relay.example.com?domain=a%0D%0AMAIL%20FROM:%3Cx@y%3E')).toThrow(/domain must be one line/);
    expect(() => smtpFromUrl('smtp://relay.example.com?domain=a%00b')).toThrow(/domain must be one line/);
    expect(smtpFromUrl('smtp://relay.example.com?domain=tocsin.example.com').smtp).toMatchObject({ domain: 'tocsin.example.com' });
  });
});

describe('smtpSettingsInput port', () => {
  it('says what a port must be, whatever is wrong with it (text, empty, out of range, a fraction)', () => {
    for (const port of ['abc', '', 0, 70000, 25.5, null]) {
      const result = smtpSettingsInput.safeParse({ port });
      expect(result.success, String(port)).toBe(false);
      expect(result.error!.issues.map((issue) => issue.message)).toEqual(['must be a port number from 1 to 65535, such as 465 or 587']);
    }
    expect(smtpSettingsInput.parse({ port: 587 })).toEqual({ port: 587 });
  });

  it('takes every port from 1 to 65535, the edges included', () => {
    // A relay on a high forwarded port (65535) or port 1 is rare but real; 0 and 65536 name no port.
    for (const port of [1, 65535]) expect(smtpSettingsInput.parse({ port }), String(port)).toEqual({ port });
    expect(smtpSettingsInput.safeParse({ port: 65536 }).success).toBe(false);
    expect(() => smtpFromUrl('smtp://mail.example.com:65535')).not.toThrow();
  });
});

describe('smtpSettingsInput timeoutMs', () => {
  it('says the range in words that also fit the console, which asks for seconds', () => {
    for (const timeoutMs of ['abc', 500, 600_001, 1500.5]) {
      const result = smtpSettingsInput.safeParse({ timeoutMs });
      expect(result.success, String(timeoutMs)).toBe(false);
      expect(result.error!.issues.map((issue) => issue.message)).toEqual(['must be from 1,000 to 600,000 milliseconds (1 second to 10 minutes)']);
    }
    expect(smtpSettingsInput.parse({ timeoutMs: null })).toEqual({ timeoutMs: null });
  });

  it('takes 1 second and 10 minutes, the edges it names, and nothing a millisecond outside them', () => {
    for (const timeoutMs of [1_000, 600_000]) expect(smtpSettingsInput.parse({ timeoutMs }), String(timeoutMs)).toEqual({ timeoutMs });
    for (const timeoutMs of [999, 600_001]) expect(smtpSettingsInput.safeParse({ timeoutMs }).success, String(timeoutMs)).toBe(false);
  });
});
