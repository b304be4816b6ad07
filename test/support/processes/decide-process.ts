/**
 * decide-process is a report scheduler in a process of its own, for the kill -9 test: with the
 * clock at NOW it says `deciding` on stderr, decides what is due in DATABASE_URL once, says
 * `decided`, and then hangs as a process would between deciding and sending, until it is killed.
 */
import pino from 'pino';
import { FakeClock } from '../../../src/shared/clock.js';
import { openStorage } from '../../../src/storage/storage.js';
import { ReportScheduler } from '../../../src/reports/scheduler.js';

const storage = await openStorage(process.env.DATABASE_URL!, { poolSize: 2 });
const scheduler = new ReportScheduler({
  storage,
  clock: new FakeClock(Number(process.env.NOW)),
  logger: pino({ level: 'warn' }, pino.destination(2)),
  settingsOf: async () => ({ alertsEmailEnabled: true, dailyReportTime: '10:00', sendEmptyDailyReport: false }),
  settings: { summaryIntervalMs: Number(process.env.INTERVAL_MS) },
});
process.stderr.write('deciding\n');
await scheduler.tick();
process.stderr.write('decided\n');
setInterval(() => {}, 60_000);
