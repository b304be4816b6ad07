import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { bulkUpdate, settingDtos, smtpInputFromModel } from './orchestrator-settings.js';

const PASSWORD = 'orch-Secret-0451';
const ACTIONS = '/odata/Settings/UiPath.Server.Configuration.OData';

describe('Orchestrator setting keys', () => {
  it('lists every key as a string, masking the password', () => {
    const dtos = settingDtos(
      {
        alertsEmailEnabled: true,
        useCustom: true,
        dailyReportTime: '10:00',
        dailyReportTimeChangedAt: 0,
        sendEmptyDailyReport: false,
        fallbackToDefault: false,
        custom: {
          host: 'smtp.example.com',
          port: 587,
          security: 'starttls',
          domain: 'CORP',
          username: 'robot',
          authMethod: 'auto',
          fromAddress: 'a@example.com',
          fromDisplayName: 'Orchestrator Administrator',
          timeoutMs: 30_000,
          allowPlaintextAuth: false,
        },
        passwordSet: true,
        accessTokenSet: false,
      },
      'Europe/Paris',
    );
    expect(Object.fromEntries(dtos.map((d) => [d.Name, d.Value]))).toEqual({
      'Alerts.Email.Enabled': 'true',
      'Abp.Net.Mail.Smtp.Host': 'smtp.example.com',
      'Abp.Net.Mail.Smtp.Port': '587',
      'Abp.Net.Mail.Smtp.UserName': 'robot',
      'Abp.Net.Mail.Smtp.Password': '********',
      'Abp.Net.Mail.Smtp.Domain': 'CORP',
      'Abp.Net.Mail.Smtp.EnableSsl': 'true',
      'Abp.Net.Mail.Smtp.UseDefaultCredentials': 'false',
      'Abp.Net.Mail.DefaultFromAddress': 'a@example.com',
      'Abp.Net.Mail.DefaultFromDisplayName': 'Orchestrator Administrator',
      'Abp.Timing.TimeZone': 'Europe/Paris',
    });
    expect(dtos.every((d) => d.Id === d.Name && d.Scope === 'Tenant')).toBe(true);
  });

  it("keeps the stored password for Orchestrator's own mask ('••••••••••••', as its GET /odata/Settings shows one) as for Tocsin's", () => {
    // Settings copied from an Orchestrator (its GET, or the Excel export of one) carry its bullets:
    // they were saved as the new SMTP password, and sign-in failed from then on.
    const kept = bulkUpdate([{ name: 'Abp.Net.Mail.Smtp.Password', value: '********' }]);
    expect(kept.mail.custom).not.toHaveProperty('password');
    for (const value of ['••••••••••••', '••••••••', '************']) {
      expect(bulkUpdate([{ name: 'Abp.Net.Mail.Smtp.Password', value }]), value).toEqual(kept);
    }
    expect(bulkUpdate([{ name: 'Abp.Net.Mail.Smtp.Password', value: 'p•ssword' }]).mail).toEqual({ useCustom: true, custom: { password: 'p•ssword' } });
  });

  it('maps an UpdateBulk onto the mail settings and names a bad value by its key', () => {
    const ok = bulkUpdate([
      { name: 'Abp.Net.Mail.Smtp.Port', value: '465' },
      { name: 'Abp.Net.Mail.Smtp.EnableSsl', value: 'True' },
      { name: 'Abp.Net.Mail.Smtp.Password', value: '********' },
      { name: 'Alerts.Email.Enabled', value: 'false' },
      { name: 'Abp.Localization.DefaultLanguageName', value: 'fr' },
    ]);
    expect(ok).toEqual({ mail: { alertsEmailEnabled: false, useCustom: true, custom: { port: 465, enableSsl: true } }, errors: [] });
    const bad = bulkUpdate([
      { name: 'Abp.Net.Mail.Smtp.Port', value: 'abc' },
      { name: 'Alerts.Email.Enabled', value: 'yes' },
    ]);
    expect(bad.errors.map((e) => e.path).sort()).toEqual(['Abp.Net.Mail.Smtp.Port', 'Alerts.Email.Enabled']);
    // A flag that is no boolean is named beside the other bad values, not alone: they were named only once it was fixed.
    const flagged = bulkUpdate([
      { name: 'Abp.Net.Mail.Smtp.Port', value: 'abc' },
      { name: 'Abp.Net.Mail.Smtp.EnableSsl', value: 'yes' },
      { name: 'Abp.Net.Mail.DefaultFromAddress', value: 'not an address' },
    ]);
    expect([...new Set(flagged.errors.map((e) => e.path))].sort()).toEqual([
      'Abp.Net.Mail.DefaultFromAddress',
      'Abp.Net.Mail.Smtp.EnableSsl',
      'Abp.Net.Mail.Smtp.Port',
    ]);
    // Names every object has are names Tocsin does not keep, ignored as the others.
    const named = bulkUpdate(['constructor', 'toString', '__proto__'].map((name) => ({ name, value: 'x' })));
    expect(named).toEqual({ mail: {}, errors: [] });
  });

  it('reads an empty UserName as no sign-in: the stored password goes with it, and UseDefaultCredentials still means no AUTH', () => {
    const name = (field: string) => field;
    expect(smtpInputFromModel({ host: 'smtp.example.com', username: '', password: '', enablessl: false }, name)).toEqual({
      input: { host: 'smtp.example.com', username: null, password: null, accessToken: null, authMethod: 'auto', enableSsl: false },
      errors: [],
    });
    expect(smtpInputFromModel({ username: '', password: 'typed', usedefaultcredentials: true }, name).input).toMatchObject({
      username: null,
      password: 'typed',
      authMethod: 'none',
    });
    // With a user name, an empty password still keeps the stored one.
    expect(smtpInputFromModel({ username: 'robot', password: '' }, name).input).toEqual({ username: 'robot' });
  });
});

