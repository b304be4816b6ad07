import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestSmtpServer, startTestSmtpServer, startVerbatimServer } from '../../test/support/smtp-servers.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { captureLog } from '../../test/support/log-capture.js';
import { up as keepAlertsEmailOfExistingTenants } from '../storage/migrations/20261129-61-settings-existing-tenants-keep-alerts-email.js';
import { up as keepPlaintextAuthOfOlderSettings } from '../storage/migrations/20261203-20-settings-older-plaintext-auth-kept.js';
import { loginOf } from '../delivery/smtp/transport-options.js';
import { describeEachDialect, openTestStorage } from '../../test/support/storage.js';
import { getMailSettings, getSystemSmtp, lockMailSettings, readSendSettings, sameSmtpHost, sentSecret } from './mail-settings.js';
import { effectiveSmtp, resolveEndpoint, toEndpoint } from './endpoint.js';
import { REFUSED_HOST_MESSAGE } from './host-guard.js';
import { SecretBox } from './secret-box.js';
import { urlSmtp } from './smtp-settings.js';
import { FakeClock } from '../shared/clock.js';
import { DEFAULT_BREAKER_POLICY } from '../delivery/outbox/circuit-breaker.js';
import { enqueueDeliveries } from '../delivery/outbox/enqueue.js';
import { testDelivery } from '../../test/support/outbox-fixtures.js';
import { until } from '../../test/support/until.js';
import { waitingBehindFloor } from '../../test/support/floor-lock.js';
import { hasIpv6Loopback } from '../../test/support/ports.js';

const IPV6_LOOPBACK = await hasIpv6Loopback();

const PASSWORD = 'Tr0ub4dor&3-secret-smtp';
const CONTEXT = { systemSmtp: urlSmtp('smtp://127.0.0.1:1'), allowPrivateHosts: true };

