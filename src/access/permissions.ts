/** Every permission a role can grant, as named in the API. */
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
] as const;

/** Permission is one of PERMISSIONS. */
export type Permission = (typeof PERMISSIONS)[number];

/** BUILT_IN_ROLES are created in every tenant and cannot be changed or removed. */
export const BUILT_IN_ROLES: Readonly<Record<string, readonly Permission[]>> = Object.freeze({
  Administrator: PERMISSIONS,
  'Alerts Viewer': ['Alerts.View'],
  Robot: ['Alerts.View', 'Alerts.Create', 'Alerts.Edit'],
});

/** isPermission tells whether a string names a permission. */
export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

/** listedInOrder lists held permissions in API.md's order (that of PERMISSIONS and the built-in roles), so answers list them alike. */
export function listedInOrder(held: ReadonlySet<Permission>): Permission[] {
  return PERMISSIONS.filter((permission) => held.has(permission));
}
