import { CompiledQuery } from 'kysely';
import type { IncomingHttpHeaders } from 'node:http';
import { type AlertInput, type NewAlert, normaliseAlert, parseAlertsBody } from '../alerts/input.js';
import type { CommitShared } from '../alerts/ingest.js';
import type { AppDeps } from '../http/context.js';
import { MAX_JSON_DEPTH, decodeBody, findNul, inflateBody, jsonDepthExceeds, wellFormedJson, withoutNul } from '../http/input-guard.js';
import { RateLimiter } from '../settings/rate-limit.js';
import { SecretDecryptError } from '../settings/secret-box.js';
import type { Db } from '../storage/database.js';
import { inListOf, sqlOnce } from '../storage/sql-once.js';
import { type FieldError, HttpError, UNAVAILABLE_RETRY_AFTER_SECONDS } from '../http/problem.js';
import { isRetryable } from '../shared/stage-error.js';
import { coalesced } from '../shared/coalesced.js';
import { classifyDbError, lostTransactionRace } from '../storage/errors.js';
import { mapAlertmanager } from './mapping/alertmanager.js';
import { mapOrchestratorEvent, orchestratorStaleness } from './mapping/orchestrator.js';
import { type MappedAlerts, type MappingFailure, applyOverride, deliveryKey, mappingFailure, measuredJson } from './mapping/shared.js';
import type { SourceKind, SourceMapping } from './model.js';
import { signingKey } from './secrets.js';

/** Logger is what the receive path writes with: the request's own logger (its lines carry its id) or the process's. */
type Logger = Pick<AppDeps['logger'], 'info' | 'warn'>;
import { secretDigest, verifyBearerOrBasic, verifyOrchestrator, verifyStandardWebhook, type Verdict } from './signatures.js';
import {
  PUSH_SECRET_UNREADABLE,
  type ReceivedAs,
  keepAlive,
  type Reception,
  type SourceRow,
  readSecrets,
  recordReception,
  recordReceptions,
  stillReceives,
  unreadableIsNews,
} from './store.js';

/** MAX_RECEIVE_BYTES bounds a received body (413 above it); signatures are checked on these bytes. */
export const MAX_RECEIVE_BYTES = 1024 * 1024;

/** RECEIVED_KEYS_PER_QUERY bounds the keys one lookup of the deliveries received before names (padded to a power of two). */
const RECEIVED_KEYS_PER_QUERY = 4_096;

/** RETRY_AFTER_SECONDS is what a 503 asks the sender to wait (the same as every 503 of the API). */
const RETRY_AFTER_SECONDS = UNAVAILABLE_RETRY_AFTER_SECONDS;

/** ReceiveAnswer is what the receive route sends: a status, a JSON body, and extra headers. */
export interface ReceiveAnswer {
  readonly status: number;
  /** `{ids}` for a 202; the problem's detail (and field errors) otherwise. */
  readonly ids?: string[];
  readonly detail?: string;
  /** A 400's fields (API.md: `errors: [{path, message}]`). */
  readonly errors?: readonly FieldError[];
  readonly headers?: Record<string, string>;
}

const NOT_FOUND: ReceiveAnswer = { status: 404, detail: 'Source not found.' };
// The same words whatever was wrong: the reason goes to the source's lastError and the log only.
const UNAUTHORIZED_DETAIL = "The request is not authenticated by this source's secret.";
const REALM = 'realm="Tocsin source"';
/**
 * UNAUTHORIZED is each kind's 401, with the challenge RFC 9110 requires on every 401: what its
 * sender authenticates with. Alertmanager sends either a bearer or Basic credentials (Basic's
 * realm is required, RFC 7617); the signing kinds have no registered scheme, so theirs is named
 * after the signature they send. Built once: a flood of refusals allocates no answer each.
 */
const UNAUTHORIZED: Readonly<Record<SourceKind, ReceiveAnswer>> = {
  alertmanager: unauthorizedAs(`Bearer ${REALM}, Basic ${REALM}, charset="UTF-8"`),
  'orchestrator-webhook': unauthorizedAs(`X-UiPath-Signature ${REALM}`),
  webhook: unauthorizedAs(`Standard-Webhooks ${REALM}`),
  // Never answered: a pull source has no receive URL (404).
  'orchestrator-pull': unauthorizedAs(`Bearer ${REALM}`),
};
function unauthorizedAs(challenge: string): ReceiveAnswer {
  return { status: 401, detail: UNAUTHORIZED_DETAIL, headers: { 'www-authenticate': challenge } };
}
/** malformed is the 400 of a body that is not what the source's kind sends, naming the fields. */
const malformed = (failure: MappingFailure): ReceiveAnswer => ({ status: 400, detail: failure.invalid, errors: failure.errors });
/** malformedBody is the 400 of a body wrong as a whole (`message` says how). */
const malformedBody = (message: string): ReceiveAnswer => malformed(mappingFailure([{ path: '(root)', message }]));
const unavailable = (detail: string): ReceiveAnswer => ({ status: 503, detail, headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } });
const SOURCE_UNREADABLE_DETAIL = 'The source cannot be read now; retry later.';
/** The answer while none of a source's secrets opens: the words of any source that cannot be read now (the reason is for its administrator). */
const SECRET_UNREADABLE = unavailable(SOURCE_UNREADABLE_DETAIL);