describeEachDialect('tenant and system mail settings', (dialect) => {
  let t: TestApp;
  const logged = captureLog();
  const answers: string[] = [];
  let server: TestSmtpServer;
  const call: TestApp['call'] = async (...args) => {
    const res = await t.call(...args);
    answers.push(res.body);
    return res;
  };
  // The test servers have no TLS the app would trust, so AUTH over plaintext is allowed explicitly.
  const smtpFor = (overrides: Record<string, unknown> = {}) => ({
    host: '127.0.0.1',
    port: server.port,
    security: 'none',
    allowPlaintextAuth: true,
    fromAddress: 'alerts@acme.example.com',
    fromDisplayName: 'Acme Alerts',
    ...overrides,
  });

  beforeAll(async () => {
    t = await startTestApp(dialect, { LOG_LEVEL: 'trace' }, { logger: logged.log });
    server = await startTestSmtpServer({ auth: { username: 'robot', password: PASSWORD } });
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  it('starts from the defaults: alerts email off until enabled, the system default, report at 10:00', async () => {
    const { tenantId } = await t.tenantWithUser('mail-a');
    const res = await call('GET', '/api/v1/tenants/mail-a/settings/mail');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      alertsEmailEnabled: false,
      useCustom: false,
      custom: null,
      dailyReportTime: '10:00',
      sendEmptyDailyReport: false,
      fallbackToDefault: false,
    });
    const deps = t.tocsin.deps;
    await expect(resolveEndpoint(deps.storage.db, deps.secretBox, tenantId, CONTEXT)).rejects.toMatchObject({ reason: 'alerts-email-disabled' });
    const enabled = await call('PUT', '/api/v1/tenants/mail-a/settings/mail', { alertsEmailEnabled: true });
    expect(enabled.json()).toEqual({
      alertsEmailEnabled: true,
      useCustom: false,
      custom: null,
      dailyReportTime: '10:00',
      sendEmptyDailyReport: false,
      fallbackToDefault: false,
    });
  });

  it('saves custom settings, maps Enable SSL, and answers passwordSet but never the password', async () => {
    const res = await call('PUT', '/api/v1/tenants/mail-a/settings/mail', {
      useCustom: true,
      dailyReportTime: '07:30:15',
      sendEmptyDailyReport: true,
      custom: { host: 'smtp.gmail.com', port: 465, enableSsl: true, username: 'me@gmail.com', password: PASSWORD, fromAddress: 'me@gmail.com' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      useCustom: true,
      dailyReportTime: '07:30:15',
      sendEmptyDailyReport: true,
      custom: { host: 'smtp.gmail.com', port: 465, security: 'tls', enableSsl: true, passwordSet: true, authMethod: 'auto', domain: null },
    });
    expect(res.body).not.toContain(PASSWORD);
    const starttls = await call('PUT', '/api/v1/tenants/mail-a/settings/mail', { custom: { port: 587, enableSsl: true } });
    expect(starttls.json().custom).toMatchObject({ port: 587, security: 'starttls', username: 'me@gmail.com', passwordSet: true });
  });

  it('keeps the password when it is left out and clears it with null', async () => {
    const kept = await call('PUT', '/api/v1/tenants/mail-a/settings/mail', { custom: { fromDisplayName: 'Robots' } });
    expect(kept.json().custom).toMatchObject({ passwordSet: true, fromDisplayName: 'Robots' });
    const cleared = await call('PUT', '/api/v1/tenants/mail-a/settings/mail', { custom: { password: null } });
    expect(cleared.json().custom.passwordSet).toBe(false);
    await call('PUT', '/api/v1/tenants/mail-a/settings/mail', { custom: { password: PASSWORD } });
  });

  it("sets a field back to a new tenant's value with null, and keeps the ones left out", async () => {
    await t.tenantWithUser('mail-null');
    const path = '/api/v1/tenants/mail-null/settings/mail';
    const custom = { host: 'smtp.example.com', port: 587, security: 'starttls', fromAddress: 'a@example.com', authMethod: 'login' };
    const set = await call('PUT', path, {
      alertsEmailEnabled: true,
      dailyReportTime: '07:15',
      sendEmptyDailyReport: true,
      fallbackToDefault: true,
      custom: { ...custom, username: 'u', password: 'p', timeoutMs: 5_000, allowPlaintextAuth: true },
    });
    expect(set.statusCode, set.body).toBe(200);
    const cleared = await call('PUT', path, {
      dailyReportTime: null,
      sendEmptyDailyReport: null,
      fallbackToDefault: null,
      custom: { authMethod: null, timeoutMs: null, allowPlaintextAuth: null },
    });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json()).toMatchObject({
      alertsEmailEnabled: true,
      dailyReportTime: '10:00',
      sendEmptyDailyReport: false,
      fallbackToDefault: false,
      custom: { username: 'u', passwordSet: true, authMethod: 'auto', timeoutMs: 30_000, allowPlaintextAuth: false },
    });
    expect((await call('PUT', path, { alertsEmailEnabled: null })).json().alertsEmailEnabled).toBe(false);
    // A required field has no value to go back to.
    const port = await call('PUT', path, { custom: { port: null } });
    expect(port.statusCode).toBe(400);
    expect(port.json().errors[0].path).toBe('custom.port');
  });

  it('keeps every field of saves made at the same time, each of a few fields', async () => {
    await t.tenantWithUser('mail-race');
    const base = '/api/v1/tenants/mail-race/settings/mail';
    for (const time of ['07:00', '08:00', '09:00']) {
      await call('PUT', base, { alertsEmailEnabled: null, sendEmptyDailyReport: null, fallbackToDefault: null });
      const saves = await Promise.all([
        call('PUT', base, { alertsEmailEnabled: true }),
        call('PUT', base, { dailyReportTime: time }),
        call('PUT', base, { sendEmptyDailyReport: true }),
        call('PUT', base, { fallbackToDefault: true }),
      ]);
      expect(saves.map((s) => s.statusCode)).toEqual([200, 200, 200, 200]);
      expect((await call('GET', base)).json()).toMatchObject({
        alertsEmailEnabled: true,
        dailyReportTime: time,
        sendEmptyDailyReport: true,
        fallbackToDefault: true,
      });
    }
  });

  it('clears the custom values for good when a save of other fields is under way: DELETE /settings/mail/custom waits for it', async () => {
    const { tenantId } = await t.tenantWithUser('mail-clear-race');
    const path = '/api/v1/tenants/mail-clear-race/settings/mail';
    const custom = {
      host: 'smtp.example.com',
      port: 587,
      security: 'starttls',
      authMethod: 'plain',
      username: 'u',
      password: 'p',
      fromAddress: 'a@example.com',
    };
    expect((await call('PUT', path, { useCustom: true, custom })).statusCode).toBe(200);
    const db = t.tocsin.deps.storage.db;
    let cleared: ReturnType<typeof call> | undefined;
    // A PUT of the report time, as saveMailSettings makes it: under the tenant's lock, the row read, then written back whole.
    await db.transaction().execute(async (tx) => {
      await lockMailSettings(tx, tenantId);
      const row = await tx.selectFrom('tenant_mail_settings').selectAll().where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
      cleared = call('DELETE', `${path}/custom`);
      await waitingBehindFloor(dialect, db, cleared, 'the DELETE waiting for the save');
      await tx
        .updateTable('tenant_mail_settings')
        .set({ custom_smtp: row.custom_smtp, use_custom: row.use_custom, daily_report_time: '12:00' })
        .where('tenant_id', '=', tenantId)
        .execute();
    });
    expect((await cleared!).statusCode).toBe(204);
    // Not the custom server back, switched on and without its password (PLAIN with none), as when the DELETE went between the read and the write.
    expect((await call('GET', path)).json()).toMatchObject({ useCustom: false, custom: null, dailyReportTime: '12:00' });
  });

  it('stores the password sealed, bound to the tenant', async () => {
    const { tenantId } = await t.tenantWithUser('mail-a');
    const { tenantId: otherId } = await t.tenantWithUser('mail-b');
    const db = t.tocsin.deps.storage.db;
    const row = await db.selectFrom('tenant_mail_settings').selectAll().where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(PASSWORD);
    expect(JSON.stringify(row)).not.toContain(Buffer.from(PASSWORD).toString('base64'));
    const resolved = await resolveEndpoint(db, t.tocsin.deps.secretBox, tenantId, CONTEXT);
    expect(resolved).toMatchObject({ host: 'smtp.gmail.com', password: PASSWORD, security: 'starttls' });
    // The same ciphertext copied into another tenant's row does not open there.
    await call('PUT', '/api/v1/tenants/mail-b/settings/mail', {
      alertsEmailEnabled: true,
      useCustom: true,
      custom: { host: 'x.example.com', port: 25, fromAddress: 'a@example.com' },
    });
    await db.updateTable('tenant_mail_settings').set({ custom_password: row.custom_password }).where('tenant_id', '=', otherId).execute();
    await expect(resolveEndpoint(db, t.tocsin.deps.secretBox, otherId, CONTEXT)).rejects.toMatchObject({ reason: 'unreadable-secret', retryable: false });
    await call('DELETE', '/api/v1/tenants/mail-b/settings/mail/custom');
  });

  it('keeps the custom values through custom → default → custom, and DELETE clears them', async () => {
    const toDefault = await call('PUT', '/api/v1/tenants/mail-a/settings/mail', { useCustom: false });
    expect(toDefault.json()).toMatchObject({ useCustom: false, custom: { host: 'smtp.gmail.com', passwordSet: true } });
    const { tenantId } = await t.tenantWithUser('mail-a');
    const onDefault = await resolveEndpoint(t.tocsin.deps.storage.db, t.tocsin.deps.secretBox, tenantId, CONTEXT);
    expect(onDefault).toMatchObject({ host: '127.0.0.1', port: 1, security: 'none' });
    const back = await call('PUT', '/api/v1/tenants/mail-a/settings/mail', { useCustom: true });
    expect(back.json()).toMatchObject({ useCustom: true, custom: { host: 'smtp.gmail.com', port: 587, passwordSet: true } });
    expect((await call('DELETE', '/api/v1/tenants/mail-a/settings/mail/custom')).statusCode).toBe(204);
    expect((await call('GET', '/api/v1/tenants/mail-a/settings/mail')).json()).toMatchObject({ useCustom: false, custom: null });
  });

  it('sends a tenant back on the system default through it alone, its fallbackToDefault left on: a refusal there fails the email, not resent at once', async () => {
    // fallbackToDefault is about the tenant's own server; on the system default there is nothing to fall back to,
    // and an endpoint marked as falling back turns each refusal for good into an immediate retry of the same server.
    const { tenantId } = await t.tenantWithUser('mail-fallback-idle');
    const path = '/api/v1/tenants/mail-fallback-idle/settings/mail';
    const custom = { host: 'smtp.example.com', port: 587, security: 'starttls', fromAddress: 'a@example.com' };
    expect((await call('PUT', path, { alertsEmailEnabled: true, useCustom: true, custom, fallbackToDefault: true })).statusCode).toBe(200);
    const own = await resolveEndpoint(t.tocsin.deps.storage.db, t.tocsin.deps.secretBox, tenantId, CONTEXT);
    expect(own).toMatchObject({ host: 'smtp.example.com', fallsBack: true });
    expect((await call('PUT', path, { useCustom: false })).json()).toMatchObject({ useCustom: false, fallbackToDefault: true });
    const onDefault = await resolveEndpoint(t.tocsin.deps.storage.db, t.tocsin.deps.secretBox, tenantId, CONTEXT);
    expect(onDefault).toMatchObject({ host: '127.0.0.1' });
    expect(onDefault.fallsBack ?? false).toBe(false);
  });

  it('clears the custom values with custom: null as DELETE does, going back to the default, unless the same PUT asks for custom', async () => {
    await t.tenantWithUser('mail-clear');
    const path = '/api/v1/tenants/mail-clear/settings/mail';
    const custom = { host: 'smtp.example.com', port: 587, security: 'starttls', username: 'u', password: 'p', fromAddress: 'a@example.com' };
    expect((await call('PUT', path, { alertsEmailEnabled: true, useCustom: true, custom })).statusCode).toBe(200);
    const both = await call('PUT', path, { useCustom: true, custom: null });
    expect(both.statusCode).toBe(400);
    expect(both.json().errors).toEqual([{ path: 'custom', message: 'is required when useCustom is true' }]);
    const cleared = await call('PUT', path, { custom: null });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json()).toMatchObject({ alertsEmailEnabled: true, useCustom: false, custom: null });
    expect((await call('GET', path)).json()).toMatchObject({ useCustom: false, custom: null });
  });

  it('names every required SMTP field still missing, not only the first', async () => {
    await call('POST', '/api/v1/tenants', { name: 'mail-missing' });
    const paths = (res: { json(): { errors?: { path: string }[] } }) => res.json().errors?.map((e) => e.path);
    const tenant = await call('PUT', '/api/v1/tenants/mail-missing/settings/mail', { useCustom: true, custom: { fromDisplayName: 'Ops' } });
    expect(tenant.statusCode, tenant.body).toBe(400);
    expect(paths(tenant)).toEqual(['custom.host', 'custom.port', 'custom.fromAddress']);
    expect(tenant.json().detail).toBe('custom.host: is required');
    expect((await call('GET', '/api/v1/tenants/mail-missing/settings/mail')).json()).toMatchObject({ useCustom: false, custom: null });
  });

  it('names each invalid field, refusing line breaks in anything that becomes a header', async () => {
    const bad = await call('PUT', '/api/v1/tenants/mail-a/settings/mail', {
      dailyReportTime: '25:00',
      custom: { host: 'bad host!', port: 70000, fromAddress: 'not-an-address', fromDisplayName: 'Evil\r\nBcc: x@example.com', username: 'a\nb' },
    });
    expect(bad.statusCode).toBe(400);
    const paths = bad.json<{ errors: { path: string }[] }>().errors.map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining(['dailyReportTime', 'custom.host', 'custom.port', 'custom.fromAddress', 'custom.fromDisplayName', 'custom.username']),
    );
    const missing = await call('PUT', '/api/v1/tenants/mail-a/settings/mail', { custom: { host: 'smtp.example.com' } });
    expect(missing.json()).toMatchObject({ status: 400, errors: [{ path: 'custom.port' }, { path: 'custom.fromAddress' }] });
    const noCustom = await call('PUT', '/api/v1/tenants/mail-a/settings/mail', { useCustom: true });
    expect(noCustom.json()).toMatchObject({ status: 400, errors: [{ path: 'custom' }] });
  });

  it('accepts IP hosts, internationalized names and addresses', async () => {
    const res = await call('PUT', '/api/v1/tenants/mail-a/settings/mail', {
      custom: { host: 'smtp.bücher.example', port: 25, security: 'none', fromAddress: 'alertes@bücher.example', fromDisplayName: 'Bücher 通知' },
    });
    expect(res.statusCode).toBe(200);
    const v6 = await call('PUT', '/api/v1/tenants/mail-a/settings/mail', { custom: { host: '2001:db8::25', fromAddress: 'δοκιμή@παράδειγμα.δοκιμή' } });
    expect(v6.json().custom).toMatchObject({ host: '2001:db8::25', fromAddress: 'δοκιμή@παράδειγμα.δοκιμή' });
    await call('DELETE', '/api/v1/tenants/mail-a/settings/mail/custom');
  });

  // Users copy a host from a URL, where an IPv6 address is written in brackets: smtp://[2001:db8::25]:587.
  it('takes an IPv6 address in brackets as the address, saves it bare and tests it', async () => {
    await t.tenantWithUser('mail-bracket');
    const saved = await call('PUT', '/api/v1/tenants/mail-bracket/settings/mail', {
      custom: { host: '[2001:db8::25]', port: 587, fromAddress: 'a@example.com' },
    });
    expect(saved.statusCode, saved.body).toBe(200);
    expect(saved.json().custom).toMatchObject({ host: '2001:db8::25' });
    const literal = await call('PUT', '/api/v1/tenants/mail-bracket/settings/mail', { custom: { host: '[IPv6:2001:db8::26]' } });
    expect(literal.json().custom).toMatchObject({ host: '2001:db8::26' });
    for (const bad of ['[smtp.example.com]', '[::1', '[]', '[2001:db8::zz]'])
      expect((await call('PUT', '/api/v1/tenants/mail-bracket/settings/mail', { custom: { host: bad } })).statusCode, bad).toBe(400);
    await call('DELETE', '/api/v1/tenants/mail-bracket/settings/mail/custom');
  });

  it.skipIf(!IPV6_LOOPBACK)('sends a test email to a server on the IPv6 loopback, written [::1] or ::1 (skipped where the machine has no ::1)', async () => {
    await t.tenantWithUser('mail-v6');
    const v6 = await startTestSmtpServer({ listenOn: '::1' });
    try {
      for (const host of ['[::1]', '::1']) {
        const res = await call('POST', '/api/v1/tenants/mail-v6/settings/mail/test', {
          sendTo: 'qa@example.com',
          settings: { ...smtpFor({ host, port: v6.port }), authMethod: 'none' },
        });
        expect(res.json(), host).toMatchObject({ ok: true });
      }
      expect(v6.messages).toHaveLength(2);
    } finally {
      await v6.close();
    }
  });

  it('lets Settings.View read but not write, and hides mail settings from others', async () => {
    const viewerRole = await call('POST', '/api/v1/tenants/mail-a/roles', { name: 'Mail viewer', permissions: ['Settings.View'] });
    expect(viewerRole.statusCode).toBe(201);
    const { token } = await t.tenantWithUser('mail-a', ['Mail viewer']);
    expect((await call('GET', '/api/v1/tenants/mail-a/settings/mail', undefined, token)).statusCode).toBe(200);
    expect((await call('PUT', '/api/v1/tenants/mail-a/settings/mail', { useCustom: false }, token)).statusCode).toBe(403);
    expect((await call('POST', '/api/v1/tenants/mail-a/settings/mail/test', {}, token)).statusCode).toBe(403);
    expect((await call('GET', '/api/v1/tenants/mail-b/settings/mail', undefined, token)).statusCode).toBe(404);
    expect((await call('GET', '/api/v1/system/mail-settings', undefined, token)).statusCode).toBe(403);
  });

  it('serves the system default from TOCSIN_SMTP_URL until the host admin saves others, which an empty PUT does not', async () => {
    const initial = await call('GET', '/api/v1/system/mail-settings');
    expect(initial.json()).toMatchObject({ host: '127.0.0.1', port: 1, security: 'none', source: 'url', passwordSet: false, fromAddress: 'tocsin@localhost' });
    // A PUT that sets no field changes nothing: the URL's settings are not saved in place of the URL
    // (which the next start's TOCSIN_SMTP_URL would then no longer change).
    const empty = await call('PUT', '/api/v1/system/mail-settings', {});
    expect(empty.statusCode).toBe(200);
    expect(empty.json()).toEqual(initial.json());
    expect((await call('GET', '/api/v1/system/mail-settings')).json()).toEqual(initial.json());
    // The default as served can be saved back as it is, its read-only source included (as a
    // tenant's passwordSet is): its From address has a one-label domain.
    const again = await call('PUT', '/api/v1/system/mail-settings', initial.json());
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ ...initial.json(), source: 'saved' });
    const saved = await call('PUT', '/api/v1/system/mail-settings', {
      host: '127.0.0.1',
      port: server.port,
      username: 'robot',
      password: PASSWORD,
      security: 'none',
      allowPlaintextAuth: true,
      fromAddress: 'tocsin@host.example.com',
    });
    expect(saved.statusCode).toBe(200);
    expect(saved.json()).toMatchObject({ source: 'saved', passwordSet: true, port: server.port, allowPlaintextAuth: true });
    expect(saved.body).not.toContain(PASSWORD);
  });

  it('keeps every field of system settings saved at the same time', async () => {
    const before = (await call('GET', '/api/v1/system/mail-settings')).json();
    for (const [i, name] of ['Tocsin A', 'Tocsin B', 'Tocsin C'].entries()) {
      const saves = await Promise.all([
        call('PUT', '/api/v1/system/mail-settings', { fromDisplayName: name }),
        call('PUT', '/api/v1/system/mail-settings', { timeoutMs: 20_000 + i }),
        call('PUT', '/api/v1/system/mail-settings', { domain: `CORP${i}` }),
      ]);
      expect(saves.map((s) => s.statusCode)).toEqual([200, 200, 200]);
      expect((await call('GET', '/api/v1/system/mail-settings')).json()).toMatchObject({ fromDisplayName: name, timeoutMs: 20_000 + i, domain: `CORP${i}` });
    }
    const { fromDisplayName, timeoutMs, domain } = before;
    expect((await call('PUT', '/api/v1/system/mail-settings', { fromDisplayName, timeoutMs, domain })).statusCode).toBe(200);
  });

  it('takes null for enableSsl, passwordSet and accessTokenSet, which keep no value of their own, as left out', async () => {
    await t.tenantWithUser('mail-null-derived');
    const path = '/api/v1/tenants/mail-null-derived/settings/mail';
    const custom = { host: 'smtp.example.com', port: 465, security: 'tls', username: 'u', password: 'p', fromAddress: 'a@example.com' };
    expect((await call('PUT', path, { custom })).statusCode).toBe(200);
    const nulls = { enableSsl: null, passwordSet: null, accessTokenSet: null };
    const tenant = await call('PUT', path, { custom: { ...nulls, domain: null } });
    expect(tenant.statusCode, tenant.body).toBe(200);
    expect(tenant.json().custom).toMatchObject({ port: 465, security: 'tls', enableSsl: true, passwordSet: true, domain: null });
    const saved = (await call('GET', '/api/v1/system/mail-settings')).json();
    const system = await call('PUT', '/api/v1/system/mail-settings', nulls);
    expect(system.statusCode, system.body).toBe(200);
    expect(system.json()).toEqual(saved);
  });

  it('refuses credentials over security none, naming each field that would be sent, unless allowPlaintextAuth is set explicitly', async () => {
    const { token } = await t.tenantWithUser('plain');
    const inClear = { host: '127.0.0.1', port: server.port, security: 'none', username: 'robot', password: PASSWORD, fromAddress: 'a@plain.example.com' };
    const tenantPut = await call('PUT', '/api/v1/tenants/plain/settings/mail', { useCustom: true, custom: inClear }, token);
    expect(tenantPut.statusCode).toBe(400);
    expect(tenantPut.json().errors).toEqual([
      { path: 'custom.username', message: expect.stringContaining('allowPlaintextAuth') },
      { path: 'custom.password', message: expect.stringContaining('allowPlaintextAuth') },
    ]);
    const systemPut = await call('PUT', '/api/v1/system/mail-settings', { ...inClear, username: null, allowPlaintextAuth: false });
    expect(systemPut.json()).toMatchObject({ status: 400, errors: [{ path: 'password' }] });
    const test = await call('POST', '/api/v1/tenants/plain/settings/mail/test', { sendTo: 'qa@example.com', settings: inClear }, token);
    expect(test.json()).toMatchObject({ status: 400, errors: [{ path: 'settings.username' }, { path: 'settings.password' }] });
    expect(server.authSeen.filter((a) => !a.secure)).toHaveLength(0);
    // Allowed explicitly, it is saved and answered; with TLS no permission is needed.
    const allowed = await call('PUT', '/api/v1/tenants/plain/settings/mail', { useCustom: true, custom: { ...inClear, allowPlaintextAuth: true } }, token);
    expect(allowed.json().custom).toMatchObject({ security: 'none', username: 'robot', allowPlaintextAuth: true });
    const tls = await call('PUT', '/api/v1/tenants/plain/settings/mail', { custom: { security: 'starttls', allowPlaintextAuth: false } }, token);
    expect(tls.json().custom).toMatchObject({ security: 'starttls', allowPlaintextAuth: false });
  });

  it('never sends AUTH in clear through settings saved before allowPlaintextAuth existed', async () => {
    const { tenantId, token } = await t.tenantWithUser('legacy');
    const legacy = {
      host: '127.0.0.1',
      port: server.port,
      security: 'none',
      domain: null,
      username: 'robot',
      authMethod: 'auto',
      fromAddress: 'a@legacy.example.com',
      fromDisplayName: null,
      timeoutMs: 5_000,
    };
    await t.tocsin.deps.storage.db
      .insertInto('tenant_mail_settings')
      .values({
        tenant_id: tenantId,
        alerts_email_enabled: 1,
        use_custom: 1,
        daily_report_time: '10:00',
        send_empty_daily_report: 0,
        custom_smtp: JSON.stringify(legacy),
        custom_password: t.tocsin.deps.secretBox.seal(PASSWORD, `tenant:${tenantId}:smtp-password`),
        custom_access_token: null,
        updated_at: 0,
      })
      .execute();
    const before = server.authSeen.length;
    const res = await call('POST', '/api/v1/tenants/legacy/settings/mail/test', { sendTo: 'qa@example.com' }, token);
    expect(res.json()).toMatchObject({ ok: false, stage: 'auth', message: expect.stringContaining('never sent without TLS') });
    expect(server.authSeen.length).toBe(before);
    expect((await call('GET', '/api/v1/tenants/legacy/settings/mail', undefined, token)).json().custom.allowPlaintextAuth).toBe(false);
  });

  it('sends a localized test email through the saved system default to the caller', async () => {
    const { userId, token } = await t.tenantWithUser('mail-c');
    await call('PATCH', `/api/v1/tenants/mail-c/users/${userId}`, { language: 'fr' });
    const res = await call('POST', '/api/v1/tenants/mail-c/settings/mail/test', {}, token);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body, JSON.stringify(body)).toMatchObject({ ok: true });
    expect(body.transcript.join('\n')).toContain('AUTH');
    const got = server.messages.find((m) => m.messageId === body.messageId)!;
    expect(got.envelope.to[0]).toMatch(/@mail-c\.example\.com$/);
    expect(got.raw).toMatch(/^X-Tocsin-Kind: test\r?$/m);
    expect(got.raw).toMatch(/^X-Tocsin-Tenant: mail-c\r?$/m);
    const parsed = await simpleParser(got.raw);
    expect(parsed.subject).toBe('mail-c\u00a0: e-mail de test de Tocsin');
    expect(parsed.from?.value[0]).toEqual({ address: 'tocsin@host.example.com', name: 'Tocsin' });
  });

  it("writes a tenant's test email for the host administrator in the language its console asks for, a user's always in the user's", async () => {
    const { userId, token } = await t.tenantWithUser('mail-lang');
    await call('PATCH', '/api/v1/tenants/mail-lang', { language: 'fr' });
    const subjectOf = async (res: { json(): any; statusCode: number; body: string }) => {
      expect(res.statusCode, res.body).toBe(200);
      const got = server.messages.find((m) => m.messageId === res.json().messageId)!;
      return (await simpleParser(got.raw)).subject;
    };
    // The host administrator has no language of its own: its console's, else the tenant's.
    const asked = await call('POST', '/api/v1/tenants/mail-lang/settings/mail/test', { sendTo: 'ops@host.example.com', language: 'de' });
    expect(await subjectOf(asked)).toBe('mail-lang: Test-E-Mail von Tocsin');
    const unasked = await call('POST', '/api/v1/tenants/mail-lang/settings/mail/test', { sendTo: 'ops@host.example.com' });
    expect(await subjectOf(unasked)).toBe('mail-lang\u00a0: e-mail de test de Tocsin');
    // A user's test email is in the user's language, whatever is asked.
    await call('PATCH', `/api/v1/tenants/mail-lang/users/${userId}`, { language: 'es' });
    const user = await call('POST', '/api/v1/tenants/mail-lang/settings/mail/test', { language: 'de' }, token);
    expect(await subjectOf(user)).toMatch(/correo de prueba/);
    const refused = await call('POST', '/api/v1/tenants/mail-lang/settings/mail/test', { sendTo: 'ops@host.example.com', language: 'xx' });
    expect(refused.json()).toMatchObject({ status: 400, errors: [{ path: 'language' }] });
  });

  it("tests the system default for the host administrator, saved or with unsaved values over it, as no tenant's email", async () => {
    const test = (body: unknown, as?: string) => call('POST', '/api/v1/system/mail-settings/test', body, as);
    const saved = await test({ sendTo: 'ops@host.example.com', language: 'de' });
    expect(saved.statusCode).toBe(200);
    expect(saved.json(), saved.body).toMatchObject({ ok: true });
    expect(saved.json().transcript.join('\n')).toContain('AUTH');
    const got = server.messages.find((m) => m.messageId === saved.json().messageId)!;
    expect(got.envelope.to[0]).toBe('ops@host.example.com');
    expect(got.raw).toMatch(/^X-Tocsin-Kind: test\r?$/m);
    expect(got.raw).not.toMatch(/^X-Tocsin-Tenant:/m);
    const parsed = await simpleParser(got.raw);
    expect(parsed.subject).toBe('Tocsin: Test-E-Mail der System-E-Mail-Einstellungen');
    expect(parsed.text).toContain('um die System-E-Mail-Einstellungen von Tocsin zu prüfen');

    // Unsaved values go over the saved ones (the saved password kept for the saved host) and are not saved.
    const wrong = await test({ sendTo: 'ops@host.example.com', settings: { password: 'not the password' } });
    expect(wrong.json()).toMatchObject({ ok: false, stage: 'auth', code: 535 });
    expect(wrong.body).not.toContain('not the password');
    const other = await test({ sendTo: 'ops@host.example.com', settings: { host: 'localhost' } });
    expect(other.json().errors).toEqual([{ path: 'settings.password', message: expect.stringContaining('type it again') }]);
    expect((await test({ sendTo: 'ops@host.example.com' })).json()).toMatchObject({ ok: true });

    // The host administrator's only: a tenant administrator gets 403, and sendTo is required.
    const { token } = await t.tenantWithUser('mail-system-test');
    expect((await test({ sendTo: 'ops@host.example.com' }, token)).statusCode).toBe(403);
    const bare = await test({});
    expect([bare.statusCode, bare.json().errors[0].path]).toEqual([400, 'sendTo']);
  });

  it('takes a test request with no body at all, as both its fields are optional: to the caller, through the saved settings', async () => {
    const { token } = await t.tenantWithUser('mail-bodiless');
    const me = (await call('GET', '/api/v1/tenants/mail-bodiless/me', undefined, token)).json();
    const res = await call('POST', '/api/v1/tenants/mail-bodiless/settings/mail/test', undefined, token);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ ok: true });
    expect(server.messages.find((m) => m.messageId === res.json().messageId)?.envelope.to).toEqual([me.email]);
  });

  it('takes null for sendTo and settings as left out, as every other optional field: to the caller, through the saved settings', async () => {
    const { token } = await t.tenantWithUser('mail-nulls');
    const me = (await call('GET', '/api/v1/tenants/mail-nulls/me', undefined, token)).json();
    const res = await call('POST', '/api/v1/tenants/mail-nulls/settings/mail/test', { sendTo: null, settings: null }, token);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ ok: true });
    expect(server.messages.find((m) => m.messageId === res.json().messageId)?.envelope.to).toEqual([me.email]);
  });

  it('tests unsaved settings merged over the saved ones (no retyping the password) and saves nothing', async () => {
    await call('PUT', '/api/v1/tenants/mail-c/settings/mail', {
      custom: smtpFor({ port: 2, authMethod: 'plain', username: 'robot', password: PASSWORD }),
    });
    const res = await call('POST', '/api/v1/tenants/mail-c/settings/mail/test', { sendTo: 'qa@example.com', settings: { port: server.port } });
    expect(res.json()).toMatchObject({ ok: true });
    expect(server.messages.some((m) => m.envelope.to[0] === 'qa@example.com')).toBe(true);
    expect((await call('GET', '/api/v1/tenants/mail-c/settings/mail')).json().custom.port).toBe(2);
  });

  it('sends the saved password only to the saved host: testing another host asks for it again', async () => {
    const { token } = await t.tenantWithUser('mail-host');
    const path = '/api/v1/tenants/mail-host/settings/mail/test';
    await call('PUT', '/api/v1/tenants/mail-host/settings/mail', {
      custom: smtpFor({ host: 'localhost', port: 2, authMethod: 'plain', username: 'robot', password: PASSWORD }),
    });
    // Another host, as an editor with a server of their own would name: refused before connecting.
    const other = await startTestSmtpServer({ auth: { username: 'robot', password: 'typed-again' } });
    const open = await startTestSmtpServer();
    try {
      const leaked = await call('POST', path, { sendTo: 'qa@example.com', settings: { host: '127.0.0.1', port: other.port } }, token);
      expect(leaked.statusCode, leaked.body).toBe(400);
      expect(leaked.json()).toMatchObject({ errors: [{ path: 'settings.password', message: expect.stringContaining('type it again') }] });
      expect(other.connections()).toBe(0);
      // Typed again, it goes there; no sign-in needs none.
      const typed = await call('POST', path, { sendTo: 'qa@example.com', settings: { host: '127.0.0.1', port: other.port, password: 'typed-again' } }, token);
      expect(typed.json()).toMatchObject({ ok: true });
      expect(other.authSeen).toHaveLength(1);
      const anonymous = await call('POST', path, { sendTo: 'qa@example.com', settings: { host: '127.0.0.1', port: open.port, authMethod: 'none' } }, token);
      expect(anonymous.json()).toMatchObject({ ok: true });
      expect(open.messages[0]!.user).toBeUndefined();
      // The saved host in other letters, on another port, is the saved host.
      const same = await call('POST', path, { sendTo: 'qa@example.com', settings: { host: 'LocalHost', port: server.port } }, token);
      expect(same.json()).toMatchObject({ ok: true });
      expect(server.messages.find((m) => m.messageId === same.json().messageId)?.user).toBe('robot');
    } finally {
      await other.close();
      await open.close();
    }
  });

  it('keeps the saved password with the saved host when a save names another: asks for it again, by PUT and by UpdateBulk', async () => {
    // The password is write-only, yet an editor who saved a server of their own as the host had it sent there with the next email.
    const { token } = await t.tenantWithUser('mail-save-host');
    const path = '/api/v1/tenants/mail-save-host/settings/mail';
    await call('PUT', path, { custom: smtpFor({ host: 'localhost', port: 2, authMethod: 'plain', username: 'robot', password: PASSWORD }) });
    const moved = await call('PUT', path, { custom: { host: '127.0.0.1' } }, token);
    expect(moved.statusCode, moved.body).toBe(400);
    expect(moved.json()).toMatchObject({ errors: [{ path: 'custom.password', message: expect.stringContaining('type it again') }] });
    const bulk = await call(
      'POST',
      '/odata/Settings/UiPath.Server.Configuration.OData.UpdateBulk',
      { settings: [{ Name: 'Abp.Net.Mail.Smtp.Host', Value: '127.0.0.1' }] },
      token,
    );
    expect(bulk.statusCode, bulk.body).toBe(400);
    expect((await call('GET', path)).json().custom).toMatchObject({ host: 'localhost', passwordSet: true });
    // The saved host in other letters, on another port, keeps it; typed again, it goes to the new host; a host without sign-in drops it.
    expect((await call('PUT', path, { custom: { host: 'LocalHost', port: 3 } }, token)).json().custom).toMatchObject({ passwordSet: true });
    const typed = await call('PUT', path, { custom: { host: '127.0.0.1', password: 'typed-again' } }, token);
    expect(typed.json().custom).toMatchObject({ host: '127.0.0.1', passwordSet: true });
    const anonymous = await call('PUT', path, { custom: { host: 'localhost', authMethod: 'none' } }, token);
    expect(anonymous.json().custom).toMatchObject({ host: 'localhost', passwordSet: false });
  });

  it('asks for the saved password again before sending it without TLS: a save or a test switching the saved server to security none', async () => {
    // Saved for STARTTLS by an administrator; an editor, to whom it is write-only, switched the same
    // host to security none with allowPlaintextAuth and had it sent in clear, to be read on the way.
    const { token } = await t.tenantWithUser('mail-in-clear');
    const path = '/api/v1/tenants/mail-in-clear/settings/mail';
    await call('PUT', path, {
      custom: smtpFor({ security: 'starttls', allowPlaintextAuth: false, authMethod: 'plain', username: 'robot', password: PASSWORD }),
    });
    const before = server.connections();
    const inClear = { security: 'none', allowPlaintextAuth: true };
    const test = await call('POST', `${path}/test`, { sendTo: 'qa@example.com', settings: inClear }, token);
    expect(test.statusCode, test.body).toBe(400);
    expect(test.json().errors).toEqual([{ path: 'settings.password', message: expect.stringContaining('type it again') }]);
    const save = await call('PUT', path, { custom: inClear }, token);
    expect(save.statusCode, save.body).toBe(400);
    expect(save.json().errors).toEqual([{ path: 'custom.password', message: expect.stringContaining('type it again') }]);
    expect(server.connections()).toBe(before);
    expect((await call('GET', path, undefined, token)).json().custom).toMatchObject({ security: 'starttls', passwordSet: true });
    // Typed again, it goes in clear as allowed; over TLS on another port of the saved host it is kept.
    const typed = await call('POST', `${path}/test`, { sendTo: 'qa@example.com', settings: { ...inClear, password: PASSWORD } }, token);
    expect(typed.json()).toMatchObject({ ok: true });
    expect((await call('PUT', path, { custom: { security: 'tls', port: 465 } }, token)).json().custom).toMatchObject({ security: 'tls', passwordSet: true });
  });

  it('reports the failing stage, code and server text', async () => {
    const rejecting = await startTestSmtpServer({ failures: [{ at: 'rcpt', code: 550, message: 'Mailbox unavailable' }] });
    try {
      const res = await call('POST', '/api/v1/tenants/mail-c/settings/mail/test', {
        sendTo: 'nobody@example.com',
        settings: { ...smtpFor({ port: rejecting.port }), authMethod: 'none' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ ok: false, stage: 'recipient', code: 550 });
      expect(res.json().message).toContain('Mailbox unavailable');
      const auth = await call('POST', '/api/v1/tenants/mail-c/settings/mail/test', {
        sendTo: 'nobody@example.com',
        settings: { port: server.port, password: `${PASSWORD}-wrong` },
      });
      expect(auth.json()).toMatchObject({ ok: false, stage: 'auth', code: 535 });
    } finally {
      await rejecting.close();
    }
  });

  it("reports a server's 530 at MAIL FROM as the stage to fix: auth when it wants a sign-in, tls when it wants STARTTLS first", async () => {
    await t.tenantWithUser('mail-530');
    const plainOnly = await startTestSmtpServer({ failures: [{ at: 'mail', code: 530, message: '5.7.0 Must issue a STARTTLS command first.' }] });
    try {
      const test = (port: number) =>
        call('POST', '/api/v1/tenants/mail-530/settings/mail/test', {
          sendTo: 'qa@example.com',
          settings: { ...smtpFor({ port }), authMethod: 'none' },
        });
      // The server requires AUTH, and the settings sign in with nothing.
      const unsigned = (await test(server.port)).json();
      expect(unsigned).toMatchObject({ ok: false, stage: 'auth', code: 530 });
      expect(unsigned.message).toMatch(/authentication Required/i);
      const unencrypted = (await test(plainOnly.port)).json();
      expect(unencrypted).toMatchObject({ ok: false, stage: 'tls', code: 530 });
      expect(unencrypted.message).toContain('Must issue a STARTTLS command first');
    } finally {
      await plainOnly.close();
    }
  });

  it('reports a security mode the port does not speak at the TLS stage, naming the mode the server expects', async () => {
    await t.tenantWithUser('mail-tls');
    const implicit = await startTestSmtpServer({ tls: 'implicit' });
    try {
      const test = (settings: Record<string, unknown>) =>
        call('POST', '/api/v1/tenants/mail-tls/settings/mail/test', { sendTo: 'qa@example.com', settings: { ...smtpFor(settings), authMethod: 'none' } });
      // Enable SSL on a port that speaks plain SMTP (and offers STARTTLS or nothing).
      const tlsOnPlain = (await test({ security: 'tls' })).json();
      expect(tlsOnPlain).toMatchObject({ ok: false, stage: 'tls' });
      expect(tlsOnPlain.message).toMatch(/expects STARTTLS or no TLS/);
      expect(tlsOnPlain.message).not.toMatch(/certificate/);
      // STARTTLS on a port that waits for a TLS handshake: no greeting comes, and the answer says why.
      const starttlsOnImplicit = (await test({ port: implicit.port, security: 'starttls', timeoutMs: 1_000 })).json();
      expect(starttlsOnImplicit).toMatchObject({ ok: false, stage: 'tls' });
      expect(starttlsOnImplicit.message).toMatch(/expects implicit TLS/);
    } finally {
      await implicit.close();
    }
  });

  it('says a port expects implicit TLS within seconds, not after the whole timeout, and the reverse at once', async () => {
    await t.tenantWithUser('mail-tls-fast');
    const implicit = await startTestSmtpServer({ tls: 'implicit' });
    try {
      const test = async (settings: Record<string, unknown>) => {
        const started = Date.now();
        const res = await call('POST', '/api/v1/tenants/mail-tls-fast/settings/mail/test', {
          sendTo: 'qa@example.com',
          settings: { ...smtpFor({ timeoutMs: 30_000, ...settings }), authMethod: 'none' },
        });
        return { answer: res.json(), tookMs: Date.now() - started };
      };
      for (const security of ['none', 'starttls']) {
        const { answer, tookMs } = await test({ port: implicit.port, security });
        expect(answer, security).toMatchObject({ ok: false, stage: 'tls' });
        expect(answer.message).toMatch(/expects implicit TLS/);
        expect(tookMs, security).toBeLessThan(8_000);
      }
      const { answer, tookMs } = await test({ security: 'tls' });
      expect(answer).toMatchObject({ ok: false, stage: 'tls' });
      expect(answer.message).toMatch(/expects STARTTLS or no TLS/);
      expect(tookMs).toBeLessThan(8_000);
    } finally {
      await implicit.close();
    }
  });

  it('shows every test email in the delivery log, sent or failed with the server reply, and never sends it again', async () => {
    const rejecting = await startTestSmtpServer({ failures: [{ at: 'rcpt', code: 550, message: 'Mailbox unavailable' }] });
    try {
      const sent = (await call('POST', '/api/v1/tenants/mail-c/settings/mail/test', { sendTo: 'log-ok@example.com', settings: { port: server.port } })).json();
      await call('POST', '/api/v1/tenants/mail-c/settings/mail/test', {
        sendTo: 'log-bad@example.com',
        settings: { ...smtpFor({ port: rejecting.port }), authMethod: 'none' },
      });
      const log = (await call('GET', '/api/v1/tenants/mail-c/deliveries?kind=test&limit=100')).json().items;
      expect(log.find((d: { recipient: string }) => d.recipient === 'log-ok@example.com')).toMatchObject({
        kind: 'test',
        status: 'sent',
        attempts: 1,
        messageId: sent.messageId,
        // As for an alert email sent: lastCode is the code of a failure, and there was none.
        lastError: null,
        lastCode: null,
      });
      const failed = log.find((d: { recipient: string }) => d.recipient === 'log-bad@example.com');
      // The server's refusal verbatim, as for an alert email that failed (smtpResponse is the last failure's reply).
      expect(failed).toMatchObject({ status: 'failed', attempts: 1, lastCode: 550, smtpResponse: '550 Mailbox unavailable' });
      expect(failed.lastError).toContain('Mailbox unavailable');
      expect(JSON.stringify(log)).not.toContain(PASSWORD);
      expect(server.messages.filter((m) => m.envelope.to[0] === 'log-ok@example.com')).toHaveLength(1);
    } finally {
      await rejecting.close();
    }
  });

  it('answers and logs a refusal holding a NUL character with U+FFFD in its place, rather than a 400 for a test that was made', async () => {
    // PostgreSQL stores no NUL in text: recording the test failed, so the test that had reached the
    // server was answered 400 'A value is out of range or cannot be stored'; SQLite kept the NUL.
    await t.tenantWithUser('mail-nul');
    const verbatim = await startVerbatimServer('550 5.1.1 No such\u0000 user here');
    try {
      const res = await call('POST', '/api/v1/tenants/mail-nul/settings/mail/test', {
        sendTo: 'nul@example.com',
        settings: { ...smtpFor({ port: verbatim.port }), authMethod: 'none' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ ok: false, stage: 'recipient', code: 550 });
      expect(res.json().message).toContain('No such\ufffd user here');
      const [logged] = (await call('GET', '/api/v1/tenants/mail-nul/deliveries?kind=test')).json().items;
      expect(logged).toMatchObject({ status: 'failed', lastCode: 550, smtpResponse: '550 5.1.1 No such\ufffd user here', lastError: res.json().message });
    } finally {
      await verbatim.close();
    }
  });

  it("cuts a server's reply of hundreds of kilobytes to 2,000 characters in the answer and the delivery log", async () => {
    // Every attempt of every email stored the whole of it (and every retry of a 4xx again), and every answer and page of the log carried it.
    await t.tenantWithUser('mail-long');
    const verbatim = await startVerbatimServer(`550 5.1.1 ${'x'.repeat(200_000)}`);
    try {
      const res = await call('POST', '/api/v1/tenants/mail-long/settings/mail/test', {
        sendTo: 'long@example.com',
        settings: { ...smtpFor({ port: verbatim.port }), authMethod: 'none' },
      });
      const answer = res.json();
      expect(answer).toMatchObject({ ok: false, stage: 'recipient', code: 550 });
      expect(answer.message.length).toBeLessThan(2_100);
      expect(answer.message).toMatch(/^Can't send mail - all recipients were rejected: 550 5\.1\.1 x+… \([\d,]+ more characters\)$/);
      const [logged] = (await call('GET', '/api/v1/tenants/mail-long/deliveries?kind=test')).json().items;
      expect(logged).toMatchObject({ lastError: answer.message });
      expect(logged.smtpResponse).toBe(`550 5.1.1 ${'x'.repeat(1_990)}… (198,010 more characters)`);
    } finally {
      await verbatim.close();
    }
  });

  it('names the SMTP host that did not resolve, its DNS code and whether that looks permanent, in the answer and the delivery log', async () => {
    await t.tenantWithUser('mail-dns');
    const res = await call('POST', '/api/v1/tenants/mail-dns/settings/mail/test', {
      sendTo: 'dns@example.com',
      settings: { ...smtpFor({ host: 'no-such-host.invalid', port: 2525 }), authMethod: 'none' },
    });
    const answer = res.json();
    expect(answer).toMatchObject({ ok: false, stage: 'connect' });
    // .invalid never resolves (RFC 6761); a machine with no reachable DNS server says so for now instead.
    expect(answer.message).toMatch(/^could not resolve the SMTP host "no-such-host\.invalid" \((ENOTFOUND|EAI_AGAIN)\): .*likely (permanent|transient)/);
    const [logged] = (await call('GET', '/api/v1/tenants/mail-dns/deliveries?kind=test')).json().items;
    expect(logged).toMatchObject({ status: 'failed', lastError: answer.message });
  });

  it('lists test emails newest first by when they started, a slow one below those started after it', async () => {
    await t.tenantWithUser('mail-order');
    const slow = await startTestSmtpServer({ dataReplyDelayMs: 1_500 });
    const fast = await startTestSmtpServer();
    try {
      const test = (port: number, sendTo: string) =>
        call('POST', '/api/v1/tenants/mail-order/settings/mail/test', { sendTo, settings: smtpFor({ port, authMethod: 'none' }) });
      const first = test(slow.port, 'slow@example.com');
      await slow.waitForCommand('DATA', 1);
      expect((await test(fast.port, 'fast@example.com')).json()).toMatchObject({ ok: true });
      expect((await first).json()).toMatchObject({ ok: true });
      const items = (await call('GET', '/api/v1/tenants/mail-order/deliveries?kind=test')).json().items;
      expect(items.map((d: { recipient: string }) => d.recipient)).toEqual(['fast@example.com', 'slow@example.com']);
      expect(Date.parse(items[0].createdAt)).toBeGreaterThan(Date.parse(items[1].createdAt));
      // Paged one by one, the same order.
      const page = (await call('GET', '/api/v1/tenants/mail-order/deliveries?kind=test&limit=1')).json();
      expect(page.items[0].recipient).toBe('fast@example.com');
      const next = (await call('GET', `/api/v1/tenants/mail-order/deliveries?kind=test&limit=1&cursor=${page.nextCursor}`)).json();
      expect(next.items.map((d: { recipient: string }) => d.recipient)).toEqual(['slow@example.com']);
    } finally {
      await Promise.all([slow.close(), fast.close()]);
    }
  });

  it('asks the host administrator for sendTo, and rate-limits a tenant to 10 tests a minute, requests refused as invalid not counted', async () => {
    await t.tenantWithUser('mail-limit');
    const test = (body: object) => call('POST', '/api/v1/tenants/mail-limit/settings/mail/test', body);
    // Refused before any connection: no test was made, so none counts against the 10.
    expect((await test({})).json()).toMatchObject({ status: 400, errors: [{ path: 'sendTo' }] });
    expect((await test({ sendTo: 'qa@example.com', settings: {} })).json()).toMatchObject({
      status: 400,
      errors: [{ path: 'settings.host' }, { path: 'settings.port' }, { path: 'settings.fromAddress' }],
    });
    const inClear = { ...smtpFor(), allowPlaintextAuth: false, username: 'robot' };
    expect((await test({ sendTo: 'qa@example.com', settings: inClear })).json()).toMatchObject({ status: 400, errors: [{ path: 'settings.username' }] });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) statuses.push((await test({ sendTo: 'qa@example.com', settings: smtpFor({ authMethod: 'none' }) })).statusCode);
    expect(statuses).toEqual(Array(10).fill(200));
    const limited = await test({ sendTo: 'qa@example.com' });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
  });

  it('asks for the password again when the stored one no longer decrypts (the key changed)', async () => {
    const { tenantId } = await t.tenantWithUser('mail-d');
    await call('PUT', '/api/v1/tenants/mail-d/settings/mail', {
      useCustom: true,
      custom: smtpFor({ authMethod: 'plain', username: 'robot', password: PASSWORD }),
    });
    const otherKey = SecretBox.fromPassphrase('some other installation key');
    await t.tocsin.deps.storage.db
      .updateTable('tenant_mail_settings')
      .set({ custom_password: otherKey.seal(PASSWORD, `tenant:${tenantId}:smtp-password`) })
      .where('tenant_id', '=', tenantId)
      .execute();
    const put = await call('PUT', '/api/v1/tenants/mail-d/settings/mail', { custom: { fromDisplayName: 'Renamed' } });
    expect(put.json()).toMatchObject({ status: 400, errors: [{ path: 'custom.password' }] });
    const test = await call('POST', '/api/v1/tenants/mail-d/settings/mail/test', { sendTo: 'qa@example.com' });
    expect(test.json()).toMatchObject({ ok: false, stage: 'auth' });
    expect(test.json().message).toContain('no longer decrypts');
    const again = await call('PUT', '/api/v1/tenants/mail-d/settings/mail', { custom: { password: PASSWORD } });
    expect(again.statusCode).toBe(200);
    expect((await call('POST', '/api/v1/tenants/mail-d/settings/mail/test', { sendTo: 'qa@example.com' })).json()).toMatchObject({ ok: true });
  });

  it('never shows the password in any answer or anywhere in the log', () => {
    for (const secret of [PASSWORD, Buffer.from(PASSWORD).toString('base64'), Buffer.from(`\0robot\0${PASSWORD}`).toString('base64')]) {
      expect(answers.join('\n')).not.toContain(secret);
      expect(logged.text()).not.toContain(secret);
    }
    expect(answers.length).toBeGreaterThan(20);
  });
});

