import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * KEY_COLUMNS are the opaque keys of each table on PostgreSQL: the ids Tocsin makes, every column
 * that holds or references one (each foreign key and the columns joined with them), and the keys
 * robots and the outbox give (dedup_key, idempotency_key). Names a person reads (tenant, user,
 * group, role and source names, emails, components, events) keep the database's collation.
 */
export const KEY_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  tenants: ['id'],
  users: ['id', 'tenant_id'],
  roles: ['id', 'tenant_id'],
  user_roles: ['user_id', 'role_id'],
  groups: ['id', 'tenant_id'],
  group_members: ['group_id', 'user_id'],
  group_roles: ['group_id', 'role_id'],
  api_tokens: ['id', 'tenant_id', 'user_id'],
  sessions: ['tenant_id', 'user_id'],
  alerts: ['id', 'tenant_id', 'dedup_key', 'group_id'],
  alert_read_marks: ['user_id', 'tenant_id'],
  alert_read_state: ['user_id', 'alert_id', 'tenant_id'],
  alert_kind_hours: ['tenant_id'],
  alert_acknowledgements: ['tenant_id', 'group_id', 'user_id'],
  alert_action_audit: ['id', 'tenant_id', 'user_id'],
  alert_mutes: ['id', 'tenant_id', 'owner_id', 'created_by_id'],
  host_alert_read_marks: ['tenant_id'],
  host_alert_read_state: ['alert_id', 'tenant_id'],
  undecided_fatal_alerts: ['alert_id', 'tenant_id'],
  deliveries: ['id', 'tenant_id', 'idempotency_key', 'recipient_user_id', 'recipient_group_id', 'message_id'],
  delivery_attempts: ['id', 'delivery_id', 'tenant_id'],
  email_unsubscribes: ['tenant_id'],
  user_alert_preferences: ['owner_id', 'tenant_id'],
  group_alert_preferences: ['owner_id', 'tenant_id'],
  mail_health_notices: ['tenant_id'],
  tenant_mail_health: ['tenant_id'],
  tenant_mail_settings: ['tenant_id'],
  report_schedule: ['tenant_id'],
  report_windows: ['tenant_id'],
  test_mail_turns: ['tenant_id'],
  sources: ['id', 'tenant_id'],
  source_secrets: ['id', 'source_id'],
  source_deliveries: ['source_id', 'delivery_id', 'tenant_id'],
  source_receptions: ['source_id'],
};

/**
 * On PostgreSQL the opaque keys (KEY_COLUMNS) compare by their bytes, `collate "C"`, as SQLite's
 * BINARY already compares every text. In the database's own collation (C.UTF-8 on Debian's
 * server, en_US in the official Docker image) each comparison of a B-tree descent went through
 * varstr_cmp: both values copied into NUL-terminated buffers and compared with strcoll, where "C"
 * compares with one memcmp; the alerts' nine indexes compare ids, tenant ids, dedup keys and group
 * ids on every insert (bench/hot-paths.md, "keys in byte order"). Every column joined with another
 * changes with it: a comparison of a "C" column with one of the default collation is made in "C",
 * which the other's index cannot answer. Ids sort as SQLite sorts them (by code point, as a UUIDv7's
 * time order wants), where an en_US database passed over their hyphens.
 *
 * The tables are not rewritten (the type stays text); each index on a key is rebuilt, under the
 * table's exclusive lock for the migrations' transaction (16 s for alerts at a million rows). An
 * older process's prepared statements that return a key then fail ('cached plan must not change
 * result type': a result column's collation is part of its type) until it restarts, so this
 * upgrade stops every process first (README, Upgrading).
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect !== 'postgres') return;
  for (const [table, columns] of Object.entries(KEY_COLUMNS)) {
    const changes = columns.map((column) => sql`alter column ${sql.ref(column)} type text collate "C"`);
    await sql`alter table ${sql.table(table)} ${sql.join(changes)}`.execute(db);
  }
}
