import net from 'node:net';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { TEST_PG_URL, createTestDatabase } from '../../test/support/storage.js';
import { openStorage } from './storage.js';

/**
 * startPooler stands in for a connection pooler in front of PostgreSQL (PgBouncer in session mode,
 * as the README suggests, RDS Proxy): it forwards both ways, but gives each client a process id of
 * its own in BackendKeyData, not the server's session's, as poolers do.
 */
async function startPooler(port: number, host: string): Promise<{ port: number; close(): Promise<void> }> {
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => open.delete(socket));
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      let at = 0;
      while (pending.length - at >= 5) {
        const size = 1 + pending.readInt32BE(at + 1);
        if (pending.length - at < size) break;
        const message = Buffer.from(pending.subarray(at, at + size));
        if (message[0] === 0x4b) message.writeInt32BE(message.readInt32BE(5) + 1_000_000, 5);
        client.write(message);
        at += size;
      }
      pending = pending.subarray(at);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

it.runIf(TEST_PG_URL)(
  'lets a long statement run behind a connection pooler, whose process ids are not the server sessions [postgres]',
  async () => {
    // Behind a pooler the client's process id names no session in pg_stat_activity: the check for
    // a silent server must not take a statement the server is working on (a migration's index, a
    // lock wait) for a lost one and cut it.
    const database = await createTestDatabase('postgres');
    const target = new URL(database.url);
    const pooler = await startPooler(Number(target.port || 5432), target.hostname);
    target.hostname = '127.0.0.1';
    target.port = String(pooler.port);
    const storage = await openStorage(target.toString(), { poolSize: 2 });
    try {
      const slept = await sql<{ done: number }>`select 1 as done from pg_sleep(8)`.execute(storage.db);
      expect(slept.rows).toEqual([{ done: 1 }]);
    } finally {
      await storage.close();
      await pooler.close();
      await database.drop();
    }
  },
  60_000,
);
