import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireGroup } from '../access/groups.js';
import { selfOrBeforeBody, tenantOf } from '../access/routes.js';
import { requireUser } from '../access/users.js';
import { COMPONENTS, EVENTS, findComponent, findEvent } from '../alerts/catalogue.js';
import { EVENT_NAME } from '../alerts/input.js';
import type { RouteModule } from '../http/context.js';
import { boundEntries } from '../http/input-guard.js';
import { fieldError, notThere } from '../http/problem.js';
import { atMostEntries } from '../shared/issue-words.js';
import type { Clock } from '../shared/clock.js';
import type { Db } from '../storage/database.js';
import { lockTransactionOn } from '../storage/transaction-lock.js';
import { type PreferenceLayer, type PreferencePatch, type Preferences, applyPatch, editsOf, effectiveEmail, effectiveSubscriptions } from './model.js';
import { type PreferenceTable, loadLayers, saveLayer, userPreferences } from './store.js';

const MAX_SUBSCRIPTION_ENTRIES = 500;

const CATALOGUE = {
  components: COMPONENTS.map((c) => c.name),
  events: EVENTS.map((e) => ({ name: e.name, component: e.component })),
};

// Catalogue names are stored in their catalogue spelling, so `robots` and `Robots` are one entry.
// Any name an alert's event may have is one, so an event outside the catalogue (an Alertmanager
// `node_down`, a webhook's `ci:build-failed`) can be subscribed to or dropped like the catalogue's.
const subscriptionName = z
  .string()
  .regex(EVENT_NAME, 'must be a component or event name such as Robots or Robot.StatusChanged.Offline')
  .transform((name) => findEvent(name)?.name ?? findComponent(name)?.name ?? name);

const emailChoices = { tenMinuteSummary: z.boolean(), dailyReport: z.boolean(), fatalImmediately: z.boolean() };

// Checked before the schema reads each name (a catalogue lookup apiece): 300,000 names held the event loop for half a minute.
const boundSubscriptions = boundEntries({ subscriptions: MAX_SUBSCRIPTION_ENTRIES });

/**
 * listsCatalogue tells whether subscriptions name every component and event of the catalogue, as
 * only a GET answer's do: API.md shows the answer as `subscriptions` and `email`, so a script sends
 * those two parts back without `own`, and each event it lists would be pinned as read.
 */
function listsCatalogue(subscriptions: Readonly<Record<string, boolean | null>> | null | undefined): boolean {
  if (!subscriptions) return false;
  return CATALOGUE.components.every((name) => Object.hasOwn(subscriptions, name)) && CATALOGUE.events.every(({ name }) => Object.hasOwn(subscriptions, name));
}

/**
 * preferencesInput is the body of a preferences PUT: left out keeps, null clears (inherits again).
 * A body with the `own` that GET answers with, or whose subscriptions list the whole catalogue as
 * only a GET answer's do (listsCatalogue), is that answer sent back, one switch changed: only
 * what differs from what is in force is set (editsOf), and `own` itself is not read (it says what
 * was set, which the PUT decides).
 */
const preferencesInput = z
  .object({
    subscriptions: z
      .record(subscriptionName, z.boolean().nullable())
      .refine((s) => Object.keys(s).length <= MAX_SUBSCRIPTION_ENTRIES, atMostEntries(MAX_SUBSCRIPTION_ENTRIES))
      .nullable(),
    email: z
      .object({
        tenMinuteSummary: emailChoices.tenMinuteSummary.nullable(),
        dailyReport: emailChoices.dailyReport.nullable(),
        fatalImmediately: emailChoices.fatalImmediately.nullable(),
      })
      .partial()
      .strict()
      .nullable(),
    own: z.looseObject({}),
  })
  .partial()
  .strict()
  .transform(({ own, ...patch }) => ({ ...patch, asRead: own !== undefined || listsCatalogue(patch.subscriptions) }));

/** PreferencesBody is a PUT body read: the patch, and whether it is a GET answer sent back. */
type PreferencesBody = PreferencePatch & { readonly asRead: boolean };

/** preferencesView is API.md's shape, plus `own`: what this user or group set explicitly. */
const preferencesView = z.object({
  subscriptions: z.record(z.string(), z.boolean()),
  email: z.object(emailChoices),
  own: z.object({
    subscriptions: z.record(z.string(), z.boolean()),
    email: z.object(emailChoices).partial(),
  }),
});

type PreferencesView = z.infer<typeof preferencesView>;

function view(prefs: Preferences): PreferencesView {
  return {
    subscriptions: effectiveSubscriptions(prefs, CATALOGUE),
    email: effectiveEmail(prefs),
    own: { subscriptions: { ...prefs.own?.subscriptions }, email: { ...prefs.own?.email } },
  };
}

const ref = z.string().min(1).max(200);
const tenantParams = z.object({ tenant: ref });
const userParams = tenantParams.extend({ userId: ref });
const groupParams = tenantParams.extend({ groupId: ref });

