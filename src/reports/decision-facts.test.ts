import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect, insertManyUsers, recordingStatements, sqlitePlanOf } from '../../test/support/storage.js';
import { activeMutes } from '../mutes/store.js';
import type { Recipient } from '../recipients/eligibility.js';
import { recipientPages } from '../recipients/query.js';
import type { Db } from '../storage/database.js';
import { inListOf } from '../storage/sql-once.js';
import { committedFatalFloods } from './alert-facts.js';
import { decisionFacts } from './decision-facts.js';
import { decideInCommit } from './immediate.js';
import type { NewAlert } from '../alerts/input.js';
import { writeAlertsTelling } from '../alerts/store.js';
import type { CommitDecision } from '../alerts/ingest.js';
import { systemClock } from '../shared/clock.js';
import { reportTenants } from './decision-transactions.js';

describeEachDialect('the facts of a decision in one statement', (dialect) => {
  let t: TestApp;
  let tenantId: string;
  let quietId: string;
  let alertIds: string[];
  const base = '/api/v1/tenants/facts';
  const user = async (email: string, extra: Record<string, unknown> = {}) =>
    (await t.call('POST', `${base}/users`, { email, name: email.split('@')[0], ...extra })).json<{ id: string }>().id;
  const db = (): Db => t.tocsin.deps.storage.db;

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    tenantId = (await t.call('POST', '/api/v1/tenants', { name: 'facts', timeZone: 'Europe/Paris', language: 'de' })).json().id;
    quietId = (await t.call('POST', '/api/v1/tenants', { name: 'quiet' })).json().id;
    await t.enableAlertEmails('facts');
    const viewer = await user('viewer@example.com', { roles: ['Alerts Viewer'], language: 'fr', timeZone: 'Asia/Tokyo' });
    await user('inactive@example.com', { roles: ['Alerts Viewer'], active: false });
    await user('noview@example.com', { roles: [] });
    const viaGroup = await user('viagroup@example.com', { language: 'de' });
    const shared = await user('Shared@Example.com', { roles: ['Alerts Viewer'] });
    const ops = (
      await t.call('POST', `${base}/groups`, { name: 'Ops', email: 'ops@example.com', language: 'ja', roles: ['Alerts Viewer'], members: [viaGroup] })
    ).json().id;
    await t.call('POST', `${base}/groups`, { name: 'Expanded', email: 'expanded@example.com', roles: ['Alerts Viewer'], expandMembers: true });
    await t.call('POST', `${base}/groups`, { name: 'Same', email: 'shared@example.com', roles: ['Alerts Viewer'], members: [shared] });
    // A team address whose personal account was switched off: the group writes to it.
    await t.call('POST', `${base}/groups`, { name: 'Former', email: 'Inactive@example.com', roles: ['Alerts Viewer'] });
    await t.call('PUT', `${base}/users/${viewer}/alert-preferences`, { email: { fatalImmediately: true }, subscriptions: { Jobs: false } });
    await t.call('PUT', `${base}/groups/${ops}/alert-preferences`, { email: { dailyReport: false, fatalImmediately: true } });
    const until = new Date(Date.now() + 3_600_000).toISOString();
    await t.call('POST', `${base}/mutes`, { scope: 'tenant', match: { robot: 'R-flood' }, until });
    const fatal = (robot: string) => ({ severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: 'offline', source: { robot } });
    const posted = await t.call('POST', `${base}/alerts`, {
      alerts: [fatal('R1'), { severity: 'Error', component: 'Jobs', event: 'Process.JobExecution.Faulted', message: 'not Fatal' }, fatal('R2'), fatal('R1')],
    });
    alertIds = posted.json<{ ids: string[] }>().ids;
  });
  afterAll(() => t.close());

  async function oneByOne(): Promise<{ recipients: Recipient[] }> {
    const tenant = { id: tenantId, language: 'de', timeZone: 'Europe/Paris' };
    const recipients: Recipient[] = [];
    for await (const page of recipientPages(db(), tenant)) recipients.push(...page);
    return { recipients };
  }

  it('reads the tenant, its setting, floods, mutes and recipients as the reads one by one do, in one statement', async () => {
    let statements = 0;
    const counting = db().withPlugin({
      transformQuery: (args) => {
        statements++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const now = Date.now();
    // The other tenant's and a missing tenant's ids are asked for too: only what exists is answered, each alone.
    const facts = await decisionFacts(counting, [tenantId, quietId, 'no-such-tenant'], alertIds, now);
    const [mine, quiet] = [facts.find((f) => f.tenant.id === tenantId)!, facts.find((f) => f.tenant.id === quietId)!];
    expect(facts).toHaveLength(2);
    expect(mine.tenant).toEqual((await reportTenants(db(), [tenantId]))[0]);
    expect(mine.alertsEmailEnabled).toBe(true);
    expect(quiet.alertsEmailEnabled).toBe(false);
    expect(quiet.floods).toEqual([]);
    expect(mine.floods).toEqual(await committedFatalFloods(db(), tenantId, alertIds));
    expect(mine.floods.length).toBeGreaterThan(0);
    expect(mine.mutes).toEqual(await activeMutes(db(), tenantId, now));
    expect(mine.mutes).toHaveLength(1);
    expect(mine.recipients).toEqual((await oneByOne()).recipients);
    expect(mine.recipients!.map((r) => r.address).sort()).toEqual([
      'Inactive@example.com',
      'Shared@Example.com',
      'ops@example.com',
      'viagroup@example.com',
      'viewer@example.com',
    ]);
    // One statement, and the read of group addresses' opt-outs since this tenant has one (whose users read alerts, the statement told).
    expect(statements).toBe(2);
  });

  it.runIf(dialect === 'postgres')(
    'is a statement each connection prepares once and then runs without planning it again, not one parsed and planned in every group commit',
    async () => {
      await db()
        .connection()
        .execute(async (conn) => {
          // PostgreSQL plans a prepared statement for its first five runs, then keeps a generic plan when it is no dearer.
          for (let i = 0; i < 8; i++) await decisionFacts(conn, [tenantId], alertIds, Date.now());
          // The statement of this shape: a pooled connection may also hold those of other tests' tenants and alerts
          // (one tenant id, the page size, the alert ids as inListOf pads them, the severity and the time as parameters).
          const { rows } = await sql<{ statement: string; generic_plans: string }>`select statement, generic_plans from pg_prepared_statements
            where cardinality(parameter_types) = ${inListOf(alertIds).length + 4}`.execute(conn);
          const facts = rows.filter((r) => r.statement.includes('mailing as materialized'));
          expect(facts).toHaveLength(1);
          expect(Number(facts[0]!.generic_plans)).toBeGreaterThan(0);
        });
    },
  );

  it('reads only the row of a tenant whose alert emails are off: no floods, mutes or recipients to decide with', async () => {
    const off = await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: false });
    expect(off.statusCode).toBe(200);
    try {
      const [facts] = await decisionFacts(db(), [tenantId], alertIds, Date.now());
      expect(facts).toMatchObject({ tenant: { id: tenantId }, alertsEmailEnabled: false, floods: [], mutes: [], recipients: [] });
    } finally {
      await t.enableAlertEmails('facts');
    }
    const [on] = await decisionFacts(db(), [tenantId], alertIds, Date.now());
    expect(on!.floods.length).toBeGreaterThan(0);
  });

  /**
   * decided stores a Fatal alert of the tenant and decides it with `decide` as the group commit
   * does, in a transaction rolled back after it: the statements the decision ran, and the emails it
   * queued. Told, the decision hears whether the tenant mails as the insert read it (PostgreSQL).
   */
  const decided = (decide: CommitDecision, tenant: string, told = false) =>
    db()
      .transaction()
      .execute(async (tx) => {
        const alert: NewAlert = {
          severity: 'Fatal',
          component: 'Robots',
          event: 'Robot.StatusChanged.Offline',
          message: 'offline',
          data: null,
          source: null,
          folder: null,
          dedupKey: null,
          occurredAt: undefined,
        };
        const { ids, mailing } = await writeAlertsTelling(tx, tenant, [alert], Date.now(), undefined, { undecided: false });
        const before = await tx.selectFrom('deliveries').select('id').execute();
        const { db: counted, texts } = recordingStatements(tx);
        await decide(counted, [told ? { tenantId: tenant, alertIds: ids, mailing } : { tenantId: tenant, alertIds: ids }]);
        const after = await tx.selectFrom('deliveries').select('id').execute();
        throw Object.assign(new Error('rolled back'), { texts, queued: after.length - before.length });
      })
      .catch((err: { texts?: string[]; queued?: number }) => {
        if (!err.texts) throw err;
        return { facts: err.texts.filter((text) => text.includes('mailing as materialized')).length, statements: err.texts.length, queued: err.queued };
      });

  it("decides a commit whose tenants do not mail by reading only that, not the decision's facts, and reads the facts at once for a tenant seen mailing", async () => {
    const decide = decideInCommit({ clock: systemClock });
    const run = (tenant: string) => decided(decide, tenant);
    // A tenant whose alert emails are off: one small read, nothing queued.
    expect(await run(quietId)).toEqual({ facts: 0, statements: 1, queued: 0 });
    // Not seen yet: the same read, then the facts; seen mailing: the facts at once.
    const first = await run(tenantId);
    expect(first).toMatchObject({ facts: 1 });
    expect(first.queued).toBeGreaterThan(0);
    expect(await run(tenantId)).toEqual({ ...first, statements: first.statements - 1 });
    // Turned off meanwhile: the facts say so, nothing is queued, and the next commit reads only whether it mails.
    await t.call('PUT', `${base}/settings/mail`, { alertsEmailEnabled: false });
    try {
      expect(await run(tenantId)).toMatchObject({ facts: 1, queued: 0 });
      expect(await run(tenantId)).toEqual({ facts: 0, statements: 1, queued: 0 });
    } finally {
      await t.enableAlertEmails('facts');
    }
    // On again: seen at the next commit.
    expect(await run(tenantId)).toEqual(first);
  });

  it('decides a commit whose inserts read whether its tenants mail (PostgreSQL) with no read of its own: nothing for a tenant whose alert emails are off, the facts at once for one that mails', async () => {
    const quiet = await decided(decideInCommit({ clock: systemClock }), quietId, true);
    const mailing = await decided(decideInCommit({ clock: systemClock }), tenantId, true);
    // Not told (SQLite's insert does not read it): the small read first, as for a tenant not seen mailing.
    const notTold = await decided(decideInCommit({ clock: systemClock }), tenantId);
    expect(mailing).toMatchObject({ facts: 1, queued: notTold.queued });
    expect(mailing.queued).toBeGreaterThan(0);
    if (dialect === 'postgres') {
      expect(quiet).toEqual({ facts: 0, statements: 0, queued: 0 });
      expect(mailing.statements).toBe(notTold.statements - 1);
    } else {
      expect(quiet).toEqual({ facts: 0, statements: 1, queued: 0 });
      expect(mailing).toEqual(notTold);
    }
  });

  it('leaves the users of tenants larger than one page to be read by pages', async () => {
    const big = (await t.call('POST', '/api/v1/tenants', { name: 'big' })).json().id as string;
    await t.enableAlertEmails('big');
    await insertManyUsers(db(), big, 1_001);
    const [facts] = await decisionFacts(db(), [big], ['no-such-alert'], Date.now());
    expect(facts!.tenant.id).toBe(big);
    expect(facts!.recipients).toBeUndefined();
  });

  it("reads a commit's Fatal floods for a decision made after it by the alerts' ids, not by walking the tenant's alerts, and never another tenant's", async () => {
    let floods: Awaited<ReturnType<typeof committedFatalFloods>> = [];
    // Five ids, a statement no test above prepared: SQLite walked the tenant's alerts from two ids on.
    const plan = await sqlitePlanOf('"severity" = ?', async () => {
      floods = await committedFatalFloods(db(), tenantId, [...alertIds, 'no-such-alert']);
    });
    const elsewhere = await committedFatalFloods(db(), quietId, [...alertIds, 'no-such-alert']);
    expect(floods.map((flood) => flood.alerts.map((a) => a.alertId))).toEqual([[alertIds[0]], [alertIds[2]], [alertIds[3]]]);
    expect(elsewhere).toEqual([]);
    if (dialect === 'sqlite') {
      expect(plan?.filter((detail) => /^(SCAN|SEARCH) alerts /.test(detail))).toEqual([
        expect.stringMatching(/^SEARCH alerts USING INDEX sqlite_autoindex_alerts_1 \(id=\?\)/),
      ]);
    }
  });

  it.runIf(dialect === 'sqlite')("reads a commit's Fatal alerts by their ids however many there are, not by walking the tenant's alerts", async () => {
    const planned: number[] = [];
    for (const count of [100, 1_000]) {
      const ids = Array.from({ length: count }, (_, i) => `alert-${i}`);
      // Prepared once per shape (128 and 1,024 ids here, met first: the tests above decide a handful).
      const plan = await sqlitePlanOf('with tn as', () => decisionFacts(db(), [tenantId, quietId], ids, Date.now()));
      if (!plan) continue;
      planned.push(count);
      expect(
        plan.filter((detail) => / alerts /.test(`${detail} `)),
        `${count} ids`,
      ).toEqual([expect.stringMatching(/^SEARCH alerts USING INDEX sqlite_autoindex_alerts_1 \(id=\?\)/)]);
    }
    expect(planned).toEqual([100, 1_000]);
  });
});
