import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ADMIN_TOKEN, type TestApp, startTestApp } from '../../test/support/http.js';
import { captureLog } from '../../test/support/log-capture.js';
import { type TestSmtpServer, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { type TestDatabase, describeEachDialect } from '../../test/support/storage.js';
import { until } from '../../test/support/until.js';
import { newId } from '../shared/ids.js';
import { migrateWhenFree } from './connect.js';
import { migratorFor } from './migrate.js';
import { MIGRATIONS } from './migrations/index.js';
import { openStorage } from './storage.js';

/**
 * An installation of Tocsin of 2026-11-29 23:04 (867506e, the five migrations of 2026-11-27), as
 * its code wrote it: these values come from a database that version made through its API (its
 * generated secret.key, a password hash, a token and a session, the sealed SMTP password).
 */
const OLD = {
  lastMigration: '20261127-50-reports-preferences-and-windows',
  secretKey: '9VG/4C5mxl3xCawapiZWyKwYKLtfKnwLMQ7xICReeK4=',
  tenantId: '01a23c6d-0b1c-75dc-9692-83081470f698',
  ann: { id: '01a23c6d-0bcf-751c-958a-17b5ee59f5c4', password: 'ann-password-1' },
  annHash: '$argon2id$v=19$m=19456,t=2,p=1$lRVY4w2LyNtAdmMCHT1tqQ$H0P/1TFJZWxnA+0NfTs8iyNx8opCh0zVptweEMeo79I',
  annSession: {
    cookie: 'DVKuKJqMsjYJ_zMn9436YDOwW-9WSNOg6xRq_iLWGB4',
    idHash: 'ebc8fae7e5cd3e06f2855ca94ed8831ac75a1f578e56250d880dfb8ead433b98',
    csrf: 'w1cJeP6in6UHYeVSqVF4lxn4wysbV59AhIGRzTGVATE',
  },
  bob: { id: '01a23c6d-0db6-77da-96d8-4ae1d6ec6b72', token: 'tcs_4VKUuagn28QO54EJ7iQWyD9qWwodDRtxQAgP6mjSAU0' },
  bobTokenHash: '70be9e2f064098f2afed41df2804350f0fda284d6ef9c26bb3645b611de9621e',
  smtpPassword: 's3cret-smtp',
  sealedSmtpPassword: 'v1:WAhDamRcsCNdvIW0FzN0R6gY47RLIVqZKmqGAw6wGaxkU8Unq+pz',
  adminPermissions: ['Alerts.View', 'Alerts.Create', 'Alerts.Edit', 'Alerts.Delete', 'Settings.View', 'Settings.Edit', 'Users.View', 'Users.Edit'],
} as const;

const SEVERITY = { Info: 0, Warn: 2, Error: 3, Fatal: 4 } as const;
const SUMMARY_MS = 2_000;

/** OldInstallation is what installOld wrote that the checks look for. */
interface OldInstallation {
  /** The summary window the old version decided and sent. */
  readonly sentWindow: number;
  readonly alerts: { readonly summarised: string; readonly read: string; readonly fatal: string };
  readonly queuedId: string;
}

/**
 * installOld writes that installation: the schema of its migrations, its rows (times around now),
 * its secret key, with the tenant's SMTP server at `smtpPort`; an email waits for a retry, one
 * summary window was sent and two alerts came after it.
 */
async function installOld(database: TestDatabase, dataDir: string, smtpPort: number): Promise<OldInstallation> {
  fs.writeFileSync(path.join(dataDir, 'secret.key'), `${OLD.secretKey}\n`, { mode: 0o600 });
  const storage = await openStorage(database.url, { poolSize: 1 });
  try {
    const { error } = await migratorFor(storage).migrateTo(OLD.lastMigration);
    if (error) throw error;
    const db = storage.db;
    const now = Date.now();
    const sentWindow = Math.floor((now - 60_000) / SUMMARY_MS) * SUMMARY_MS;
    const t = OLD.tenantId;
    await db
      .insertInto('tenants')
      .values({ id: t, name: 'acme', display_name: 'acme', time_zone: 'Europe/Paris', language: 'fr', retention_days: 30, created_at: now - 120_000 })
      .execute();
    const role = (name: string, permissions: readonly string[]) => ({ id: newId(), tenant_id: t, name, permissions: JSON.stringify(permissions), built_in: 1 });
    const [admin, viewer] = [role('Administrator', OLD.adminPermissions), role('Alerts Viewer', ['Alerts.View'])];
    await db.insertInto('roles').values([admin, viewer]).execute();
    const user = (id: string, email: string, name: string, hash: string | null) => ({
      id,
      tenant_id: t,
      email,
      email_key: email,
      name,
      language: null,
      time_zone: 'Europe/Paris',
      active: 1,
      password_hash: hash,
      created_at: now - 110_000,
      updated_at: now - 110_000,
    });
    await db
      .insertInto('users')
      .values([user(OLD.ann.id, 'ann@acme.test', 'Ann', OLD.annHash), user(OLD.bob.id, 'bob@acme.test', 'Bob', null)])
      .execute();
    await db
      .insertInto('user_roles')
      .values([
        { user_id: OLD.ann.id, role_id: admin.id },
        { user_id: OLD.bob.id, role_id: viewer.id },
      ])
      .execute();
    await db
      .insertInto('api_tokens')
      .values({ id: newId(), tenant_id: t, user_id: OLD.bob.id, name: 'bob-script', token_hash: OLD.bobTokenHash, created_at: now - 100_000 })
      .execute();
    await db
      .insertInto('sessions')
      .values({
        id_hash: OLD.annSession.idHash,
        tenant_id: t,
        user_id: OLD.ann.id,
        csrf_token: OLD.annSession.csrf,
        created_at: now - 100_000,
        expires_at: now + 3_600_000,
      })
      .execute();
    await db
      .insertInto('user_alert_preferences')
      .values({
        owner_id: OLD.bob.id,
        tenant_id: t,
        subscriptions: JSON.stringify({ Robots: false, 'Robot.StatusChanged.Offline': true }),
        ten_minute_summary: 1,
        daily_report: 1,
        fatal_immediately: 1,
        updated_at: now - 100_000,
      })
      .execute();
    // Security none with a user name and password, as that version accepted and used them.
    const smtp = {
      host: '127.0.0.1',
      port: smtpPort,
      security: 'none',
      domain: null,
      username: 'user',
      authMethod: 'auto',
      fromAddress: 'alerts@acme.test',
      fromDisplayName: 'Acme alerts',
      timeoutMs: 30000,
    };
    await db
      .insertInto('tenant_mail_settings')
      .values({
        tenant_id: t,
        alerts_email_enabled: 1,
        use_custom: 1,
        daily_report_time: '10:00',
        send_empty_daily_report: 0,
        custom_smtp: JSON.stringify(smtp),
        custom_password: OLD.sealedSmtpPassword,
        custom_access_token: null,
        updated_at: now - 100_000,
      })
      .execute();
    const alert = (at: number, severity: keyof typeof SEVERITY, component: string, event: string, message: string) => ({
      id: newId(),
      tenant_id: t,
      severity: SEVERITY[severity],
      component,
      event,
      message,
      data: null,
      source: JSON.stringify({ process: 'P1' }),
      folder: null,
      dedup_key: null,
      group_id: null,
      occurred_at: at,
      created_at: at,
    });
    const summarised = alert(sentWindow + 500, 'Error', 'Jobs', 'Process.JobExecution.Faulted', 'job faulted 1');
    const read = alert(sentWindow + 700, 'Info', 'Robots', 'Robot.StatusChanged.Available', 'robot back');
    const fatal = alert(sentWindow + SUMMARY_MS + 300, 'Fatal', 'Robots', 'Robot.StatusChanged.Offline', 'robot offline 2');
    const unsent = alert(sentWindow + SUMMARY_MS + 400, 'Error', 'Jobs', 'Process.JobExecution.Faulted', 'job faulted 2');
    await db.insertInto('alerts').values([summarised, read, fatal, unsent]).execute();
    await db.insertInto('alert_read_state').values({ user_id: OLD.ann.id, alert_id: read.id, tenant_id: t, read: 1 }).execute();
    await db
      .insertInto('alert_read_marks')
      .values({ user_id: OLD.bob.id, tenant_id: t, read_through: now - 1_000 })
      .execute();
    const recipient = {
      recipient_address: 'bob@acme.test',
      recipient_name: 'Bob',
      recipient_language: 'fr',
      recipient_time_zone: 'Europe/Paris',
      recipient_user_id: OLD.bob.id,
      recipient_group_id: null,
    };
    const sentId = newId();
    const queuedId = newId();
    await db
      .insertInto('deliveries')
      .values([
        {
          id: sentId,
          tenant_id: t,
          kind: 'summary',
          idempotency_key: `summary:${t}:${sentWindow}:bob@acme.test`,
          ...recipient,
          window_start: sentWindow,
          window_end: sentWindow + SUMMARY_MS,
          payload: JSON.stringify({ data: { recipient: { type: 'user', id: OLD.bob.id } } }),
          message_id: `<${sentId}@tocsin>`,
          status: 'sent',
          attempts: 1,
          next_attempt_at: sentWindow + SUMMARY_MS + 100,
          smtp_response: '250 OK: message queued',
          created_at: sentWindow + SUMMARY_MS + 50,
          sent_at: sentWindow + SUMMARY_MS + 100,
          deadline: null,
        },
        {
          id: queuedId,
          tenant_id: t,
          kind: 'immediate',
          idempotency_key: `immediate:${t}:${fatal.id}:bob@acme.test`,
          ...recipient,
          window_start: null,
          window_end: null,
          payload: JSON.stringify({ data: { recipient: { type: 'user', id: OLD.bob.id }, alertId: fatal.id, groupId: fatal.id } }),
          message_id: `<${queuedId}@tocsin>`,
          status: 'retrying',
          attempts: 1,
          next_attempt_at: now - 1_000,
          last_error: 'connect: connect ECONNREFUSED 127.0.0.1:25',
          created_at: fatal.created_at + 20,
          sent_at: null,
          deadline: null,
        },
      ])
      .execute();
    await db
      .insertInto('delivery_attempts')
      .values({
        id: newId(),
        delivery_id: queuedId,
        tenant_id: t,
        attempt: 1,
        worker: 'worker-old',
        started_at: fatal.created_at + 30,
        finished_at: fatal.created_at + 60,
        outcome: 'retry',
        code: null,
        response: 'connect: connect ECONNREFUSED 127.0.0.1:25',
        duration_ms: 30,
      })
      .execute();
    await db
      .insertInto('report_windows')
      .values({
        tenant_id: t,
        kind: 'summary',
        window_start: sentWindow,
        window_end: sentWindow + SUMMARY_MS,
        deliveries: 1,
        decided_at: sentWindow + SUMMARY_MS + 50,
      })
      .execute();
    return { sentWindow, alerts: { summarised: summarised.id, read: read.id, fatal: fatal.id }, queuedId };
  } finally {
    await storage.close();
  }
}

describeEachDialect('upgrading an installation of 2026-11-29 to this version', (dialect) => {
  it('keeps every record, token, session and password, sends the queued email once and the next summary window from where the old one ended', async () => {
    let server: TestSmtpServer | undefined;
    let t: TestApp | undefined;
    try {
      server = await startTestSmtpServer({ auth: { username: 'user', password: OLD.smtpPassword } });
      const smtpPort = server.port;
      let old: OldInstallation | undefined;
      t = await startTestApp(
        dialect,
        { TOCSIN_SUMMARY_INTERVAL_SECONDS: String(SUMMARY_MS / 1000) },
        {},
        { prepare: async (database, dataDir) => void (old = await installOld(database, dataDir, smtpPort)) },
      );
      const { sentWindow, alerts, queuedId } = old!;
      const app = t;
      const toBob = () => server!.messages.filter((m) => m.envelope.to.includes('bob@acme.test'));

      // The email queued before the upgrade goes out, signed in with the SMTP password sealed then.
      await until(() => toBob().some((m) => m.messageId?.includes(queuedId)), 'the queued immediate email reaches the server');
      // The window after the one the old version sent is summarised, from where that one ended.
      await until(() => toBob().some((m) => m.raw.includes('X-Tocsin-Kind: summary')), 'the next summary reaches the server');
      const bobsDeliveries = async () =>
        (await app.call('GET', '/api/v1/tenants/acme/deliveries?recipient=bob@acme.test')).json<{
          items: { id: string; kind: string; status: string; attempts: number; windowStart?: string }[];
        }>().items;
      // The outcome is recorded after the server's 250, so it may trail the message it records.
      await until(async () => (await bobsDeliveries()).find((d) => d.id === queuedId)?.status !== 'sending', 'the queued email’s outcome is recorded');
      const deliveries = await bobsDeliveries();
      expect(deliveries.find((d) => d.id === queuedId)).toMatchObject({ kind: 'immediate', status: 'sent', attempts: 2 });
      const summaries = deliveries.filter((d) => d.kind === 'summary').map((d) => d.windowStart);
      expect(summaries.sort()).toEqual([new Date(sentWindow).toISOString(), new Date(sentWindow + SUMMARY_MS).toISOString()]);
      const summary = toBob().find((m) => m.raw.includes('X-Tocsin-Kind: summary'))!;
      expect(summary.user).toBe('user');
      expect(summary.raw).toContain('job faulted 2');
      expect(summary.raw).not.toContain('job faulted 1');
      expect(toBob().filter((m) => m.messageId?.includes(queuedId))).toHaveLength(1);

      // Bob's API token, its permissions, read marks and preferences.
      const me = await app.call('GET', '/api/v1/tenants/acme/me', undefined, OLD.bob.token);
      expect(me.statusCode, me.body).toBe(200);
      expect(me.json()).toMatchObject({ id: OLD.bob.id, email: 'bob@acme.test', permissions: ['Alerts.View'] });
      const bobUnread = await app.call('GET', '/api/v1/tenants/acme/alerts/unread-count', undefined, OLD.bob.token);
      expect(bobUnread.json()).toEqual({ unread: 0 });
      expect((await app.call('GET', '/api/v1/tenants/acme/me/alert-preferences', undefined, OLD.bob.token)).json()).toMatchObject({
        subscriptions: { Robots: false, 'Robot.StatusChanged.Offline': true, Jobs: true },
        email: { tenMinuteSummary: true, dailyReport: true, fatalImmediately: true },
      });

      // Ann's console session (its CSRF token too) and her password; the Administrator role gained the permissions added since.
      const cookie = `tocsin_session=${OLD.annSession.cookie}`;
      const session = await app.tocsin.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie } });
      expect(session.statusCode, session.body).toBe(200);
      expect(session.json()).toMatchObject({ userId: OLD.ann.id, csrfToken: OLD.annSession.csrf });
      expect(session.json<{ permissions: string[] }>().permissions).toEqual(expect.arrayContaining([...OLD.adminPermissions, 'Sources.Edit']));
      const list = await app.tocsin.app.inject({ method: 'GET', url: '/api/v1/tenants/acme/alerts', headers: { cookie } });
      const read = Object.fromEntries(list.json<{ items: { id: string; read: boolean }[] }>().items.map((a) => [a.id, a.read]));
      expect(read).toMatchObject({ [alerts.read]: true, [alerts.summarised]: false, [alerts.fatal]: false });
      const marked = await app.tocsin.app.inject({
        method: 'POST',
        url: '/api/v1/tenants/acme/alerts/mark-read',
        headers: { cookie, 'x-csrf-token': OLD.annSession.csrf },
        payload: { ids: [alerts.summarised] },
      });
      expect(marked.statusCode, marked.body).toBe(200);
      const login = await app.call('POST', '/api/v1/auth/login', { tenant: 'acme', email: 'ann@acme.test', password: OLD.ann.password }, '');
      expect(login.statusCode, login.body).toBe(200);

      // The mail settings read back, their password still set and their plaintext sign-in kept.
      expect((await app.call('GET', '/api/v1/tenants/acme/settings/mail', undefined, ADMIN_TOKEN)).json()).toMatchObject({
        alertsEmailEnabled: true,
        useCustom: true,
        custom: { host: '127.0.0.1', port: smtpPort, security: 'none', username: 'user', passwordSet: true, allowPlaintextAuth: true },
      });
    } finally {
      await t?.close();
      await server?.close();
    }
  }, 30_000);
});

