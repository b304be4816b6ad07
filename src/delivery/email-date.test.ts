import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { type TestSmtpServer, kindOf, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { FakeClock } from '../shared/clock.js';

const HOUR = 3_600_000;

describeEachDialect('the Date of an email on a machine whose clock is off the time Tocsin keeps', (dialect) => {
  let t: TestApp;
  let server: TestSmtpServer;
  let userId: string;
  // The time the process keeps, the database's (storage/database-clock.ts): an hour ahead of this machine's clock.
  const clock = new FakeClock(Date.now() + HOUR);

  beforeAll(async () => {
    server = await startTestSmtpServer();
    t = await startTestApp(dialect, { TOCSIN_SMTP_URL: `smtp://127.0.0.1:${server.port}` }, { clock });
    userId = (await t.tenantWithUser('dated')).userId;
    await t.enableAlertEmails('dated');
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  it('is the time Tocsin keeps, as the delivery log says, for an alert email and a test email alike', async () => {
    await t.call('PUT', `/api/v1/tenants/dated/users/${userId}/alert-preferences`, {
      email: { fatalImmediately: true, tenMinuteSummary: false, dailyReport: false },
    });
    expect((await t.call('POST', '/api/v1/tenants/dated/alerts', { severity: 'Fatal', component: 'Robots', message: 'R7 is offline' })).statusCode).toBe(202);
    const test = await t.call('POST', '/api/v1/tenants/dated/settings/mail/test', { sendTo: 'qa@dated.example.com' });
    expect(test.json()).toMatchObject({ ok: true });
    const received = await server.waitForMessages(2, 20_000);
    expect(received.map((m) => kindOf(m.raw)).sort()).toEqual(['immediate', 'test']);
    for (const message of received) {
      // Date is to the second: the kept time, not the machine's an hour before it.
      const date = (await simpleParser(message.raw)).date!.getTime();
      expect(Math.abs(date - clock.now()), kindOf(message.raw)).toBeLessThan(2_000);
    }
  });
});