describeEachDialect('Test Mail Settings with private SMTP hosts refused', (dialect) => {
  let t: TestApp;
  let server: TestSmtpServer;
  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS: 'false' });
    server = await startTestSmtpServer();
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });
  /** updateSmtpBulk saves a custom host and port as Orchestrator's UpdateBulk does. */
  const updateSmtpBulk = (host: string, port: string, token: string) =>
    t.call(
      'POST',
      '/odata/Settings/UiPath.Server.Configuration.OData.UpdateBulk',
      {
        settings: [
          { name: 'Abp.Net.Mail.Smtp.Host', value: host },
          { name: 'Abp.Net.Mail.Smtp.Port', value: port },
          { name: 'Abp.Net.Mail.DefaultFromAddress', value: 'a@example.com' },
        ],
      },
      token,
    );

  it('refuses loopback, private, metadata and mapped addresses and odd ports with one generic message', async () => {
    // Three tenants, as each may test 10 times a minute.
    const names = ['guarded-a', 'guarded-b', 'guarded-d'];
    const tokens = await Promise.all(names.map(async (name) => (await t.tenantWithUser(name)).token));
    const messages = new Set<string>();
    for (const [index, [host, port]] of (
      [
        ['127.0.0.1', server.port],
        ['localhost', 25],
        ['10.1.2.3', 587],
        ['169.254.169.254', 25],
        ['::ffff:127.0.0.1', 25],
        ['fd00::1', 465],
        ['100.64.0.1', 25],
        ['2130706433', 25],
        // Other spellings of loopback and "this host" that resolvers accept.
        ['0x7f000001', 25],
        ['0177.0.0.1', 25],
        ['127.1', 587],
        ['0.0.0.0', 25],
        ['::1', 25],
        // IPv6 addresses as URLs and SMTP address literals write them, in brackets.
        ['[::1]', 25],
        ['[IPv6:::1]', 587],
        ['[::ffff:127.0.0.1]', 25],
        ['[fd00::1]', 465],
        ['0:0:0:0:0:ffff:127.0.0.1', 25],
        ['192.168.1.1', 25],
        ['172.16.0.1', 465],
        ['no-such-host.invalid', 25],
        ['93.184.215.14', 6379],
        ['93.184.215.14', 5432],
      ] as const
    ).entries()) {
      const res = await t.call(
        'POST',
        `/api/v1/tenants/${names[index % 3]}/settings/mail/test`,
        { sendTo: 'qa@example.com', settings: { host, port, security: 'none', fromAddress: 'a@example.com' } },
        tokens[index % 3],
      );
      expect(res.json(), `${host}:${port}`).toMatchObject({ ok: false, stage: 'connect', transcript: [] });
      messages.add(res.json().message);
    }
    expect(messages.size).toBe(1);
    expect(server.connections()).toBe(0);
  });

  it("refuses the same hosts in Orchestrator's VerifySmtpSetting, with the same message, before connecting", async () => {
    const { token } = await t.tenantWithUser('guarded-c');
    for (const [Host, Port] of [
      ['127.0.0.1', server.port],
      ['169.254.169.254', 25],
      ['0x7f000001', 587],
    ] as const) {
      const res = await t.call(
        'POST',
        '/odata/Settings/UiPath.Server.Configuration.OData.VerifySmtpSetting',
        { sendTo: 'qa@example.com', smtpSettingModel: { Host, Port, EnableSsl: false, DefaultFromAddress: 'a@example.com' } },
        token,
      );
      expect(res.json(), Host).toMatchObject({ status: 400, errors: [{ path: 'smtpSettingModel.Host', message: REFUSED_HOST_MESSAGE }] });
    }
    expect(server.connections()).toBe(0);
  });

  it('refuses a loopback, private or link-local host when saved, with the same generic message, and saves public ones', async () => {
    const { token } = await t.tenantWithUser('guarded');
    const generic = (
      await t.call(
        'POST',
        '/api/v1/tenants/guarded/settings/mail/test',
        { sendTo: 'qa@example.com', settings: { host: '10.1.2.3', port: 25, security: 'none', fromAddress: 'a@example.com' } },
        token,
      )
    ).json().message;
    for (const host of ['127.0.0.1', 'localhost', '10.1.2.3', '192.168.0.9', '169.254.169.254', 'fe80::1', 'fd00::1', '::ffff:10.0.0.1']) {
      const res = await t.call(
        'PUT',
        '/api/v1/tenants/guarded/settings/mail',
        { useCustom: true, custom: { host, port: 587, security: 'starttls', fromAddress: 'a@example.com' } },
        token,
      );
      expect(res.statusCode, host).toBe(400);
      expect(res.json().errors, host).toEqual([{ path: 'custom.host', message: generic }]);
    }
    const bulk = await updateSmtpBulk('172.16.0.1', '25', token);
    expect(bulk.json()).toMatchObject({ status: 400, errors: [{ path: 'Abp.Net.Mail.Smtp.Host', message: generic }] });
    expect((await t.call('GET', '/api/v1/tenants/guarded/settings/mail', undefined, token)).json()).toMatchObject({ useCustom: false, custom: null });
    // A public address saves, and keeps its precise diagnostics for when it is tested.
    const saved = await t.call(
      'PUT',
      '/api/v1/tenants/guarded/settings/mail',
      { custom: { host: '93.184.215.14', port: 587, security: 'starttls', fromAddress: 'a@example.com' } },
      token,
    );
    expect(saved.json().custom).toMatchObject({ host: '93.184.215.14' });
    await t.call('DELETE', '/api/v1/tenants/guarded/settings/mail/custom', undefined, token);
    expect(server.connections()).toBe(0);
  });

  it('names the port, not the host, when a public host is saved on a port other than 25, 465, 587 or 2525', async () => {
    const { token } = await t.tenantWithUser('guarded-port');
    const custom = { host: '93.184.215.14', port: 8025, security: 'starttls', fromAddress: 'a@example.com' };
    const put = await t.call('PUT', '/api/v1/tenants/guarded-port/settings/mail', { useCustom: true, custom }, token);
    expect(put.statusCode).toBe(400);
    expect(put.json().errors).toEqual([{ path: 'custom.port', message: REFUSED_HOST_MESSAGE }]);
    const bulk = await updateSmtpBulk('93.184.215.14', '8025', token);
    expect(bulk.json()).toMatchObject({ status: 400, errors: [{ path: 'Abp.Net.Mail.Smtp.Port', message: REFUSED_HOST_MESSAGE }] });
    expect((await t.call('GET', '/api/v1/tenants/guarded-port/settings/mail', undefined, token)).json()).toMatchObject({ useCustom: false, custom: null });
  });

  it('refuses a tenant endpoint for the outbox too, but trusts the system default', async () => {
    const { tenantId } = await t.tenantWithUser('guarded');
    await t.enableAlertEmails('guarded');
    const deps = t.tocsin.deps;
    const context = { systemSmtp: urlSmtp(`smtp://127.0.0.1:${server.port}`), allowPrivateHosts: false };
    expect(await resolveEndpoint(deps.storage.db, deps.secretBox, tenantId, context)).toMatchObject({ port: server.port });
    // Saved while private hosts were still allowed (saving one now is refused, see above).
    const loopback = {
      host: '127.0.0.1',
      port: 25,
      security: 'none',
      domain: null,
      username: null,
      authMethod: 'auto',
      fromAddress: 'a@example.com',
      fromDisplayName: null,
      timeoutMs: 5_000,
    };
    await deps.storage.db
      .updateTable('tenant_mail_settings')
      .set({ use_custom: 1, custom_smtp: JSON.stringify(loopback) })
      .where('tenant_id', '=', tenantId)
      .execute();
    await expect(resolveEndpoint(deps.storage.db, deps.secretBox, tenantId, context)).rejects.toMatchObject({ reason: 'refused-host' });
    const pinned = resolveEndpoint(deps.storage.db, deps.secretBox, tenantId, {
      ...context,
      resolver: async () => ['93.184.215.14'],
    });
    await expect(pinned).rejects.toMatchObject({ reason: 'refused-host' });
  });
});

