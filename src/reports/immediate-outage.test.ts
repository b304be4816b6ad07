/**
 * The immediate decider through a real outage: PostgreSQL reached through a TCP proxy that drops
 * its connections and hangs up on new ones until restored.
 */
import { expect, it, vi } from 'vitest';
import { captureWarnings } from '../../test/support/log-capture.js';
import { openStorageBehindProxy } from '../../test/support/outbox-fixtures.js';
import { TEST_PG_URL } from '../../test/support/storage.js';
import { systemClock } from '../shared/clock.js';
import { ImmediateDecider } from './immediate.js';

it.runIf(TEST_PG_URL)('stops deciding at the first failure to reach the database and leaves the rest to the sweep [postgres]', async () => {
  const { storage, proxy, close } = await openStorageBehindProxy();
  const { log, entries } = captureWarnings();
  const decider = new ImmediateDecider({
    storage,
    clock: systemClock,
    logger: log,
    settingsOf: async () => ({ alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: false }),
  });
  try {
    proxy.cut();
    for (const tenantId of ['t1', 't2', 't3']) decider.hear({ tenantId, alertIds: [`${tenantId}-alert`] });
    await decider.settled();
    // One try, not one per tenant: the other two would have failed alike.
    const failures = entries.filter((e) => e.msg === 'deciding immediate emails failed; the sweep will try again');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ level: 40, tenantsLeft: 2, err: { type: 'StorageUnavailableError', stage: 'decide', retryable: true } });
  } finally {
    await close(() => decider.stop());
  }
});

it.runIf(TEST_PG_URL)('warns once while its sweeps cannot reach the database, and says once when they work again [postgres]', async () => {
  const { storage, proxy, close } = await openStorageBehindProxy();
  // From debug: each failed sweep is kept there, the outage's first one and its end above it.
  const { log, entries } = captureWarnings('debug');
  const decider = new ImmediateDecider({
    storage,
    clock: systemClock,
    logger: log,
    settingsOf: async () => ({ alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: false }),
    settings: { sweepIntervalMs: 10 },
  });
  try {
    proxy.cut();
    decider.start();
    const sweeps = () => entries.filter((e) => e.msg === 'could not look for undecided Fatal alerts; will try again');
    await vi.waitFor(() => expect(sweeps().length).toBeGreaterThanOrEqual(5), { timeout: 10_000, interval: 10 });
    proxy.restore();
    const back = () => entries.filter((e) => e.msg === 'looking for undecided Fatal alerts works again');
    await vi.waitFor(() => expect(back()).toHaveLength(1), { timeout: 10_000, interval: 10 });
    expect(sweeps().filter((e) => e.level !== 20)).toHaveLength(1);
    expect(back()[0]).toMatchObject({ level: 30, failures: sweeps().length });
  } finally {
    await close(() => decider.stop());
  }
});
