import fs from 'node:fs';
import os from 'node:os';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../../test/support/http.js';
import { captureLog } from '../../../test/support/log-capture.js';
import { until } from '../../../test/support/until.js';
import { describeEachDialect } from '../../../test/support/storage.js';
import type { Storage } from '../../storage/storage.js';
import { warmFatalPath } from './fatal-path.js';

/** rowCounts counts the rows of every table of the database, by table. */
async function rowCounts(storage: Storage): Promise<Record<string, number>> {
  const tables =
    storage.dialect === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(storage.db)
      : await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = current_schema()`.execute(storage.db);
  const counts: Record<string, number> = {};
  for (const { name } of tables.rows) {
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(name)}`.execute(storage.db);
    counts[name] = Number(rows[0]!.n);
  }
  return counts;
}

/** Tocsin's own series of /metrics, not the process's CPU, memory and GC (which move by themselves). */
const tocsinSeries = (body: string) =>
  body.split('\n').filter((line) => line.startsWith('tocsin_') && !line.startsWith('tocsin_nodejs_') && !line.startsWith('tocsin_process_'));

const openSockets = () => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap' || kind === 'TCPServerWrap').length;

const warmUpFolders = () => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('tocsin-warm-up-'));

describeEachDialect('the Fatal path warm-up', (dialect) => {
  let t: TestApp;
  const log = captureLog('info');
  beforeAll(async () => {
    t = await startTestApp(dialect, {}, { logger: log.log });
    // A tenant whose reader asked for Fatal alerts at once: a leak of the warm-up's alerts into this
    // database would queue emails here too.
    const reader = await t.tenantWithUser('acme', ['Alerts Viewer']);
    await t.enableAlertEmails('acme');
    await t.call('PUT', `/api/v1/tenants/acme/users/${reader.userId}/alert-preferences`, { email: { fatalImmediately: true } });
  }, 60_000);
  afterAll(() => t?.close());

  it("sends its alerts' emails to its own sink and leaves no row, metric, log line, connection or folder behind", async () => {
    const storage = t.tocsin.deps.storage;
    // Read from the registry, not GET /metrics, which counts itself.
    const registry = t.tocsin.deps.metrics.registry;
    const rows = await rowCounts(storage);
    const metrics = tocsinSeries(await registry.metrics());
    const logged = log.text();
    const sockets = openSockets();
    const folders = warmUpFolders();

    // Each alert counts once the sink has taken its immediate email.
    expect(await warmFatalPath({ alerts: 3, budgetMs: 60_000 })).toEqual({ alerts: 3 });

    expect(await rowCounts(storage)).toEqual(rows);
    expect(tocsinSeries(await registry.metrics())).toEqual(metrics);
    expect(log.text()).toBe(logged);
    // A closed server's handle is let go in the event loop's close phase, after its close callback.
    await until(() => openSockets() <= sockets, 'the scratch server, the sink and their connections to have closed');
    expect(warmUpFolders()).toEqual(folders);
  }, 120_000);

  it('stops before its first alert once its stop signal has fired', async () => {
    const stop = new AbortController();
    stop.abort();
    expect(await warmFatalPath({ alerts: 3, budgetMs: 60_000, signal: stop.signal })).toEqual({ alerts: 0 });
  }, 120_000);
});