const header = (headers: IncomingHttpHeaders, name: string) => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(' ') : value;
};

/**
 * bodyText reads a received body in the charset its Content-Type names, as the REST API reads one
 * (`charset=ISO-8859-1`, `utf-16`: .NET, Java and Windows PowerShell clients label what they send
 * so), UTF-8 when it names none. A charset Tocsin does not know is read as UTF-8 too: the REST
 * API's 415 would be a 4xx that the sender drops for good (API.md lists none here).
 */
function bodyText(raw: Buffer, contentType: string | undefined): string {
  try {
    return decodeBody(raw, contentType);
  } catch {
    return raw.toString('utf8');
  }
}

/**
 * standardHeader reads one of the three Standard Webhooks headers, `webhook-<part>`, else the
 * `svix-<part>` that Svix-powered senders send unless their headers are white-labelled (Svix's own
 * libraries read both, as its documentation says).
 */
const standardHeader = (headers: IncomingHttpHeaders, part: 'id' | 'timestamp' | 'signature') =>
  header(headers, `webhook-${part}`) ?? header(headers, `svix-${part}`);

/**
 * verificationKeys are what authenticate compares a request with, derived once from a source's
 * active secrets (and kept with them): the HMAC keys of the signing kinds, the SHA-256 digests of
 * an alertmanager source's bearer secrets.
 */
function verificationKeys(kind: SourceKind, secrets: readonly string[]): Buffer[] {
  return secrets.map((s) => (kind === 'alertmanager' ? secretDigest(s) : signingKey(kind, s)));
}

/** authenticate checks a request against a source's verificationKeys, the way its kind signs. */
function authenticate(kind: SourceKind, headers: IncomingHttpHeaders, raw: Buffer, keys: readonly Buffer[], nowMs: number): Verdict {
  switch (kind) {
    case 'orchestrator-webhook':
      return verifyOrchestrator(raw, header(headers, 'x-uipath-signature'), keys);
    case 'alertmanager':
      return verifyBearerOrBasic(header(headers, 'authorization'), keys);
    case 'webhook':
      return verifyStandardWebhook(
        raw,
        { id: standardHeader(headers, 'id'), timestamp: standardHeader(headers, 'timestamp'), signature: standardHeader(headers, 'signature') },
        keys,
        nowMs,
      );
    default:
      return { ok: false, reason: `a ${kind} source receives nothing` };
  }
}

/** mapWebhook validates a Standard Webhooks body (one AlertInput or a batch) and applies the source's overrides. */
function mapWebhook(
  body: unknown,
  webhookId: string,
  mapping: SourceMapping,
  now: number,
): { alerts: NewAlert[]; deliveryKeys: string[]; ignored: number } | MappingFailure {
  const parsed = parseAlertsBody(body, now);
  if ('errors' in parsed) return mappingFailure(parsed.errors);
  let ignored = 0;
  const alerts = parsed.alerts.flatMap((alert) => {
    const resolved = applyOverride({ severity: alert.severity, component: alert.component, alert: true }, mapping.events, alert.event);
    if (!resolved.alert) {
      ignored += 1;
      return [];
    }
    return [{ ...alert, severity: resolved.severity, component: resolved.component }];
  });
  return { alerts, deliveryKeys: [deliveryKey('webhook-id', webhookId)], ignored };
}

/** normalised checks the mapped alerts like REST input; a failure names the alert and field. */
function normalised(mapped: MappedAlerts): NewAlert[] | MappingFailure {
  const out: NewAlert[] = [];
  for (const [i, input] of mapped.alerts.entries()) {
    const result = normaliseAlert(input as AlertInput, measuredJson(input.data));
    // The sender's event became several alerts: the path names which one (as in a REST batch).
    if ('errors' in result) return mappingFailure(result.errors.map((e) => ({ path: `alerts.${i}.${e.path}`, message: e.message })));
    out.push(result.alert);
  }
  return out;
}

/** Found is what findDeliveries gives of each stored key: its alerts' ids and when it was received. */
type Found = Map<string, { ids: string[]; at: number }>;

