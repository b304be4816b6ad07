import type { Severity } from '../../alerts/severity.js';
import { SOURCE_FILTER_PARTS, type SourceFilterPart } from '../../alerts/source-parts.js';

/**
 * httpUrl is the one gate of every link in an email: an absolute http(s) URL comes back
 * normalised (spaces and angle brackets percent-encoded, so it is also safe in a header); any
 * other scheme (`javascript:`, `data:`, `mailto:`…) or a malformed URL comes back undefined, and
 * the email then shows no link rather than a dangerous one.
 */
export function httpUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
}

/** AlertListFilter is the console alert list's filter, as `GET /alerts` takes it. */
export interface AlertListFilter {
  readonly tenant: string;
  /** That severity and above. */
  readonly severity?: Severity | undefined;
  readonly component?: string | undefined;
  readonly event?: string | undefined;
  readonly since?: number | undefined;
  readonly until?: number | undefined;
  /** The process, robot or queue of the alerts' source (an email's group of what failed). */
  readonly source?: { readonly [K in SourceFilterPart]?: string | undefined } | undefined;
}

/** alertListUrl is the console's alert list with a filter: the "See more" and "View all alerts" links. */
export function alertListUrl(publicUrl: string, filter: AlertListFilter): string {
  const query = new URLSearchParams({ tenant: filter.tenant });
  if (filter.severity) query.set('severity', filter.severity);
  if (filter.component) query.set('component', filter.component);
  if (filter.event) query.set('event', filter.event);
  for (const part of SOURCE_FILTER_PARTS) {
    const value = filter.source?.[part];
    if (value) query.set(part, value);
  }
  if (filter.since !== undefined) query.set('since', new Date(filter.since).toISOString());
  if (filter.until !== undefined) query.set('until', new Date(filter.until).toISOString());
  return consoleUrl(publicUrl, 'alerts', query);
}

/**
 * preferencesUrl is the console's alert preferences page of a tenant: the reader's own, or for a
 * group mailbox the group's, whose rules decide what that mailbox gets.
 */
export function preferencesUrl(publicUrl: string, tenant: string, groupId?: string): string {
  return consoleUrl(publicUrl, groupId ? `preferences/group/${encodeURIComponent(groupId)}` : 'preferences', new URLSearchParams({ tenant }));
}

/** mailSettingsUrl is the console's Settings > Mail page of a tenant. */
export function mailSettingsUrl(publicUrl: string, tenant: string): string {
  return consoleUrl(publicUrl, 'settings/mail', new URLSearchParams({ tenant }));
}

// The console routes in the URL fragment (`#/alerts?…`); the tenant goes along for a console
// signed in elsewhere.
function consoleUrl(publicUrl: string, route: string, query: URLSearchParams): string {
  return `${publicUrl.replace(/\/+$/, '')}/#/${route}?${query}`;
}
