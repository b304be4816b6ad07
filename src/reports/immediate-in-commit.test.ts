/**
 * A Fatal alert's immediate emails are decided and queued in the alert's own commit, leased to the
 * worker of the process that stored it, and sent from there with no claim; a process killed after
 * that commit and before the send leaves the rows to the lease's expiry, and another process
 * sends each exactly once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import type { Counter } from 'prom-client';
import { afterEach, expect, it, vi } from 'vitest';
import type { StartOptions } from '../server.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { describeEachDialect } from '../../test/support/storage.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The lease the killed process writes: short, so that the other process takes the row over soon. */
const LEASE_MS = 1_000;
/**
 * The lease of the process that takes the rows over: it does so once the database has answered it
 * for a whole lease of its own (answered-time.ts), 10 s after its start with the default lease.
 */
const TAKER_LEASE_MS = 2_000;

/**
 * The preferences of the tests' readers: Fatal emails at once and no reports. The report scheduler
 * runs on the real clock (10-minute windows, a 10:00 daily report), so a reader also mailed its
 * summaries got one more email, row, attempt and claim whenever a window's end fell within a test,
 * which counts each of them.
 */
const IMMEDIATE_ONLY = { email: { fatalImmediately: true, tenMinuteSummary: false, dailyReport: false } };

const fatal = (robot: string, message: string) => ({
  severity: 'Fatal',
  component: 'Robots',
  event: 'Robot.StatusChanged.Offline',
  message,
  source: { robot },
});