describeEachDialect('alert emails of tenants that existed before they started off', (dialect) => {
  it('stay on for a tenant that had no settings row, and stay as saved for one that had', async () => {
    const storage = await openTestStorage(dialect);
    try {
      const db = storage.db;
      const tenant = (id: string) => ({ id, name: id, display_name: id, time_zone: 'UTC', language: 'en', retention_days: 30, created_at: 0 });
      await db
        .insertInto('tenants')
        .values([tenant('never-saved'), tenant('saved-off'), tenant('saved-on')])
        .execute();
      const saved = (tenantId: string, on: number) => ({
        tenant_id: tenantId,
        alerts_email_enabled: on,
        use_custom: 0,
        daily_report_time: '07:00',
        send_empty_daily_report: 1,
        custom_smtp: null,
        custom_password: null,
        custom_access_token: null,
        updated_at: 5,
      });
      await db
        .insertInto('tenant_mail_settings')
        .values([saved('saved-off', 0), saved('saved-on', 1)])
        .execute();
      expect((await getMailSettings(db, 'never-saved')).alertsEmailEnabled).toBe(false);

      await keepAlertsEmailOfExistingTenants(db);

      expect(await getMailSettings(db, 'never-saved')).toMatchObject({
        alertsEmailEnabled: true,
        useCustom: false,
        dailyReportTime: '10:00',
        sendEmptyDailyReport: false,
      });
      expect(await getMailSettings(db, 'saved-off')).toMatchObject({ alertsEmailEnabled: false, dailyReportTime: '07:00', sendEmptyDailyReport: true });
      expect(await getMailSettings(db, 'saved-on')).toMatchObject({ alertsEmailEnabled: true, dailyReportTime: '07:00' });
      expect(await db.selectFrom('tenant_mail_settings').select('updated_at').where('tenant_id', '=', 'saved-off').executeTakeFirst()).toEqual({
        updated_at: 5,
      });
    } finally {
      await storage.close();
    }
  });
});

