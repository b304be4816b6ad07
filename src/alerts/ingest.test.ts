import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newAlert } from '../../test/support/alerts.js';
import { until } from '../../test/support/until.js';
import { FakeClock } from '../shared/clock.js';
import type { Storage } from '../storage/storage.js';
import { describeEachDialect, openTestStorage } from '../../test/support/storage.js';
import { type FatalCommit, FatalSignal } from './fatal-signal.js';
import { POSTGRES_COMMITS, coalescedFatalSignal, groupCommit } from './ingest.js';
import type { NewAlert } from './input.js';
import { insertChunks, writeAlerts } from './store.js';
import { RESOLUTION_LOCK_BUCKETS, floodLockName } from './resolution-locks.js';
import { holdAlertTimeFloor } from './time-floor.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const one = (message: string): NewAlert => newAlert({ severity: 'Error', component: 'Jobs', event: 'Process.RaiseAlert', message, dedupKey: 'k' });

describeEachDialect('group commit of alert batches', (dialect) => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await openTestStorage(dialect);
    await storage.db
      .insertInto('tenants')
      .values({ id: 't', name: 't', display_name: 't', time_zone: 'UTC', language: 'en', retention_days: 30, created_at: T0 })
      .execute();
  });
  afterAll(() => storage.close());

  it('stores concurrent batches together, each caller getting its own ids in order', async () => {
    const raise = groupCommit(storage, new FakeClock(T0), 600_000, 1);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => raise('t', [one(`${i}-a`), one(`${i}-b`)])));
    // This test's alerts only: the file's other tests store theirs in the same database, some under the key 'k'.
    const rows = await storage.db.selectFrom('alerts').select(['id', 'message', 'group_id']).where('id', 'in', results.flat()).execute();
    expect(rows).toHaveLength(40);
    const byId = new Map(rows.map((r) => [r.id, r]));
    results.forEach((ids, i) => {
      expect(ids.map((id) => byId.get(id)?.message)).toEqual([`${i}-a`, `${i}-b`]);
    });
    // One flood across every batch of the commit, as if they had come one by one.
    expect(new Set(rows.map((r) => r.group_id)).size).toBe(1);
  });

  it('stores concurrent full batches of a tenant in one commit, more alerts than one insert statement takes, each caller getting its own', async () => {
    const raise = groupCommit(storage, new FakeClock(T0), 600_000, 1);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, b) =>
        raise(
          't',
          Array.from({ length: 1000 }, (_, i) => ({ ...one(`full ${b}-${i}`), dedupKey: null })),
        ),
      ),
    );
    const rows = await storage.db.selectFrom('alerts').select(['id', 'message']).where('message', 'like', 'full %').execute();
    const byId = new Map(rows.map((r) => [r.id, r.message]));
    expect(rows).toHaveLength(6000);
    results.forEach((ids, b) => {
      expect(ids.map((id) => byId.get(id))).toEqual(Array.from({ length: 1000 }, (_, i) => `full ${b}-${i}`));
    });
  });

  it.skipIf(dialect !== 'postgres')(
    'starts no second commit on PostgreSQL while the one under way is not stalled: batches that come meanwhile wait and share the next',
    async () => {
      await addTenant('busy');
      // Each commit reads the clock once: a clock that moves on every read gives each commit its own created_at.
      let reads = 0;
      // The product's concurrency, with a stall too long to come in this test.
      const raise = groupCommit(storage, { now: () => T0 + reads++ }, 600_000, { ...POSTGRES_COMMITS, stalledAfterMs: 600_000 });
      const busy = await holdTenantRow('busy');
      const raised = [raise('busy', [{ ...one('first'), dedupKey: null }])];
      await busy.waiting(1);
      // A free slot would have taken the second batch by the next turn, and the third after it.
      raised.push(raise('busy', [{ ...one('second'), dedupKey: null }]));
      await new Promise((resolve) => setImmediate(resolve));
      raised.push(raise('busy', [{ ...one('third'), dedupKey: null }]));
      await busy.release();
      await Promise.all(raised);
      const rows = await storage.db.selectFrom('alerts').select(['message', 'created_at']).where('tenant_id', '=', 'busy').execute();
      const commitOf = new Map(rows.map((r) => [r.message, Number(r.created_at)]));
      expect(rows).toHaveLength(3);
      expect(new Set(commitOf.values()).size).toBe(2);
      expect(commitOf.get('second')).toBe(commitOf.get('third'));
    },
  );

  it.skipIf(dialect !== 'postgres')(
    "takes no more flood locks in one commit on PostgreSQL than one tenant's batches can need, however many tenants post new keys at once",
    async () => {
      // Fifty tenants' robots posting batches of new keys: a commit took five tenants' batches, some 3,200 flood
      // locks besides its resolution locks, and four such commits at once filled PostgreSQL's lock table.
      const tenants = ['locks-a', 'locks-b', 'locks-c'];
      for (const id of ['locks-held', ...tenants]) await addTenant(id);
      let reads = 0;
      const raise = groupCommit(storage, { now: () => T0 + reads++ }, 600_000, { ...POSTGRES_COMMITS, stalledAfterMs: 600_000 });
      const held = await holdTenantRow('locks-held');
      const first = raise('locks-held', [{ ...one('first'), dedupKey: null }]);
      await held.waiting(1);
      // Queued behind it: 600 new keys of each tenant, about 450 flood locks apiece.
      const queued = tenants.map((tenant) =>
        raise(
          tenant,
          Array.from({ length: 600 }, (_, i) => ({ ...one(`${tenant} ${i}`), dedupKey: `${tenant}-new-${i}` })),
        ),
      );
      await held.release();
      await Promise.all([first, ...queued]);
      const rows = await storage.db.selectFrom('alerts').select(['tenant_id', 'dedup_key', 'created_at']).where('tenant_id', 'in', tenants).execute();
      expect(rows).toHaveLength(1_800);
      // Each commit's alerts share its created_at: the flood locks its keys took, counted per commit.
      const locksOf = new Map<number, Set<string>>();
      for (const row of rows) {
        const commit = Number(row.created_at);
        if (!locksOf.has(commit)) locksOf.set(commit, new Set());
        locksOf.get(commit)!.add(floodLockName(row.tenant_id, row.dedup_key!));
      }
      const sizes = [...locksOf.values()].map((locks) => locks.size);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(RESOLUTION_LOCK_BUCKETS);
      // Two tenants' batches still share a commit when their locks fit.
      expect(sizes).toHaveLength(2);
    },
  );

  it.skipIf(dialect !== 'postgres')(
    "starts another commit on PostgreSQL once the one under way is stalled: a tenant's locked row holds no other tenant back",
    async () => {
      await addTenant('held');
      await addTenant('free');
      const raise = groupCommit(storage, new FakeClock(T0), 600_000, { max: 2, stalledAfterMs: 20 });
      const held = await holdTenantRow('held');
      const waitingOne = raise('held', [{ ...one('held back'), dedupKey: null }]);
      await held.waiting(1);
      const [id] = await raise('free', [{ ...one('not held back'), dedupKey: null }]);
      const stored = await storage.db.selectFrom('alerts').select('message').where('id', '=', id!).executeTakeFirst();
      expect(stored?.message).toBe('not held back');
      await held.release();
      expect(await waitingOne).toHaveLength(1);
    },
  );

  it.skipIf(dialect !== 'postgres')(
    "sees what committed while its begin waited for the time floor's lock on PostgreSQL: a flood resolved meanwhile is not joined",
    async () => {
      let now = T0;
      const raise = groupCommit(storage, { now: () => now }, 600_000, 1);
      const [lead] = await raise('t', [{ ...one('before the wait'), dedupKey: 'waited', severity: 'Fatal' }]);
      let resolve!: () => void;
      const resolving = new Promise<void>((r) => (resolve = r));
      let locked!: (pid: number) => void;
      const holder = new Promise<number>((r) => (locked = r));
      // The scheduler's side: the floor's lock held exclusively while a Success of the key commits.
      const holding = storage.db.transaction().execute(async (tx) => {
        await holdAlertTimeFloor(tx);
        locked((await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx)).rows[0]!.pid);
        await resolving;
        await writeAlerts(tx, 't', [{ ...one('resolved meanwhile'), dedupKey: 'waited', severity: 'Success' }], T0 + 1_000);
      });
      const pid = await holder;
      now = T0 + 2_000;
      const after = raise('t', [{ ...one('after the wait'), dedupKey: 'waited', severity: 'Fatal' }]);
      await until(
        async () =>
          (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where ${pid} = any(pg_blocking_pids(pid))`.execute(storage.db)).rows[0]!
            .n >= 1,
        "the commit waiting on the floor's lock",
      );
      resolve();
      await holding;
      const [id] = await after;
      const row = await storage.db.selectFrom('alerts').select('group_id').where('id', '=', id!).executeTakeFirstOrThrow();
      // A new incident, with its own immediate email: not a repeat of the flood its key's Success resolved.
      expect(row.group_id).toBe(id);
      expect(row.group_id).not.toBe(lead);
    },
  );

  it('starts the next commit on PostgreSQL once the one under way has written its alerts: batches that come while it decides and commits do not wait for it (SQLite: one commit at a time)', async () => {
    await addTenant(`overlap-${dialect}`);
    const fatal = (message: string): NewAlert => ({ ...one(message), severity: 'Fatal', dedupKey: null });
    const heard: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let deciding!: () => void;
    const inDecision = new Promise<void>((resolve) => (deciding = resolve));
    // The product's concurrency per dialect, with a stall too long to come in this test.
    const concurrency = dialect === 'postgres' ? { ...POSTGRES_COMMITS, stalledAfterMs: 600_000 } : 1;
    const raise = groupCommit(storage, new FakeClock(T0), 600_000, concurrency, {
      inCommit: async (tx, commits) => {
        const { message } = await tx.selectFrom('alerts').select('message').where('id', '=', commits[0]!.alertIds[0]!).executeTakeFirstOrThrow();
        heard.push(`deciding ${message}`);
        if (message === 'held in its decision') {
          deciding();
          await released;
        }
        return () => undefined;
      },
      undecided: () => {},
    });
    const first = raise(`overlap-${dialect}`, [fatal('held in its decision')]).then(() => heard.push('first stored'));
    await inDecision;
    const second = raise(`overlap-${dialect}`, [fatal('came meanwhile')]).then(() => heard.push('second stored'));
    if (dialect === 'postgres') await second;
    heard.push('released');
    release();
    await Promise.all([first, second]);
    expect(heard).toEqual(
      dialect === 'postgres'
        ? ['deciding held in its decision', 'deciding came meanwhile', 'second stored', 'released', 'first stored']
        : ['deciding held in its decision', 'released', 'first stored', 'deciding came meanwhile', 'second stored'],
    );
  });

  it("stores a Fatal alert that comes while another commit stores its key's Success as a new flood, not a repeat of the one resolved", async () => {
    // On PostgreSQL the second commit starts once the first has written; a fresh flood is joined without
    // waiting for its key's lock, so it read the flood as the first commit's Success had not resolved it.
    await addTenant(`resolving-${dialect}`);
    const tenant = `resolving-${dialect}`;
    const robot = (severity: 'Fatal' | 'Success', message: string): NewAlert => ({ ...one(message), severity, dedupKey: 'robot-r' });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let deciding!: () => void;
    const inDecision = new Promise<void>((resolve) => (deciding = resolve));
    let reads = 0;
    const concurrency = dialect === 'postgres' ? { ...POSTGRES_COMMITS, stalledAfterMs: 600_000 } : 1;
    const raise = groupCommit(storage, { now: () => T0 + 1_000 * reads++ }, 600_000, concurrency, {
      inCommit: async (tx, commits) => {
        const ids = commits.flatMap((c) => c.alertIds);
        const messages = await tx.selectFrom('alerts').select('message').where('id', 'in', ids).execute();
        if (messages.some((m) => m.message === 'held in its decision')) {
          deciding();
          await released;
        }
        return () => undefined;
      },
      undecided: () => {},
    });
    const [fired] = await raise(tenant, [robot('Fatal', 'fired')]);
    const resolving = raise(tenant, [robot('Success', 'resolved'), { ...one('held in its decision'), severity: 'Fatal', dedupKey: null }]);
    await inDecision;
    // Written while the first commit decides (before: at once) and then let go, or held back until it ends and the
    // first let go by another tenant's batch, which does not wait: either way no sleep decides what is seen.
    const again = raise(tenant, [robot('Fatal', 'failed again')], { alongside: async () => release() });
    if (dialect === 'postgres') await raise('t', [{ ...one('of another flood'), dedupKey: null }]);
    release();
    const [[resolved], [failedAgain]] = await Promise.all([resolving, again]);
    const groups = await storage.db.selectFrom('alerts').select(['id', 'group_id']).where('id', 'in', [fired!, resolved!, failedAgain!]).execute();
    const groupOf = new Map(groups.map((g) => [g.id, g.group_id]));
    expect(groupOf.get(resolved!)).toBe(fired);
    // Its own flood, so it gets its own immediate email (before, on PostgreSQL: the resolved flood's).
    expect(groupOf.get(failedAgain!)).toBe(failedAgain);
  });

  /** addTenant adds a tenant of that id (and name). */
  const addTenant = (id: string) =>
    storage.db.insertInto('tenants').values({ id, name: id, display_name: id, time_zone: 'UTC', language: 'en', retention_days: 30, created_at: T0 }).execute();

  /**
   * holdTenantRow locks a tenant's row in a transaction of its own (PostgreSQL), so that every
   * commit storing that tenant's alerts waits at its insert (FOR KEY SHARE) until release.
   */
  async function holdTenantRow(id: string) {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: (pid: number) => void;
    const holder = new Promise<number>((resolve) => (locked = resolve));
    const holding = storage.db.transaction().execute(async (tx) => {
      await sql`select id from tenants where id = ${id} for update`.execute(tx);
      locked((await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx)).rows[0]!.pid);
      await released;
    });
    const pid = await holder;
    return {
      /** waiting waits until `n` transactions wait on the row. */
      waiting: (n: number) =>
        until(
          async () =>
            (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where ${pid} = any(pg_blocking_pids(pid))`.execute(storage.db)).rows[0]!
              .n >= n,
          `${n} commits waiting on the tenant's row`,
        ),
      release: async () => {
        release();
        await holding;
      },
    };
  }

  it('stores what each batch chooses in the transaction, its alongside write given those ids, and decides only the Fatal alerts chosen', async () => {
    const fatal = (message: string): NewAlert => ({ ...one(message), severity: 'Fatal', dedupKey: null });
    const decided: string[] = [];
    const raise = groupCommit(storage, new FakeClock(T0), 600_000, 1, {
      inCommit: async (_tx, commits) => {
        decided.push(...commits.flatMap((c) => c.alertIds));
        return () => undefined;
      },
      undecided: () => {},
    });
    const alongside: (readonly string[])[] = [];
    const candidates = [fatal('chosen 0'), fatal('passed over 1'), one('chosen 2')];
    const [picked, none, plain] = await Promise.all([
      raise('t', candidates, {
        // Inside the transaction, before any alert of the commit is written: the plain batch's is not there yet.
        choose: async (tx) => {
          expect(await tx.selectFrom('alerts').select('id').where('message', '=', 'plain beside').execute()).toEqual([]);
          return [candidates[0]!, candidates[2]!];
        },
        alongside: async (_tx, ids) => void alongside.push(ids),
      }),
      raise('t', [fatal('a redelivery')], { choose: async () => [], alongside: async (_tx, ids) => void alongside.push(ids) }),
      raise('t', [one('plain beside')]),
    ]);
    const messages = new Map(
      (
        await storage.db
          .selectFrom('alerts')
          .select(['id', 'message'])
          .where('id', 'in', [...picked!, ...plain!])
          .execute()
      ).map((r) => [r.id, r.message]),
    );
    expect(picked!.map((id) => messages.get(id))).toEqual(['chosen 0', 'chosen 2']);
    expect(none).toEqual([]);
    expect(plain!.map((id) => messages.get(id))).toEqual(['plain beside']);
    expect(alongside).toEqual([picked, []]);
    expect(decided).toEqual([picked![0]]);
    expect(await storage.db.selectFrom('alerts').select('id').where('message', 'in', ['passed over 1', 'a redelivery']).execute()).toEqual([]);
  });

  it("runs every batch's enlist before the first choose of a commit, so one choose can read for all of them", async () => {
    const raise = groupCommit(storage, new FakeClock(T0), 600_000, 1);
    const seen: string[] = [];
    const batch = (name: string) =>
      raise('t', [{ ...one(`enlisted ${name}`), dedupKey: null }], {
        enlist: (shared) => {
          seen.push(`enlist ${name}`);
          shared.set(name, true);
        },
        choose: async (_tx, shared) => {
          // Every batch of the commit put its part in before this one chooses.
          seen.push(`choose ${name}: ${['a', 'b', 'c'].filter((n) => shared.has(n)).join('')}`);
          return [{ ...one(`enlisted ${name}`), dedupKey: null }];
        },
      });
    const ids = await Promise.all([batch('a'), batch('b'), batch('c')]);
    expect(ids.map((batchIds) => batchIds.length)).toEqual([1, 1, 1]);
    expect(seen).toEqual(['enlist a', 'enlist b', 'enlist c', 'choose a: abc', 'choose b: abc', 'choose c: abc']);
  });

  it("fails only the batch that cannot be stored, not its neighbours'", async () => {
    const raise = groupCommit(storage, new FakeClock(T0), 600_000, 1);
    const outcomes = await Promise.allSettled([raise('t', [one('before')]), raise('no-such-tenant', [one('orphan')]), raise('t', [one('after')])]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const messages = (await storage.db.selectFrom('alerts').select('message').execute()).map((r) => r.message);
    expect(messages).toEqual(expect.arrayContaining(['before', 'after']));
    expect(messages).not.toContain('orphan');
  });

  it('stores a full batch of alerts with a thousand distinct dedup keys (more than SQLite takes in one compound select)', async () => {
    const raise = groupCommit(storage, new FakeClock(T0), 600_000, 1);
    const ids = await raise(
      't',
      Array.from({ length: 1000 }, (_, i) => ({ ...one(`keyed ${i}`), dedupKey: `key-${i}` })),
    );
    expect(new Set(ids).size).toBe(1000);
  });

  it('joins each alert to the flood of its own dedup key, whatever the number of keys a commit holds', async () => {
    const raise = groupCommit(storage, new FakeClock(T0), 600_000, 1);
    const keyed = (key: string) => ({ ...one(`flood ${key}`), dedupKey: key });
    const first = await raise('t', ['f-a', 'f-b', 'f-c'].map(keyed));
    // Three known keys and a new one: four probes here, where the first commit's three were padded to four.
    const second = await raise('t', ['f-c', 'f-a', 'f-new', 'f-b', 'f-a'].map(keyed));
    const rows = await storage.db.selectFrom('alerts').select(['id', 'group_id']).where('id', 'in', second).execute();
    const groupOf = new Map(rows.map((r) => [r.id, r.group_id]));
    expect(second.map((id) => groupOf.get(id))).toEqual([first[2], first[0], second[2], first[1], first[0]]);
  });

  it("takes a commit's Success of a key as the key's last alert wherever its row lies, so the key's next Fatal alert through the group commit starts a new flood", async () => {
    const clock = new FakeClock(T0);
    const raise = groupCommit(storage, clock, 600_000, 1);
    const keyed = (severity: NewAlert['severity']): NewAlert => ({ ...one('tie'), dedupKey: 'tie', severity });
    const [fatal] = await raise('t', [keyed('Fatal'), keyed('Success')]);
    // The Fatal alert's row moved after the Success's (freed pages reused, a VACUUM): the same time, ids in order.
    const row = await storage.db.selectFrom('alerts').selectAll().where('id', '=', fatal!).executeTakeFirstOrThrow();
    await storage.db.deleteFrom('alerts').where('id', '=', fatal!).execute();
    await storage.db.insertInto('alerts').values(row).execute();
    clock.advance(60_000);
    const [again] = await raise('t', [keyed('Fatal')]);
    const stored = await storage.db.selectFrom('alerts').select('group_id').where('id', '=', again!).executeTakeFirstOrThrow();
    expect(stored.group_id).toBe(again);
  });

  it('joins each alert to the flood of its own dedup key in a commit of many keys, which PostgreSQL probes with one walk of the dedup index rescanned per key', async () => {
    const raise = groupCommit(storage, new FakeClock(T0), 600_000, 1);
    const keyed = (key: string, severity = 'Error'): NewAlert => ({ ...one(`flood ${key}`), dedupKey: key, severity: severity as NewAlert['severity'] });
    const keys = Array.from({ length: 12 }, (_, i) => `many-${i}`);
    const first = await raise('t', [...keys.map((key) => keyed(key)), keyed('many-resolved', 'Success')]);
    const second = await raise('t', [...[...keys].reverse().map((key) => keyed(key)), keyed('many-new'), keyed('many-resolved')]);
    const rows = await storage.db.selectFrom('alerts').select(['id', 'group_id']).where('id', 'in', second).execute();
    const groupOf = new Map(rows.map((r) => [r.id, r.group_id]));
    // Each known key joins its flood; a new key, and a failure after its key's Success, start their own.
    expect(second.map((id) => groupOf.get(id))).toEqual([...first.slice(0, 12).reverse(), second[12], second[13]]);
    if (dialect !== 'postgres') return;
    const plan = await storage.db.connection().execute(async (conn) => {
      await writeAlerts(
        conn,
        't',
        keys.map((key) => keyed(key)),
        T0,
      );
      // The probe is prepared on this connection (serverPrepared): its plan as each commit runs it.
      const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements where statement like '%cross join lateral%'`.execute(conn);
      const explained = await sql<{ 'QUERY PLAN': string }>`explain (costs off) execute ${sql.id(rows[0]!.name)}('t', array['a']::text[], 0)`.execute(conn);
      return explained.rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('Nested Loop');
    expect(plan.match(/alerts_tenant_dedup/g)).toHaveLength(1);
    // Each key's last alert by (time, id) is the first entry of its backward walk: nothing sorted per key.
    expect(plan).not.toContain('Sort');
  });

  it('stores every text exactly as given, whatever its characters', async () => {
    const raise = groupCommit(storage, new FakeClock(T0), 600_000, 1);
    const awkward = ['"quoted" and \\back\\slashed', '{braces, commas}', 'NULL', '', 'ünïcödé ✓ 🚨 日本語', 'line\nbreak\ttab', "it's"];
    const alerts = awkward.map((text, i) => ({
      ...one(`awkward ${i}: ${text}`),
      data: JSON.stringify({ text }),
      source: JSON.stringify({ robot: text || 'r' }),
      folder: text || null,
      dedupKey: text || null,
    }));
    const ids = await raise('t', alerts);
    const rows = await storage.db.selectFrom('alerts').select(['id', 'message', 'data', 'source', 'folder', 'dedup_key']).where('id', 'in', ids).execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    ids.forEach((id, i) => {
      const a = alerts[i]!;
      expect(byId.get(id)).toEqual({ id, message: a.message, data: a.data, source: a.source, folder: a.folder, dedup_key: a.dedupKey });
    });
  });

  it('decides the Fatal alerts in their commit, and stores them undecided, signalled after it, when that decision fails', async () => {
    const fatal = (message: string): NewAlert => ({ ...one(message), severity: 'Fatal', dedupKey: null });
    const undecidedRows = (ids: readonly string[]) => storage.db.selectFrom('undecided_fatal_alerts').select('alert_id').where('alert_id', 'in', ids).execute();
    const decided: FatalCommit[] = [];
    const undecided: FatalCommit[] = [];
    const failures: unknown[] = [];
    let fail = false;
    const raise = groupCommit(storage, new FakeClock(T0), 600_000, 1, {
      inCommit: async (tx, commits) => {
        // Inside the transaction: the alerts it decides are already visible to it.
        expect(await tx.selectFrom('alerts').select('id').where('id', 'in', commits[0]!.alertIds).execute()).toHaveLength(commits[0]!.alertIds.length);
        if (fail) throw new Error('no decision today');
        decided.push(...commits);
        return () => undefined;
      },
      undecided: (tenantId, alertIds) => undecided.push({ tenantId, alertIds }),
      failed: (err) => failures.push(err),
    });

    const [ok] = await Promise.all([raise('t', [one('not Fatal'), fatal('decided')])]);
    // 't' has no mail settings: off, as PostgreSQL's insert read it (SQLite's is not asked).
    expect(decided).toEqual([{ tenantId: 't', alertIds: [ok![1]], ...(dialect === 'postgres' ? { mailing: false } : {}) }]);
    expect(undecided).toEqual([]);
    expect(await undecidedRows(ok!)).toEqual([]);

    fail = true;
    const failed = await raise('t', [fatal('left to the decider')]);
    expect((await storage.db.selectFrom('alerts').select('message').where('id', 'in', failed).execute()).map((r) => r.message)).toEqual([
      'left to the decider',
    ]);
    expect(await undecidedRows(failed)).toEqual([{ alert_id: failed[0] }]);
    expect(undecided).toEqual([{ tenantId: 't', alertIds: failed }]);
    expect(failures).toHaveLength(1);
  });
  it("tells the decision on PostgreSQL whether each tenant's alert emails are on as its insert read them in the commit, a change committed before it included", async () => {
    const fatal = (message: string): NewAlert => ({ ...one(message), severity: 'Fatal', dedupKey: null });
    const settings = (tenantId: string, on: number) => ({
      tenant_id: tenantId,
      alerts_email_enabled: on,
      use_custom: 0,
      daily_report_time: '07:00',
      send_empty_daily_report: 0,
      updated_at: T0,
    });
    for (const id of ['mails', 'quiet']) {
      await storage.db
        .insertInto('tenants')
        .values({ id, name: id, display_name: id, time_zone: 'UTC', language: 'en', retention_days: 30, created_at: T0 })
        .execute();
    }
    await storage.db
      .insertInto('tenant_mail_settings')
      .values([settings('mails', 1), settings('quiet', 0)])
      .execute();
    const decided: FatalCommit[] = [];
    const raise = groupCommit(storage, new FakeClock(T0), 600_000, 1, {
      inCommit: async (_tx, commits) => {
        decided.push(...commits);
        return () => undefined;
      },
      undecided: () => {},
    });
    const told = async () => {
      decided.length = 0;
      await Promise.all([raise('mails', [fatal('m')]), raise('quiet', [fatal('q')])]);
      return Object.fromEntries(decided.map((c) => [c.tenantId, c.mailing]));
    };
    const postgres = dialect === 'postgres';
    expect(await told()).toEqual(postgres ? { mails: true, quiet: false } : { mails: undefined, quiet: undefined });
    await storage.db.updateTable('tenant_mail_settings').set({ alerts_email_enabled: 1 }).where('tenant_id', '=', 'quiet').execute();
    await storage.db.updateTable('tenant_mail_settings').set({ alerts_email_enabled: 0 }).where('tenant_id', '=', 'mails').execute();
    expect(await told()).toEqual(postgres ? { mails: false, quiet: true } : { mails: undefined, quiet: undefined });
  });

  it('answers the callers of a commit that handed emails to the sender once their servers have answered, and not later than the cap when they hang', async () => {
    const fatal = (message: string): NewAlert => ({ ...one(message), severity: 'Fatal', dedupKey: null });
    const heard: string[] = [];
    let handedOver: (serverAnswered: () => void) => void = () => {};
    let hang = false;
    const raise = groupCommit(storage, new FakeClock(T0), 600_000, 1, {
      inCommit: async () => () =>
        hang
          ? new Promise<void>(() => {})
          : new Promise<void>((resolve) =>
              handedOver(() => {
                heard.push('server answered');
                resolve();
              }),
            ),
      undecided: () => {},
    });

    const serverAnswers = new Promise<() => void>((resolve) => {
      handedOver = resolve;
    });
    const answered = raise('t', [fatal('robot 7 is offline')]).then((ids) => heard.push(`caller answered with ${ids.length} id`));
    const serverAnswered = await serverAnswers;
    // A turn of the event loop first: a caller answered at the next turn after the hand-over (as
    // before, whatever the server) would be heard before the server.
    await new Promise((resolve) => setImmediate(resolve));
    serverAnswered();
    await answered;
    expect(heard).toEqual(['server answered', 'caller answered with 1 id']);

    // A server that never answers keeps nobody waiting beyond ANSWER_WAIT_MS: the alert is stored.
    hang = true;
    const [id] = await raise('t', [fatal('robot 8 is offline')]);
    expect(await storage.db.selectFrom('alerts').select('message').where('id', '=', id!).executeTakeFirst()).toEqual({ message: 'robot 8 is offline' });
  });
});

describe('Fatal alerts of one group commit', () => {
  it('are signalled once per tenant after the turn in which their requests heard back', async () => {
    const signal = new FatalSignal();
    const heard: FatalCommit[] = [];
    signal.subscribe((commit) => heard.push(commit));
    const committed = coalescedFatalSignal(signal);
    committed('a', ['1']);
    committed('b', ['2']);
    committed('a', ['3', '4']);
    expect(heard).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard).toEqual([
      { tenantId: 'a', alertIds: ['1', '3', '4'] },
      { tenantId: 'b', alertIds: ['2'] },
    ]);
    committed('a', ['5']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard.at(-1)).toEqual({ tenantId: 'a', alertIds: ['5'] });
  });
});

describe('the statements of a group commit', () => {
  it('insert any number of rows in statements of at most eight sizes, together exactly those rows', () => {
    const shapes = new Set<number>();
    for (let n = 0; n <= 5_000; n++) {
      const sizes = insertChunks(n);
      expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(n);
      for (const size of sizes) shapes.add(size);
    }
    expect([...shapes].sort((a, b) => b - a)).toEqual([128, 64, 32, 16, 8, 4, 2, 1]);
    expect(insertChunks(300)).toEqual([128, 128, 32, 8, 4]);
  });
});
