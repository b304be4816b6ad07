import { z } from 'zod';
import { callerTimeZone } from '../access/caller-zone.js';
import { tenantOf } from '../access/routes.js';
import type { RouteModule } from '../http/context.js';
import { raiseInTenant } from '../http/access-hook.js';
import { badRequest, fieldError, notFound } from '../http/problem.js';
import { CHART_RANGES, bucketPeriodView, bucketPeriods, rangeBuckets } from '../shared/time-buckets.js';
import { CURSOR_KEY_PURPOSE } from '../shared/signed-cursor.js';
import { ofCharacters } from '../shared/characters.js';
import { millisecondsUp, noBody, queryBoolean, queryCount, queryInstant, timeZone } from '../shared/validation.js';
import type { Db } from '../storage/database.js';
import { alertHistogram, severityCountsView } from './histogram.js';
import { type Acknowledgement, acknowledgeAlert, acknowledgementsOf } from './acknowledgements.js';
import { actorOf, listActions } from './action-audit.js';
import { COMPONENTS, EVENTS, findComponent, findEvent } from './catalogue.js';
import { ALERTS_BODY_LIMIT_BYTES, EVENT_NAME, EVENT_NAME_MESSAGE, MAX_BATCH, SOURCE_PART_MAX, alertsBody, parseAlertsBody, unknownComponent } from './input.js';
import { markAlerts, markAllRead, readerFor, readerIdOf, unreadCount } from './read-state.js';
import { SEVERITIES, SEVERITY_MESSAGE, parseSeverity } from './severity.js';
import { panelAlerts } from './panel.js';
import { type ReadAlert, deleteAlert, findAlert, listAlerts } from './store.js';
import { alertView, decodeCursor, encodeCursor, panelEntryView, showAlert, showPanelEntry, unreadView } from './view.js';
import { listOf } from '../http/openapi.js';

const ref = z.string().min(1).max(200);
const tenantParams = z.object({ tenant: ref });
const alertParams = tenantParams.extend({ alertId: ref });

const listQuery = z.object({
  severity: z.string().max(32).optional().describe('That severity and every one above it (Warning = Warn).'),
  component: z.string().max(64).optional(),
  event: z
    .string()
    .max(128)
    // Documented, as AlertInput's event is: every catalogue name is of that form too, in any case.
    .meta({ pattern: EVENT_NAME.source })
    .optional()
    .describe('A catalogue event (in any case) or another name an alert may carry (letters, digits, . _ : -); another is a 400.'),
  unread: queryBoolean
    .optional()
    .describe('true (in any case): only the alerts the caller has not read; false filters nothing, as if left out (read and unread alike).'),
  since: queryInstant
    .optional()
    .describe(
      "Created at or after. A script that polls with the newest createdAt it has seen should ask again from a few seconds before it and skip the ids it has: an alert is stamped before its commit, and one committing beside it (another api process, PostgreSQL's second commit) may be stamped earlier and listed later.",
    ),
  until: queryInstant.optional().describe('Created before.'),
  limit: queryCount(1_000, 1).default(100),
  cursor: z
    .string()
    .max(400)
    .optional()
    .describe(
      "The nextCursor of the previous page, as given (opaque, and signed for the tenant: one altered, or from another tenant, is a 400 naming cursor). Filters and limit may change between pages; the walk goes on after the cursor's alert.",
    ),
  groupId: z.string().max(200).optional().describe("Only the alerts of one flood (a panel line's groupId)."),
  // As long as an alert's source part may be (AlertInput), in characters as a reader counts them.
  process: ofCharacters(z.string(), SOURCE_PART_MAX).optional().describe("Only the alerts whose source names this process (the emails' per-source links)."),
  robot: ofCharacters(z.string(), SOURCE_PART_MAX).optional().describe('Only the alerts whose source names this robot.'),
  queue: ofCharacters(z.string(), SOURCE_PART_MAX).optional().describe('Only the alerts whose source names this queue.'),
});

const unreadCountQuery = z.object({
  limit: queryCount(1_000_000, 1)
    .optional()
    .describe(
      "Count no further: the answer is then at most limit, and costs no more than reading that many alerts (the console's bell asks 1000 and shows 999+ past 999). Left out, every unread alert is counted.",
    ),
});

