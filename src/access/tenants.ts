import { z } from 'zod';
import type { TenantRow } from '../http/context.js';
import { type HttpError, conflict, notFound } from '../http/problem.js';
import { DEFAULT_LANGUAGE } from '../i18n/languages.js';
import type { Clock } from '../shared/clock.js';
import { newId } from '../shared/ids.js';
import { acceptingAnswerFields, displayText, instantText, language, patchedValue, timeZone } from '../shared/validation.js';
import { DELETE_BATCH, deleteInBatches } from '../storage/batched-delete.js';
import type { Db } from '../storage/database.js';
import { lockTransactionOn, onPostgres } from '../storage/transaction-lock.js';
import { reportsDueNow } from '../reports/schedule.js';
import { dailyReportInstantMoved } from '../settings/mail-settings.js';
import { lockAccessChanges } from './access-changes.js';
import { BUILT_IN_ROLES } from './permissions.js';
import { RETENTION_DAYS } from './retention-days.js';

// Tenant ids are UUIDs (src/shared/ids.ts); `{tenant}` in a path may be either an id or a name.
const ID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** looksLikeTenantId tells whether a `{tenant}` path segment is shaped like an id rather than a name. */
export function looksLikeTenantId(ref: string): boolean {
  return ID_SHAPE.test(ref);
}

/**
 * tenantName is the unique, URL-safe name of a tenant. A name shaped like an id is refused, so
 * that `{tenant}` never names one tenant by its name and another by its id.
 */
const tenantName = z
  .string()
  .regex(/^[a-z0-9-]{1,63}$/, 'must be 1 to 63 lower-case letters, digits or hyphens')
  .refine((name) => !looksLikeTenantId(name), 'must not be shaped like a tenant id (a UUID)');

/** MAX_RETENTION_DAYS is the longest a tenant may keep its alerts (`retentionDays`). */
export const MAX_RETENTION_DAYS = RETENTION_DAYS.max;

/**
 * tenantInput is the body of POST /tenants. A field it does not know is refused, as in a patch: a
 * mistyped `timezone` would otherwise make a tenant on the default (UTC) without a word.
 */
export const tenantInput = z
  .object({
    name: tenantName,
    displayName: displayText.nullish(),
    timeZone: timeZone.nullish(),
    language: language.nullish(),
    retentionDays: z.number().int().min(RETENTION_DAYS.min).max(RETENTION_DAYS.max).nullish(),
  })
  .strict();

const DEFAULT_TIME_ZONE = 'UTC';

/**
 * tenantPatch is the body of PATCH /tenants/{tenant}: API.md's tenant fields, the name too (still
 * unique: 409); left out keeps, null puts back the default.
 */
export const tenantPatch = acceptingAnswerFields(tenantInput.partial(), ['id', 'createdAt']);

/** tenantView is a tenant as the API shows it. */
export const tenantView = z.object({
  id: z.string(),
  name: z.string(),
  displayName: z.string(),
  timeZone: z.string(),
  language: z.string(),
  retentionDays: z.number().int(),
  createdAt: instantText,
});

