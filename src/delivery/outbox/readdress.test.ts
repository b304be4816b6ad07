import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestOutboxDatabase, insertTestTenant, openTestOutboxDatabase, testDelivery } from '../../../test/support/outbox-fixtures.js';
import { describeEachDialect } from '../../../test/support/storage.js';
import { FakeClock } from '../../shared/clock.js';
import { enqueueDeliveries } from './enqueue.js';
import { claimDue } from './leases.js';
import { holderDelivers, holderInFlight, holdsReleasedKey, readdressDelivery } from './readdress.js';

describe('holderDelivers: whether the row holding a key keeps it from a row moving to its address', () => {
  const at = (status: 'pending' | 'sending' | 'retrying' | 'sent' | 'failed') => ({ status, address: 'desk@example.com' });

  it('keeps it once sent, wherever its recipient is now', () => {
    expect(holderDelivers(at('sent'), undefined)).toBe(true);
    expect(holderDelivers(at('sent'), 'elsewhere@example.com')).toBe(true);
  });

  it('gives it up once failed: the mailbox got nothing', () => {
    expect(holderDelivers(at('failed'), 'desk@example.com')).toBe(false);
  });

  it('keeps it while waiting for a recipient still at that mailbox, however spelt', () => {
    for (const status of ['pending', 'sending', 'retrying'] as const) {
      expect(holderDelivers(at(status), 'Desk@Example.com')).toBe(true);
      expect(holderDelivers(at(status), 'elsewhere@example.com')).toBe(false);
      expect(holderDelivers(at(status), undefined)).toBe(false);
    }
  });
});

describe('holdsReleasedKey', () => {
  it('tells a row that gave its own key up from one holding a key a decision made', () => {
    expect(holdsReleasedKey({ id: 'd1', idempotencyKey: 'summary:t:1:desk@example.com#released:d1' })).toBe(true);
    expect(holdsReleasedKey({ id: 'd1', idempotencyKey: 'summary:t:1:desk@example.com' })).toBe(false);
    expect(holdsReleasedKey({ id: 'd2', idempotencyKey: 'summary:t:1:desk@example.com#released:d1' })).toBe(false);
  });

  it('tells a row queued behind another reader’s row holding its key', () => {
    expect(holdsReleasedKey({ id: 'd2', idempotencyKey: 'immediate:t:f:desk@example.com#after:d1' })).toBe(true);
  });
});

describe('holderInFlight: whether a row moving in waits for the send of the row holding its key', () => {
  const NOW = 1_000_000;
  const holder = (status: 'pending' | 'sending' | 'retrying' | 'failed', leaseToken: string | null, leaseExpiresAt: number | null) => ({
    status,
    leaseToken,
    leaseExpiresAt,
  });

  it('waits for another claim sending it under a lease still running', () => {
    expect(holderInFlight(holder('sending', 'other', NOW + 1), 'mine', NOW)).toBe(true);
  });

  it('waits for none of the same claim (written from the same reads), nor a dead worker’s, nor a row not being sent', () => {
    expect(holderInFlight(holder('sending', 'mine', NOW + 1), 'mine', NOW)).toBe(false);
    expect(holderInFlight(holder('sending', 'other', NOW), 'mine', NOW)).toBe(false);
    for (const status of ['pending', 'retrying', 'failed'] as const) expect(holderInFlight(holder(status, null, null), 'mine', NOW)).toBe(false);
  });
});

