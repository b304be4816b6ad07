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

/** apiTokenView is a user's API token as listed: its name and when it was made, never the token or its hash. */
export interface ApiTokenView {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}

/** listApiTokens lists a user's API tokens, oldest first; with tokenId, that one only (none when it is not the user's). */
export async function listApiTokens(db: Db, tenantId: string, userId: string, tokenId?: string): Promise<ApiTokenView[]> {
  let query = db.selectFrom('api_tokens').select(['id', 'name', 'created_at']).where('tenant_id', '=', tenantId).where('user_id', '=', userId);
  if (tokenId !== undefined) query = query.where('id', '=', tokenId);
  const rows = await query.orderBy('created_at').orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, name: r.name, createdAt: new Date(r.created_at).toISOString() }));
}

/** revokeApiToken deletes one of a user's API tokens; false when the user has no such token. */
export async function revokeApiToken(db: Db, tenantId: string, userId: string, tokenId: string): Promise<boolean> {
  const result = await db.deleteFrom('api_tokens').where('tenant_id', '=', tenantId).where('user_id', '=', userId).where('id', '=', tokenId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
