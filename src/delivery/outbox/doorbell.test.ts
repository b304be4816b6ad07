import { sql } from 'kysely';
import { describe, expect, it, vi } from 'vitest';
import { captureWarnings } from '../../../test/support/log-capture.js';
import { openStorage } from '../../storage/storage.js';
import { DIALECTS, createTestDatabase } from '../../../test/support/storage.js';
import { OutboxDoorbell, listenForOutbox, notifyOutbox } from './doorbell.js';

describe.runIf(DIALECTS.includes('postgres'))('the outbox LISTEN connection', () => {
  it('is opened again when the server drops it, and rings once and tells of a change to every tenant when back for what it missed, logging the drop and the return once each', async () => {
    const database = await createTestDatabase('postgres');
    const storage = await openStorage(database.url, { poolSize: 1 });
    const doorbell = new OutboxDoorbell();
    let rings = 0;
    doorbell.subscribe(() => (rings += 1));
    const { log, entries } = captureWarnings('info');
    // The changes to who gets which email told meanwhile are lost with the connection, as the rings are.
    const changes: (string | undefined)[] = [];
    const listener = await listenForOutbox(database.url, doorbell, log, (tenantId) => changes.push(tenantId));
    const listening = sql`select pid from pg_stat_activity where datname = current_database() and query ilike 'LISTEN%' and pid <> pg_backend_pid()`;
    try {
      const [first] = (await listening.execute(storage.db)).rows as { pid: number }[];
      await sql`select pg_terminate_backend(${first!.pid})`.execute(storage.db);
      await vi.waitFor(() => expect(rings).toBe(1), { timeout: 10_000, interval: 20 });
      expect(changes).toEqual([undefined]);
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

  // A DBA's idle_session_timeout (PostgreSQL 14 and later) ends a session idle that long, and the
  // LISTEN connection is idle by design: set on the role at 1 s, it was dropped and opened again
  // 30 times in 40 s, each a warning, the workers of other processes deaf to new mail meanwhile.
  it("keeps listening past the idle_session_timeout a DBA set, which ends only the server's idle sessions", async () => {
    const database = await createTestDatabase('postgres');
    const name = new URL(database.url).pathname.slice(1);
    // The notifying session is opened before the setting, which applies to the sessions opened after it:
    // opened after, it was ended once its first query came over 100 ms after its opening (a loaded machine).
    const storage = await openStorage(database.url, { poolSize: 1 });
    await sql`alter database ${sql.id(name)} set idle_session_timeout = '100ms'`.execute(storage.db);
    const doorbell = new OutboxDoorbell();
    let rings = 0;
    doorbell.subscribe(() => (rings += 1));
    const { log, entries } = captureWarnings('info');
    const listener = await listenForOutbox(database.url, doorbell, log);
    try {
      // Told well past the timeout, in the statement that waits (this pool's session, idle between two, would be ended):
      // the notification reaches the connection that listened first.
      await sql`select pg_sleep(0.5), pg_notify('tocsin_outbox', '')`.execute(storage.db);
      await vi.waitFor(() => expect(rings).toBe(1), { timeout: 10_000, interval: 5 });
      expect(entries).toEqual([]);
    } finally {
      await listener.stop();
      await storage.close();
      await database.drop();
    }
  });
});
