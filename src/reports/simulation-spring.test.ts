/**
 * R7 across the spring change: in 2030 Paris moves its clocks forward on 31 March, the night its
 * month ends, so the daily report ending that morning covers 23 hours and the summaries run over
 * the month end in the same night; Kolkata (UTC+05:30, no change) and New York (changed three
 * weeks before) run beside it. The scheduler restarts every few hours of the fake clock
 * (test/support/report-simulation.ts).
 */
import { describeReportSimulation } from '../../test/support/report-simulation.js';

describeReportSimulation({
  title: 'the spring change on a month end',
  start: '2030-03-30T00:00:00Z',
  end: '2030-04-01T12:00:00Z',
  tenants: [
    { name: 'paris', zone: 'Europe/Paris', dailyHours: [24, 23, 24] },
    { name: 'kolkata', zone: 'Asia/Kolkata', dailyHours: [24, 24, 24] },
    { name: 'newyork', zone: 'America/New_York', dailyHours: [24, 24] },
  ],
});
