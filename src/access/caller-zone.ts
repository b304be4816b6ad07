import type { FastifyRequest } from 'fastify';
import { firstKnownZone } from '../shared/validation.js';
import type { Db } from '../storage/database.js';
import { tenantOf } from './routes.js';

/**
 * callerTimeZone is the time zone a signed-in person reads times in: a user's own, else the
 * tenant's (also for the host administrator, who has none). A stored zone the runtime does not
 * know (saved by a process whose runtime knew it) is passed over for the next, and UTC is the last.
 */
export async function callerTimeZone(db: Db, request: FastifyRequest): Promise<string> {
  const tenant = tenantOf(request);
  const principal = request.principal;
  const user = principal?.kind === 'user' ? await db.selectFrom('users').select('time_zone').where('id', '=', principal.userId).executeTakeFirst() : undefined;
  return firstKnownZone(user?.time_zone, tenant.time_zone);
}
