import { z } from 'zod';
import { NOT_SENT_REASONS } from '../not-sent.js';
import { callerTimeZone } from '../../access/caller-zone.js';
import { tenantOf } from '../../access/routes.js';
import type { AppDeps, RouteModule } from '../../http/context.js';
import { bucketPeriodView, bucketPeriods, hourBuckets } from '../../shared/time-buckets.js';
import { CURSOR_KEY_PURPOSE } from '../../shared/signed-cursor.js';
import { emailAddress, instantText, queryCount, timeZone } from '../../shared/validation.js';
import { attemptCountsView, attemptHistogram, lastFailingReply } from './hourly.js';
import { DELIVERY_STATUSES } from './tables.js';
import { notFound } from '../../http/problem.js';
import { type DeliveryLogEntry, decodeLogCursor, encodeLogCursor, findDelivery, listDeliveries, showDelivery } from './log.js';
import { bindMessageIds, holdsUnboundMessageId } from '../message-id.js';
import { readSendSettings } from '../../settings/mail-settings.js';

const EMAIL_KINDS = ['summary', 'daily', 'immediate', 'test', 'mail-health'] as const;

const logQuery = z.object({
  status: z.enum(DELIVERY_STATUSES).optional(),
  kind: z.enum(EMAIL_KINDS).optional().describe('Without it, every kind but mail-health (the notices of a mail incident to the administrators).'),
  // Every recipient is a mailbox: anything else can only be a mistake, so it is named, not answered with nothing.
  // An address has no space: one inside it is the '+' of a plus address typed as is in the URL (ops+alerts@…).
  recipient: z
    .preprocess((value) => (typeof value === 'string' ? value.trim().replaceAll(' ', '+') : value), emailAddress)
    .optional()
    .describe('The recipient address (case ignored).'),
  limit: queryCount(1_000, 1).default(100),
  cursor: z
    .string()
    .max(200)
    .optional()
    .describe(
      "The nextCursor of the previous page, as given (opaque, and signed for the tenant: one altered, or from another tenant, is a 400 naming cursor). Filters and limit may change between pages; the walk goes on after the cursor's row.",
    ),
});

