import type { FastifyRequest } from 'fastify';
import type { Db } from '../storage/database.js';
import { findTenant } from './access-hook.js';
import { type HttpError, notFound } from './problem.js';

/** The objects a path names by id after its tenant, with their tables; each table has a tenant_id. */
const PATH_OBJECTS = [
  ['userId', 'users', 'User'],
  ['groupId', 'groups', 'Group'],
  ['sourceId', 'sources', 'Source'],
  ['muteId', 'alert_mutes', 'Mute'],
  ['alertId', 'alerts', 'Alert'],
] as const;

/**
 * goneMeanwhile answers a write that the database refused for a lost race with a deletion
 * (foreign-key) as it would be answered a moment later, and as SQLite (one writer at a time)
 * answers it: 404 naming the tenant of the path, or the user, group, source, mute or alert of the
 * path, deleted meanwhile. Undefined when they are all still there: then something else went (a
 * role, a member), and the 409 stays.
 */
export async function goneMeanwhile(db: Db, request: FastifyRequest): Promise<HttpError | undefined> {
  const params = (request.params ?? {}) as Record<string, string | undefined>;
  if (params.tenant === undefined || !request.tenant) return undefined;
  const tenant = await findTenant(db, params.tenant);
  if (tenant?.id !== request.tenant.id) return notFound('Tenant');
  for (const [param, table, what] of PATH_OBJECTS) {
    const id = params[param];
    if (id === undefined) continue;
    const row = await db.selectFrom(table).select('id').where('tenant_id', '=', tenant.id).where('id', '=', id).executeTakeFirst();
    if (!row) return notFound(what);
  }
  return undefined;
}
