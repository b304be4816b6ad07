import type { Clock } from '../shared/clock.js';
import { newId, randomToken, sha256 } from '../shared/ids.js';
import type { Db } from '../storage/database.js';

/** createApiToken issues a user's API token; the token is returned here only, and stored hashed. */
export async function createApiToken(db: Db, tenantId: string, userId: string, name: string, clock: Clock) {
  const token = randomToken('tcs_');
  const id = newId();
  await db
    .insertInto('api_tokens')
    .values({ id, tenant_id: tenantId, user_id: userId, name, token_hash: sha256(token), created_at: clock.now() })
    .execute();
  return { id, name, token };
}
