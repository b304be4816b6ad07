import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../shared/clock.js';
import { describeEachDialect } from '../../../test/support/storage.js';
import { plainEndpointOf, startTestSmtpServer } from '../../../test/support/smtp-servers.js';
import { type TestOutboxDatabase, insertTestTenant, openTestOutboxDatabase, testDelivery } from '../../../test/support/outbox-fixtures.js';
import type { RenderedEmail } from '../contract.js';
import { createMailSender } from '../smtp/sender.js';
import { enqueueDeliveries } from './enqueue.js';
import type { Delivery } from './delivery.js';
import { RENDERS_AT_ONCE, fewRendersAtOnce } from './render-slots.js';
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

describe('fewRendersAtOnce', () => {
  const email: RenderedEmail = { subject: 's', text: 't', html: '<p>h</p>', headers: {} };
  /** turns lets the renders that may start start. */
  const turns = () => new Promise((resolve) => setImmediate(resolve));
  /** Composers whose renders end when the test says, counting those under way. */
  const heldRenders = () => {
    const ends: (() => void)[] = [];
    let rendering = 0;
    const compose = async () => {
      rendering += 1;
      await new Promise<void>((end) => ends.push(end));
      rendering -= 1;
      return email;
    };
    /** endAll ends every render, those started as others end too. */
    const endAll = async () => {
      while (ends.length > 0) {
        ends.shift()!();
        await turns();
      }
    };
    return { compose, ends, endAll, rendering: () => rendering };
  };
  const delivery = {} as Delivery;

  it("renders a Fatal alert's email (and a mail-health notice) at once while every report's slot is taken", async () => {
    const reports = heldRenders();
    const urgent = heldRenders();
    const composers = fewRendersAtOnce({ daily: reports.compose, immediate: urgent.compose, 'mail-health': urgent.compose }, 2);
    const dailies = [1, 2, 3].map(() => composers.daily!(delivery));
    await turns();
    expect(reports.rendering()).toBe(2);
    const fatal = composers.immediate!(delivery);
    const notice = composers['mail-health']!(delivery);
    await turns();
    expect(urgent.rendering()).toBe(2);
    for (const end of urgent.ends) end();
    await Promise.all([fatal, notice]);
    await reports.endAll();
    await Promise.all(dailies);
  });

  it('keeps to its limit for renders asked after others ended, the slot of one that ended passing to the next waiting', async () => {
    const reports = heldRenders();
    const composers = fewRendersAtOnce({ summary: reports.compose }, 2);
    const first = [1, 2, 3].map(() => composers.summary!(delivery));
    await turns();
    expect(reports.rendering()).toBe(2);
    // One ends: the one waiting takes its slot; one asked now waits, two still under way.
    reports.ends.shift()!();
    await first[0];
    const later = composers.summary!(delivery);
    await turns();
    expect(reports.rendering()).toBe(2);
    await reports.endAll();
    await Promise.all([...first, later]);
  });
});
