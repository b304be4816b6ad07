import { sql } from 'kysely';
import { describe, expect, it, vi } from 'vitest';
import { captureWarnings } from '../../../test/support/log-capture.js';
import { openStorage } from '../../storage/storage.js';
import { DIALECTS, createTestDatabase } from '../../../test/support/storage.js';
import { OutboxDoorbell, listenForOutbox, notifyOutbox } from './doorbell.js';

describe.runIf(DIALECTS.includes('postgres'))('the outbox LISTEN connection', () => {
  it('is opened again when the server drops it, and rings once when back for what it missed, logging the drop and the return once each', async () => {
    const database = await createTestDatabase('postgres');
    const storage = await openStorage(database.url, { poolSize: 1 });
    const doorbell = new OutboxDoorbell();
    let rings = 0;
    doorbell.subscribe(() => (rings += 1));
    const { log, entries } = captureWarnings('info');
    const listener = await listenForOutbox(database.url, doorbell, log);
    const listening = sql`select pid from pg_stat_activity where datname = current_database() and query ilike 'LISTEN%' and pid <> pg_backend_pid()`;
    try {
      const [first] = (await listening.execute(storage.db)).rows as { pid: number }[];
      await sql`select pg_terminate_backend(${first!.pid})`.execute(storage.db);
      await vi.waitFor(() => expect(rings).toBe(1), { timeout: 10_000, interval: 20 });
      await notifyOutbox(storage.db);
      await vi.waitFor(() => expect(rings).toBe(2), { timeout: 10_000, interval: 5 });
      expect(entries.map((e) => [e.level, e.msg])).toEqual([
        [40, 'the outbox LISTEN connection failed; the worker finds new mail at its polls meanwhile'],
        [30, 'the outbox LISTEN connection is open again'],
      ]);
    } finally {
      await listener.stop();
      await storage.close();
      await database.drop();
    }
  });
});