describeEachDialect('SMTP settings saved before allowPlaintextAuth existed', (dialect) => {
  it('keep signing in over a connection without TLS after the upgrade, as they did, and nothing else gains it', async () => {
    // Tocsin of 2026-11-29 23:04 sent a saved user name and password over security "none"; main
    // then refused them at every send ("credentials are never sent without TLS"), so the emails
    // queued before the upgrade failed for good and the tenant's mail stopped until someone acted.
    const storage = await openTestStorage(dialect);
    try {
      const db = storage.db;
      const box = SecretBox.fromPassphrase('upgrade-secret-key');
      const tenant = (id: string) => ({ id, name: id, display_name: id, time_zone: 'UTC', language: 'en', retention_days: 30, created_at: 0 });
      await db
        .insertInto('tenants')
        .values([tenant('plain-auth'), tenant('starttls'), tenant('relay'), tenant('no-auth')])
        .execute();
      // The JSON as the code of that time wrote it: no allowPlaintextAuth key.
      const oldSmtp = (overrides: Record<string, unknown>) =>
        JSON.stringify({
          host: '127.0.0.1',
          port: 2525,
          security: 'none',
          domain: null,
          username: 'user',
          authMethod: 'auto',
          fromAddress: 'alerts@acme.example.com',
          fromDisplayName: null,
          timeoutMs: 30000,
          ...overrides,
        });
      const saved = (tenantId: string, smtp: string, password: boolean) => ({
        tenant_id: tenantId,
        alerts_email_enabled: 1,
        use_custom: 1,
        daily_report_time: '10:00',
        send_empty_daily_report: 0,
        custom_smtp: smtp,
        custom_password: password ? box.seal(PASSWORD, `tenant:${tenantId}:smtp-password`) : null,
        custom_access_token: null,
        updated_at: 5,
      });
      await db
        .insertInto('tenant_mail_settings')
        .values([
          saved('plain-auth', oldSmtp({}), true),
          saved('starttls', oldSmtp({ security: 'starttls', port: 587 }), true),
          saved('relay', oldSmtp({ username: null }), false),
          saved('no-auth', oldSmtp({ authMethod: 'none' }), true),
        ])
        .execute();
      await db
        .insertInto('host_settings')
        .values({
          key: 'system-mail-settings',
          value: JSON.stringify({ smtp: oldSmtp({ username: 'host-user' }), password: box.seal(PASSWORD, 'system:smtp-password'), accessToken: null }),
          updated_at: 5,
        })
        .execute();

      await keepPlaintextAuthOfOlderSettings(db);

      const sendsWith = async (tenantId: string) => {
        const { smtp, secrets } = effectiveSmtp(box, await readSendSettings(db, tenantId), CONTEXT.systemSmtp);
        return loginOf(toEndpoint(smtp, secrets));
      };
      expect(await sendsWith('plain-auth')).toEqual({ user: 'user', credentials: { user: 'user', pass: PASSWORD } });
      expect((await getMailSettings(db, 'plain-auth')).custom).toMatchObject({ security: 'none', allowPlaintextAuth: true });
      expect((await getSystemSmtp(db, box, CONTEXT.systemSmtp)).smtp).toMatchObject({ username: 'host-user', allowPlaintextAuth: true });
      // Settings that send no credentials in clear are left as they were.
      for (const other of ['starttls', 'relay', 'no-auth']) {
        expect((await getMailSettings(db, other)).custom?.allowPlaintextAuth, other).toBe(false);
      }
      expect(await db.selectFrom('tenant_mail_settings').select(['custom_smtp', 'updated_at']).where('tenant_id', '=', 'starttls').executeTakeFirst()).toEqual({
        custom_smtp: oldSmtp({ security: 'starttls', port: 587 }),
        updated_at: 5,
      });
    } finally {
      await storage.close();
    }
  });
});

