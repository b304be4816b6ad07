import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { lowerCaseKeys, orchestratorTenant, textFields, withTextFields } from '../../access/orchestrator-auth.js';
import type { RouteModule } from '../../http/context.js';
import { caseInsensitiveBody } from '../../http/openapi.js';
import { badRequest, type FieldError, fieldError, fieldErrors, zodIssuesToSay, zodFieldErrors } from '../../http/problem.js';
import { acknowledgementsOf } from '../acknowledgements.js';
import { CUSTOM_EVENT } from '../catalogue.js';
import { markAlerts, readerFor, readerIdOf, unreadCount } from '../read-state.js';
import { SEVERITY_MESSAGE, parseSeverity, SEVERITIES } from '../severity.js';
import { newestAlert, toStoredAlert } from '../store.js';
import { CURSOR_KEY_PURPOSE } from '../../shared/signed-cursor.js';
import { alertIdOfNotification, parseSelect, selectFields, toAlertDto } from './dto.js';
import { ODATA_METADATA, metadataUrl, serviceDocument } from './metadata.js';
import { FilterSyntaxError, parseFilter } from './filter.js';
import { MAX_SKIP, MAX_TOP, commonListOptions, odataQuery } from './options.js';
import { type OrderTerm, filterCondition, orderValues, parseOrderBy } from './query.js';
import { odataAlertRows, odataListBase } from './list.js';
import { type SkipToken, decodeSkipToken, encodeSkipToken } from './skip-token.js';
import { textOfCharacters } from '../../shared/characters.js';
import { NOT_BLANK, queryCount } from '../../shared/validation.js';

const ACTIONS = '/odata/Alerts/UiPath.Server.Configuration.OData';

/** alertDtoView documents AlertDto (toAlertDto); `$select` answers only the properties it names. */
const alertDtoView = z
  .object({
    NotificationName: z.string(),
    Data: z.string().describe('The event context as a JSON string, as Orchestrator sends it'),
    Component: z.string(),
    Severity: z.enum(SEVERITIES),
    CreationTime: z.iso.datetime(),
    State: z.enum(['Unread', 'Read']),
    UserNotificationId: z.string(),
    DeepLinkRelativeUrl: z.string(),
    Id: z.string(),
  })
  .partial();

/** odataCount documents the answer of GetUnreadCount and MarkAsRead: `value` is the caller's unread count. */
const odataCount = z.object({ '@odata.context': z.string(), value: z.number().int() });

const listOptions = {
  $top: queryCount(MAX_TOP).optional(),
  $skip: queryCount(MAX_SKIP).optional(),
  $select: z.string().max(500).optional(),
  $orderby: z.string().max(500).optional(),
  $filter: z.string().max(8_000).optional(),
  $skiptoken: z
    .string()
    .max(2_000)
    .optional()
    .describe(
      "Set by an @odata.nextLink, as given (opaque): the page after the previous page's last alert, among the alerts as they were at its list's first page, so that alerts raised since push none of them onto another page, where it was read twice, and none is skipped for those read (State eq 'Unread', then MarkAsRead) or deleted meanwhile. With the $orderby it was given with (another is a 400).",
    ),
  ...commonListOptions,
};

const listQuery = odataQuery(listOptions);

/**
 * actionQuery is the query of GetUnreadCount and MarkAsRead: their answer is one count, which a
 * `$filter` or `$top` would not change, so a script sending one would read the count of every
 * unread alert as the count of those it asked for; such an option is refused, naming it.
 */
const actionQuery = odataQuery({ $format: commonListOptions.$format });

/** serviceDocumentView documents the service document (serviceDocument). */
const serviceDocumentView = z.object({
  '@odata.context': z.string(),
  value: z.array(z.object({ name: z.string(), kind: z.literal('EntitySet'), url: z.string() })),
});

const markAsReadBody = z.object({ ids: z.array(z.string().min(1).max(200)).max(MAX_TOP) });

// Required as .NET's [Required] has it: blank (only white space) is missing too. The min(1) and the
// pattern say so in the OpenAPI document, which cannot show the refinement (aborting: one error for "", not two).
const REQUIRED_TEXT = 'is required: it cannot be empty or only white space';
const requiredText = textOfCharacters(1, 512, { message: REQUIRED_TEXT, abort: true })
  .refine((text) => text.trim() !== '', REQUIRED_TEXT)
  .meta({ pattern: NOT_BLANK });

