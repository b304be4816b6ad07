import pino from 'pino';
import { expect, it, vi } from 'vitest';
import { startTestApp } from '../http/testing.js';
import { listenForOutbox, OutboxDoorbell } from '../delivery/outbox/doorbell.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect } from '../storage/testing.js';
import { ImmediateDecider } from './immediate.js';
import { ReportScheduler } from './scheduler.js';

const T0 = Date.parse('2026-03-28T08:00:30Z');
const settingsOf = async () => ({ alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: false });

describeEachDialect('immediate emails decided at commit', (dialect) => {
  it.each(['all', 'api'])('queues a Fatal alert\'s immediate email right after its POST in role %s, with no poll, and the later poll adds nothing', async (role) => {
    const clock = new FakeClock(T0);
    // Role `all` also runs the real scheduler; the frozen clock keeps its polls from ever seeing the alert settle.
    const t = await startTestApp(dialect, { TOCSIN_ROLE: role }, { clock });
    try {
      await t.call('POST', '/api/v1/tenants', { name: 'fast' });
      const di = (await t.call('POST', '/api/v1/tenants/fast/users', { email: 'di@example.com', name: 'di', roles: ['Alerts Viewer'] })).json().id;
      await t.call('PUT', `/api/v1/tenants/fast/users/${di}/alert-preferences`, { email: { fatalImmediately: true } });
      const immediate = () => t.tocsin.deps.storage.db.selectFrom('deliveries').select(['recipient_address', 'created_at']).where('kind', '=', 'immediate').execute();

      const res = await t.call('POST', '/api/v1/tenants/fast/alerts', {
        alerts: [
          { severity: 'Error', component: 'Jobs', event: 'Process.JobExecution.Faulted', message: 'not Fatal' },
          { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'robot 7 is offline' },
        ],
      });
      expect(res.statusCode).toBe(202);
      await vi.waitFor(async () => expect(await immediate()).toHaveLength(1), { timeout: 2_000, interval: 5 });
      expect(clock.now()).toBe(T0);
      expect(await immediate()).toEqual([{ recipient_address: 'di@example.com', created_at: T0 }]);

      clock.advance(2_000);
      const storage = t.tocsin.deps.storage;
      await new ReportScheduler({ storage, clock, logger: pino({ level: 'silent' }), settingsOf, settings: { summaryIntervalMs: 600_000 } }).tick();
      expect(await immediate()).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it('decides nothing for the alert ids of another tenant', async () => {
    const clock = new FakeClock(T0);
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    try {
      await t.tenantWithUser('own', ['Alerts Viewer']);
      const other = await t.tenantWithUser('other', ['Alerts Viewer']);
      await t.call('PUT', `/api/v1/tenants/other/users/${other.userId}/alert-preferences`, { email: { fatalImmediately: true } });
      const res = await t.call('POST', '/api/v1/tenants/own/alerts', { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'x' });
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
        const res = await t.call('POST', '/api/v1/tenants/flood/alerts', { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: `robot ${i}` });
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

  it.runIf(dialect === 'postgres')('wakes the listening workers of other processes when an api process queued the email', async () => {
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock: new FakeClock(T0) });
    const worker = new OutboxDoorbell();
    let rings = 0;
    worker.subscribe(() => (rings += 1));
    const listener = await listenForOutbox(t.tocsin.deps.config.databaseUrl, worker, pino({ level: 'silent' }));
    try {
      const viewer = await t.tenantWithUser('remote', ['Alerts Viewer']);
      await t.call('PUT', `/api/v1/tenants/remote/users/${viewer.userId}/alert-preferences`, { email: { fatalImmediately: true } });
      await t.call('POST', '/api/v1/tenants/remote/alerts', { severity: 'Info', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'no email' });
      const res = await t.call('POST', '/api/v1/tenants/remote/alerts', { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'x' });
      expect(res.statusCode).toBe(202);
      await vi.waitFor(() => expect(rings).toBe(1), { timeout: 2_000, interval: 5 });
    } finally {
      await listener.stop();
      await t.close();
    }
  });
});