describeEachDialect('saving fixed mail settings', (dialect) => {
  it('sends the emails waiting for a retry at once with the new settings, not at their next retry', async () => {
    // The app's own worker sends; its fake clock never reaches the 30 s retry, so only the save can let the email go.
    const clock = new FakeClock(Date.now());
    const t = await startTestApp(dialect, {}, { clock });
    const broken = await startTestSmtpServer({ failures: [{ at: 'connect', code: 421, message: '4.3.2 Service shutting down' }] });
    const fixed = await startTestSmtpServer();
    try {
      const acme = await t.tenantWithUser('acme');
      await t.enableAlertEmails('acme');
      const use = (port: number) =>
        t.call('PUT', '/api/v1/tenants/acme/settings/mail', {
          useCustom: true,
          custom: { host: '127.0.0.1', port, security: 'none', authMethod: 'none', fromAddress: 'alerts@acme.example.com' },
        });
      expect((await use(broken.port)).statusCode).toBe(200);
      // As many as pause the server (its circuit breaker opens): the fixed settings name another one.
      const burst = Array.from({ length: DEFAULT_BREAKER_POLICY.failureThreshold }, (_, i) =>
        testDelivery(acme.tenantId, `ops${i}@acme.example.com`, { kind: 'immediate' }),
      );
      await enqueueDeliveries(t.tocsin.deps.storage.db, burst, clock);
      const logged = async () =>
        (await t.call('GET', '/api/v1/tenants/acme/deliveries?kind=immediate')).json().items as { status: string; nextAttemptAt: string }[];
      await until(async () => (await logged()).every((d) => d.status === 'retrying'), 'the 421s recorded');
      for (const d of await logged()) expect(Date.parse(d.nextAttemptAt)).toBeGreaterThan(clock.now());

      expect((await use(fixed.port)).statusCode).toBe(200);
      const messages = await fixed.waitForMessages(burst.length);
      expect(messages.map((m) => m.envelope.to[0]).sort()).toEqual(burst.map((d) => d.recipient.address).sort());
      await until(async () => (await logged()).every((d) => d.status === 'sent'), 'the emails recorded sent');
    } finally {
      await t.close();
      await Promise.all([broken.close(), fixed.close()]);
    }
  });
});