const histogramQuery = z.object({
  range: z.enum(CHART_RANGES).default('24h').describe('24h: 24 hourly bars; 7d: 28 bars of six hours; 30d: 30 daily bars.'),
  timeZone: timeZone.optional().describe("The local clock that hours and days follow; by default the caller's (a user's own, else the tenant's)."),
});

const histogramView = z.object({
  range: z.enum(CHART_RANGES),
  unit: z.enum(['hour', '6h', 'day']),
  timeZone: z.string(),
  buckets: z.array(z.object({ ...bucketPeriodView, counts: severityCountsView })).describe('Oldest first, the last one holding now'),
});

const auditView = listOf(
  z.object({
    id: z.string(),
    action: z.enum(['acknowledge', 'mute', 'snooze', 'lift']),
    via: z.enum(['api', 'email']),
    by: z.object({ userId: z.string(), name: z.string() }),
    at: z.iso.datetime(),
    detail: z.record(z.string(), z.unknown()).describe('What was acted on: {alertId, groupId} or {muteId, scope, match, until}'),
  }),
);

const auditQuery = z.object({
  limit: queryCount(1_000, 1).default(100),
  before: z.string().max(200).optional().describe('The id of the last entry of the previous page.'),
});

const alertIds = z.array(ref).min(1).max(MAX_BATCH);
const selection = {
  ids: alertIds.optional(),
  groupIds: alertIds.optional().describe('Whole floods: the groupId of a panel line marks all its alerts.'),
};
const markReadBody = z
  .object({ ...selection, all: z.literal(true).optional() })
  .strict()
  .refine((b) => (b.ids === undefined && b.groupIds === undefined) !== (b.all === undefined), {
    message: 'give ids and/or groupIds, or all: true',
    path: ['ids'],
  });

const byLanguage = z.record(z.string(), z.string()).describe('The display name in each supported language, e.g. {en, fr}');
/** catalogueView documents the catalogue: the severities, and the components with their events. */
const catalogueView = z.object({
  severities: z.array(z.enum(SEVERITIES)),
  components: z.array(
    z.object({
      name: z.string(),
      displayName: byLanguage,
      events: z.array(z.object({ name: z.string(), defaultSeverity: z.enum(SEVERITIES), displayName: byLanguage })),
    }),
  ),
});
const markUnreadBody = z
  .object(selection)
  .strict()
  .refine((b) => b.ids !== undefined || b.groupIds !== undefined, { message: 'give ids and/or groupIds', path: ['ids'] });

const READ_STATE = "Read state is the caller's own: each user's, and the host administrator's in each tenant.";

/** showAlerts maps alerts to the API's shape with their floods' acknowledgements, read in one query. */
async function showAlerts<T extends ReadAlert, V>(
  db: Db,
  tenantId: string,
  alerts: readonly T[],
  show: (alert: T, ack: Acknowledgement | undefined) => V,
): Promise<V[]> {
  const acks = await acknowledgementsOf(
    db,
    tenantId,
    alerts.map((a) => a.groupId),
  );
  return alerts.map((a) => show(a, acks.get(a.groupId)));
}

