import { sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Db } from '../../storage/database.js';

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
 * listenForOutbox rings a doorbell whenever a process notifies the outbox channel (PostgreSQL
 * LISTEN on a connection of its own), so a worker hears an `api` process's immediate email at once.
 * A lost connection is only logged: the worker's poll still finds every row, just later.
 */
export async function listenForOutbox(url: string, doorbell: OutboxDoorbell, logger: Logger): Promise<{ stop(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url, user: decodeURIComponent(new URL(url).username) || 'postgres' });
  client.on('notification', () => doorbell.ring());
  client.on('error', (err) => logger.warn({ err }, 'the outbox LISTEN connection failed; the worker finds new mail at its polls'));
  await client.connect();
  await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
  return { stop: () => client.end() };
}
