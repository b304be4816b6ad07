/**
 * R8 and R10, idempotent ingest to the last hop: the same Fatal alert arriving 100 times at once,
 * as one signed webhook message redelivered (same webhook-id) or as one dedup key raised by 100
 * callers, through one instance or two on one PostgreSQL, is one flood and gives each recipient
 * who opted in exactly one email at a real SMTP server.
 */
import { afterAll, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import pino from 'pino';
import { loadConfig } from '../config.js';
import { type Tocsin, startTocsin } from '../server.js';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';
import { type TestSmtpServer, kindOf, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { signingKey } from '../sources/secrets.js';
import { signStandardWebhook } from '../sources/signatures.js';

const COPIES = 100;
const OPTED_IN = ['ana@example.com', 'ben@example.com'];

describeEachDialect('one Fatal alert arriving 100 times at once', (dialect) => {
  let t: TestApp;
  let smtp: TestSmtpServer;

  beforeAll(async () => {
    // One mailbox of the 'mixed' tenant is gone: its server refuses it at RCPT, for good.
    smtp = await startTestSmtpServer({ failures: [{ at: 'rcpt', code: 550, address: 'gone@mixed.example.com', message: 'No such user' }] });
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'all', TOCSIN_SMTP_URL: `smtp://127.0.0.1:${smtp.port}?from=alerts@example.com` });
    await t.call('POST', '/api/v1/tenants', { name: 'once' });
    await t.enableAlertEmails('once');
    for (const email of OPTED_IN) {
      const id = (await t.call('POST', '/api/v1/tenants/once/users', { email, name: email.split('@')[0], roles: ['Alerts Viewer'] })).json().id;
      await t.call('PUT', `/api/v1/tenants/once/users/${id}/alert-preferences`, { email: { fatalImmediately: true } });
    }
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  const db = () => t.tocsin.deps.storage.db;

  /**
   * mailedOnce checks that each opted-in recipient got one email about the test's alert: one row
   * each, sent in one attempt, and one message at the server under its Message-ID. Every row that will ever exist was queued
   * in the alert's commit, which every answer came after, so nothing can follow.
   */
  async function mailedOnce() {
    await t.tocsin.decisionsSettled();
    expect(await db().selectFrom('undecided_fatal_alerts').selectAll().execute()).toEqual([]);
    const rows = () =>
      db()
        .selectFrom('deliveries')
        .select(['recipient_address', 'status', 'attempts', 'message_id'])
        .where('kind', '=', 'immediate')
        .where('id', 'not in', [...earlier, ''])
        .execute();
    expect((await rows()).map((r) => r.recipient_address).sort()).toEqual(OPTED_IN);
    await vi.waitFor(async () => expect((await rows()).every((r) => r.status === 'sent')).toBe(true), { timeout: 15_000, interval: 20 });
    expect((await rows()).map((r) => r.attempts)).toEqual([1, 1]);
    const ids = new Set((await rows()).map((r) => r.message_id));
    expect(
      smtp.messages
        .filter((m) => ids.has(m.messageId ?? ''))
        .flatMap((m) => m.envelope.to)
        .sort(),
    ).toEqual(OPTED_IN);
  }

  /**
   * withInstances runs `use` with the app of this Tocsin and, for two, of a second one on the same
   * database and SMTP server, which is closed once every decision it took has been made.
   */
  async function withInstances<T>(count: 1 | 2, use: (apps: Tocsin['app'][]) => Promise<T>): Promise<T> {
    if (count === 1) return use([t.tocsin.app]);
    const other = await startTocsin(
      loadConfig({
        DATABASE_URL: t.tocsin.deps.config.databaseUrl,
        TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN,
        // The same data directory: its secret key opens the sources' secrets, as instances share it.
        TOCSIN_DATA_DIR: t.tocsin.deps.config.dataDir,
        TOCSIN_SMTP_URL: `smtp://127.0.0.1:${smtp.port}?from=alerts@example.com`,
        TOCSIN_ROLE: 'all',
        PORT: '0',
        LOG_LEVEL: 'silent',
      }),
      { listen: false, logger: pino({ level: 'silent' }) },
    );
    try {
      const result = await use([t.tocsin.app, other.app]);
      await other.decisionsSettled();
      return result;
    } finally {
      await other.close();
    }
  }

  // The immediate rows of the tests before, so that each test counts its own.
  let earlier: string[] = [];
  beforeEach(async () => {
    earlier = (await db().selectFrom('deliveries').select('id').execute()).map((r) => r.id);
  });

  // Several instances share one database on PostgreSQL only (a SQLite file has one Tocsin).
  for (const instances of [1, 2] as const) {
    it.runIf(instances === 1 || dialect === 'postgres')(
      `stores a webhook message redelivered 100 times at once through ${instances} instance(s) once, answering each with its id, and mails it once`,
      async () => {
        const source = (await t.call('POST', '/api/v1/tenants/once/sources', { name: `ci-${instances}`, kind: 'webhook' })).json();
        const message = `deploy pipeline is down (redelivered through ${instances})`;
        const body = JSON.stringify({ severity: 'Fatal', component: 'Jobs', message });
        const timestamp = String(Math.floor(Date.now() / 1000));
        const id = `msg_redelivered_${instances}`;
        const signature = signStandardWebhook(signingKey('webhook', source.secret), id, timestamp, body);
        const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature };
        const answers = await withInstances(instances, (apps) =>
          Promise.all(
            Array.from({ length: COPIES }, (_, i) =>
              apps[i % apps.length]!.inject({ method: 'POST', url: new URL(source.url).pathname, headers, payload: body }),
            ),
          ),
        );
        expect(answers.map((a) => a.statusCode)).toEqual(Array(COPIES).fill(202));
        expect(new Set(answers.map((a) => a.json().ids.join())).size).toBe(1);
        expect(await db().selectFrom('alerts').select('id').where('message', '=', message).execute()).toHaveLength(1);
        await mailedOnce();
      },
    );
  }

  it('stores 100 concurrent raises of one dedup key, each answered, and mails the flood once', async () => {
    const message = 'robot 7 is offline (raised by 100 callers)';
    const answers = await Promise.all(
      Array.from({ length: COPIES }, () =>
        t.call('POST', '/api/v1/tenants/once/alerts', {
          severity: 'Fatal',
          component: 'Robots',
          event: 'Robot.StatusChanged.Offline',
          message,
          dedupKey: 'robot-7',
        }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(COPIES).fill(202));
    // Each raise is an alert of its own (the list counts the flood); the email is per dedup key.
    expect(await db().selectFrom('alerts').select('id').where('message', '=', message).execute()).toHaveLength(COPIES);
    expect(await db().selectFrom('alerts').select('group_id').distinct().where('message', '=', message).execute()).toHaveLength(1);
    await mailedOnce();
  });

  it.runIf(dialect === 'postgres')('mails a flood raised 100 times at once through two instances once', async () => {
    const message = 'robot 8 is offline (raised through two instances)';
    const payload = { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message, dedupKey: 'robot-8' };
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const answers = await withInstances(2, (apps) =>
      Promise.all(Array.from({ length: COPIES }, (_, i) => apps[i % 2]!.inject({ method: 'POST', url: '/api/v1/tenants/once/alerts', headers, payload }))),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(COPIES).fill(202));
    // One flood: the list shows one line for the key, whichever instance stored its alerts.
    const floods = await db().selectFrom('alerts').select('group_id').distinct().where('message', '=', message).execute();
    expect(floods).toHaveLength(1);
    await mailedOnce();
  });

  it("sends an alert's email once to each recipient the server takes, and fails only the one it refuses", async () => {
    await t.call('POST', '/api/v1/tenants', { name: 'mixed' });
    await t.enableAlertEmails('mixed');
    const addresses = ['ana@mixed.example.com', 'gone@mixed.example.com', 'ben@mixed.example.com'];
    for (const email of addresses) {
      const id = (await t.call('POST', '/api/v1/tenants/mixed/users', { email, name: email.split('@')[0], roles: ['Alerts Viewer'] })).json().id;
      await t.call('PUT', `/api/v1/tenants/mixed/users/${id}/alert-preferences`, { email: { fatalImmediately: true } });
    }
    const res = await t.call('POST', '/api/v1/tenants/mixed/alerts', {
      severity: 'Fatal',
      component: 'Robots',
      message: 'robot 9 is offline (mixed recipients)',
    });
    expect(res.statusCode).toBe(202);
    await t.tocsin.decisionsSettled();
    const rows = () =>
      db()
        .selectFrom('deliveries')
        .select(['recipient_address', 'status', 'attempts', 'last_code'])
        .where('kind', '=', 'immediate')
        .where('id', 'not in', [...earlier, ''])
        .execute();
    await vi.waitFor(async () => expect((await rows()).every((r) => r.status === 'sent' || r.status === 'failed')).toBe(true), {
      timeout: 15_000,
      interval: 20,
    });
    expect((await rows()).map((r) => [r.recipient_address, r.status, r.attempts, r.last_code]).sort()).toEqual([
      ['ana@mixed.example.com', 'sent', 1, null],
      ['ben@mixed.example.com', 'sent', 1, null],
      ['gone@mixed.example.com', 'failed', 1, 550],
    ]);
    // The Fatal emails about it: the report scheduler runs on the real clock, so a 10-minute window
    // ending meanwhile also mails the tenant's readers their summaries of the alert.
    const about = smtp.messages.filter((m) => kindOf(m.raw) === 'immediate' && m.raw.includes('robot 9 is offline'));
    expect(about.flatMap((m) => m.envelope.to).sort()).toEqual(['ana@mixed.example.com', 'ben@mixed.example.com']);
  });
});
