/**
 * The SMTP-health incident with two worker processes on one PostgreSQL (issue 13): both send the
 * tenant's alert emails to its own server, which refuses the old password (535), at the same
 * time; then the password is fixed and both deliver again. Whatever the interleaving, the tenant
 * gets one Mail.DeliveryFailing alert, and its administrator one warning and one recovery notice
 * through the system default. The workers are `tocsin serve` with TOCSIN_ROLE=worker, as deployed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDelivery } from '../../test/support/outbox-fixtures.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { DIALECTS, type TestDatabase, createTestDatabase } from '../../test/support/storage.js';
import { until } from '../../test/support/until.js';
import { loadConfig } from '../config.js';
import { notifyOutbox } from '../delivery/outbox/doorbell.js';
import { enqueueDeliveries } from '../delivery/outbox/enqueue.js';
import { type Tocsin, startTocsin } from '../server.js';
import { systemClock } from '../shared/clock.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ADMIN = 'incident-processes-admin-token-0123';
const PASSWORD = 'n3w-passw0rd-after-rotation';
const EMAILS = 20;
/** Two worker processes share two loaded cores with the rest: each wait allows a minute, looking every 100 ms. */
const LOOKS = { timeoutMs: 60_000, everyMs: 100 };

describe.runIf(DIALECTS.includes('postgres'))('the SMTP-health incident with two worker processes on PostgreSQL', () => {
  let database: TestDatabase;
  let system: TestSmtpServer;
  let own: TestSmtpServer;
  let api: Tocsin;
  let tenantId: string;
  const children: ChildProcess[] = [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-incident-'));
  const env = () => ({
    DATABASE_URL: database.url,
    TOCSIN_ADMIN_TOKEN: ADMIN,
    TOCSIN_DATA_DIR: dataDir,
    TOCSIN_SECRET_KEY: 'incident-processes-secret-key-0123456789',
    TOCSIN_SMTP_URL: `smtp://127.0.0.1:${system.port}?from=tocsin@example.com`,
    TOCSIN_PUBLIC_URL: 'https://tocsin.example.com',
    HOST: '127.0.0.1',
    PORT: '0',
  });

  const call = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) => {
    const res = await api.app.inject({ method, url: `/api/v1/tenants${url}`, headers: { authorization: `Bearer ${ADMIN}` }, ...(payload ? { payload } : {}) });
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
    return res.json();
  };
  const db = () => api.deps.storage.db;

  /** A worker process as deployed; resolves once it serves. */
  function startWorker(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, '../cli/main.ts'), 'serve'], {
      env: { ...process.env, ...env(), TOCSIN_ROLE: 'worker', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    return new Promise((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('tocsin is serving') && resolve(child));
      child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    });
  }

  /** until waits for a condition the workers bring about, checking every 100 ms, for at most 60 s. */
  const alertEmails = async (batch: string) => {
    await enqueueDeliveries(
      db(),
      Array.from({ length: EMAILS }, (_, i) => testDelivery(tenantId, `ops${i}@acme.example.com`, { kind: 'immediate', idempotencyKey: `${batch}:${i}` })),
      systemClock,
    );
    await notifyOutbox(db());
  };
  const settled = (batch: string, status: 'failed' | 'sent') => async () => {
    const rows = await db()
      .selectFrom('deliveries')
      .select('status')
      .where('tenant_id', '=', tenantId)
      .where('idempotency_key', 'like', `${batch}:%`)
      .execute();
    return rows.length === EMAILS && rows.every((r) => r.status === status);
  };
  const count = async (table: 'mail_health_notices' | 'deliveries' | 'alerts', where: (q: any) => any) =>
    Number(
      (
        await where(
          db()
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .where('tenant_id', '=', tenantId),
        ).executeTakeFirstOrThrow()
      ).n,
    );
  const notices = () => count('deliveries', (q) => q.where('kind', '=', 'mail-health'));
  const failingAlerts = () => count('alerts', (q) => q.where('event', '=', 'Mail.DeliveryFailing'));

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    system = await startTestSmtpServer();
    own = await startTestSmtpServer({ auth: { username: 'robot', password: PASSWORD } });
    api = await startTocsin(loadConfig({ ...env(), TOCSIN_ROLE: 'api', LOG_LEVEL: 'silent' }), { listen: false, logger: pino({ level: 'silent' }) });
    tenantId = (await call('POST', '', { name: 'acme' })).id;
    await call('POST', '/acme/users', { email: 'admin@acme.example.com', name: 'Ada', roles: ['Administrator'] });
    const custom = { host: '127.0.0.1', port: own.port, security: 'none', allowPlaintextAuth: true, username: 'robot', fromAddress: 'alerts@acme.example.com' };
    await call('PUT', '/acme/settings/mail', { alertsEmailEnabled: true, useCustom: true, custom: { ...custom, password: 'the-password-before-rotation' } });
    await Promise.all([startWorker(), startWorker()]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    await api?.close();
    await system?.close();
    await own?.close();
    await database?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('raises one alert, sends one warning and one recovery notice, whichever worker meets what', async () => {
    await alertEmails('refused');
    await until(settled('refused', 'failed'), 'the refused emails to fail', LOOKS);
    // The warning was queued in the commit that recorded the failure that began the incident.
    expect(await failingAlerts()).toBe(1);
    expect(await notices()).toBe(1);
    expect(await count('mail_health_notices', (q) => q)).toBe(1);
    await system.waitForMessages(1, 30_000);
    const warning = await simpleParser(system.messages[0]!.raw);
    expect(warning.headers.get('x-tocsin-kind')).toBe('mail-health');
    expect(warning.text).toContain('535');
    expect((await call('GET', '/acme/settings/mail/health')).state).toBe('failing');

    // The administrator enters the new password; both workers deliver again.
    await call('PUT', '/acme/settings/mail', { custom: { password: PASSWORD } });
    await alertEmails('delivered');
    await until(settled('delivered', 'sent'), 'the emails to be delivered', LOOKS);
    // The 20 alert emails, each once. Not every message at the tenant's server: the Mail.DeliveryFailing
    // alert is an Error alert its administrator reads, so when a 10-minute boundary of the real clock
    // falls here its summary goes there too.
    expect(
      own.messages
        .filter((m) => m.envelope.to[0]!.startsWith('ops'))
        .map((m) => m.envelope.to[0])
        .sort(),
    ).toEqual(Array.from({ length: EMAILS }, (_, i) => `ops${i}@acme.example.com`).sort());
    expect(await notices()).toBe(2);
    expect(await failingAlerts()).toBe(1);
    await system.waitForMessages(2, 30_000);
    expect((await simpleParser(system.messages[1]!.raw)).subject).toMatch(/work again/);
    expect((await call('GET', '/acme/settings/mail/health')).state).toBe('ok');
    await until(
      async () => (await db().selectFrom('deliveries').select('status').where('kind', '=', 'mail-health').execute()).every((r) => r.status === 'sent'),
      'the notices to be sent',
      LOOKS,
    );
    expect(system.messages).toHaveLength(2);
    // Its waits allow 60 s each: the two worker processes share two loaded cores with the rest.
  }, 180_000);
});
