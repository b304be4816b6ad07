import pg from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { backoffDelay, isWorthRetrying, openStorageWhenReachable, unavailableReason } from './connect.js';
import { DIALECTS, TEST_PG_URL, createLimitedRole, createTestDatabase } from '../../test/support/storage.js';
import { proxyFor, viaProxy } from '../../test/support/tcp-proxy.js';

describe('retrying a database that refuses', () => {
  it('doubles the wait up to the cap, spread over its upper half', () => {
    const policy = { firstMs: 500, maxMs: 15_000 };
    expect([0, 1, 2, 3, 4, 5, 40].map((n) => backoffDelay(n, policy, () => 1))).toEqual([500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000]);
    expect(backoffDelay(2, policy, () => 0)).toBe(1_000);
  });

  it('retries a full, starting or unreachable server, not refused credentials, a missing database or a bad URL', () => {
    for (const code of ['53300', '57P03', '08006', 'ECONNREFUSED', 'ENOTFOUND']) expect(isWorthRetrying({ code })).toBe(true);
    expect(isWorthRetrying(new Error('Connection terminated unexpectedly'))).toBe(true);
    for (const code of ['28P01', '28000', '3D000', 'SQLITE_CANTOPEN']) expect(isWorthRetrying({ code })).toBe(false);
    expect(isWorthRetrying(new Error('DATABASE_URL must start with sqlite: or postgres://'))).toBe(false);
  });

  it('retries a database closed to connections for a maintenance (ALLOW_CONNECTIONS false), not another error of its SQLSTATE', () => {
    expect(isWorthRetrying({ code: '55000', message: 'database "tocsin" is not currently accepting connections' })).toBe(true);
    expect(isWorthRetrying({ code: '55000', message: 'currval of sequence "s" is not yet defined in this session' })).toBe(false);
  });

  it("retries a database closed to connections whatever language the server's messages are in (lc_messages)", () => {
    // A server set up in German says so in German: read from the words alone, it stopped the start
    // as a database that never opens, and answered 500 with a stack trace at every request.
    const german = { code: '55000', routine: 'CheckMyDatabase', message: 'Datenbank \u00bbtocsin\u00ab akzeptiert gegenw\u00e4rtig keine Verbindungen' };
    expect(isWorthRetrying(german)).toBe(true);
    expect(unavailableReason(german)).toBe('the database is not accepting connections now (ALLOW_CONNECTIONS false)');
    expect(
      isWorthRetrying({
        code: '55000',
        routine: 'currval_oid',
        message: 'currval des Sequenzobjekts \u00bbs\u00ab ist in dieser Sitzung noch nicht definiert',
      }),
    ).toBe(false);
  });

  it.runIf(TEST_PG_URL)('knows the refusal of a database closed to connections by where PostgreSQL raises it, not only by its words [postgres]', async () => {
    const database = await createTestDatabase('postgres');
    const admin = new pg.Client({ connectionString: TEST_PG_URL });
    await admin.connect();
    const name = new URL(database.url).pathname.slice(1);
    const client = new pg.Client({ connectionString: database.url });
    try {
      await admin.query(`alter database ${name} allow_connections false`);
      const refused = await client.connect().then(
        () => undefined,
        (err: unknown) => err as { code?: string; routine?: string },
      );
      expect(refused).toMatchObject({ code: '55000', routine: 'CheckMyDatabase' });
      expect(isWorthRetrying({ ...refused, message: 'in the words of another language' })).toBe(true);
    } finally {
      await admin.query(`alter database ${name} allow_connections true`);
      await admin.end();
      await database.drop();
    }
  });

  it('says why in words an operator acts on, without credentials or host names', () => {
    expect(unavailableReason({ code: '53300', message: 'sorry, too many clients already' })).toMatch(
      /^too many connections: .*too many clients already.*TOCSIN_DB_POOL_SIZE/,
    );
    expect(unavailableReason({ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND db.internal' })).toBe('database unreachable (ENOTFOUND)');
    expect(unavailableReason({ code: '28P01', message: 'password authentication failed for user "x"' })).toBe(
      'the database refused the credentials of DATABASE_URL',
    );
    expect(unavailableReason(new Error('driver has already been destroyed'))).toBe('database unreachable');
  });
});

describe.runIf(DIALECTS.includes('postgres'))('opening PostgreSQL while it has no free connection', () => {
  it('waits with backoff, saying why, and opens once a connection frees', async () => {
    const database = await createTestDatabase('postgres');
    const role = await createLimitedRole(database, 1);
    const holder = new pg.Client({ connectionString: role.url });
    try {
      await holder.connect();
      const reasons: string[] = [];
      const storage = await openStorageWhenReachable(role.url, {
        poolSize: 1,
        logger: pino({ level: 'silent' }),
        policy: { firstMs: 20, maxMs: 100 },
        onWaiting: async (reason) => {
          reasons.push(reason);
          // The role's only connection frees after the second refusal.
          if (reasons.length === 2) await holder.end();
        },
      });
      await storage.close();
      // The server may still count the freed backend for a moment: a third refusal is allowed.
      expect(reasons.length).toBeGreaterThanOrEqual(2);
      for (const reason of reasons) expect(reason).toMatch(/^too many connections: .*too many connections for role/);
    } finally {
      await holder.end().catch(() => {});
      await database.drop();
      await role.drop();
    }
  });
});

describe.runIf(DIALECTS.includes('postgres'))('opening PostgreSQL that takes the connection but never answers', () => {
  it('gives up on that attempt within seconds, says why, and opens once the server answers again', async () => {
    // A frozen host or a firewall that lets the connection in: the first query waited for ever, so
    // `tocsin serve` neither listened (no /healthz, no /readyz) nor said anything.
    const database = await createTestDatabase('postgres');
    const proxy = await proxyFor(TEST_PG_URL!);
    try {
      proxy.stall();
      const reasons: string[] = [];
      const storage = await openStorageWhenReachable(viaProxy(database.url, proxy), {
        poolSize: 1,
        logger: pino({ level: 'silent' }),
        policy: { firstMs: 20, maxMs: 100 },
        onWaiting: (reason) => {
          reasons.push(reason);
          proxy.restore();
        },
      });
      await storage.close();
      expect(reasons).toEqual(['database unreachable (ETIMEDOUT)']);
    } finally {
      await proxy.close();
      await database.drop();
    }
  }, 60_000);
});
