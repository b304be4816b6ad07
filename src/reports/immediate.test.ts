import pino from 'pino';
import { expect, it, vi } from 'vitest';
import { newAlert } from '../../test/support/alerts.js';
import { insertAlerts } from '../alerts/store.js';
import { getMailSettings } from '../settings/mail-settings.js';
import { startTestApp } from '../../test/support/http.js';
import { listenForOutbox, OutboxDoorbell } from '../delivery/outbox/doorbell.js';
import { FakeClock } from '../shared/clock.js';
import { captureWarnings, expectWarnedOnceAmong } from '../../test/support/log-capture.js';
import { createTestDatabase, describeEachDialect } from '../../test/support/storage.js';
import { migrate } from '../storage/migrate.js';
import { openStorage } from '../storage/storage.js';
import { DEFAULT_IMMEDIATE_SETTINGS, ImmediateDecider } from './immediate.js';

const T0 = Date.parse('2026-03-28T08:00:30Z');
const settingsOf = async () => ({ alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: false });

describeEachDialect('immediate emails decided at commit', (dialect) => {
  it.each(['all', 'api'])(
    "queues a Fatal alert's immediate email right after its POST in role %s, with no poll, and a later sweep adds nothing",
    async (role) => {
      const clock = new FakeClock(T0);
      const t = await startTestApp(dialect, { TOCSIN_ROLE: role }, { clock });
      try {
        await t.call('POST', '/api/v1/tenants', { name: 'fast' });
        await t.enableAlertEmails('fast');
        const di = (await t.call('POST', '/api/v1/tenants/fast/users', { email: 'di@example.com', name: 'di', roles: ['Alerts Viewer'] })).json().id;
        await t.call('PUT', `/api/v1/tenants/fast/users/${di}/alert-preferences`, { email: { fatalImmediately: true } });
        const immediate = () =>
          t.tocsin.deps.storage.db.selectFrom('deliveries').select(['recipient_address', 'created_at']).where('kind', '=', 'immediate').execute();

        const res = await t.call('POST', '/api/v1/tenants/fast/alerts', {
          alerts: [
            { severity: 'Error', component: 'Jobs', event: 'Process.JobExecution.Faulted', message: 'not Fatal' },
            { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'robot 7 is offline' },
          ],
        });
        expect(res.statusCode).toBe(202);
        await vi.waitFor(async () => expect(await immediate()).toHaveLength(1), { timeout: 10_000, interval: 5 });
        expect(clock.now()).toBe(T0);
        expect(await immediate()).toEqual([{ recipient_address: 'di@example.com', created_at: T0 }]);

        // The decision marked the alert decided: a sweep long after finds nothing to decide again.
        clock.advance(DEFAULT_IMMEDIATE_SETTINGS.sweepGraceMs + 1_000);
        const storage = t.tocsin.deps.storage;
        expect(await storage.db.selectFrom('undecided_fatal_alerts').selectAll().execute()).toEqual([]);
        await new ImmediateDecider({ storage, clock, logger: pino({ level: 'silent' }), settingsOf }).sweep();
        expect(await immediate()).toHaveLength(1);
      } finally {
        await t.close();
      }
    },
  );

  it('decides nothing for the alert ids of another tenant', async () => {
    const clock = new FakeClock(T0);
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    try {
      await t.tenantWithUser('own', ['Alerts Viewer']);
      const other = await t.tenantWithUser('other', ['Alerts Viewer']);
      await t.call('PUT', `/api/v1/tenants/other/users/${other.userId}/alert-preferences`, { email: { fatalImmediately: true } });
      const res = await t.call('POST', '/api/v1/tenants/own/alerts', {
        severity: 'Fatal',
        component: 'Robots',
        event: 'Robot.StatusChanged.Offline',
        message: 'x',
      });
      const decider = new ImmediateDecider({ storage: t.tocsin.deps.storage, clock, logger: pino({ level: 'silent' }), settingsOf });
      expect(await decider.decide({ tenantId: other.tenantId, alertIds: res.json().ids })).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('merges the commits heard while a decision runs into one decision per tenant, and decides every alert', async () => {
    const clock = new FakeClock(T0);
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    try {
      const viewer = await t.tenantWithUser('flood', ['Alerts Viewer']);
      await t.call('PUT', `/api/v1/tenants/flood/users/${viewer.userId}/alert-preferences`, { email: { fatalImmediately: true } });
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const res = await t.call('POST', '/api/v1/tenants/flood/alerts', {
          severity: 'Fatal',
          component: 'Robots',
          event: 'Robot.StatusChanged.Offline',
          message: `robot ${i}`,
        });
        ids.push(...res.json().ids);
      }
      const decider = new ImmediateDecider({ storage: t.tocsin.deps.storage, clock, logger: pino({ level: 'silent' }), settingsOf });
      const decided: number[] = [];
      const decide = decider.decide.bind(decider);
      decider.decide = async (commit) => {
        decided.push(commit.alertIds.length);
        return decide(commit);
      };
      for (const id of ids) decider.hear({ tenantId: viewer.tenantId, alertIds: [id] });
      await decider.stop();
      // The first commit starts a decision at once; the four heard meanwhile wait and go together.
      expect(decided).toEqual([1, 4]);
      const queued = await t.tocsin.deps.storage.db.selectFrom('deliveries').select('id').where('kind', '=', 'immediate').execute();
      expect(queued).toHaveLength(5);
    } finally {
      await t.close();
    }
  });

  it('decides, at start and then every sweep, the Fatal alerts whose decision a crash lost, once', async () => {
    const clock = new FakeClock(T0);
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    const storage = t.tocsin.deps.storage;
    const logger = pino({ level: 'silent' });
    const immediate = () => storage.db.selectFrom('deliveries').select(['recipient_address', 'payload']).where('kind', '=', 'immediate').execute();
    const viewer = await t.tenantWithUser('crash', ['Alerts Viewer']);
    // Stored as ingestion stores them, but no decider hears of them: a process that died between the commit and the decision.
    const crash = (message: string) =>
      insertAlerts(
        storage.db,
        viewer.tenantId,
        [newAlert({ severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message })],
        clock.now(),
      );
    const decider = new ImmediateDecider({ storage, clock, logger, settingsOf, settings: { sweepIntervalMs: 10 } });
    try {
      await t.call('PUT', `/api/v1/tenants/crash/users/${viewer.userId}/alert-preferences`, { email: { fatalImmediately: true } });
      const [lost] = await crash('decision lost');
      // A young undecided alert is left to the process that stored it.
      await decider.sweep();
      expect(await immediate()).toEqual([]);

      clock.advance(DEFAULT_IMMEDIATE_SETTINGS.sweepGraceMs);
      decider.start();
      await decider.settled();
      expect((await immediate()).map((r) => JSON.parse(r.payload).data.alertId)).toEqual([lost]);

      const [later] = await crash('lost while running');
      clock.advance(DEFAULT_IMMEDIATE_SETTINGS.sweepGraceMs);
      await vi.waitFor(async () => expect(await immediate()).toHaveLength(2), { timeout: 10_000, interval: 5 });
      expect((await immediate()).map((r) => JSON.parse(r.payload).data.alertId)).toContain(later);
      await decider.sweep();
      expect(await immediate()).toHaveLength(2);
      expect(await storage.db.selectFrom('undecided_fatal_alerts').selectAll().execute()).toEqual([]);
    } finally {
      await decider.stop();
      await t.close();
    }
  });

  it('warns once, not with a stack at every sweep, while it cannot look for undecided Fatal alerts', async () => {
    const database = await createTestDatabase(dialect);
    const storage = await openStorage(database.url, { poolSize: 2 });
    await migrate(storage);
    // From debug: each failed sweep is kept there, the outage's first one above it.
    const { log, entries } = captureWarnings('debug');
    const decider = new ImmediateDecider({ storage, clock: new FakeClock(T0), logger: log, settingsOf, settings: { sweepIntervalMs: 5 } });
    await storage.close();
    try {
      decider.start();
      await expectWarnedOnceAmong(entries, 'could not look for undecided Fatal alerts; will try again');
    } finally {
      await decider.stop();
      await database.drop();
    }
  });

  it('marks the Fatal alerts of a tenant whose alert emails are off decided, so turning them on mails no old alert', async () => {
    const clock = new FakeClock(T0);
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    try {
      const storage = t.tocsin.deps.storage;
      const viewer = await t.tenantWithUser('quiet', ['Alerts Viewer']);
      await t.call('PUT', `/api/v1/tenants/quiet/users/${viewer.userId}/alert-preferences`, { email: { fatalImmediately: true } });
      await t.call('PUT', '/api/v1/tenants/quiet/settings/mail', { alertsEmailEnabled: false });
      await t.call('POST', '/api/v1/tenants/quiet/alerts', { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'x' });
      await t.tocsin.decisionsSettled();
      expect(await storage.db.selectFrom('undecided_fatal_alerts').selectAll().execute()).toEqual([]);
      await t.call('PUT', '/api/v1/tenants/quiet/settings/mail', { alertsEmailEnabled: true });
      clock.advance(DEFAULT_IMMEDIATE_SETTINGS.sweepGraceMs);
      await new ImmediateDecider({ storage, clock, logger: pino({ level: 'silent' }), settingsOf }).sweep();
      expect(await storage.db.selectFrom('deliveries').select('id').where('kind', '=', 'immediate').execute()).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('mails no Fatal alert stored otherwise than by a POST (a pull source, a lost decision) while the tenant’s alert emails are off', async () => {
    const clock = new FakeClock(T0);
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    try {
      const storage = t.tocsin.deps.storage;
      const viewer = await t.tenantWithUser('pulled', ['Alerts Viewer']);
      await t.call('PUT', `/api/v1/tenants/pulled/users/${viewer.userId}/alert-preferences`, { email: { fatalImmediately: true } });
      await t.call('PUT', '/api/v1/tenants/pulled/settings/mail', { alertsEmailEnabled: false });
      await insertAlerts(
        storage.db,
        viewer.tenantId,
        [newAlert({ severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'pulled' })],
        clock.now(),
      );
      clock.advance(DEFAULT_IMMEDIATE_SETTINGS.sweepGraceMs);
      // The tenant's own settings, as the server reads them (this file's settingsOf says on for every tenant).
      await new ImmediateDecider({ storage, clock, logger: pino({ level: 'silent' }), settingsOf: getMailSettings }).sweep();
      expect(await storage.db.selectFrom('undecided_fatal_alerts').selectAll().execute()).toEqual([]);
      expect(await storage.db.selectFrom('deliveries').select('id').where('kind', '=', 'immediate').execute()).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it.runIf(dialect === 'postgres')('wakes the listening workers of other processes when an api process queued the email', async () => {
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock: new FakeClock(T0) });
    const worker = new OutboxDoorbell();
    let rings = 0;
    worker.subscribe(() => (rings += 1));
    const listener = await listenForOutbox(t.tocsin.deps.config.databaseUrl, worker, pino({ level: 'silent' }));
    try {
      const viewer = await t.tenantWithUser('remote', ['Alerts Viewer']);
      await t.enableAlertEmails('remote');
      await t.call('PUT', `/api/v1/tenants/remote/users/${viewer.userId}/alert-preferences`, { email: { fatalImmediately: true } });
      await t.call('POST', '/api/v1/tenants/remote/alerts', {
        severity: 'Info',
        component: 'Robots',
        event: 'Robot.StatusChanged.Offline',
        message: 'no email',
      });
      const res = await t.call('POST', '/api/v1/tenants/remote/alerts', {
        severity: 'Fatal',
        component: 'Robots',
        event: 'Robot.StatusChanged.Offline',
        message: 'x',
      });
      expect(res.statusCode).toBe(202);
      await vi.waitFor(() => expect(rings).toBe(1), { timeout: 10_000, interval: 5 });
    } finally {
      await listener.stop();
      await t.close();
    }
  });
});
