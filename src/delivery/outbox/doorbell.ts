import { sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { CONNECT_BACKOFF, backoffDelay } from '../../storage/connect.js';
import type { Db } from '../../storage/database.js';
import { OutageLog } from '../../storage/outage-log.js';
import { ended, postgresClientConfig } from '../../storage/storage.js';

/**
 * OutboxDoorbell lets code that has just committed deliveries tell the workers of this process
 * to look now instead of at their next poll, so an immediate email leaves within milliseconds.
 * Workers in other processes find the rows at their next poll, or at once on PostgreSQL when the
 * queuing process calls notifyOutbox and theirs listenForOutbox.
 */
export class OutboxDoorbell {
  readonly #listeners = new Set<() => void>();

  /** ring wakes every subscribed worker; call it after the enqueuing transaction commits. */
  ring(): void {
    for (const listener of this.#listeners) listener();
  }

  /** subscribe registers a listener and returns how to unsubscribe it. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** OUTBOX_CHANNEL is the PostgreSQL channel on which a commit that queued mail wakes other processes' workers. */
const OUTBOX_CHANNEL = 'tocsin_outbox';

/** notifyOutbox wakes the workers of other processes that listen (PostgreSQL only); call it after the enqueuing commit. */
export async function notifyOutbox(db: Db): Promise<void> {
  await sql`select pg_notify(${OUTBOX_CHANNEL}, '')`.execute(db);
}

/**
 * CHANGES_CHANNEL is the PostgreSQL channel on which a change to who gets which email (ChangeCount)
 * made through one process reaches the workers of the others: its payload is the tenant's id, or
 * empty for every tenant.
 */
const CHANGES_CHANNEL = 'tocsin_changes';

/** notifyChanges tells the workers of other processes of such a change (PostgreSQL only); call it after the change's commit. */
export async function notifyChanges(db: Db, tenantId: string | undefined): Promise<void> {
  await sql`select pg_notify(${CHANGES_CHANNEL}, ${tenantId ?? ''})`.execute(db);
}

/**
 * listenForOutbox rings a doorbell whenever a process notifies the outbox channel (PostgreSQL
 * LISTEN on a connection of its own), so a worker hears an `api` process's immediate email at once.
 * It resolves once listening, or after a first refusal (a full server must not stop the worker): a
 * lost or refused connection is logged and opened again with backoff, and rings once when back,
 * since notifications sent meanwhile are lost. The worker's poll finds every row meanwhile, only
 * later. `changed` hears, on the same connection, the changes to who gets which email
 * (notifyChanges), and of a change to every tenant when the connection is back: those told
 * meanwhile are lost too.
 */
export async function listenForOutbox(
  url: string,
  doorbell: OutboxDoorbell,
  logger: Logger,
  changed?: (tenantId: string | undefined) => void,
): Promise<{ stop(): Promise<void> }> {
  let stopped = false;
  let client: pg.Client | undefined;
  let failures = 0;
  const outage = new OutageLog(logger, {
    failed: 'the outbox LISTEN connection failed; the worker finds new mail at its polls meanwhile',
    back: 'the outbox LISTEN connection is open again',
  });
  let timer: NodeJS.Timeout | undefined;
  const retry = (failed: pg.Client, err: unknown) => {
    if (stopped || client !== failed) return;
    client = undefined;
    failed.end().catch(() => {});
    const waitMs = backoffDelay(failures++, CONNECT_BACKOFF, Math.random);
    outage.failed(err, waitMs);
    timer = setTimeout(() => void connect(), waitMs);
    timer.unref();
  };
  const connect = async () => {
    const attempt = new pg.Client(postgresClientConfig(url, 'tocsin outbox listener'));
    client = attempt;
    attempt.on('notification', (message) => {
      if (message.channel === CHANGES_CHANNEL) changed?.(message.payload || undefined);
      else doorbell.ring();
    });
    attempt.on('error', (err) => retry(attempt, err));
    attempt.on('end', () => retry(attempt, new Error('connection ended')));
    try {
      await attempt.connect();
      // A DBA's idle_session_timeout (PostgreSQL 14 and later) ended this connection, idle by design,
      // again and again; older servers know no such setting, which is then no reason to stop.
      await attempt.query('set idle_session_timeout = 0').catch(() => {});
      await attempt.query(`LISTEN ${OUTBOX_CHANNEL}`);
      if (changed) await attempt.query(`LISTEN ${CHANGES_CHANNEL}`);
      if (failures > 0) {
        doorbell.ring();
        changed?.(undefined);
      }
      failures = 0;
      outage.worked();
    } catch (err) {
      retry(attempt, err);
    }
  };
  await connect();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const last = client;
      if (last)
        await ended(
          last.end().catch(() => {}),
          () => [last],
        );
    },
  };
}
