/**
 * Acceptance test: an email that waits while its server is down (a tenant's, or the system default
 * for the mail-health notices) follows its reader to the address it has when the server is back: a
 * group mailbox moved meanwhile gets its summary there, once, and an administrator whose address
 * changed gets the notice that the tenant's mail is failing there; the former addresses get none,
 * and the delivery log shows where each went. Driven over HTTP, the emails read from real SMTP servers.
 */
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ListeningApp, startListeningApp } from '../support/http.js';
import { freePort } from '../support/ports.js';
import { type TestSmtpServer, startTestSmtpServer } from '../support/smtp-servers.js';
import { describeEachDialect } from '../support/storage.js';
import { until } from '../support/until.js';

describeEachDialect('an email waiting for a mailbox that moved', (dialect) => {
  let system: TestSmtpServer;
  let sink: TestSmtpServer;
  let refusing: TestSmtpServer;
  let app: ListeningApp;

  beforeAll(async () => {
    system = await startTestSmtpServer();
    sink = await startTestSmtpServer();
    // A tenant's server refusing every email for good (a suspended account): the tenant's mail fails at once.
    refusing = await startTestSmtpServer({ failures: [{ at: 'mail', code: 554, message: '5.7.1 Sender refused' }] });
    app = await startListeningApp(dialect, `smtp://127.0.0.1:${system.port}?from=alerts@example.com`);
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([system?.close(), sink?.close(), refusing?.close()]);
  });

  const serverOn = (port: number) => ({ useCustom: true, custom: { host: '127.0.0.1', port, security: 'none', fromAddress: 'alerts@acme.example' } });
  const log = async (tenant: string, kind: string) =>
    ((await app.api('GET', `/${tenant}/deliveries?kind=${kind}`)).items as { recipient: string; status: string }[]).map((d) => `${d.recipient} ${d.status}`);
  const systemMailSettings = async (port: number) => {
    const res = await app.call('PUT', '/api/v1/system/mail-settings', { host: '127.0.0.1', port, security: 'none', fromAddress: 'tocsin@example.com' });
    expect(res.statusCode, res.body).toBe(200);
  };

  it("sends a group mailbox's summary that waited on its server to the group's new address, once", async () => {
    await app.api('POST', '', { name: 'desks' });
    await app.api('PUT', '/desks/settings/mail', { alertsEmailEnabled: true, ...serverOn(await freePort()) });
    const desk = (await app.api('POST', '/desks/groups', { name: 'Desk', email: 'ops-desk@desks.example', roles: ['Alerts Viewer'] })).id;

    // The tenant's server is down: the group's summary fails to connect and waits for a retry.
    await app.api('POST', '/desks/alerts', { severity: 'Error', component: 'Queues', message: 'Claims stuck' });
    await until(async () => (await log('desks', 'summary')).includes('ops-desk@desks.example retrying'), 'the summary waiting for a retry');
    // Meanwhile the team's mailbox moves; then the server is fixed.
    await app.api('PATCH', `/desks/groups/${desk}`, { email: 'oncall-desk@desks.example' });
    await app.api('PUT', '/desks/settings/mail', serverOn(sink.port));

    const [message] = await sink.waitForMessages(1);
    expect(message!.envelope.to).toEqual(['oncall-desk@desks.example']);
    expect((await simpleParser(message!.raw)).to).toMatchObject({ value: [{ address: 'oncall-desk@desks.example' }] });
    await until(async () => (await log('desks', 'summary')).includes('oncall-desk@desks.example sent'), 'the summary sent');
    expect(await log('desks', 'summary')).toEqual(['oncall-desk@desks.example sent']);
  }, 60_000);

  it('tells an administrator whose address changed while the notice waited that the mail is failing, at the new address', async () => {
    await app.api('POST', '', { name: 'acme' });
    await app.api('PUT', '/acme/settings/mail', { alertsEmailEnabled: true, ...serverOn(refusing.port) });
    const admin = (await app.api('POST', '/acme/users', { email: 'admin-old@acme.example', name: 'Admin', roles: ['Administrator'] })).id;
    // The system default is down too: the notice to the administrator waits for it.
    await systemMailSettings(await freePort());

    await app.api('POST', '/acme/alerts', { severity: 'Error', component: 'Jobs', message: 'Payroll failed' });
    await until(async () => (await log('acme', 'mail-health')).includes('admin-old@acme.example retrying'), 'the notice waiting for a retry');
    // Meanwhile the administrator's address is corrected; then the system default is back.
    await app.api('PATCH', `/acme/users/${admin}`, { email: 'admin-new@acme.example' });
    await systemMailSettings(system.port);

    const [notice] = await system.waitForMessages(1);
    expect(notice!.envelope.to).toEqual(['admin-new@acme.example']);
    expect(notice!.raw).toMatch(/^X-Tocsin-Kind: mail-health/im);
    expect((await simpleParser(notice!.raw)).subject).toBe('Alert emails of acme are failing');
    await until(async () => (await log('acme', 'mail-health')).includes('admin-new@acme.example sent'), 'the notice sent');
    expect(await log('acme', 'mail-health')).toEqual(['admin-new@acme.example sent']);
  }, 60_000);
});
