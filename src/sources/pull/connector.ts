import crypto from 'node:crypto';
import { CompiledQuery } from 'kysely';
import type { Logger } from 'pino';
import type { FatalSignal } from '../../alerts/fatal-signal.js';
import type { CountStored } from '../../alerts/ingest.js';
import { type NewAlert, normaliseAlert } from '../../alerts/input.js';
import { writeAlerts } from '../../alerts/store.js';
import { alertTimeFloor } from '../../alerts/time-floor.js';
import type { HostPolicy } from '../../settings/host-guard.js';
import { type SecretBox, SecretDecryptError } from '../../settings/secret-box.js';
import type { Clock } from '../../shared/clock.js';
import type { Db } from '../../storage/database.js';
import { CONNECT_BACKOFF, backoffDelay } from '../../storage/connect.js';
import { classifyDbError } from '../../storage/errors.js';
import { OutageLog } from '../../storage/outage-log.js';
import { sqlOnce } from '../../storage/sql-once.js';
import { endedWithin } from '../../shared/stop-patience.js';
import type { SourceMapping, StoredPull } from '../model.js';
import { pullSecretOwner } from '../secrets.js';
import { type Reception, type SourceRow, keepAlive, recordReception } from '../store.js';
import {
  MAX_PAGES_PER_POLL,
  PAGE_SIZE,
  type PollOutcome,
  type PullState,
  type UpstreamAlert,
  afterPoll,
  claimable,
  claimed,
  deliveryKey,
  readState,
  toAlertInput,
} from './odata.js';
import type { CountPullFailure } from './failures.js';
import { takeTurn } from './turns.js';
import { type Bearer, type Credentials, type PageRequest, UpstreamError, fetchAlertsPage, signIn } from './upstream.js';

/** TICK_MS is how often a worker looks for pull sources that are due. */
const TICK_MS = 1_000;

/** MAX_CONCURRENT_POLLS bounds the sources one worker polls at once. */
const MAX_CONCURRENT_POLLS = 8;

/** RECEPTION_IDS bounds the alert ids one import lists in the source's receptions. */
const RECEPTION_IDS = 100;

/** PullConnectorOptions are what the connector needs; time and the Fatal signal are passed in. */
export interface PullConnectorOptions {
  readonly db: Db;
  readonly secretBox: SecretBox;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly floodWindowMs: number;
  readonly fatalSignal?: FatalSignal;
  /** Counts the alerts it imports, once committed, with the process's others (tocsin_alerts_stored_total). */
  readonly countStored?: CountStored;
  /** Counts the polls that fail, by reason (tocsin_source_pull_failures_total). */
  readonly countFailure?: CountPullFailure;
  /** How often to look for due sources (TICK_MS; tests shorten it). */
  readonly tickMs?: number;
  /** TOCSIN_ALLOW_PRIVATE_SMTP_HOSTS, which covers the upstream addresses too (allowed when absent). */
  readonly hosts?: HostPolicy;
  /** How long an upstream request may take, its DNS lookup included (UPSTREAM_TIMEOUT_MS; tests shorten it). */
  readonly upstreamTimeoutMs?: number;
}

/** PullConnector is a worker's running connector. */
export interface PullConnector {
  /** pollDue polls, once, every source that is due and not held by another worker, and returns when those polls and the tick's under way have ended. */
  pollDue(): Promise<void>;
  /**
   * stop polls nothing more, calls off the requests upstream, and resolves once the look and the
   * polls under way have ended; with `patience` (a stopping process's), not waiting past it
   * (endedWithin): their transactions roll back and their sources' leases end.
   */
  stop(patience?: AbortSignal): Promise<void>;
  /** tokensKept counts the upstream tokens kept in memory (tests check that they are bounded). */
  tokensKept(): number;
}

const stateText = (state: PullState) => JSON.stringify(state);

/**
 * isNews tells an upstream alert that happened once the source existed from the history its
 * `since` reaches back to (24 hours by default): adding a source imports that history to the list
 * and the reports, but a Fatal alert of yesterday is no news to email at once, and mailing each
 * one sent every opted-in reader a burst of stale Fatal emails on the day Orchestrator was connected.
 */
function isNews(source: Pick<SourceRow, 'created_at'>, alert: Pick<NewAlert, 'occurredAt'>): boolean {
  return alert.occurredAt === undefined || alert.occurredAt >= source.created_at;
}

