import { Counter } from 'prom-client';
import type { AppDeps } from '../http/context.js';
import type { NewAlert } from './input.js';
import { floodWindowMs } from './settings.js';
import { insertAlerts } from './store.js';

/** AlertIngest stores validated alerts for one running app and counts them for /metrics. */
export interface AlertIngest {
  /** raise stores alerts durably and returns their ids once committed. */
  raise(tenantId: string, alerts: readonly NewAlert[]): Promise<string[]>;
}

const ingests = new WeakMap<AppDeps, AlertIngest>();

/**
 * ingestFor returns the app's one AlertIngest (the REST and the Orchestrator routes share it, and
 * with it the metric series, which a registry accepts only once).
 */
export function ingestFor(deps: AppDeps): AlertIngest {
  let ingest = ingests.get(deps);
  if (!ingest) {
    const windowMs = floodWindowMs();
    const stored = new Counter({
      name: 'tocsin_alerts_stored_total',
      help: 'Alerts durably stored, by severity.',
      labelNames: ['severity'] as const,
      registers: [deps.metrics.registry],
    });
    ingest = {
      async raise(tenantId, alerts) {
        const ids = await insertAlerts(deps.storage.db, tenantId, alerts, deps.clock.now(), windowMs);
        for (const a of alerts) stored.inc({ severity: a.severity });
        return ids;
      },
    };
    ingests.set(deps, ingest);
  }
  return ingest;
}