/**
 * findDeliveries gives the stored deliveries among `keys`, each with its alert ids and when it was
 * received, read a slice of RECEIVED_KEYS_PER_QUERY keys at a time: a 1 MB group holds over 16,384
 * short alerts, whose keys in one statement passed SQLite's bound of 32,766 variables (a 503 at
 * every delivery of the group). Compiled once per key count: it runs for every commit. The
 * earliest is picked by the caller, not by an `order by`: with two keys or more SQLite sorted the
 * (at most a few) rows in a temporary B-tree, which cost about 0.25 CPU-ms an event under
 * bench:sources, a quarter of an orchestrator-webhook event's work.
 */
async function findDeliveries(db: Db, sourceId: string, keys: readonly string[]): Promise<Found> {
  const found: Found = new Map();
  for (let start = 0; start < keys.length; start += RECEIVED_KEYS_PER_QUERY) {
    const padded = inListOf(keys.slice(start, start + RECEIVED_KEYS_PER_QUERY));
    const text = sqlOnce(db, `findDeliveries ${padded.length}`, () =>
      db
        .selectFrom('source_deliveries')
        .select(['delivery_id', 'alert_ids', 'received_at'])
        .where('source_id', '=', sourceId)
        .where('delivery_id', 'in', padded),
    );
    const { rows } = await db.executeQuery<{ delivery_id: string; alert_ids: string; received_at: number | string }>(
      CompiledQuery.raw(text, [sourceId, ...padded]),
    );
    for (const row of rows) found.set(row.delivery_id, { ids: JSON.parse(row.alert_ids) as string[], at: Number(row.received_at) });
  }
  return found;
}

/** earliestOf is the alert ids of the first received of `keys` among the found deliveries, if any. */
function earliestOf(found: ReadonlyMap<string, { ids: string[]; at: number }>, keys: readonly string[]): string[] | undefined {
  let first: { ids: string[]; at: number } | undefined;
  for (const key of keys) {
    const hit = found.get(key);
    if (hit && (!first || hit.at < first.at)) first = hit;
  }
  return first?.ids;
}

/** OncePlan says which of a delivery's alerts are new, and answers the ids of all of them. */
export interface OncePlan {
  /** The indexes of the alerts to store, in order (an alert key met twice in one delivery: its first). */
  readonly fresh: readonly number[];
  /** The ids of every alert of the delivery, in order, given the ids the fresh ones were stored under. */
  answer(freshIds: readonly string[]): string[];
}

/**
 * planOnce decides, from the alerts' keys and the ids already stored under some of them, which
 * alerts to store: one received before answers its earlier id, a key repeated within the delivery
 * answers the id of its first alert.
 */
export function planOnce(alertKeys: readonly string[], earlier: ReadonlyMap<string, { ids: readonly string[] }>): OncePlan {
  const fresh: number[] = [];
  const position = new Map<string, number>();
  // An earlier id, or the place of the alert's id among the fresh ones.
  const slots = alertKeys.map((key, i): string | number => {
    const seen = earlier.get(key)?.ids[0];
    if (seen !== undefined) return seen;
    let at = position.get(key);
    if (at === undefined) {
      at = fresh.push(i) - 1;
      position.set(key, at);
    }
    return at;
  });
  return { fresh, answer: (freshIds) => slots.map((slot) => (typeof slot === 'string' ? slot : freshIds[slot]!)) };
}

/** KeyRow is a delivery or alert key to store, with the ids of its alerts and when it was received. */
type KeyRow = readonly [key: string, ids: readonly string[], at: number];

/** KEYS_PER_INSERT bounds the rows of one insert of keys (5 parameters each, well within SQLite's 32,766). */
const KEYS_PER_INSERT = 1_000;

/**
 * storeDeliveryKeys writes the keys of a commit's deliveries of one source, each with the ids of
 * its alerts, in the transaction that stores them: one statement for all of them (an
 * orchestrator-webhook event has two keys, a commit holds several events), compiled once per row count.
 */
async function storeDeliveryKeys(tx: Db, source: SourceRow, rows: readonly KeyRow[]): Promise<void> {
  for (let start = 0; start < rows.length; start += KEYS_PER_INSERT) {
    const slice = rows.slice(start, start + KEYS_PER_INSERT);
    const row = { source_id: source.id, delivery_id: '', tenant_id: source.tenant_id, alert_ids: '', received_at: 0 };
    const text = sqlOnce(tx, `storeDeliveryKeys ${slice.length}`, () => tx.insertInto('source_deliveries').values(slice.map(() => row)));
    await tx.executeQuery(
      CompiledQuery.raw(
        text,
        slice.flatMap(([key, ids, at]) => [source.id, key, source.tenant_id, JSON.stringify(ids), at]),
      ),
    );
  }
}

/** What a group commit's deliveries share in its transaction (CommitShared), under these keys. */
const CHECKED = Symbol('sources checked');
const ENLISTED = Symbol('keys to read');
const RECEIVED = Symbol('receptions to record');

