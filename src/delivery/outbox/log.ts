import { sql } from 'kysely';
import { type NotSentReason, notSentReasonOf } from '../not-sent.js';
import { fieldError } from '../../http/problem.js';
import { CURSOR_MESSAGE, openCursor, signCursor } from '../../shared/signed-cursor.js';
import type { Db } from '../../storage/database.js';
import { emailKey, emailKeys } from '../../shared/validation.js';
import type { EmailKind } from '../contract.js';
import { GAVE_UP_PREFIX } from './attempt.js';
import type { DeliveryRow } from './delivery.js';
import { type DeliveryStatus, UNFINISHED_STATUSES } from './tables.js';

/** DeliveryLogQuery filters and pages one tenant's delivery log, newest first. */
export interface DeliveryLogQuery {
  readonly status?: string | undefined;
  readonly kind?: string | undefined;
  readonly recipient?: string | undefined;
  readonly limit: number;
  /** Only rows older than this id (the last row of the previous page). */
  readonly before?: string | undefined;
}

/** DeliveryLogEntry is one row of the delivery log as the API shows it. */
export interface DeliveryLogEntry {
  id: string;
  kind: EmailKind;
  recipient: string;
  recipientName: string | null;
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  lastCode: number | null;
  /** A failed email given up at its deadline after transient failures, not refused for good by its server. */
  deadlineReached: boolean;
  /** A failed email Tocsin did not send because the world changed after its decision (its reader removed, its alerts muted): why (NOT_SENT_TEXT). */
  notSent: NotSentReason | null;
  smtpResponse: string | null;
  messageId: string;
  windowStart?: string;
  windowEnd?: string;
  createdAt: string;
  sentAt: string | null;
  nextAttemptAt: string | null;
}

/** DeliveryAttemptEntry is one attempt at an email as the API shows it: how it ended and what the server said. */
export interface DeliveryAttemptEntry {
  attempt: number;
  outcome: string;
  code: number | null;
  response: string | null;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
}

/**
 * findDelivery reads one of a tenant's deliveries and every attempt at it, oldest first, or
 * undefined when the tenant has no delivery with that id (another tenant's included).
 */
export async function findDelivery(db: Db, tenantId: string, id: string): Promise<(DeliveryLogEntry & { history: DeliveryAttemptEntry[] }) | undefined> {
  const row = await db.selectFrom('deliveries').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  const attempts = await db
    .selectFrom('delivery_attempts')
    .select(['attempt', 'outcome', 'code', 'response', 'started_at', 'finished_at', 'duration_ms'])
    .where('delivery_id', '=', id)
    .orderBy('attempt')
    .orderBy('started_at')
    .execute();
  return {
    ...showDelivery(row),
    history: attempts.map((a) => ({
      attempt: a.attempt,
      outcome: a.outcome,
      code: a.code,
      response: a.response,
      startedAt: iso(Number(a.started_at)),
      finishedAt: a.finished_at === null ? null : iso(Number(a.finished_at)),
      durationMs: a.duration_ms,
    })),
  };
}

/**
 * listDeliveries reads a page of a tenant's delivery log, newest first (ids are UUIDv7, so id
 * order is creation order), and the id to continue from when there is more.
 */
export async function listDeliveries(db: Db, tenantId: string, query: DeliveryLogQuery): Promise<{ rows: DeliveryRow[]; next: string | null }> {
  const addresses = query.recipient ? await recipientSpellings(db, tenantId, query.recipient) : undefined;
  if (addresses !== undefined && addresses !== 'ascii' && addresses.length === 0) return { rows: [], next: null };
  const rows = await deliveryLogPage(db, tenantId, query, addresses).execute();
  const more = rows.length > query.limit;
  const page = more ? rows.slice(0, query.limit) : rows;
  return { rows: page, next: more ? page[page.length - 1]!.id : null };
}

/**
 * deliveryLogPage is listDeliveries' statement for one page (one row more than the limit, to tell
 * whether more follow); `addresses` is what recipientSpellings found for the query's recipient.
 */
