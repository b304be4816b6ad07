/**
 * Mail health end to end on both databases: a real SMTP server refuses the tenant's password, the
 * outbox records the attempt and the tenant's health with it, and the API answers what happened.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SmtpEndpoint } from '../delivery/contract.js';
import { AttemptRecorder } from '../delivery/outbox/attempt-recorder.js';
import { enqueueDeliveries } from '../delivery/outbox/enqueue.js';
import { testDelivery } from '../../test/support/outbox-fixtures.js';
import { DeliveryWorker } from '../delivery/outbox/worker.js';
import { createMailSender } from '../delivery/smtp/sender.js';
import { type TestSmtpServer, plainEndpointOf, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { FAILING_AFTER_MS, type MailHealthSignal } from './model.js';
import { getMailHealth, mailHealthAfterRecord, observeAndNotify } from './store.js';
import type { ClaimedTransition } from './notices.js';
import { afterUpdates } from '../../test/support/between-reads.js';

const T0 = Date.UTC(2026, 10, 30, 9);
const PASSWORD = 'c0rrect-h0rse-battery';

describeEachDialect('mail health', (dialect) => {
  let t: TestApp;
  let server: TestSmtpServer;
  let acme: { tenantId: string; token: string };
  const health = (token?: string) => t.call('GET', '/api/v1/tenants/acme/settings/mail/health', undefined, token);

  /** A worker on a fake clock whose emails are given up six minutes after they were queued (TOCSIN_DELIVERY_DEADLINE_HOURS=0.1). */
  const sixMinuteDeadlineWorker = (server: TestSmtpServer, clock: FakeClock) => {
    const storage = t.tocsin.deps.storage;
    const sender = createMailSender();
    const worker = new DeliveryWorker({
      storage,
      clock,
      sender,
      resolveEndpoint: async () => ({ ...plainEndpointOf(server), timeoutMs: 2_000 }),
      composers: {},
      recorder: new AttemptRecorder(storage, 0, mailHealthAfterRecord(storage.dialect, { publicUrl: 'https://tocsin.example.com' })),
      settings: { deliveryDeadlineMs: 6 * 60_000 },
    });
    return { sender, worker };
  };

  beforeAll(async () => {
    // An api-only app: the test's own worker, on a fake clock, is the only one that sends.
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    acme = await t.tenantWithUser('acme');
    server = await startTestSmtpServer({ auth: { username: 'robot', password: PASSWORD } });
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  it('keeps fallbackToDefault off until the tenant turns it on', async () => {
    expect((await t.call('GET', '/api/v1/tenants/acme/settings/mail')).json()).toMatchObject({ fallbackToDefault: false });
    const on = await t.call('PUT', '/api/v1/tenants/acme/settings/mail', { fallbackToDefault: true });
    expect(on.json()).toMatchObject({ fallbackToDefault: true });
    const kept = await t.call('PUT', '/api/v1/tenants/acme/settings/mail', { sendEmptyDailyReport: true });
    expect(kept.json()).toMatchObject({ fallbackToDefault: true, sendEmptyDailyReport: true });
    const bad = await t.call('PUT', '/api/v1/tenants/acme/settings/mail', { fallbackToDefault: 'yes' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual([expect.objectContaining({ path: 'fallbackToDefault' })]);
  });

  it('answers failing with the server reply after a refused password, and ok once an email is delivered', async () => {
    expect((await health(acme.token)).json()).toEqual({ state: 'ok' });
    const clock = new FakeClock(T0);
    const storage = t.tocsin.deps.storage;
    let password = 'the-old-password';
    const endpoint = (): SmtpEndpoint => ({
      host: 'localhost',
      port: server.port,
      security: 'none',
      allowPlaintextAuth: true,
      authMethod: 'plain',
      username: 'robot',
      password,
      fromAddress: 'alerts@acme.example.com',
      timeoutMs: 2_000,
    });
    const sender = createMailSender();
    const worker = new DeliveryWorker({
      storage,
      clock,
      sender,
      resolveEndpoint: async () => endpoint(),
      composers: {},
      recorder: new AttemptRecorder(storage, 0, mailHealthAfterRecord(storage.dialect, { publicUrl: 'https://tocsin.example.com' })),
    });
    try {
      await enqueueDeliveries(storage.db, [testDelivery(acme.tenantId, 'ops@acme.example.com', { kind: 'immediate' })], clock);
      await worker.runOnce();
      const failing = (await health(acme.token)).json();
      expect(failing).toMatchObject({ state: 'failing', since: new Date(T0).toISOString(), lastCode: 535 });
      expect(failing.lastError).toMatch(/535/);
      expect(JSON.stringify(failing)).not.toContain('the-old-password');

      password = PASSWORD;
      clock.advance(60_000);
      await enqueueDeliveries(storage.db, [testDelivery(acme.tenantId, 'ops@acme.example.com', { kind: 'immediate' })], clock);
      await worker.runOnce();
      expect((await health(acme.token)).json()).toEqual({ state: 'ok', since: new Date(T0 + 60_000).toISOString() });
    } finally {
      await sender.close();
    }
  });

  it('turns failing when an email is given up on at a deadline shorter than the transient wait', async () => {
    // TOCSIN_DELIVERY_DEADLINE_HOURS=0.1: a server that only ever says 451 loses the email after six
    // minutes, well before 15 minutes of transient failures would call the mail failing. The email
    // is gone, so the administrators must hear of it.
    const beta = await t.tenantWithUser('beta');
    const greylisting = await startTestSmtpServer({ failures: [{ at: 'rcpt', code: 451, message: '4.7.1 greylisted, come back later' }] });
    const clock = new FakeClock(T0);
    const storage = t.tocsin.deps.storage;
    const { sender, worker } = sixMinuteDeadlineWorker(greylisting, clock);
    const betaHealth = () => t.call('GET', '/api/v1/tenants/beta/settings/mail/health', undefined, beta.token);
    const betaEmail = async () =>
      (
        await storage.db
          .selectFrom('deliveries')
          .select(['status', 'next_attempt_at'])
          .where('tenant_id', '=', beta.tenantId)
          .where('kind', '=', 'immediate')
          .execute()
      )[0]!;
    try {
      await enqueueDeliveries(storage.db, [testDelivery(beta.tenantId, 'ops@beta.example.com', { kind: 'immediate' })], clock);
      await worker.runOnce();
      expect((await betaHealth()).json()).toEqual({ state: 'ok' });
      for (let tries = 0; tries < 10; tries += 1) {
        const row = await betaEmail();
        if (row.status === 'failed') break;
        clock.set(Number(row.next_attempt_at));
        await worker.runOnce();
      }
      expect(await betaEmail()).toMatchObject({ status: 'failed' });
      expect(clock.now() - T0).toBeLessThan(FAILING_AFTER_MS);
      expect((await betaHealth()).json()).toEqual({
        state: 'failing',
        since: new Date(T0).toISOString(),
        lastCode: 451,
        lastError: '451 4.7.1 greylisted, come back later',
      });
    } finally {
      await sender.close();
      await greylisting.close();
    }
  });

  it('starts no incident when one mailbox that refused for now is given up on while the server took the other emails', async () => {
    // A reader's mailbox full or greylisted (4xx to RCPT) until the deadline, while the same server took
    // every other email meanwhile: that mailbox's problem, as a 550 "no such user" is. It used to start
    // an incident at each email given up, which the next delivery ended: two notices to every
    // administrator and an Error alert each time.
    const gamma = await t.tenantWithUser('gamma');
    const server = await startTestSmtpServer({
      failures: [{ at: 'rcpt', code: 452, message: '4.2.2 <full@gamma.example.com>: mailbox full', address: 'full@gamma.example.com' }],
    });
    const clock = new FakeClock(T0);
    const storage = t.tocsin.deps.storage;
    const { sender, worker } = sixMinuteDeadlineWorker(server, clock);
    const gammaHealth = async () => (await t.call('GET', '/api/v1/tenants/gamma/settings/mail/health', undefined, gamma.token)).json();
    const fullEmail = async () =>
      (await storage.db
        .selectFrom('deliveries')
        .select(['status', 'next_attempt_at'])
        .where('tenant_id', '=', gamma.tenantId)
        .where('recipient_address', '=', 'full@gamma.example.com')
        .executeTakeFirst())!;
    const toOps = () => enqueueDeliveries(storage.db, [testDelivery(gamma.tenantId, 'ops@gamma.example.com', { kind: 'immediate' })], clock);
    try {
      await enqueueDeliveries(storage.db, [testDelivery(gamma.tenantId, 'full@gamma.example.com', { kind: 'immediate' })], clock);
      await worker.runOnce();
      for (let tries = 0; tries < 10; tries += 1) {
        const row = await fullEmail();
        if (row.status === 'failed') break;
        // The server takes another reader's email between each of the full mailbox's tries.
        clock.set(Number(row.next_attempt_at) - 1_000);
        await toOps();
        await worker.runOnce();
        clock.set(Number(row.next_attempt_at));
        await worker.runOnce();
      }
      expect(await fullEmail()).toMatchObject({ status: 'failed' });
      const gammaEmails = await storage.db
        .selectFrom('deliveries')
        .select(['kind', 'recipient_address', 'status'])
        .where('tenant_id', '=', gamma.tenantId)
        .execute();
      const toOpsSent = gammaEmails.filter((row) => row.recipient_address === 'ops@gamma.example.com');
      expect(toOpsSent.length).toBeGreaterThan(0);
      expect(toOpsSent.every((row) => row.status === 'sent')).toBe(true);
      expect((await gammaHealth()).state).toBe('ok');
      // No notice to the administrators: nothing was failing but that mailbox.
      expect(gammaEmails.filter((row) => row.kind === 'mail-health')).toEqual([]);
    } finally {
      await sender.close();
      await server.close();
    }
  });

  it("says a refused STARTTLS was the upgrade, not only the server's reply, which names no command", async () => {
    // "500 5.5.1 command not recognized" alone on the banner, the notice and the alert says nothing of TLS.
    // A tenant of its own: gamma's emails are counted by the test above, which ran after this one in another order.
    const delta = await t.tenantWithUser('delta');
    const plain = await startTestSmtpServer();
    const clock = new FakeClock(T0);
    const storage = t.tocsin.deps.storage;
    const sender = createMailSender();
    const worker = new DeliveryWorker({
      storage,
      clock,
      sender,
      resolveEndpoint: async () => ({ ...plainEndpointOf(plain), security: 'starttls', timeoutMs: 5_000 }),
      composers: {},
      recorder: new AttemptRecorder(storage, 0, mailHealthAfterRecord(storage.dialect, { publicUrl: 'https://tocsin.example.com' })),
    });
    try {
      await enqueueDeliveries(storage.db, [testDelivery(delta.tenantId, 'ops@delta.example.com', { kind: 'immediate' })], clock);
      await worker.runOnce();
      const failing = (await t.call('GET', '/api/v1/tenants/delta/settings/mail/health', undefined, delta.token)).json();
      expect(failing).toMatchObject({ state: 'failing', lastCode: expect.any(Number) });
      expect(failing.lastError).toMatch(/STARTTLS/);
      expect(failing.lastError).toContain(String(failing.lastCode));
    } finally {
      await sender.close();
      await plain.close();
    }
  });

  it.runIf(dialect === 'postgres')(
    'starts a new incident, with its warning, for a refusal observed by one worker while another records the recovery of the last [postgres]',
    async () => {
      // Two workers' commits on one tenant: without its health row locked while read, the refusal read
      // the incident still open, wrote it back over the recovery, and no warning told of the new one.
      const { tenantId } = await t.tenantWithUser('echo');
      const db = t.tocsin.deps.storage.db;
      const context = { publicUrl: 'https://tocsin.example.com' };
      const observe = (tx: typeof db, at: number, signal: MailHealthSignal) => observeAndNotify(tx, 'postgres', context, [{ tenantId, at, signal }]);
      const refused = { kind: 'permanent', code: 535, error: '535 5.7.8 bad credentials' } as const;
      await db.transaction().execute((tx) => observe(tx, T0, refused));
      const lockWaits = sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
      let refusal!: Promise<readonly ClaimedTransition[]>;
      // The refusal's worker comes once the recovery's has read the row, before it writes it back.
      const theRefusalComes = async () => {
        refusal = db.transaction().execute((tx) => observe(tx, T0 + 120_000, refused));
        // It waits for the row (or, were the row not locked, is done) before the recovery goes on.
        await Promise.race([refusal, expect.poll(async () => (await lockWaits.execute(db)).rows[0]!.n).toBe(1)]);
      };
      await db.transaction().execute((tx) => observe(afterUpdates(tx, 'tenant_mail_health', 0, theRefusalComes), T0 + 60_000, { kind: 'delivered' }));
      expect((await refusal).map((claimed) => claimed.change.transition)).toEqual(['failing']);
      expect(await getMailHealth(db, tenantId)).toMatchObject({ state: 'failing', incident: 2 });
    },
  );

  it('needs Settings.View', async () => {
    const viewer = await t.tenantWithUser('acme', ['Alerts Viewer']);
    expect((await health(viewer.token)).statusCode).toBe(403);
  });
});
