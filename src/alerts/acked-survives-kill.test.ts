/**
 * R1, acked ⇒ stored: a real `tocsin serve` takes alerts from concurrent clients and is killed
 * with SIGKILL after a random number of answers, then started again on the same database and
 * killed again. Every alert answered 202 must be stored with what was posted; alerts stored without
 * an answer (the kill fell between the commit and the reply) are allowed and counted.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ServeProcess, startServeProcess } from '../../test/support/processes/serve.js';
import { type TestDatabase, createTestDatabase, describeEachDialect } from '../../test/support/storage.js';
import { openStorage } from '../storage/storage.js';
import { seededRandom } from '../../test/support/seeded-random.js';

const ADMIN = 'acked-kill-admin-token-0123456789';
// Each start of `tocsin serve` takes seconds: two kills (one restart after a kill) keep the file short.
const KILLS = 2;
const CLIENTS = 8;
const BATCH = 5;

describeEachDialect('alerts answered 202 by a process killed with SIGKILL', (dialect) => {
  let database: TestDatabase;
  let server: ServeProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    server?.child.kill('SIGKILL');
    await server?.stop();
    await database?.drop();
  });

  const serve = () =>
    startServeProcess(['--role', 'api'], { DATABASE_URL: database.url, TOCSIN_ADMIN_TOKEN: ADMIN, TOCSIN_MAIL_CATCHER_PORT: '0', LOG_LEVEL: 'silent' });
  const post = (url: string, body: unknown) =>
    fetch(`${server!.url}${url}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('are all stored after every kill and restart, with what was posted', async () => {
    const next = seededRandom(dialect === 'sqlite' ? 11 : 13);
    // What each 202 answered: alert id → its message.
    const acked = new Map<string, string>();
    let posted = 0;
    for (let round = 0; round < KILLS; round++) {
      server = await serve();
      if (round === 0) expect((await post('/api/v1/tenants', { name: 'acked' })).status).toBe(201);
      const child = server.child;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // The kill lands after a random number of answers, while every client has a request in flight.
      const killAfter = acked.size + 20 + Math.floor(next() * 200);
      const client = async (c: number) => {
        for (let n = 0; child.exitCode === null && child.signalCode === null; n++) {
          const messages = Array.from({ length: BATCH }, (_, i) => `round ${round} client ${c} request ${n} alert ${i}`);
          posted += BATCH;
          let res: Response;
          try {
            res = await post('/api/v1/tenants/acked/alerts', { alerts: messages.map((message) => ({ severity: 'Error', component: 'Jobs', message })) });
          } catch {
            return; // the connection died with the process: no answer, nothing promised
          }
          if (res.status !== 202) throw new Error(`answered ${res.status}: ${await res.text()}`);
          const { ids } = (await res.json()) as { ids: string[] };
          for (const [i, id] of ids.entries()) acked.set(id, messages[i]!);
          if (acked.size >= killAfter) child.kill('SIGKILL');
        }
      };
      await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
      await exited;
      expect(child.signalCode).toBe('SIGKILL');
      await server.stop(); // only removes its data directory: the database stays
    }
    server = undefined;
    // The second round started on what the first kill left; the last kill's is opened here.
    const storage = await openStorage(database.url, { poolSize: 1 });
    try {
      const stored = new Map((await storage.db.selectFrom('alerts').select(['id', 'message']).execute()).map((a) => [a.id, a.message]));
      const lost = [...acked].filter(([id, message]) => stored.get(id) !== message);
      expect(lost).toEqual([]);
      process.stdout.write(
        `[R1 ${dialect}] ${KILLS} SIGKILLs, ${posted} alerts posted, ${acked.size} answered 202, lost after ack 0, stored without an answer ${stored.size - acked.size}\n`,
      );
    } finally {
      await storage.close();
    }
  }, 120_000);
});
