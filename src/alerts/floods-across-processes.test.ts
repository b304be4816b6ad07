/**
 * Two api processes storing one dedup key's alerts at once (`--processes 2`, or two instances on one
 * database): each has a group commit of its own, here two storages on one database. Whatever order
 * their commits take, a Fatal alert after its key's Success starts a new incident with its immediate
 * email, and one before it is resolved by it, a repeat of its flood with no second email.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newAlert } from '../../test/support/alerts.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { until } from '../../test/support/until.js';
import { decideInCommit } from '../reports/immediate.js';
import { systemClock } from '../shared/clock.js';
import { type Storage, openStorage } from '../storage/storage.js';
import { writeTransaction } from '../storage/write-transaction.js';
import { type AlertIngest, type InCommit, POSTGRES_COMMITS, groupCommit } from './ingest.js';
import type { NewAlert } from './input.js';
import { writeAlerts } from './store.js';
import { alertTimeFloor } from './time-floor.js';

const FLOOD_WINDOW_MS = 600_000;

describeEachDialect("one key's Success and Fatal alerts stored by two processes at once", (dialect) => {
  let t: TestApp;
  let tenantId: string;
  /** The other process's connection to the same database. */
  let other: Storage;

  beforeAll(async () => {
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' });
    tenantId = (await t.call('POST', '/api/v1/tenants', { name: 'ops' })).json<{ id: string }>().id;
    await t.enableAlertEmails('ops');
    const reader = (await t.call('POST', '/api/v1/tenants/ops/users', { email: 'ana@example.com', name: 'Ana', roles: ['Alerts Viewer'] })).json().id;
    await t.call('PUT', `/api/v1/tenants/ops/users/${reader}/alert-preferences`, {
      email: { fatalImmediately: true, tenMinuteSummary: false, dailyReport: false },
    });
    other = await openStorage(t.tocsin.deps.config.databaseUrl, { poolSize: 4 });
  });
  afterAll(async () => {
    await other?.close();
    await t?.close();
  });

  /** A process's ingest: its group commit as the product runs it, deciding the Fatal alerts' emails in the commit; `busy` hears SQLite's write lock refused. */
  const processOn = (storage: Storage, busy?: () => void): AlertIngest['raise'] =>
    groupCommit(
      storage,
      systemClock,
      FLOOD_WINDOW_MS,
      dialect === 'postgres' ? POSTGRES_COMMITS : 1,
      { inCommit: decideInCommit({ clock: systemClock }), undecided: () => {} },
      busy ? { onBusy: busy } : undefined,
    );

  const robot = (severity: 'Fatal' | 'Success', dedupKey: string, message: string): NewAlert =>
    newAlert({ severity, component: 'Robots', event: 'Robot.StatusChanged.Offline', message, dedupKey });

  /**
   * overlapping stores a batch in a commit held inside its transaction, its alerts written (`first`, given
   * the InCommit that holds it), and another meanwhile (`second`, given the hook that hears SQLite's write
   * lock refused). It lets the first go once the second is stored or waits behind it: on PostgreSQL a
   * resolution lock it asked for shows in pg_locks, not granted; on SQLite the write lock was refused.
   * It answers the ids of both, and whether the second was stored before the first was let go.
   */
  async function overlapping(
    first: (inCommit: InCommit) => Promise<string[]>,
    second: (onBusy: () => void) => Promise<string[]>,
    what: string,
  ): Promise<[string[], string[], boolean]> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const held = first({
      alongside: async () => {
        entered();
        await released;
      },
    });
    await inside;
    let refused!: () => void;
    const busy = new Promise<void>((resolve) => (refused = resolve));
    const meanwhile = second(() => refused());
    let over = false;
    meanwhile.then(
      () => (over = true),
      () => (over = true),
    );
    try {
      if (dialect === 'sqlite') await Promise.race([meanwhile, busy]);
      else {
        // Advisory locks of two integer keys, which only the resolution locks are: not the floor's lock, which a
        // report scheduler raising it at a window's end waits for behind the held commit.
        const waiting = sql<{ n: number }>`select count(*)::int as n from pg_locks where locktype = 'advisory' and objsubid = 2
          and not granted and database = (select oid from pg_database where datname = current_database())`;
        await until(async () => over || (await waiting.execute(t.tocsin.deps.storage.db)).rows[0]!.n > 0, what);
      }
    } finally {
      release();
    }
    const storedFirst = over;
    return [await held, await meanwhile, storedFirst];
  }

  const immediateEmails = async () =>
    Number(
      (
        await t.tocsin.deps.storage.db
          .selectFrom('deliveries')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('tenant_id', '=', tenantId)
          .where('kind', '=', 'immediate')
          .executeTakeFirstOrThrow()
      ).n,
    );

  const groupsOf = async (ids: readonly string[]) => {
    const rows = await t.tocsin.deps.storage.db.selectFrom('alerts').select(['id', 'group_id', 'created_at']).where('id', 'in', ids).execute();
    return new Map(rows.map((r) => [r.id, { group: r.group_id, at: Number(r.created_at) }]));
  };

  it("emails a Fatal alert that another process stores while this one commits its key's Success: a new incident, not a repeat of the one resolved", async () => {
    const before = await immediateEmails();
    const [fired] = await processOn(t.tocsin.deps.storage)(tenantId, [robot('Fatal', 'robot-r', 'robot R is offline')]);
    expect(await immediateEmails()).toBe(before + 1);
    const [[recovered], [failedAgain]] = await overlapping(
      (inCommit) => processOn(t.tocsin.deps.storage)(tenantId, [robot('Success', 'robot-r', 'robot R is back')], inCommit),
      // The robot fails again while this process's commit of its recovery is still under way.
      (onBusy) => processOn(other, onBusy)(tenantId, [robot('Fatal', 'robot-r', 'robot R is offline again')]),
      'the other process to store its Fatal alert or wait for the commit of the Success',
    );

    // Its own email (before, on PostgreSQL: none), for its own flood, not the resolved one's, whose email was sent.
    expect(await immediateEmails()).toBe(before + 2);
    const groups = await groupsOf([fired!, recovered!, failedAgain!]);
    expect(groups.get(recovered!)?.group).toBe(fired);
    expect(groups.get(failedAgain!)?.group).toBe(failedAgain);
    expect(groups.get(failedAgain!)!.at).toBeGreaterThanOrEqual(groups.get(recovered!)!.at);
  });

  it.runIf(dialect === 'postgres')("stores a key's repeats that two processes commit at once without either waiting for the other", async () => {
    const [fired] = await processOn(t.tocsin.deps.storage)(tenantId, [robot('Fatal', 'robot-q', 'robot Q is offline')]);
    const [[repeated], [again], storedFirst] = await overlapping(
      (inCommit) => processOn(t.tocsin.deps.storage)(tenantId, [robot('Fatal', 'robot-q', 'robot Q is still offline')], inCommit),
      // Neither is a Success: their resolution locks are both shared.
      (onBusy) => processOn(other, onBusy)(tenantId, [robot('Fatal', 'robot-q', 'robot Q is offline, again')]),
      'the other process to store its repeat or wait',
    );
    // Stored while the other commit was held, not after it.
    expect(storedFirst).toBe(true);
    const groups = await groupsOf([fired!, repeated!, again!]);
    expect(groups.get(repeated!)?.group).toBe(fired);
    expect(groups.get(again!)?.group).toBe(fired);
  });

  it("starts a new flood for an alert that a transaction of its own stores (a pull source's import) while another commits its key's Success", async () => {
    const here = processOn(t.tocsin.deps.storage);
    const [fired] = await here(tenantId, [robot('Fatal', 'robot-p', 'robot P is offline')]);
    const [[recovered], [imported]] = await overlapping(
      (inCommit) => here(tenantId, [robot('Success', 'robot-p', 'robot P is back')], inCommit),
      // As the pull connector stores what it imports: the floor read, then writeAlerts, in a transaction of its own.
      (onBusy) =>
        writeTransaction(other, { onBusy })(async (tx) =>
          writeAlerts(tx, tenantId, [robot('Fatal', 'robot-p', 'robot P is offline again')], Math.max(Date.now(), await alertTimeFloor(tx)), FLOOD_WINDOW_MS),
        ),
      'the import to be stored or wait for the commit of the Success',
    );
    const groups = await groupsOf([fired!, recovered!, imported!]);
    expect(groups.get(recovered!)?.group).toBe(fired);
    // Before, on PostgreSQL: the resolved flood.
    expect(groups.get(imported!)?.group).toBe(imported);
  });

  it("resolves a Fatal alert that another process commits while this one stores its key's Success, with no second email", async () => {
    const before = await immediateEmails();
    const [fired] = await processOn(t.tocsin.deps.storage)(tenantId, [robot('Fatal', 'robot-s', 'robot S is offline')]);
    const [[repeated], [recovered]] = await overlapping(
      (inCommit) => processOn(other)(tenantId, [robot('Fatal', 'robot-s', 'robot S is still offline')], inCommit),
      (onBusy) => processOn(t.tocsin.deps.storage, onBusy)(tenantId, [robot('Success', 'robot-s', 'robot S is back')]),
      'this process to store its Success or wait for the commit of the Fatal alert',
    );
    // The robot fails once more, after both: a new incident.
    const [failedAgain] = await processOn(other)(tenantId, [robot('Fatal', 'robot-s', 'robot S is offline again')]);

    const groups = await groupsOf([fired!, repeated!, recovered!, failedAgain!]);
    expect(groups.get(repeated!)?.group).toBe(fired);
    expect(groups.get(recovered!)?.group).toBe(fired);
    // Stored after the repeat it resolves: the key's newest alert is the Success.
    expect(groups.get(recovered!)!.at).toBeGreaterThanOrEqual(groups.get(repeated!)!.at);
    expect(groups.get(failedAgain!)?.group).toBe(failedAgain);
    // The first Fatal alert's and the last one's: none for the repeat.
    expect(await immediateEmails()).toBe(before + 2);
  });
});
