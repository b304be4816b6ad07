/**
 * Acceptance test on one SQLite file shared by two api processes (`serve --role api --processes 2`)
 * that store 1,000-alert batches without pause and two worker processes (`serve --role worker`)
 * that send their Fatal alerts' immediate emails to a real SMTP server. SQLite gives its one write
 * lock to whichever process asks at the right moment: the api processes' back-to-back group commits
 * kept winning it, a worker's lease renewals and recorded results waited past its 10 s lease, and
 * the other worker took over rows the first had sent, whose emails then arrived twice (70 of them
 * in a helper's run). Each worker's /metrics says the longest it waited for the lock.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WORKER_SETTINGS } from '../../src/delivery/outbox/worker.js';
import { heartbeatMs } from '../../src/delivery/outbox/leases-renewal.js';
import { type TenantsApi, tenantWithFatalReader, tenantsApi } from '../support/http.js';
import { type TestSmtpServer, startTestSmtpServer } from '../support/smtp-servers.js';
import { until } from '../support/until.js';
import { type Started, ensureBuilt, killGroup, serveBuilt } from './processes.js';

const ADMIN = 'write-turns-admin-token-0123456789';
/** Batches in flight at once: each api process always has a batch to store while it commits another. */
const LOADERS = 8;
const BATCH = 1_000;
const FATAL_PER_BATCH = 1;
/** The emails that end the load: about 10 s of it on 2 busy cores. */
const EMAILS = 600;
const WAIT_METRIC = /^tocsin_sqlite_write_lock_wait_longest_seconds ([\d.e+-]+)$/m;

beforeAll(ensureBuilt, 180_000);

describe('two api processes storing alerts without pause and two worker processes on one SQLite file', () => {
  let sink: TestSmtpServer;
  const processes: Started[] = [];
  const workers: string[] = [];
  let api: TenantsApi;
  let apiUrl: string;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-turns-'));

  const serve = (args: string[]) =>
    serveBuilt({ databaseUrl: `sqlite:${path.join(dataDir, 'tocsin.db')}`, adminToken: ADMIN, dataDir, smtpPort: sink.port, args }, processes);

  beforeAll(async () => {
    sink = await startTestSmtpServer();
    apiUrl = await serve(['--role', 'api', '--processes', '2']);
    api = tenantsApi(apiUrl, ADMIN);
    for (let i = 0; i < 2; i++) workers.push(await serve(['--role', 'worker']));
  }, 60_000);
  afterAll(async () => {
    for (const started of processes) killGroup(started);
    await sink?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends each Fatal email once, no worker waiting for the write lock anywhere near its lease', async () => {
    await tenantWithFatalReader(api, 'acme', sink.port);

    let fatalStored = 0;
    let loading = true;
    const load = async (loader: number) => {
      for (let batch = 0; loading; batch++) {
        const alerts = Array.from({ length: BATCH }, (_, n) => ({
          severity: n < FATAL_PER_BATCH ? 'Fatal' : 'Info',
          component: 'Jobs',
          message: `loader ${loader} batch ${batch} alert ${n}`,
        }));
        await api('POST', '/acme/alerts', { alerts });
        fatalStored += FATAL_PER_BATCH;
      }
    };
    const loaders = Array.from({ length: LOADERS }, (_, n) => load(n));
    try {
      await sink.waitForMessages(EMAILS, 50_000);
    } finally {
      loading = false;
      await Promise.all(loaders);
    }
    // Every Fatal alert stored has its email; a second copy of one would have come by then, or with the others.
    const unique = () => new Set(sink.messages.map((m) => `${m.messageId} ${m.envelope.to.join()}`)).size;
    await until(() => unique() >= fatalStored, `${fatalStored} Fatal emails`, { timeoutMs: 30_000 });

    const waits = await Promise.all(workers.map(async (url) => Number((await (await fetch(`${url}/metrics`)).text()).match(WAIT_METRIC)?.[1] ?? Number.NaN)));
    process.stdout.write(
      `[write turns] ${fatalStored} Fatal alerts, ${sink.messages.length} emails, ${unique()} unique; longest worker lock waits ${waits.map((s) => `${s.toFixed(2)} s`).join(', ')}\n`,
    );
    const seen = new Set<string>();
    const twice = sink.messages.map((m) => `${m.messageId} ${m.envelope.to.join()}`).filter((key) => seen.has(key) || !seen.add(key));
    expect(twice).toEqual([]);
    expect(sink.messages).toHaveLength(fatalStored);
    // A message goes out only while its lease is confirmed for one more heartbeat (1.67 s): its
    // result, and the renewals of the rows waiting, must be written within that, lock wait and all.
    for (const seconds of waits) expect(seconds).toBeLessThan(heartbeatMs(DEFAULT_WORKER_SETTINGS.leaseMs) / 1000);
  }, 120_000);
});
