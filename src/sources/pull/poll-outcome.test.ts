import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { expect, it } from 'vitest';
import { startTestApp } from '../../../test/support/http.js';
import { afterEachStatement, describeEachDialect } from '../../../test/support/storage.js';
import { systemClock } from '../../shared/clock.js';
import { openStorage } from '../../storage/storage.js';
import { startPullConnector } from './connector.js';

describeEachDialect("orchestrator-pull: a failed poll's outcome as a client reads it", (dialect) => {
  it('never shows the last error without the failure counted, the next poll set and the reception listed: one write, not three', async () => {
    // An `api` process: the connector below, on a connection of its own, is the only one polling.
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    const refusing = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'wrong password' })));
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
    const storage = await openStorage(t.tocsin.deps.config.databaseUrl);
    let connector: ReturnType<typeof startPullConnector> | undefined;
    try {
      await t.call('POST', '/api/v1/tenants', { name: 'torn' });
      const pull = { baseUrl: origin, username: 'poller', password: 'pw', intervalSeconds: 60 };
      const created = await t.call('POST', '/api/v1/tenants/torn/sources', { name: 'Plant', kind: 'orchestrator-pull', pull });
      expect(created.statusCode).toBe(201);
      const base = `/api/v1/tenants/torn/sources/${created.json().id}`;
      /** What a client polling the source reads, through the api's own connection: committed writes only. */
      const read = async () => {
        const { stats } = (await t.call('GET', base)).json();
        const receptions = (await t.call('GET', `${base}/receptions`)).json().items as { outcome: string }[];
        return {
          lastError: stats.lastError as string | null,
          failures: stats.pull?.consecutiveFailures ?? 0,
          next: stats.pull?.nextPollAt,
          receptions: receptions.length,
        };
      };
      // After every statement the connector runs, committed or not, the source as a client sees it.
      const seen: Awaited<ReturnType<typeof read>>[] = [];
      const db = afterEachStatement(storage.db, async () => void seen.push(await read()));
      connector = startPullConnector({
        db,
        secretBox: t.tocsin.deps.secretBox,
        clock: systemClock,
        logger: pino({ level: 'silent' }),
        floodWindowMs: 0,
        tickMs: 3_600_000,
      });
      await connector.pollDue();
      const after = await read();
      expect(after).toMatchObject({ lastError: expect.stringContaining('401'), failures: 1, receptions: 1 });
      expect(Date.parse(after.next)).toBeGreaterThan(Date.now());
      // Each state read was the one before the poll ended or the one after: never the last error alone.
      const torn = seen.filter((s) => s.lastError !== null && (s.failures !== 1 || s.receptions !== 1 || s.next !== after.next));
      expect(torn).toEqual([]);
    } finally {
      await connector?.stop();
      await storage.close();
      refusing.closeAllConnections();
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
      await t.close();
    }
  }, 60_000);
});
