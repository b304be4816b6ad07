// Who is signed in, and the tenant the console is looking at.

/**
 * @typedef {object} Tenant A tenant as the API answers it (the fields the console reads).
 * @property {string} id
 * @property {string} name
 * @property {string} [displayName]
 * @property {string} [language]
 * @property {string} [timeZone]
 */

/**
 * @typedef {object} User A tenant's user as the API answers it (the fields the console reads).
 * @property {string} id
 * @property {string} email
 * @property {string} [name]
 * @property {string} [language]
 * @property {string} [timeZone]
 */

/**
 * @typedef {object} Session Who is signed in and the tenant in view: the host administrator (all
 * tenants, no user) or a tenant's user (its own tenant only).
 * @property {'host' | 'user'} kind
 * @property {string[]} permissions
 * @property {Tenant[]} tenants
 * @property {Tenant | null} tenant
 * @property {User | null} user
 */

/** @typedef {Session & { tenant: Tenant }} TenantSession A session with a tenant in view, as the tenant pages receive it. */

/**
 * can says whether the signed-in principal holds a permission (the host administrator holds all).
 * @param {Session} session
 * @param {string} permission
 */
export function can(session, permission) {
  return session.kind === 'host' || session.permissions.includes(permission);
}

/**
 * tenantApi is the API path of a tenant-scoped resource for the tenant in view.
 * @param {TenantSession} session
 * @param {string} rest
 */
export function tenantApi(session, rest) {
  return `tenants/${encodeURIComponent(session.tenant.id)}/${rest}`;
}

/** ALERTS_CHANGED is dispatched on window whenever the console marks alerts read or unread. */
export const ALERTS_CHANGED = 'tocsin:alerts-changed';

/** SEVERITIES is the severity ladder, least severe first. */
export const SEVERITIES = ['Info', 'Success', 'Warn', 'Error', 'Fatal'];

/** alertsChanged tells the bell (and any list) to refresh now rather than at the next poll. */
export function alertsChanged() {
  dispatchEvent(new Event(ALERTS_CHANGED));
}
