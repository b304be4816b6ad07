import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, ADMIN_TOKEN, startTestApp } from '../../test/support/http.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { type Tocsin, startTocsin } from '../server.js';
import { TEST_MAILS_PER_MINUTE, takeTestMailTurn } from './test-mail-limit.js';

describeEachDialect('the limit of Test Mail Settings across processes', (dialect) => {
  let first: TestApp;
  let second: Tocsin;
  let server: TestSmtpServer;

  beforeAll(async () => {
    first = await startTestApp(dialect);
    // A second api process on the same database, as behind a load balancer (README, Scale-out).
    second = await startTocsin({ ...first.tocsin.deps.config, role: 'api' }, { listen: false, logger: pino({ level: 'silent' }) });
    server = await startTestSmtpServer();
  });
  afterAll(async () => {
    await second.close();
    await first.close();
    await server.close();
  });

  /**
   * testUntilLimited sends the test of `url` the limit's number of times, through the two processes
   * in turn, then once more through each: all taken, then both refused. It returns the refusals.
   */
  async function testUntilLimited(url: string, payload: object) {
    const test = (app: Tocsin) => app.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, payload });
    // The server is the describe's: the other tests' emails are there too, whichever ran first.
    const before = server.messages.length;
    const statuses: number[] = [];
    for (let i = 0; i < TEST_MAILS_PER_MINUTE; i += 1) statuses.push((await test(i % 2 === 0 ? first.tocsin : second)).statusCode);
    expect(statuses).toEqual(Array(TEST_MAILS_PER_MINUTE).fill(200));
    const refusals = [await test(first.tocsin), await test(second)];
    for (const limited of refusals) {
      expect(limited.statusCode).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(server.messages.length - before).toBe(TEST_MAILS_PER_MINUTE);
    return refusals;
  }

  it(`lets a tenant send ${TEST_MAILS_PER_MINUTE} tests a minute in all, whichever process each request reaches`, async () => {
    await first.tenantWithUser('limit-shared');
    const settings = { host: '127.0.0.1', port: server.port, security: 'none', fromAddress: 'alerts@example.com' };
    await testUntilLimited('/api/v1/tenants/limit-shared/settings/mail/test', { sendTo: 'qa@example.com', settings });
  });

  it(`lets the host administrator test the system settings ${TEST_MAILS_PER_MINUTE} times a minute in all, then 429 as a tenant's test, whichever process`, async () => {
    // The system's Test Mail had no limit: a button that sent as many emails as it was clicked, to any address.
    const settings = { host: '127.0.0.1', port: server.port, security: 'none', fromAddress: 'system@example.com' };
    for (const limited of await testUntilLimited('/api/v1/system/mail-settings/test', { sendTo: 'host-qa@example.com', settings })) {
      expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(limited.json()).toMatchObject({ status: 429, title: 'Too Many Requests' });
    }
    // The tenants' own tests are counted apart.
    await first.tenantWithUser('limit-apart');
    const tenantTest = await first.call('POST', '/api/v1/tenants/limit-apart/settings/mail/test', { sendTo: 'qa@example.com', settings });
    expect(tenantTest.statusCode, tenantTest.body).toBe(200);
  });

  it(`never allows more than ${TEST_MAILS_PER_MINUTE} tests in any minute, across the edge of a minute too, and says how long to wait`, async () => {
    const db = first.tocsin.deps.storage.db;
    const { tenantId: a } = await first.tenantWithUser('limit-a');
    const { tenantId: b } = await first.tenantWithUser('limit-b');
    const take = (tenantId: string, at: number) => takeTestMailTurn(db, tenantId, at);
    // One at the start of a minute, the rest at its very end: a fixed window allowed ten more a second later.
    expect(await take(a, 0)).toEqual({ allowed: true });
    for (let i = 1; i < TEST_MAILS_PER_MINUTE; i++) expect(await take(a, 59_000)).toEqual({ allowed: true });
    expect(await take(b, 59_000)).toEqual({ allowed: true });
    // The first has left the last minute: one more, then none until the others are a minute old.
    expect(await take(a, 61_000)).toEqual({ allowed: true });
    expect(await take(a, 61_000)).toEqual({ allowed: false, retryAfterMs: 58_000 });
    for (let i = 1; i < TEST_MAILS_PER_MINUTE; i++) expect(await take(a, 119_000)).toEqual({ allowed: true });
    expect(await take(a, 119_000)).toEqual({ allowed: false, retryAfterMs: 2_000 });
  });

  it('counts no test stamped ahead of the clock, as when the clock was stepped back since', async () => {
    // Ten tests in the minute before NTP stepped the clock back an hour refused every test (429) for that hour.
    const db = first.tocsin.deps.storage.db;
    const { tenantId } = await first.tenantWithUser('limit-stepped');
    const hour = 3_600_000;
    for (let i = 0; i < TEST_MAILS_PER_MINUTE; i++) expect(await takeTestMailTurn(db, tenantId, hour + 59_000)).toEqual({ allowed: true });
    expect(await takeTestMailTurn(db, tenantId, 59_000)).toEqual({ allowed: true });
  });
});
