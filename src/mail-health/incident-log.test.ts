/**
 * What an operator reading the logs learns of a tenant's mail incident: its start and its end, once
 * each, naming the tenant, with the server's reply. Each failed email is logged too, but a tenant's
 * server refusing everything makes one such line per email (hundreds in a soak run), and nothing
 * said when the incident began or ended.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { captureLog, captureWarnings } from '../../test/support/log-capture.js';
import { type TestOutboxDatabase, insertTestTenant, openTestOutboxDatabase, testDelivery } from '../../test/support/outbox-fixtures.js';
import { AttemptRecorder } from '../delivery/outbox/attempt-recorder.js';
import { enqueueDeliveries } from '../delivery/outbox/enqueue.js';
import { claimDue } from '../delivery/outbox/leases.js';
import type { AfterRecord, FinishedAttempt } from '../delivery/outbox/outcomes.js';
import { systemClock } from '../shared/clock.js';
import { StorageRejectedError, StorageUnavailableError } from '../storage/errors.js';
import { mailHealthAfterRecord } from './store.js';
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

describeEachDialect('the log of a mail incident whose commit fails', (dialect) => {
  let database: TestOutboxDatabase;
  beforeAll(async () => {
    database = await openTestOutboxDatabase(dialect);
  });
  afterAll(async () => {
    await database.close();
  });

  /** refusedForGood is a tenant's alert email claimed and refused for good (554): an incident starts. */
  const refusedForGood = async (tenantId: string): Promise<FinishedAttempt> => {
    await enqueueDeliveries(database.storage.db, [testDelivery(tenantId, 'ops@example.com', { kind: 'immediate' })], systemClock);
    const claimedAt = systemClock.now();
    const [delivery] = (await claimDue(database.storage, { workerId: 'test', now: claimedAt, leaseMs: 60_000, limit: 1 })).deliveries;
    const error = '554 5.7.1 relay access denied';
    return {
      deliveryId: delivery!.id,
      tenantId,
      leaseToken: delivery!.leaseToken!,
      attempt: delivery!.attempts,
      worker: 'test',
      claimedAt,
      startedAt: claimedAt,
      finishedAt: systemClock.now(),
      result: { status: 'failed', error, stage: 'recipient', code: 554, health: { kind: 'permanent', code: 554, error } },
    };
  };
  /** failingOnce makes the first commit of the real mail-health step fail with `err`, after it claimed the notice. */
  const failingOnce = (inner: AfterRecord, err: Error): AfterRecord => {
    let failed = false;
    return async (tx, recorded) => {
      const after = await inner(tx, recorded);
      if (failed) return after;
      failed = true;
      throw err;
    };
  };
  const noticesOf = (tenantId: string) => database.storage.db.selectFrom('mail_health_notices').selectAll().where('tenant_id', '=', tenantId).execute();

  it("logs an incident's start once when its commit is tried again, and not at all when its commit is refused for good", async () => {
    const { log, entries } = captureWarnings();
    const inner = mailHealthAfterRecord(dialect, { publicUrl: 'https://tocsin.example.com', log });
    const failing = (tenantId: string) => entries.filter((e) => e.msg === "a tenant's mail is failing; its administrators are told" && e.tenant === tenantId);

    // SQLite busy, or a dropped PostgreSQL connection: the claim is rolled back and made again.
    const retried = await insertTestTenant(database.storage.db, 'retried');
    const busy = new StorageUnavailableError('record', new Error('database is locked'));
    const recorder = new AttemptRecorder(database.storage, 0, failingOnce(inner, busy));
    expect(await recorder.record(await refusedForGood(retried))).toBe(false);
    expect(await noticesOf(retried)).toHaveLength(1);
    expect(failing(retried)).toHaveLength(1);

    // Refused for good: no incident recorded, none logged.
    const refused = await insertTestTenant(database.storage.db, 'refused');
    const rejected = new StorageRejectedError('record', 'unique', new Error('duplicate key'));
    const refusing = new AttemptRecorder(database.storage, 0, failingOnce(inner, rejected));
    await expect(refusing.record(await refusedForGood(refused))).rejects.toBe(rejected);
    expect(await noticesOf(refused)).toHaveLength(0);
    expect(failing(refused)).toHaveLength(0);
  });
});
