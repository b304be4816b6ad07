import { Writable } from 'node:stream';
import { sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { type ServerRoom, connectionBudget, readServerRoom, roomFor, warnIfOverBudget } from './connection-budget.js';
import { OutboxDoorbell, listenForOutbox } from '../delivery/outbox/doorbell.js';
import { openStorage } from './storage.js';
import { DIALECTS, createLimitedRole, createTestDatabase } from '../../test/support/storage.js';

const DEFAULT_SERVER: ServerRoom = {
  maxConnections: 100,
  reserved: 3,
  superuser: false,
  others: 40,
  roleOthers: 40,
  databaseOthers: 40,
  roleLimit: -1,
  databaseLimit: -1,
};

describe('the connection budget of a process', () => {
  it('is its pool, plus the LISTEN connection of a process that sends', () => {
    expect(connectionBudget('api', 5)).toBe(5);
    expect(connectionBudget('worker', 5)).toBe(6);
    expect(connectionBudget('all', 5)).toBe(6);
  });

  it('fits 1 api and 8 workers of the default pool in a default PostgreSQL with room to spare', () => {
    const deployment = connectionBudget('api', 5) + 8 * connectionBudget('worker', 5);
    expect(deployment).toBe(53);
    expect(roomFor({ ...DEFAULT_SERVER, others: 0 })).toBeGreaterThan(deployment + 40);
  });

  it('finds the room left under the tightest of the server, role and database limits', () => {
    expect(roomFor(DEFAULT_SERVER)).toBe(57);
    expect(roomFor({ ...DEFAULT_SERVER, superuser: true })).toBe(60);
    expect(roomFor({ ...DEFAULT_SERVER, roleLimit: 50 })).toBe(10);
    expect(roomFor({ ...DEFAULT_SERVER, databaseLimit: 45, databaseOthers: 44 })).toBe(1);
    expect(roomFor({ ...DEFAULT_SERVER, roleLimit: 10, superuser: true })).toBe(60);
    expect(roomFor({ ...DEFAULT_SERVER, others: 99 })).toBe(0);
  });
});

describe.runIf(DIALECTS.includes('postgres'))('the connection budget against a real PostgreSQL', () => {
  it('reads the role limit and the sessions in use, and warns at start when the budget exceeds the room', async () => {
    const database = await createTestDatabase('postgres');
    const role = await createLimitedRole(database, 3);
    const other = new pg.Client({ connectionString: role.url });
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, new Writable({ write: (chunk: Buffer, _encoding, done) => done(void lines.push(chunk.toString())) }));
    try {
      await other.connect();
      const storage = await openStorage(role.url, { poolSize: 5 });
      try {
        const server = await readServerRoom(storage);
        expect(server).toMatchObject({ superuser: false, roleLimit: 3, roleOthers: 1, databaseOthers: 1 });
        expect(server.maxConnections).toBeGreaterThan(0);
        expect(roomFor(server)).toBe(2);
        await warnIfOverBudget(storage, 2, logger);
        expect(lines).toEqual([]);
        await warnIfOverBudget(storage, 6, logger);
        expect(lines).toHaveLength(1);
        expect(JSON.parse(lines[0]!)).toMatchObject({ budget: 6, room: 2, roleLimit: 3, msg: expect.stringMatching(/TOCSIN_DB_POOL_SIZE/) });
      } finally {
        await storage.close();
      }
    } finally {
      await other.end();
      await database.drop();
      await role.drop();
    }
  });
});

describe.runIf(DIALECTS.includes('postgres'))('the sessions of a process in pg_stat_activity', () => {
  it("are named tocsin, and the outbox's LISTEN session tocsin outbox listener, unless the URL or PGAPPNAME names them", async () => {
    const database = await createTestDatabase('postgres');
    const named = async (url: string) => {
      const storage = await openStorage(url, { poolSize: 1 });
      try {
        const { rows } = await sql<{ name: string }>`select application_name as name from pg_stat_activity where pid = pg_backend_pid()`.execute(storage.db);
        return rows[0]?.name;
      } finally {
        await storage.close();
      }
    };
    try {
      expect(await named(database.url)).toBe('tocsin');
      const withName = new URL(database.url);
      withName.searchParams.set('application_name', 'tocsin-eu-1');
      expect(await named(withName.href)).toBe('tocsin-eu-1');
      process.env.PGAPPNAME = 'tocsin-from-env';
      try {
        expect(await named(database.url)).toBe('tocsin-from-env');
      } finally {
        delete process.env.PGAPPNAME;
      }
      const listening = await listenForOutbox(database.url, new OutboxDoorbell(), pino({ level: 'silent' }));
      const storage = await openStorage(database.url, { poolSize: 1 });
      try {
        const { rows } = await sql<{
          name: string;
        }>`select application_name as name from pg_stat_activity where datname = current_database() and query like 'LISTEN%'`.execute(storage.db);
        expect(rows.map((row) => row.name)).toEqual(['tocsin outbox listener']);
      } finally {
        await storage.close();
        await listening.stop();
      }
    } finally {
      await database.drop();
    }
  });
});
