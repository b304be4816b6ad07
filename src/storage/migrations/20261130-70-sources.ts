import type { Kysely } from 'kysely';
import { columnType } from '../dialect.js';

const SOURCE_PERMISSIONS = ['Sources.View', 'Sources.Edit'];

/**
 * Inbound sources (issue 10): each tenant's named channels, their sealed secrets (two active, for
 * rotation), the last receptions of each, and the delivery keys that make a redelivered event a
 * no-op answered with the same alert ids. Existing tenants' built-in Administrator role gains the
 * two new permissions, as new tenants' role gets them from BUILT_IN_ROLES.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sources')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('enabled', columnType.flag, (c) => c.notNull())
    .addColumn('mapping', columnType.json, (c) => c.notNull())
    .addColumn('pull', columnType.json)
    .addColumn('pull_password', 'text')
    .addColumn('pull_client_secret', 'text')
    .addColumn('pull_state', columnType.json)
    .addColumn('last_received_at', columnType.time)
    .addColumn('accepted', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('rejected', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('receptions', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('last_error_at', columnType.time)
    .addColumn('created_at', columnType.time, (c) => c.notNull())
    .addColumn('updated_at', columnType.time, (c) => c.notNull())
    .addUniqueConstraint('sources_tenant_name', ['tenant_id', 'name'])
    .execute();

  await db.schema
    .createTable('source_secrets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('source_id', 'text', (c) => c.notNull().references('sources.id').onDelete('cascade'))
    .addColumn('sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', columnType.time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('source_secrets_source').on('source_secrets').column('source_id').execute();

  await db.schema
    .createTable('source_receptions')
    .addColumn('source_id', 'text', (c) => c.notNull().references('sources.id').onDelete('cascade'))
    .addColumn('slot', 'integer', (c) => c.notNull())
    .addColumn('received_at', columnType.time, (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('alert_ids', columnType.json, (c) => c.notNull())
    .addColumn('error', 'text')
    .addPrimaryKeyConstraint('source_receptions_pk', ['source_id', 'slot'])
    .execute();

  await db.schema
    .createTable('source_deliveries')
    .addColumn('source_id', 'text', (c) => c.notNull().references('sources.id').onDelete('cascade'))
    .addColumn('delivery_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('alert_ids', columnType.json, (c) => c.notNull())
    .addColumn('received_at', columnType.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('source_deliveries_pk', ['source_id', 'delivery_id'])
    .execute();
  await db.schema.createIndex('source_deliveries_received').on('source_deliveries').column('received_at').execute();

  await grantSourcePermissions(db);
}

/** grantSourcePermissions adds Sources.View and Sources.Edit to every built-in Administrator role lacking them. */
export async function grantSourcePermissions(db: Kysely<any>): Promise<void> {
  const admins = await db.selectFrom('roles').select(['id', 'permissions']).where('built_in', '=', 1).where('name', '=', 'Administrator').execute();
  for (const role of admins) {
    const permissions = JSON.parse(role.permissions as string) as string[];
    const missing = SOURCE_PERMISSIONS.filter((p) => !permissions.includes(p));
    if (missing.length === 0) continue;
    await db
      .updateTable('roles')
      .set({ permissions: JSON.stringify([...permissions, ...missing]) })
      .where('id', '=', role.id)
      .execute();
  }
}
