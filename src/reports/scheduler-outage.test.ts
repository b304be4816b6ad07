/**
 * The report scheduler through a real outage: PostgreSQL reached through a TCP proxy that drops its
 * connections and hangs up on new ones until restored.
 */
import { expect, it, vi } from 'vitest';
import { captureWarnings } from '../../test/support/log-capture.js';
import { openTestOutboxDatabase } from '../../test/support/outbox-fixtures.js';
import { TEST_PG_URL } from '../../test/support/storage.js';
import { startTcpProxy, viaProxy } from '../../test/support/tcp-proxy.js';
import { systemClock } from '../shared/clock.js';
import { openStorage } from '../storage/storage.js';
import { ReportScheduler } from './scheduler.js';

it.runIf(TEST_PG_URL)('backs off while it cannot reach the database, and looks again once it is back [postgres]', async () => {
  const database = await openTestOutboxDatabase('postgres');
  const server = new URL(database.url);
  const proxy = await startTcpProxy(Number(server.port || 5432), server.hostname);
  const storage = await openStorage(viaProxy(database.url, proxy), { poolSize: 2 });
  const { log, entries } = captureWarnings();
  const scheduler = new ReportScheduler({
    storage,
    clock: systemClock,
    logger: log,
    settingsOf: async () => ({ alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: false }),
    settings: { summaryIntervalMs: 600_000, tickMs: 20 },
  });
  try {
    proxy.cut();
    scheduler.start();
    const failures = () => entries.filter((e) => e.msg === 'the report scheduler could not look for due windows; will try again');
    await vi.waitFor(() => expect(failures().length).toBeGreaterThanOrEqual(3), { timeout: 10_000, interval: 10 });
    // Each wait is longer than the one before (doubling from a tick), not a tick each time.
    const waits = failures()
      .slice(0, 3)
      .map((e) => e.retryInMs as number);
    expect(waits[0]).toBeGreaterThanOrEqual(10);
    expect(waits[1]).toBeGreaterThan(waits[0]!);
    expect(waits[2]).toBeGreaterThan(waits[1]!);
    expect(failures()[0]!.err).toMatchObject({ type: 'StorageUnavailableError', stage: 'decide', retryable: true });
    proxy.restore();
    // Back, its looks succeed again.
    await scheduler.ticked();
    const seen = failures().length;
    await scheduler.ticked();
    expect(failures().length).toBe(seen);
  } finally {
    proxy.restore();
    await scheduler.stop();
    await storage.close();
    await proxy.close();
    await database.close();
  }
});