describeEachDialect('Fatal alert to email in one commit', (dialect) => {
  let t: TestApp | undefined;
  let smtp: TestSmtpServer | undefined;
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await t?.close();
    await smtp?.close();
    t = smtp = undefined;
  });

  /**
   * start runs an all-in-one Tocsin sending to a real SMTP server, with a tenant whose alert emails
   * are on; `options` are startTocsin's (a shorter lease).
   */
  async function start(options: StartOptions = {}): Promise<{ t: TestApp; smtp: TestSmtpServer }> {
    smtp = await startTestSmtpServer();
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'all', TOCSIN_SMTP_URL: `smtp://127.0.0.1:${smtp.port}?from=alerts@example.com` }, options);
    await t.call('POST', '/api/v1/tenants', { name: 'ops' });
    await t.enableAlertEmails('ops');
    return { t, smtp };
  }

  async function optedIn(app: TestApp, email: string): Promise<{ id: string; token: string }> {
    const id = (await app.call('POST', '/api/v1/tenants/ops/users', { email, name: email.split('@')[0], roles: ['Alerts Viewer'] })).json().id;
    await app.call('PUT', `/api/v1/tenants/ops/users/${id}/alert-preferences`, IMMEDIATE_ONLY);
    const token = (await app.call('POST', `/api/v1/tenants/ops/users/${id}/tokens`, { name: 't' })).json().token as string;
    return { id, token };
  }

  function taken(app: TestApp): Promise<Record<string, number>> {
    const counter = app.tocsin.deps.metrics.registry.getSingleMetric('tocsin_deliveries_taken_total') as Counter<'how'>;
    return counter.get().then((m) => Object.fromEntries(m.values.filter((v) => v.value > 0).map((v) => [String(v.labels.how), v.value])));
  }

  it('sends the email with no claim, its row leased to this process as it was queued, and keeps mutes and preferences', async () => {
    const { t, smtp } = await start();
    await optedIn(t, 'ana@example.com');
    const ben = await optedIn(t, 'ben@example.com');
    const cy = (await t.call('POST', '/api/v1/tenants/ops/users', { email: 'cy@example.com', name: 'cy', roles: ['Alerts Viewer'] })).json().id;
    // No Fatal emails (never opted in), nor reports: a window ending mid-test would queue Cy's summary, claimed and counted.
    await t.call('PUT', `/api/v1/tenants/ops/users/${cy}/alert-preferences`, { email: { tenMinuteSummary: false, dailyReport: false } });
    const until = new Date(Date.now() + 3_600_000).toISOString();
    expect((await t.call('POST', '/api/v1/tenants/ops/mutes', { scope: 'user', match: { robot: 'R7' }, until }, ben.token)).statusCode).toBe(201);

    const res = await t.call('POST', '/api/v1/tenants/ops/alerts', fatal('R7', 'robot 7 is offline'));
    expect(res.statusCode).toBe(202);
    const [message] = await smtp.waitForMessages(1, 10_000);
    // Ana only: Ben muted the robot for himself, Cy never opted in.
    expect(message!.envelope.to).toEqual(['ana@example.com']);

    const db = t.tocsin.deps.storage.db;
    const rows = await db.selectFrom('deliveries').select(['id', 'recipient_address', 'created_at']).where('kind', '=', 'immediate').execute();
    expect(rows.map((r) => r.recipient_address)).toEqual(['ana@example.com']);
    expect(await taken(t)).toEqual({ insert: 1 });
    // Decided in the commit: nothing was left for the sweep.
    expect(await db.selectFrom('undecided_fatal_alerts').selectAll().execute()).toEqual([]);
    await vi.waitFor(async () => expect((await db.selectFrom('deliveries').select('status').executeTakeFirstOrThrow()).status).toBe('sent'), {
      timeout: 15_000,
      interval: 20,
    });
    // Leased at insert: its one attempt started as the row was queued, in the alert's commit (logged once it ended).
    const [attempt] = await db.selectFrom('delivery_attempts').select(['attempt', 'started_at']).where('delivery_id', '=', rows[0]!.id).execute();
    expect(attempt).toEqual({ attempt: 1, started_at: rows[0]!.created_at });
  });

  it("answers the robot while the SMTP server still holds back its answer to the alert's email, and sends the email once", async () => {
    const { t, smtp } = await start();
    await optedIn(t, 'ana@example.com');
    smtp.holdReplies();
    const res = await t.call('POST', '/api/v1/tenants/ops/alerts', fatal('R1', 'robot 1 is offline'));
    expect(res.statusCode).toBe(202);
    await smtp.waitForHeld(1, 10_000);
    smtp.releaseReplies();
    const [message] = await smtp.waitForMessages(1, 10_000);
    expect(message!.envelope.to).toEqual(['ana@example.com']);
  });

  it('leaves the rows of a process killed after the commit and before the send to the lease expiry; another process sends each once', async () => {
    const { t, smtp } = await start({ timings: { outboxLeaseMs: TAKER_LEASE_MS } });
    await optedIn(t, 'ana@example.com');
    await optedIn(t, 'ben@example.com');
    const tenantId = (await t.call('GET', '/api/v1/tenants/ops')).json().id as string;

    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, '../../test/support/processes/fatal-ingest-process.ts')], {
      env: { ...process.env, DATABASE_URL: t.tocsin.deps.config.databaseUrl, TENANT_ID: tenantId, LEASE_MS: String(LEASE_MS) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exit = await new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
    expect(exit, stderr).toBe('SIGKILL');

    const db = t.tocsin.deps.storage.db;
    const queued = await db.selectFrom('deliveries').select(['id', 'message_id', 'status', 'lease_owner', 'attempts']).execute();
    expect(queued).toHaveLength(2);
    for (const row of queued) expect(row).toMatchObject({ status: 'sending', attempts: 1, lease_owner: expect.stringMatching(/^worker-/) });
    expect(smtp.messages).toHaveLength(0);

    // This process's worker takes each row once the dead process's lease ran out and the database has
    // answered it for a whole lease of its own (answered-time.ts: at least TAKER_LEASE_MS after its
    // start, more when a loaded machine delays its heartbeats), and sends it.
    await vi.waitFor(async () => expect((await db.selectFrom('deliveries').select('status').execute()).map((r) => r.status)).toEqual(['sent', 'sent']), {
      timeout: 90_000,
      interval: 50,
    });
    // Each with its row's Message-ID, under the From address's domain once sent.
    expect(smtp.messages.map((m) => m.messageId).sort()).toEqual(queued.map((r) => r.message_id.replace(/@tocsin>$/, '@example.com>')).sort());
    const attempts = await db.selectFrom('delivery_attempts').select(['attempt', 'outcome']).orderBy('attempt').execute();
    expect(attempts.map((a) => a.outcome)).toEqual(['interrupted', 'interrupted', 'sent', 'sent']);
    expect(await taken(t)).toEqual({ claim: 2 });
  }, 180_000);

  it('sends each Fatal email through the mail settings in force when it is raised: a change applies to the next email, and each tenant keeps its own', async () => {
    const { t, smtp: system } = await start();
    const own = await startTestSmtpServer();
    try {
      await optedIn(t, 'ana@example.com');
      await t.call('POST', '/api/v1/tenants', { name: 'other' });
      await t.enableAlertEmails('other');
      const bo = (await t.call('POST', '/api/v1/tenants/other/users', { email: 'bo@example.com', name: 'bo', roles: ['Alerts Viewer'] })).json().id;
      await t.call('PUT', `/api/v1/tenants/other/users/${bo}/alert-preferences`, IMMEDIATE_ONLY);
      const raise = async (tenant: string, robot: string) =>
        expect((await t.call('POST', `/api/v1/tenants/${tenant}/alerts`, fatal(robot, `${robot} is offline`))).statusCode).toBe(202);

      await raise('ops', 'R1');
      await system.waitForMessages(1, 10_000);
      // Ops moves to its own server: its next email goes there, the other tenant's stays on the default.
      const custom = { host: '127.0.0.1', port: own.port, security: 'none', fromAddress: 'alerts@ops.example.com' };
      expect((await t.call('PUT', '/api/v1/tenants/ops/settings/mail', { useCustom: true, custom })).statusCode).toBe(200);
      await raise('ops', 'R2');
      const [mine] = await own.waitForMessages(1, 10_000);
      expect([mine!.envelope.from, mine!.envelope.to]).toEqual(['alerts@ops.example.com', ['ana@example.com']]);
      await raise('other', 'R3');
      const [, theirs] = await system.waitForMessages(2, 10_000);
      expect(theirs!.envelope.to).toEqual(['bo@example.com']);
      // And back to the default: the next email leaves from there again.
      expect((await t.call('PUT', '/api/v1/tenants/ops/settings/mail', { useCustom: false })).statusCode).toBe(200);
      await raise('ops', 'R4');
      const [, , back] = await system.waitForMessages(3, 10_000);
      expect(back!.envelope.to).toEqual(['ana@example.com']);
      expect(own.messages).toHaveLength(1);
    } finally {
      await own.close();
    }
  });

  it("renders an alert's only email whole, with its own greeting, action and unsubscribe links in both parts and List-Unsubscribe, which work", async () => {
    const { t, smtp } = await start();
    await optedIn(t, 'ana@example.com');
    expect((await t.call('POST', '/api/v1/tenants/ops/alerts', fatal('R9', 'robot 9 is offline'))).statusCode).toBe(202);
    const [message] = await smtp.waitForMessages(1, 10_000);
    const mail = await simpleParser(message!.raw);
    expect(mail.to).toMatchObject({ value: [{ address: 'ana@example.com', name: 'ana' }] });
    expect(mail.text).toContain('ana');
    expect(mail.text).toContain('robot 9 is offline');
    const links = [...(mail.text ?? '').matchAll(/https?:\/\/[^/\s]+\/(?:actions|unsubscribe)\/[\w.-]+/g)].map((m) => m[0]);
    // Acknowledge and snooze (an Alerts Viewer may not mute for everyone), and unsubscribe.
    expect(links.filter((l) => l.includes('/actions/'))).toHaveLength(2);
    const unsubscribe = links.find((l) => l.includes('/unsubscribe/'));
    // Unfolded: a header written whole may be folded before a long link.
    expect(message!.raw.replace(/\r\n[ \t]+/g, ' ')).toContain(`List-Unsubscribe: <${unsubscribe}>`);
    for (const link of links) {
      expect(mail.html).toContain(`href="${link}"`);
      expect((await t.tocsin.app.inject({ method: 'GET', url: new URL(link).pathname })).statusCode, link).toBe(200);
    }
  });

  it("renders each Fatal email with the tenant's name and the recipient's permissions in force when it is raised", async () => {
    const { t, smtp } = await start();
    const ana = await optedIn(t, 'ana@example.com');
    const next = async (robot: string, n: number) => {
      expect((await t.call('POST', '/api/v1/tenants/ops/alerts', fatal(robot, `${robot} is offline`))).statusCode).toBe(202);
      return simpleParser((await smtp.waitForMessages(n, 10_000))[n - 1]!.raw);
    };

    const first = await next('R1', 1);
    expect(first.subject).toMatch(/^ops: /);
    // An Alerts Viewer may snooze for herself, not mute for everyone.
    expect(first.text).not.toContain('Mute for everyone');
    expect((await t.call('PATCH', '/api/v1/tenants/ops', { displayName: 'Ops Europe' })).statusCode).toBe(200);
    expect((await t.call('PATCH', `/api/v1/tenants/ops/users/${ana.id}`, { roles: ['Alerts Viewer', 'Administrator'] })).statusCode).toBe(200);
    const second = await next('R2', 2);
    expect(second.subject).toMatch(/^Ops Europe: /);
    expect(second.text).toContain('Mute for everyone');
  });
});
