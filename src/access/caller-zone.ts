import type { FastifyRequest } from 'fastify';
import type { Db } from '../storage/database.js';
import { tenantOf } from './routes.js';

/**
 * callerTimeZone is the time zone a signed-in person reads times in: a user's own, else the
 * tenant's (also for the host administrator, who has none).
 */
export async function callerTimeZone(db: Db, request: FastifyRequest): Promise<string> {
  const tenant = tenantOf(request);
  const principal = request.principal;
  if (principal?.kind !== 'user') return tenant.time_zone;
  const user = await db.selectFrom('users').select('time_zone').where('id', '=', principal.userId).executeTakeFirst();
  return user?.time_zone ?? tenant.time_zone;
}
