/**
 * bench:reports — the alert emails of a big tenant: N subscribed users (10,000 by default) and
 * 100,000 alerts in the day. It times deciding and queueing the daily reports (one transaction),
 * rendering them (a sample, extrapolated), and building one 10-minute summary window of 1,000
 * alerts; it reports peak RSS. Run without arguments it runs itself once per size (1,000, 10,000
 * and 50,000 users), each in a fresh process, to show memory stays flat in the number of users.
 *
 *   npm run bench:reports                       # SQLite in a temp dir, three sizes
 *   BENCH_USERS=10000 npm run bench:reports      # one size
 *   npm run build && BENCH_USERS=10000 npm run bench:reports -- --built
 *   BENCH_PG_URL=postgres://tocsin:tocsin@127.0.0.1:5432/postgres npm run bench:reports
 *
 * The process sizes its heap as a worker does (src/cli/heap.ts: the role whose scheduler decides
 * the reports), before Tocsin's modules load. `--built` loads those modules from the compiled
 * dist/ that `npm start` runs (the emails' HTML precompiled by the build) instead of src/ through
 * tsx, where the first render compiles the emails with MJML in the process: at the start, about
 * 130 MB of RSS against 185 (tsx's loader thread stays for the benchmark's own TypeScript).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NewAlert } from '../src/alerts/input.js';
import type { ReportTenant } from '../src/reports/decision-transactions.js';

const BUILT = process.argv.includes('--built');
/** tocsin imports one of Tocsin's modules, from dist/ with --built, else from src/ (the types are src/'s either way). */
const tocsin = (module: string) => import(new URL(`../${BUILT ? 'dist' : 'src'}/${module}.js`, import.meta.url).href);
const heap = (await tocsin('cli/heap')) as typeof import('../src/cli/heap.js');
// Before the other modules load, as `tocsin serve` does: loading them would grow the young generation for good.
heap.holdYoungGeneration();
heap.servingHeap('worker', false);
const { createTenant } = (await tocsin('access/tenants')) as typeof import('../src/access/tenants.js');
const { insertAlerts } = (await tocsin('alerts/store')) as typeof import('../src/alerts/store.js');
const { toDelivery } = (await tocsin('delivery/outbox/delivery')) as typeof import('../src/delivery/outbox/delivery.js');
const { reportComposers } = (await tocsin('reports/composers')) as typeof import('../src/reports/composers.js');
const { decideWindow } = (await tocsin('reports/decision-transactions')) as typeof import('../src/reports/decision-transactions.js');
const { UnsubscribeLinks } = (await tocsin('reports/unsubscribe/links')) as typeof import('../src/reports/unsubscribe/links.js');
const { FakeClock } = (await tocsin('shared/clock')) as typeof import('../src/shared/clock.js');
const { newId } = (await tocsin('shared/ids')) as typeof import('../src/shared/ids.js');
const { migrate } = (await tocsin('storage/migrate')) as typeof import('../src/storage/migrate.js');
const { openStorage } = (await tocsin('storage/storage')) as typeof import('../src/storage/storage.js');

const SIZES = [1_000, 10_000, 50_000];
const ALERTS_PER_DAY = Number(process.env.BENCH_ALERTS ?? 100_000);
const WINDOW_ALERTS = 1_000;
const RENDER_SAMPLE = 200;
const INTERVAL = 600_000;
const DAY_END = Date.parse('2026-11-27T09:00:00Z'); // 10:00 in Paris
const DAY_START = DAY_END - 24 * 3_600_000;

const EVENTS = [
  { severity: 'Error', component: 'Jobs', event: 'Process.JobExecution.Faulted' },
  { severity: 'Fatal', component: 'Robots', event: 'Robot.StatusChanged.Offline' },
  { severity: 'Warn', component: 'Transactions', event: 'Queue.TransactionStatus.FailedWithBusinessException' },
  { severity: 'Info', component: 'Robots', event: 'Robot.StatusChanged.Available' },
  { severity: 'Error', component: 'Queues', event: 'Queue.Sla.Breached' },
] as const;

