import { afterAll, beforeAll, expect, it } from 'vitest';
import { newAlert } from '../../test/support/alerts.js';
import { insertTestTenant } from '../../test/support/outbox-fixtures.js';
import { describeEachDialect, insertManyUsers, openTestStorage, planOf, recordingStatements, sqlitePlansOf } from '../../test/support/storage.js';
import type { Storage } from '../storage/storage.js';
import { panelAlerts } from './panel.js';
import { type Reader, markAlerts, markAllRead, readerFor } from './read-state.js';
import { type Severity, severityRank } from './severity.js';
import { type StoredAlert, insertAlerts, listAlerts } from './store.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;

/** A panel line as compared: its flood, lead alert, unread count and first and last times. */
type Line = { flood: string; lead: string; count: number; first: number; last: number };

/**
 * expectedPanel groups every unread alert of the reader by flood, as the panel did in one statement
 * before alerts_tenant_severity: the five floods of the most severe unread alert, then of the latest
 * one, then of the greatest id, each led by its most severe, then newest, then greatest-id alert.
 */
function expectedPanel(unread: readonly StoredAlert[]): Line[] {
  const floods = new Map<string, StoredAlert[]>();
  for (const a of unread) floods.set(a.groupId, [...(floods.get(a.groupId) ?? []), a]);
  const rank = (a: StoredAlert) => severityRank(a.severity);
  const lines = [...floods].map(([flood, alerts]) => {
    const lead = [...alerts].sort((a, b) => rank(b) - rank(a) || b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))[0]!;
    const times = alerts.map((a) => a.createdAt);
    return { flood, lead, count: alerts.length, first: Math.min(...times), last: Math.max(...times), severity: Math.max(...alerts.map(rank)) };
  });
  lines.sort((a, b) => b.severity - a.severity || b.last - a.last || (a.flood < b.flood ? 1 : -1));
  return lines.slice(0, 5).map(({ flood, lead, count, first, last }) => ({ flood, lead: lead.id, count, first, last }));
}

