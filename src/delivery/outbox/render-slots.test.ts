import { afterAll, beforeAll, expect, it } from 'vitest';
import { systemClock } from '../../shared/clock.js';
import { describeEachDialect } from '../../../test/support/storage.js';
import { plainEndpointOf, startTestSmtpServer } from '../../../test/support/smtp-servers.js';
import { type TestOutboxDatabase, insertTestTenant, openTestOutboxDatabase, testDelivery } from '../../../test/support/outbox-fixtures.js';
import type { RenderedEmail } from '../contract.js';
import { createMailSender } from '../smtp/sender.js';
import { enqueueDeliveries } from './enqueue.js';
import { RENDERS_AT_ONCE } from './render-slots.js';
import { DeliveryWorker } from './worker.js';

describeEachDialect("a claim's reports", (dialect) => {
  let database: TestOutboxDatabase;
  let tenant: string;

  beforeAll(async () => {
    database = await openTestOutboxDatabase(dialect);
    tenant = await insertTestTenant(database.storage.db, 'render-slots');
  });
  afterAll(() => database.close());

  it('render a few at a time, not the whole claim at once, and every one is sent', async () => {
    const REPORTS = 40;
    await enqueueDeliveries(
      database.storage.db,
      Array.from({ length: REPORTS }, (_, i) => {
        const { rendered: _written, ...delivery } = testDelivery(tenant, `reader${i}@example.com`);
        return { ...delivery, kind: 'daily' as const, idempotencyKey: `daily:${i}`, data: { reader: i } };
      }),
      systemClock,
    );
    const sink = await startTestSmtpServer();
    const sender = createMailSender({ maxConnections: 5 });
    const endpoint = plainEndpointOf(sink);
    let rendering = 0;
    let most = 0;
    // A report's render reads its rows (here a timer stands for them) and then writes the email.
    const daily = async (delivery: { readonly recipient: { readonly address: string } }): Promise<RenderedEmail> => {
      rendering += 1;
      most = Math.max(most, rendering);
      await new Promise((read) => setTimeout(read, 5));
      rendering -= 1;
      return {
        subject: `Daily ${delivery.recipient.address}`,
        text: 'The day.',
        html: '<p>The day.</p>',
        headers: { 'X-Tocsin-Kind': 'daily', 'X-Tocsin-Tenant': 'test' },
      };
    };
    const worker = new DeliveryWorker({
      storage: database.storage,
      clock: systemClock,
      sender,
      resolveEndpoint: async () => endpoint,
      composers: { daily },
      settings: { pollIntervalMs: 20 },
    });
    try {
      worker.start();
      await sink.waitForMessages(REPORTS, 60_000);
      await worker.stop();
    } finally {
      await sender.close();
      await sink.close();
    }
    // Before, the claim's 40 rendered at once: on PostgreSQL, the reads of a claim of 100 big reports
    // queued for the pool's 5 connections ahead of the leases' renewal, past the 10 s wait for one.
    expect(most).toBe(RENDERS_AT_ONCE);
    expect(new Set(sink.messages.map((m) => m.envelope.to.join())).size).toBe(REPORTS);
  }, 90_000);
});