function alert(i: number, severity?: 'Error'): NewAlert {
  const e = EVENTS[i % EVENTS.length]!;
  return {
    severity: severity ?? e.severity,
    component: e.component,
    event: e.event,
    message: `Process Invoice-${i % 97} failed on robot R${i % 13}: timeout after 30 s`,
    data: null,
    source: JSON.stringify({ process: `Invoice-${i % 97}`, robot: `R${i % 13}` }),
    folder: 'Finance',
    // A third of the alerts repeat one of 50 keys, so summaries collapse them into "×N" lines.
    dedupKey: i % 3 === 0 ? `job-${i % 50}` : null,
    occurredAt: undefined,
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** peakRss samples the resident set while `work` runs, since maxRSS covers the whole process. */
async function measured<T>(work: () => Promise<T>): Promise<{ result: T; ms: number; peakRss: number; peakHeap: number }> {
  let peak = process.memoryUsage.rss();
  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 20);
  const started = performance.now();
  try {
    const result = await work();
    return { result, ms: performance.now() - started, peakRss: Math.max(peak, process.memoryUsage.rss()), peakHeap };
  } finally {
    clearInterval(sampler);
  }
}

async function runOnce(users: number): Promise<void> {
  const dialect = process.env.BENCH_PG_URL ? 'postgres' : 'sqlite';
  if (process.env.BENCH_PG_URL) process.env.TOCSIN_BENCH_PG_URL = process.env.BENCH_PG_URL;
  // Imported only now: the module reads TOCSIN_BENCH_PG_URL when it loads. (Not test/support's
  // helpers: they load vitest and src/'s storage modules into the process whose memory is measured.)
  const { postgresDatabase, releaseAll, tempDir } = await import('./lifecycle.js');
  const url = dialect === 'postgres' ? await postgresDatabase() : `sqlite:${path.join(tempDir('reports'), 'tocsin.db')}`;
  const storage = await openStorage(url);
  try {
    await migrate(storage);
    const db = storage.db;
    const clock = new FakeClock(DAY_START - 60_000);
    const tenantRow = await createTenant(db, { name: 'bench', timeZone: 'Europe/Paris' }, clock);
    const tenant: ReportTenant = { id: tenantRow.id, name: tenantRow.name, language: 'en', timeZone: 'Europe/Paris', createdAt: tenantRow.created_at };
    const viewer = await db.selectFrom('roles').select('id').where('tenant_id', '=', tenant.id).where('name', '=', 'Alerts Viewer').executeTakeFirstOrThrow();

    const setupStarted = performance.now();
    const languages = ['en', 'fr', 'de', 'es', 'ja'];
    for (let i = 0; i < users; i += 500) {
      const rows = Array.from({ length: Math.min(500, users - i) }, (_, j) => {
        const n = i + j;
        return {
          id: newId(),
          tenant_id: tenant.id,
          email: `user${n}@example.com`,
          email_key: `user${n}@example.com`,
          name: `User ${n}`,
          language: languages[n % languages.length]!,
          time_zone: n % 2 ? 'America/New_York' : null,
          active: 1,
          password_hash: null,
          created_at: clock.now(),
          updated_at: clock.now(),
        };
      });
      await db.transaction().execute(async (tx) => {
        await tx.insertInto('users').values(rows).execute();
        await tx
          .insertInto('user_roles')
          .values(rows.map((r) => ({ user_id: r.id, role_id: viewer.id })))
          .execute();
      });
    }
    // 100,000 alerts over the day in batches of 1,000, the window of the summary holding 1,000 Errors.
    const windowStart = DAY_END - 2 * INTERVAL;
    const batches = ALERTS_PER_DAY / 1_000;
    for (let b = 0; b < batches; b++) {
      const inWindow = b === batches - 1;
      const at = inWindow ? windowStart + 60_000 : DAY_START + Math.floor((b * (windowStart - DAY_START)) / batches);
      await insertAlerts(
        db,
        tenant.id,
        Array.from({ length: 1_000 }, (_, i) => alert(b * 1_000 + i, inWindow ? 'Error' : undefined)),
        at,
      );
    }
    const setupMs = performance.now() - setupStarted;

    const settings = { alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: false };
    clock.set(DAY_END + 1_000);
    const baseline = process.memoryUsage.rss();
    const baselineHeap = process.memoryUsage().heapUsed;
    const daily = await measured(() => decideWindow(storage, tenant, 'daily', { start: DAY_START, end: DAY_END }, settings, clock));

    const links = new UnsubscribeLinks(db, 'https://tocsin.example.com', clock);
    const composers = reportComposers({ db, publicUrl: 'https://tocsin.example.com', summaryIntervalMs: INTERVAL, unsubscribeLinks: links });
    const sample = await db.selectFrom('deliveries').selectAll().where('kind', '=', 'daily').limit(RENDER_SAMPLE).execute();
    const render = await measured(async () => {
      for (const row of sample) await composers.daily!(toDelivery(row));
    });

    const window = { start: windowStart, end: windowStart + INTERVAL };
    const summary = await measured(() => decideWindow(storage, tenant, 'summary', window, settings, clock));
    const summaryRows = await db.selectFrom('deliveries').selectAll().where('kind', '=', 'summary').limit(RENDER_SAMPLE).execute();
    const oneSummary = await measured(() => composers.summary!(toDelivery(summaryRows[0]!)));
    const moreSummaries = await measured(async () => {
      for (const row of summaryRows.slice(1)) await composers.summary!(toDelivery(row));
    });

    const perEmail = render.ms / sample.length;
    const figures = {
      users,
      dialect,
      modules: BUILT ? 'dist' : 'src',
      alerts: ALERTS_PER_DAY,
      setup: seconds(setupMs),
      dailyDecideAndQueue: `${seconds(daily.ms)} for ${daily.result} deliveries`,
      dailyRender: `${perEmail.toFixed(1)} ms per email → ${seconds(perEmail * (daily.result ?? 0))} for all (sample of ${sample.length})`,
      summaryWindowDecideAndQueue: `${seconds(summary.ms)} for ${summary.result} deliveries (window of ${WINDOW_ALERTS} Error alerts)`,
      summaryRenderFirst: `${oneSummary.ms.toFixed(0)} ms (reads the window; ${oneSummary.result.html.length} bytes of HTML)`,
      summaryRenderNext: `${(moreSummaries.ms / Math.max(1, summaryRows.length - 1)).toFixed(1)} ms per email`,
      rssBeforeDecide: mb(baseline),
      peakRssWhileDeciding: mb(daily.peakRss),
      peakRssGrowthWhileDeciding: mb(daily.peakRss - baseline),
      peakHeapGrowthWhileDeciding: mb(daily.peakHeap - baselineHeap),
      maxRssOfProcess: mb(process.resourceUsage().maxRSS * 1024),
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await storage.close();
    await releaseAll();
  }
}

if (process.env.BENCH_USERS) {
  await runOnce(Number(process.env.BENCH_USERS));
} else {
  const self = fileURLToPath(import.meta.url);
  const rows = [];
  for (const users of SIZES) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', self, ...(BUILT ? ['--built'] : [])], {
      env: { ...process.env, BENCH_USERS: String(users) },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (run.status !== 0) throw new Error(`the run with ${users} users failed`);
    rows.push(JSON.parse(run.stdout.trim().split('\n').pop()!));
  }
  console.table(rows);
}
