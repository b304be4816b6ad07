import { type Counter, Histogram, type Registry } from 'prom-client';
import { zeroedCounter } from '../ops/metrics.js';

/** The kinds of report window, each listed at 0 from the start. */
const KINDS = ['summary', 'daily'];

/** ReportMetrics count the windows decided and the mail queued, and how late each decision was. */
export class ReportMetrics {
  readonly windowsDecided: Counter<'kind'>;
  readonly deliveriesQueued: Counter<'kind'>;
  readonly lateness: Histogram<'kind'>;

  constructor(registry: Registry) {
    this.windowsDecided = zeroedCounter(registry, {
      name: 'tocsin_report_windows_decided_total',
      help: 'Summary and daily windows decided by this process (a window lost to another instance is not counted).',
      label: 'kind',
      values: KINDS,
    });
    this.deliveriesQueued = zeroedCounter(registry, {
      name: 'tocsin_report_deliveries_queued_total',
      help: 'Alert emails queued by the report scheduler, by kind.',
      label: 'kind',
      values: KINDS,
    });
    this.lateness = new Histogram({
      name: 'tocsin_report_decision_lateness_seconds',
      help: 'Time from the end of a window to its decision (the summary is due within 5 s of its end).',
      labelNames: ['kind'] as const,
      buckets: [0.5, 1, 2, 3, 5, 10, 30, 60, 600],
      registers: [registry],
    });
  }

  /** decided records one window this process decided, with the deliveries it queued. */
  decided(kind: 'summary' | 'daily', windowEnd: number, now: number, queued: number): void {
    this.windowsDecided.inc({ kind });
    this.deliveriesQueued.inc({ kind }, queued);
    this.lateness.observe({ kind }, Math.max(0, now - windowEnd) / 1000);
  }
}
