import { expect, it } from 'vitest';
import { startTestApp } from '../../test/support/http.js';
import { afterEachStatement, describeEachDialect } from '../../test/support/storage.js';
import { openStorage } from '../storage/storage.js';
import { createReceiver } from './receive.js';

describeEachDialect("a push source's refused event as a client reads it", (dialect) => {
  it('is counted and logged in one write: never shown as the last error with its reception missing from the log', async () => {
    const t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    // A receiver on a connection of its own, as another process's, read through the api's after every statement.
    const storage = await openStorage(t.tocsin.deps.config.databaseUrl);
    try {
      await t.call('POST', '/api/v1/tenants', { name: 'torn' });
      const created = await t.call('POST', '/api/v1/tenants/torn/sources', { name: 'Hooks', kind: 'webhook' });
      expect(created.statusCode).toBe(201);
      const base = `/api/v1/tenants/torn/sources/${created.json().id}`;
      const read = async () => ({
        stats: (await t.call('GET', base)).json().stats as { rejected: number; lastError: string | null },
        receptions: ((await t.call('GET', `${base}/receptions`)).json().items as unknown[]).length,
      });
      const seen: Awaited<ReturnType<typeof read>>[] = [];
      const db = afterEachStatement(storage.db, async () => void seen.push(await read()));
      const receiver = createReceiver({ ...t.tocsin.deps, storage: { ...storage, db } });
      // Unsigned: refused with 401, and recorded.
      expect((await receiver.receive(created.json().id, { 'content-type': 'application/json' }, Buffer.from('{}'))).status).toBe(401);
      expect(await read()).toEqual({ stats: expect.objectContaining({ rejected: 1, lastError: expect.any(String) }), receptions: 1 });
      expect(seen.filter((s) => (s.stats.lastError !== null || s.stats.rejected !== 0) !== (s.receptions === 1))).toEqual([]);
    } finally {
      await storage.close();
      await t.close();
    }
  }, 60_000);
});
