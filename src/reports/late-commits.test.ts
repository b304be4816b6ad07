/**
 * An alert's created_at is taken when its ingest transaction begins, and a summary window is judged
 * a second after it ends. An alert stamped inside a window must still reach a summary when its
 * commit comes later than that (a slow disk, a stalled PostgreSQL) or when the instance that stored
 * it has a clock behind the scheduler's: judged with its window, or in the next one, never in none.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newAlert } from '../../test/support/alerts.js';
import { type TestApp, startTestApp } from '../../test/support/http.js';
import { describeEachDialect } from '../../test/support/storage.js';
import { waitingBehindFloor } from '../../test/support/floor-lock.js';
import { type AlertIngest, groupCommit } from '../alerts/ingest.js';
import type { NewAlert } from '../alerts/input.js';
import { FakeClock } from '../shared/clock.js';
import { ReportScheduler } from './scheduler.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const T0 = Date.parse('2026-11-02T10:01:00Z');
const INTERVAL = 600_000;
const FIRST_END = Math.ceil(T0 / INTERVAL) * INTERVAL;

const error = (message: string): NewAlert => newAlert({ severity: 'Error', component: 'Jobs', event: 'Process.JobExecution.Faulted', message });

describeEachDialect('summaries of alerts committed late', (dialect) => {
  let t: TestApp;
  let clock: FakeClock;
  let tenantId: string;
  let scheduler: ReportScheduler;
  const children: ChildProcess[] = [];

  /** A transaction of the ingest that stamps its alert and then waits, open, until released. */
  const stalledCommit = (ingest: AlertIngest['raise'], message: string) => {
    let release!: () => void;
    let stamped!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inside = new Promise<void>((resolve) => (stamped = resolve));
    const committed = ingest(tenantId, [error(message)], {
      alongside: async () => {
        stamped();
        await gate;
      },
    });
    return { inside, release, committed };
  };

  /** waitingBehind resolves once a scheduler (`judging`, this process's tick or another process) waits for the stalled commit, or once it is over. */
  const waitingBehind = (judging: Promise<unknown>) =>
    waitingBehindFloor(dialect, t.tocsin.deps.storage.db, judging, 'the scheduler to wait for the stalled commit');

  /** The summaries whose window holds the alert, by recipient: each must have exactly one. */
  const summariesHolding = async (alertId: string) => {
    const db = t.tocsin.deps.storage.db;
    const { created_at } = await db.selectFrom('alerts').select('created_at').where('id', '=', alertId).executeTakeFirstOrThrow();
    const rows = await db
      .selectFrom('deliveries')
      .select(['recipient_address', 'window_start', 'window_end'])
      .where('kind', '=', 'summary')
      .where('window_start', '<=', Number(created_at))
      .where('window_end', '>', Number(created_at))
      .execute();
    return rows.map((r) => r.recipient_address).sort();
  };

  beforeAll(async () => {
    clock = new FakeClock(T0);
    t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
    tenantId = (await t.call('POST', '/api/v1/tenants', { name: 'late' })).json().id;
    await t.call('PUT', '/api/v1/tenants/late/settings/mail', { alertsEmailEnabled: true });
    await t.call('POST', '/api/v1/tenants/late/users', { email: 'ana@example.com', name: 'ana', roles: ['Alerts Viewer'] });
    scheduler = new ReportScheduler({
      storage: t.tocsin.deps.storage,
      clock,
      logger: pino({ level: 'silent' }),
      settingsOf: async () => ({ alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: false }),
      settings: { summaryIntervalMs: INTERVAL },
    });
    await scheduler.tick();
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await t.close();
  });

  it('summarises an alert whose ingest transaction commits long after its window was due', async () => {
    const end = FIRST_END;
    clock.set(end - 30_000);
    const { inside, release, committed } = stalledCommit(groupCommit(t.tocsin.deps.storage, clock, INTERVAL, 1), 'stamped before the end, committed after');
    await inside;
    clock.set(end + 1_500);
    // The scheduler looks while the commit is still under way, as it would through a stalled disk.
    const ticking = scheduler.tick();
    await waitingBehind(ticking);
    release();
    const [id] = await committed;
    await ticking;
    clock.set(end + INTERVAL + 1_500);
    await scheduler.tick();
    expect(await summariesHolding(id!)).toEqual(['ana@example.com']);
  });

  it('summarises an alert stored by an instance whose clock is behind the scheduler', async () => {
    const end = FIRST_END + 2 * INTERVAL;
    clock.set(end + 1_500);
    await scheduler.tick();
    // Five seconds behind: it stamps a time inside the window the scheduler has just judged.
    const behind = new FakeClock(clock.now() - 5_000);
    const [id] = await groupCommit(t.tocsin.deps.storage, behind, INTERVAL, 1)(tenantId, [error('from a clock five seconds slow')]);
    clock.set(end + INTERVAL + 1_500);
    await scheduler.tick();
    expect(await summariesHolding(id!)).toEqual(['ana@example.com']);
  });

  it('summarises an alert whose commit another process deciding the window overtakes', async () => {
    const end = FIRST_END + 4 * INTERVAL;
    clock.set(end - 30_000);
    const { inside, release, committed } = stalledCommit(groupCommit(t.tocsin.deps.storage, clock, INTERVAL, 1), 'committed after another process looked');
    await inside;
    // Another process (another instance on PostgreSQL, another process on the SQLite file) decides the window meanwhile.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, '../../test/support/processes/decide-process.ts')], {
      env: { ...process.env, DATABASE_URL: t.tocsin.deps.config.databaseUrl, NOW: String(end + 1_500), INTERVAL_MS: String(INTERVAL) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let output = '';
    const said = (word: string) =>
      new Promise<void>((resolve, reject) => {
        const look = () => output.includes(word) && resolve();
        child.stderr!.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          look();
        });
        child.once('exit', (code) => reject(new Error(`the deciding process exited with ${code}: ${output}`)));
        look();
      });
    const decided = said('decided\n');
    await said('deciding\n');
    await waitingBehind(decided);
    release();
    const [id] = await committed;
    await decided;
    child.kill('SIGKILL');
    clock.set(end + INTERVAL + 1_500);
    await scheduler.tick();
    expect(await summariesHolding(id!)).toEqual(['ana@example.com']);
    // Two processes start through tsx, which takes seconds on a loaded machine.
  }, 60_000);
});
