/**
 * bench:scheduler — the report scheduler with many tenants, on PostgreSQL, each Tocsin in a
 * process of its own (`tocsin serve`), its CPU read from /proc and the database's work from
 * pg_stat_database (transactions committed: each query outside a transaction is one).
 *
 *   (a) idle: a server with no tenant and one with N tenants (alert emails on, nothing
 *       happening), side by side, measured over the same span between two summary window ends
 *       once the servers and the last window end have settled (idle-spans.ts); and what one
 *       summary window end costs (N empty windows decided, and the collection of their garbage),
 *       from which the CPU at the default 10-minute interval follows.
 *   (b) N tenants whose daily report falls in the same minute, decided by 1 and then 2 worker
 *       processes: how long after the report time the last one was decided, and that each tenant
 *       got its report once.
 *
 *   TOCSIN_TEST_PG_URL=postgres://… npm run bench:scheduler -- [--tenants 10000] [--idle-seconds 40] [--only queries,idle,daily] [--built]
 *
 * It prints what it measured, one JSON line per figure (what `npm run bench` reads), and the
 * command that reproduces it.
 */
import { parseArgs } from 'node:util';
import type { KyselyPlugin } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { BUILT_IN_ROLES } from '../src/access/permissions.js';
import { ReportScheduler } from '../src/reports/scheduler.js';
import { getMailSettings, getMailSettingsOf } from '../src/settings/mail-settings.js';
import { FakeClock } from '../src/shared/clock.js';
import { migrate } from '../src/storage/migrate.js';
import { openStorage } from '../src/storage/storage.js';
import { nextWindowEnd, quietSpan } from './idle-spans.js';
import { PG_URL, postgresDatabase, releaseAll, releaseOnSignals, sleep, waitUntil } from './lifecycle.js';
import { startSinkProcess } from './sink-client.js';
import { type TocsinServer, processStats, startTocsinServer } from './tocsin.js';

const { values: opts } = parseArgs({
  options: {
    tenants: { type: 'string', default: '10000' },
    'idle-seconds': { type: 'string', default: '40' },
    only: { type: 'string', default: 'queries,idle,daily' },
    built: { type: 'boolean', default: false },
  },
});
const TENANTS = Number(opts.tenants);
const IDLE_SECONDS = Number(opts['idle-seconds']);
const ONLY = new Set(opts.only!.split(','));
/** Run the servers from dist/ (`npm run build` first), as `npm start` does, instead of through tsx. */
const BUILT = opts.built!;
const COMMAND = `TOCSIN_TEST_PG_URL=… npm run bench:scheduler -- --tenants ${TENANTS} --idle-seconds ${IDLE_SECONDS}`;
/**
 * The summary interval of the idle servers: short, so that a window end comes within the run, and
 * long enough for a span of IDLE_SECONDS once a window end's aftermath is over (SETTLE_AFTER_FULL_GC_MS,
 * V8's memory reducer's full GC included). Begun 60 s after a window end, as with 120 s, a 40 s span
 * could hold that GC (67–108 s after the window end's own): one run in a few counted it as idle CPU
 * (2.27 % against 1.10 % at 10,000 tenants), and the window end's span, 57 s long, missed it as often.
 */
const IDLE_INTERVAL_S = 180;
/** A window end's cost is measured from just before it until its aftermath, the memory reducer's GC included, is over. */
const WINDOW_END_SPAN_MS = 122_000;
const DEFAULT_INTERVAL_S = 600;
const MINUTE = 60_000;