/** showTenant maps a row to the API's shape. */
export function showTenant(row: TenantRow): z.infer<typeof tenantView> {
  return {
    id: row.id,
    name: row.name,
    displayName: row.display_name,
    timeZone: row.time_zone,
    language: row.language,
    retentionDays: row.retention_days,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

/** assertNameFree refuses (409) a name another tenant has. */
async function assertNameFree(db: Db, name: string): Promise<void> {
  const taken = await db.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirst();
  if (taken) throw tenantNameTaken(name);
}

/** tenantNameTaken is the 409 for a name another tenant has. */
export function tenantNameTaken(name: string): HttpError {
  return conflict(`A tenant named "${name}" already exists.`, 'name');
}

/** createTenant stores a tenant with its built-in roles, in one transaction. */
export async function createTenant(db: Db, input: z.infer<typeof tenantInput>, clock: Clock): Promise<TenantRow> {
  await assertNameFree(db, input.name);
  const row: TenantRow = {
    id: newId(),
    name: input.name,
    display_name: input.displayName ?? input.name,
    time_zone: input.timeZone ?? DEFAULT_TIME_ZONE,
    language: input.language ?? DEFAULT_LANGUAGE,
    retention_days: input.retentionDays ?? RETENTION_DAYS.default,
    created_at: clock.now(),
  };
  await db.transaction().execute(async (tx) => {
    await tx.insertInto('tenants').values(row).execute();
    await reportsDueNow(tx, row.id);
    await tx
      .insertInto('roles')
      .values(
        Object.entries(BUILT_IN_ROLES).map(([name, permissions]) => ({
          id: newId(),
          tenant_id: row.id,
          name,
          permissions: JSON.stringify(permissions),
          built_in: 1,
        })),
      )
      .execute();
  });
  return row;
}

/**
 * updateTenant applies a patch: fields left out keep their value, null ones take the default a new
 * tenant gets. A new name is one no other tenant has (409); the old name then finds nothing, the id
 * still finds the tenant, and everything it owns is tied to the id. The row is read again under the
 * tenant's lock, not taken from the request: two PATCHes at once, each of one field, keep both.
 */
export async function updateTenant(db: Db, tenant: TenantRow, patch: z.infer<typeof tenantPatch>, clock: Clock): Promise<TenantRow> {
  const [before, next] = await db.transaction().execute(async (tx) => {
    await lockTransactionOn(tx, `tenant:${tenant.id}`);
    const current = await tx.selectFrom('tenants').selectAll().where('id', '=', tenant.id).executeTakeFirst();
    if (!current) throw notFound('Tenant');
    if (patch.name !== undefined && patch.name !== current.name) await assertNameFree(tx, patch.name);
    const patched: TenantRow = {
      ...current,
      name: patch.name ?? current.name,
      // A display name that is the name (the default) follows a new name.
      display_name: patchedValue(
        patch.displayName,
        current.display_name === current.name ? (patch.name ?? current.name) : current.display_name,
        patch.name ?? current.name,
      ),
      time_zone: patchedValue(patch.timeZone, current.time_zone, DEFAULT_TIME_ZONE),
      language: patchedValue(patch.language, current.language, DEFAULT_LANGUAGE),
      retention_days: patchedValue(patch.retentionDays, current.retention_days, RETENTION_DAYS.default),
    };
    await tx
      .updateTable('tenants')
      .set({
        name: patched.name,
        display_name: patched.display_name,
        time_zone: patched.time_zone,
        language: patched.language,
        retention_days: patched.retention_days,
      })
      .where('id', '=', tenant.id)
      .execute();
    // The report time is a wall-clock time of the zone: a new zone moves its instants as a new time would.
    if (patched.time_zone !== current.time_zone) await dailyReportInstantMoved(tx, tenant.id, clock.now());
    return [current, patched] as const;
  });
  // The report times are wall-clock times of the tenant's zone.
  if (next.time_zone !== before.time_zone) await reportsDueNow(db, tenant.id);
  return next;
}

/**
 * deleteTenant removes a tenant with everything it owns. Most of it goes by the foreign keys'
 * cascade; its alerts are deleted here (in batches first, with its emails, then those stored meanwhile in the same transaction), since on PostgreSQL no foreign key
 * ties them to the tenant (the insert checks the tenant once per batch: alerts/store.ts). The tenant
 * row goes first: that waits for any insert holding it (FOR KEY SHARE) to commit, and an insert
 * that comes later finds no tenant, so the alerts' delete, a statement of its own, sees them all.
 * False when there was no tenant left to delete (a request at the same time deleted it first).
 */
export async function deleteTenant(db: Db, tenantId: string, batchSize = DELETE_BATCH): Promise<boolean> {
  // Its alerts and emails (with their attempts) first, oldest first, `batchSize` a statement: a year
  // of alerts went in the transaction below (300,000 on SQLite held the write lock, and blocked the
  // process, for 6.3 s), the emails by its cascade. Those stored meanwhile go with the tenant.
  for (const table of ['alerts', 'deliveries'] as const) {
    await deleteInBatches(batchSize, () =>
      db
        .deleteFrom(table)
        .where('id', 'in', (eb) => eb.selectFrom(table).select('id').where('tenant_id', '=', tenantId).orderBy('created_at').limit(batchSize))
        .executeTakeFirst(),
    );
  }
  return db.transaction().execute(async (tx) => {
    // The tenant's lock on access changes before any row, as every change of its users, groups and
    // roles takes it first: a user's deletion under way (its memberships deleted, its row not yet)
    // and this one, which locks the users and then deletes those memberships, each waited on the
    // other on PostgreSQL (a 503), as DELETE /users/{id} beside DELETE /tenants/{tenant}.
    await lockAccessChanges(tx, tenantId, undefined);
    // Who holds which role and belongs to which group goes first, as deleteUser and deleteGroup
    // take them: a PATCH replacing a user's roles or a group's members deletes those rows, then
    // writes them again (locking the keys they name), and the tenant's cascade (its users and
    // groups, then their rows) deadlocked with it on PostgreSQL (a 503).
    const users = tx.selectFrom('users').select('id').where('tenant_id', '=', tenantId);
    const groups = tx.selectFrom('groups').select('id').where('tenant_id', '=', tenantId);
    // Their users' and groups' rows before those rows, as a PATCH takes a user's (updateUser writes
    // it, then its roles) or a group's it renames: the rows first, the deletion waited on that user or
    // group while the PATCH waited on the rows it had taken. FOR NO KEY UPDATE lets a PATCH of a
    // group's members alone lock their keys (FOR KEY SHARE) as it writes them again meanwhile.
    if (onPostgres(tx)) {
      await users.orderBy('id').forNoKeyUpdate().execute();
      await groups.orderBy('id').forNoKeyUpdate().execute();
    }
    await tx.deleteFrom('group_members').where('group_id', 'in', groups).execute();
    await tx.deleteFrom('group_roles').where('group_id', 'in', groups).execute();
    await tx.deleteFrom('user_roles').where('user_id', 'in', users).execute();
    const deleted = await tx.deleteFrom('tenants').where('id', '=', tenantId).executeTakeFirst();
    await tx.deleteFrom('alerts').where('tenant_id', '=', tenantId).execute();
    await tx.deleteFrom('alert_kind_hours').where('tenant_id', '=', tenantId).execute();
    return Number(deleted.numDeletedRows) > 0;
  });
}
