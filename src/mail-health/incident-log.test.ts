/**
 * What an operator reading the logs learns of a tenant's mail incident: its start and its end, once
 * each, naming the tenant, with the server's reply. Each failed email is logged too, but a tenant's
 * server refusing everything makes one such line per email (hundreds in a soak run), and nothing
 * said when the incident began or ended.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { captureLog } from '../../test/support/log-capture.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { until } from '../../test/support/until.js';

describeEachDialect('the log of a mail incident', (dialect) => {
  let t: TestApp;
  let system: TestSmtpServer;
  let refusing: TestSmtpServer;
  let working: TestSmtpServer;
  const logged = captureLog('info');
  const lines = () =>
    logged
      .text()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    system = await startTestSmtpServer();
    refusing = await startTestSmtpServer({ failures: [{ at: 'mail', code: 554, message: '5.7.1 relay access denied' }] });
    working = await startTestSmtpServer();
    // Role all: the real pipeline sends, as `tocsin serve` does.
    t = await startTestApp(dialect, { TOCSIN_SMTP_URL: `smtp://127.0.0.1:${system.port}?from=tocsin@example.com` }, { logger: logged.log });
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([system.close(), refusing.close(), working.close()]);
  });

  const useServer = async (server: TestSmtpServer) => {
    const custom = { host: '127.0.0.1', port: server.port, security: 'none', fromAddress: 'alerts@acme.example.com' };
    const res = await t.call('PUT', '/api/v1/tenants/acme/settings/mail', { useCustom: true, custom });
    expect(res.statusCode, res.body).toBe(200);
  };

  it("logs once when a tenant's mail starts failing and once when it works again, naming the tenant and the server's reply", async () => {
    const acme = await t.tenantWithUser('acme');
    await t.enableAlertEmails('acme');
    const prefs = await t.call('PUT', '/api/v1/tenants/acme/me/alert-preferences', { email: { fatalImmediately: true } }, acme.token);
    expect(prefs.statusCode, prefs.body).toBe(200);
    const fatal = (n: number) => t.call('POST', '/api/v1/tenants/acme/alerts', { severity: 'Fatal', component: 'Robots', message: `down ${n}` }, acme.token);

    await useServer(refusing);
    for (const n of [1, 2, 3]) expect((await fatal(n)).statusCode).toBe(202);
    const failing = () => lines().filter((l) => l.msg === "a tenant's mail is failing; its administrators are told");
    await until(() => failing().length > 0, 'the start of the incident logged', { timeoutMs: 60_000 });
    await until(() => lines().filter((l) => l.msg === 'delivery failed').length >= 3, 'the three emails given up', { timeoutMs: 60_000 });
    expect(failing()).toHaveLength(1);
    expect(failing()[0]).toMatchObject({
      level: 40,
      tenant: acme.tenantId,
      tenantName: 'acme',
      code: 554,
      error: expect.stringContaining('relay access denied'),
    });

    await useServer(working);
    expect((await fatal(4)).statusCode).toBe(202);
    const back = () => lines().filter((l) => l.msg === "a tenant's mail works again");
    await until(() => back().length > 0, 'the end of the incident logged', { timeoutMs: 60_000 });
    expect(back()).toEqual([expect.objectContaining({ level: 30, tenant: acme.tenantId, tenantName: 'acme' })]);
    expect(failing()).toHaveLength(1);
  }, 240_000);
});
