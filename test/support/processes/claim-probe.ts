/**
 * claim-probe is a child process for the concurrent-claim test: it claims batches from
 * DATABASE_URL until none is due and prints the ids it got, one per line. Separate processes are
 * what share a SQLite file in production (better-sqlite3 blocks its thread while waiting for a lock).
 */
import { claimDue } from '../../../src/delivery/outbox/leases.js';
import { openStorage } from '../../../src/storage/storage.js';

const storage = await openStorage(process.env.DATABASE_URL!, { poolSize: 2 });
const workerId = `probe-${process.pid}`;
const now = Number(process.env.PROBE_NOW);
const ids: string[] = [];
// Start together: say ready, then wait for the parent's go, so the claims really overlap.
process.stderr.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
for (;;) {
  const batch = await claimDue(storage, { workerId, now, leaseMs: 60_000, limit: 3 });
  if (batch.deliveries.length === 0) break;
  ids.push(...batch.deliveries.map((d) => d.id));
  // A breath between claims, so that the processes' claims interleave even on a loaded machine.
  await new Promise((resolve) => setTimeout(resolve, 2));
}
await storage.close();
process.stdout.write(ids.map((id) => `${id}\n`).join(''));
