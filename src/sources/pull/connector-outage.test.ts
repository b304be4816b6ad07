/**
 * The pull connector through a real outage: PostgreSQL reached through a TCP proxy that drops its
 * connections and hangs up on new ones until restored.
 */
import { expect, it, vi } from 'vitest';
import { captureWarnings, expectBackingOff } from '../../../test/support/log-capture.js';
import { openStorageBehindProxy } from '../../../test/support/outbox-fixtures.js';
import { TEST_PG_URL } from '../../../test/support/storage.js';
import { SecretBox } from '../../settings/secret-box.js';
import { systemClock } from '../../shared/clock.js';
import { startPullConnector } from './connector.js';

it.runIf(TEST_PG_URL)(
  'backs off while it cannot look for due sources, warning once rather than a stack trace every second, and says when it looks again [postgres]',
  async () => {
    // A worker cut off from PostgreSQL for an hour logged 'looking for due pull sources failed', with
    // the error's stack, 3,600 times, where the scheduler and the outbox beside it back off to 15 s.
    const { storage, proxy, close } = await openStorageBehindProxy();
    // From debug: each retry's wait is logged there, the outage's first failure and its end above it.
    const { log, entries } = captureWarnings('debug');
    proxy.cut();
    const connector = startPullConnector({
      db: storage.db,
      secretBox: SecretBox.fromPassphrase('connector-outage-test-key'),
      clock: systemClock,
      logger: log,
      floodWindowMs: 0,
      tickMs: 20,
    });
    try {
      const failures = () => entries.filter((e) => e.msg === 'looking for due pull sources failed; will try again');
      await vi.waitFor(() => expect(failures().length).toBeGreaterThanOrEqual(3), { timeout: 10_000, interval: 10 });
      expectBackingOff(failures(), 20);
      proxy.restore();
      // Back, its looks succeed again, and it says so once, after one warning for the whole outage.
      const back = () => entries.filter((e) => e.msg === 'looking for due pull sources works again');
      await vi.waitFor(() => expect(back()).toHaveLength(1), { timeout: 20_000, interval: 10 });
      await connector.pollDue();
      expect(back()[0]).toMatchObject({ level: 30, failures: failures().length });
      expect(failures().filter((e) => e.level !== 20)).toHaveLength(1);
    } finally {
      await close(() => connector.stop());
    }
  },
);
