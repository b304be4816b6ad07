import { Counter, Histogram, type Registry } from 'prom-client';

/** ReportMetrics count the windows decided and the mail queued, and how late each decision was. */
export class ReportMetrics {
  readonly windowsDecided: Counter<'kind'>;
  readonly deliveriesQueued: Counter<'kind'>;
  readonly lateness: Histogram<'kind'>;

  constructor(registry: Registry) {
    this.windowsDecided = new Counter({
      name: 'tocsin_report_windows_decided_total',
      help: 'Summary and daily windows decided by this process (a window lost to another instance is not counted).',
      labelNames: ['kind'] as const,
      registers: [registry],
    });
    this.deliveriesQueued = new Counter({
      name: 'tocsin_report_deliveries_queued_total',
      help: 'Alert emails queued by the report scheduler, by kind.',
      labelNames: ['kind'] as const,
      registers: [registry],
    });
    this.lateness = new Histogram({
      name: 'tocsin_report_decision_lateness_seconds',
      help: 'Time from the end of a window to its decision (the summary is due within 5 s of its end).',
      labelNames: ['kind'] as const,
      buckets: [0.5, 1, 2, 3, 5, 10, 30, 60, 600],
      registers: [registry],
    });
    // Listed at 0 from the start: increase() and rate() miss the first increment of a series that appears with it.
    for (const kind of ['summary', 'daily']) {
      this.windowsDecided.inc({ kind }, 0);
      this.deliveriesQueued.inc({ kind }, 0);
    }
  }

  /** decided records one window this process decided, with the deliveries it queued. */
  decided(kind: 'summary' | 'daily', windowEnd: number, now: number, queued: number): void {
    this.windowsDecided.inc({ kind });
    this.deliveriesQueued.inc({ kind }, queued);
    this.lateness.observe({ kind }, Math.max(0, now - windowEnd) / 1000);
  }
}
