import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/** PostgreSQL's read_only_sql_transaction: a write refused by a session that takes none. */
const READ_ONLY = '25006';

/**
 * RETIRE_EVERY_MS: how often, at most, refused writes retire the pool's connections. While the
 * database stays read-only (a standby, a long maintenance) every write is refused, and retiring at
 * each would open a connection a request; a connection opened since the last retirement and
 * refused is retired at the next, so the pool is renewed within this once writes are taken again.
 */
const RETIRE_EVERY_MS = 1_000;

/** RetiringPool is the pool retiringReadOnlySessions hands Kysely. */
export interface RetiringPool extends PostgresPool {
  /**
   * retire retires the connections opened so far (at their next release), as a refused write does
   * (at most once a RETIRE_EVERY_MS): for a database found to take writes again by a new session
   * while the pool's older ones, opened during a read-only maintenance, still take none.
   */
  retire(): void;
}

/**
 * retiringReadOnlySessions hands Kysely `pool` with its connections retired (closed at their next
 * release, the pool opening new ones as needed) once a write was refused as read-only: the refused
 * connection, and every other opened before that refusal. A DBA's `ALTER DATABASE … SET
 * default_transaction_read_only` (or the role's) applies to the sessions opened after it, for their
 * whole life: those the pool opened during a maintenance went on refusing writes once it was reset,
 * and a pool under load never left them idle long enough to close them, so writes answered 503 for
 * as long as the load lasted. A new session takes the database's setting as it is now.
 */
export function retiringReadOnlySessions(pool: PostgresPool, now: () => number = () => performance.now()): RetiringPool {
  let refusals = 0;
  let retiredAt = Number.NEGATIVE_INFINITY;
  const retire = () => {
    if (now() - retiredAt < RETIRE_EVERY_MS) return;
    refusals += 1;
    retiredAt = now();
  };
  /** Per client: how many refusals had been seen when it was first lent, which it is retired past. */
  const refusalsBefore = new WeakMap<object, number>();
  return {
    connect: async () => {
      const client = (await pool.connect()) as unknown as pg.PoolClient;
      if (!refusalsBefore.has(client)) {
        refusalsBefore.set(client, refusals);
        const query = client.query.bind(client) as (...args: unknown[]) => unknown;
        (client as { query: unknown }).query = (...args: unknown[]) => {
          const answer = query(...args);
          if (answer instanceof Promise) {
            answer.catch((err: unknown) => {
              if ((err as { code?: unknown } | null)?.code === READ_ONLY) retire();
            });
          }
          return answer;
        };
      }
      // pg-pool gives each lending a release of its own; one given an error closes the connection.
      const release = client.release.bind(client);
      client.release = () => release(refusalsBefore.get(client)! < refusals ? new Error('a session opened while the database took no writes') : undefined);
      return client as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
    retire,
  };
}
