import type { NewAlert } from '../../src/alerts/input.js';

/**
 * newAlert is an alert as ingest stores it, with what a test names (severity, component, event and
 * message at least) and nothing else: no data, source, folder or dedup key, occurred when stored.
 */
export function newAlert(parts: Pick<NewAlert, 'severity' | 'component' | 'event' | 'message'> & Partial<NewAlert>): NewAlert {
  return { data: null, source: null, folder: null, dedupKey: null, occurredAt: undefined, ...parts };
}
