import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * EVENT_LOOP_SAMPLE_MS is how often the event-loop lag series sample the loop. prom-client's
 * default, 10 ms, wakes every process 100 times a second: 5.5 CPU-ms a second in an otherwise
 * idle Node process against 1.0 at 100 ms (2026-11-30, load 10), a quarter of an idle worker's
 * CPU, paid once per process (twice with two workers). A stall long enough to matter still shows.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * GAUGES_NAMED_AS_COUNTERS are prom-client's default gauges whose names end in _total, which
 * Prometheus keeps for counters: `promtool check metrics` failed a scrape of /metrics on them. Each
 * is the sum of a gauge kept by type (tocsin_nodejs_active_handles{type}, …), so nothing is lost.
 */
const GAUGES_NAMED_AS_COUNTERS = ['handles', 'requests', 'resources'].map((what) => `tocsin_nodejs_active_${what}_total`);

/**
 * zeroedCounter is a counter of one label with each of its `values` listed at 0 from the start:
 * increase() and rate() miss the first increment of a series that appears with it.
 */
export function zeroedCounter<L extends string>(
  registry: Registry,
  series: { readonly name: string; readonly help: string; readonly label: L; readonly values: readonly string[] },
): Counter<L> {
  const counter = new Counter({ name: series.name, help: series.help, labelNames: [series.label] as const, registers: [registry] });
  for (const value of series.values) counter.inc({ [series.label]: value } as Partial<Record<L, string>>, 0);
  return counter;
}

/**
 * Metrics owns one Prometheus registry per process (not the library's global one, so that tests
 * can build many apps side by side); domains add their own series to `registry`.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'tocsin_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'tocsin_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route pattern and method.',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });

  /** text is what a scrape of /metrics answers: this registry, or every api process's (cluster-metrics.ts). */
  readonly text: () => Promise<string>;

  constructor(options: { defaultMetrics?: boolean; whole?: (registry: Registry) => () => Promise<string> } = {}) {
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'tocsin_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
      for (const name of GAUGES_NAMED_AS_COUNTERS) this.registry.removeSingleMetric(name);
    }
    this.text = options.whole ? options.whole(this.registry) : () => this.registry.metrics();
  }
}