describeEachDialect('starting this version on an installation an older one migrated', (dialect) => {
  it('logs once, by name, the migrations the start applied, and a start with none left to apply logs none', async () => {
    const newer = Object.keys(MIGRATIONS)
      .filter((name) => name > OLD.lastMigration)
      .sort();
    const applied = (log: { text: () => string }) =>
      log
        .text()
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { msg: string; migrations?: string[] })
        .filter((entry) => entry.migrations);
    const first = captureLog('info');
    let url = '';
    let t: TestApp | undefined;
    try {
      t = await startTestApp(
        dialect,
        {},
        { logger: first.log },
        {
          prepare: async (database) => {
            url = database.url;
            const storage = await openStorage(url, { poolSize: 1 });
            try {
              const { error } = await migratorFor(storage).migrateTo(OLD.lastMigration);
              if (error) throw error;
            } finally {
              await storage.close();
            }
          },
        },
      );
      // An operator reading the log of an upgrade sees that the start migrated, and to what.
      const entries = applied(first);
      expect(entries).toHaveLength(1);
      expect(entries[0]!.migrations).toEqual(newer);
      expect(entries[0]!.msg).toMatch(new RegExp(`^applied ${newer.length} migration\\(s\\) to (SQLite|PostgreSQL) `));

      const second = captureLog('info');
      const storage = await openStorage(url, { poolSize: 1 });
      try {
        expect(await migrateWhenFree(storage, { logger: second.log })).toEqual([]);
      } finally {
        await storage.close();
      }
      expect(second.text()).not.toContain('migration');
    } finally {
      await t?.close();
    }
  });
});