/** sourceGone tells whether a source no longer exists; false when that cannot be read now (the database away). */
async function sourceGone(db: Db, sourceId: string): Promise<boolean> {
  const found = await db
    .selectFrom('sources')
    .select('id')
    .where('id', '=', sourceId)
    .executeTakeFirst()
    .then(
      (row) => row !== undefined,
      () => true,
    );
  return !found;
}

/**
 * importAlerts stores the upstream alerts of a page that the source has not imported yet, in one
 * transaction with their per-source unique keys and a reception: two workers importing the same
 * page cannot both commit (the second hits the key and rolls back), so each alert is stored once.
 */
export async function importAlerts(
  db: Db,
  source: Pick<SourceRow, 'id' | 'tenant_id' | 'mapping' | 'created_at'>,
  upstream: readonly UpstreamAlert[],
  now: number,
  floodWindowMs: number,
): Promise<{ ids: string[]; alerts: NewAlert[] }> {
  const byKey = new Map(upstream.map((a) => [deliveryKey(a), a]));
  if (byKey.size === 0) return { ids: [], alerts: [] };
  return db.transaction().execute(async (tx) => {
    const seen = await tx
      .selectFrom('source_deliveries')
      .select(['delivery_id', 'received_at'])
      .where('source_id', '=', source.id)
      .where('delivery_id', 'in', [...byKey.keys()])
      .execute();
    // Re-read by every poll while nothing newer comes upstream: dated anew, or purged after
    // DELIVERY_KEY_DAYS and imported again by the next poll.
    const found = new Map(seen.map((row) => [row.delivery_id, { at: Number(row.received_at) }]));
    await keepAlive(tx, source.id, [...found.keys()], found, now);
    for (const row of seen) byKey.delete(row.delivery_id);
    if (byKey.size === 0) return { ids: [], alerts: [] };
    const { events } = JSON.parse(source.mapping) as SourceMapping;
    const alerts: NewAlert[] = [];
    const keys: string[] = [];
    // Alerts the mapping silences (alert: false) keep their key with no alert, so they are decided once too.
    const silenced: string[] = [];
    for (const [key, upstreamAlert] of byKey) {
      const input = toAlertInput(upstreamAlert, events);
      const normalised = input && normaliseAlert(input);
      // toAlertInput keeps every field within bounds; an alert that still fails is skipped, not retried forever.
      if (normalised && 'alert' in normalised) {
        alerts.push(normalised.alert);
        keys.push(key);
      } else silenced.push(key);
    }
    // Stamped no earlier than the report windows already judged (alerts/time-floor.ts).
    const stamp = Math.max(now, await alertTimeFloor(tx));
    const ids = await writeAlerts(tx, source.tenant_id, alerts, stamp, floodWindowMs, { news: (a) => isNews(source, a) });
    const rows = [...keys.map((key, i) => [key, [ids[i]]] as const), ...silenced.map((key) => [key, []] as const)];
    await tx
      .insertInto('source_deliveries')
      .values(
        rows.map(([key, alertIds]) => ({
          source_id: source.id,
          delivery_id: key,
          tenant_id: source.tenant_id,
          alert_ids: JSON.stringify(alertIds),
          received_at: now,
        })),
      )
      .execute();
    if (ids.length > 0) await recordReception(tx, source.id, now, { outcome: 'accepted', status: 200, alertIds: ids.slice(0, RECEPTION_IDS), error: null });
    return { ids, alerts };
  });
}

/** PULL_SECRET_UNREADABLE is a pull source's error while its saved sign-in was sealed under another key (a backup restored without its own). */
const PULL_SECRET_UNREADABLE = 'the saved password or client secret no longer decrypts (the secret key changed): enter it again';

function credentialsOf(row: SourceRow, box: SecretBox, hosts: HostPolicy | undefined, timeoutMs?: number): Credentials {
  const pull = JSON.parse(row.pull!) as StoredPull;
  return {
    ...pull,
    ...(hosts ? { hosts } : {}),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    password: row.pull_password === null ? null : box.open(row.pull_password, pullSecretOwner.password(row.id)),
    clientSecret: row.pull_client_secret === null ? null : box.open(row.pull_client_secret, pullSecretOwner.clientSecret(row.id)),
  };
}

