import { Gauge, type Registry } from 'prom-client';
import type { Storage } from './storage.js';

/**
 * watchLockWaits adds, on SQLite, the longest that one statement of this process waited for the
 * write lock (Storage.longestLockWaitMs). Several processes on one file take the one lock in turns
 * that SQLite does not keep fair; a worker whose lease renewal or result waits near its lease (10 s)
 * may see another worker take over a row it has sent. Several api processes report their longest.
 */
export function watchLockWaits(registry: Registry, storage: Storage): void {
  const longest = storage.longestLockWaitMs;
  if (!longest) return;
  new Gauge({
    name: 'tocsin_sqlite_write_lock_wait_longest_seconds',
    help: "The longest one statement of this process (the ingest's group commits aside) waited for SQLite's write lock since the start.",
    aggregator: 'max',
    registers: [registry],
    collect() {
      this.set(longest() / 1000);
    },
  });
}
