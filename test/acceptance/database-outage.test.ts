/**
 * Acceptance test of an operator's bad day, told as a timeline: the built server run as
 * `tocsin serve`, a real SMTP server that holds its answer to each message's final ".", and the
 * database going away (PostgreSQL refusing connections with the server's own ended; SQLite's
 * write lock held by another process) just as the SMTP server takes the emails. The server's
 * 250s arrive while nothing can be written, and the database comes back only after the emails'
 * leases have run out, with a second instance working the same queue, and the first one stopped
 * (SIGSTOP) until the second has found the emails' leases run out: each email must still arrive
 * once, recorded sent at its first attempt.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_WORKER_SETTINGS } from '../../src/delivery/outbox/worker.js';
import { type TenantsApi, tenantsApi } from '../support/http.js';
import { type TestSmtpServer, startTestSmtpServer } from '../support/smtp-servers.js';
import { TEST_PG_URL, type TestDatabase, createTestDatabase, describeEachDialect } from '../support/storage.js';
import { until } from '../support/until.js';
import { type Started, ensureBuilt, killGroup, serveBuilt } from './processes.js';

const ADMIN = 'database-outage-admin-token-0123456789';
/** What an instance logs when it leaves emails whose lease ran out to the worker that holds them. */
const LEFT_TO_OWNER = /emails whose lease ran out are left to their worker/;
const RECIPIENTS = Array.from({ length: 10 }, (_, i) => `operator${i}@example.com`);

beforeAll(ensureBuilt, 180_000);

describeEachDialect('a database outage while the SMTP server takes the emails', (dialect) => {
  let database: TestDatabase;
  let smtp: TestSmtpServer;
  const servers: Started[] = [];
  let api: TenantsApi;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-outage-'));

  /** serve starts an instance of the built server (api and worker) and returns its URL. */
  const serve = (logLevel?: string) => serveBuilt({ databaseUrl: database.url, adminToken: ADMIN, dataDir, smtpPort: smtp.port, logLevel }, servers);

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    smtp = await startTestSmtpServer();
    // The alerts go to the first; the second works the same queue (on SQLite, the same file), and
    // says when it leaves emails whose lease ran out to their worker (info).
    api = tenantsApi(await serve(), ADMIN);
    await serve('info');
  }, 60_000);
  afterAll(async () => {
    for (const server of servers) killGroup(server);
    await smtp?.close();
    await database?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /**
   * takeDatabaseAway makes the database unusable to the server and returns how to give it back:
   * PostgreSQL refuses new connections and ends the server's (a maintenance, a restart); SQLite's
   * write lock is held by another connection (a backup or an operator's sqlite3 shell).
   */
  async function takeDatabaseAway(): Promise<() => Promise<void>> {
    if (dialect === 'sqlite') {
      const other = new Database(database.url.slice('sqlite:'.length));
      other.exec('begin exclusive');
      return async () => {
        other.exec('rollback');
        other.close();
      };
    }
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    const name = new URL(database.url).pathname.slice(1);
    await admin.query(`alter database ${name} allow_connections false`);
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
    return async () => {
      await admin.query(`alter database ${name} allow_connections true`);
      await admin.end();
    };
  }

  it('records the emails the SMTP server took while the database was away once it is back, and sends none of them twice, though another instance works the same queue', async () => {
    // 1. Ten people want Fatal alerts at once, and nothing else.
    await api('POST', '', { name: 'acme' });
    await api('PUT', '/acme/settings/mail', { alertsEmailEnabled: true });
    for (const email of RECIPIENTS) {
      const user = await api('POST', '/acme/users', { email, name: email.split('@')[0], roles: ['Alerts Viewer'] });
      await api('PUT', `/acme/users/${user.id}/alert-preferences`, { email: { fatalImmediately: true, tenMinuteSummary: false, dailyReport: false } });
    }

    // 2. A robot goes down; its ten emails reach the SMTP server, which reads each whole and
    // has not answered yet.
    smtp.holdReplies();
    await api('POST', '/acme/alerts', { alerts: [{ severity: 'Fatal', component: 'Robots', message: 'Robot R1 is down' }] });
    await smtp.waitForHeld(RECIPIENTS.length);

    // 3. The database goes away; then the SMTP server answers 250 to each email.
    const giveBack = await takeDatabaseAway();
    const awayAt = Date.now();
    smtp.releaseReplies();

    // 4. The outage lasts until the emails' leases have run out (no renewal reaches the database),
    // as a restart or a failover of a dozen seconds does: its length is the scenario, nothing is
    // checked by waiting.
    await new Promise((resolve) => setTimeout(resolve, awayAt + DEFAULT_WORKER_SETTINGS.leaseMs + 2_000 - Date.now()));

    // 5. The database comes back while the instance that sent the emails is stopped (a process
    // descheduled, swapped out, or slower to reconnect), so the other's claim surely comes before
    // its renewals; the other must leave the emails to it, not send them again.
    const [owner, other] = servers as [Started, Started];
    process.kill(owner.child.pid!, 'SIGSTOP');
    try {
      await giveBack();
      await until(
        () => LEFT_TO_OWNER.test(other.stdout()) || smtp.messages.length > RECIPIENTS.length,
        'the other instance to leave the emails to their sender, or to send them again',
        { timeoutMs: 30_000 },
      );
    } finally {
      process.kill(owner.child.pid!, 'SIGCONT');
    }
    expect(smtp.messages.length, 'emails sent again by the other instance').toBe(RECIPIENTS.length);

    // 6. Each email is recorded sent at its first attempt, and arrived once.
    let log: { recipient: string; status: string; attempts: number; messageId: string }[] = [];
    await until(
      async () => {
        log = (await api('GET', '/acme/deliveries?kind=immediate')).items;
        return log.length === RECIPIENTS.length && log.every((d) => d.status === 'sent');
      },
      'the ten emails to be recorded sent',
      { timeoutMs: 30_000 },
    );
    expect(log.map((d) => [d.recipient, d.attempts]).sort()).toEqual(RECIPIENTS.map((r) => [r, 1]));
    expect(smtp.messages.map((m) => m.messageId).sort()).toEqual(log.map((d) => d.messageId).sort());
  }, 90_000);
});