describeEachDialect('Orchestrator settings API', (dialect) => {
  let t: TestApp;
  let server: TestSmtpServer;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp(dialect);
    server = await startTestSmtpServer({ auth: { username: 'robot', password: PASSWORD } });
    token = (await t.tenantWithUser('orch')).token;
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  it('takes back the list GET /odata/Settings shows unchanged: 200, nothing switched on, whether or not the tenant has a server of its own', async () => {
    const roundTrip = async (tenant: string) => {
      const shown = (await t.call('GET', '/odata/Settings', undefined, tenant)).json();
      const res = await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings: shown.value }, tenant);
      expect(res.statusCode, res.body).toBe(200);
      expect((await t.call('GET', '/odata/Settings', undefined, tenant)).json()).toEqual(shown);
    };
    const fresh = (await t.tenantWithUser('orch-fresh')).token;
    await roundTrip(fresh);
    expect((await t.call('GET', '/api/v1/tenants/orch-fresh/settings/mail', undefined, fresh)).json()).toMatchObject({ useCustom: false, custom: null });
    // A stored server of its own that the tenant switched off stays off.
    const custom = { host: '127.0.0.1', port: 2525, security: 'starttls', fromAddress: 'robot@orch-fresh.example.com' };
    expect((await t.call('PUT', '/api/v1/tenants/orch-fresh/settings/mail', { useCustom: false, custom }, fresh)).statusCode).toBe(200);
    await roundTrip(fresh);
    expect((await t.call('GET', '/api/v1/tenants/orch-fresh/settings/mail', undefined, fresh)).json()).toMatchObject({ useCustom: false, custom });
    // One value edited in the list sent back changes that value, and switches the server on.
    const shown = (await t.call('GET', '/odata/Settings', undefined, fresh)).json().value as { Name: string; Value: string }[];
    const edited = shown.map((s) => (s.Name === 'Abp.Net.Mail.Smtp.Port' ? { ...s, Value: '587' } : s));
    expect((await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings: edited }, fresh)).statusCode).toBe(200);
    expect((await t.call('GET', '/api/v1/tenants/orch-fresh/settings/mail', undefined, fresh)).json()).toMatchObject({
      useCustom: true,
      custom: { ...custom, port: 587 },
    });
  });

  it("takes back the list GET /odata/Settings shows with its flags written as .NET writes a bool ('True', 'False'): nothing switched on", async () => {
    // A script's "$false" and C#'s bool.ToString() write 'False' where GET showed 'false': the list
    // read as edited switched a stored server the tenant had turned off back on, and without one was a 400.
    const fresh = (await t.tenantWithUser('orch-dotnet-flags')).token;
    const dotnetFlags = async () => {
      const shown = (await t.call('GET', '/odata/Settings', undefined, fresh)).json().value as { Name: string; Value: string }[];
      const sent = shown.map((s) => ({ ...s, Value: s.Value === 'true' ? 'True' : s.Value === 'false' ? ' False' : s.Value }));
      const res = await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings: sent }, fresh);
      expect(res.statusCode, res.body).toBe(200);
      expect((await t.call('GET', '/odata/Settings', undefined, fresh)).json().value).toEqual(shown);
    };
    await dotnetFlags();
    expect((await t.call('GET', '/api/v1/tenants/orch-dotnet-flags/settings/mail', undefined, fresh)).json()).toMatchObject({ useCustom: false, custom: null });
    const custom = { host: '127.0.0.1', port: 2525, security: 'starttls', fromAddress: 'robot@orch-dotnet-flags.example.com' };
    expect((await t.call('PUT', '/api/v1/tenants/orch-dotnet-flags/settings/mail', { useCustom: false, custom }, fresh)).statusCode).toBe(200);
    await dotnetFlags();
    expect((await t.call('GET', '/api/v1/tenants/orch-dotnet-flags/settings/mail', undefined, fresh)).json()).toMatchObject({ useCustom: false, custom });
  });

  it("takes back the list GET /odata/Settings shows with the password left empty or as Orchestrator's mask: the stored server the tenant switched off stays off", async () => {
    // A script that blanks the password to keep it, or copies Orchestrator's bullets, changed no SMTP
    // value, yet the list was read as edited: the tenant's mail went through its old custom server.
    const fresh = (await t.tenantWithUser('orch-kept-password')).token;
    const custom = { host: '127.0.0.1', port: 2525, security: 'starttls', fromAddress: 'robot@orch-kept-password.example.com' };
    const saved = await t.call(
      'PUT',
      '/api/v1/tenants/orch-kept-password/settings/mail',
      { useCustom: false, custom: { ...custom, username: 'robot', password: PASSWORD } },
      fresh,
    );
    expect(saved.statusCode, saved.body).toBe(200);
    const shown = (await t.call('GET', '/odata/Settings', undefined, fresh)).json().value as { Name: string; Value: string }[];
    for (const password of ['', '••••••••••••']) {
      const sent = shown.map((s) => (s.Name === 'Abp.Net.Mail.Smtp.Password' ? { ...s, Value: password } : s));
      const res = await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings: sent }, fresh);
      expect(res.statusCode, res.body).toBe(200);
      expect((await t.call('GET', '/api/v1/tenants/orch-kept-password/settings/mail', undefined, fresh)).json(), password).toMatchObject({
        useCustom: false,
        custom: { ...custom, username: 'robot', passwordSet: true },
      });
    }
  });

  it('answers an absolute @odata.context, and names body fields in a 400 as Orchestrator spells them', async () => {
    expect((await t.call('GET', '/odata/Settings', undefined, token)).json()['@odata.context']).toMatch(/^https?:\/\/[^/]+\/odata\/\$metadata#Settings$/);
    const noModel = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'ops@orch.example.com' }, token);
    expect(noModel.json()).toMatchObject({ status: 400, errors: [{ path: 'smtpSettingModel' }] });
    const longSendTo = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'x'.repeat(300), smtpSettingModel: {} }, token);
    expect(longSendTo.json()).toMatchObject({ status: 400, errors: [{ path: 'sendTo' }] });
    const noHost = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'qa@orch.example.com', smtpSettingModel: {} }, token);
    expect(noHost.json()).toMatchObject({ status: 400, errors: [{ path: 'smtpSettingModel.Host' }] });
    // A bad sendTo is named beside the model's bad values, not only once they are fixed.
    const both = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'nobody', smtpSettingModel: { Host: '127.0.0.1', Port: 'abc' } }, token);
    expect(both.json().errors.map((e: { path: string }) => e.path)).toEqual(['sendTo', 'smtpSettingModel.Port']);
    const noName = await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings: [{ Value: 'true' }] }, token);
    expect(noName.json()).toMatchObject({ status: 400, errors: [{ path: 'settings.0.Name' }] });
  });

  it('refuses a user name with EnableSsl false, naming the Orchestrator field, until the tenant allows plaintext AUTH', async () => {
    const settings = Object.entries({
      'Abp.Net.Mail.Smtp.Host': '127.0.0.1',
      'Abp.Net.Mail.Smtp.Port': String(server.port),
      'Abp.Net.Mail.Smtp.EnableSsl': 'false',
      'Abp.Net.Mail.Smtp.UserName': 'robot',
      'Abp.Net.Mail.DefaultFromAddress': 'robot@orch.example.com',
    }).map(([Name, Value]) => ({ Name, Value }));
    const bulk = await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings }, token);
    expect(bulk.statusCode).toBe(400);
    expect(bulk.json().errors).toEqual([{ path: 'Abp.Net.Mail.Smtp.UserName', message: expect.stringContaining('allowPlaintextAuth') }]);
    const model = {
      Host: '127.0.0.1',
      Port: server.port,
      UserName: 'robot',
      Password: PASSWORD,
      EnableSsl: false,
      DefaultFromAddress: 'robot@orch.example.com',
    };
    const verify = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'ops@orch.example.com', smtpSettingModel: model }, token);
    expect(verify.statusCode).toBe(400);
    expect(verify.json().errors[0].path).toBe('smtpSettingModel.UserName');
    expect(server.authSeen).toEqual([]);
    // Orchestrator has no such field: the tenant allows it once in Tocsin's own settings.
    const allowed = await t.call(
      'PUT',
      '/api/v1/tenants/orch/settings/mail',
      { custom: { host: '127.0.0.1', port: server.port, security: 'none', fromAddress: 'robot@orch.example.com', allowPlaintextAuth: true } },
      token,
    );
    expect(allowed.json().custom).toMatchObject({ allowPlaintextAuth: true });
  });

  it("takes Orchestrator's relay form (UseDefaultCredentials on, EnableSsl off) with a user name left in it, and sends without AUTH", async () => {
    // Orchestrator ignores UserName and Password when UseDefaultCredentials is on, and wants SSL off
    // then; nothing is sent in clear, so the plaintext-credential guard has nothing to refuse.
    const relay = await startTestSmtpServer();
    try {
      const relayToken = (await t.tenantWithUser('orch-relay')).token;
      const form = {
        Host: '127.0.0.1',
        Port: String(relay.port),
        EnableSsl: 'false',
        UseDefaultCredentials: 'true',
        UserName: 'CORP\\svc-orchestrator',
        Password: 'left-in-the-form',
        DefaultFromAddress: 'robot@orch.example.com',
      };
      const settings = Object.entries(form).map(([key, Value]) => ({
        Name: key === 'DefaultFromAddress' ? `Abp.Net.Mail.${key}` : `Abp.Net.Mail.Smtp.${key}`,
        Value,
      }));
      const bulk = await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings }, relayToken);
      expect(bulk.statusCode, bulk.body).toBe(200);
      expect((await t.call('GET', '/api/v1/tenants/orch-relay/settings/mail', undefined, relayToken)).json().custom).toMatchObject({
        security: 'none',
        authMethod: 'none',
        username: 'CORP\\svc-orchestrator',
      });
      const verify = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'ops@orch.example.com', smtpSettingModel: form }, relayToken);
      expect(verify.statusCode, verify.body).toBe(200);
      expect((await relay.waitForMessages(1))[0]!.envelope.to).toEqual(['ops@orch.example.com']);
      expect(relay.authSeen).toEqual([]);
    } finally {
      await relay.close();
    }
  });

  it('switches UseDefaultCredentials off again: a user name and password given after the relay form sign in', async () => {
    // UseDefaultCredentials "false" after "true" was ignored: GET still showed "true", and emails
    // went without AUTH to a server that wants the user name and password now given.
    const relayToken = (await t.tenantWithUser('orch-relay-off')).token;
    const plaintext = { host: '127.0.0.1', port: server.port, security: 'none', fromAddress: 'robot@orch.example.com', allowPlaintextAuth: true };
    expect((await t.call('PUT', '/api/v1/tenants/orch-relay-off/settings/mail', { custom: plaintext }, relayToken)).statusCode).toBe(200);
    const bulk = (values: Record<string, string>) =>
      t.call(
        'POST',
        `${ACTIONS}.UpdateBulk`,
        { settings: Object.entries(values).map(([key, Value]) => ({ Name: `Abp.Net.Mail.Smtp.${key}`, Value })) },
        relayToken,
      );
    expect((await bulk({ UseDefaultCredentials: 'true', EnableSsl: 'false' })).statusCode).toBe(200);
    const model = {
      Host: '127.0.0.1',
      Port: server.port,
      EnableSsl: false,
      UseDefaultCredentials: false,
      UserName: 'robot',
      Password: PASSWORD,
      DefaultFromAddress: 'robot@orch.example.com',
    };
    const seen = server.authSeen.length;
    const verify = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'ops@orch.example.com', smtpSettingModel: model }, relayToken);
    expect(verify.statusCode, verify.body).toBe(200);
    expect(server.authSeen.length).toBe(seen + 1);
    expect((await bulk({ UseDefaultCredentials: 'False', UserName: 'robot', Password: PASSWORD })).statusCode).toBe(200);
    const shown = (await t.call('GET', '/odata/Settings', undefined, relayToken)).json().value as { Name: string; Value: string }[];
    expect(shown.find((s) => s.Name === 'Abp.Net.Mail.Smtp.UseDefaultCredentials')?.Value).toBe('false');
    expect((await t.call('GET', '/api/v1/tenants/orch-relay-off/settings/mail', undefined, relayToken)).json().custom).toMatchObject({
      authMethod: 'auto',
      username: 'robot',
    });
    const test = await t.call('POST', '/api/v1/tenants/orch-relay-off/settings/mail/test', {}, relayToken);
    expect(test.json(), test.body).toMatchObject({ ok: true });
    expect(server.authSeen.length).toBe(seen + 2);
    // A method chosen in Tocsin's own settings stays when the list is sent back with UseDefaultCredentials "false".
    expect((await t.call('PUT', '/api/v1/tenants/orch-relay-off/settings/mail', { custom: { authMethod: 'login' } }, relayToken)).statusCode).toBe(200);
    expect((await bulk({ UseDefaultCredentials: 'false', Port: '2526' })).statusCode).toBe(200);
    expect((await t.call('GET', '/api/v1/tenants/orch-relay-off/settings/mail', undefined, relayToken)).json().custom).toMatchObject({ authMethod: 'login' });
  });

  it('updates the settings in bulk (keys in any case) and shows them back, password masked', async () => {
    const res = await t.call(
      'POST',
      `${ACTIONS}.UpdateBulk`,
      {
        Settings: [
          { name: 'Abp.Net.Mail.Smtp.Host', value: '127.0.0.1' },
          { Name: 'Abp.Net.Mail.Smtp.Port', Value: String(server.port) },
          { Name: 'Abp.Net.Mail.Smtp.EnableSsl', Value: 'false' },
          { Name: 'Abp.Net.Mail.Smtp.UserName', Value: 'robot' },
          { Name: 'Abp.Net.Mail.Smtp.Password', Value: PASSWORD },
          { Name: 'Abp.Net.Mail.DefaultFromAddress', Value: 'robot@orch.example.com' },
          { Name: 'Abp.Timing.TimeZone', Value: 'Europe/Paris' },
        ],
      },
      token,
    );
    expect(res.statusCode).toBe(200);
    const listed = await t.call('GET', '/odata/Settings', undefined, token);
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toContain(PASSWORD);
    const values = Object.fromEntries(listed.json<{ value: { Name: string; Value: string }[] }>().value.map((s) => [s.Name, s.Value]));
    expect(values).toMatchObject({
      'Abp.Net.Mail.Smtp.Host': '127.0.0.1',
      'Abp.Net.Mail.Smtp.Port': String(server.port),
      'Abp.Net.Mail.Smtp.Password': '********',
      'Abp.Net.Mail.Smtp.EnableSsl': 'false',
      'Abp.Timing.TimeZone': 'Europe/Paris',
    });
    expect((await t.call('GET', '/api/v1/tenants/orch/settings/mail', undefined, token)).json()).toMatchObject({
      useCustom: true,
      custom: { security: 'none', passwordSet: true },
    });
  });

  it('takes UpdateBulk and VerifySmtpSetting bodies sent as application/json-patch+json or application/*+json, as the 2020.10 swagger lists them', async () => {
    // Both were a 415, so a client generated from that swagger could change no setting.
    const fresh = (await t.tenantWithUser('orch-json-types')).token;
    const post = (url: string, type: string, body: unknown) =>
      t.tocsin.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${fresh}`, 'content-type': type }, payload: JSON.stringify(body) });
    const bulk = await post(`${ACTIONS}.UpdateBulk`, 'application/json-patch+json', { settings: [{ Name: 'Alerts.Email.Enabled', Value: 'true' }] });
    expect(bulk.statusCode, bulk.body).toBe(200);
    expect((await t.call('GET', '/api/v1/tenants/orch-json-types/settings/mail', undefined, fresh)).json()).toMatchObject({ alertsEmailEnabled: true });
    const plain = await startTestSmtpServer();
    try {
      const model = { Host: '127.0.0.1', Port: plain.port, UseDefaultCredentials: true, DefaultFromAddress: 'robot@orch.example.com' };
      const verify = await post(`${ACTIONS}.VerifySmtpSetting`, 'application/*+json', { sendTo: 'types@orch.example.com', smtpSettingModel: model });
      expect(verify.statusCode, verify.body).toBe(200);
      expect((await plain.waitForMessages(1))[0]!.envelope.to).toEqual(['types@orch.example.com']);
    } finally {
      await plain.close();
    }
  });

  it("sends VerifySmtpSetting's test email to the caller when sendTo is null, as when it is left out (PowerShell's $null, Python's None)", async () => {
    // A null sendTo was a 400 'expected string, received null', where POST /settings/mail/test reads it as the caller's address.
    const fresh = await t.tenantWithUser('orch-null-send-to');
    const plain = await startTestSmtpServer();
    try {
      const model = { Host: '127.0.0.1', Port: plain.port, UseDefaultCredentials: true, DefaultFromAddress: 'robot@orch.example.com' };
      const verify = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: null, smtpSettingModel: model }, fresh.token);
      expect(verify.statusCode, verify.body).toBe(200);
      expect((await plain.waitForMessages(1))[0]!.envelope.to).toEqual([fresh.email]);
      const empty = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: '', smtpSettingModel: model }, fresh.token);
      expect(empty.json()).toMatchObject({ status: 400, errors: [{ path: 'sendTo' }] });
    } finally {
      await plain.close();
    }
  });

  it("tests another host than the saved one as the model has it: a UserName and Domain left out are none, not the saved server's", async () => {
    // Orchestrator tests the model it is given (UserName is optional in its SmtpSettingModel). The saved
    // server's user name was merged in, and a relay tested without one was refused for that user name
    // 'sent without encryption', or asked for the saved password again.
    const fresh = await t.tenantWithUser('orch-other-host');
    const custom = {
      host: 'smtp.saved.example.com',
      port: 587,
      security: 'starttls',
      domain: 'CORP',
      username: 'saved-user',
      password: 'saved-Secret-1',
      fromAddress: 'robot@orch.example.com',
    };
    expect((await t.call('PUT', '/api/v1/tenants/orch-other-host/settings/mail', { useCustom: true, custom }, fresh.token)).statusCode).toBe(200);
    const relay = await startTestSmtpServer();
    try {
      const model = { Host: '127.0.0.1', Port: relay.port, EnableSsl: false, DefaultFromAddress: 'robot@orch.example.com' };
      const verify = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'relay@orch.example.com', smtpSettingModel: model }, fresh.token);
      expect(verify.statusCode, verify.body).toBe(200);
      expect((await relay.waitForMessages(1))[0]!.envelope.to).toEqual(['relay@orch.example.com']);
      expect(relay.authSeen).toEqual([]);
    } finally {
      await relay.close();
    }
    // The saved server's own values stay as they were.
    expect((await t.call('GET', '/api/v1/tenants/orch-other-host/settings/mail', undefined, fresh.token)).json().custom).toMatchObject({
      host: 'smtp.saved.example.com',
      username: 'saved-user',
      domain: 'CORP',
      passwordSet: true,
    });
  });

  it('filters the settings on Name (eq, ne, in, and, or, not), as scripts read one setting, and refuses another filter naming $filter', async () => {
    const fresh = (await t.tenantWithUser('orch-filter')).token;
    const names = async (filter: string) => {
      const res = await t.call('GET', `/odata/Settings?$filter=${encodeURIComponent(filter)}`, undefined, fresh);
      expect(res.statusCode, res.body).toBe(200);
      return res.json<{ value: { Name: string }[] }>().value.map((s) => s.Name);
    };
    // Read as the whole list, the first setting's Value (Alerts.Email.Enabled) passed for the host's.
    expect(await names("Name eq 'Abp.Net.Mail.Smtp.Host'")).toEqual(['Abp.Net.Mail.Smtp.Host']);
    expect(await names("name eq 'Abp.Timing.TimeZone' or Id eq 'Alerts.Email.Enabled'")).toEqual(['Alerts.Email.Enabled', 'Abp.Timing.TimeZone']);
    expect(await names("Name in ('Abp.Net.Mail.Smtp.Port', 'Abp.Net.Mail.Smtp.EnableSsl') and not (Value eq 'false')")).toEqual(['Abp.Net.Mail.Smtp.Port']);
    expect(await names("Name eq 'Abp.Net.Mail.Nope'")).toEqual([]);
    expect((await names("Name ne 'Abp.Timing.TimeZone'")).length).toBe(10);
    for (const filter of ["Color eq 'x'", "Name gt 'A'", 'Name eq 1', "Name eq 'x"]) {
      const res = await t.call('GET', `/odata/Settings?$filter=${encodeURIComponent(filter)}`, undefined, fresh);
      expect(res.statusCode, filter).toBe(400);
      expect(res.json().errors[0].path, filter).toBe('$filter');
    }
  });

  it("filters the settings with OData's string functions, as scripts read the mail settings at once: startswith(Name,'Abp.Net.Mail.'), contains, tolower", async () => {
    const fresh = (await t.tenantWithUser('orch-filter-functions')).token;
    const names = async (filter: string) => {
      const res = await t.call('GET', `/odata/Settings?$filter=${encodeURIComponent(filter)}`, undefined, fresh);
      expect(res.statusCode, `${filter}: ${res.body}`).toBe(200);
      return res.json<{ value: { Name: string }[] }>().value.map((s) => s.Name);
    };
    expect((await names("startswith(Name,'Abp.Net.Mail.Smtp.')")).length).toBe(7);
    expect(await names("startswith(Name,'Abp.Net.Mail.') and endswith(Name,'Address')")).toEqual(['Abp.Net.Mail.DefaultFromAddress']);
    expect(await names("contains(tolower(Name),'timezone')")).toEqual(['Abp.Timing.TimeZone']);
    expect(await names("contains(Name,'timezone')")).toEqual([]);
    expect(await names("toupper(Name) eq 'ALERTS.EMAIL.ENABLED'")).toEqual(['Alerts.Email.Enabled']);
    expect((await names("contains(Name,'Mail') eq false")).length).toBe(2);
    for (const filter of ["contains(Color,'x')", "substringof('x',Name)", 'contains(Name,1)']) {
      const res = await t.call('GET', `/odata/Settings?$filter=${encodeURIComponent(filter)}`, undefined, fresh);
      expect(res.statusCode, filter).toBe(400);
      expect(res.json().errors[0].path, filter).toBe('$filter');
    }
  });

  it('pages, counts, orders and projects the settings with $top, $skip, $count, $orderby and $select, and refuses another $ option rather than ignore it', async () => {
    const fresh = (await t.tenantWithUser('orch-paging')).token;
    const list = async (query: string) => {
      const res = await t.call('GET', `/odata/Settings?${query}`, undefined, fresh);
      expect(res.statusCode, `${query}: ${res.body}`).toBe(200);
      return res.json<{ '@odata.count'?: number; value: Record<string, string>[] }>();
    };
    const all = (await list('')).value.map((s) => s.Name);
    expect(all).toHaveLength(11);
    // $top=2 answered all 11 settings, so a script reading a page of 2 took 11.
    expect((await list('$top=2')).value.map((s) => s.Name)).toEqual(all.slice(0, 2));
    expect((await list('$top=3&$skip=9')).value.map((s) => s.Name)).toEqual(all.slice(9));
    expect((await list('$skip=11')).value).toEqual([]);
    const counted = await list(`$count=true&$top=1&$filter=${encodeURIComponent("Name ne 'Abp.Timing.TimeZone'")}`);
    expect(counted['@odata.count']).toBe(10);
    expect(counted.value).toHaveLength(1);
    expect((await list('$orderby=Name%20desc')).value.map((s) => s.Name)).toEqual([...all].sort().reverse());
    expect((await list('$select=Name,value&$top=1')).value).toEqual([{ Name: 'Alerts.Email.Enabled', Value: 'false' }]);
    // SettingsDto has no navigation property: $expand=* (which Orchestrator documents on this list) expands nothing.
    expect((await list('$expand=*')).value.map((s) => s.Name)).toEqual(all);
    // Orchestrator's swagger bounds this list as it bounds /odata/Alerts: $top at most 1000, $orderby at most 5 terms.
    expect((await list('$top=1000')).value).toHaveLength(11);
    for (const query of [
      '$top=-1',
      '$top=x',
      '$top=1001',
      '$orderby=Name,Value,Scope,Id,Name%20desc,Value%20desc',
      '$select=Color',
      '$orderby=Color',
      '$expand=Scope',
      '$search=smtp',
    ]) {
      const res = await t.call('GET', `/odata/Settings?${query}`, undefined, fresh);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().errors[0].path, query).toBe(query.split('=')[0]);
    }
  });

  it("reads one setting at GET /odata/Settings('key') and writes it with PUT, as Orchestrator's Settings({key}) does", async () => {
    const fresh = (await t.tenantWithUser('orch-by-key')).token;
    const one = (key: string) => t.call('GET', `/odata/Settings('${encodeURIComponent(key)}')`, undefined, fresh);
    const read = await one('Abp.Timing.TimeZone');
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json()).toMatchObject({ '@odata.context': expect.stringMatching(/\/odata\/\$metadata#Edm\.String$/), value: 'UTC' });
    const put = await t.call(
      'PUT',
      "/odata/Settings('Abp.Timing.TimeZone')",
      { Name: 'Abp.Timing.TimeZone', Value: 'Romance Standard Time', Scope: 'Tenant' },
      fresh,
    );
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ Id: 'Abp.Timing.TimeZone', Name: 'Abp.Timing.TimeZone', Value: 'Europe/Paris', Scope: 'Tenant' });
    expect((await one('Abp.Timing.TimeZone')).json().value).toBe('Europe/Paris');
    // The value alone, the key naming the setting.
    expect((await t.call('PUT', "/odata/Settings('Alerts.Email.Enabled')", { value: 'true' }, fresh)).statusCode).toBe(200);
    expect((await one('Alerts.Email.Enabled')).json().value).toBe('true');
    const bad = await t.call('PUT', "/odata/Settings('Abp.Net.Mail.Smtp.Port')", { Value: 'abc' }, fresh);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('Abp.Net.Mail.Smtp.Port');
    expect((await one('Abp.Net.Mail.Nope')).statusCode).toBe(404);
    expect((await t.call('PUT', "/odata/Settings('Abp.Net.Mail.Nope')", { Value: 'x' }, fresh)).statusCode).toBe(404);
    const viewer = (await t.tenantWithUser('orch-by-key', ['Alerts Viewer'])).token;
    expect((await t.call('GET', "/odata/Settings('Abp.Timing.TimeZone')", undefined, viewer)).statusCode).toBe(403);
  });

  it('takes Abp.Timing.TimeZone with white space around an IANA name, as around a Windows id and as the REST time zones take it', async () => {
    const fresh = (await t.tenantWithUser('orch-padded-zone')).token;
    const put = (value: string) => t.call('PUT', "/odata/Settings('Abp.Timing.TimeZone')", { Value: value }, fresh);
    const padded = await put('Europe/London ');
    expect(padded.statusCode, padded.body).toBe(200);
    expect(padded.json().Value).toBe('Europe/London');
    expect((await put(' Romance Standard Time ')).json().Value).toBe('Europe/Paris');
    const blank = await put('  ');
    expect(blank.statusCode).toBe(400);
    expect(blank.json().errors[0].path).toBe('Abp.Timing.TimeZone');
  });

  it("documents GET and PUT /odata/Settings('{key}') in the OpenAPI document, as API.md asks of every route beyond its tables", async () => {
    const doc = (await t.call('GET', '/api/openapi.json', undefined, '')).json();
    const item = doc.paths["/odata/Settings('{key}')"];
    expect(Object.keys(item ?? {}).sort()).toEqual(['get', 'put']);
    for (const operation of [item.get, item.put]) {
      expect(operation.parameters).toContainEqual(expect.objectContaining({ in: 'path', name: 'key', required: true }));
    }
    expect(item.get.description).toContain('Settings.View');
    expect(item.put.description).toContain('Settings.Edit');
    expect(Object.keys(item.get.responses['200'].content['application/json'].schema.properties)).toEqual(['@odata.context', 'value']);
    expect(Object.keys(item.put.requestBody.content['application/json'].schema.properties)).toContain('Value');
    expect(Object.keys(item.put.responses['200'].content['application/json'].schema.properties)).toEqual(['Id', 'Name', 'Value', 'Scope']);
    // The router's wildcard is no path a client can call: it was the only way this route could be written.
    expect(Object.keys(doc.paths).filter((path) => path.includes('*') || path.includes('%'))).toEqual([]);
    expect(Object.keys(doc.paths['/odata/Settings'] ?? {})).toEqual(['get']);
  });

  it("reads and writes one setting at /odata/settings('key') with the path in any case, as Orchestrator's other routes take it", async () => {
    const fresh = (await t.tenantWithUser('orch-by-key-case')).token;
    const read = await t.call('GET', "/odata/settings('Abp.Timing.TimeZone')", undefined, fresh);
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json().value).toBe('UTC');
    const put = await t.call('PUT', "/ODATA/SETTINGS('abp.timing.timezone')", { Value: 'Europe/Paris' }, fresh);
    expect(put.statusCode, put.body).toBe(200);
    expect((await t.call('GET', "/odata/Settings('Abp.Timing.TimeZone')", undefined, fresh)).json().value).toBe('Europe/Paris');
  });

  it('refuses a bad value naming its key, and needs the Settings permissions', async () => {
    const bad = await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings: [{ Name: 'Abp.Net.Mail.Smtp.Port', Value: '99999' }] }, token);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('Abp.Net.Mail.Smtp.Port');
    const tz = await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings: [{ Name: 'Abp.Timing.TimeZone', Value: 'Mars/Olympus_Mons' }] }, token);
    expect(tz.json().errors[0].path).toBe('Abp.Timing.TimeZone');
    const viewer = (await t.tenantWithUser('orch', ['Alerts Viewer'])).token;
    expect((await t.call('GET', '/odata/Settings', undefined, viewer)).statusCode).toBe(403);
  });

  it('lets the host administrator name the tenant with X-Tocsin-Tenant, once', async () => {
    expect((await t.call('GET', '/odata/Settings')).statusCode).toBe(400);
    const res = await t.tocsin.app.inject({
      method: 'GET',
      url: '/odata/Settings',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-tocsin-tenant': 'orch' },
    });
    expect(res.statusCode).toBe(200);
    // Sent twice, Node gives the header as 'orch, orch': it was a 404 "Tenant not found".
    for (const twice of ['orch, orch', 'orch, other']) {
      const doubled = await t.tocsin.app.inject({
        method: 'GET',
        url: '/odata/Settings',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-tocsin-tenant': twice },
      });
      expect(doubled.statusCode, twice).toBe(400);
      expect(doubled.json().errors, twice).toEqual([{ path: 'header.x-tocsin-tenant', message: 'is given more than once: give x-tocsin-tenant once' }]);
    }
  });

  it('verifies SMTP settings by sending a test email, reusing the saved password', async () => {
    const model = { Host: '127.0.0.1', Port: server.port, UserName: 'robot', Password: '', EnableSsl: false, DefaultFromAddress: 'robot@orch.example.com' };
    const sent = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'ops@orch.example.com', smtpSettingModel: model }, token);
    expect(sent.statusCode).toBe(200);
    expect(server.messages.some((m) => m.envelope.to[0] === 'ops@orch.example.com')).toBe(true);
    const wrong = await t.call(
      'POST',
      `${ACTIONS}.VerifySmtpSetting`,
      { sendTo: 'ops@orch.example.com', smtpSettingModel: { ...model, Password: 'wrong' } },
      token,
    );
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ errors: [{ path: 'smtpSettingModel.Password' }] });
    expect(wrong.json().detail).toContain('535');
    const invalid = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { smtpSettingModel: { ...model, Port: 'x' } }, token);
    expect(invalid.json()).toMatchObject({ status: 400, errors: [{ path: 'smtpSettingModel.Port' }] });
  });

  it("refuses a model without a Host, naming it, where the saved server's host was tested under the model's other values", async () => {
    // The tenant has a saved server (server); a script leaving Host out got 200 "sent" from it, whatever it meant to try.
    const before = server.messages.length;
    const model = { Port: server.port, UserName: 'robot', Password: PASSWORD, EnableSsl: false, DefaultFromAddress: 'robot@orch.example.com' };
    for (const Host of [undefined, null]) {
      const res = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'ops@orch.example.com', smtpSettingModel: { ...model, Host } }, token);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().errors).toEqual([{ path: 'smtpSettingModel.Host', message: 'is required: the test is of the SMTP server named here' }]);
    }
    expect(server.messages.length).toBe(before);
  });

  it('verifies another host only with the password typed again: the masked one stays with the saved host', async () => {
    const other = await startTestSmtpServer({ auth: { username: 'robot', password: PASSWORD } });
    try {
      const model = { Host: 'localhost', Port: other.port, UserName: 'robot', EnableSsl: false, DefaultFromAddress: 'robot@orch.example.com' };
      for (const Password of ['********', '']) {
        const res = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'ops@orch.example.com', smtpSettingModel: { ...model, Password } }, token);
        expect(res.statusCode, res.body).toBe(400);
        expect(res.json()).toMatchObject({ errors: [{ path: 'smtpSettingModel.Password', message: expect.stringContaining('type it again') }] });
      }
      expect(other.connections()).toBe(0);
      const typed = await t.call(
        'POST',
        `${ACTIONS}.VerifySmtpSetting`,
        { sendTo: 'ops@orch.example.com', smtpSettingModel: { ...model, Password: PASSWORD } },
        token,
      );
      expect(typed.statusCode, typed.body).toBe(200);
      expect(other.authSeen).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('names the setting an Orchestrator client changed, not the access token it cannot send, when a tenant signing in with OAuth is moved to another host or off TLS', async () => {
    // The console or the REST API saved an XOAUTH2 server; Orchestrator's keys have no access token,
    // so "type it again" on custom.accessToken named a field no UpdateBulk or model can hold.
    const { token: oauth } = await t.tenantWithUser('orch-oauth');
    const saved = await t.call(
      'PUT',
      '/api/v1/tenants/orch-oauth/settings/mail',
      {
        useCustom: true,
        custom: {
          host: '127.0.0.1',
          port: 587,
          security: 'starttls',
          username: 'robot@orch.example.com',
          authMethod: 'xoauth2',
          accessToken: 'ya29.token',
          fromAddress: 'robot@orch.example.com',
          allowPlaintextAuth: true,
        },
      },
      oauth,
    );
    expect(saved.statusCode, saved.body).toBe(200);
    const refused = [
      [`${ACTIONS}.UpdateBulk`, 'POST', { settings: [{ Name: 'Abp.Net.Mail.Smtp.Host', Value: 'localhost' }] }, 'Abp.Net.Mail.Smtp.Host'],
      ["/odata/Settings('Abp.Net.Mail.Smtp.Host')", 'PUT', { Value: 'localhost' }, 'Abp.Net.Mail.Smtp.Host'],
      [`${ACTIONS}.UpdateBulk`, 'POST', { settings: [{ Name: 'Abp.Net.Mail.Smtp.EnableSsl', Value: 'false' }] }, 'Abp.Net.Mail.Smtp.EnableSsl'],
      [
        `${ACTIONS}.VerifySmtpSetting`,
        'POST',
        { sendTo: 'ops@orch.example.com', smtpSettingModel: { Host: 'localhost', Port: 587, UserName: 'robot@orch.example.com', EnableSsl: true } },
        'smtpSettingModel.Host',
      ],
    ] as const;
    for (const [url, method, body, path] of refused) {
      const res = await t.call(method, url, body, oauth);
      expect(res.statusCode, `${url}: ${res.body}`).toBe(400);
      expect(res.json().errors, url).toEqual([{ path, message: expect.stringContaining('access token') }]);
    }
    expect((await t.call('GET', '/api/v1/tenants/orch-oauth/settings/mail', undefined, oauth)).json().custom).toMatchObject({
      host: '127.0.0.1',
      security: 'starttls',
      accessTokenSet: true,
    });
  });

  it("reads a left-out EnableSsl as Orchestrator's false on a tenant with no server of its own: plain SMTP, as GET /odata/Settings showed", async () => {
    // Only Host and Port are required in Orchestrator's SmtpSettingModel, EnableSsl a bool that
    // defaults to false; GET shows "false". Left out, it asked for STARTTLS, and a server without
    // it failed the test (the error naming EnableSsl, which the script never sent).
    const plain = await startTestSmtpServer();
    try {
      const fresh = (await t.tenantWithUser('orch-no-ssl-given')).token;
      const shown = async () =>
        Object.fromEntries(
          ((await t.call('GET', '/odata/Settings', undefined, fresh)).json().value as { Name: string; Value: string }[]).map((s) => [s.Name, s.Value]),
        );
      expect((await shown())['Abp.Net.Mail.Smtp.EnableSsl']).toBe('false');
      const model = { Host: '127.0.0.1', Port: plain.port, DefaultFromAddress: 'robot@orch.example.com' };
      const verify = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'ops@orch.example.com', smtpSettingModel: model }, fresh);
      expect(verify.statusCode, verify.body).toBe(200);
      expect((await plain.waitForMessages(1))[0]!.envelope.to).toEqual(['ops@orch.example.com']);
      const settings = [
        { Name: 'Abp.Net.Mail.Smtp.Host', Value: '127.0.0.1' },
        { Name: 'Abp.Net.Mail.Smtp.Port', Value: String(plain.port) },
        { Name: 'Abp.Net.Mail.DefaultFromAddress', Value: 'robot@orch.example.com' },
      ];
      expect((await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings }, fresh)).statusCode).toBe(200);
      expect((await shown())['Abp.Net.Mail.Smtp.EnableSsl']).toBe('false');
      const test = await t.call('POST', '/api/v1/tenants/orch-no-ssl-given/settings/mail/test', { sendTo: 'ops@orch.example.com' }, fresh);
      expect(test.json(), test.body).toMatchObject({ ok: true });
      // A saved server keeps its own security when EnableSsl is left out again.
      expect((await t.call('PUT', '/api/v1/tenants/orch-no-ssl-given/settings/mail', { custom: { security: 'starttls' } }, fresh)).statusCode).toBe(200);
      expect((await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings: settings.slice(1, 2) }, fresh)).statusCode).toBe(200);
      expect((await shown())['Abp.Net.Mail.Smtp.EnableSsl']).toBe('true');
    } finally {
      await plain.close();
    }
  });

  it("sends from the system default's address when a tenant with no server of its own gives Host and Port but no DefaultFromAddress, as ABP reads an unset tenant setting as the host's", async () => {
    // UpdateBulk with Host and Port alone (or GET's list with them filled in, its DefaultFromAddress
    // "") and VerifySmtpSetting with the SmtpSettingModel's two required fields were a 400
    // 'DefaultFromAddress is required', where Orchestrator saves each setting on its own.
    const plain = await startTestSmtpServer();
    try {
      const systemFrom = (await t.call('GET', '/api/v1/system/mail-settings', undefined, ADMIN_TOKEN)).json().fromAddress as string;
      const hostAndPort = [
        { Name: 'Abp.Net.Mail.Smtp.Host', Value: '127.0.0.1' },
        { Name: 'Abp.Net.Mail.Smtp.Port', Value: String(plain.port) },
      ];
      const alone = await t.tenantWithUser('orch-from-unset');
      const bulk = await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings: hostAndPort }, alone.token);
      expect(bulk.statusCode, bulk.body).toBe(200);
      expect((await t.call('GET', '/api/v1/tenants/orch-from-unset/settings/mail', undefined, alone.token)).json()).toMatchObject({
        useCustom: true,
        custom: { host: '127.0.0.1', port: plain.port, fromAddress: systemFrom },
      });
      const listed = (await t.call('GET', '/odata/Settings', undefined, alone.token)).json().value as { Name: string; Value: string }[];
      expect(listed.find((s) => s.Name === 'Abp.Net.Mail.DefaultFromAddress')?.Value).toBe(systemFrom);

      const listedBack = await t.tenantWithUser('orch-from-list');
      const shown = (await t.call('GET', '/odata/Settings', undefined, listedBack.token)).json().value as { Name: string; Value: string }[];
      const edited = shown.map((s) => hostAndPort.find((h) => h.Name === s.Name) ?? { Name: s.Name, Value: s.Value });
      const sentBack = await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings: edited }, listedBack.token);
      expect(sentBack.statusCode, sentBack.body).toBe(200);
      expect((await t.call('GET', '/api/v1/tenants/orch-from-list/settings/mail', undefined, listedBack.token)).json().custom).toMatchObject({
        host: '127.0.0.1',
        fromAddress: systemFrom,
      });

      const verifying = await t.tenantWithUser('orch-from-verify');
      const model = { Host: '127.0.0.1', Port: plain.port };
      const verify = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'ops@orch.example.com', smtpSettingModel: model }, verifying.token);
      expect(verify.statusCode, verify.body).toBe(200);
      expect((await plain.waitForMessages(1))[0]!.envelope).toEqual({ from: systemFrom, to: ['ops@orch.example.com'] });
    } finally {
      await plain.close();
    }
  });

  it('takes a setting name in another case as that setting, as a typed Abp.Net.Mail.Smtp.Username was silently dropped', async () => {
    const fresh = (await t.tenantWithUser('orch-casing')).token;
    const res = await t.call(
      'POST',
      `${ACTIONS}.UpdateBulk`,
      {
        settings: [
          { Name: 'alerts.email.enabled', Value: 'true' },
          { Name: 'ABP.NET.MAIL.SMTP.HOST', Value: '127.0.0.1' },
          { Name: 'Abp.Net.Mail.Smtp.port', Value: '587' },
          { Name: 'Abp.Net.Mail.Smtp.EnableSSL', Value: 'true' },
          { Name: 'Abp.Net.Mail.Smtp.Username', Value: 'robot' },
          { Name: 'Abp.Net.Mail.DefaultFromaddress', Value: 'robot@orch-casing.example.com' },
          { Name: 'abp.timing.timezone', Value: 'Asia/Tokyo' },
        ],
      },
      fresh,
    );
    expect(res.statusCode, res.body).toBe(200);
    const values = Object.fromEntries(
      (await t.call('GET', '/odata/Settings', undefined, fresh)).json<{ value: { Name: string; Value: string }[] }>().value.map((s) => [s.Name, s.Value]),
    );
    expect(values).toMatchObject({
      'Alerts.Email.Enabled': 'true',
      'Abp.Net.Mail.Smtp.Host': '127.0.0.1',
      'Abp.Net.Mail.Smtp.Port': '587',
      'Abp.Net.Mail.Smtp.EnableSsl': 'true',
      'Abp.Net.Mail.Smtp.UserName': 'robot',
      'Abp.Net.Mail.DefaultFromAddress': 'robot@orch-casing.example.com',
      'Abp.Timing.TimeZone': 'Asia/Tokyo',
    });
    // A bad value is named by the key as Orchestrator spells it.
    const bad = await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings: [{ Name: 'abp.net.mail.smtp.port', Value: 'abc' }] }, fresh);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('Abp.Net.Mail.Smtp.Port');
  });

  it('resets an SMTP setting sent with Value null, as Orchestrator resets it, where the null was dropped with a 200 and the setting kept', async () => {
    const fresh = (await t.tenantWithUser('orch-null-value')).token;
    // No password stored (nor a server): nothing to reset.
    const none = await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings: [{ Name: 'Abp.Net.Mail.Smtp.Password', Value: null }] }, fresh);
    expect(none.statusCode, none.body).toBe(200);
    const bulk = (settings: { Name: string; Value: string | null }[]) => t.call('POST', `${ACTIONS}.UpdateBulk`, { settings }, fresh);
    const mail = async () => (await t.call('GET', '/api/v1/tenants/orch-null-value/settings/mail', undefined, fresh)).json().custom;
    const saved = await bulk([
      { Name: 'Abp.Net.Mail.Smtp.Host', Value: '127.0.0.1' },
      { Name: 'Abp.Net.Mail.Smtp.Port', Value: '587' },
      { Name: 'Abp.Net.Mail.Smtp.EnableSsl', Value: 'true' },
      { Name: 'Abp.Net.Mail.Smtp.UserName', Value: 'robot' },
      { Name: 'Abp.Net.Mail.Smtp.Password', Value: PASSWORD },
      { Name: 'Abp.Net.Mail.Smtp.Domain', Value: 'CORP' },
      { Name: 'Abp.Net.Mail.DefaultFromAddress', Value: 'robot@orch-null-value.example.com' },
      { Name: 'Abp.Net.Mail.DefaultFromDisplayName', Value: 'Orchestrator Administrator' },
    ]);
    expect(saved.statusCode, saved.body).toBe(200);
    // The list sent back with null for its empty values (as a client's null-for-empty model writes it) changes nothing.
    const shown = (await t.call('GET', '/odata/Settings', undefined, fresh)).json().value as { Name: string; Value: string }[];
    expect((await bulk(shown.map((s) => ({ ...s, Value: s.Value === '' ? null : s.Value })))).statusCode).toBe(200);
    expect(await mail()).toMatchObject({ domain: 'CORP', fromDisplayName: 'Orchestrator Administrator', username: 'robot', passwordSet: true });
    // Reset one by one: the optional ones are cleared, as an empty value clears them.
    for (const name of ['Abp.Net.Mail.Smtp.Domain', 'Abp.Net.Mail.DefaultFromDisplayName', 'Abp.Net.Mail.Smtp.Password']) {
      const res = await bulk([{ Name: name, Value: null }]);
      expect(res.statusCode, `${name}: ${res.body}`).toBe(200);
    }
    expect(await mail()).toMatchObject({ domain: null, fromDisplayName: null, username: 'robot', passwordSet: false });
    const byKey = await t.call('PUT', "/odata/Settings('Abp.Net.Mail.Smtp.UserName')", { Value: null }, fresh);
    expect(byKey.statusCode, byKey.body).toBe(200);
    expect(await mail()).toMatchObject({ username: null, host: '127.0.0.1' });
    // One Tocsin cannot send without is refused naming its key, as an empty one is, never taken as kept.
    for (const name of ['Abp.Net.Mail.Smtp.Host', 'Abp.Net.Mail.Smtp.Port', 'Abp.Net.Mail.Smtp.EnableSsl', 'Abp.Net.Mail.DefaultFromAddress']) {
      const res = await bulk([{ Name: name, Value: null }]);
      expect(res.statusCode, name).toBe(400);
      expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(name);
    }
    expect(await mail()).toMatchObject({ host: '127.0.0.1', port: 587, fromAddress: 'robot@orch-null-value.example.com' });
  });

  it('derives the TLS mode again from EnableSsl when an UpdateBulk changes only the port: implicit TLS on 465, STARTTLS elsewhere', async () => {
    const fresh = (await t.tenantWithUser('orch-port')).token;
    const bulk = (settings: { Name: string; Value: string }[]) => t.call('POST', `${ACTIONS}.UpdateBulk`, { settings }, fresh);
    const security = async () => (await t.call('GET', '/api/v1/tenants/orch-port/settings/mail', undefined, fresh)).json().custom.security;
    const first = await bulk([
      { Name: 'Abp.Net.Mail.Smtp.Host', Value: 'smtp.orch-port.example.com' },
      { Name: 'Abp.Net.Mail.Smtp.Port', Value: '465' },
      { Name: 'Abp.Net.Mail.Smtp.EnableSsl', Value: 'true' },
      { Name: 'Abp.Net.Mail.DefaultFromAddress', Value: 'robot@orch-port.example.com' },
    ]);
    expect(first.statusCode, first.body).toBe(200);
    expect(await security()).toBe('tls');
    // Port 587 alone kept implicit TLS, which a STARTTLS server on 587 never answers: every email timed out.
    expect((await bulk([{ Name: 'Abp.Net.Mail.Smtp.Port', Value: '587' }])).statusCode).toBe(200);
    expect(await security()).toBe('starttls');
    expect((await bulk([{ Name: 'Abp.Net.Mail.Smtp.Port', Value: '465' }])).statusCode).toBe(200);
    expect(await security()).toBe('tls');
    // EnableSsl off stays off whatever the port.
    expect((await bulk([{ Name: 'Abp.Net.Mail.Smtp.EnableSsl', Value: 'false' }])).statusCode).toBe(200);
    expect((await bulk([{ Name: 'Abp.Net.Mail.Smtp.Port', Value: '25' }])).statusCode).toBe(200);
    expect(await security()).toBe('none');
  });

  it('keeps the saved TLS mode when an UpdateBulk gives the port it already has, as VerifySmtpSetting does', async () => {
    const fresh = (await t.tenantWithUser('orch-same-port')).token;
    const path = '/api/v1/tenants/orch-same-port/settings/mail';
    const saved = { host: 'smtp.orch-same-port.example.com', port: 2465, security: 'tls', authMethod: 'none', fromAddress: 'robot@orch-same-port.example.com' };
    expect((await t.call('PUT', path, { custom: saved }, fresh)).statusCode).toBe(200);
    // A script moving the server to another host sends the port it read from GET /odata/Settings.
    const host = { Name: 'Abp.Net.Mail.Smtp.Host', Value: 'smtp2.orch-same-port.example.com' };
    const bulk = await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings: [host, { Name: 'Abp.Net.Mail.Smtp.Port', Value: '2465' }] }, fresh);
    expect(bulk.statusCode, bulk.body).toBe(200);
    expect((await t.call('GET', path, undefined, fresh)).json().custom).toMatchObject({
      host: 'smtp2.orch-same-port.example.com',
      port: 2465,
      security: 'tls',
    });
  });

  it('derives the TLS mode from the saved EnableSsl when a VerifySmtpSetting model gives a new Port and no EnableSsl, as UpdateBulk does', async () => {
    // The saved server's implicit TLS was kept on the new port: the test spoke TLS to a port that
    // greets in plain text and offers STARTTLS, and failed, where UpdateBulk saves STARTTLS there.
    const starttls = await startTestSmtpServer({ tls: 'starttls' });
    try {
      const fresh = (await t.tenantWithUser('orch-verify-port')).token;
      const saved = { host: '127.0.0.1', port: 2465, security: 'tls', authMethod: 'none', fromAddress: 'robot@orch-verify-port.example.com' };
      expect((await t.call('PUT', '/api/v1/tenants/orch-verify-port/settings/mail', { custom: saved }, fresh)).statusCode).toBe(200);
      const model = { Host: '127.0.0.1', Port: String(starttls.port), UseDefaultCredentials: 'true', DefaultFromAddress: saved.fromAddress };
      const verify = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'ops@orch.example.com', smtpSettingModel: model }, fresh);
      // The test CA is not one the server trusts: the upgrade is asked for, then the certificate refused.
      await starttls.waitForCommand('STARTTLS', 1, 1_000);
      expect(verify.json().errors[0].message).not.toMatch(/expects STARTTLS/);
      // The saved server is the one tested over: nothing was saved.
      expect((await t.call('GET', '/api/v1/tenants/orch-verify-port/settings/mail', undefined, fresh)).json().custom).toMatchObject({
        port: 2465,
        security: 'tls',
      });
    } finally {
      await starttls.close();
    }
  });

  it('keeps the saved TLS mode when the whole list is sent back with another SMTP value edited and the port unchanged', async () => {
    // 31e370a re-derived the mode from any port sent: implicit TLS saved on 2465 (a provider's
    // port, set in Tocsin's own settings) became STARTTLS once a script changed the From address.
    const fresh = (await t.tenantWithUser('orch-port-kept')).token;
    const custom = {
      host: 'smtp.orch-port-kept.example.com',
      port: 2465,
      security: 'tls',
      authMethod: 'none',
      fromAddress: 'robot@orch-port-kept.example.com',
    };
    expect((await t.call('PUT', '/api/v1/tenants/orch-port-kept/settings/mail', { custom }, fresh)).statusCode).toBe(200);
    const shown = (await t.call('GET', '/odata/Settings', undefined, fresh)).json().value as { Name: string; Value: string }[];
    const edited = shown.map((s) => (s.Name === 'Abp.Net.Mail.DefaultFromAddress' ? { ...s, Value: 'alerts@orch-port-kept.example.com' } : s));
    const res = await t.call('POST', `${ACTIONS}.UpdateBulk`, { settings: edited }, fresh);
    expect(res.statusCode, res.body).toBe(200);
    expect((await t.call('GET', '/api/v1/tenants/orch-port-kept/settings/mail', undefined, fresh)).json().custom).toMatchObject({
      port: 2465,
      security: 'tls',
      fromAddress: 'alerts@orch-port-kept.example.com',
    });
  });

  it('tests the saved server in its own TLS mode when VerifySmtpSetting sends its Port and EnableSsl as GET showed them', async () => {
    // Orchestrator's form sends EnableSsl always: "true" made STARTTLS of implicit TLS saved on a
    // port other than 465, so the test failed against the server that the emails reach.
    const implicit = await startTestSmtpServer({ tls: 'implicit' });
    try {
      const fresh = (await t.tenantWithUser('orch-verify-kept')).token;
      const custom = {
        host: '127.0.0.1',
        port: implicit.port,
        security: 'tls',
        authMethod: 'none',
        fromAddress: 'robot@orch-verify-kept.example.com',
        timeoutMs: 1_000,
      };
      expect((await t.call('PUT', '/api/v1/tenants/orch-verify-kept/settings/mail', { custom }, fresh)).statusCode).toBe(200);
      const model = {
        Host: '127.0.0.1',
        Port: String(implicit.port),
        EnableSsl: 'true',
        UseDefaultCredentials: 'true',
        DefaultFromAddress: custom.fromAddress,
      };
      const verify = await t.call('POST', `${ACTIONS}.VerifySmtpSetting`, { sendTo: 'ops@orch.example.com', smtpSettingModel: model }, fresh);
      // The test CA is not one the server trusts: the TLS handshake is made, then the certificate refused.
      expect(verify.statusCode).toBe(400);
      expect(verify.json().errors[0].message).not.toMatch(/expects implicit TLS/);
    } finally {
      await implicit.close();
    }
  });

  it('keeps an UpdateBulk time zone, IANA or Windows, as IANA spells it, and names a flag that is not true or false as such', async () => {
    // `europe/paris` was stored as typed, so the tenant showed a zone the REST API would have spelt Europe/Paris.
    const fresh = (await t.tenantWithUser('orch-spelling')).token;
    const bulk = (Name: string, Value: string) => t.call('POST', `${ACTIONS}.UpdateBulk`, { settings: [{ Name, Value }] }, fresh);
    expect((await bulk('Abp.Timing.TimeZone', 'europe/paris')).statusCode).toBe(200);
    expect((await t.call('GET', '/api/v1/tenants/orch-spelling', undefined, fresh)).json().timeZone).toBe('Europe/Paris');
    // ABP keeps Windows time zone ids, and scripts that copy an Orchestrator's settings send them.
    expect((await bulk('Abp.Timing.TimeZone', 'Tokyo Standard Time')).statusCode).toBe(200);
    expect((await t.call('GET', '/api/v1/tenants/orch-spelling', undefined, fresh)).json().timeZone).toBe('Asia/Tokyo');
    expect((await bulk('Abp.Timing.TimeZone', 'eastern standard time')).statusCode).toBe(200);
    expect((await t.call('GET', '/odata/Settings', undefined, fresh)).json().value).toContainEqual(
      expect.objectContaining({ Name: 'Abp.Timing.TimeZone', Value: 'America/New_York' }),
    );
    // UseDefaultCredentials "1" answered with Tocsin's own auth methods (auto, none, plain…), which no Orchestrator script knows.
    for (const Name of ['Abp.Net.Mail.Smtp.UseDefaultCredentials', 'Abp.Net.Mail.Smtp.EnableSsl']) {
      const res = await bulk(Name, '1');
      expect(res.statusCode).toBe(400);
      expect(res.json().errors).toEqual([{ path: Name, message: 'must be "true" or "false"' }]);
    }
  });
});