/**
 * stillReceivesIn is stillReceives read once per commit for all the events checked against the
 * same read of a source: in one transaction the answer is the same for each (on SQLite nothing
 * else writes meanwhile; on PostgreSQL a change committed elsewhere applies to the next commit,
 * as it would have to an event whose check came just before it), and it was a statement per event.
 */
function stillReceivesIn(tx: Db, shared: CommitShared, as: ReceivedAs): Promise<boolean> {
  let checked = shared.get(CHECKED) as Map<ReceivedAs, Promise<boolean>> | undefined;
  if (!checked) shared.set(CHECKED, (checked = new Map()));
  let answer = checked.get(as);
  if (!answer) checked.set(as, (answer = stillReceives(tx, as)));
  return answer;
}

/** The keys a commit's events of each source enlisted, and once the first of them read them, what was found. */
type Enlisted = Map<string, { readonly keys: string[]; found?: Promise<Found> }>;

/** enlistKeys puts an event's keys with those its commit's other events of the source will read (readEnlisted). */
function enlistKeys(shared: CommitShared, sourceId: string, keys: readonly string[]): void {
  let enlisted = shared.get(ENLISTED) as Enlisted | undefined;
  if (!enlisted) shared.set(ENLISTED, (enlisted = new Map()));
  const entry = enlisted.get(sourceId);
  if (entry) entry.keys.push(...keys);
  else enlisted.set(sourceId, { keys: [...keys] });
}

/**
 * readEnlisted reads the keys every event of a commit enlisted for a source, once for all of them
 * (the first to ask reads; no event of the commit has written a key by then, as choose runs
 * before any write): a statement per commit instead of per event. Each event looks up only its own keys in it.
 */
function readEnlisted(tx: Db, shared: CommitShared, sourceId: string): Promise<Found> {
  const entry = (shared.get(ENLISTED) as Enlisted | undefined)?.get(sourceId);
  if (!entry) return Promise.resolve(new Map());
  entry.found ??= findDeliveries(tx, sourceId, [...new Set(entry.keys)]);
  return entry.found;
}

/** An accepted event's reception and keys, gathered with the others of its source in a commit. */
interface Gathered {
  readonly source: SourceRow;
  now: number;
  readonly receptions: Reception[];
  readonly keys: KeyRow[];
}

/**
 * gatherReception keeps an accepted event's reception and keys to be written with the others of its
 * source in the same commit (recordGathered): one insert of the keys, one update of the source's
 * counters and one of its ring per commit, instead of each per event.
 */
function gatherReception(shared: CommitShared, source: SourceRow, now: number, reception: Reception, keys: readonly KeyRow[]): void {
  let received = shared.get(RECEIVED) as Map<string, Gathered> | undefined;
  if (!received) shared.set(RECEIVED, (received = new Map()));
  const gathered = received.get(source.id);
  if (gathered) {
    gathered.now = now;
    gathered.receptions.push(reception);
    gathered.keys.push(...keys);
  } else received.set(source.id, { source, now, receptions: [reception], keys: [...keys] });
}

/** recordGathered writes the keys and receptions gathered for a source in this commit, once (the first of its events to settle). */
async function recordGathered(tx: Db, shared: CommitShared, sourceId: string): Promise<void> {
  const received = shared.get(RECEIVED) as Map<string, Gathered> | undefined;
  const gathered = received?.get(sourceId);
  if (!gathered) return;
  received!.delete(sourceId);
  await storeDeliveryKeys(tx, gathered.source, gathered.keys);
  await recordReceptions(tx, sourceId, gathered.now, gathered.receptions);
}

/** Receiver answers requests to the sources' receive URLs. */
export interface Receiver {
  /** `log` is the request's logger, so that the lines about it carry its id (the process's by default). */
  receive(sourceId: string, headers: IncomingHttpHeaders, raw: Buffer, log?: Logger): Promise<ReceiveAnswer>;
  /**
   * tooLarge records on a source a request refused with 413 before its body was read: the sender
   * drops it for good (Alertmanager retries no 4xx), so the source's counters and last error say so.
   */
  tooLarge(sourceId: string): Promise<void>;
  /** forget drops what this process holds about a source that was just changed, disabled or deleted. */
  forget(sourceId: string): void;
}

/**
 * SOURCE_CACHE_MS is how long a process reuses a source and its opened secrets: at thousands of
 * events a second, two reads and a decryption per request are worth saving. What a change made
 * through another process takes away applies at once all the same: the transaction that stores an
 * event checks that the source is still enabled with the mapping and secrets the event was checked
 * against (stillReceives), else the event is received again from a fresh read. A new secret's
 * first event fails the cached check and reads the secrets again, and an event for a source cached
 * as disabled reads it again, so one enabled again is taken at once too.
 */
const SOURCE_CACHE_MS = 1_000;
const MAX_CACHED_SOURCES = 10_000;

/** CHANGED: the transaction storing an event found its source changed since it was read. */
const CHANGED = Symbol('source changed');