const USER_DESCRIPTION =
  "A user's alert preferences. `subscriptions` resolves every component and event: the user's own entry wins, " +
  'else the union of the default rules of the groups it belongs to (subscribed when any group subscribes), ' +
  "else subscribed; an event entry overrides its component's. `email` resolves the same way (defaults: both " +
  'reports on, Fatal-immediately off). `own` is what the user set itself. In a PUT, left out keeps and null ' +
  'clears an entry (it inherits again); `subscriptions: null` and `email: null` clear them all. A body with ' +
  '`own`, or whose subscriptions name every component and event of the catalogue, is the answer of a GET sent ' +
  'back, some switches changed: only what differs from what is in force is ' +
  'set (a component turned off there turns its events off with it), and `own` itself is not read. At most ' +
  `${MAX_SUBSCRIPTION_ENTRIES} subscription entries are kept: a PUT that would store more is a 400 naming subscriptions.`;

const GROUP_DESCRIPTION =
  "A group's default alert rules, applied to each member for whatever the member has not set itself " +
  "(union across groups), and to the group's own email address. Same shape and PUT rules as a user's.";

function callerId(request: FastifyRequest): string {
  const p = request.principal;
  if (p?.kind !== 'user') throw notThere("The host administrator has no alert preferences: only a tenant's users have them.");
  return p.userId;
}

async function putLayer(
  db: Db,
  table: PreferenceTable,
  tenantId: string,
  ownerId: string,
  body: PreferencesBody,
  clock: Clock,
  inForce: (tx: Db) => Promise<Preferences>,
) {
  // A PUT merges into what is stored, so two at once (two toggles of the console, or a toggle and an
  // unsubscribe link: reports/unsubscribe/apply.ts) each read and write under the owner's lock: the
  // second reads what the first wrote, rather than putting back what the first changed.
  await db.transaction().execute(async (tx) => {
    await lockTransactionOn(tx, `preferences:${ownerId}`);
    const current = (await loadLayers(tx, table, [ownerId])).get(ownerId);
    const next = applyPatch(current, body.asRead ? editsOf(body, view(await inForce(tx))) : body);
    // The bound holds for what is stored, not only for one body: PUTs of 450 new names each grew a
    // layer without end, and every email decided for its owner reads it all again. A PUT that adds
    // nothing still passes, so a layer stored over the bound before can be changed and trimmed.
    const count = (layer: PreferenceLayer | undefined) => Object.keys(layer?.subscriptions ?? {}).length;
    if (count(next) > MAX_SUBSCRIPTION_ENTRIES && count(next) > count(current)) {
      throw fieldError('subscriptions', `${atMostEntries(MAX_SUBSCRIPTION_ENTRIES)}, counting those already set`);
    }
    await saveLayer(tx, table, tenantId, ownerId, next, clock);
  });
}

async function groupPreferences(db: Db, groupId: string): Promise<Preferences> {
  return { own: (await loadLayers(db, 'group_alert_preferences', [groupId])).get(groupId), groups: [] };
}

/** preferenceRoutes are the alert preferences of users (API.md) and the default rules of groups. */
export const preferenceRoutes: RouteModule = (app, { storage, clock }) => {
  const db = storage.db;
  const base = '/api/v1/tenants/:tenant';
  const userSchema = { params: userParams, response: { 200: preferencesView }, description: `${USER_DESCRIPTION}\n\nUsers.Edit, or the user itself.` };
  const meSchema = { params: tenantParams, response: { 200: preferencesView }, description: USER_DESCRIPTION };

  app.get(`${base}/users/:userId/alert-preferences`, { preValidation: selfOrBeforeBody('Users.Edit'), schema: userSchema }, async (request) => {
    await requireUser(db, tenantOf(request).id, request.params.userId);
    return view(await userPreferences(db, request.params.userId));
  });
  app.put(
    `${base}/users/:userId/alert-preferences`,
    { preValidation: [selfOrBeforeBody('Users.Edit'), boundSubscriptions], schema: { ...userSchema, body: preferencesInput } },
    async (request) => {
      const tenant = tenantOf(request);
      await requireUser(db, tenant.id, request.params.userId);
      await putLayer(db, 'user_alert_preferences', tenant.id, request.params.userId, request.body, clock, (tx) => userPreferences(tx, request.params.userId));
      return view(await userPreferences(db, request.params.userId));
    },
  );

  app.get(`${base}/me/alert-preferences`, { schema: meSchema }, async (request) => view(await userPreferences(db, callerId(request))));
  app.put(`${base}/me/alert-preferences`, { preValidation: boundSubscriptions, schema: { ...meSchema, body: preferencesInput } }, async (request) => {
    const userId = callerId(request);
    await putLayer(db, 'user_alert_preferences', tenantOf(request).id, userId, request.body, clock, (tx) => userPreferences(tx, userId));
    return view(await userPreferences(db, userId));
  });

  const groupSchema = { params: groupParams, response: { 200: preferencesView }, description: GROUP_DESCRIPTION };
  app.get(`${base}/groups/:groupId/alert-preferences`, { config: { permission: 'Users.View' }, schema: groupSchema }, async (request) => {
    await requireGroup(db, tenantOf(request).id, request.params.groupId);
    return view(await groupPreferences(db, request.params.groupId));
  });
  app.put(
    `${base}/groups/:groupId/alert-preferences`,
    { config: { permission: 'Users.Edit' }, preValidation: boundSubscriptions, schema: { ...groupSchema, body: preferencesInput } },
    async (request) => {
      const tenant = tenantOf(request);
      await requireGroup(db, tenant.id, request.params.groupId);
      await putLayer(db, 'group_alert_preferences', tenant.id, request.params.groupId, request.body, clock, (tx) =>
        groupPreferences(tx, request.params.groupId),
      );
      return view(await groupPreferences(db, request.params.groupId));
    },
  );
};
