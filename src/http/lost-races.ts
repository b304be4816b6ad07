import type { FastifyRequest } from 'fastify';
import type { Db } from '../storage/database.js';
import { findTenant } from './access-hook.js';
import { emailTaken } from '../access/users.js';
import { tenantNameTaken } from '../access/tenants.js';
import { sourceNameTaken } from '../sources/store.js';
import { orchestratorTenant } from '../access/orchestrator-auth.js';
import { HttpError, notFound, unauthorized } from './problem.js';

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
 * answers it: 401 when the caller's own user went (alone or with its tenant), else 404 naming the
 * tenant of the path (or of the X-Tocsin-Tenant header of the host administrator's Orchestrator
 * calls), or the user, group, source, mute or alert of the path, deleted meanwhile.
 * Undefined when they are all still there: then something else went, and the 409 stays (a role or
 * member deleted meanwhile is answered by its store first, the 400 naming it: checkedAgain).
 */
export async function goneMeanwhile(db: Db, request: FastifyRequest): Promise<HttpError | undefined> {
  // The caller itself first: its token stops working with its user (or its tenant), so a moment later this is a 401.
  const caller = request.principal;
  if (caller?.kind === 'user' && !(await db.selectFrom('users').select('id').where('id', '=', caller.userId).executeTakeFirst())) return unauthorized();
  const params = (request.params ?? {}) as Record<string, string | undefined>;
  // Orchestrator's routes name no tenant in their path: the host administrator names it in a header.
  if (params.tenant === undefined && caller?.kind === 'host') {
    return orchestratorTenant(db, request).then(
      () => undefined,
      (err: unknown) => (err instanceof HttpError && err.status === 404 ? err : undefined),
    );
  }
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

/** The unique constraints a request's field can break, each with that field and the 409 its store gives. */
const TAKEN: Readonly<Record<string, readonly [field: string, answer: (value: string) => HttpError]>> = {
  users_tenant_email_key: ['email', emailTaken],
  tenants_name_key: ['name', tenantNameTaken],
  sources_tenant_name: ['name', sourceNameTaken],
};

/**
 * SQLite names no constraint: its error lists the columns (`UNIQUE constraint failed: users.tenant_id,
 * users.email_key`), which say the same.
 */
const SQLITE_UNIQUE_COLUMNS: Readonly<Record<string, keyof typeof TAKEN>> = {
  'users.tenant_id, users.email_key': 'users_tenant_email_key',
  'tenants.name': 'tenants_name_key',
  'sources.tenant_id, sources.name': 'sources_tenant_name',
};

/** uniqueConstraint names the unique constraint a database error broke: PostgreSQL's name, or SQLite's columns mapped to it. */
function uniqueConstraint(error: unknown): string | undefined {
  const { constraint, code, message } = (error ?? {}) as { constraint?: unknown; code?: unknown; message?: unknown };
  if (typeof constraint === 'string') return constraint;
  if (code !== 'SQLITE_CONSTRAINT_UNIQUE' || typeof message !== 'string') return undefined;
  const columns = message.replace(/^UNIQUE constraint failed: /, '');
  return Object.hasOwn(SQLITE_UNIQUE_COLUMNS, columns) ? SQLITE_UNIQUE_COLUMNS[columns] : undefined;
}

/**
 * takenMeanwhile answers a write that the database refused for a unique constraint, because another
 * request took the same email or name between the store's check and its write, with the 409 the
 * check gives, naming the field; undefined for another constraint (the generic 409 stays). SQLite
 * takes one writer at a time, but a check and its write may be awaits apart (a password hashed
 * between them): a burst of requests for one address all passed the check there too.
 */
export function takenMeanwhile(error: unknown, request: FastifyRequest): HttpError | undefined {
  const constraint = uniqueConstraint(error);
  if (constraint === undefined || !Object.hasOwn(TAKEN, constraint)) return undefined;
  const [field, answer] = TAKEN[constraint]!;
  const value = (request.body as Record<string, unknown> | undefined)?.[field];
  return typeof value === 'string' ? answer(value) : undefined;
}
