import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { tenantOf } from '../access/routes.js';
import { actorOf } from '../alerts/action-audit.js';
import { findComponent, findEvent } from '../alerts/catalogue.js';
import { EVENT_NAME, EVENT_NAME_MESSAGE, SOURCE_PART_MAX, unknownComponent } from '../alerts/input.js';
import type { RouteModule } from '../http/context.js';
import { replyCreated } from '../http/created.js';
import { listOf } from '../http/openapi.js';
import { ofCharacters } from '../shared/characters.js';
import { NOT_BLANK, isoInstant } from '../shared/validation.js';
import { type FieldError, badRequest, conflict, forbidden, notFound } from '../http/problem.js';
import { muteAlerts, liftAlertMute } from './actions.js';
import { MATCH_FIELDS, type Mute, type MuteMatch } from './model.js';
import { activeMutes, findActiveMute, showMute } from './store.js';

const ref = z.string().min(1).max(200);

/** muteView is the schema of a Mute as API.md shows it (showMute). */
const muteView = z.object({
  id: z.string(),
  scope: z.enum(['tenant', 'user']),
  match: z.object(Object.fromEntries(MATCH_FIELDS.map((field) => [field, z.string().optional()]))),
  until: z.iso.datetime(),
  createdBy: z.object({ userId: z.string(), name: z.string() }),
  createdAt: z.iso.datetime(),
});
const tenantParams = z.object({ tenant: ref });
const muteParams = tenantParams.extend({ muteId: ref });
// As long as an alert's own value may be (AlertInput): a shorter bound left the longer names unmutable.
// The pattern shows the OpenAPI document's readers what the trimmed value must be: not blank, and an event name for `event`.
const matchValue = (max: number, pattern = NOT_BLANK) => z.string().trim().min(1).max(max).meta({ pattern }).optional();
// A source part in characters as a reader counts them, as AlertInput bounds it: an emoji or an accented letter is one.
const sourcePartValue = () => ofCharacters(z.string().trim().min(1), SOURCE_PART_MAX, { pattern: NOT_BLANK }).optional();

/** muteMatch is the `match` of POST /mutes: at least one of the fields. */
const muteMatch = z
  .object({
    component: matchValue(64),
    // EVENT_NAME within the white space that trim removes.
    event: matchValue(128, '^\\s*[A-Za-z0-9][A-Za-z0-9_.:-]*\\s*$'),
    process: sourcePartValue(),
    robot: sourcePartValue(),
    queue: sourcePartValue(),
  })
  .strict()
  .refine((m) => MATCH_FIELDS.some((f) => m[f] !== undefined), { message: `give at least one of ${MATCH_FIELDS.join(', ')}` });

const muteBody = z
  .object({
    scope: z
      .enum(['tenant', 'user'])
      .describe('`tenant`: nobody of the tenant is mailed about matching alerts (Alerts.Edit); `user`: a snooze, for the caller only.'),
    match: muteMatch,
    until: isoInstant.describe('When the mute ends; must be in the future.'),
  })
  .strict();

/** canonicalMatch writes a known component or event as the catalogue names it, as alerts store them. */
function canonicalMatch(match: MuteMatch): MuteMatch {
  const out: Record<string, string> = {};
  for (const field of MATCH_FIELDS) {
    const value = match[field];
    if (value === undefined) continue;
    out[field] = field === 'component' ? (findComponent(value)?.name ?? value) : field === 'event' ? (findEvent(value)?.name ?? value) : value;
  }
  return out;
}

/** visibleTo: a caller sees the tenant's mutes and its own snoozes, never another user's. */
function visibleTo(request: FastifyRequest, mute: Mute): boolean {
  const p = request.principal!;
  return mute.scope === 'tenant' || (p.kind === 'user' && p.userId === mute.ownerId);
}

/**
 * SCOPE_PERMISSION is what each scope of POST /mutes needs: the route takes either, so the access
 * hook lets both through and the scope decides (API.md's permission column).
 */
const SCOPE_PERMISSION = { tenant: 'Alerts.Edit', user: 'Alerts.View' } as const;

/**
 * scopePermissionBeforeBody refuses a mute whose scope the caller may not set (403) before the body
 * is validated, as the access hook does for a route's own permission: a viewer asking for a tenant
 * mute learned the body's faults (400 naming until) first, and was refused only once they were fixed.
 * A missing or unknown scope is left to the schema (400), the caller holding one of the two.
 */
