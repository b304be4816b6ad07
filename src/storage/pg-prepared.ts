import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/**
 * MAX_PREPARED_STATEMENTS bounds the SQL texts a process prepares on PostgreSQL: each is kept,
 * parsed and planned, by every connection of its pool for the connection's life.
 */
const MAX_PREPARED_STATEMENTS = 100;

/** The statement name of each text prepared on the server (serverPrepared), in the order given. */
const names = new Map<string, string>();

/**
 * serverPrepared marks a hot statement's SQL text to run on PostgreSQL as a named prepared
 * statement: parsed and planned once per connection instead of on every run, which for the
 * ingest's insert was about a third of PostgreSQL's CPU per alert. Only for statements whose
 * result columns no migration changes under a running process (an insert, a select of named
 * columns; not `select *`, whose prepared plan PostgreSQL refuses once a column is added). Past
 * MAX_PREPARED_STATEMENTS texts, new ones run unnamed, as every other statement does.
 */
export function serverPrepared(text: string): string {
  if (!names.has(text) && names.size < MAX_PREPARED_STATEMENTS) names.set(text, `tocsin_${names.size + 1}`);
  return text;
}

const wrapped = new WeakSet<object>();

/**
 * preparedOnServer hands Kysely a pool whose clients run the texts marked by serverPrepared as
 * named prepared statements (pg prepares a name once per connection and then only binds and
 * executes it), and every other query as they would. A text of several statements without parameters
 * (one round trip, pg's simple query) answers with its last statement's result, which Kysely reads;
 * pg gives an array of them, in which Kysely would find no rows.
 */
export function preparedOnServer(pool: pg.Pool, watch?: StatementWatch): PostgresPool {
  return {
    connect: async () => {
      const client = await pool.connect();
      if (!wrapped.has(client)) {
        wrapped.add(client);
        const query = client.query.bind(client) as (...args: unknown[]) => unknown;
        const watched = watch?.client(client);
        (client as { query: unknown }).query = (text: unknown, values?: unknown[]) => {
          const name = typeof text === 'string' ? names.get(text) : undefined;
          const answer = name !== undefined ? query({ name, text, values }) : query(text, values);
          if (!(answer instanceof Promise)) return answer;
          watched?.(answer);
          return name !== undefined ? answer : answer.then(lastResult);
        };
      }
      return client as unknown as PostgresPoolClient;
    },
    end: () => {
      watch?.stop();
      return pool.end();
    },
  };
}

/** StatementWatch is told of every statement a pooled client sends, to act on those left unanswered. */
export interface StatementWatch {
  /** client is called once per pooled client and gives what to call with each statement's answer. */
  client(client: pg.PoolClient): (answer: Promise<unknown>) => void;
  /** stop ends the watch's timers when the pool ends. */
  stop(): void;
  /** connections are the pooled clients whose connections have not ended yet. */
  connections(): Iterable<pg.PoolClient>;
}

/** lastResult is the result of a query's last statement: pg answers a text of several statements with an array. */
function lastResult(result: unknown): unknown {
  return Array.isArray(result) ? result[result.length - 1] : result;
}