describeEachDialect('readdressDelivery', (dialect) => {
  let database: TestOutboxDatabase;
  let tenant: string;
  const clock = new FakeClock(Date.UTC(2026, 11, 7, 12));
  const key = 'summary:w1:desk@example.com';
  beforeAll(async () => {
    database = await openTestOutboxDatabase(dialect);
    tenant = await insertTestTenant(database.storage.db, 'readdress');
  });
  afterAll(() => database?.close());

  /** Two claimed rows: one holding the desk's key, one at another address, about to move to the desk. */
  const holderAndMover = async () => {
    const db = database.storage.db;
    await db.deleteFrom('deliveries').execute();
    await enqueueDeliveries(db, [testDelivery(tenant, 'desk@example.com', { idempotencyKey: key }), testDelivery(tenant, 'old@example.com')], clock);
    const { deliveries } = await claimDue(database.storage, { workerId: 'w', now: clock.now(), leaseMs: 60_000, limit: 10, excludeTenants: [] });
    const holder = deliveries.find((d) => d.recipient.address === 'desk@example.com')!;
    const mover = deliveries.find((d) => d.recipient.address === 'old@example.com')!;
    const row = (id: string) => db.selectFrom('deliveries').select(['recipient_address', 'idempotency_key']).where('id', '=', id).executeTakeFirstOrThrow();
    return { db, holder, mover, row };
  };

  it('takes the key of a row that does not bring the email to that mailbox, which keeps a key of its own', async () => {
    const { holder, mover, row } = await holderAndMover();
    expect(await readdressDelivery(database.storage.db, mover, 'desk@example.com', key, async () => false, clock.now())).toBe('moved');
    expect(await row(mover.id)).toEqual({ recipient_address: 'desk@example.com', idempotency_key: key });
    const held = await row(holder.id);
    expect(holdsReleasedKey({ id: holder.id, idempotencyKey: held.idempotency_key })).toBe(true);
  });

  it("takes the key of a row whose send by another claim ended with its lease (a dead worker's), not yielding to it", async () => {
    const { db, holder, mover, row } = await holderAndMover();
    await db
      .updateTable('deliveries')
      .set({ lease_token: 'a-dead-workers-claim', lease_expires_at: clock.now() - 1 })
      .where('id', '=', holder.id)
      .execute();
    expect(await readdressDelivery(db, mover, 'desk@example.com', key, async () => false, clock.now())).toBe('moved');
    expect(await row(mover.id)).toEqual({ recipient_address: 'desk@example.com', idempotency_key: key });
    expect(holdsReleasedKey({ id: holder.id, idempotencyKey: (await row(holder.id)).idempotency_key })).toBe(true);
  });

  it('moves after the last holder it read gave the key up, when the holders before it moved away as they were judged', async () => {
    // Rows crossing addresses: each holder read followed its reader away while it was judged, another row taking the key.
    const { db, holder, mover, row } = await holderAndMover();
    await enqueueDeliveries(db, [testDelivery(tenant, 'next-1@example.com'), testDelivery(tenant, 'next-2@example.com')], clock);
    const next = await db.selectFrom('deliveries').select('id').where('recipient_address', 'like', 'next-%').orderBy('recipient_address').execute();
    const holders = [holder.id, ...next.map((n) => n.id)];
    let judged = 0;
    const movingAway = async () => {
      const now = holders[judged]!;
      const following = holders[judged + 1];
      judged += 1;
      if (following) {
        await db
          .updateTable('deliveries')
          .set({ idempotency_key: `summary:w1:away-${judged}@example.com` })
          .where('id', '=', now)
          .execute();
        await db.updateTable('deliveries').set({ idempotency_key: key }).where('id', '=', following).execute();
      }
      return false;
    };
    expect(await readdressDelivery(db, mover, 'desk@example.com', key, movingAway, clock.now())).toBe('moved');
    expect(judged).toBe(3);
    expect(await row(mover.id)).toEqual({ recipient_address: 'desk@example.com', idempotency_key: key });
  });

  it('leaves the key to its row when that one was sent while it was judged: the mailbox has the email already', async () => {
    // The row holding the key, judged as not bringing the email (its recipient left the address), was sent
    // meanwhile by the worker holding it: giving its key up then would send the mailbox the email twice.
    const { db, holder, mover, row } = await holderAndMover();
    const sentMeanwhile = async () => {
      await db.updateTable('deliveries').set({ status: 'sent' }).where('id', '=', holder.id).execute();
      return false;
    };
    expect(await readdressDelivery(db, mover, 'desk@example.com', key, sentMeanwhile, clock.now())).toBe('taken');
    expect(await row(holder.id)).toEqual({ recipient_address: 'desk@example.com', idempotency_key: key });
    expect((await row(mover.id)).recipient_address).toBe('old@example.com');
  });

  it('leaves the key a row moved to while it was judged, taking the key that row left', async () => {
    // The row holding the key followed its own recipient elsewhere meanwhile (another worker composed it): its new
    // key is that address's one email, which a decision made for that address later finds, and must not be renamed.
    const { db, holder, mover, row } = await holderAndMover();
    const movedMeanwhile = async () => {
      await db
        .updateTable('deliveries')
        .set({ recipient_address: 'new-desk@example.com', idempotency_key: 'summary:w1:new-desk@example.com' })
        .where('id', '=', holder.id)
        .execute();
      return false;
    };
    expect(await readdressDelivery(db, mover, 'desk@example.com', key, movedMeanwhile, clock.now())).toBe('moved');
    expect(await row(holder.id)).toEqual({ recipient_address: 'new-desk@example.com', idempotency_key: 'summary:w1:new-desk@example.com' });
    expect(await row(mover.id)).toEqual({ recipient_address: 'desk@example.com', idempotency_key: key });
  });
});