async function scopePermissionBeforeBody(request: FastifyRequest): Promise<void> {
  const scope = (request.body as { scope?: unknown } | null | undefined)?.scope;
  if (scope !== 'tenant' && scope !== 'user') return;
  const needed = SCOPE_PERMISSION[scope];
  if (!request.principal?.permissions.has(needed)) {
    throw forbidden(scope === 'tenant' ? 'A tenant mute needs the Alerts.Edit permission.' : 'A snooze needs the Alerts.View permission.');
  }
}

const HOST_HAS_NO_EMAIL = 'The host administrator receives no alert emails, so it has nothing to snooze; snooze with a user token.';

/** muteRoutes list, create and lift a tenant's mutes and the caller's snoozes (API.md "Tenant: mutes and snoozes"). */
export const muteRoutes: RouteModule = (app, deps) => {
  const db = deps.storage.db;
  const base = '/api/v1/tenants/:tenant/mutes';

  app.get(
    base,
    {
      config: { permission: 'Alerts.View', answer: listOf(muteView) },
      schema: { params: tenantParams, description: "The mutes in force: the tenant's, and the caller's own snoozes (scope user)." },
    },
    async (request) => {
      const mutes = await activeMutes(db, tenantOf(request).id, deps.clock.now());
      return { items: mutes.filter((m) => visibleTo(request, m)).map(showMute) };
    },
  );

  app.post(
    base,
    {
      // Alerts.Edit alone may mute the tenant, Alerts.View alone may snooze: the handler checks the scope's.
      config: { permission: ['Alerts.View', 'Alerts.Edit'], problems: [409], status: 201, answer: muteView, created: true },
      preValidation: scopePermissionBeforeBody,
      schema: {
        params: tenantParams,
        body: muteBody,
        description:
          '{scope, match: {component?, event?, process?, robot?, queue?}, until} → 201 Mute. Matching alerts are still stored, listed and counted, but not mailed (to anyone for `tenant`, which needs Alerts.Edit; to the caller for `user`).',
      },
    },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const p = request.principal!;
      const { scope, match, until } = request.body;
      const now = deps.clock.now();
      const end = Date.parse(until);
      const errors: FieldError[] = [];
      // Every stored alert has a catalogue component: another one (Robot for Robots) is a typo that would mute nothing, silently.
      if (match.component !== undefined && !findComponent(match.component))
        errors.push({ path: 'match.component', message: unknownComponent(match.component) });
      // An event outside the catalogue is kept (an Alertmanager alertname), but not one no alert's event can be.
      if (match.event !== undefined && !findEvent(match.event) && !EVENT_NAME.test(match.event))
        errors.push({ path: 'match.event', message: EVENT_NAME_MESSAGE });
      if (end <= now) errors.push({ path: 'until', message: 'must be in the future' });
      if (errors.length > 0) throw badRequest(`${errors[0]!.path}: ${errors[0]!.message}`, errors);
      if (scope === 'user' && p.kind !== 'user') throw conflict(HOST_HAS_NO_EMAIL);
      const mute = await muteAlerts(
        db,
        tenant.id,
        { scope, ownerId: p.kind === 'user' && scope === 'user' ? p.userId : null, match: canonicalMatch(match), until: end },
        await actorOf(db, p),
        'api',
        now,
      );
      return replyCreated(request, reply, deps.config, showMute(mute));
    },
  );

  app.get(
    `${base}/:muteId`,
    {
      config: { permission: 'Alerts.View', answer: muteView },
      schema: {
        params: muteParams,
        description: "One mute in force, at the Location its POST answered: the tenant's, or the caller's own snooze; 404 once it ends or is lifted.",
      },
    },
    async (request) => {
      const mute = await findActiveMute(db, tenantOf(request).id, request.params.muteId, deps.clock.now());
      if (!mute || !visibleTo(request, mute)) throw notFound('Mute');
      return showMute(mute);
    },
  );

  app.delete(
    `${base}/:muteId`,
    {
      config: { permission: ['Alerts.View', 'Alerts.Edit'], status: 204 },
      schema: { params: muteParams, description: "Lifts a mute (Alerts.Edit), or one's own snooze → 204." },
    },
    async (request, reply) => {
      const tenant = tenantOf(request);
      const p = request.principal!;
      const now = deps.clock.now();
      const mute = await findActiveMute(db, tenant.id, request.params.muteId, now);
      const own = mute !== undefined && p.kind === 'user' && mute.ownerId === p.userId;
      if (!mute || (!visibleTo(request, mute) && !p.permissions.has('Alerts.Edit'))) throw notFound('Mute');
      if (!own && !p.permissions.has('Alerts.Edit')) throw forbidden('Lifting a tenant mute needs the Alerts.Edit permission.');
      if (!(await liftAlertMute(db, tenant.id, mute, await actorOf(db, p), 'api', now))) throw notFound('Mute');
      return reply.status(204).send();
    },
  );
};