const logEntry = z.object({
  id: z.string(),
  kind: z.enum(EMAIL_KINDS),
  recipient: z.string().describe('The recipient address.'),
  recipientName: z.string().nullable(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  lastError: z.string().nullable().describe('Why the last attempt failed; never holds a password or token.'),
  lastCode: z.number().int().nullable().describe('The SMTP reply code of the last failure, when the server answered.'),
  deadlineReached: z
    .boolean()
    .describe(
      'True when the email failed because its deadline (24 h by default) came while its server was failing for now (timeouts, 4xx): lastError then starts "gave up after … of retries:" and the reply is not a refusal for good.',
    ),
  notSent: z
    .enum(NOT_SENT_REASONS)
    .nullable()
    .describe(
      "Why Tocsin did not send a failed email whose world changed after its decision (its reader deleted or without Alerts.View, the emails turned off, every alert in it deleted or muted, the tenant's alert emails switched off, a notice's administrator gone); lastError says it in English. Null otherwise.",
    ),
  smtpResponse: z.string().nullable().describe('The server reply to the final "." of the accepted send, or of the last failure.'),
  messageId: z.string().describe('Stable for the email, the same on every attempt.'),
  windowStart: instantText.optional(),
  windowEnd: instantText.optional(),
  createdAt: instantText,
  sentAt: instantText.nullable(),
  nextAttemptAt: instantText.nullable().describe('When an unfinished delivery is next tried.'),
});

const attemptEntry = z.object({
  attempt: z.number().int().describe('1 for the first attempt.'),
  outcome: z.string().describe('sent, retry (failed for now), failed (for good) or interrupted (its worker died during it; tried again).'),
  code: z.number().int().nullable().describe('The SMTP reply code, when the server answered.'),
  response: z
    .string()
    .nullable()
    .describe("The server's reply verbatim, or why the attempt failed without one (a timeout, a drop); never holds a password or token."),
  startedAt: instantText,
  finishedAt: instantText.nullable(),
  durationMs: z.number().int().nullable(),
});

const hourlyView = z.object({
  timeZone: z.string(),
  buckets: z.array(z.object({ ...bucketPeriodView, ...attemptCountsView.shape })).describe('Oldest first, the last one holding now'),
  lastFailure: z
    .object({
      at: z.iso.datetime(),
      code: z.number().int().nullable(),
      response: z.string().nullable().describe("The server's reply, verbatim"),
      recipient: z.string(),
      final: z.boolean().describe('false: the email is tried again'),
    })
    .nullable()
    .describe('The newest failed attempt of the period'),
});

const hourlyQuery = z.object({
  hours: queryCount(168, 1).default(24).describe('How many hours back, the current one included.'),
  timeZone: timeZone.optional().describe("The local clock the hours follow; by default the caller's (a user's own, else the tenant's)."),
});

const tenantParams = z.object({ tenant: z.string().min(1).max(200) });

/**
 * withSendingIds shows the emails not sent yet under the Message-ID they are to be sent with: an ID
 * gets the From address's domain only when sent (bindMessageIds), so a waiting email showed its
 * placeholder '<id@tocsin>' and then, once sent, another ID. Their domain is the From address their
 * tenant sends with now (the system default's for the mail health notices), as the sender will
 * write it. So is an email that failed before its message went (a recipient refused, a server never
 * reached), which kept its placeholder: it read '<id@tocsin>' once failed after the ID it showed
 * while retrying. An email whose message went, sent or not, shows the ID it was sent with.
 */
async function withSendingIds<T extends DeliveryLogEntry>(deps: AppDeps, tenantId: string, entries: T[]): Promise<T[]> {
  const waiting = (entry: T) => entry.status !== 'sent' && holdsUnboundMessageId(entry.messageId);
  if (!entries.some(waiting)) return entries;
  const read = await readSendSettings(deps.storage.db, tenantId);
  const system = read.systemSmtp(deps.secretBox, deps.systemSmtp).smtp.fromAddress;
  const own = read.settings.useCustom && read.settings.custom ? read.settings.custom.fromAddress : system;
  return entries.map((entry) =>
    waiting(entry) ? { ...entry, messageId: bindMessageIds(entry.messageId, entry.kind === 'mail-health' ? system : own) } : entry,
  );
}

/** deliveryRoutes serve the delivery log: one row per email with its status, attempts and the server's reply. */
export const deliveryRoutes: RouteModule = (app, deps) => {
  const { storage, clock } = deps;
  const cursorKey = deps.secretBox.deriveKey(CURSOR_KEY_PURPOSE);
  app.get(
    '/api/v1/tenants/:tenant/deliveries',
    {
      config: { permission: 'Settings.View' },
      schema: {
        params: tenantParams,
        querystring: logQuery,
        response: { 200: z.object({ items: z.array(logEntry), nextCursor: z.string().nullable() }) },
      },
    },
    async (request) => {
      const q = request.query;
      const tenantId = tenantOf(request).id;
      const page = await listDeliveries(storage.db, tenantId, {
        status: q.status,
        kind: q.kind,
        recipient: q.recipient,
        limit: q.limit,
        before: q.cursor === undefined ? undefined : decodeLogCursor(cursorKey, tenantId, q.cursor),
      });
      const items = await withSendingIds(deps, tenantId, page.rows.map(showDelivery));
      return { items, nextCursor: page.next === null ? null : encodeLogCursor(cursorKey, tenantId, page.next) };
    },
  );

  app.get(
    '/api/v1/tenants/:tenant/deliveries/:deliveryId',
    {
      config: { permission: 'Settings.View' },
      schema: {
        params: tenantParams.extend({ deliveryId: z.string().min(1).max(100) }),
        description: "One email of the delivery log with every attempt at it, oldest first, and the server's reply to each.",
        response: { 200: logEntry.extend({ history: z.array(attemptEntry) }) },
      },
    },
    async (request) => {
      const delivery = await findDelivery(storage.db, tenantOf(request).id, request.params.deliveryId);
      if (!delivery) throw notFound('Delivery');
      return (await withSendingIds(deps, tenantOf(request).id, [delivery]))[0]!;
    },
  );

  app.get(
    '/api/v1/tenants/:tenant/deliveries/hourly',
    {
      config: { permission: 'Settings.View', answer: hourlyView },
      schema: {
        params: tenantParams,
        querystring: hourlyQuery,
        description:
          "Delivery attempts per hour for the console's chart, by how they ended: {timeZone, buckets: [{start, end, sent, retrying, failed}], lastFailure: {at, code, response, recipient, final} | null}, oldest first; lastFailure is the newest failed attempt of the period with the server's reply verbatim.",
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      const zone = request.query.timeZone ?? (await callerTimeZone(storage.db, request));
      const buckets = hourBuckets(request.query.hours, zone, clock.now());
      const [counts, failure] = await Promise.all([
        attemptHistogram(storage.db, tenant.id, buckets),
        lastFailingReply(storage.db, tenant.id, buckets.bounds[0]!),
      ]);
      return {
        timeZone: zone,
        buckets: bucketPeriods(buckets).map((period, i) => ({ ...period, ...counts[i]! })),
        lastFailure: failure && { ...failure, at: new Date(failure.at).toISOString() },
      };
    },
  );
};