/** alertRoutes raise, list and read a tenant's alerts, and serve the event catalogue. */
export const alertRoutes: RouteModule = (app, deps) => {
  const db = deps.storage.db;
  const ingest = deps.ingest;
  const cursorKey = deps.secretBox.deriveKey(CURSOR_KEY_PURPOSE);
  const base = '/api/v1/tenants/:tenant/alerts';

  app.post(
    base,
    {
      config: {
        permission: 'Alerts.Create',
        status: 202,
        answer: z.object({ ids: z.array(z.string()) }),
        overLimit: 'Send the alerts in smaller batches: a full batch fits when its texts are at their bounds in accented letters, not in ideographs or emoji.',
      },
      // Above the app's bound for other bodies: every batch API.md takes fits (read only once the caller holds Alerts.Create).
      bodyLimit: ALERTS_BODY_LIMIT_BYTES,
      // The schema documents the body; parseAlertsBody validates it, naming each field of each
      // alert of a batch, which a union schema's errors cannot.
      validatorCompiler: () => (data) => ({ value: data }),
      schema: {
        params: tenantParams,
        body: alertsBody,
        description: `One AlertInput {severity, component, event?, message, data?, source?, folder?, dedupKey?, occurredAt?} or {alerts: [AlertInput]} (at most ${MAX_BATCH}, in a body of at most ${ALERTS_BODY_LIMIT_BYTES.toLocaleString('en')} bytes: every field at its bound in accented letters fits); 202 {ids} once durably stored.`,
      },
    },
    async (request, reply) => {
      const parsed = parseAlertsBody(request.body, deps.clock.now());
      if ('errors' in parsed) {
        const first = parsed.errors[0]!;
        throw badRequest(`${first.path}: ${first.message}`, parsed.errors);
      }
      const ids = await raiseInTenant(request, (tenantId) => ingest.raise(tenantId, parsed.alerts));
      return reply.status(202).send({ ids });
    },
  );

  app.get(
    base,
    {
      config: { permission: 'Alerts.View', answer: z.object({ items: z.array(alertView), nextCursor: z.string().nullable() }) },
      schema: {
        params: tenantParams,
        querystring: listQuery,
        description:
          "Newest first (by createdAt); `read` is the caller's (each user's, and the host administrator's in each tenant); every alert starts unread.",
      },
    },
    async (request) => {
      const q = request.query;
      const minSeverity = q.severity === undefined ? undefined : parseSeverity(q.severity);
      if (q.severity !== undefined && !minSeverity) throw fieldError('severity', SEVERITY_MESSAGE);
      // Every stored alert has a catalogue component: another one (Robot for Robots) can only be a typo, which would list nothing, silently.
      const component = q.component === undefined ? undefined : findComponent(q.component)?.name;
      if (q.component !== undefined && !component) throw fieldError('component', unknownComponent(q.component));
      // As for a mute's match.event: a name no alert can carry would list nothing, and an empty one filtered nothing (every alert).
      const knownEvent = q.event === undefined ? undefined : findEvent(q.event);
      if (q.event !== undefined && !knownEvent && !EVENT_NAME.test(q.event)) throw fieldError('event', EVENT_NAME_MESSAGE);
      const tenant = tenantOf(request);
      const reader = await readerFor(db, request.principal!, tenant.id);
      const page = await listAlerts(
        db,
        tenant.id,
        reader,
        {
          minSeverity,
          component,
          event: knownEvent?.name ?? q.event,
          unreadOnly: q.unread === true,
          since: q.since === undefined ? undefined : millisecondsUp(q.since),
          until: q.until === undefined ? undefined : millisecondsUp(q.until),
          groupId: q.groupId,
          source: { process: q.process, robot: q.robot, queue: q.queue },
        },
        { limit: q.limit, after: q.cursor === undefined ? undefined : decodeCursor(cursorKey, tenant.id, q.cursor) },
      );
      return { items: await showAlerts(db, tenant.id, page.items, showAlert), nextCursor: page.next ? encodeCursor(cursorKey, tenant.id, page.next) : null };
    },
  );

  app.get(
    '/api/v1/tenants/:tenant/alert-actions',
    {
      config: { permission: 'Alerts.Edit', answer: auditView },
      schema: {
        params: tenantParams,
        querystring: auditQuery,
        description:
          'The audit list of actions on alerts, newest first: {items: [{id, action: acknowledge|mute|snooze|lift, via: api|email, by: {userId, name}, at, detail}]}; page with `before` = the last id.',
      },
    },
    async (request) => ({ items: await listActions(db, tenantOf(request).id, request.query) }),
  );

  app.get(`${base}/catalogue`, { config: { answer: catalogueView }, schema: { params: tenantParams } }, async () => ({
    severities: SEVERITIES,
    components: COMPONENTS.map((c) => ({
      name: c.name,
      displayName: c.displayName,
      events: EVENTS.filter((e) => e.component === c.name).map((e) => ({
        name: e.name,
        defaultSeverity: e.defaultSeverity,
        displayName: e.displayName,
      })),
    })),
  }));

  app.get(
    `${base}/unread-count`,
    {
      config: { permission: 'Alerts.View', answer: unreadView },
      schema: { params: tenantParams, querystring: unreadCountQuery, description: `The caller's unread alerts. ${READ_STATE}` },
    },
    async (request) => {
      const tenantId = tenantOf(request).id;
      return { unread: await unreadCount(db, tenantId, await readerFor(db, request.principal!, tenantId), request.query.limit) };
    },
  );

  app.get(
    `${base}/panel`,
    {
      config: { permission: 'Alerts.View', answer: listOf(panelEntryView) },
      schema: {
        params: tenantParams,
        description:
          'At most 5 unread lines, most severe first, then newest. A flood (alerts sharing a dedupKey, each within the flood window of the previous one) is one line with its unread count, first and last times; its groupId lists or marks all of it.',
      },
    },
    async (request) => {
      const tenantId = tenantOf(request).id;
      const entries = await panelAlerts(db, tenantId, await readerFor(db, request.principal!, tenantId));
      return { items: await showAlerts(db, tenantId, entries, showPanelEntry) };
    },
  );

  app.post(
    `${base}/mark-read`,
    {
      config: { permission: 'Alerts.View', answer: unreadView, forgetsNothing: true },
      schema: { params: tenantParams, body: markReadBody, description: `→ the caller's unread count. ${READ_STATE}` },
    },
    async (request) => {
      const tenant = tenantOf(request);
      const userId = readerIdOf(request.principal!);
      if (request.body.all) await markAllRead(db, tenant.id, userId, deps.clock.now());
      else await markAlerts(db, tenant.id, userId, request.body, true);
      return { unread: await unreadCount(db, tenant.id, await readerFor(db, request.principal!, tenant.id)) };
    },
  );

  app.post(
    `${base}/mark-unread`,
    {
      config: { permission: 'Alerts.View', answer: unreadView, forgetsNothing: true },
      schema: { params: tenantParams, body: markUnreadBody, description: `→ the caller's unread count. ${READ_STATE}` },
    },
    async (request) => {
      const tenant = tenantOf(request);
      await markAlerts(db, tenant.id, readerIdOf(request.principal!), request.body, false);
      return { unread: await unreadCount(db, tenant.id, await readerFor(db, request.principal!, tenant.id)) };
    },
  );

  app.get(
    `${base}/histogram`,
    {
      config: { permission: 'Alerts.View', answer: histogramView },
      schema: {
        params: tenantParams,
        querystring: histogramQuery,
        description:
          "Alerts over time by severity, for the console's chart: {range, unit: hour|6h|day, timeZone, buckets: [{start, end, counts: {Info, Success, Warn, Error, Fatal}}]}, oldest first, the last bucket holding now. Counted by createdAt, as the list's since/until filter.",
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      const zone = request.query.timeZone ?? (await callerTimeZone(db, request));
      const buckets = rangeBuckets(request.query.range, zone, deps.clock.now());
      const counts = await alertHistogram(db, tenant.id, buckets);
      const periods = bucketPeriods(buckets);
      return {
        range: request.query.range,
        unit: buckets.unit,
        timeZone: zone,
        buckets: periods.map((period, i) => ({ ...period, counts: counts[i]! })),
      };
    },
  );

  app.get(`${base}/:alertId`, { config: { permission: 'Alerts.View', answer: alertView }, schema: { params: alertParams } }, async (request) => {
    const tenant = tenantOf(request);
    const alert = await findAlert(db, tenant.id, await readerFor(db, request.principal!, tenant.id), request.params.alertId);
    if (!alert) throw notFound('Alert');
    return (await showAlerts(db, tenant.id, [alert], showAlert))[0];
  });

  app.post(
    `${base}/:alertId/acknowledge`,
    {
      config: { permission: 'Alerts.View', answer: alertView },
      schema: {
        params: alertParams,
        body: noBody,
        description:
          '"I\'m on it": acknowledges the alert\'s whole flood for every reader of the tenant (acknowledgedBy, acknowledgedAt); the first acknowledgement stands. Recorded in GET /alert-actions.',
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      const alert = await findAlert(db, tenant.id, await readerFor(db, request.principal!, tenant.id), request.params.alertId);
      if (!alert) throw notFound('Alert');
      const ack = await acknowledgeAlert(db, tenant.id, alert, await actorOf(db, request.principal!), 'api', deps.clock.now());
      return showAlert(alert, ack);
    },
  );

  app.delete(`${base}/:alertId`, { config: { permission: 'Alerts.Delete', status: 204 }, schema: { params: alertParams } }, async (request, reply) => {
    if (!(await deleteAlert(db, tenantOf(request).id, request.params.alertId))) throw notFound('Alert');
    return reply.status(204).send();
  });
};
