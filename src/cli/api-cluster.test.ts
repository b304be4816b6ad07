/**
 * Several api processes on one port (`tocsin serve --role api --processes N`): every alert posted
 * is stored once, under an id no other alert has, whichever process took its request; without
 * TOCSIN_SMTP_URL they share one built-in mail catcher.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureBuilt } from '../../test/acceptance/processes.js';
import { freePort } from '../../test/support/ports.js';
import { type ServeProcess, startServeProcess } from '../../test/support/processes/serve.js';
import { type TestDatabase, createTestDatabase, describeEachDialect } from '../../test/support/storage.js';
import { type Storage, openStorage } from '../storage/storage.js';

const ADMIN = 'cluster-admin-token-0123456789';
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');
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
      // No TOCSIN_SMTP_URL: the built-in mail catcher, on a free port.
      TOCSIN_MAIL_CATCHER_PORT: '0',
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

  /** alone sends one request on a connection of its own, so that the primary hands each to the next process. */
  const alone = (method: string, url: string, body?: unknown) =>
    new Promise<{ status: number; json: any }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const request = http.request(
        `${server.url}${url}`,
        { method, agent: false, headers: { authorization: `Bearer ${ADMIN}`, ...(payload ? { 'content-type': 'application/json' } : {}) } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, json: text ? JSON.parse(text) : undefined }));
        },
      );
      request.on('error', reject);
      request.end(payload);
    });

  it('runs one mail catcher that every process sends to and every process reads', async () => {
    expect(server.printed()).toMatch(/System SMTP: +built-in mail catcher at smtp:\/\/127\.0\.0\.1:\d+\n/);
    expect((await call('POST', '/api/v1/tenants', ADMIN, { name: 'catcher' })).status).toBe(201);
    const sentTo = Array.from({ length: 2 * PROCESSES }, (_, i) => `ops${i}@catcher.example.com`);
    for (const to of sentTo) {
      const test = await alone('POST', '/api/v1/tenants/catcher/settings/mail/test', { sendTo: to });
      expect(test.json, JSON.stringify(test.json)).toMatchObject({ ok: true });
    }
    for (let i = 0; i < 2 * PROCESSES; i++) {
      const caught = await alone('GET', '/api/v1/system/mail-catcher/messages');
      expect(caught.json.items.map((m: { envelope: { to: string[] } }) => m.envelope.to[0]).sort()).toEqual(sentTo);
    }
    expect((await alone('DELETE', '/api/v1/system/mail-catcher/messages')).status).toBe(204);
    expect((await alone('GET', '/api/v1/system/mail-catcher/messages')).json.items).toEqual([]);
  });

  it('answers each scrape of /metrics with the counts of every process, whichever one takes it', async () => {
    // Each process answered with its own registry, so a scraper saw the counters jump between the
    // processes' values at every scrape (a reset to Prometheus) and never the whole.
    const scrape = async () => {
      const text = await new Promise<string>((resolve, reject) => {
        http
          .get(`${server.url}/metrics`, { agent: false }, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve(body));
          })
          .on('error', reject);
      });
      // Readiness is each process's, not a sum: the whole is ready when every process is (min).
      expect(text).toMatch(/^tocsin_ready 1$/m);
      const line = text.split('\n').find((l) => l.startsWith('tocsin_http_requests_total{route="/healthz",method="GET",status="200"}'));
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    const before = await scrape();
    for (let i = 0; i < 4 * PROCESSES; i++) expect((await alone('GET', '/healthz')).status).toBe(200);
    for (let i = 0; i < 2 * PROCESSES; i++) expect(await scrape()).toBe(before + 4 * PROCESSES);
  });

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

