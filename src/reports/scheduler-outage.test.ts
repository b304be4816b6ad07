/**
 * The report scheduler through a real outage: PostgreSQL reached through a TCP proxy that drops its
 * connections and hangs up on new ones until restored.
 */
import { expect, it, vi } from 'vitest';
import { captureWarnings, expectBackingOff } from '../../test/support/log-capture.js';
import { openStorageBehindProxy } from '../../test/support/outbox-fixtures.js';
import { TEST_PG_URL } from '../../test/support/storage.js';
import { proxyFor, viaProxy } from '../../test/support/tcp-proxy.js';
import { startTestApp } from '../../test/support/http.js';
import { FakeClock, systemClock } from '../shared/clock.js';
import type { Logger } from 'pino';
import type { Storage } from '../storage/storage.js';
import { ReportScheduler } from './scheduler.js';

/** schedulerOn is a scheduler on `storage` looking every `tickMs`, for tenants whose daily report is at 10:00, logging to `log`. */
function schedulerOn(storage: Storage, log: Logger, tickMs: number): ReportScheduler {
  return new ReportScheduler({
    storage,
    clock: systemClock,
    logger: log,
    settingsOf: async () => ({ alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: false }),
    settings: { summaryIntervalMs: 600_000, tickMs },
  });
}

it.runIf(TEST_PG_URL)('backs off while it cannot reach the database, warning once, and looks again once it is back, saying so [postgres]', async () => {
  const { storage, proxy, close } = await openStorageBehindProxy();
  // From debug: each retry's wait is logged there, the outage's first failure and its end above it.
  const { log, entries } = captureWarnings('debug');
  const scheduler = schedulerOn(storage, log, 20);
  try {
    proxy.cut();
    scheduler.start();
    const failures = () => entries.filter((e) => e.msg === 'the report scheduler could not look for due windows; will try again');
    await vi.waitFor(() => expect(failures().length).toBeGreaterThanOrEqual(3), { timeout: 10_000, interval: 10 });
    expectBackingOff(failures(), 20);
    expect(failures()[0]!.err).toMatchObject({ type: 'StorageUnavailableError', stage: 'decide', retryable: true });
    proxy.restore();
    // Back, its looks succeed again.
    await scheduler.ticked();
    const seen = failures().length;
    await scheduler.ticked();
    expect(failures().length).toBe(seen);
    // One warning for the outage, not one (with its stack) per failed look, and one line when it ends.
    const outageLines = entries.filter((e) => /report scheduler/.test(e.msg) && e.level !== 20);
    expect(outageLines.map((e) => [e.level, e.msg])).toEqual([
      [40, 'the report scheduler could not look for due windows; will try again'],
      [30, 'the report scheduler looks for due windows again'],
    ]);
    expect(outageLines[1]).toMatchObject({ failures: seen });
  } finally {
    await close(() => scheduler.stop());
  }
});

it.runIf(TEST_PG_URL)('keeps a batch whose decision met an outage whole, instead of trying each of its tenants alone [postgres]', async () => {
  const INTERVAL = 600_000;
  const T0 = Date.parse('2026-03-28T08:00:30Z');
  const clock = new FakeClock(T0);
  const proxy = await proxyFor(TEST_PG_URL!);
  const t = await startTestApp('postgres', { TOCSIN_ROLE: 'api' }, { clock }, { reach: (url) => viaProxy(url, proxy) });
  const { log, entries } = captureWarnings();
  const settings = { alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: false };
  const scheduler = new ReportScheduler({
    storage: t.tocsin.deps.storage,
    clock,
    logger: log,
    // Reading the settings is the last step before the batch's decision: the database goes away then.
    settingsOf: async () => {
      proxy.cut();
      return settings;
    },
    settings: { summaryIntervalMs: INTERVAL },
  });
  try {
    for (const name of ['north', 'south', 'east']) {
      await t.call('POST', '/api/v1/tenants', { name });
      await t.enableAlertEmails(name);
      await t.call('POST', `/api/v1/tenants/${name}/users`, { email: `ops@${name}.example.com`, name: 'ops', roles: ['Alerts Viewer'] });
      clock.set(T0 + 60_000);
      expect((await t.call('POST', `/api/v1/tenants/${name}/alerts`, { severity: 'Error', component: 'Jobs', message: 'failed' })).statusCode).toBe(202);
    }
    clock.set(Math.ceil(T0 / INTERVAL) * INTERVAL + 1_500);
    await scheduler.tick().catch(() => undefined);
    const messages = entries.map((e) => e.msg);
    expect(messages).toContain('deciding a batch of alert emails failed: the database is unavailable; will try again');
    // Not one failed try per tenant on top of it.
    expect(messages.filter((m) => m === 'deciding alert emails failed; will try again')).toEqual([]);
  } finally {
    proxy.restore();
    await t.close();
    await proxy.close();
  }
});

it.runIf(TEST_PG_URL)(
  'stops within the patience it is given while its look waits on a database that answers nothing (a stop during a network partition), and says so [postgres]',
  async () => {
    const { storage, proxy, close } = await openStorageBehindProxy();
    const { log, entries } = captureWarnings();
    const scheduler = schedulerOn(storage, log, 60_000);
    try {
      // A partition: the connections stay open, and nothing comes back on them.
      proxy.stall();
      scheduler.start();
      // The first look starts on a timer of 0 ms, which fires before this one: it waits on the database now.
      await new Promise((resolve) => setTimeout(resolve, 0));
      // A stopping process's patience already run out: the stop does not wait for the look (it waited 5 to 8 s
      // a statement for the silent-statement check to drop it, past serve's grace with the other loops).
      await scheduler.stop(AbortSignal.abort());
      expect(entries.map((e) => e.msg)).toEqual([
        "stopping without waiting longer for the report scheduler's look for due windows: the database did not answer it in time; it is rolled back as the database closes",
      ]);
    } finally {
      // The stalled connections closed under it, the look fails at once rather than at the goodbye's bound.
      proxy.cut();
      await close(() => scheduler.stop());
    }
  },
);
