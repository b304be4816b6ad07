import type { Principal } from '../access/principal.js';
import { emailTranslator } from '../i18n/email-i18n.js';
import type { Language } from '../i18n/languages.js';
import { newId } from '../shared/ids.js';
import type { Db } from '../storage/database.js';

/** Actor is who did something to alerts, as the API shows it (`acknowledgedBy`, `createdBy`). */
export interface Actor {
  readonly userId: string;
  readonly name: string;
}

/** HOST_ACTOR stands for the host administrator, who is no user of the tenant. */
const HOST_ACTOR: Actor = Object.freeze({ userId: 'host', name: 'Host administrator' });

/** actorName is who muted or acknowledged, as a reader reads it: the host administrator, no user, in the reader's language. */
export function actorName(actor: Actor, language: Language): string {
  return actor.userId === HOST_ACTOR.userId ? emailTranslator(language)('common.hostAdministrator') : actor.name;
}

/** actorOf names the caller: a user by its id and current name, or the host administrator. */
export async function actorOf(db: Db, principal: Principal): Promise<Actor> {
  if (principal.kind === 'host') return HOST_ACTOR;
  const user = await db.selectFrom('users').select('name').where('id', '=', principal.userId).executeTakeFirst();
  return { userId: principal.userId, name: user?.name ?? principal.email };
}

/** AlertAction is what the audit list records: acknowledging a flood, muting, snoozing, lifting. */
export type AlertAction = 'acknowledge' | 'mute' | 'snooze' | 'lift';

/** ActionChannel is how the action came: through the API (console included) or an email's link. */
export type ActionChannel = 'api' | 'email';

/** AuditEntry is one row of the audit list, as GET /alert-actions shows it. */
export interface AuditEntry {
  readonly id: string;
  readonly action: AlertAction;
  readonly via: ActionChannel;
  readonly by: Actor;
  readonly at: string;
  /** What was acted on: `{alertId, groupId}` or `{muteId, scope, match, until}`. */
  readonly detail: Record<string, unknown>;
}

/** recordAction appends one action to the tenant's audit list (inside the caller's transaction when given one). */
export async function recordAction(
  db: Db,
  tenantId: string,
  entry: { actor: Actor; action: AlertAction; via: ActionChannel; detail: Record<string, unknown>; at: number },
): Promise<void> {
  await db
    .insertInto('alert_action_audit')
    .values({
      id: newId(),
      tenant_id: tenantId,
      user_id: entry.actor.userId,
      user_name: entry.actor.name,
      action: entry.action,
      via: entry.via,
      detail: JSON.stringify(entry.detail),
      at: entry.at,
    })
    .execute();
}

/** listActions pages through a tenant's audit list, newest first; `before` is the id of the last entry of the previous page. */
export async function listActions(db: Db, tenantId: string, page: { limit: number; before?: string | undefined }): Promise<AuditEntry[]> {
  const rows = await db
    .selectFrom('alert_action_audit')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .$if(page.before !== undefined, (q) => q.where('id', '<', page.before!))
    .orderBy('id', 'desc')
    .limit(page.limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    action: r.action as AlertAction,
    via: r.via as ActionChannel,
    by: { userId: r.user_id, name: r.user_name },
    at: new Date(Number(r.at)).toISOString(),
    detail: JSON.parse(r.detail) as Record<string, unknown>,
  }));
}
