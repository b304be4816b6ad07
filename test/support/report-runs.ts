import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { ActionLinks } from '../../src/actions/links.js';
import { DeliveryWorker } from '../../src/delivery/outbox/worker.js';
import { createMailSender } from '../../src/delivery/smtp/sender.js';
import { reportComposers } from '../../src/reports/composers.js';
import { ReportScheduler } from '../../src/reports/scheduler.js';
import { UnsubscribeLinks } from '../../src/reports/unsubscribe/links.js';
import type { Tocsin } from '../../src/server.js';
import type { FakeClock } from '../../src/shared/clock.js';
import type { Db } from '../../src/storage/database.js';
import type { Dialect } from '../../src/storage/dialect.js';
import { type TestApp, startTestApp } from './http.js';
import { type TestSmtpServer, plainEndpointOf, startTestSmtpServer } from './smtp-servers.js';

/** ReportApp is the API alone on a fake clock, and the test SMTP server its reports are sent to. */
export interface ReportApp {
  readonly t: TestApp;
  readonly smtp: TestSmtpServer;
}

/**
 * useReportApp sets up the enclosing describe block of a report test: before its tests, a test SMTP
 * server and the API alone (TOCSIN_ROLE=api, no scheduler or delivery loop) on `clock`, for tests
 * that decide (decideReports) and send (sendQueuedReports) when they choose; after them, both closed.
 * The fields are set once the block's beforeAll has run: read them inside hooks and tests.
 */
export function useReportApp(dialect: Dialect, clock: FakeClock): ReportApp {
  const app: { t?: TestApp; smtp?: TestSmtpServer } = {};
  beforeAll(async () => {
    app.smtp = await startTestSmtpServer();
    app.t = await startTestApp(dialect, { TOCSIN_ROLE: 'api' }, { clock });
  });
  afterAll(async () => {
    await app.t?.close();
    await app.smtp?.close();
  });
  return app as ReportApp;
}

/**
 * decideReports runs one tick of a report scheduler over a test app's database at the fake clock's
 * time, every tenant on the defaults (alert emails on, a 10:00 daily report, no "all quiet"), for
 * tests that start the API alone (TOCSIN_ROLE=api) and decide when they choose.
 */
export async function decideReports(tocsin: Tocsin, clock: FakeClock, summaryIntervalMs: number): Promise<void> {
  await new ReportScheduler({
    storage: tocsin.deps.storage,
    clock,
    logger: pino({ level: 'silent' }),
    settingsOf: async () => ({ alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: false }),
    settings: { summaryIntervalMs },
  }).tick();
}

/**
 * sendQueuedReports sends the queued emails of a test app to a test SMTP server, rendered by the
 * report composers at the fake clock's time, until no email is left to claim; `withActions` gives
 * them the mute, snooze and acknowledge links the app's `/actions/` pages open.
 */
export async function sendQueuedReports(
  tocsin: Tocsin,
  clock: FakeClock,
  smtp: TestSmtpServer,
  { summaryIntervalMs, publicUrl, withActions = false }: { summaryIntervalMs: number; publicUrl: string; withActions?: boolean },
): Promise<void> {
  const db = tocsin.deps.storage.db;
  const sender = createMailSender({ maxConnections: 1 });
  const worker = new DeliveryWorker({
    storage: tocsin.deps.storage,
    clock,
    sender,
    resolveEndpoint: async () => plainEndpointOf(smtp),
    composers: reportComposers({
      db,
      publicUrl,
      summaryIntervalMs,
      unsubscribeLinks: new UnsubscribeLinks(db, publicUrl, clock),
      ...(withActions ? { actionLinks: new ActionLinks(tocsin.deps.secretBox, publicUrl, tocsin.deps.config.actionLinkMs, clock) } : {}),
    }),
  });
  try {
    while ((await worker.runOnce()) > 0);
  } finally {
    await sender.close();
  }
}

/**
 * reportComposersAt are the report composers of a test's database rendering at the fake clock's
 * time, their links under `publicUrl`: for tests that render a queued summary or daily report.
 */
export function reportComposersAt(db: Db, clock: FakeClock, summaryIntervalMs: number, publicUrl = 'https://tocsin.example.com') {
  return reportComposers({ db, publicUrl, summaryIntervalMs, unsubscribeLinks: new UnsubscribeLinks(db, publicUrl, clock), clock });
}

/**
 * dailyReportTimeAway is a daily report time (HH:MM) twelve hours from now in a zone, for tests
 * that run the real scheduler on the real clock and count the emails: at the default 10:00, a
 * test running across 10:00 there got a daily report it did not ask for.
 */
export function dailyReportTimeAway(timeZone: string): string {
  const at = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return at.format(Date.now() + 12 * 3_600_000);
}
