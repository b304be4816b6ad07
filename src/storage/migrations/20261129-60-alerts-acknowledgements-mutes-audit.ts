import type { Kysely } from 'kysely';
import { columnType } from '../dialect.js';

/**
 * Acting on alerts (issue 13): acknowledgements of whole floods, mutes and snoozes of matching
 * alerts' emails, and the audit list of both, whether done through the API or an email's link.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // One row per flood (group id, which is the alert's own id for a lone alert): a flood is
  // acknowledged together, and alerts joining it later are covered too. The name is copied so that
  // the acknowledgement still reads "by NAME" after the user is removed.
  await db.schema
    .createTable('alert_acknowledgements')
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('group_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('user_name', 'text', (c) => c.notNull())
    .addColumn('acknowledged_at', columnType.time, (c) => c.notNull())
    .addPrimaryKeyConstraint('alert_acknowledgements_pk', ['tenant_id', 'group_id'])
    .execute();

  // A lifted mute keeps its row (lifted_at set), so the audit list can still say what it was.
  await db.schema
    .createTable('alert_mutes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('scope', 'text', (c) => c.notNull())
    // The snoozing user for a `user` mute; null for a `tenant` mute.
    .addColumn('owner_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('match', columnType.json, (c) => c.notNull())
    .addColumn('until', columnType.time, (c) => c.notNull())
    .addColumn('created_by_id', 'text', (c) => c.notNull())
    .addColumn('created_by_name', 'text', (c) => c.notNull())
    .addColumn('created_at', columnType.time, (c) => c.notNull())
    .addColumn('lifted_at', columnType.time)
    .execute();
  await db.schema.createIndex('alert_mutes_tenant_until').on('alert_mutes').columns(['tenant_id', 'until']).execute();

  await db.schema
    .createTable('alert_action_audit')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('user_name', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('via', 'text', (c) => c.notNull())
    .addColumn('detail', columnType.json, (c) => c.notNull())
    .addColumn('at', columnType.time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('alert_action_audit_tenant_at').on('alert_action_audit').columns(['tenant_id', 'at', 'id']).execute();
}
