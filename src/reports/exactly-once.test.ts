/**
 * Exactly once, across restarts, instances and crashes: one summary per recipient per window.
 * Real Tocsin instances on one SQLite file or PostgreSQL database, a scheduler killed with
 * SIGKILL between deciding and sending, and a real delivery worker sending to a real smtp-server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { type TestSmtpServer, plainEndpointOf, startTestSmtpServer } from '../../test/support/smtp-servers.js';
import { createMailSender } from '../delivery/smtp/sender.js';
import { DeliveryWorker } from '../delivery/outbox/worker.js';
import { ADMIN_TOKEN } from '../../test/support/http.js';
import { type Tocsin, startTocsin } from '../server.js';
import { FakeClock } from '../shared/clock.js';
import { type TestDatabase, createTestDatabase, describeEachDialect } from '../../test/support/storage.js';
import { until } from '../../test/support/until.js';
import { composersFor } from './runtime.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const INTERVAL = 600_000;
const T0 = Date.parse('2026-11-02T10:01:00Z');
const WINDOW_END = Math.ceil(T0 / INTERVAL) * INTERVAL;
const VIEWERS = ['ana@example.com', 'bo@example.com'];

describeEachDialect('exactly once', (dialect) => {
  let database: TestDatabase;
  let smtp: TestSmtpServer;
  let clock: FakeClock;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-once-'));
  const running = new Set<Tocsin>();
  const children: ChildProcess[] = [];

  async function start(role: 'all' | 'api' = 'all'): Promise<Tocsin> {
    const config = loadConfig({
      DATABASE_URL: database.url,
      TOCSIN_ADMIN_TOKEN: ADMIN_TOKEN,
      TOCSIN_DATA_DIR: dataDir,
      TOCSIN_SMTP_URL: `smtp://127.0.0.1:${smtp.port}?from=alerts@example.com`,
      TOCSIN_ROLE: role,
      PORT: '0',
      LOG_LEVEL: 'silent',
    });
    const tocsin = await startTocsin(config, { listen: false, clock, logger: pino({ level: 'silent' }) });
    running.add(tocsin);
    return tocsin;
  }
  async function stop(tocsin: Tocsin) {
    running.delete(tocsin);
    await tocsin.close();
  }
  const call = (tocsin: Tocsin, method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) =>
    tocsin.app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, ...(payload ? { payload } : {}) });
  const summaries = async (tocsin: Tocsin, windowEnd: number) =>
    (
      await tocsin.deps.storage.db
        .selectFrom('deliveries')
        .select('recipient_address')
        .where('kind', '=', 'summary')
        .where('window_end', '=', windowEnd)
        .execute()
    )
      .map((r) => r.recipient_address)
      .sort();
  const decided = async (tocsin: Tocsin, windowEnd: number) =>
    (await tocsin.deps.storage.db.selectFrom('report_windows').select('window_end').where('window_end', '=', windowEnd).execute()).length > 0;

  async function raiseError(tocsin: Tocsin, message: string) {
    const res = await call(tocsin, 'POST', '/api/v1/tenants/once/alerts', { severity: 'Error', component: 'Jobs', message });
    expect(res.statusCode).toBe(202);
  }

  beforeAll(async () => {
    database = await createTestDatabase(dialect, { migrated: true });
    smtp = await startTestSmtpServer();
    clock = new FakeClock(T0 - 3 * 60_000);
    const setup = await start('api');
    await call(setup, 'POST', '/api/v1/tenants', { name: 'once' });
    await call(setup, 'PUT', '/api/v1/tenants/once/settings/mail', { alertsEmailEnabled: true });
    for (const email of VIEWERS) {
      await call(setup, 'POST', '/api/v1/tenants/once/users', { email, name: email, roles: ['Alerts Viewer'] });
    }
    await stop(setup);
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const tocsin of running) await tocsin.close();
    await smtp.close();
    await database.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends one summary per recipient when Tocsin restarts in the middle of a window', async () => {
    clock.set(T0);
    const first = await start();
    await raiseError(first, 'before the restart');
    // The first instance has looked for due windows at least once before it stops.
    await first.reportsTicked();
    await stop(first);
    const second = await start();
    await raiseError(second, 'after the restart');
    clock.set(WINDOW_END + 1_500);
    await until(() => decided(second, WINDOW_END), 'the window to be decided');
    await stop(second);
    const third = await start();
    // A third instance looks after the window was decided, and decides nothing again.
    await third.reportsTicked();
    expect(await summaries(third, WINDOW_END)).toEqual(VIEWERS);
    await stop(third);
  });

  // R10: three instances, as Alertmanager's TestClusterDeduplication runs three.
  it.runIf(dialect === 'postgres')('sends one summary per recipient per window when three instances schedule at once', async () => {
    const [a, b, c] = await Promise.all([start(), start(), start()]);
    const end = WINDOW_END + INTERVAL;
    clock.set(end - 60_000);
    await raiseError(a, 'seen by two instances');
    clock.set(end + 1_500);
    await until(() => decided(a, end), 'the window to be decided');
    // Every instance has looked again since: those that did not decide it decided nothing.
    await Promise.all([a.reportsTicked(), b.reportsTicked(), c.reportsTicked()]);
    expect(await summaries(a, end)).toEqual(VIEWERS);
    await Promise.all([stop(a), stop(b), stop(c)]);
  });

  it('keeps the deliveries of a scheduler killed with SIGKILL after deciding, and sends them once', async () => {
    const end = WINDOW_END + 3 * INTERVAL;
    clock.set(end - 60_000);
    const api = await start('api');
    await raiseError(api, 'decided, then the scheduler died');
    const runDecider = async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, '../../test/support/processes/decide-process.ts')], {
        env: { ...process.env, DATABASE_URL: database.url, NOW: String(end + 1_500), INTERVAL_MS: String(INTERVAL) },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.stderr!.on('data', (chunk: Buffer) => chunk.toString().includes('decided') && resolve());
        child.once('exit', (code) => reject(new Error(`decider exited with ${code}`)));
      });
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    };
    await runDecider();
    expect(await summaries(api, end)).toEqual(VIEWERS);

    // The worker also sends the summaries of the tests above; these are the ones of this window.
    const sentFor = async (windowEnd: number) => {
      const ids = new Set(
        (await api.deps.storage.db.selectFrom('deliveries').select('message_id').where('window_end', '=', windowEnd).execute()).map((r) => r.message_id),
      );
      return smtp.messages.filter((m) => m.messageId !== null && ids.has(m.messageId));
    };
    clock.set(end + 1_500);
    const sender = createMailSender({ maxConnections: 2 });
    const worker = new DeliveryWorker({
      storage: api.deps.storage,
      clock,
      sender,
      resolveEndpoint: async () => plainEndpointOf(smtp),
      composers: composersFor({ storage: api.deps.storage, clock, logger: pino({ level: 'silent' }), config: api.deps.config }),
      settings: { pollIntervalMs: 50 },
    });
    worker.start();
    try {
      await until(async () => (await sentFor(end)).length >= VIEWERS.length, 'the summaries to be sent');
      await runDecider(); // a restart decides again: nothing new
      // Anything it had queued would be sent before the worker finds nothing left to claim.
      await worker.idle();
    } finally {
      await worker.stop();
      await sender.close();
    }
    const sent = await sentFor(end);
    expect(sent.map((m) => m.envelope.to[0]).sort()).toEqual(VIEWERS);
    expect(sent[0]!.raw).toMatch(/^X-Tocsin-Kind: summary$/m);
    expect(await summaries(api, end)).toEqual(VIEWERS);
    await stop(api);
    // Two deciders start through tsx, which takes many seconds each on a loaded machine.
  }, 120_000);
});