function emit(figure: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(figure)}\n`);
}

function log(message: string): void {
  process.stderr.write(`[bench:scheduler] ${message}\n`);
}

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, user: decodeURIComponent(new URL(url).username) || 'postgres' });
  await c.connect();
  return c;
}

/** newDatabase creates and migrates a database (dropped at the end of the run). */
async function newDatabase(): Promise<string> {
  const url = await postgresDatabase();
  const storage = await openStorage(url, { poolSize: 2 });
  try {
    await migrate(storage);
  } finally {
    await storage.close();
  }
  return url;
}

/**
 * seedTenants writes N tenants by SQL (the API would take minutes): each with alert emails on, a
 * daily report at `dailyReportTime` UTC ("all quiet" ones too when `sendEmpty`), and one operator
 * allowed to see alerts. No daily report is due before the first one after `created`.
 */
async function seedTenants(url: string, seed: { dailyReportTime: string; sendEmpty: boolean; created: number; tenants?: number }): Promise<void> {
  const c = await client(url);
  const { dailyReportTime, created } = seed;
  const n = seed.tenants ?? TENANTS;
  try {
    await c.query('begin');
    await c.query(
      `insert into tenants (id, name, display_name, time_zone, language, retention_days, created_at)
       select 'bench-t' || i, 'bench-' || i, 'bench-' || i, 'UTC', 'en', 30, $2 from generate_series(1, $1) i`,
      [n, created],
    );
    await c.query(
      `insert into roles (id, tenant_id, name, permissions, built_in)
       select 'bench-r' || i, 'bench-t' || i, 'Alerts Viewer', $2, 1 from generate_series(1, $1) i`,
      [n, JSON.stringify(BUILT_IN_ROLES['Alerts Viewer'])],
    );
    await c.query(
      `insert into users (id, tenant_id, email, email_key, name, language, time_zone, active, password_hash, created_at, updated_at)
       select 'bench-u' || i, 'bench-t' || i, 'ops@bench-' || i || '.example.com', 'ops@bench-' || i || '.example.com', 'Operator', null, null, 1, null, $2, $2
       from generate_series(1, $1) i`,
      [n, created],
    );
    await c.query(`insert into user_roles (user_id, role_id) select 'bench-u' || i, 'bench-r' || i from generate_series(1, $1) i`, [n]);
    await c.query(
      `insert into tenant_mail_settings (tenant_id, alerts_email_enabled, use_custom, daily_report_time, send_empty_daily_report, updated_at)
       select 'bench-t' || i, 1, 0, $2, $3, $4 from generate_series(1, $1) i`,
      [n, dailyReportTime, seed.sendEmpty ? 1 : 0, created],
    );
    await c.query('commit');
  } finally {
    await c.end();
  }
}

/** DatabaseMeter reads how many transactions a database committed (and rolled back) so far. */
async function databaseMeter(url: string) {
  const c = await client(url);
  const name = new URL(url).pathname.slice(1);
  return {
    async transactions(): Promise<number> {
      // Statistics reach the shared counters when a backend goes idle, at most a second late.
      await c.query('select pg_stat_clear_snapshot()');
      const { rows } = await c.query('select xact_commit + xact_rollback as n from pg_stat_database where datname = $1', [name]);
      return Number(rows[0].n);
    },
    query: (text: string, values?: unknown[]) => c.query(text, values),
    close: () => c.end(),
  };
}

interface Span {
  readonly cpuPercent: number;
  readonly cpuSeconds: number;
  readonly transactionsPerSecond: number;
  readonly seconds: number;
  /** Full GCs (V8's mark-compacts) the server ran within the span: a span clear of a burst's aftermath has none or its own. */
  readonly fullGcs: number;
}

/** Measured is a server and the meter of its database. */
interface Measured {
  readonly server: TocsinServer;
  readonly meter: Awaited<ReturnType<typeof databaseMeter>>;
}

/**
 * measure reads each server's CPU and its database's transactions from now until `untilMs`
 * (epoch), over the same span: servers measured side by side meet the same moments of the machine.
 */
async function measure(servers: readonly Measured[], untilMs: number): Promise<Span[]> {
  // The GC counts are read outside the CPU's readings: a scrape is not the idle server's work.
  const gcs0 = await Promise.all(servers.map(({ server }) => fullGcs(server)));
  const t0 = Date.now();
  const before = await Promise.all(servers.map(async ({ server, meter }) => ({ cpu: processStats(server.pid).cpuSeconds, x: await meter.transactions() })));
  await sleep(untilMs - Date.now());
  const seconds = (Date.now() - t0) / 1000;
  const cpu = servers.map(({ server }) => processStats(server.pid).cpuSeconds);
  return Promise.all(
    servers.map(async ({ server, meter }, i) => {
      const cpuSeconds = cpu[i]! - before[i]!.cpu;
      // Our own two statistics queries are not the server's.
      const transactions = (await meter.transactions()) - before[i]!.x - 2;
      const gcs = (await fullGcs(server)) - gcs0[i]!;
      return { cpuPercent: (100 * cpuSeconds) / seconds, cpuSeconds, transactionsPerSecond: transactions / seconds, seconds, fullGcs: gcs };
    }),
  );
}

/** fullGcs reads how many full GCs the server ran so far (the GC histogram of prom-client's default metrics, on /metrics). */
async function fullGcs(server: TocsinServer): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(/^tocsin_nodejs_gc_duration_seconds_count\{kind="major"\} (\d+)$/m.exec(text)?.[1] ?? Number.NaN);
}

/**
 * waitForQuietSpan waits for a span in which no window closes and none has just closed, begun long
 * enough after `readyAt` (quietSpan), and returns when it ends (before the next window end).
 */
async function waitForQuietSpan(intervalMs: number, seconds: number, readyAt: number): Promise<number> {
  const { start, end } = quietSpan(Date.now(), readyAt, intervalMs, seconds);
  await sleep(start - Date.now());
  return end;
}

async function idleStep(): Promise<void> {
  const interval = IDLE_INTERVAL_S * 1000;
  const env = { TOCSIN_SUMMARY_INTERVAL_SECONDS: String(IDLE_INTERVAL_S) };

  // Both servers run at once and are measured over the same span: the wait for a quiet span is
  // paid once, and the two figures meet the same load.
  log(`idle: a server with no tenant, and one with ${TENANTS} tenants (seeding them)`);
  const emptyUrl = await newDatabase();
  const url = await newDatabase();
  // Quiet tenants: the daily reports decided at start-up queue nothing for the outbox to send.
  await seedTenants(url, { dailyReportTime: '03:00', sendEmpty: false, created: Date.now() - 2 * 24 * 3_600_000 });
  const empty: Measured = { server: await startTocsinServer({ databaseUrl: emptyUrl, role: 'all', env }), meter: await databaseMeter(emptyUrl) };
  const many: Measured = { server: await startTocsinServer({ databaseUrl: url, role: 'all', env }), meter: await databaseMeter(url) };
  try {
    // At start every tenant is looked at once (the scheduler writes when each is due next).
    await waitUntil(
      'the start-up look at every tenant',
      async () => Number((await many.meter.query('select count(*) as n from report_schedule where due_at <= $1', [Date.now()])).rows[0].n) === 0,
      180_000,
      500,
    );
    log(`idle: no tenant and ${TENANTS} tenants, between two window ends`);
    const [none, idle] = await measure([empty, many], await waitForQuietSpan(interval, IDLE_SECONDS, Date.now()));
    await empty.server.stop();

    log(`idle: ${TENANTS} tenants, across one window end (${TENANTS} empty summary windows to decide, then their garbage collected)`);
    const end = nextWindowEnd(Date.now() + 5_000, interval);
    await sleep(end - 3_000 - Date.now());
    const [across] = await measure([many], end + WINDOW_END_SPAN_MS);
    const decided = await many.meter.query("select count(*) as n, max(decided_at) as last from report_windows where kind = 'summary' and window_end = $1", [
      end,
    ]);
    const windows = Number(decided.rows[0].n);
    const lastSeconds = (Number(decided.rows[0].last) - end) / 1000;
    // The window end's own cost: the span's CPU less what the idle rate accounts for.
    const endCpuSeconds = across!.cpuSeconds - (idle!.cpuPercent / 100) * across!.seconds;
    const amortized = idle!.cpuPercent + (100 * endCpuSeconds) / DEFAULT_INTERVAL_S;

    emit({
      figure: 'idle',
      tenants: 0,
      cpuPercent: none!.cpuPercent,
      transactionsPerSecond: none!.transactionsPerSecond,
      seconds: none!.seconds,
      fullGcs: none!.fullGcs,
    });
    emit({
      figure: 'idle',
      tenants: TENANTS,
      cpuPercent: idle!.cpuPercent,
      transactionsPerSecond: idle!.transactionsPerSecond,
      seconds: idle!.seconds,
      fullGcs: idle!.fullGcs,
    });
    emit({ figure: 'window end', tenants: TENANTS, windows, decidedWithinSeconds: lastSeconds, cpuSeconds: endCpuSeconds, fullGcs: across!.fullGcs });
    emit({ figure: 'idle at the default interval', tenants: TENANTS, cpuPercent: amortized, intervalSeconds: DEFAULT_INTERVAL_S });
    log(
      `idle, no tenant: ${none!.cpuPercent.toFixed(2)} % CPU, ${none!.transactionsPerSecond.toFixed(1)} database transactions/s, ${none!.fullGcs} full GCs (over ${none!.seconds.toFixed(0)} s)\n` +
        `idle, ${TENANTS} tenants, between window ends: ${idle!.cpuPercent.toFixed(2)} % CPU, ${idle!.transactionsPerSecond.toFixed(1)} transactions/s, ${idle!.fullGcs} full GCs (over ${idle!.seconds.toFixed(0)} s)\n` +
        `one summary window end: ${windows} windows decided within ${lastSeconds.toFixed(1)} s of it, ${endCpuSeconds.toFixed(1)} CPU s, ${across!.fullGcs} full GCs\n` +
        `so at the default ${DEFAULT_INTERVAL_S} s interval: ${amortized.toFixed(2)} % CPU on average (vs ${none!.cpuPercent.toFixed(2)} % with no tenant)`,
    );
  } finally {
    for (const { server, meter } of [empty, many]) {
      await meter.close();
      await server.stop();
    }
  }
}

/** How many tenants the in-process count decides: enough for several claims, few enough to seed at once. */
const COUNTED_TENANTS = 1_000;

/**
 * queriesStep counts what deciding daily reports costs the database per tenant, in this process on
 * a fake clock (a count, which the machine's load does not change): the statements Kysely sends
 * (a plugin sees each) and the transactions PostgreSQL commits (each statement outside a
 * transaction is one), over the scheduler ticks that decide every tenant's first daily report.
 */
async function queriesStep(): Promise<void> {
  const n = Math.min(TENANTS, COUNTED_TENANTS);
  log(`queries: ${n} tenants' daily reports decided in this process, statements counted`);
  const url = await newDatabase();
  const reportAt = Date.parse('2026-03-10T10:00:00Z');
  await seedTenants(url, { dailyReportTime: '10:00', sendEmpty: true, created: reportAt - 24 * 3_600_000 + MINUTE, tenants: n });
  const storage = await openStorage(url, { poolSize: 8 });
  const meter = await databaseMeter(url);
  let statements = 0;
  const counting: KyselyPlugin = {
    transformQuery: (args) => {
      statements++;
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  try {
    const clock = new FakeClock(reportAt - 10 * MINUTE);
    const scheduler = new ReportScheduler({
      storage: { ...storage, db: storage.db.withPlugin(counting) },
      clock,
      logger: pino({ level: 'silent' }),
      settingsOf: getMailSettings,
      settingsOfTenants: getMailSettingsOf,
      settings: { summaryIntervalMs: 24 * 3_600_000 },
    });
    // The first look at every tenant (its first summary window, when its daily report is next due).
    await scheduler.tick();
    clock.set(reportAt + 2_000);
    statements = 0;
    const x0 = await meter.transactions();
    await scheduler.tick();
    const transactions = (await meter.transactions()) - x0 - 1;
    const decided = Number((await meter.query("select count(*) as n from report_windows where kind = 'daily' and window_end = $1", [reportAt])).rows[0].n);
    const queued = Number((await meter.query("select count(*) as n from deliveries where kind = 'daily' and window_end = $1", [reportAt])).rows[0].n);
    const result = { figure: 'daily decision cost', tenants: n, decided, queued, statementsPerTenant: statements / n, transactionsPerTenant: transactions / n };
    emit(result);
    log(
      `queries: ${decided} of ${n} daily reports decided (${queued} queued) by ${statements} statements (${result.statementsPerTenant.toFixed(2)} a tenant) ` +
        `in ${transactions} transactions (${result.transactionsPerTenant.toFixed(3)} a tenant)`,
    );
  } finally {
    await meter.close();
    await storage.close();
  }
}

async function dailyStep(workers: number): Promise<void> {
  log(`daily: ${TENANTS} tenants whose report falls in the same minute, ${workers} worker process(es)`);
  const url = await newDatabase();
  // A report time far enough ahead for the seeding and the start-up look at every tenant.
  const reportAt = nextWindowEnd(Date.now() + 150_000, MINUTE);
  const time = new Date(reportAt).toISOString().slice(11, 16);
  // Created just after yesterday's report time, so that today's is each tenant's first.
  await seedTenants(url, { dailyReportTime: time, sendEmpty: true, created: reportAt - 24 * 3_600_000 + MINUTE });
  const sink = await startSinkProcess();
  const env = { TOCSIN_SUMMARY_INTERVAL_SECONDS: '86400' };
  const servers = await Promise.all(
    Array.from({ length: workers }, () => startTocsinServer({ databaseUrl: url, role: 'worker', smtpPort: sink.port, env, built: BUILT })),
  );
  const meter = await databaseMeter(url);
  try {
    const cpu0 = servers.map((s) => processStats(s.pid).cpuSeconds);
    await sleep(reportAt - Date.now());
    const count = async () =>
      Number((await meter.query("select count(*) as n from report_windows where kind = 'daily' and window_end = $1", [reportAt])).rows[0].n);
    let within60 = 0;
    await waitUntil(
      'every daily report decided',
      async () => {
        const n = await count();
        if (Date.now() <= reportAt + 60_000) within60 = n;
        return n >= TENANTS;
      },
      600_000,
      250,
    );
    const last = Number((await meter.query("select max(decided_at) as t from report_windows where kind = 'daily' and window_end = $1", [reportAt])).rows[0].t);
    const twice = await meter.query(
      "select count(*) as n from (select tenant_id from deliveries where kind = 'daily' and window_end = $1 group by tenant_id having count(*) > 1) d",
      [reportAt],
    );
    const queued = await meter.query("select count(*) as n, count(distinct tenant_id) as t from deliveries where kind = 'daily' and window_end = $1", [
      reportAt,
    ]);
    const cpuSeconds = servers.map((s, i) => processStats(s.pid).cpuSeconds - cpu0[i]!);
    const result = {
      figure: 'daily in one minute',
      tenants: TENANTS,
      workers,
      decidedWithinSeconds: (last - reportAt) / 1000,
      decidedInTheFirstMinute: within60,
      reportsQueued: Number(queued.rows[0].n),
      tenantsWithAReport: Number(queued.rows[0].t),
      tenantsWithTwo: Number(twice.rows[0].n),
      workerCpuSeconds: cpuSeconds.map((s) => Math.round(s * 10) / 10),
    };
    emit(result);
    log(
      `daily, ${workers} worker(s): ${TENANTS} reports decided within ${result.decidedWithinSeconds.toFixed(1)} s of the report time (${within60} in the first minute); ` +
        `${result.reportsQueued} queued for ${result.tenantsWithAReport} tenants, ${result.tenantsWithTwo} tenants twice; worker CPU s ${cpuSeconds.map((s) => s.toFixed(1)).join(', ')}`,
    );
  } finally {
    await meter.close();
    await Promise.all(servers.map((s) => s.stop()));
    await sink.stop();
  }
}

async function main(): Promise<void> {
  releaseOnSignals();
  if (!PG_URL) throw new Error('bench:scheduler needs PostgreSQL: set TOCSIN_BENCH_PG_URL or TOCSIN_TEST_PG_URL');
  if (ONLY.has('queries')) await queriesStep();
  if (ONLY.has('idle')) await idleStep();
  if (ONLY.has('daily')) {
    await dailyStep(1);
    await releaseAll();
    await dailyStep(2);
  }
  log(`reproduce with: ${COMMAND}`);
}

try {
  await main();
} finally {
  await releaseAll();
}