describeEachDialect('the bell panel', (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
  });
  afterAll(() => storage.close());

  const readerOf = (tenantId: string, userId: string) => readerFor(storage.db, { kind: 'user', tenantId, userId, email: '', permissions: new Set() }, tenantId);
  const panelOf = async (tenantId: string, reader: Reader): Promise<Line[]> =>
    (await panelAlerts(storage.db, tenantId, reader)).map((e) => ({
      flood: e.groupId,
      lead: e.id,
      count: e.count,
      first: e.firstCreatedAt,
      last: e.lastCreatedAt,
    }));
  const unreadOf = async (tenantId: string, reader: Reader) => (await listAlerts(storage.db, tenantId, reader, { unreadOnly: true }, { limit: 100_000 })).items;

  it('puts first a flood whose last unread alert is later than its most severe one, though many floods of that severity are newer than that one', async () => {
    const tenantId = await insertTestTenant(storage.db, 'panel-later');
    const [userId] = await insertManyUsers(storage.db, tenantId, 1);
    const alert = (severity: Severity, dedupKey: string | null = null) =>
      newAlert({ severity, component: 'Jobs', event: 'Job.Faulted', message: severity, dedupKey });
    // A flood opened by an Error, whose Warn repeat comes after 70 lone Errors: more than the walk's first page of Errors.
    await insertAlerts(storage.db, tenantId, [alert('Error', 'queue-1')], T0);
    const lone: string[] = [];
    for (let i = 1; i <= 70; i++) lone.push(...(await insertAlerts(storage.db, tenantId, [alert('Error')], T0 + i * 1000)));
    await insertAlerts(storage.db, tenantId, [alert('Warn', 'queue-1')], T0 + 71_000);
    const reader = await readerOf(tenantId, userId!);
    const panel = await panelOf(tenantId, reader);
    expect(panel).toEqual(expectedPanel(await unreadOf(tenantId, reader)));
    expect(panel.map((line) => line.lead)).toEqual([expect.any(String), ...lone.slice(-4).reverse()]);
    expect(panel[0]).toMatchObject({ count: 2, first: T0, last: T0 + 71_000 });
  });

  it("finds a flood whose last unread alert comes between the fifth line's and the first's, its most severe one past the walk's first page", async () => {
    const tenantId = await insertTestTenant(storage.db, 'panel-between');
    const [userId] = await insertManyUsers(storage.db, tenantId, 1);
    const alert = (severity: Severity, dedupKey: string | null = null) =>
      newAlert({ severity, component: 'Jobs', event: 'Job.Faulted', message: severity, dedupKey });
    await insertAlerts(storage.db, tenantId, [alert('Error', 'queue-1')], T0);
    for (let i = 1; i <= 70; i++) await insertAlerts(storage.db, tenantId, [alert('Error')], T0 + i * 1000);
    // Later than the fifth newest lone Error (T0 + 66 s), earlier than the newest (T0 + 70 s).
    await insertAlerts(storage.db, tenantId, [alert('Warn', 'queue-1')], T0 + 67_500);
    const reader = await readerOf(tenantId, userId!);
    const panel = await panelOf(tenantId, reader);
    expect(panel).toEqual(expectedPanel(await unreadOf(tenantId, reader)));
    expect(panel[3]).toMatchObject({ count: 2, first: T0, last: T0 + 67_500 });
  });

  it("puts a flood whose last unread alert ties the fifth line's before it when its flood id is the greater", async () => {
    const tenantId = await insertTestTenant(storage.db, 'panel-tie');
    const [userId] = await insertManyUsers(storage.db, tenantId, 1);
    const alert = (severity: Severity, dedupKey: string | null = null) =>
      newAlert({ severity, component: 'Jobs', event: 'Job.Faulted', message: severity, dedupKey });
    const lone: string[] = [];
    for (let i = 1; i <= 70; i++) lone.push(...(await insertAlerts(storage.db, tenantId, [alert('Error')], T0 + i * 1000)));
    // Stored after the lone Errors, so its id (the flood's) is greater than theirs; its Warn repeat at the
    // fifth newest lone Error's time, its Error older than the walk's first page.
    const [flood] = await insertAlerts(storage.db, tenantId, [alert('Error', 'queue-1')], T0);
    await insertAlerts(storage.db, tenantId, [alert('Warn', 'queue-1')], T0 + 66_000);
    const reader = await readerOf(tenantId, userId!);
    const panel = await panelOf(tenantId, reader);
    expect(panel).toEqual(expectedPanel(await unreadOf(tenantId, reader)));
    expect(panel.map((line) => line.flood)).toEqual([...lone.slice(-4).reverse(), flood]);
  });

  it('answers as grouping every unread alert would, for readers who never read, read some, or read all but a few, over floods of mixed severities and shared times', async () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (const round of [1, 2, 3]) {
      const tenantId = await insertTestTenant(storage.db, `panel-${round}`);
      const users = await insertManyUsers(storage.db, tenantId, 3);
      // Batches share their time; keys repeat across batches a few minutes apart (floods), some of them
      // past the flood window (new floods), and a Success resolves its key's flood.
      const weights: Severity[] = round === 3 ? ['Info', 'Info', 'Warn', 'Success'] : ['Info', 'Info', 'Info', 'Warn', 'Warn', 'Error', 'Success', 'Fatal'];
      let now = T0;
      for (let b = 0; b < 60; b++) {
        now += Math.floor(random() * 4) * MIN;
        const batch = Array.from({ length: 1 + Math.floor(random() * 8) }, (_, i) =>
          newAlert({
            severity: weights[Math.floor(random() * weights.length)]!,
            component: 'Robots',
            event: 'Robot.StatusChanged.Offline',
            message: `${b}.${i}`,
            dedupKey: random() < 0.6 ? `robot-${Math.floor(random() * 6)}` : null,
          }),
        );
        await insertAlerts(storage.db, tenantId, batch, now);
      }
      // Then 150 Fatal repeats of one key, in more than one page of the walk.
      if (round === 2)
        await insertAlerts(
          storage.db,
          tenantId,
          Array.from({ length: 150 }, (_, i) =>
            newAlert({ severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline', message: `f${i}`, dedupKey: 'flapping' }),
          ),
          now + MIN,
        );
      const all = (await listAlerts(storage.db, tenantId, await readerOf(tenantId, users[0]!), {}, { limit: 100_000 })).items;
      // users[0] never read; users[1] read a third, one by one; users[2] read everything, then marked a few unread.
      await markAlerts(storage.db, tenantId, users[1]!, { ids: all.filter((_, i) => i % 3 === 0).map((a) => a.id) }, true);
      await markAllRead(storage.db, tenantId, users[2]!, now + 2 * MIN);
      await markAlerts(storage.db, tenantId, users[2]!, { ids: all.filter((_, i) => i % 17 === 5).map((a) => a.id) }, false);
      for (const userId of users) {
        const reader = await readerOf(tenantId, userId);
        const expected = expectedPanel(await unreadOf(tenantId, reader));
        expect(expected.length, `round ${round}`).toBeGreaterThan(0);
        expect(await panelOf(tenantId, reader), `round ${round}, user ${users.indexOf(userId)}`).toEqual(expected);
      }
    }
  });

  it.runIf(dialect === 'sqlite')("reads a severity's unread alerts from alerts_tenant_severity alone, not every unread alert of the tenant", async () => {
    // A storage of its own: a statement prepared by the tests before is not prepared again, so not seen.
    const fresh = await openTestStorage(dialect);
    try {
      const tenantId = await insertTestTenant(fresh.db, 'panel-plan');
      const [userId] = await insertManyUsers(fresh.db, tenantId, 1);
      await insertAlerts(fresh.db, tenantId, [newAlert({ severity: 'Fatal', component: 'Jobs', event: 'Job.Faulted', message: 'm', dedupKey: 'k' })], T0);
      const reader = await readerFor(fresh.db, { kind: 'user', tenantId, userId: userId!, email: '', permissions: new Set() }, tenantId);
      const [walk] = await sqlitePlansOf(['(-"a"."severity") = ?'], () => panelAlerts(fresh.db, tenantId, reader));
      expect(walk?.join('\n')).toMatch(/SEARCH a USING COVERING INDEX alerts_tenant_severity \(tenant_id=\? AND <expr>=\? AND created_at>\?\)/);
      expect(walk?.join('\n')).not.toMatch(/TEMP B-TREE/);
    } finally {
      await fresh.close();
    }
  });

  it.runIf(dialect === 'postgres')("reads a severity's unread alerts from that rank's index alone on PostgreSQL, newest first without a sort", async () => {
    const tenantId = await insertTestTenant(storage.db, 'panel-plan');
    const [userId] = await insertManyUsers(storage.db, tenantId, 1);
    await insertAlerts(storage.db, tenantId, [newAlert({ severity: 'Fatal', component: 'Jobs', event: 'Job.Faulted', message: 'm', dedupKey: 'k' })], T0);
    const reader = await readerFor(storage.db, { kind: 'user', tenantId, userId: userId!, email: '', permissions: new Set() }, tenantId);
    const recording = recordingStatements(storage.db);
    await panelAlerts(recording.db, tenantId, reader);
    const walk = recording.queries.find((q) => q.sql.includes('(-"a"."severity") ='))!;
    const plan = await planOf(storage.db, walk);
    expect(plan).toMatch(/Index Only Scan Backward using alerts_tenant_severity_4 on alerts a/);
    expect(plan).not.toMatch(/Sort/);
  });
});
