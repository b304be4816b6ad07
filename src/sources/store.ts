import { CompiledQuery, type SelectQueryBuilder, sql } from 'kysely';
import crypto from 'node:crypto';
import type { z } from 'zod';
import { type HttpError, conflict, fieldError, notFound } from '../http/problem.js';
import { sameName } from '../access/roles.js';
import { type HostPolicy, RefusedHostError, checkSavedHost } from '../settings/host-guard.js';
import { type SecretBox, SecretDecryptError } from '../settings/secret-box.js';
import type { Clock } from '../shared/clock.js';
import { sameHostName } from '../shared/host-port.js';
import { newId } from '../shared/ids.js';
import type { Database, Db } from '../storage/database.js';
import { changedColumns } from '../storage/changed-columns.js';
import { byNameIgnoringCase } from '../storage/text-order.js';
import { sqlOnce } from '../storage/sql-once.js';
import { lockTransactionOn } from '../storage/transaction-lock.js';
import {
  DEFAULT_PULL_INTERVAL_SECONDS,
  type PullInput,
  RECEPTION_SLOTS,
  type ReceptionOutcome,
  type SourceKind,
  type SourceMapping,
  type SourceView,
  type StoredPull,
  isPushKind,
  type mappingInput,
  resolveMapping,
  type sourceInput,
  type sourcePatch,
} from './model.js';
import { newSourceSecret, pullSecretOwner, sourceSecretOwner } from './secrets.js';
import { reasonCode } from './reasons.js';
import type { SourceTables } from './tables.js';
import { type PullState, pullStats, readState } from './pull/odata.js';
import { REFUSED_URL_MESSAGE, UPSTREAM_TIMEOUT_MS, urlHost } from './pull/upstream.js';

/** SourceRow is a source as stored. */
export type SourceRow = SourceTables['sources'];

/** ACTIVE_SECRETS is how many secrets a source accepts at once: the newest and the one before. */
const ACTIVE_SECRETS = 2;

