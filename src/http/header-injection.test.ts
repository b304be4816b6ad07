import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';
import { type TestSmtpServer, kindOf, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { OWN_HEADERS, headerNames, longestLine } from '../../test/support/raw-mail.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { until } from '../../test/support/until.js';

const TENANT = 'inject';
const ACTIONS = '/odata/Settings/UiPath.Server.Configuration.OData';
// What ends a header line for SMTP, for MIME parsers, or for some mail clients.
// Controls that end no line but are no text either: ESC (a terminal's escape), BEL, VT, FF, DEL, C1's CSI.
const CONTROLS = ['\u001b', '\u0007', '\u000b', '\u000c', '\u007f', '\u009b', '\u0001'];
const BREAKERS = ['\r\nBcc: eve@evil.example', '\nBcc: eve@evil.example', '\rBcc: eve@evil.example', '\0', '\u2028', '\u2029', '\u0085'];
// Accepted as text (none breaks a line), yet each would add a recipient or header if glued into one unescaped.
const DISPLAY_NAME = 'Acme %0d%0aBcc: eve@evil.example "quoted" <spoof@evil.example>, é';
const USER_NAME = 'Mallory %0D%0ABcc: eve@evil.example, "Boss" <boss@evil.example>';
const FROM_NAME = 'Alerts" <spoof@evil.example>, Bcc: eve@evil.example';
const LONG_NAME = 'x'.repeat(200);
const LONG_EVENT = `Custom.${'A'.repeat(120)}`;
describeEachDialect('header-bound fields: line breaks refused at the API, the rest never adds a header or recipient', (dialect) => {
  let t: TestApp;
  let server: TestSmtpServer;
  let userId: string;
  let robot: string;

  beforeAll(async () => {
    server = await startTestSmtpServer();
    t = await startTestApp(dialect, { TOCSIN_PUBLIC_URL: 'https://tocsin.example.com' });
    ({ userId } = await t.tenantWithUser(TENANT));
    robot = (await t.tenantWithUser(TENANT, ['Robot'])).token;
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  it('refuses CR, LF, NUL, U+2028, U+2029 and U+0085 in every field that reaches a header, naming it', async () => {
    const base = `/api/v1/tenants/${TENANT}`;
    const smtp = { host: '127.0.0.1', port: server.port, security: 'none', fromAddress: 'alerts@inject.example.com' };
    const group = (await t.call('POST', `${base}/groups`, { name: 'Ops', email: 'ops@inject.example.com', roles: ['Alerts Viewer'] })).json();
    // The field each refusal must name (alternatives separated by |).
    const cases: [method: 'POST' | 'PATCH' | 'PUT', url: string, body: (bad: string) => unknown, fields: string][] = [
      ['POST', '/api/v1/tenants', (bad) => ({ name: `evil${bad}` }), 'name'],
      ['PATCH', base, (bad) => ({ displayName: `Acme${bad}` }), 'displayName'],
      ['POST', `${base}/users`, (bad) => ({ email: 'new@inject.example.com', name: `New${bad}`, roles: [] }), 'name'],
      ['POST', `${base}/users`, (bad) => ({ email: `new${bad}@inject.example.com`, name: 'New', roles: [] }), 'email'],
      ['PATCH', `${base}/users/${userId}`, (bad) => ({ name: `Me${bad}` }), 'name'],
      ['PATCH', `${base}/users/${userId}`, (bad) => ({ email: `me${bad}@inject.example.com` }), 'email'],
      ['POST', `${base}/groups`, (bad) => ({ name: `Ops${bad}`, email: 'ops2@inject.example.com' }), 'name'],
      ['PATCH', `${base}/groups/${group.id}`, (bad) => ({ email: `ops${bad}@inject.example.com` }), 'email'],
      ['PUT', `${base}/settings/mail`, (bad) => ({ custom: { ...smtp, fromDisplayName: `Alerts${bad}` } }), 'custom.fromDisplayName'],
      ['PUT', `${base}/settings/mail`, (bad) => ({ custom: { ...smtp, fromAddress: `alerts${bad}@inject.example.com` } }), 'custom.fromAddress'],
      ['PUT', `${base}/settings/mail`, (bad) => ({ custom: { ...smtp, domain: `CORP${bad}` } }), 'custom.domain'],
      ['PUT', `${base}/settings/mail`, (bad) => ({ custom: { ...smtp, username: `robot${bad}` } }), 'custom.username'],
      ['PUT', `${base}/settings/mail`, (bad) => ({ custom: { ...smtp, password: `pw${bad}` } }), 'custom.password'],
      ['PUT', '/api/v1/system/mail-settings', (bad) => ({ ...smtp, fromDisplayName: `Tocsin${bad}` }), 'fromDisplayName'],
      ['POST', `${base}/settings/mail/test`, (bad) => ({ sendTo: `qa${bad}@example.com` }), 'sendTo'],
      [
        'POST',
        `${base}/settings/mail/test`,
        (bad) => ({ sendTo: 'qa@example.com', settings: { ...smtp, fromDisplayName: `A${bad}` } }),
        'settings.fromDisplayName',
      ],
      [
        'POST',
        `${ACTIONS}.UpdateBulk`,
        (bad) => ({ settings: [{ Name: 'Abp.Net.Mail.DefaultFromDisplayName', Value: `A${bad}` }] }),
        // NUL is refused anywhere in a body, by its JSON path (malformed-input.test.ts).
        'Abp.Net.Mail.DefaultFromDisplayName|settings.0.Value',
      ],
      [
        'POST',
        `${ACTIONS}.VerifySmtpSetting`,
        (bad) => ({ sendTo: 'qa@example.com', smtpSettingModel: { Host: '127.0.0.1', Port: server.port, DefaultFromAddress: `a${bad}@inject.example.com` } }),
        'smtpSettingModel.DefaultFromAddress',
      ],
      ['POST', `${base}/alerts`, (bad) => ({ severity: 'Fatal', component: 'Robots', event: `Custom.Event${bad}`, message: 'm' }), 'event'],
      ['POST', `${base}/sources`, (bad) => ({ name: `Source${bad}`, kind: 'webhook' }), 'name'],
    ];
    const accepted: string[] = [];
    for (const [method, url, body, fields] of cases) {
      for (const bad of BREAKERS) {
        const res = await t.tocsin.app.inject({
          method,
          url,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-tocsin-tenant': TENANT },
          payload: body(bad) as object,
        });
        const paths = res.statusCode === 400 ? (res.json().errors ?? []).map((e: { path: string }) => e.path) : [];
        if (!paths.some((p: string) => fields.split('|').some((f) => p === f || p.endsWith(`.${f}`))))
          accepted.push(`${method} ${url} ${fields} ${JSON.stringify(bad)}: ${res.statusCode} ${res.body.slice(0, 160)}`);
      }
    }
    expect(accepted).toEqual([]);
  });

  it('refuses ESC, DEL, VT, FF, BEL and C1 controls in every name that reaches a header, naming it, and takes a tab', async () => {
    const base = `/api/v1/tenants/${TENANT}`;
    // The test sends a tab takes go to a server of their own, not among the emails the other tests count.
    const sink = await startTestSmtpServer();
    onTestFinished(() => sink.close());
    const smtp = { host: '127.0.0.1', port: sink.port, security: 'none', fromAddress: 'alerts@inject.example.com' };
    const group = (await t.call('POST', `${base}/groups`, { name: 'Names', email: 'names@inject.example.com' })).json();
    const role = (await t.call('POST', `${base}/roles`, { name: 'Namers', permissions: ['Alerts.View'] })).json();
    const source = (await t.call('POST', `${base}/sources`, { name: 'Named', kind: 'webhook' })).json();
    // The name each refusal must name (alternatives separated by |), and the body carrying the text.
    const cases: [method: 'POST' | 'PATCH' | 'PUT', url: string, body: (text: string) => unknown, fields: string][] = [
      ['POST', '/api/v1/tenants', (text) => ({ name: 'named-tenant', displayName: text }), 'displayName'],
      ['PATCH', base, (text) => ({ displayName: text }), 'displayName'],
      ['POST', `${base}/users`, (text) => ({ email: 'named@inject.example.com', name: text, roles: [] }), 'name'],
      ['PATCH', `${base}/users/${userId}`, (text) => ({ name: text }), 'name'],
      ['POST', `${base}/users/${userId}/tokens`, (text) => ({ name: text }), 'name'],
      ['POST', `${base}/groups`, (text) => ({ name: text }), 'name'],
      ['PATCH', `${base}/groups/${group.id}`, (text) => ({ name: text }), 'name'],
      ['POST', `${base}/roles`, (text) => ({ name: text, permissions: [] }), 'name'],
      ['PATCH', `${base}/roles/${role.id}`, (text) => ({ name: text }), 'name'],
      ['POST', `${base}/sources`, (text) => ({ name: text, kind: 'webhook' }), 'name'],
      ['PATCH', `${base}/sources/${source.id}`, (text) => ({ name: text }), 'name'],
      ['PUT', `${base}/settings/mail`, (text) => ({ custom: { ...smtp, fromDisplayName: text } }), 'custom.fromDisplayName'],
      ['PUT', '/api/v1/system/mail-settings', (text) => ({ ...smtp, fromDisplayName: text }), 'fromDisplayName'],
      [
        'POST',
        `${base}/settings/mail/test`,
        (text) => ({ sendTo: 'qa@example.com', settings: { ...smtp, fromDisplayName: text } }),
        'settings.fromDisplayName',
      ],
      [
        'POST',
        `${ACTIONS}.UpdateBulk`,
        (text) => ({ settings: [{ Name: 'Abp.Net.Mail.DefaultFromDisplayName', Value: text }] }),
        'Abp.Net.Mail.DefaultFromDisplayName',
      ],
      [
        'POST',
        `${ACTIONS}.VerifySmtpSetting`,
        (text) => ({
          sendTo: 'qa@example.com',
          smtpSettingModel: { Host: '127.0.0.1', Port: sink.port, DefaultFromAddress: 'a@inject.example.com', DefaultFromDisplayName: text },
        }),
        'smtpSettingModel.DefaultFromDisplayName',
      ],
    ];
    const send = (method: string, url: string, body: unknown) =>
      t.tocsin.app.inject({
        method: method as 'POST',
        url,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-tocsin-tenant': TENANT },
        payload: body as object,
      });
    const wrong: string[] = [];
    for (const [i, [method, url, body, fields]] of cases.entries()) {
      for (const control of CONTROLS) {
        const res = await send(method, url, body(`Acme${control}[2J Alerts`));
        const errors: { path: string; message: string }[] = res.statusCode === 400 ? (res.json().errors ?? []) : [];
        const named = errors.find((e) => fields.split('|').some((f) => e.path === f || e.path.endsWith(`.${f}`)));
        if (!named?.message.includes('control characters'))
          wrong.push(`${method} ${url} ${fields} ${JSON.stringify(control)}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      }
      // A tab is white space, shown as a space: taken, as before (numbered: groups, roles and sources have names of their own).
      const tab = await send(method, url, body(`Acme\tAlerts ${i}`));
      if (tab.statusCode >= 300 || tab.statusCode < 200) wrong.push(`${method} ${url} ${fields} a tab: ${tab.statusCode} ${tab.body.slice(0, 200)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('mails text that looks like headers or recipients as text: one RCPT per email, only its own headers, no line over 998 octets', async () => {
    const base = `/api/v1/tenants/${TENANT}`;
    expect((await t.call('PATCH', base, { displayName: DISPLAY_NAME })).statusCode).toBe(200);
    const mail = await t.call('PUT', `${base}/settings/mail`, {
      alertsEmailEnabled: true,
      useCustom: true,
      custom: { host: '127.0.0.1', port: server.port, security: 'none', fromAddress: 'alerts@inject.example.com', fromDisplayName: FROM_NAME },
    });
    expect(mail.statusCode, mail.body).toBe(200);
    const people = [
      { email: 'mallory@inject.example.com', name: USER_NAME },
      { email: 'long@inject.example.com', name: LONG_NAME },
    ];
    for (const p of people) {
      const user = await t.call('POST', `${base}/users`, { ...p, roles: ['Alerts Viewer'] });
      expect(user.statusCode, user.body).toBe(201);
      await t.call('PUT', `${base}/users/${user.json().id}/alert-preferences`, { email: { fatalImmediately: true } });
    }
    const test = await t.call('POST', `${base}/settings/mail/test`, { sendTo: 'mallory@inject.example.com' });
    expect(test.json()).toMatchObject({ ok: true });
    await t.call('PUT', `${base}/settings/mail`, { custom: { fromDisplayName: LONG_NAME } });
    const posted = await t.call(
      'POST',
      `${base}/alerts`,
      { severity: 'Fatal', component: 'Robots', event: LONG_EVENT, message: `Line 1\r\nBcc: eve@evil.example\r\n\r\nbody` },
      robot,
    );
    expect(posted.statusCode, posted.body).toBe(202);
    // The test email and the two Fatal ones. The report scheduler runs on the real clock, so a
    // 10-minute window ending meanwhile also mails the tenant's readers their summaries of the alert.
    const ours = () => server.messages.filter((m) => ['test', 'immediate'].includes(kindOf(m.raw) ?? ''));
    await until(() => ours().length >= 3, 'the test email and the two Fatal emails');
    const received = ours();

    const expected = new Set(people.map((p) => p.email));
    for (const message of received) {
      expect(message.envelope.to).toHaveLength(1);
      expect(expected.has(message.envelope.to[0]!), message.envelope.to[0]).toBe(true);
      expect(headerNames(message.raw).filter((name) => !OWN_HEADERS.has(name))).toEqual([]);
      expect(longestLine(message.raw)).toBeLessThanOrEqual(998);
      const parsed = await simpleParser(message.raw);
      expect([parsed.cc, parsed.bcc]).toEqual([undefined, undefined]);
      expect(parsed.from?.value.map((v) => v.address)).toEqual(['alerts@inject.example.com']);
      expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value.map((v) => v.address) : []).toEqual(message.envelope.to);
    }
    // The hostile names arrive whole, as the text they are.
    const test0 = await simpleParser(received.find((m) => m.messageId === test.json().messageId)!.raw);
    expect(test0.from?.value.map((v) => v.name)).toEqual([FROM_NAME]);
    const fatal = await Promise.all(received.filter((m) => m.messageId !== test.json().messageId).map((m) => simpleParser(m.raw)));
    expect(fatal).toHaveLength(2);
    for (const parsed of fatal) {
      expect(parsed.subject).toContain('Bcc: eve@evil.example');
      expect(parsed.subject).toContain('%0d%0a');
      expect(parsed.from?.value.map((v) => v.name)).toEqual([LONG_NAME]);
    }
    const names = fatal.map((parsed) => (parsed.to && !Array.isArray(parsed.to) ? parsed.to.value[0]!.name : undefined)).sort();
    expect(names).toEqual([USER_NAME, LONG_NAME].sort());
  });
  it("mails names stored before the API refused controls, and a robot's controls, with no control character in any header", async () => {
    const tenant = 'inject-controls';
    const base = `/api/v1/tenants/${tenant}`;
    const { tenantId } = await t.tenantWithUser(tenant);
    const reader = await t.call('POST', `${base}/users`, { email: 'bob@inject.example.com', name: 'Bob', roles: ['Alerts Viewer'] });
    expect(reader.statusCode, reader.body).toBe(201);
    await t.call('PUT', `${base}/users/${reader.json().id}/alert-preferences`, { email: { fatalImmediately: true } });
    const mail = await t.call('PUT', `${base}/settings/mail`, {
      alertsEmailEnabled: true,
      useCustom: true,
      custom: { host: '127.0.0.1', port: server.port, security: 'none', fromAddress: 'alerts@inject.example.com', fromDisplayName: 'Alerts' },
    });
    expect(mail.statusCode, mail.body).toBe(200);
    // Names as an installation kept them from before the refusal: written into the rows as such.
    const db = t.tocsin.deps.storage.db;
    await db.updateTable('tenants').set({ display_name: 'Acme\u001b[2J\u007f Spa\u202e' }).where('id', '=', tenantId).execute();
    await db.updateTable('users').set({ name: 'Bob\u001b[31m\u0007 Lee\u000b' }).where('id', '=', reader.json().id).execute();
    const settings = await db.selectFrom('tenant_mail_settings').select('custom_smtp').where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
    const custom = { ...JSON.parse(settings.custom_smtp!), fromDisplayName: 'Alerts\u009b\u000c Desk' };
    await db
      .updateTable('tenant_mail_settings')
      .set({ custom_smtp: JSON.stringify(custom) })
      .where('tenant_id', '=', tenantId)
      .execute();
    // A robot's names are taken as sent (a refused alert is lost): its controls are the email's to show.
    const robot = (await t.tenantWithUser(tenant, ['Robot'])).token;
    const posted = await t.call(
      'POST',
      `${base}/alerts`,
      { severity: 'Fatal', component: 'Robots', message: 'down\u001b[0m', source: { process: 'P\u0007\u000b1', robot: 'R\u001b[5m' } },
      robot,
    );
    expect(posted.statusCode, posted.body).toBe(202);
    const ours = () => server.messages.filter((m) => kindOf(m.raw) === 'immediate' && m.envelope.to.includes('bob@inject.example.com'));
    await until(() => ours().length >= 1, "Bob's Fatal email");
    const raw = ours()[0]!.raw;
    // On the wire: no control in any header line but the CRLF ending it (each value encoded when it needs to be).
    const head = raw.split('\r\n\r\n')[0]!.split('\r\n');
    expect(head.filter((line) => /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/.test(line))).toEqual([]);
    const parsed = await simpleParser(raw);
    const shown = [parsed.subject, parsed.from?.value[0]?.name, parsed.to && !Array.isArray(parsed.to) ? parsed.to.value[0]?.name : undefined];
    for (const value of shown) expect(value).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    // Each control shows as its symbol, as the body shows it (a vertical tab, white space, as a space in the subject).
    expect(parsed.subject).toContain('Acme\u241b[2J\u2421 Spa');
    expect(parsed.subject).toContain('R\u241b[5m');
    expect(shown.slice(1)).toEqual(['Alerts\ufffd\u240c Desk', 'Bob\u241b[31m\u2407 Lee\u240b']);
  });
});