/**
 * checkUpstream is a pull source's test (POST /sources/{id}/test): it signs in upstream and reads
 * the alerts of the last minutes as a poll would, importing nothing and leaving the source's state
 * and counters alone. A refusal answers the upstream's status (0 when none answered) and words.
 */
export async function checkUpstream(
  row: SourceRow,
  box: SecretBox,
  now: number,
  hosts?: HostPolicy,
): Promise<{ ok: boolean; status: number; detail: string | null }> {
  try {
    const credentials = credentialsOf(row, box, hosts);
    await fetchAlertsPage(credentials, await signIn(credentials, now), { cursorTime: now, continuing: false, skip: 0 }, now);
    return { ok: true, status: 200, detail: null };
  } catch (err) {
    if (err instanceof SecretDecryptError) return { ok: false, status: 0, detail: PULL_SECRET_UNREADABLE };
    if (!(err instanceof UpstreamError)) throw err;
    return { ok: false, status: err.status ?? 0, detail: err.message };
  }
}

/**
 * startPullConnector runs the orchestrator-pull sources in a worker process: every tick it takes
 * the due sources whose poll no other worker holds (compare-and-set on the source's state), reads
 * the upstream alerts after the cursor page by page, imports each once, and writes the new cursor,
 * the lag and the next poll time (interval, Retry-After or backoff) back; a failure is shown as the
 * source's last error and reception. Tokens are kept in memory per source until they expire or the
 * source changes.
 */
