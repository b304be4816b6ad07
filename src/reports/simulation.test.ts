/**
 * R7, the digest scheduler over three days of a fake clock: two tenants (Paris and New York)
 * through New York's autumn change and a month end, the scheduler restarted every few hours, the
 * clock moving in uneven steps. No summary window is missed or decided twice, every Error alert
 * is mailed in exactly one summary, and each day has exactly one daily report
 * (test/support/report-simulation.ts; the spring change is in simulation-spring.test.ts).
 */
import { describeReportSimulation } from '../../test/support/report-simulation.js';

describeReportSimulation({
  title: 'three days of a fake clock',
  start: '2026-10-30T00:00:00Z',
  end: '2026-11-02T00:00:00Z',
  tenants: [
    { name: 'paris', zone: 'Europe/Paris', dailyHours: [24, 24, 24] },
    { name: 'newyork', zone: 'America/New_York', dailyHours: [24, 24, 25] },
  ],
});
