import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newAlert } from '../../test/support/alerts.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';
import type { Severity } from '../alerts/severity.js';
import { insertAlerts } from '../alerts/store.js';
import { createMute } from '../mutes/store.js';
import { getMailSettings, getMailSettingsOf } from '../settings/mail-settings.js';
import { FakeClock } from '../shared/clock.js';
import { type Storage, openStorage } from '../storage/storage.js';
import { type WindowDecision, decideWindow, decideWindows, reportTenants } from './decision-transactions.js';
import { ReportScheduler } from './scheduler.js';

const HOUR = 3_600_000;
// 09:00 UTC on a winter day: 10:00 in Paris, 09:00 in London, 18:00 in Tokyo, 04:00 in New York.
const REPORT_AT = Date.parse('2026-01-14T09:00:00Z');
const CREATED = REPORT_AT - 24 * HOUR + 60_000;

const alert = (severity: Severity, component: string, event: string) => newAlert({ severity, component, event, message: 'x' });

describeEachDialect('daily and summary windows decided many tenants to a transaction', (dialect) => {
  let t: TestApp;
  let clock: FakeClock;
  const ids: Record<string, string> = {};
  const storage = () => t.tocsin.deps.storage;

  /** The queued reports, without what differs between two runs (ids, Message-IDs, times). */
  const queued = async (kind: string) =>
    (
      await storage()
        .db.selectFrom('deliveries')
        .select(['tenant_id', 'idempotency_key', 'recipient_address', 'recipient_language', 'recipient_time_zone', 'window_start', 'window_end', 'payload'])
        .where('kind', '=', kind)
        .execute()
    )
      .map((r) => ({ ...r, window_start: Number(r.window_start), window_end: Number(r.window_end) }))
      .sort((a, b) => a.idempotency_key.localeCompare(b.idempotency_key));
  const windows = async (kind: string) =>
    (await storage().db.selectFrom('report_windows').select(['tenant_id', 'window_start', 'window_end', 'deliveries']).where('kind', '=', kind).execute())
      .map((w) => ({ tenant_id: w.tenant_id, window_start: Number(w.window_start), window_end: Number(w.window_end), deliveries: Number(w.deliveries) }))
      .sort((a, b) => a.tenant_id.localeCompare(b.tenant_id));
  /** Every tenant of the test, as the reports read it, with its stored mail settings. */
  const tenantsAndSettings = async () => {
    const tenants = await reportTenants(
      storage().db,
      Object.keys(ids).flatMap((k) => (k.includes('/') ? [] : [ids[k]!])),
    );
    return {
      tenants,
      settings: await getMailSettingsOf(
        storage().db,
        tenants.map((x) => x.id),
      ),
    };
  };
  const forget = async () => {
    await storage().db.deleteFrom('deliveries').execute();
    await storage().db.deleteFrom('report_windows').execute();
  };
  const addressesOf = (rows: Awaited<ReturnType<typeof queued>>, tenant: string) =>
    rows
      .filter((r) => r.tenant_id === ids[tenant])
      .map((r) => r.recipient_address)
      .sort();

  beforeAll(async () => {
    clock = new FakeClock(CREATED);
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    const tenant = async (name: string, timeZone: string, language: string, mail: Record<string, unknown>) => {
      ids[name] = (await t.call('POST', '/api/v1/tenants', { name, timeZone, language })).json().id;
      expect((await t.call('PUT', `/api/v1/tenants/${name}/settings/mail`, { alertsEmailEnabled: true, ...mail })).statusCode).toBe(200);
    };
    const user = async (tenantName: string, name: string, roles: string[], extra: Record<string, unknown> = {}) => {
      const res = await t.call('POST', `/api/v1/tenants/${tenantName}/users`, { email: `${name}@${tenantName}.example.com`, name, roles, ...extra });
      expect(res.statusCode).toBe(201);
      ids[`${tenantName}/${name}`] = res.json().id;
    };
    await tenant('paris', 'Europe/Paris', 'fr', { dailyReportTime: '10:00' });
    await user('paris', 'ana', ['Alerts Viewer']);
    await user('paris', 'bo', ['Alerts Viewer']);
    await user('paris', 'cy', []);
    await t.call('PUT', `/api/v1/tenants/paris/users/${ids['paris/bo']}/alert-preferences`, { email: { dailyReport: false } });
    await t.call('POST', '/api/v1/tenants/paris/groups', { name: 'ops', email: 'ops@paris.example.com', language: 'de', roles: ['Alerts Viewer'] });
    await tenant('tokyo', 'Asia/Tokyo', 'ja', { dailyReportTime: '18:00' });
    await user('tokyo', 'ken', ['Alerts Viewer'], { language: 'en' });
    await user('tokyo', 'mio', ['Alerts Viewer']);
    await tenant('london', 'Europe/London', 'en', { dailyReportTime: '09:00', sendEmptyDailyReport: true });
    await user('london', 'lee', ['Alerts Viewer']);
    await tenant('newyork', 'America/New_York', 'es', { dailyReportTime: '04:00' });
    await user('newyork', 'ny', ['Alerts Viewer']);
    await tenant('off', 'UTC', 'en', { dailyReportTime: '09:00', alertsEmailEnabled: false });
    await user('off', 'oz', ['Alerts Viewer']);

    const db = storage().db;
    const during = REPORT_AT - 2 * HOUR;
    await insertAlerts(db, ids.paris!, [alert('Error', 'Jobs', 'Process.JobExecution.Faulted')], during);
    await insertAlerts(
      db,
      ids.tokyo!,
      [alert('Error', 'Robots', 'Robot.StatusChanged.Offline'), alert('Warn', 'Jobs', 'Process.JobExecution.Faulted')],
      during,
    );
    await insertAlerts(db, ids.off!, [alert('Error', 'Jobs', 'Process.JobExecution.Faulted')], during);
    // Tokyo mutes its robots for everyone, and Mio snoozes its jobs: Ken gets a report of the jobs, Mio none.
    const actor = { userId: ids['tokyo/ken']!, name: 'ken' };
    await createMute(db, ids.tokyo!, { scope: 'tenant', ownerId: null, match: { component: 'Robots' }, until: REPORT_AT + HOUR }, actor, CREATED);
    await createMute(db, ids.tokyo!, { scope: 'user', ownerId: ids['tokyo/mio']!, match: { component: 'Jobs' }, until: REPORT_AT + HOUR }, actor, CREATED);
  });
  afterAll(() => t.close());

  it('decides a batch of tenants with their own windows, settings, languages, mutes and permissions exactly as it decides each alone', async () => {
    clock.set(REPORT_AT + 2_000);
    const { tenants, settings } = await tenantsAndSettings();
    // Windows of their own (a tenant created later has a shorter first window), two shared.
    const decisions: WindowDecision[] = tenants.map((tenant, i) => ({
      tenant,
      window: { start: REPORT_AT - 24 * HOUR + (i % 2) * HOUR, end: REPORT_AT },
      settings: settings.get(tenant.id)!,
    }));
    const won = await decideWindows(storage(), 'daily', decisions, clock);
    expect([...won.keys()].sort()).toEqual(tenants.map((x) => x.id).sort());
    const batched = await queued('daily');
    const batchedWindows = await windows('daily');
    expect(addressesOf(batched, 'paris')).toEqual(['ana@paris.example.com', 'ops@paris.example.com']);
    expect(addressesOf(batched, 'tokyo')).toEqual(['ken@tokyo.example.com']);
    expect(addressesOf(batched, 'london')).toEqual(['lee@london.example.com']);
    expect(addressesOf(batched, 'newyork')).toEqual([]);
    expect(addressesOf(batched, 'off')).toEqual([]);
    expect(batched.find((r) => r.recipient_address === 'ops@paris.example.com')).toMatchObject({
      recipient_language: 'de',
      recipient_time_zone: 'Europe/Paris',
    });
    expect(batched.find((r) => r.recipient_address === 'ana@paris.example.com')).toMatchObject({ recipient_language: 'fr' });
    expect(batched.find((r) => r.recipient_address === 'ken@tokyo.example.com')).toMatchObject({ recipient_language: 'en', recipient_time_zone: 'Asia/Tokyo' });
    expect(batchedWindows.find((w) => w.tenant_id === ids.paris)?.deliveries).toBe(2);
    expect(batchedWindows.find((w) => w.tenant_id === ids.off)?.deliveries).toBe(0);

    // Deciding the same windows again, in a batch or alone, queues nothing more.
    expect(await decideWindows(storage(), 'daily', decisions, clock)).toEqual(new Map());
    expect(await decideWindow(storage(), decisions[0]!.tenant, 'daily', decisions[0]!.window, decisions[0]!.settings, clock)).toBeUndefined();

    await forget();
    for (const d of decisions) await decideWindow(storage(), d.tenant, 'daily', d.window, d.settings, clock);
    expect(await queued('daily')).toEqual(batched);
    expect(await windows('daily')).toEqual(batchedWindows);

    // The summary of the same tenants: Fatal and Error only, the muted robots left out.
    await forget();
    await decideWindows(storage(), 'summary', decisions, clock);
    const summaries = await queued('summary');
    expect(addressesOf(summaries, 'paris')).toEqual(['ana@paris.example.com', 'bo@paris.example.com', 'ops@paris.example.com']);
    expect(addressesOf(summaries, 'tokyo')).toEqual([]);
    expect(addressesOf(summaries, 'london')).toEqual([]);
    await forget();
  });

  it("has one scheduler tick decide the same-instant daily reports of tenants in four time zones together, each in its zone's window, once", async () => {
    clock.set(REPORT_AT - 10 * 60_000);
    const counted = { statements: 0 };
    const counting = {
      ...storage(),
      db: storage().db.withPlugin({
        transformQuery: (args) => {
          counted.statements++;
          return args.node;
        },
        transformResult: async (args) => args.result,
      }),
    };
    const scheduler = () =>
      new ReportScheduler({
        storage: counting,
        clock,
        logger: pino({ level: 'silent' }),
        settingsOf: getMailSettings,
        settingsOfTenants: getMailSettingsOf,
        settings: { summaryIntervalMs: 24 * HOUR },
      });
    await scheduler().tick();
    clock.set(REPORT_AT + 1_500);
    counted.statements = 0;
    await scheduler().tick();
    // Claim, tenants, windows, settings, one decision transaction, rescheduling: a fixed few for all
    // five tenants, where deciding them one at a time took about a dozen each.
    expect(counted.statements).toBeLessThan(40);
    await scheduler().tick();
    const rows = await queued('daily');
    expect(rows.map((r) => r.recipient_address).sort()).toEqual([
      'ana@paris.example.com',
      'ken@tokyo.example.com',
      'lee@london.example.com',
      'ops@paris.example.com',
    ]);
    expect(rows.every((r) => r.window_end === REPORT_AT)).toBe(true);
    expect((await windows('daily')).map((w) => w.window_end)).toEqual(Object.keys(ids).flatMap((k) => (k.includes('/') ? [] : [REPORT_AT])));
  });

  it.runIf(dialect === 'postgres')('lets two instances decide overlapping batches at once, in opposite orders: each window and report once', async () => {
    await forget();
    clock.set(REPORT_AT + 2_000);
    const second: Storage = await openStorage(t.tocsin.deps.config.databaseUrl, { poolSize: 2 });
    try {
      const { tenants, settings } = await tenantsAndSettings();
      const decisions: WindowDecision[] = tenants.map((tenant) => ({
        tenant,
        window: { start: REPORT_AT - 24 * HOUR, end: REPORT_AT },
        settings: { ...settings.get(tenant.id)!, sendEmptyDailyReport: true },
      }));
      const [a, b] = await Promise.all([decideWindows(storage(), 'daily', decisions, clock), decideWindows(second, 'daily', [...decisions].reverse(), clock)]);
      expect([...a.keys(), ...b.keys()].sort()).toEqual(tenants.map((x) => x.id).sort());
      const rows = await queued('daily');
      expect(new Set(rows.map((r) => r.idempotency_key)).size).toBe(rows.length);
      expect([...a.values(), ...b.values()].reduce((sum, n) => sum + n, 0)).toBe(rows.length);
      expect(addressesOf(rows, 'newyork')).toEqual(['ny@newyork.example.com']);
    } finally {
      await second.close();
    }
  });
});
