/**
 * CPU per decision of a Fatal alert's immediate emails inside its write transaction, the reads
 * one by one (tenant, mail settings, floods, mutes, roles, groups, users, their roles, groups and
 * preferences: ten statements for a tenant of one user) against the one statement of
 * decisionFacts, alternating in one process on SQLite (so a loaded machine inflates both alike),
 * and the outbox rows each would queue, which must agree.
 *
 *   npx tsx bench/decision-cpu.ts [decisions]
 */
import { startTestApp } from '../test/support/http.js';
import { getMailSettings } from '../src/settings/mail-settings.js';
import { committedFatalFloods } from '../src/reports/alert-facts.js';
import { decisionFacts } from '../src/reports/decision-facts.js';
import { immediateRows, immediateRowsOf, reportTenants } from '../src/reports/decision-transactions.js';
import type { NewDelivery } from '../src/delivery/outbox/enqueue.js';
import type { Db } from '../src/storage/database.js';

const N = Number(process.argv[2] ?? 2000);
const t = await startTestApp('sqlite', { TOCSIN_ROLE: 'api' });
try {
  await t.call('POST', '/api/v1/tenants', { name: 'bench' });
  await t.enableAlertEmails('bench');
  const op = (await t.call('POST', '/api/v1/tenants/bench/users', { email: 'op@example.com', name: 'op', roles: ['Alerts Viewer'] })).json().id;
  await t.call('PUT', `/api/v1/tenants/bench/users/${op}/alert-preferences`, { email: { fatalImmediately: true } });
  const alert = { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'robot 7 is offline' };
  const [alertId] = (await t.call('POST', '/api/v1/tenants/bench/alerts', alert)).json<{ ids: string[] }>().ids as [string];
  const tenantId = (await t.call('GET', '/api/v1/tenants/bench')).json().id as string;
  const db = t.tocsin.deps.storage.db;
  const oneByOne = async (tx: Db): Promise<NewDelivery[]> => {
    const rows: NewDelivery[] = [];
    for (const tenant of await reportTenants(tx, [tenantId])) {
      if (!(await getMailSettings(tx, tenant.id)).alertsEmailEnabled) continue;
      const floods = await committedFatalFloods(tx, tenant.id, [alertId]);
      if (floods.length > 0) rows.push(...(await immediateRows(tx, tenant, floods, Date.now())));
    }
    return rows;
  };
  const oneStatement = async (tx: Db): Promise<NewDelivery[]> => {
    const now = Date.now();
    const rows: NewDelivery[] = [];
    for (const f of await decisionFacts(tx, [tenantId], [alertId], now)) {
      if (!f.alertsEmailEnabled || f.floods.length === 0) continue;
      rows.push(...(f.recipients ? immediateRowsOf(f.tenant.id, f.floods, f.recipients, f.mutes, now) : await immediateRows(tx, f.tenant, f.floods, now)));
    }
    return rows;
  };
  const run = async (decide: (tx: Db) => Promise<NewDelivery[]>) => {
    let rows = 0;
    const cpu = process.cpuUsage();
    for (let i = 0; i < N; i++) rows += (await db.transaction().execute(decide)).length;
    const used = process.cpuUsage(cpu);
    return { cpuMs: (used.user + used.system) / 1000 / N, rows: rows / N };
  };
  for (const [name, decide] of [
    ['warm-up', oneByOne],
    ['warm-up', oneStatement],
  ] as const)
    await run(decide).then(() => name);
  for (let round = 1; round <= 3; round++) {
    for (const [name, decide] of [
      ['reads one by one', oneByOne],
      ['one statement', oneStatement],
    ] as const) {
      const r = await run(decide);
      console.log(`round ${round} ${name}: ${r.cpuMs.toFixed(3)} CPU-ms per decision (its transaction included), ${r.rows} outbox rows`);
    }
  }
} finally {
  await t.close();
}
