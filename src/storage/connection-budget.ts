import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Role } from '../shared/serve-roles.js';
import type { Storage } from './storage.js';

/**
 * connectionBudget is the most PostgreSQL connections one process opens: its pool, plus the LISTEN
 * connection on which a process that sends (role `worker` or `all`) hears new mail. A deployment's
 * total is the sum over its processes: api × pool + workers × (pool + 1).
 */
export function connectionBudget(role: Role, poolSize: number): number {
  return poolSize + (role === 'api' ? 0 : 1);
}

/** ServerRoom is what PostgreSQL allows and what other sessions already use, as seen by this role on this database. */
export interface ServerRoom {
  readonly maxConnections: number;
  /** Slots kept for superusers (superuser_reserved_connections, plus reserved_connections from PostgreSQL 16). */
  readonly reserved: number;
  readonly superuser: boolean;
  /** Client sessions other than the asking one: on the server, of this role, on this database. */
  readonly others: number;
  readonly roleOthers: number;
  readonly databaseOthers: number;
  /** CONNECTION LIMIT of the role and of the database; -1 when unlimited. */
  readonly roleLimit: number;
  readonly databaseLimit: number;
}

/**
 * roomFor is how many connections this process may still open, counting the one it asks from: the
 * tightest of the server's max_connections (less the reserved slots a non-superuser cannot use),
 * the role's limit and the database's, each less what other sessions already hold.
 */
export function roomFor(server: ServerRoom): number {
  const limits = [server.maxConnections - (server.superuser ? 0 : server.reserved) - server.others];
  // PostgreSQL does not apply a role's or a database's CONNECTION LIMIT to superusers.
  if (server.roleLimit >= 0 && !server.superuser) limits.push(server.roleLimit - server.roleOthers);
  if (server.databaseLimit >= 0 && !server.superuser) limits.push(server.databaseLimit - server.databaseOthers);
  return Math.max(0, Math.min(...limits));
}

/** readServerRoom asks PostgreSQL for its limits and the client sessions in use (background processes do not count). */
export async function readServerRoom(storage: Storage): Promise<ServerRoom> {
  const { rows } = await sql<{ [K in keyof ServerRoom]: K extends 'superuser' ? boolean : number }>`
    with others as (
      select usename, datname from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()
    )
    select
      current_setting('max_connections')::int as "maxConnections",
      current_setting('superuser_reserved_connections')::int
        + coalesce(current_setting('reserved_connections', true)::int, 0) as reserved,
      r.rolsuper as superuser,
      (select count(*) from others)::int as others,
      (select count(*) from others where usename = current_user)::int as "roleOthers",
      (select count(*) from others where datname = current_database())::int as "databaseOthers",
      r.rolconnlimit as "roleLimit",
      d.datconnlimit as "databaseLimit"
    from pg_roles r, pg_database d
    where r.rolname = current_user and d.datname = current_database()
  `.execute(storage.db);
  return rows[0]!;
}

/**
 * warnIfOverBudget logs a warning at start when this process may open more connections than the
 * server has room for, so an operator learns it from the log rather than from a "too many clients"
 * later under load. Call it right after opening the storage, while the pool holds one connection.
 * SQLite has no connections to count; a failed check is only logged.
 */
export async function warnIfOverBudget(storage: Storage, budget: number, logger: Logger): Promise<void> {
  if (storage.dialect !== 'postgres') return;
  try {
    const server = await readServerRoom(storage);
    const room = roomFor(server);
    if (budget <= room) return;
    logger.warn(
      { budget, room, maxConnections: server.maxConnections, inUse: server.others, roleLimit: server.roleLimit, databaseLimit: server.databaseLimit },
      `this process may open ${budget} PostgreSQL connections but the server has room for ${room} more; ` +
        'lower TOCSIN_DB_POOL_SIZE or raise max_connections (README: Scale-out and capacity)',
    );
  } catch (err) {
    logger.warn({ err }, 'could not read the connection limits of PostgreSQL');
  }
}