/** receivePath is the path of a source's receive URL; the random source id makes it unguessable. */
export function receivePath(sourceId: string): string {
  return `/api/v1/sources/${encodeURIComponent(sourceId)}/receive`;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

/** showSource is a source as the API shows it: its receive URL, mapping, pull settings and counters. */
export function showSource(row: SourceRow, publicUrl: string): SourceView {
  const kind = row.kind as SourceKind;
  const view: SourceView = {
    id: row.id,
    name: row.name,
    kind,
    enabled: row.enabled === 1,
    url: isPushKind(kind) ? publicUrl + receivePath(row.id) : null,
    mapping: JSON.parse(row.mapping) as Record<string, unknown>,
    stats: {
      lastReceivedAt: iso(row.last_received_at),
      accepted: Number(row.accepted),
      rejected: Number(row.rejected),
      lastError: row.last_error,
      lastErrorCode: reasonCode(row.last_error, kind),
      lastErrorAt: iso(row.last_error_at),
    },
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
  };
  if (row.pull !== null) {
    const pull = JSON.parse(row.pull) as StoredPull;
    view.pull = { ...pull, passwordSet: row.pull_password !== null, clientSecretSet: row.pull_client_secret !== null };
    if (row.pull_state !== null) view.stats.pull = pullStats(readState(row.pull_state, pull.since));
  }
  return view;
}

function mappingFor(kind: SourceKind, input: z.infer<typeof mappingInput> | null | undefined): SourceMapping {
  const mapping = resolveMapping(kind, input);
  if ('invalid' in mapping) throw fieldError(mapping.invalid, mapping.message ?? 'only an alertmanager source takes it');
  return mapping;
}

type SealedPull = Pick<SourceRow, 'pull' | 'pull_password' | 'pull_client_secret'>;

/** SECRET_STAYS_WITH_ITS_HOST asks for a saved pull secret again when a PATCH moves it to another host, or to http. */
const SECRET_STAYS_WITH_ITS_HOST =
  'type it again to send it to another host or over http: the saved one is only ever sent to the host it was saved for, encrypted if it was';

/**
 * mayCarrySecret tells whether a secret saved for the URL `was` may go to `now`: the same host, and
 * not in clear (http) when it was saved for https, where whoever reads the way could take it.
 */
function mayCarrySecret(was: string, now: string): boolean {
  return sameHostName(urlHost(was), urlHost(now)) && !(new URL(was).protocol === 'https:' && new URL(now).protocol === 'http:');
}

/**
 * mergePull applies a `pull` body to the stored settings (none on create): fields left out keep
 * their value, the two secrets are sealed, and the result must name a way to sign in.
 */
function mergePull(box: SecretBox, sourceId: string, current: SealedPull | undefined, input: Partial<PullInput>, createdAt: number): SealedPull {
  const before: Partial<StoredPull> = current?.pull ? (JSON.parse(current.pull) as StoredPull) : {};
  const pick = <K extends keyof StoredPull>(key: K, fallback: StoredPull[K]): StoredPull[K] => {
    const given = input[key as keyof PullInput];
    // null clears an optional field: back to its default (intervalSeconds, since) or to none.
    if (given === null) return fallback;
    if (given !== undefined) return given as StoredPull[K];
    return (before[key] ?? fallback) as StoredPull[K];
  };
  const baseUrl = pick('baseUrl', '');
  if (!baseUrl) throw fieldError('pull.baseUrl', 'is required');
  const pull: StoredPull = {
    baseUrl,
    tenancyName: pick('tenancyName', null),
    username: pick('username', null),
    clientId: pick('clientId', null),
    identityUrl: pick('identityUrl', null),
    scope: pick('scope', null),
    organizationUnitId: pick('organizationUnitId', null),
    intervalSeconds: pick('intervalSeconds', DEFAULT_PULL_INTERVAL_SECONDS),
    since: pick('since', new Date(createdAt - 24 * 3_600_000).toISOString()),
  };
  const sealed = (value: string | null | undefined, kept: string | null | undefined, owner: string) =>
    value === undefined ? (kept ?? null) : value === null ? null : box.seal(value, owner);
  let password = sealed(input.password, current?.pull_password, pullSecretOwner.password(sourceId));
  let clientSecret = sealed(input.clientSecret, current?.pull_client_secret, pullSecretOwner.clientSecret(sourceId));
  // A saved secret goes only to the host it was saved for (the password to baseUrl's, the client
  // secret to the token endpoint's), over https if it was saved for https: both are write-only, and
  // an editor naming a server of their own received them with the next poll. Kept for another host, one the sign-in uses is asked for again,
  // as a saved SMTP password is (keepSecretsWithTheirHost); one it does not use is dropped.
  if (current?.pull) {
    const was = JSON.parse(current.pull) as StoredPull;
    const tokenUrl = (p: StoredPull) => p.identityUrl ?? p.baseUrl;
    if (input.clientSecret === undefined && clientSecret !== null && !mayCarrySecret(tokenUrl(was), tokenUrl(pull))) {
      if (pull.clientId !== null) throw fieldError('pull.clientSecret', SECRET_STAYS_WITH_ITS_HOST);
      clientSecret = null;
    }
    if (input.password === undefined && password !== null && !mayCarrySecret(was.baseUrl, pull.baseUrl)) {
      const viaClient = pull.clientId !== null && clientSecret !== null;
      if (!viaClient && pull.username !== null) throw fieldError('pull.password', SECRET_STAYS_WITH_ITS_HOST);
      password = null;
    }
  }
  const canSignIn = (pull.username !== null && password !== null) || (pull.clientId !== null && clientSecret !== null);
  // A new source must name a way in; a PATCH may clear one (null clears, as an SMTP password's
  // does): its polls then say what is missing (signIn). A later PATCH naming no credential keeps
  // that cleared sign-in like any field left out; one that gives credentials must make a whole one.
  const credentials = [input.username, input.password, input.clientId, input.clientSecret];
  const clearing = current !== undefined && credentials.includes(null);
  const keeping = current !== undefined && credentials.every((value) => value === undefined);
  if (!canSignIn && !clearing && !keeping) {
    throw fieldError(
      missingHalf(input, pull, password, clientSecret),
      'give username and password (on-premises) or clientId and clientSecret (external application)',
    );
  }
  return { pull: JSON.stringify(pull), pull_password: password, pull_client_secret: clientSecret };
}

/**
 * missingHalf names the field a sign-in lacks: the other half of the pair given (the password beside
 * a username, the client secret beside a client id), the pair this request gives first, and
 * pull.username when none was. Naming pull.username for each, a form of the external-application
 * sign-in had no field to mark.
 */
function missingHalf(input: Partial<PullInput>, pull: StoredPull, password: string | null, clientSecret: string | null): string {
  const user = [pull.username, password, 'pull.username', 'pull.password'] as const;
  const client = [pull.clientId, clientSecret, 'pull.clientId', 'pull.clientSecret'] as const;
  const givesClient = (input.clientId ?? input.clientSecret ?? null) !== null;
  for (const [id, secret, idField, secretField] of givesClient ? [client, user] : [user, client]) {
    if (id !== null) return secretField;
    if (secret !== null) return idField;
  }
  return 'pull.username';
}

/**
 * checkPullHosts refuses, when private hosts are refused, a baseUrl or identityUrl given whose host
 * has an address that is not public: a 400 naming the field, with the one generic message. Checked
 * before any transaction, whose lock a DNS lookup must not hold; every request checks again.
 */
async function checkPullHosts(input: Partial<PullInput> | null | undefined, hosts: HostPolicy): Promise<void> {
  if (!input || hosts.allowPrivateHosts) return;
  for (const field of ['baseUrl', 'identityUrl'] as const) {
    const url = input[field];
    if (!url) continue;
    try {
      // No longer than a request to it would wait: a resolver that never answers holds no save.
      await checkSavedHost(urlHost(url), AbortSignal.timeout(hosts.lookupTimeoutMs ?? UPSTREAM_TIMEOUT_MS), hosts.resolver);
    } catch (err) {
      if (err instanceof RefusedHostError) throw fieldError(`pull.${field}`, REFUSED_URL_MESSAGE);
      throw err;
    }
  }
}

/** ANY_HOST is TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS=true, the default. */
const ANY_HOST: HostPolicy = { allowPrivateHosts: true };

/**
 * assertNameFree refuses a name another source of the tenant has, ignoring case and how accents were
 * typed, as group and role names (see sameName). The database's constraint sees only the exact name,
 * so it runs in the caller's transaction `tx`, under the tenant's lock on source names that it takes.
 */
async function assertNameFree(tx: Db, tenantId: string, name: string, except?: string) {
  await lockTransactionOn(tx, `source-names:${tenantId}`);
  let query = tx.selectFrom('sources').select('name').where('tenant_id', '=', tenantId);
  if (except) query = query.where('id', '!=', except);
  const names = (await query.execute()).map((source) => source.name);
  if (sameName(names, name)) throw sourceNameTaken(name);
}

/** sourceNameTaken is the 409 for a name another source of the tenant has. */
export function sourceNameTaken(name: string): HttpError {
  return conflict(`A source named "${name}" already exists.`, 'name');
}

async function addSecret(db: Db, box: SecretBox, sourceId: string, kind: SourceKind, now: number): Promise<string> {
  const secret = newSourceSecret(kind);
  await db
    .insertInto('source_secrets')
    .values({ id: newId(), source_id: sourceId, sealed: box.seal(secret, sourceSecretOwner(sourceId)), created_at: now })
    .execute();
  return secret;
}

/** createSource stores a new source with its first secret, which is returned only here. */
export async function createSource(
  db: Db,
  box: SecretBox,
  clock: Clock,
  tenantId: string,
  input: z.infer<typeof sourceInput>,
  hosts: HostPolicy = ANY_HOST,
): Promise<{ row: SourceRow; secret: string }> {
  const mapping = mappingFor(input.kind, input.mapping);
  // null is none, as for any optional field: what a source of another kind has, and an orchestrator-pull source lacks.
  if (input.kind !== 'orchestrator-pull' && input.pull != null) throw fieldError('pull', 'only an orchestrator-pull source takes it');
  if (input.kind === 'orchestrator-pull' && input.pull == null) throw fieldError('pull', 'is required for kind orchestrator-pull');
  await checkPullHosts(input.pull, hosts);
  const now = clock.now();
  const id = crypto.randomUUID();
  const pull = input.pull ? mergePull(box, id, undefined, input.pull, now) : { pull: null, pull_password: null, pull_client_secret: null };
  const row: SourceRow = {
    id,
    tenant_id: tenantId,
    name: input.name,
    kind: input.kind,
    enabled: input.enabled === false ? 0 : 1,
    mapping: JSON.stringify(mapping),
    ...pull,
    pull_state: null,
    last_received_at: null,
    accepted: 0,
    rejected: 0,
    receptions: 0,
    last_error: null,
    last_error_at: null,
    created_at: now,
    updated_at: now,
  };
  const secret = await db.transaction().execute(async (tx) => {
    await assertNameFree(tx, tenantId, input.name);
    await tx.insertInto('sources').values(row).execute();
    return addSecret(tx, box, id, input.kind, now);
  });
  return { row, secret };
}

/**
 * listSources returns a tenant's sources by name as a person reads a list, ignoring case, as groups
 * and roles are listed: by code point every capital came first ('Beta' before 'b-side').
 */
export async function listSources(db: Db, tenantId: string): Promise<SourceRow[]> {
  return byNameIgnoringCase(await db.selectFrom('sources').selectAll().where('tenant_id', '=', tenantId).execute(), (row) => row.name);
}

/** requireSource returns one source of the tenant, or a 404 (also for another tenant's). */
export async function requireSource(db: Db, tenantId: string, sourceId: string): Promise<SourceRow> {
  const row = await db.selectFrom('sources').selectAll().where('tenant_id', '=', tenantId).where('id', '=', sourceId).executeTakeFirst();
  if (!row) throw notFound('Source');
  return row;
}

/**
 * updateSource applies a PATCH: fields left out keep their value, the mapping's too; mapping null is
 * the kind's default. The row is read again under a lock on the source: PATCHes sent at once each
 * merge the pull settings and mapping the one before wrote, rather than the same stale ones.
 */
export async function updateSource(
  db: Db,
  box: SecretBox,
  clock: Clock,
  row: SourceRow,
  patch: z.infer<typeof sourcePatch>,
  hosts: HostPolicy = ANY_HOST,
): Promise<void> {
  const kind = row.kind as SourceKind;
  if (row.kind === 'orchestrator-pull') await checkPullHosts(patch.pull, hosts);
  const now = clock.now();
  const current = await db.transaction().execute(async (tx) => {
    await lockTransactionOn(tx, `source:${row.id}`);
    const current = await tx.selectFrom('sources').selectAll().where('id', '=', row.id).executeTakeFirst();
    if (!current) throw notFound('Source');
    const set: Partial<SourceRow> = {};
    // The kind made the secret's format, the receive URL's checks and the mapping: another kind is
    // another source. Its own kind is no change (a client may send back the source it read).
    if (patch.kind !== undefined && patch.kind !== kind) throw fieldError('kind', `cannot change (${kind}): create a new source of kind ${patch.kind}`);
    if (patch.name !== undefined) {
      await assertNameFree(tx, current.tenant_id, patch.name, current.id);
      set.name = patch.name;
    }
    // null is the default: enabled.
    if (patch.enabled !== undefined) set.enabled = patch.enabled === false ? 0 : 1;
    // As everywhere in a PATCH, the mapping's fields left out keep their value (null: the kind's default).
    if (patch.mapping !== undefined) {
      set.mapping = JSON.stringify(mappingFor(kind, patch.mapping && { ...(JSON.parse(current.mapping) as SourceMapping), ...patch.mapping }));
    }
    // pull null: none, which a source of another kind already has and an orchestrator-pull source cannot have.
    if (patch.pull === null && kind === 'orchestrator-pull') throw fieldError('pull', 'is required for kind orchestrator-pull');
    if (patch.pull != null && kind !== 'orchestrator-pull') throw fieldError('pull', 'only an orchestrator-pull source takes it');
    const pullColumns = patch.pull != null ? mergePull(box, current.id, current, patch.pull, current.created_at) : {};
    // A PATCH with no field to set ({}, the kind it has, or a name, switch or mapping sent back as it
    // was read: changedColumns) changes nothing, updatedAt included. A pull sent is always new
    // settings: the pull connector takes a new updatedAt for a new sign-in and a poll at once.
    const changed = { ...changedColumns(current, set), ...pullColumns };
    if (Object.keys(changed).length > 0)
      await tx
        .updateTable('sources')
        .set({ ...changed, updated_at: now })
        .where('id', '=', current.id)
        .execute();
    return current;
  });
  if (patch.pull != null) await pollAtOnce(db, current, now);
}

/**
 * pollAtOnce makes a pull source whose settings changed due now: a corrected password or a
 * shorter interval is tried at once, not after the wait the old settings earned (a failure's
 * backoff reaches 15 minutes). A poll under way is left alone (ending, it sees the settings
 * changed and makes the source due itself), and the state is written only if
 * it is still the one read (compare-and-set, as the connector writes it).
 */
async function pollAtOnce(db: Db, row: SourceRow, now: number): Promise<void> {
  if (row.pull_state === null) return;
  const state = JSON.parse(row.pull_state) as PullState;
  if (state.leaseUntil > now || state.nextPollAt <= now) return;
  await db
    .updateTable('sources')
    .set({ pull_state: JSON.stringify({ ...state, nextPollAt: now }) })
    .where('id', '=', row.id)
    .where('pull_state', '=', row.pull_state)
    .execute();
}

/** deleteSource removes a source with its secrets, receptions and delivery keys. */
export async function deleteSource(db: Db, tenantId: string, sourceId: string): Promise<void> {
  const result = await db.deleteFrom('sources').where('tenant_id', '=', tenantId).where('id', '=', sourceId).executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw notFound('Source');
}

/**
 * rotateSecret adds a new secret and retires all but the newest ACTIVE_SECRETS: the previous one
 * stays valid until the next rotation, so the sender can be switched over without a gap. Both in
 * one transaction: a receiver that read the source's secrets between two commits (the new one
 * added, the oldest not yet retired) found them changed again when it stored, and answered an
 * event signed with the previous secret 503.
 */
export async function rotateSecret(db: Db, box: SecretBox, clock: Clock, row: SourceRow): Promise<string> {
  return db.transaction().execute((tx) => rotateSecretIn(tx, box, clock, row));
}

async function rotateSecretIn(db: Db, box: SecretBox, clock: Clock, row: SourceRow): Promise<string> {
  const secret = await addSecret(db, box, row.id, row.kind as SourceKind, clock.now());
  // The new secret opens: the source's events are taken again, so what it was waiting for is over.
  await db
    .updateTable('sources')
    .set({ last_error: null, last_error_at: null })
    .where('id', '=', row.id)
    .where('last_error', '=', PUSH_SECRET_UNREADABLE)
    .execute();
  const keep = await newestFirst(db.selectFrom('source_secrets').select(['id', 'created_at']).where('source_id', '=', row.id))
    .limit(ACTIVE_SECRETS)
    .execute();
  // Only secrets older than those kept go: one that a rotation running at the same time added after
  // this read (and answered with) stays, as the newest, rather than being deleted as "not kept".
  const oldestKept = keep.at(-1);
  if (oldestKept !== undefined) {
    const at = Number(oldestKept.created_at);
    await db
      .deleteFrom('source_secrets')
      .where('source_id', '=', row.id)
      .where((eb) => eb.or([eb('created_at', '<', at), eb.and([eb('created_at', '=', at), eb('id', '<', oldestKept.id)])]))
      .execute();
  }
  return secret;
}

/**
 * newestFirst orders a source's secrets by when they were added, in the time every process keeps
 * (the database's on PostgreSQL): not by id alone, whose time is the machine's of the process that
 * made it. A rotation through a process whose machine's clock was minutes behind made a secret
 * that sorted as older than the one before it, so the next rotation deleted it, the secret the
 * sender had just been switched to, and kept the one before.
 */
function newestFirst<O>(query: SelectQueryBuilder<Database, 'source_secrets', O>) {
  return query.orderBy('created_at', 'desc').orderBy('id', 'desc');
}

/**
 * PUSH_SECRET_UNREADABLE is a push source's last error while none of its secrets opens (sealed
 * under another key: a backup restored without its own), its events answered 503 meanwhile.
 */
export const PUSH_SECRET_UNREADABLE = "the source's secret no longer decrypts (the secret key changed): rotate it and give the sender the new one";

/**
 * unreadableIsNews says whether a source found with no secret that opens should record it: not when
 * its last error already says so and nothing was received since (recorded by another request or
 * process, or before a restart), so that a sender retrying at its rate costs no write per request.
 */
export function unreadableIsNews(row: Pick<SourceRow, 'last_error' | 'last_error_at' | 'last_received_at'>): boolean {
  if (row.last_error !== PUSH_SECRET_UNREADABLE) return true;
  return row.last_received_at !== null && Number(row.last_received_at) > Number(row.last_error_at);
}

/**
 * newestSecret opens the secret a source's sender was last given (undefined when the source has
 * none left: deleted since it was read); throws SecretDecryptError when it no longer opens.
 */
export async function newestSecret(db: Db, box: SecretBox, sourceId: string): Promise<string | undefined> {
  const row = await newestFirst(db.selectFrom('source_secrets').select('sealed').where('source_id', '=', sourceId)).executeTakeFirst();
  return row && box.open(row.sealed, sourceSecretOwner(sourceId));
}

/**
 * readSecrets opens a source's accepted secrets, newest first, and lists the ids of all its
 * secret rows (a rotation under way may hold one more, about to be retired). A secret sealed under
 * another key (a backup restored without its own) is left out, as no sender can sign with it: the
 * one a rotation makes then works at once, beside the previous one kept until the next rotation.
 * Throws SecretDecryptError when none opens, for the receive URL to answer 503 meanwhile.
 */
export async function readSecrets(db: Db, box: SecretBox, sourceId: string): Promise<{ opened: string[]; ids: string[] }> {
  const rows = await newestFirst(db.selectFrom('source_secrets').select(['id', 'sealed']).where('source_id', '=', sourceId)).execute();
  const opened: string[] = [];
  let unopened: SecretDecryptError | undefined;
  for (const row of rows.slice(0, ACTIVE_SECRETS)) {
    try {
      opened.push(box.open(row.sealed, sourceSecretOwner(sourceId)));
    } catch (err) {
      if (!(err instanceof SecretDecryptError)) throw err;
      unopened = err;
    }
  }
  if (opened.length === 0 && unopened) throw unopened;
  return { opened, ids: rows.map((r) => r.id) };
}

/**
 * ReceivedAs is what a receiver checked an event against: the source's mapping, and the ids of
 * its secret rows when the keys were read.
 */
export interface ReceivedAs {
  readonly sourceId: string;
  readonly mapping: string;
  readonly secretIds: readonly string[];
}

/**
 * stillReceives says whether, in `db`'s transaction, the source is still enabled with the same
 * mapping and secret rows as `as` (any rotation since, or a retirement, tells otherwise): one
 * statement, compiled once and without an `order by` (SQLite would sort its rows in a temporary
 * B-tree), run by every event a receiver stores, so that a change made through another process
 * applies to the next commit.
 */
export async function stillReceives(db: Db, as: ReceivedAs): Promise<boolean> {
  const text = sqlOnce(db, 'stillReceives', () =>
    db
      .selectFrom('sources')
      .leftJoin('source_secrets', 'source_secrets.source_id', 'sources.id')
      .select(['sources.enabled', 'sources.mapping', 'source_secrets.id'])
      .where('sources.id', '=', as.sourceId),
  );
  const { rows } = await db.executeQuery<{ enabled: number; mapping: string; id: string | null }>(CompiledQuery.raw(text, [as.sourceId]));
  const first = rows[0];
  if (!first || Number(first.enabled) !== 1 || first.mapping !== as.mapping) return false;
  const ids = rows.flatMap((r) => (r.id === null ? [] : [r.id]));
  return ids.length === as.secretIds.length && ids.every((id) => as.secretIds.includes(id));
}

/** Reception is one request a source received, as its log and counters record it. */
export interface Reception {
  readonly outcome: ReceptionOutcome;
  readonly status: number;
  readonly alertIds: readonly string[];
  readonly error: string | null;
}

/**
 * recordReception counts a reception (or `count` alike, written as one) on its source (accepted or
 * rejected, last received, last error) and writes it into the source's ring of RECEPTION_SLOTS slots, so the log never needs
 * trimming. Accepted ones are recorded in the transaction that stores their alerts.
 */
export async function recordReception(db: Db, sourceId: string, now: number, reception: Reception, count = 1): Promise<void> {
  await recordReceptions(db, sourceId, now, [reception], count);
}

/**
 * recordReceptions counts `count` receptions (by default one per entry) on their source with one
 * update, and writes the last RECEPTION_SLOTS of `receptions`, in their order, into its ring with
 * one statement: a receiver's group commit records the events of a source together, instead of
 * two statements per event on the same row. The counters are those of the first reception (the
 * caller gives only receptions counted alike). Both statements are compiled once per shape
 * (sqlOnce): building them cost Kysely more CPU than SQLite spends running them.
 */
export async function recordReceptions(db: Db, sourceId: string, now: number, receptions: readonly Reception[], count = receptions.length): Promise<void> {
  const first = receptions[0];
  if (!first) return;
  // A malformed body is refused for good like a bad signature (senders drop a 4xx), so both count.
  const rejected = first.outcome === 'rejected' || first.outcome === 'invalid';
  const failed = first.error !== null;
  const counters = sqlOnce(db, `recordReception ${rejected} ${failed}`, () => ({
    compile: () =>
      sql`update sources set receptions = receptions + ${count}${rejected ? sql`, rejected = rejected + ${count}` : sql``}${
        !rejected && !failed ? sql`, accepted = accepted + ${count}, last_received_at = ${now}` : sql``
      }${failed ? sql`, last_error = ${first.error}, last_error_at = ${now}` : sql``} where id = ${sourceId} returning receptions`.compile(db),
  }));
  // In the order the statement's placeholders take them.
  const params = [count, ...(rejected ? [count] : []), ...(!rejected && !failed ? [count, now] : []), ...(failed ? [first.error, now] : []), sourceId];
  const { rows } = await db.executeQuery<{ receptions: number | string }>(CompiledQuery.raw(counters, params));
  const counted = rows[0];
  if (!counted) return;
  // At most one row per slot: a statement may not upsert one row twice (PostgreSQL refuses it).
  const kept = receptions.slice(-RECEPTION_SLOTS);
  const row = { source_id: sourceId, slot: 0, received_at: now, outcome: first.outcome, status: first.status, alert_ids: '', error: null };
  const ring = sqlOnce(db, `recordReception ring ${kept.length}`, () =>
    db
      .insertInto('source_receptions')
      .values(kept.map(() => row))
      .onConflict((oc) =>
        oc.columns(['source_id', 'slot']).doUpdateSet((eb) => ({
          received_at: eb.ref('excluded.received_at'),
          outcome: eb.ref('excluded.outcome'),
          status: eb.ref('excluded.status'),
          alert_ids: eb.ref('excluded.alert_ids'),
          error: eb.ref('excluded.error'),
        })),
      ),
  );
  // The last of them takes the slot of the last reception counted.
  const next = Number(counted.receptions) - kept.length;
  await db.executeQuery(
    CompiledQuery.raw(
      ring,
      kept.flatMap((r, i) => [sourceId, (next + i) % RECEPTION_SLOTS, now, r.outcome, r.status, JSON.stringify(r.alertIds), r.error]),
    ),
  );
}

/**
 * listReceptions returns a source's last receptions, newest first. Those of one millisecond (a group
 * commit's) follow the ring's order: the newest took the slot before `sources.receptions %
 * RECEPTION_SLOTS`, so once the ring has come round its lowest slots hold the newest, which the
 * highest slot number listed first (the 21st reception after the 20th).
 */
export async function listReceptions(db: Db, sourceId: string) {
  // One statement, so that the count and the ring are of the same moment.
  const rows = await db
    .selectFrom('source_receptions as r')
    .innerJoin('sources as s', 's.id', 'r.source_id')
    .selectAll('r')
    .select(['s.receptions', 's.kind'])
    .where('r.source_id', '=', sourceId)
    .execute();
  const age = (r: (typeof rows)[number]) => (((Number(r.receptions) - 1 - r.slot) % RECEPTION_SLOTS) + RECEPTION_SLOTS) % RECEPTION_SLOTS;
  rows.sort((a, b) => Number(b.received_at) - Number(a.received_at) || age(a) - age(b));
  return rows.map((r) => ({
    receivedAt: iso(r.received_at)!,
    outcome: r.outcome as ReceptionOutcome,
    status: r.status,
    alertIds: JSON.parse(r.alert_ids) as string[],
    error: r.error,
    code: reasonCode(r.error, r.kind),
  }));
}

/**
 * DELIVERY_KEY_DAYS is how long a delivery key is kept: far beyond any sender's retries (Standard
 * Webhooks senders retry for days; the reference asks for at least 24 hours) and the pull
 * connector's two-minute overlap, while the table stays bounded. An alert key that its sender
 * keeps re-sending (Alertmanager, while the alert fires) is dated anew by the receiver's keepAlive.
 */
export const DELIVERY_KEY_DAYS = 7;

/** KEEP_ALIVE_AFTER_MS is the age at which an alert key seen again is dated anew: half the keys' lifetime. */
const KEEP_ALIVE_AFTER_MS = (DELIVERY_KEY_DAYS * 86_400_000) / 2;

/**
 * keepAlive dates anew the alert keys of a delivery that were received over KEEP_ALIVE_AFTER_MS
 * ago. Alertmanager re-sends a firing alert every repeat_interval for as long as it fires, weeks
 * maybe: its key, dated by its first delivery, was purged after DELIVERY_KEY_DAYS and the next
 * repeat stored the alert again (and emailed it), dated when it started. Kept alive while it is
 * re-sent, it is purged once it has not been for DELIVERY_KEY_DAYS; one write per key and half-lifetime.
 * So are the keys of the upstream alerts a pull re-reads (the two minutes before its cursor, for as
 * long as nothing newer comes upstream).
 */
export async function keepAlive(db: Db, sourceId: string, keys: readonly string[], found: ReadonlyMap<string, { at: number }>, now: number): Promise<void> {
  const old = keys.filter((key) => (found.get(key)?.at ?? now) < now - KEEP_ALIVE_AFTER_MS);
  if (old.length === 0) return;
  await db.updateTable('source_deliveries').set({ received_at: now }).where('source_id', '=', sourceId).where('delivery_id', 'in', old).execute();
}

/** purgeOldDeliveries deletes the delivery keys older than DELIVERY_KEY_DAYS, in batches; returns how many. */
export async function purgeOldDeliveries(db: Db, now: number, batchSize = 1_000): Promise<number> {
  const cutoff = now - DELIVERY_KEY_DAYS * 86_400_000;
  let deleted = 0;
  for (;;) {
    const result = await db
      .deleteFrom('source_deliveries')
      .where((eb) =>
        eb(
          eb.refTuple('source_id', 'delivery_id'),
          'in',
          eb
            .selectFrom('source_deliveries')
            .select(['source_id', 'delivery_id'])
            .where('received_at', '<', cutoff)
            .limit(batchSize)
            .$asTuple('source_id', 'delivery_id'),
        ),
      )
      .executeTakeFirst();
    const n = Number(result.numDeletedRows);
    deleted += n;
    if (n < batchSize) return deleted;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