describeEachDialect('saving a fixed system default', (dialect) => {
  it('sends the emails of the tenants on the default that wait for a retry at once', async () => {
    const clock = new FakeClock(Date.now());
    const broken = await startTestSmtpServer({ failures: [{ at: 'connect', code: 421, message: '4.3.2 Service shutting down' }] });
    const fixed = await startTestSmtpServer();
    const t = await startTestApp(dialect, { TOCSIN_SMTP_URL: `smtp://127.0.0.1:${broken.port}?from=tocsin@example.com` }, { clock });
    try {
      const acme = await t.tenantWithUser('acme');
      await t.enableAlertEmails('acme');
      await enqueueDeliveries(t.tocsin.deps.storage.db, [testDelivery(acme.tenantId, 'ops@acme.example.com', { kind: 'immediate' })], clock);
      const logged = async () => (await t.call('GET', '/api/v1/tenants/acme/deliveries?kind=immediate')).json().items[0];
      await until(async () => (await logged())?.status === 'retrying', 'the 421 recorded');

      const saved = await t.call('PUT', '/api/v1/system/mail-settings', {
        host: '127.0.0.1',
        port: fixed.port,
        security: 'none',
        fromAddress: 'tocsin@example.com',
      });
      expect(saved.statusCode, saved.body).toBe(200);
      const [message] = await fixed.waitForMessages(1);
      expect(message!.envelope.to).toEqual(['ops@acme.example.com']);
    } finally {
      await t.close();
      await Promise.all([broken.close(), fixed.close()]);
    }
  });
});