/** clusterGroup starts `serve --role api --processes 2` on SQLite as a process group of its own (as in a terminal), logging warnings. */
async function clusterGroup(dataDir: string) {
  ensureBuilt();
  const child = spawn(process.execPath, [MAIN, 'serve', '--role', 'api', '--processes', '2'], {
    env: {
      ...process.env,
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      TOCSIN_DATA_DIR: dataDir,
      DATABASE_URL: `sqlite:${path.join(dataDir, 'tocsin.db')}`,
      TOCSIN_ADMIN_TOKEN: ADMIN,
      TOCSIN_MAIL_CATCHER_PORT: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let said = '';
  child.stdout!.on('data', (chunk: Buffer) => (said += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (said += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, said: () => said, exited };
}

it('exits 0, logging no failure, when a stop signal reaches the whole group while the api processes start', async () => {
  // systemd (KillMode=control-group) and Ctrl-C signal every process of the group at once: during the
  // api processes' start, the primary logged "an api process exited; stopping the others" and exited 1
  // ("an api process was killed by SIGTERM before it listened"), a failure where a stop was asked.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-cluster-stop-'));
  const { child, said, exited } = await clusterGroup(dataDir);
  try {
    // The primary forks its api processes once its migrations are applied: signal the group as soon as one exists.
    await expect
      .poll(async () => (await promisify(execFile)('ps', ['-o', 'pid=', '--ppid', String(child.pid)]).catch(() => ({ stdout: '' }))).stdout.trim(), {
        timeout: 120_000,
        interval: 20,
      })
      .not.toBe('');
    process.kill(-child.pid!, 'SIGTERM');
    expect(await exited, said()).toBe(0);
    expect(said()).not.toMatch(/exited; stopping the others|before it listened/);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 180_000);

it('stops on a Ctrl-C to the whole group while serving, exit 0, with no warning of a signal repeated', async () => {
  // Each api process hears the terminal's SIGINT and then its primary's SIGTERM: the second ended it by
  // the signal at once (requests in flight cut off), and once it no longer did, it warned "already stopping".
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-cluster-stop-'));
  const { child, said, exited } = await clusterGroup(dataDir);
  try {
    await expect.poll(() => (said().match(/Tocsin is running/g) ?? []).length, { timeout: 120_000, interval: 20 }).toBe(1);
    await expect.poll(async () => (await fetch(`${said().match(/Tocsin is running: (\S+?)\/ /)![1]}/readyz`)).status, { timeout: 20_000 }).toBe(200);
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited, said()).toBe(0);
    expect(said()).not.toMatch(/"level":(40|50)/);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 180_000);

it('names the port chosen for PORT=0 in its banner and its links, one port for every api process', async () => {
  // With PORT=0 each api process built its links from port 0: the banner said http://127.0.0.1:0/ and
  // every source's receive URL (and email link) named port 0, where nothing listens.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-cluster-port0-'));
  const server = await startServeProcess(['--role', 'api', '--processes', '2'], {
    PORT: '0',
    TOCSIN_DATA_DIR: dataDir,
    DATABASE_URL: `sqlite:${path.join(dataDir, 'tocsin.db')}`,
    TOCSIN_ADMIN_TOKEN: ADMIN,
    TOCSIN_MAIL_CATCHER_PORT: '0',
  });
  try {
    const named = /Tocsin is running: (http:\/\/127\.0\.0\.1:(\d+))\//.exec(server.printed());
    expect(named?.[2], server.printed()).not.toBe('0');
    const origin = named![1]!;
    const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    expect((await fetch(`${origin}/api/v1/tenants`, { method: 'POST', headers, body: JSON.stringify({ name: 'port0' }) })).status).toBe(201);
    for (let i = 0; i < 4; i++) {
      const created = await fetch(`${origin}/api/v1/tenants/port0/sources`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: `s${i}`, kind: 'webhook' }),
      });
      expect(((await created.json()) as { url: string }).url.startsWith(`${origin}/`)).toBe(true);
    }
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 180_000);

it('names in its banner the system default saved in System mail settings, which every email goes through, not the catcher', async () => {
  // With --processes the banner said "System SMTP: built-in mail catcher at …" while each api process
  // warned that the saved server is used, as one process's banner already says.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-cluster-saved-smtp-'));
  const env = { DATABASE_URL: `sqlite:${path.join(dataDir, 'tocsin.db')}`, TOCSIN_ADMIN_TOKEN: ADMIN, TOCSIN_MAIL_CATCHER_PORT: '0' };
  try {
    const first = await startServeProcess([], env);
    try {
      const saved = await fetch(`${first.url}/api/v1/system/mail-settings`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ host: 'smtp.example.com', port: 587, security: 'starttls', fromAddress: 'ops@example.com' }),
      });
      expect(saved.status).toBe(200);
    } finally {
      await first.stop();
    }
    const cluster = await startServeProcess(['--role', 'api', '--processes', '2'], env);
    try {
      expect(cluster.printed()).toMatch(
        /\n {2}System SMTP: +smtp:\/\/smtp\.example\.com:587, saved in System mail settings \(used instead of the built-in mail catcher at smtp:\/\/127\.0\.0\.1:\d+\)\n/,
      );
    } finally {
      await cluster.stop();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}, 240_000);
