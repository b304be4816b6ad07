// Who is signed in, and the tenant the console is looking at.

/** can says whether the signed-in principal holds a permission (the host administrator holds all). */
export function can(session, permission) {
  return session.kind === 'host' || session.permissions.includes(permission);
}

/** tenantApi is the API path of a tenant-scoped resource for the tenant in view. */
export function tenantApi(session, rest) {
  return `tenants/${encodeURIComponent(session.tenant.id)}/${rest}`;
}

/** ALERTS_CHANGED is dispatched on window whenever the console marks alerts read or unread. */
export const ALERTS_CHANGED = 'tocsin:alerts-changed';

/** SEVERITIES is the severity ladder, least severe first. */
export const SEVERITIES = ['Info', 'Success', 'Warn', 'Error', 'Fatal'];

/** PERMISSIONS are every permission a role can grant. */
export const PERMISSIONS = [
  'Alerts.View',
  'Alerts.Create',
  'Alerts.Edit',
  'Alerts.Delete',
  'Settings.View',
  'Settings.Edit',
  'Users.View',
  'Users.Edit',
  'Sources.View',
  'Sources.Edit',
];

/** alertsChanged tells the bell (and any list) to refresh now rather than at the next poll. */
export function alertsChanged() {
  dispatchEvent(new Event(ALERTS_CHANGED));
}
