import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * On PostgreSQL the alerts' foreign key to tenants goes: its check ran once per inserted row (a
 * trigger and a lookup each, about a quarter of the backend's CPU per stored alert) where every
 * row of an insert has the same tenant. The alert insert now locks its tenant's row once per
 * statement (FOR KEY SHARE, as the check did per row) and stores nothing when the tenant is gone,
 * and deleting a tenant deletes its alerts in the same transaction (alerts/store.ts, access/tenants.ts).
 * SQLite keeps the constraint: its check is cheap there and it is the only guard that engine has.
 */
export async function up(db: Kysely<any>, dialect: Dialect): Promise<void> {
  if (dialect !== 'postgres') return;
  const { rows } = await sql<{ name: string }>`
    select conname as name from pg_constraint
    where conrelid = 'alerts'::regclass and confrelid = 'tenants'::regclass and contype = 'f'`.execute(db);
  for (const { name } of rows) await sql`alter table alerts drop constraint ${sql.id(name)}`.execute(db);
}
