import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../shared/clock.js';
import type { Storage } from '../../storage/storage.js';
import { OutboxMetrics } from './metrics.js';

/** outbox is a database whose deliveries table answers `rows` (oldest created at 1,000 ms) or, with `down`, fails. */
function outbox() {
  const state = { down: true, unfinished: 3 };
  const query = {
    select: () => query,
    where: () => query,
    groupBy: () => query,
    execute: async () => {
      if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      return [{ status: 'pending', n: state.unfinished }];
    },
    executeTakeFirst: async () => {
      if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      return { n: state.unfinished, oldest: 1_000 };
    },
  };
  const storage = { db: { selectFrom: () => query } } as unknown as Storage;
  return { state, storage };
}

describe('the outbox series read from the database at scrape time', () => {
  it('leaves queue depth and oldest age out, not 0, until the database has answered once, and then keeps the last value', async () => {
    // A process whose first scrape came while PostgreSQL was down said 'tocsin_delivery_queue_depth 0'
    // and 'tocsin_delivery_oldest_pending_age_seconds 0': an empty queue, which it did not know.
    const { state, storage } = outbox();
    const registry = new Registry();
    new OutboxMetrics(registry, storage, new FakeClock(61_000));
    const sample = /^tocsin_(delivery_queue_depth|delivery_oldest_pending_age_seconds|deliveries\{)/m;

    const unknown = await registry.metrics();
    expect(unknown).toContain('# TYPE tocsin_delivery_queue_depth gauge');
    expect(unknown).not.toMatch(sample);

    state.down = false;
    const known = await registry.metrics();
    expect(known).toMatch(/^tocsin_delivery_queue_depth 3$/m);
    expect(known).toMatch(/^tocsin_delivery_oldest_pending_age_seconds 60$/m);

    state.down = true;
    state.unfinished = 9;
    const stale = await registry.metrics();
    expect(stale).toMatch(/^tocsin_delivery_queue_depth 3$/m);
    expect(stale).toMatch(/^tocsin_delivery_oldest_pending_age_seconds 60$/m);
  });
});
