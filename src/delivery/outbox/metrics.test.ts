import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTestTenant, testDelivery } from '../../../test/support/outbox-fixtures.js';
import { describeEachDialect, openTestStorage, planOf, recordingStatements } from '../../../test/support/storage.js';
import { FakeClock } from '../../shared/clock.js';
import type { Storage } from '../../storage/storage.js';
import { enqueueDeliveries } from './enqueue.js';
import { OutboxMetrics } from './metrics.js';

const T0 = Date.UTC(2026, 11, 6, 9, 0, 0);

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

describeEachDialect('the age of the oldest due delivery', (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
  });
  afterAll(() => storage.close());

  it('stays 0 while emails only wait for their retry or a paused server, and grows once a due email is not taken', async () => {
    // The only age exported was since an email was queued: one tenant's server refusing for an hour
    // (its emails retrying on schedule, or held out while the server is paused) looked the same as
    // every worker stuck, so an operator's "emails are stuck" alert paged for a tenant's SMTP.
    const acme = await insertTestTenant(storage.db, 'acme');
    const globex = await insertTestTenant(storage.db, 'globex');
    const hour = 60 * 60_000;
    await enqueueDeliveries(storage.db, [testDelivery(acme, 'waiting@example.com')], new FakeClock(T0));
    // Retrying for an hour now, its next try 10 minutes away: waiting on schedule, not stuck.
    await storage.db
      .updateTable('deliveries')
      .set({ status: 'retrying', attempts: 3, next_attempt_at: T0 + hour + 10 * 60_000 })
      .execute();
    // Due 5 minutes ago, but its tenant's server is paused: this worker holds it out on purpose.
    await enqueueDeliveries(storage.db, [testDelivery(globex, 'paused@example.com')], new FakeClock(T0 + hour - 5 * 60_000));
    const registry = new Registry();
    const metrics = new OutboxMetrics(registry, storage, new FakeClock(T0 + hour));
    // An api process, which sends nothing, knows no paused server: it leaves the series out.
    expect(await registry.metrics()).not.toContain('tocsin_delivery_oldest_due_age_seconds');
    metrics.watchDue(() => [globex]);
    expect(await registry.metrics()).toMatch(/^tocsin_delivery_oldest_pending_age_seconds 3600$/m);
    expect(await registry.metrics()).toMatch(/^tocsin_delivery_oldest_due_age_seconds 0$/m);

    // An email due 90 s ago that no worker took.
    await enqueueDeliveries(storage.db, [testDelivery(acme, 'due@example.com')], new FakeClock(T0 + hour - 90_000));
    expect(await registry.metrics()).toMatch(/^tocsin_delivery_oldest_due_age_seconds 90$/m);
  });
});

describeEachDialect('the outbox counts of a scrape', (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
  });
  afterAll(() => storage.close());

  it('counts the queued, retrying and failed emails from the indexes that hold only them, not the whole outbox', async () => {
    // tocsin_deliveries{status} grouped the whole table at every scrape, sent emails and all: at a
    // million kept emails 220 CPU-ms in the event loop on SQLite and 340 ms over three PostgreSQL
    // processes, every 15 s from each Prometheus; the queue depth scanned it too on SQLite.
    const acme = await insertTestTenant(storage.db, 'acme');
    const statuses = ['pending', 'retrying', 'sent', 'failed', 'sent'];
    await enqueueDeliveries(
      storage.db,
      statuses.map((_, i) => testDelivery(acme, `reader${i}@example.com`)),
      new FakeClock(T0),
    );
    const ids = await storage.db.selectFrom('deliveries').select('id').orderBy('recipient_address').execute();
    for (const [i, { id }] of ids.entries()) await storage.db.updateTable('deliveries').set({ status: statuses[i]! }).where('id', '=', id).execute();
    const recording = recordingStatements(storage.db);
    const registry = new Registry();
    new OutboxMetrics(registry, { db: recording.db } as unknown as Storage, new FakeClock(T0 + 60_000));

    const text = await registry.metrics();
    for (const [status, n] of [
      ['pending', 1],
      ['sending', 0],
      ['retrying', 1],
      ['failed', 1],
    ] as const) {
      expect(text).toContain(`\ntocsin_deliveries{status="${status}"} ${n}\n`);
    }
    expect(text).not.toContain('tocsin_deliveries{status="sent"}');
    expect(text).toMatch(/^tocsin_delivery_queue_depth 2$/m);

    expect(recording.queries.length).toBeGreaterThan(0);
    for (const query of recording.queries) {
      const plan = await planOf(storage.db, query);
      const reads = plan.split('\n').filter((line) => (dialect === 'sqlite' ? /^(SCAN|SEARCH) deliveries\b/ : /Seq Scan|Index (Only )?Scan/).test(line));
      expect(reads.length, query.sql).toBeGreaterThan(0);
      for (const read of reads)
        expect(read, `${query.sql}\n${plan}`).toMatch(/\bINDEX deliveries_(due|failed)$|(using|Index Scan on) deliveries_(due|failed)\b/i);
    }
  });
});
