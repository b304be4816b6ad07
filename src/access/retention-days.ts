/**
 * RETENTION_DAYS is how many days a tenant may keep its alerts and their emails (`retentionDays`):
 * the API's range and the default a tenant gets when none is given, which the console's tenant
 * form shows (served to it as `tocsin/retention`).
 */
export const RETENTION_DAYS = { min: 1, max: 3650, default: 30 } as const;
