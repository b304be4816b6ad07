import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newAlert } from '../../test/support/alerts.js';
import { countingDeletes } from '../../test/support/counting-deletes.js';
import { deleteTenant } from '../access/tenants.js';
import { classifyDbError } from '../storage/errors.js';
import type { Storage } from '../storage/storage.js';
import { insertTestTenant, testDelivery } from '../../test/support/outbox-fixtures.js';
import { enqueueDeliveries } from '../delivery/outbox/enqueue.js';
import { FakeClock } from '../shared/clock.js';
import { describeEachDialect, openTestStorage, storedAlerts } from '../../test/support/storage.js';
import type { NewAlert } from './input.js';
import { insertAlerts, textArray, writeAlerts } from './store.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
/** Texts an array literal must quote or escape, and some it need not. */
const odd = ['say "hi"', 'C:\\temp\\', 'a,b', '{x}', 'NULL', '', 'robot 🤖', 'ロボット', ' padded '];
const alert: NewAlert = newAlert({ severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.NotResponding', message: 'm', dedupKey: 'robot-1' });

// On PostgreSQL no foreign key ties an alert to its tenant (migration 20261130-97): the insert
// checks the tenant once per statement and deleteTenant deletes the alerts itself.
describeEachDialect("a tenant's alerts and its deletion", (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
  });
  afterAll(() => storage.close());

  const alertsOf = (tenant: string) => storedAlerts(storage.db, tenant);

  it('deletes the tenant with its alerts and leaves the other tenants’ alone', async () => {
    const doomed = await insertTestTenant(storage.db, 'doomed');
    const kept = await insertTestTenant(storage.db, 'kept');
    await insertAlerts(storage.db, doomed, [alert, alert, { ...alert, severity: 'Info', dedupKey: null }], T0);
    await insertAlerts(storage.db, kept, [alert], T0);
    await deleteTenant(storage.db, doomed);
    expect(await alertsOf(doomed)).toBe(0);
    expect(await alertsOf(kept)).toBe(1);
    // Their dependants (an undecided Fatal alert's row) go with them.
    const undecided = await storage.db.selectFrom('undecided_fatal_alerts').select('tenant_id').execute();
    expect(undecided.map((u) => u.tenant_id)).toEqual([kept]);
  });

  it("deletes a tenant's alerts and emails in batches, not in the one transaction that deletes the tenant", async () => {
    // A year of a tenant's alerts went in that transaction: 300,000 on SQLite held the write lock,
    // and blocked the process (every other tenant's alerts waiting), for 6.3 s; and its emails by the cascade.
    const big = await insertTestTenant(storage.db, 'big');
    await insertAlerts(
      storage.db,
      big,
      Array.from({ length: 25 }, () => ({ ...alert, dedupKey: null })),
      T0,
    );
    await enqueueDeliveries(
      storage.db,
      Array.from({ length: 25 }, () => testDelivery(big, 'ops@big.example')),
      new FakeClock(T0),
    );
    const deletes = countingDeletes(['alerts', 'deliveries']);
    await deleteTenant(storage.db.withPlugin(deletes), big, 10);
    expect(await alertsOf(big)).toBe(0);
    expect(await storage.db.selectFrom('deliveries').select('id').where('tenant_id', '=', big).execute()).toEqual([]);
    expect(deletes.rows.reduce((sum, n) => sum + n, 0)).toBe(50);
    expect(Math.max(...deletes.rows)).toBe(10);
  });

  it('refuses alerts for a tenant that no longer exists, as a lost race (foreign-key)', async () => {
    const refused = await insertAlerts(storage.db, 'never-was', [alert], T0).catch((err: unknown) => err);
    expect(classifyDbError(refused)).toBe('foreign-key');
    expect(await alertsOf('never-was')).toBe(0);
  });

  it.runIf(dialect === 'postgres')('stores a batch on PostgreSQL as its rows are unnested, without copying them into a tuplestore first', async () => {
    const tenant = await insertTestTenant(storage.db, 'streamed');
    const plan = await storage.db.connection().execute(async (conn) => {
      const ids = await writeAlerts(conn, tenant, [alert, { ...alert, dedupKey: null, data: '{"a":"\\"q\\""}' }], T0);
      expect(ids).toHaveLength(2);
      // The insert is prepared on this connection (serverPrepared): its plan as each commit runs it.
      const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements where statement like '%insert into alerts%'`.execute(conn);
      const nulls = Array.from({ length: 13 }, () => 'null').join(', ');
      const explained = await sql<{
        'QUERY PLAN': string;
      }>`explain (costs off) execute ${sql.id(rows[0]!.name)}(null, ${sql.lit(tenant)}, 0, ${sql.raw(nulls)})`.execute(conn);
      return explained.rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    // A function scan in FROM (ROWS FROM) writes every row to a tuplestore before the insert reads it.
    expect(plan).toContain('ProjectSet');
    expect(plan).not.toContain('Function Scan');
    const stored = await storage.db.selectFrom('alerts').select(['tenant_id', 'dedup_key', 'data']).where('tenant_id', '=', tenant).orderBy('id').execute();
    expect(stored).toEqual([
      { tenant_id: tenant, dedup_key: 'robot-1', data: null },
      { tenant_id: tenant, dedup_key: null, data: '{"a":"\\"q\\""}' },
    ]);
  });

  it.runIf(dialect === 'postgres')('sends texts to PostgreSQL as binary arrays, which it reads back as given', async () => {
    // Binary (pg sends a Buffer parameter so): array_recv copies each element where array_in scanned a literal twice.
    const encoded = textArray([...odd, null]);
    expect(Buffer.isBuffer(encoded)).toBe(true);
    const { rows } = await sql<{ a: (string | null)[] }>`select ${encoded}::text[] as a`.execute(storage.db);
    expect(rows[0]!.a).toEqual([...odd, null]);
  });

  it.runIf(dialect === 'postgres')('sends a column whose every character takes three UTF-8 bytes whole (the most a UTF-16 unit takes)', async () => {
    // The buffer is sized before the texts are encoded: sized short, Buffer.write cuts a text without a word.
    const texts = ['ロボット停止', '\ud800\udfff'.split('').join('x'), '業務'.repeat(50)];
    const { rows } = await sql<{ a: string[] }>`select ${textArray(texts)}::text[] as a`.execute(storage.db);
    expect(rows[0]!.a).toEqual(['ロボット停止', '\ufffdx\ufffd', '業務'.repeat(50)]);
  });

  it('stores every text of a batch as given: quotes, backslashes, commas, braces, NULL as a word, empty, astral and other scripts', async () => {
    const tenant = await insertTestTenant(storage.db, 'texts');
    const alerts = odd.map((text, i) =>
      newAlert({
        severity: 'Error',
        component: 'Robots',
        event: `Odd.${i}`,
        message: text || '-',
        data: JSON.stringify({ text }),
        folder: text,
        dedupKey: text || null,
      }),
    );
    await insertAlerts(storage.db, tenant, alerts, T0);
    const stored = await storage.db
      .selectFrom('alerts')
      .select(['event', 'message', 'data', 'folder', 'dedup_key'])
      .where('tenant_id', '=', tenant)
      .orderBy('id')
      .execute();
    expect(stored).toEqual(
      odd.map((text, i) => ({ event: `Odd.${i}`, message: text || '-', data: JSON.stringify({ text }), folder: text, dedup_key: text || null })),
    );
  });

  if (dialect === 'postgres') {
    it('waits for a batch being stored for the tenant, then deletes that batch too', async () => {
      const busy = await insertTestTenant(storage.db, 'busy');
      let deleting: Promise<boolean> | undefined;
      await storage.db.transaction().execute(async (tx) => {
        await writeAlerts(tx, busy, [alert, alert], T0);
        deleting = deleteTenant(storage.db, busy);
        // The delete is queued behind this transaction's lock on the tenant's row before it commits.
        for (;;) {
          const { rows } = await sql<{ n: number }>`
            select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and query like 'delete from "tenants"%'`.execute(storage.db);
          if (rows[0]!.n > 0) break;
        }
      });
      await deleting;
      expect(await alertsOf(busy)).toBe(0);
    });
  }
});