describe('which host a test may send the saved secrets to', () => {
  it('tells the saved host from another one by name, whatever the letter case or a final dot, and knows which secret a login sends', () => {
    expect(sameSmtpHost('SMTP.Example.com.', 'smtp.example.com')).toBe(true);
    expect(sameSmtpHost('smtp.example.com', 'smtp.example.com.evil.example')).toBe(false);
    expect(sameSmtpHost('127.0.0.1', 'localhost')).toBe(false);
    const password = { password: 'p', accessToken: null };
    const token = { password: null, accessToken: 't' };
    expect(sentSecret({ username: 'u', authMethod: 'auto' }, password)).toBe('password');
    expect(sentSecret({ username: 'u', authMethod: 'auto' }, { password: 'p', accessToken: 't' })).toBe('password');
    // auto with a token alone signs in with it (XOAUTH2).
    expect(sentSecret({ username: 'u', authMethod: 'auto' }, token)).toBe('accessToken');
    expect(sentSecret({ username: 'u', authMethod: 'login' }, token)).toBe('password');
    expect(sentSecret({ username: 'u', authMethod: 'xoauth2' }, password)).toBe('accessToken');
    expect(sentSecret({ username: 'u', authMethod: 'none' }, password)).toBeNull();
    expect(sentSecret({ username: null, authMethod: 'auto' }, token)).toBeNull();
  });
});
