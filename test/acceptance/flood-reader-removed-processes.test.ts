/**
 * Acceptance test on PostgreSQL with an `api` process and a `worker` process, as a split
 * deployment runs them: a flood of Fatal emails drains through a slow SMTP server from the worker
 * while the reader is deleted through the api process. The worker hears of the change (NOTIFY)
 * and sends none of the emails still waiting for a connection; only those already at the server
 * arrive, and the delivery log says why each other one was not sent.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTIONS_PER_ENDPOINT } from '../../src/delivery/smtp/sender.js';
import { type TenantsApi, tenantWithFatalReader, tenantsApi } from '../support/http.js';
import { type TestSmtpServer, startTestSmtpServer } from '../support/smtp-servers.js';
import { TEST_PG_URL, type TestDatabase, createTestDatabase } from '../support/storage.js';
import { until } from '../support/until.js';
import { type Started, ensureBuilt, killGroup, serveBuilt } from './processes.js';

const ADMIN = 'split-roles-admin-token-0123456789';
const FLOOD = 40;

beforeAll(ensureBuilt, 180_000);

describe.skipIf(!TEST_PG_URL)('a reader deleted through the api process while the worker process drains a flood [postgres]', () => {
  let database: TestDatabase;
  let system: TestSmtpServer;
  let server: TestSmtpServer;
  const processes: Started[] = [];
  let api: TenantsApi;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-split-'));

  /** serve starts the built server in one role and returns its URL. */
  const serve = (role: 'api' | 'worker', logLevel?: string) =>
    serveBuilt({ databaseUrl: database.url, adminToken: ADMIN, dataDir, smtpPort: system.port, args: ['--role', role], logLevel }, processes);
  /** How many changes the worker process has heard of (NOTIFY), as its debug log says. */
  const changesHeard = () => processes[1]!.stdout().split('heard of a change to who gets which email').length - 1;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    system = await startTestSmtpServer();
    server = await startTestSmtpServer();
    api = tenantsApi(await serve('api'), ADMIN);
    await serve('worker', 'debug');
  }, 60_000);
  afterAll(async () => {
    for (const started of processes) killGroup(started);
    await server?.close();
    await system?.close();
    await database?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('gets none of the emails still waiting for the server once deleted', async () => {
    const id = await tenantWithFatalReader(api, 'acme', server.port);

    // The server holds its answer to each message: every connection the worker opens to it holds one, the rest wait.
    server.holdReplies();
    await api('POST', '/acme/alerts', {
      alerts: Array.from({ length: FLOOD }, (_, n) => ({ severity: 'Fatal', component: 'Jobs', message: `robot ${n} died` })),
    });
    await server.waitForHeld(CONNECTIONS_PER_ENDPOINT);
    const heard = changesHeard();
    await api('DELETE', `/acme/users/${id}`);
    // The api process tells the workers of the deletion (NOTIFY) before it answers it; the worker hears
    // it a moment later (on a loaded machine, after the server's answers had taken all 30): then the server answers.
    await until(async () => changesHeard() > heard, 'the worker heard of the deletion');
    server.releaseReplies();
    const deliveries = async () => (await api('GET', '/acme/deliveries?limit=100')).items as { status: string; notSent: string | null }[];
    await until(async () => (await deliveries()).every((d) => d.status === 'sent' || d.status === 'failed'), 'every email decided', { timeoutMs: 30_000 });
    expect(server.messages).toHaveLength(CONNECTIONS_PER_ENDPOINT);
    const failed = (await deliveries()).filter((d) => d.status === 'failed');
    expect(failed).toHaveLength(FLOOD - CONNECTIONS_PER_ENDPOINT);
    expect(new Set(failed.map((d) => d.notSent))).toEqual(new Set(['not-a-reader']));
  }, 60_000);
});