/** STORE_TRIES is how many times a delivery is stored again after racing another for a key. */
const STORE_TRIES = 4;

interface Known {
  readonly source: SourceRow;
  /** The verificationKeys of its active secrets. */
  readonly keys: Buffer[];
  readonly mapping: SourceMapping;
  /** What the keys and mapping were read from, checked again when an event is stored. */
  readonly as: ReceivedAs;
  readonly at: number;
  /** None of its secrets opens (sealed under another key): nothing can be authenticated, every event waits (503). */
  readonly unreadable?: true;
}

/**
 * createReceiver builds the receive path of one app: find the source (404 unknown or disabled),
 * authenticate the raw bytes (401), hold the source to its rate (503), parse and map (400), then
 * store the alerts through the app's ingestion (group commit, Fatal signal, flood control) in one
 * transaction with the delivery keys and the reception: 202 `{ids}` only once committed. A
 * redelivery answers the first delivery's ids and stores nothing; storage trouble is a 503.
 */
export function createReceiver(deps: AppDeps): Receiver {
  const { storage, secretBox, clock, logger } = deps;
  const db = storage.db;
  const ingest = deps.ingest;
  const limiter = new RateLimiter(deps.config.sourceRequestsPerMinute, 60_000, clock);

  const cache = new Map<string, Known>();
  /** The sources whose unreadable secrets this process has recorded and logged, until one opens again. */
  const told = new Set<string>();
  const remember = (known: Known) => {
    if (cache.size >= MAX_CACHED_SOURCES) cache.clear();
    cache.set(known.source.id, known);
    return known;
  };
  /** load returns the source and whether it came from the cache (undefined: no such source). */
  const load = async (sourceId: string, fresh: boolean): Promise<[Known | undefined, boolean]> => {
    const now = clock.now();
    const hit = cache.get(sourceId);
    if (!fresh && hit && now - hit.at < SOURCE_CACHE_MS) return [hit, true];
    const source = await db.selectFrom('sources').selectAll().where('id', '=', sourceId).executeTakeFirst();
    if (!source) {
      cache.delete(sourceId);
      return [undefined, false];
    }
    let secrets: Awaited<ReturnType<typeof readSecrets>>;
    try {
      secrets = await readSecrets(db, secretBox, source.id);
    } catch (err) {
      if (!(err instanceof SecretDecryptError)) throw err;
      // Cached as any source, so that a sender retrying at its rate is answered without a read and
      // a decryption each time; a rotation made here forgets it, one made elsewhere applies once it ages.
      const known: Known = {
        source,
        keys: [],
        mapping: JSON.parse(source.mapping) as SourceMapping,
        as: { sourceId, mapping: source.mapping, secretIds: [] },
        at: now,
        unreadable: true,
      };
      return [remember(known), false];
    }
    // Its secrets open (again): a later incident is told again.
    told.delete(source.id);
    // None: the source was deleted (or its tenant) after it was read, its secrets with it (a source
    // gets one with its row, and a rotation never leaves none). Answered as a source deleted before,
    // 404, not a 401 to a correct signature, which its sender would take for a wrong secret.
    if (secrets.ids.length === 0) {
      cache.delete(sourceId);
      return [undefined, false];
    }
    const keys = verificationKeys(source.kind as SourceKind, secrets.opened);
    const as = { sourceId: source.id, mapping: source.mapping, secretIds: secrets.ids };
    const known = { source, keys, mapping: JSON.parse(source.mapping) as SourceMapping, as, at: now };
    return [remember(known), false];
  };

  // A failed check reads the source again (a secret rotated through another process), once for
  // all the checks that failed while a read was under way.
  const reload = coalesced((sourceId: string) => load(sourceId, true));

  const record = async (sourceId: string, reception: Reception, count = 1) => {
    try {
      // The counters and the log's entry in one transaction: written apart, a client reading between
      // them saw the refusal as the source's last error with no reception logged for it.
      await db.transaction().execute((tx) => recordReception(tx, sourceId, clock.now(), reception, count));
    } catch (err) {
      logger.warn({ err, sourceId }, 'could not record a source reception');
    }
  };
  const note = (source: SourceRow, reception: Reception) => record(source.id, reception);

  // Refusals of a bad signature are what anyone who knows a receive URL can send by the thousand:
  // those that come while one is being written are counted together in the next write, so that a
  // flood costs a write per write's length, not per request (each answered once its count is stored).
  const unwritten = new Map<string, { count: number; reception: Reception }>();
  const writeRejections = coalesced(async (sourceId: string) => {
    const batch = unwritten.get(sourceId);
    unwritten.delete(sourceId);
    if (batch) await record(sourceId, batch.reception, batch.count);
  });

  const refuse = async (source: SourceRow, outcome: Reception['outcome'], answer: ReceiveAnswer, error: string) => {
    const reception: Reception = { outcome, status: answer.status, alertIds: [], error };
    if (outcome === 'rejected') {
      unwritten.set(source.id, { count: (unwritten.get(source.id)?.count ?? 0) + 1, reception });
      await writeRejections(source.id);
    } else await note(source, reception);
    return answer;
  };

  /**
   * awaitSecret answers an event for a source none of whose secrets opens: 503, which its sender
   * retries, so that no event is lost while an administrator rotates the secret. Why is recorded as
   * the source's last error and logged once per incident, not per request (a sender retries at its rate).
   */
  const awaitSecret = async (source: SourceRow, log: Logger): Promise<ReceiveAnswer> => {
    if (!told.has(source.id) && unreadableIsNews(source)) {
      told.add(source.id);
      log.warn({ sourceId: source.id }, `push source: ${PUSH_SECRET_UNREADABLE}`);
      await note(source, { outcome: 'unavailable', status: 503, alertIds: [], error: PUSH_SECRET_UNREADABLE });
    }
    return SECRET_UNREADABLE;
  };

  /** receivedKeys are those of `keys` stored for the source (undefined when they cannot be read now). */
  const receivedKeys = async (sourceId: string, keys: readonly string[], log: Logger): Promise<ReadonlySet<string> | undefined> => {
    try {
      return new Set((await findDeliveries(db, sourceId, keys)).keys());
    } catch (err) {
      log.warn({ err, sourceId }, 'source delivery keys could not be read');
      return undefined;
    }
  };

  /**
   * staleOrKnown answers an authentic event dated more than 5 minutes from now: a redelivery of
   * one received before (Orchestrator retries with the same body, its Timestamp included, after a
   * lost answer or a timeout; a 401 would open its circuit breaker) gets 202 with the first ids,
   * storing nothing; any other is refused.
   */
  const staleOrKnown = async (source: SourceRow, deliveryKeys: readonly string[], stale: string, log: Logger): Promise<ReceiveAnswer> => {
    let earlier: string[] | undefined;
    try {
      earlier = earliestOf(await findDeliveries(db, source.id, deliveryKeys), deliveryKeys);
    } catch (err) {
      log.warn({ err, sourceId: source.id }, 'source delivery keys could not be read');
      return refuse(source, 'unavailable', unavailable('The alerts cannot be stored now; retry later.'), 'storage unavailable');
    }
    if (!earlier) return refuse(source, 'rejected', UNAUTHORIZED[source.kind as SourceKind], `refused: ${stale}`);
    await note(source, { outcome: 'duplicate', status: 202, alertIds: earlier, error: null });
    return { status: 202, ids: earlier };
  };

  /**
   * receiveOnce answers one request as the source was read (`reread`: read now, not taken from the
   * cache), or says CHANGED when the transaction storing its event found the source changed since.
   */
  const receiveOnce = async (
    sourceId: string,
    headers: IncomingHttpHeaders,
    sent: Buffer,
    reread: boolean,
    log: Logger,
  ): Promise<ReceiveAnswer | typeof CHANGED> => {
    // A body sent compressed (Content-Encoding gzip, deflate or br) is read as the REST API reads
    // one, at most MAX_RECEIVE_BYTES once inflated. Its signature is checked on what it compresses
    // (what a web framework hands a sender's verifying code), else on the bytes as sent.
    let raw = sent;
    let unreadable: HttpError | undefined;
    try {
      raw = inflateBody(sent, header(headers, 'content-encoding'), MAX_RECEIVE_BYTES);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      unreadable = err;
    }
    const check = (found: Known) => {
      const verdict = authenticate(found.source.kind as SourceKind, headers, raw, found.keys, clock.now());
      return verdict.ok || raw === sent ? verdict : authenticate(found.source.kind as SourceKind, headers, sent, found.keys, clock.now());
    };
    let known: Known | undefined;
    let verdict: Verdict | undefined;
    try {
      for (const fresh of reread ? [true] : [false, true]) {
        const [found, cached] = fresh ? await reload(sourceId) : await load(sourceId, false);
        known = found;
        // Nor is a source enabled again through another process: a disabled copy is read again once.
        if (known?.source.enabled === 0 && cached) continue;
        if (known?.source.enabled !== 1 || known.source.kind === 'orchestrator-pull') return NOT_FOUND;
        if (known.unreadable) return awaitSecret(known.source, log);
        // A body inflating past 1 MB is refused unread (as one sent over it); one that does not
        // inflate is authenticated on its bytes as sent: only its authentic sender hears the 400.
        if (unreadable?.status === 413) break;
        verdict = check(known);
        // A secret rotated through another process is not in a cached copy: read again once.
        if (verdict.ok || !cached) break;
      }
    } catch (err) {
      log.warn({ err, sourceId }, 'source lookup failed');
      return unavailable(SOURCE_UNREADABLE_DETAIL);
    }
    const { source, mapping } = known!;
    const kind = source.kind as SourceKind;
    if (unreadable?.status === 413) return refuse(source, 'invalid', { status: 413, detail: unreadable.message }, 'the body is over 1 MB once inflated');
    if (!verdict!.ok) {
      log.info({ sourceId, reason: verdict!.reason }, 'source request refused');
      return refuse(source, 'rejected', UNAUTHORIZED[kind], `refused: ${verdict!.reason}`);
    }
    if (unreadable)
      return refuse(
        source,
        'invalid',
        malformed(mappingFailure(unreadable.errors ?? [{ path: '(root)', message: unreadable.message }])),
        unreadable.message.slice(0, 500),
      );
    const turn = limiter.take(source.id);
    if (!turn.allowed) {
      const answer = {
        ...unavailable('The source is over its rate; retry later.'),
        headers: { 'retry-after': String(Math.max(1, Math.ceil(turn.retryAfterMs / 1000))) },
      };
      return refuse(source, 'unavailable', answer, 'over its rate');
    }

    // Decoded once the signature was checked on the bytes as sent; a leading byte order mark (what
    // .NET's and Windows PowerShell's UTF-8 writers put first) is not JSON, but RFC 8259 lets a
    // parser ignore it, and the REST API's does.
    const text = bodyText(raw, header(headers, 'content-type')).replace(/^\uFEFF/, '');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return refuse(source, 'invalid', malformedBody('is not valid JSON'), 'the body is not valid JSON');
    }
    // Bounded before anything walks it: replacing lone surrogates recurses, and would overflow.
    if (jsonDepthExceeds(parsed)) {
      return refuse(source, 'invalid', malformedBody(`nests deeper than ${MAX_JSON_DEPTH} levels`), 'too deep');
    }
    const wellFormed = wellFormedJson(text, parsed);
    // PostgreSQL stores no NUL in text (the write failed, answered 503: retried for as long as the
    // alert fired, its group with it). An AlertInput holding one is refused as the REST API
    // refuses it; an Alertmanager or Orchestrator body keeps it as U+FFFD.
    const nulAt = kind === 'webhook' && text.includes('\\u0000') ? findNul(wellFormed) : undefined;
    if (nulAt !== undefined) {
      return refuse(source, 'invalid', malformed(mappingFailure([{ path: nulAt, message: 'must not contain NUL characters' }])), 'a NUL character');
    }
    const body = kind === 'webhook' ? wellFormed : withoutNul(text, wellFormed);
    // Signed but dated long ago (or ahead): a replay that the delivery keys may have forgotten,
    // unless they still hold it (answered below, as any redelivery).
    const stale = kind === 'orchestrator-webhook' ? orchestratorStaleness(body, clock.now()) : undefined;
    let mapped: { alerts: NewAlert[]; deliveryKeys: string[]; alertKeys?: readonly string[] } | MappingFailure;
    if (kind === 'webhook') mapped = mapWebhook(body, standardHeader(headers, 'id')!, mapping, clock.now());
    else {
      let drafts: (MappedAlerts & { allKeys?: readonly string[] }) | MappingFailure =
        kind === 'alertmanager' ? mapAlertmanager(body, text, mapping) : mapOrchestratorEvent(body, text, mapping);
      // A group larger than a batch: mapped again with the alerts received before known.
      if (!('invalid' in drafts) && drafts.allKeys) {
        const received = await receivedKeys(source.id, drafts.allKeys, log);
        if (received === undefined) return refuse(source, 'unavailable', unavailable('The alerts cannot be stored now; retry later.'), 'storage unavailable');
        drafts = mapAlertmanager(body, text, mapping, received);
      }
      const alerts = 'invalid' in drafts ? drafts : normalised(drafts);
      mapped = 'invalid' in alerts ? alerts : { alerts, deliveryKeys: (drafts as MappedAlerts).deliveryKeys, alertKeys: (drafts as MappedAlerts).alertKeys };
    }
    if (stale) return staleOrKnown(source, 'invalid' in mapped ? [] : mapped.deliveryKeys, stale, log);
    if ('invalid' in mapped) return refuse(source, 'invalid', malformed(mapped), mapped.invalid.slice(0, 500));

    const { alerts, deliveryKeys, alertKeys } = mapped;
    /**
     * store answers the ids of a delivery received before (its delivery keys), else stores its
     * alerts not received before (their alert keys) with both kinds of keys and the reception. The
     * keys are read in the group commit's transaction, before it writes any alert: a read of its
     * own cost SQLite more than the rest of an event's work, its locks taken and dropped for it.
     */
    const store = async (): Promise<ReceiveAnswer | typeof CHANGED> => {
      // What the transaction that committed found, set by its choose (a retried commit chooses again).
      let found: { earlier: string[] | undefined; plan: OncePlan | undefined; stored: number } | undefined;
      // Whether it found the source changed since `known` was read (disabled, remapped, a secret retired).
      let changed = false;
      // The ids of all the delivery's alerts, given those of the ones stored now.
      const all = (ids: readonly string[]) => (found?.plan ? found.plan.answer(ids) : [...ids]);
      const ids = await ingest.raise(source.tenant_id, alerts, {
        enlist: (shared) => enlistKeys(shared, source.id, alertKeys ? [...deliveryKeys, ...alertKeys] : deliveryKeys),
        choose: async (tx, shared) => {
          changed = !(await stillReceivesIn(tx, shared, known!.as));
          if (changed) return [];
          const stored = await readEnlisted(tx, shared, source.id);
          if (alertKeys) await keepAlive(tx, source.id, alertKeys, stored, clock.now());
          const plan = alertKeys ? planOnce(alertKeys, stored) : undefined;
          // Every alert received before, by other deliveries: the ids they were stored under.
          const everySeen = plan !== undefined && alerts.length > 0 && plan.fresh.length === 0 ? plan.answer([]) : undefined;
          const earlier = earliestOf(stored, deliveryKeys) ?? everySeen;
          const fresh = earlier ? [] : plan ? plan.fresh.map((i) => alerts[i]!) : alerts;
          found = { earlier, plan, stored: fresh.length };
          return fresh;
        },
        alongside: async (_tx, ids, shared) => {
          if (changed || !found || found.earlier) return;
          const { plan } = found;
          const now = clock.now();
          const keys: KeyRow[] = [
            ...deliveryKeys.map((key): KeyRow => [key, all(ids), now]),
            ...(plan?.fresh.map((i, at): KeyRow => [alertKeys![i]!, [ids[at]!], now]) ?? []),
          ];
          gatherReception(shared, source, now, { outcome: found.stored > 0 ? 'accepted' : 'ignored', status: 202, alertIds: all(ids), error: null }, keys);
        },
        settle: (tx, shared) => recordGathered(tx, shared, source.id),
      });
      if (changed) return CHANGED;
      if (found?.earlier) {
        await note(source, { outcome: 'duplicate', status: 202, alertIds: found.earlier, error: null });
        return { status: 202, ids: found.earlier };
      }
      return { status: 202, ids: all(ids) };
    };
    let err: unknown;
    // Deliveries of one event (or of one alert) raced and another committed first: this one is its
    // redelivery, or stores only what the others did not. Each try finds more of them stored (an
    // HA pair and a grown group can share alerts three ways), so a few tries settle it.
    for (let tries = 0; tries < STORE_TRIES; tries++) {
      try {
        return await store();
      } catch (caught) {
        err = caught;
        // Deliveries inserting shared keys in other orders (several in one group commit) can
        // also deadlock on PostgreSQL, which cancels one of them: it too is tried again.
        if (classifyDbError(err) !== 'unique' && !lostTransactionRace(err)) break;
      }
    }
    log.warn({ err, sourceId: source.id }, 'source delivery could not be stored');
    // The ingest stage says whether trying again may help: a sender retries a 503 and drops a
    // 4xx, so a write the database refuses for good (its source's tenant deleted meanwhile, a
    // value it cannot store) is not asked for again and again.
    // (A unique key whose first delivery cannot be read yet stays a 503: the retry finds it.)
    const refused = classifyDbError(err);
    if (!isRetryable(err) && refused !== 'unique') {
      if (refused === 'foreign-key') return NOT_FOUND;
      return refuse(source, 'invalid', malformedBody('has a value that is out of range or cannot be stored'), 'a value cannot be stored');
    }
    return refuse(source, 'unavailable', unavailable('The alerts cannot be stored now; retry later.'), 'storage unavailable');
  };

  const tooLarge: Receiver['tooLarge'] = async (sourceId) => {
    try {
      const [known] = await load(sourceId, false);
      if (known?.source.enabled !== 1 || known.source.kind === 'orchestrator-pull') return;
      await refuse(known.source, 'invalid', { status: 413 }, `the body is over ${MAX_RECEIVE_BYTES / (1024 * 1024)} MB`);
    } catch (err) {
      logger.warn({ err, sourceId }, 'could not record a source reception');
    }
  };

  const receive: Receiver['receive'] = async (sourceId, headers, raw, log = logger) => {
    const answer = await receiveOnce(sourceId, headers, raw, false, log);
    if (answer !== CHANGED) return answer;
    // Changed through another process since this one cached it: received again as it is now.
    const again = await receiveOnce(sourceId, headers, raw, true, log);
    return again === CHANGED ? unavailable('The source was changed while the alerts were stored; retry.') : again;
  };

  return { receive, tooLarge, forget: (sourceId) => void cache.delete(sourceId) };
}