export function deliveryLogPage(db: Db, tenantId: string, query: DeliveryLogQuery, addresses: readonly string[] | 'ascii' | undefined) {
  let q = db.selectFrom('deliveries').selectAll().where('tenant_id', '=', tenantId);
  if (query.status) q = q.where('status', '=', query.status);
  // The notices of a mail incident (sent to the administrators through the system default) are listed
  // when asked for: API.md's log is of the four kinds a tenant's readers receive.
  q = query.kind ? q.where('kind', '=', query.kind) : q.where('kind', '!=', 'mail-health');
  // lower(recipient_address) is the expression of the index deliveries_tenant_recipient. An address
  // typed in ASCII names only ASCII addresses: PostgreSQL's lower() also folds 'İ' to 'i' and the
  // Kelvin sign to 'k', which SQLite's keeps, so only PostgreSQL found such addresses for it.
  if (addresses === 'ascii')
    q = q
      .where(sql<string>`lower(recipient_address)`, '=', (query.recipient ?? '').toLowerCase())
      .where(sql<boolean>`octet_length(recipient_address) = length(recipient_address)`);
  else if (addresses !== undefined) q = q.where('recipient_address', 'in', addresses);
  if (query.before) q = q.where('id', '<', query.before);
  return q.orderBy('id', 'desc').limit(query.limit + 1);
}

/**
 * recipientSpellings is how the tenant's log spells the address `typed` in any case, its domain in
 * Unicode or in punycode (one mailbox, as emailKey has it). SQLite's lower() folds only ASCII
 * (PostgreSQL's as its locale says), so an address with other letters ('Émile@…') or an
 * international domain is matched by emailKey on both dialects, SQL only narrowing the search to
 * addresses as long as one of its spellings; an ASCII address ('ascii') is compared with lower() in
 * the page's query.
 */
async function recipientSpellings(db: Db, tenantId: string, typed: string): Promise<string[] | 'ascii'> {
  const spellings = emailKeys(typed);
  if (spellings.length === 1 && /^[\x20-\x7e]*$/.test(typed)) return 'ascii';
  const wanted = emailKey(typed);
  const lengths = [...new Set([typed, ...spellings].map((spelling) => [...spelling].length))];
  const stored = await db
    .selectFrom('deliveries')
    .select('recipient_address')
    .distinct()
    .where('tenant_id', '=', tenantId)
    .where((eb) => eb(eb.fn('length', ['recipient_address']), 'in', lengths))
    .execute();
  return stored.map((r) => r.recipient_address).filter((address) => emailKey(address) === wanted);
}

const iso = (ms: number) => new Date(ms).toISOString();
const UNFINISHED: ReadonlySet<string> = new Set(UNFINISHED_STATUSES);

/** showDelivery maps a stored row to its API shape; the payload (alert contents) stays out of the log. */
export function showDelivery(row: DeliveryRow): DeliveryLogEntry {
  return {
    id: row.id,
    kind: row.kind as EmailKind,
    recipient: row.recipient_address,
    recipientName: row.recipient_name,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    lastError: row.last_error,
    lastCode: row.last_code,
    deadlineReached: row.status === 'failed' && row.last_error?.startsWith(GAVE_UP_PREFIX) === true,
    notSent: row.status === 'failed' ? notSentReasonOf(row.last_error) : null,
    smtpResponse: row.smtp_response,
    messageId: row.message_id,
    ...(row.window_start === null ? {} : { windowStart: iso(row.window_start) }),
    ...(row.window_end === null ? {} : { windowEnd: iso(row.window_end) }),
    createdAt: iso(row.created_at),
    sentAt: row.sent_at === null ? null : iso(row.sent_at),
    nextAttemptAt: UNFINISHED.has(row.status) ? iso(row.next_attempt_at) : null,
  };
}

/** encodeLogCursor makes the opaque `nextCursor` of a page from the id of its last row, signed for the tenant (signCursor). */
export function encodeLogCursor(key: Buffer, tenantId: string, id: string): string {
  return signCursor(key, tenantId, `d.${id}`);
}

/** decodeLogCursor reads a cursor back; anything this server did not hand out for this tenant is a 400 naming `cursor`. */
export function decodeLogCursor(key: Buffer, tenantId: string, cursor: string): string {
  const match = /^d\.([\w-]{1,64})$/.exec(openCursor(key, tenantId, cursor) ?? '');
  if (!match) throw fieldError('cursor', CURSOR_MESSAGE);
  return match[1]!;
}
