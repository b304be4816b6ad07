import { api } from './api.js';
import { tenantApi } from './session.js';

/**
 * normalizeCatalogue reads the alerts catalogue in the shapes the API may give it: components
 * with their events, or a flat list of events naming their component.
 */
export function normalizeCatalogue(data) {
  const list = Array.isArray(data) ? data : (data?.components ?? data?.items ?? []);
  const components = new Map();
  const add = (name, displayName) => {
    if (!components.has(name)) components.set(name, { name, displayName: displayName ?? name, events: [] });
    return components.get(name);
  };
  for (const entry of list) {
    if (typeof entry === 'string') add(entry);
    else if (Array.isArray(entry.events)) {
      const component = add(entry.name ?? entry.component, entry.displayName);
      for (const event of entry.events) {
        component.events.push(
          typeof event === 'string' ? { name: event } : { name: event.name ?? event.event, severity: event.severity ?? event.defaultSeverity },
        );
      }
    } else if (entry.component) {
      add(entry.component).events.push({ name: entry.event ?? entry.name, severity: entry.severity ?? entry.defaultSeverity });
    }
  }
  return [...components.values()].filter((component) => component.name);
}

/** loadCatalogue fetches the tenant's alerts catalogue; an empty list when the API has none. */
export async function loadCatalogue(session) {
  try {
    return normalizeCatalogue(await api('GET', tenantApi(session, 'alerts/catalogue')));
  } catch {
    return [];
  }
}
