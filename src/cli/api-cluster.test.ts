/**
 * Several api processes on one port (`tocsin serve --role api --processes N`): every alert posted
 * is stored once, under an id no other alert has, whichever process took its request.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ServeProcess, startServeProcess } from '../../test/support/processes/serve.js';
import { type TestDatabase, createTestDatabase, describeEachDialect } from '../../test/support/storage.js';
import { type Storage, openStorage } from '../storage/storage.js';

const ADMIN = 'cluster-admin-token-0123456789';
const PROCESSES = 2;
const CLIENTS = 8;
const REQUESTS = 60;
const BATCH = 50;

describeEachDialect('api processes on one port', (dialect) => {
  let database: TestDatabase;
  let server: ServeProcess;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    server = await startServeProcess(['--role', 'api', '--processes', String(PROCESSES)], {
      DATABASE_URL: database.url,
      TOCSIN_ADMIN_TOKEN: ADMIN,
      TOCSIN_SMTP_URL: 'smtp://127.0.0.1:1',
    });
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  const call = async (method: string, url: string, token: string, body?: unknown) => {
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as any };
  };

  it('stores every alert of concurrent batches once, with distinct ids, and stops on SIGTERM', async () => {
    expect(server.printed()).toContain(`(${PROCESSES} api processes)`);
    expect((await call('POST', '/api/v1/tenants', ADMIN, { name: 'cluster' })).status).toBe(201);
    const robot = await call('POST', '/api/v1/tenants/cluster/users', ADMIN, { email: 'robot@cluster.example.com', name: 'Robot', roles: ['Robot'] });
    const { json: token } = await call('POST', `/api/v1/tenants/cluster/users/${robot.json.id}/tokens`, ADMIN, { name: 'cluster' });

    // Many keep-alive connections at once, so that the primary hands them to every process.
    let next = 0;
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < REQUESTS) {
          const r = next++;
          const alerts = Array.from({ length: BATCH }, (_, i) => ({
            severity: i % 5 === 0 ? 'Fatal' : 'Error',
            component: 'Robots',
            message: `request ${r} alert ${i}`,
            ...(i % 10 === 0 ? { dedupKey: `robot-${i % 3}` } : {}),
          }));
          const answer = await call('POST', '/api/v1/tenants/cluster/alerts', token.token, { alerts });
          expect(answer.status).toBe(202);
          expect(answer.json.ids).toHaveLength(BATCH);
          ids.push(...answer.json.ids);
        }
      }),
    );
    expect(new Set(ids).size).toBe(REQUESTS * BATCH);

    const storage: Storage = await openStorage(database.url, { poolSize: 1 });
    try {
      const rows = await storage.db.selectFrom('alerts').select(['id', 'message']).execute();
      expect(rows).toHaveLength(REQUESTS * BATCH);
      expect(new Set(rows.map((r) => r.id))).toEqual(new Set(ids));
      expect(new Set(rows.map((r) => r.message)).size).toBe(REQUESTS * BATCH);
    } finally {
      await storage.close();
    }
    expect(await server.stop()).toBe(0);
  }, 180_000);
});