const processAlert = z.object({
  message: requiredText,
  // A union left out or of another type says only "Invalid input": said as the other fields and GET /alerts say it.
  severity: z.union([z.string().max(512), z.number().int().min(0).max(4)], {
    error: (issue) => (issue.code !== 'invalid_union' ? undefined : issue.input === undefined ? 'is required' : SEVERITY_MESSAGE),
  }),
  processname: requiredText,
  robotname: requiredText,
});
/** TEXT_FIELDS are the fields of a processAlert that .NET's binder reads from a number or a boolean too (textFields). */
const TEXT_FIELDS = ['message', 'processname', 'robotname'];
const PROCESS_ALERT_FIELDS: Record<string, string> = {
  message: 'Message',
  severity: 'Severity',
  processname: 'ProcessName',
  robotname: 'RobotName',
};

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, 256) : undefined;
}

function filterError(parameter: string, err: unknown): never {
  if (err instanceof FilterSyntaxError) throw fieldError(parameter, err.message);
  throw err;
}

/**
 * odataAlertRoutes are the Orchestrator-compatible alert routes, for existing scripts, client
 * libraries and the Raise Alert activity: Orchestrator's paths, bodies and AlertDto shape. They have
 * no `{tenant}` in the path: the tenant is the token's (see orchestratorTenant).
 */
