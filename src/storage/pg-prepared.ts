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
 * executes it), and every other query as they would.
 */
export function preparedOnServer(pool: pg.Pool): PostgresPool {
  return {
    connect: async () => {
      const client = await pool.connect();
      if (!wrapped.has(client)) {
        wrapped.add(client);
        const query = client.query.bind(client) as (...args: unknown[]) => unknown;
        (client as { query: unknown }).query = (text: unknown, values?: unknown[]) => {
          const name = typeof text === 'string' ? names.get(text) : undefined;
          return name === undefined ? query(text, values) : query({ name, text, values });
        };
      }
      return client as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}