export function startPullConnector(options: PullConnectorOptions): PullConnector {
  const { db, secretBox, clock, logger, floodWindowMs, fatalSignal, countStored, countFailure, hosts, upstreamTimeoutMs } = options;
  const owner = crypto.randomUUID();
  const tokens = new Map<string, { bearer: Bearer; version: number }>();
  const inFlight = new Map<string, Promise<void>>();
  /** The polls under way of each tenant, by which the next free slot goes to the tenant with the fewest. */
  const tenantPolls = new Map<string, number>();
  // Stopping aborts the upstream requests under way, so a slow Orchestrator never holds up shutdown.
  const aborter = new AbortController();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();
  /** Looks that failed in a row: through an outage the loop backs off as the scheduler and the outbox do. */
  let failures = 0;
  const outage = new OutageLog(logger, { failed: 'looking for due pull sources failed; will try again', back: 'looking for due pull sources works again' });

  const bearerFor = async (row: SourceRow, credentials: Credentials, fresh: boolean): Promise<Bearer> => {
    const cached = tokens.get(row.id);
    if (!fresh && cached && cached.version === row.updated_at && cached.bearer.expiresAt > clock.now()) return cached.bearer;
    const bearer = await signIn(credentials, clock.now(), aborter.signal);
    tokens.set(row.id, { bearer, version: row.updated_at });
    return bearer;
  };

  const fetchPage = async (row: SourceRow, credentials: Credentials, at: PageRequest) => {
    const bearer = await bearerFor(row, credentials, false);
    try {
      return await fetchAlertsPage(credentials, bearer, at, clock.now(), aborter.signal);
    } catch (err) {
      // An expired or revoked token: sign in again once.
      if (!(err instanceof UpstreamError) || err.status !== 401) throw err;
      return fetchAlertsPage(credentials, await bearerFor(row, credentials, true), at, clock.now(), aborter.signal);
    }
  };

  /**
   * poll reads and imports what is new upstream; the lease bounds how long it may go on. What it
   * imported goes into `progress` as it goes, so that a poll failing or stopped half-way still counts it.
   */
  const poll = async (row: SourceRow, state: PullState, progress: { imported: number; newestImported: number | null }): Promise<PollOutcome> => {
    const credentials = credentialsOf(row, secretBox, hosts, upstreamTimeoutMs);
    let cursorTime = state.cursorTime;
    let cursorId = state.cursorId;
    let at: PageRequest = { cursorTime: state.cursorTime, continuing: state.backlog === true, skip: 0 };
    for (let page = 0; page < MAX_PAGES_PER_POLL; page += 1) {
      const { alerts, rows, more, link } = await fetchPage(row, credentials, at);
      // At most PAGE_SIZE a transaction: an upstream that answers more rows than $top asked for
      // bound more values than a statement takes (SQLite 32,766), and every poll failed on them.
      for (let from = 0; from < alerts.length; from += PAGE_SIZE) {
        let stored: Awaited<ReturnType<typeof importAlerts>>;
        try {
          stored = await importAlerts(db, row, alerts.slice(from, from + PAGE_SIZE), clock.now(), floodWindowMs);
        } catch (err) {
          // Another worker imported some of these first (its lease had expired): re-read at once.
          if (classifyDbError(err) !== 'unique') throw err;
          return { ok: true, cursorTime, cursorId, ...progress, more: true };
        }
        countStored?.(stored.alerts);
        if (stored.ids.length > 0 && fatalSignal) {
          const fatal = stored.ids.filter((_, i) => stored.alerts[i]!.severity === 'Fatal' && isNews(row, stored.alerts[i]!));
          if (fatal.length > 0) fatalSignal.notify({ tenantId: row.tenant_id, alertIds: fatal });
        }
        progress.imported += stored.ids.length;
        for (const a of stored.alerts) progress.newestImported = Math.max(progress.newestImported ?? 0, a.occurredAt ?? 0);
      }
      for (const a of alerts) {
        const at = Date.parse(a.CreationTime);
        if (at >= cursorTime) [cursorTime, cursorId] = [at, a.Id];
      }
      // A page short of $top ends the answer, unless the upstream pages it itself (@odata.nextLink).
      if (rows === 0 || (rows < PAGE_SIZE && !more)) return { ok: true, cursorTime, cursorId, ...progress, more: false };
      at = { cursorTime: at.cursorTime, continuing: at.continuing, skip: at.skip + rows, ...(link ? { link } : {}) };
      if (clock.now() > state.leaseUntil - 30_000) break;
    }
    return { ok: true, cursorTime, cursorId, ...progress, more: true };
  };

  const run = async (row: SourceRow, held: PullState) => {
    const pull = JSON.parse(row.pull!) as StoredPull;
    const startedAt = clock.now();
    const progress = { imported: 0, newestImported: null as number | null };
    let outcome: PollOutcome;
    let failure: Reception | undefined;
    try {
      outcome = await poll(row, held, progress);
    } catch (err) {
      const upstream = err instanceof UpstreamError ? err : undefined;
      // The source (or its tenant) deleted while it was polled: its import was refused (a foreign
      // key) and rolled back, as it should be. No failure to warn of, nor anything left to record.
      if (!upstream && (await sourceGone(db, row.id))) {
        logger.debug({ sourceId: row.id }, 'pull source deleted during its poll');
        return;
      }
      const unreadable = err instanceof SecretDecryptError;
      const message = upstream ? upstream.message : unreadable ? PULL_SECRET_UNREADABLE : 'the alerts could not be stored';
      if (upstream) logger.info({ sourceId: row.id, status: upstream.status, error: upstream.message }, 'pull from upstream failed');
      else if (unreadable) logger.warn({ sourceId: row.id }, `pull source: ${PULL_SECRET_UNREADABLE}`);
      else logger.warn({ err, sourceId: row.id }, 'pull import failed');
      outcome = {
        ok: false,
        ...progress,
        ...(upstream?.retryAfterMs !== undefined ? { retryAfterMs: upstream.retryAfterMs } : {}),
        ...(aborter.signal.aborted ? { interrupted: true } : {}),
      };
      // A poll cut short by shutdown is not the upstream's failure.
      if (!aborter.signal.aborted) {
        countFailure?.(upstream ? 'upstream' : unreadable ? 'secret_unreadable' : 'store');
        failure = { outcome: 'unavailable', status: upstream?.status ?? 0, alertIds: [], error: message.slice(0, 500) };
      }
    }
    const now = clock.now();
    // The failure (last error and reception) and the state it earns (failures, next poll) in one
    // transaction: written apart, a client reading the source between them saw a last error with
    // no failure counted and no next poll, a state the source was never in.
    await db.transaction().execute(async (tx) => {
      if (failure) await recordReception(tx, row.id, now, failure);
      let next = afterPoll(held, outcome, pull.intervalSeconds * 1000, now, startedAt);
      // Settings changed while this poll ran on the old ones (PATCH leaves a poll under way alone):
      // they are tried at once, not after the interval or the backoff the old ones earned.
      const current = await tx.selectFrom('sources').select('updated_at').where('id', '=', row.id).executeTakeFirst();
      if (current !== undefined && Number(current.updated_at) !== Number(row.updated_at)) next = { ...next, nextPollAt: Math.min(next.nextPollAt, now) };
      // Only the lease holder writes its result: if the lease ran out and another worker took it, that one's state wins.
      await tx
        .updateTable('sources')
        .set({ pull_state: stateText(next) })
        .where('id', '=', row.id)
        .where('pull_state', '=', stateText(held))
        .execute();
    });
  };

  /** claim leases a due source's poll (`state`, read from `row`, claimable) to this worker, unless another worker took it first. */
  const claim = async (row: SourceRow, state: PullState): Promise<PullState | undefined> => {
    const held = claimed(state, owner, clock.now());
    const update = db
      .updateTable('sources')
      .set({ pull_state: stateText(held) })
      .where('id', '=', row.id);
    const result = await (row.pull_state === null
      ? update.where('pull_state', 'is', null)
      : update.where('pull_state', '=', row.pull_state)
    ).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1 ? held : undefined;
  };

  /**
   * forgetTokens drops the tokens of sources no longer polled (deleted, with their tenant or alone,
   * disabled, or changed) or expired: they were kept for the process's life otherwise, one per
   * source ever polled, each a credential of someone's Orchestrator.
   */
  const forgetTokens = (rows: readonly SourceRow[]) => {
    if (tokens.size === 0) return;
    const now = clock.now();
    const polled = new Map(rows.map((row) => [row.id, row.updated_at]));
    for (const [id, kept] of tokens) if (polled.get(id) !== kept.version || kept.bearer.expiresAt <= now) tokens.delete(id);
  };

  const pollDue = async () => {
    // Built and compiled once (sqlOnce): every worker looks each tick, with or without a source.
    const text = sqlOnce(db, 'pollDue', () => db.selectFrom('sources').selectAll().where('kind', '=', 'orchestrator-pull').where('enabled', '=', 1));
    const { rows } = await db.executeQuery<SourceRow>(CompiledQuery.raw(text, ['orchestrator-pull', 1]));
    forgetTokens(rows);
    if (inFlight.size >= MAX_CONCURRENT_POLLS) return;
    const now = clock.now();
    const due = rows.flatMap((row) => {
      if (row.pull === null || inFlight.has(row.id)) return [];
      const state = readState(row.pull_state, (JSON.parse(row.pull) as StoredPull).since);
      return claimable(state, now) ? [{ row: { row, state }, tenantId: row.tenant_id, dueAt: state.nextPollAt }] : [];
    });
    // Taken in turns across tenants (takeTurn), not in the table's order.
    for (let turn = takeTurn(due, tenantPolls); turn && !stopped && inFlight.size < MAX_CONCURRENT_POLLS; turn = takeTurn(due, tenantPolls)) {
      const {
        row: { row, state },
        tenantId,
      } = turn;
      const held = await claim(row, state);
      if (!held) continue;
      tenantPolls.set(tenantId, (tenantPolls.get(tenantId) ?? 0) + 1);
      const running = run(row, held)
        .catch((err: unknown) => logger.warn({ err, sourceId: row.id }, 'pull poll failed'))
        .finally(() => {
          inFlight.delete(row.id);
          const left = (tenantPolls.get(tenantId) ?? 1) - 1;
          if (left > 0) tenantPolls.set(tenantId, left);
          else tenantPolls.delete(tenantId);
        });
      inFlight.set(row.id, running);
    }
  };

  const tickMs = options.tickMs ?? TICK_MS;
  const tick = () => {
    let next = tickMs;
    ticking = pollDue()
      .then(
        () => {
          failures = 0;
          outage.worked();
        },
        (err: unknown) => {
          // Doubling from a tick up to CONNECT_BACKOFF's ceiling, not a failed look (and its stack) every second.
          next = backoffDelay(failures++, { firstMs: tickMs, maxMs: CONNECT_BACKOFF.maxMs }, Math.random);
          outage.failed(err, next);
        },
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, next).unref();
      });
  };
  tick();

  return {
    async pollDue() {
      // A tick under way may be claiming a source this look then finds held: its poll is waited for too.
      await ticking;
      await pollDue();
      await Promise.all(inFlight.values());
    },
    async stop(patience) {
      stopped = true;
      clearTimeout(timer);
      aborter.abort();
      const polls = (async () => {
        await ticking;
        await Promise.all(inFlight.values());
      })();
      await endedWithin(polls, patience, logger, "the pull sources' polls in progress");
    },
    tokensKept: () => tokens.size,
  };
}