export const odataAlertRoutes: RouteModule = (app, deps) => {
  const db = deps.storage.db;
  const ingest = deps.ingest;
  const context = (what: string) => `${metadataUrl(deps.config.publicUrl)}#${what}`;
  const view = { access: 'authenticated', permission: 'Alerts.View' } as const;
  const cursorKey = deps.secretBox.deriveKey(CURSOR_KEY_PURPOSE);
  /**
   * nextLink is the list's URL (`url`, its query as the client wrote it) at the page that starts
   * where `token` says (the $skiptoken, which also holds the place its own `$skip` took it to).
   */
  const nextLink = (url: string, tenantId: string, order: readonly OrderTerm[], token: Required<SkipToken>): string => {
    const query = new URLSearchParams(url.slice(url.indexOf('?') + 1 || url.length));
    query.delete('$skip');
    query.set('$skiptoken', encodeSkipToken(cursorKey, tenantId, order, token));
    const parts = [...query].map(([key, value]) => `${encodeURIComponent(key).replace(/^%24/, '$')}=${encodeURIComponent(value)}`);
    return `${deps.config.publicUrl}/odata/Alerts?${parts.join('&')}`;
  };

  // Public, as Orchestrator's: the same for every tenant, no tenant's data, and read by clients before they sign in.
  app.get(
    '/odata/$metadata',
    {
      config: { access: 'public', database: false },
      schema: {
        description:
          "OData 4 CSDL (EDMX XML) of this subset, which every answer's @odata.context names: the Alerts and Settings entity sets and their bound operations.",
        response: { 200: { description: 'The CSDL document.', content: { 'application/xml': { schema: z.string() } } } },
      },
    },
    async (_request, reply) => reply.type('application/xml; charset=utf-8').send(ODATA_METADATA),
  );
  const service = async (_request: FastifyRequest, reply: FastifyReply) => reply.send(serviceDocument(deps.config.publicUrl));
  app.get(
    '/odata/',
    {
      config: { access: 'public', database: false, answer: serviceDocumentView },
      schema: { description: 'The OData service document: the entity sets Alerts and Settings. Also at /odata.' },
    },
    service,
  );
  app.get('/odata', { config: { access: 'public', database: false }, schema: { hide: true } }, service);

  app.get(
    '/odata/Alerts',
    {
      config: {
        ...view,
        answer: z.object({
          '@odata.context': z.string(),
          '@odata.count': z.number().int().optional().describe('With $count=true'),
          value: z.array(alertDtoView),
          '@odata.nextLink': z.string().optional().describe('Without $top, when more than the 1,000 alerts of the page follow: the next page'),
        }),
      },
      schema: {
        querystring: listQuery,
        description:
          '$filter on Severity, Component, State, CreationTime (and NotificationName, Id) with eq ne gt ge lt le, in (a list), contains, startswith, endswith, tolower, toupper, and, or, not; $orderby (those and Id); $top ≤ 1000 (without it, pages of 1,000 with @odata.nextLink); $skip; $count; $select (AlertDto property names); $expand=* (AlertDto has no navigation property: it expands nothing); $format=json. Another $ option is a 400.',
      },
    },
    async (request) => {
      const q = request.query;
      const tenant = await orchestratorTenant(db, request);
      const reader = await readerFor(db, request.principal!, tenant.id);
      let filter;
      try {
        filter = q.$filter === undefined || q.$filter.trim() === '' ? undefined : parseFilter(q.$filter);
        // Checked here, so that a filter the database cannot be asked is a 400 naming $filter.
        if (filter) filterCondition(filter, reader);
      } catch (err) {
        filterError('$filter', err);
      }
      let order;
      try {
        order = parseOrderBy(q.$orderby);
      } catch (err) {
        filterError('$orderby', err);
      }
      let selected;
      try {
        selected = parseSelect(q.$select);
      } catch (err) {
        filterError('$select', err);
      }
      // Server-driven paging (no $top) lists the alerts up to the newest one at its first page: an
      // alert raised between two pages, listed first, would push one of the first onto the next.
      const token = q.$skiptoken === undefined ? undefined : decodeSkipToken(cursorKey, tenant.id, q.$skiptoken, order);
      const newest = token !== undefined ? token.newest : q.$top === undefined ? await newestAlert(db, tenant.id) : undefined;
      // Without $top the server pages the answer itself (OData's server-driven paging): one row more
      // than a page tells whether another follows, for the @odata.nextLink that clients follow.
      const rows = await odataAlertRows(db, tenant.id, reader, {
        filter,
        order,
        limit: q.$top ?? MAX_TOP + 1,
        skip: q.$skip ?? 0,
        newest,
        after: token?.after,
      });
      const more = q.$top === undefined && rows.length > MAX_TOP;
      if (more) rows.length = MAX_TOP;
      const last = rows.at(-1);
      const userId = request.principal!.kind === 'user' ? request.principal!.userId : '';
      const alerts = rows.map((row) => ({ ...toStoredAlert(row), read: Number(row.is_read) === 1 }));
      const acks = await acknowledgementsOf(
        db,
        tenant.id,
        alerts.map((a) => a.groupId),
      );
      const value = alerts.map((alert) => selectFields(toAlertDto(alert, userId, acks.get(alert.groupId)), selected));
      const total = q.$count
        ? Number(
            (
              await odataListBase(db, tenant.id, reader, filter, newest)
                .select((eb) => eb.fn.countAll<number>().as('n'))
                .executeTakeFirstOrThrow()
            ).n,
          )
        : undefined;
      // OData names a projection's properties in its context URL (`#Alerts(Id,Severity)`).
      const entitySet = selected ? `Alerts(${selected.join(',')})` : 'Alerts';
      return {
        '@odata.context': context(entitySet),
        ...(total === undefined ? {} : { '@odata.count': total }),
        value,
        ...(more && newest && last ? { '@odata.nextLink': nextLink(request.url, tenant.id, order, { newest, after: orderValues(order, last) }) } : {}),
      };
    },
  );

  const getUnreadCount = async (request: FastifyRequest) => {
    const tenant = await orchestratorTenant(db, request);
    return { '@odata.context': context('Edm.Int64'), value: await unreadCount(db, tenant.id, await readerFor(db, request.principal!, tenant.id)) };
  };
  // The 2018 swagger writes the function call with (), later clients without.
  app.get(`${ACTIONS}.GetUnreadCount()`, { config: { ...view, answer: odataCount }, schema: { querystring: actionQuery } }, getUnreadCount);
  app.get(`${ACTIONS}.GetUnreadCount`, { config: view, schema: { querystring: actionQuery, hide: true } }, getUnreadCount);

  app.post(
    `${ACTIONS}.MarkAsRead`,
    {
      // The caller's read state: nothing the API keeps changes, so robots' principals and readers' reads stay kept.
      config: { ...view, answer: odataCount, forgetsNothing: true },
      schema: {
        querystring: actionQuery,
        body: caseInsensitiveBody(markAsReadBody, {}),
        description:
          "{\"ids\": [id]}, each an AlertDto's UserNotificationId (the caller's own, as UiPath's API guide has it) or its Id → the caller's remaining unread count (the host administrator's own in the tenant it names).",
      },
    },
    async (request) => {
      const parsed = markAsReadBody.safeParse(lowerCaseKeys(request.body));
      // Each issue names its own place: the body (`(root)`, a bare list of ids), `ids`, or one id (`ids.1`), as /alerts/mark-read does.
      if (!parsed.success) throw fieldErrors(zodFieldErrors(parsed.error.issues));
      const tenant = await orchestratorTenant(db, request);
      const principal = request.principal!;
      // Ids are lower-case UUIDs; Orchestrator's are Guids, the same in either case (.NET prints them upper-case), as `Id eq` reads them.
      // UiPath's API guide has MarkAsRead take the caller's UserNotificationIds; an alert's Id is taken too.
      const readerId = principal.kind === 'user' ? principal.userId : '';
      const given = parsed.data.ids.map((id) => id.trim().toLowerCase());
      const ids = [...given, ...given.flatMap((id) => alertIdOfNotification(id, readerId) ?? [])];
      await markAlerts(db, tenant.id, readerIdOf(principal), { ids }, true);
      return { '@odata.context': context('Edm.Int64'), value: await unreadCount(db, tenant.id, await readerFor(db, principal, tenant.id)) };
    },
  );

  app.post(
    `${ACTIONS}.RaiseProcessAlert`,
    {
      config: { access: 'authenticated', permission: 'Alerts.Create' },
      schema: {
        body: caseInsensitiveBody(z.object({ processalert: withTextFields(processAlert, TEXT_FIELDS) }), {
          ...PROCESS_ALERT_FIELDS,
          processalert: 'processAlert',
        }),
        description:
          '{"processAlert": {Message, Severity, ProcessName, RobotName}}, all required, each ≤ 512 characters → 200. X-UIPATH-OrganizationUnitId becomes the folder, X-UIPATH-JobKey the job.',
      },
    },
    async (request, reply) => {
      const outer = lowerCaseKeys(request.body) as Record<string, unknown> | undefined;
      const fields = textFields(lowerCaseKeys(outer?.processalert), TEXT_FIELDS) as Record<string, unknown> | undefined;
      // .NET reads an enum from its number written as a string too ("3" is Error), and its name with white space around it (" Error ").
      if (typeof fields?.severity === 'string') fields.severity = /^\s*\d{1,3}\s*$/.test(fields.severity) ? Number(fields.severity) : fields.severity.trim();
      const parsed = processAlert.safeParse(fields);
      const errors: FieldError[] = parsed.success
        ? []
        : zodIssuesToSay(parsed.error.issues).map((i) => ({
            path: i.path.length > 0 ? `processAlert.${PROCESS_ALERT_FIELDS[String(i.path[0])] ?? String(i.path[0])}` : 'processAlert',
            message: i.message,
          }));
      const given = parsed.success ? parsed.data.severity : fields?.severity;
      const severity = typeof given === 'number' ? SEVERITIES[given] : typeof given === 'string' ? parseSeverity(given) : undefined;
      // Named beside the schema's errors (a missing RobotName), not only once they are fixed.
      if (typeof given === 'string' && !severity && !errors.some((e) => e.path === 'processAlert.Severity')) {
        const after = errors.filter((e) => e.path === 'processAlert.Message').length;
        errors.splice(after, 0, { path: 'processAlert.Severity', message: SEVERITY_MESSAGE });
      }
      if (errors.length > 0 || !parsed.success || !severity) throw badRequest(`${errors[0]!.path}: ${errors[0]!.message}`, errors);
      const tenant = await orchestratorTenant(db, request);
      const job = headerValue(request, 'x-uipath-jobkey');
      await ingest.raise(tenant.id, [
        {
          severity,
          component: 'Process',
          event: CUSTOM_EVENT,
          message: parsed.data.message,
          data: null,
          source: JSON.stringify({ process: parsed.data.processname, robot: parsed.data.robotname, ...(job ? { job } : {}) }),
          folder: headerValue(request, 'x-uipath-organizationunitid') ?? null,
          dedupKey: null,
          occurredAt: undefined,
        },
      ]);
      return reply.status(200).send();
    },
  );
};
