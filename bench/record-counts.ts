/**
 * Commits and rows written per email by the delivery worker (claim → send → record), counted in
 * one instrumented in-process run on SQLite and on PostgreSQL, with the outcomes recorded in group
 * commits (the AttemptRecorder, as shipped) and, for comparison, one commit per email. Counts, not
 * speed: they do not depend on the machine's load, so they can be taken on a busy machine.
 *
 *   npx tsx bench/record-counts.ts [--emails 2000]
 *
 * SQLite: a commit is a write transaction that changed rows (a WAL append and an fsync with
 * synchronous=FULL); rows written are `total_changes()`. PostgreSQL:
 * pg_stat_database of a database of the run's own (committed transactions, read-only ones
 * included as PostgreSQL counts them; rows inserted + updated + deleted).
 */
import { parseArgs } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { systemClock } from '../src/shared/clock.js';
import type { Dialect } from '../src/storage/dialect.js';
import { TEST_PG_URL } from '../test/support/storage.js';
import type { Storage } from '../src/storage/storage.js';
import type { SmtpEndpoint } from '../src/delivery/contract.js';
import { createMailSender } from '../src/delivery/smtp/sender.js';
import { startTestSmtpServer } from '../test/support/smtp-servers.js';
import { AttemptRecorder } from '../src/delivery/outbox/attempt-recorder.js';
import { enqueueDeliveries } from '../src/delivery/outbox/enqueue.js';
import { recordAttempts } from '../src/delivery/outbox/outcomes.js';
import { insertTestTenant, openTestOutboxDatabase, testDelivery } from '../test/support/outbox-fixtures.js';
import { COMMIT_WINDOW_MS, DeliveryWorker } from '../src/delivery/outbox/worker.js';
import { type DatabaseActivity, databaseActivity } from './delivery.js';

/** Counts are what one run wrote to the database (per email, once divided). */
type Counts = DatabaseActivity;

/** Write transactions of this process's SQLite connections, counted at the statement. */
const sqliteCommits = { n: 0 };

/**
 * countSqliteCommits wraps better-sqlite3's statements so that each `commit` of a transaction that
 * changed rows, and each write statement outside a transaction (its own implicit commit), is
 * counted: those are the commits that write the WAL and fsync. A transaction that changed nothing
 * (a claim that found no due row) writes no frame and is not counted.
 */
function countSqliteCommits(): void {
  const prepare = SqliteDatabase.prototype.prepare;
  let changesAtBegin = 0;
  SqliteDatabase.prototype.prepare = function (this: SqliteDatabase.Database, source: string) {
    const statement = prepare.call(this, source) as SqliteDatabase.Statement;
    const database = this;
    const totalChanges = () => Number(prepare.call(database, 'select total_changes()').pluck().get());
    for (const method of ['run', 'all', 'get', 'iterate'] as const) {
      const call = statement[method] as (...args: unknown[]) => unknown;
      (statement as unknown as Record<string, unknown>)[method] = function (this: unknown, ...args: unknown[]) {
        if (/^\s*begin\b/i.test(source)) changesAtBegin = totalChanges();
        else if (/^\s*commit\b/i.test(source)) {
          if (totalChanges() > changesAtBegin) sqliteCommits.n++;
        } else if (!database.inTransaction && !statement.readonly) sqliteCommits.n++;
        return call.apply(this, args);
      };
    }
    return statement;
  } as typeof prepare;
}

async function counts(storage: Storage, url: string): Promise<Counts> {
  if (storage.dialect === 'postgres') {
    // An idle session publishes its counters within PostgreSQL's idle interval (10 s); the pool's
    // other sessions cannot be asked to flush sooner, so wait it out.
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    return databaseActivity(url);
  }
  const { rows } = await sql<{ n: number }>`select total_changes() as n`.execute(storage.db);
  return { commits: sqliteCommits.n, rowsWritten: Number(rows[0]!.n) };
}

type Recording = 'group commit' | 'one commit per email';

/** run sends `emails` queued emails through one DeliveryWorker and counts what the database wrote for them. */
async function run(dialect: Dialect, emails: number, recording: Recording): Promise<Counts> {
  const database = await openTestOutboxDatabase(dialect);
  const server = await startTestSmtpServer();
  const sender = createMailSender({ maxConnections: 10 });
  try {
    const { storage } = database;
    const tenant = await insertTestTenant(storage.db, 'bench');
    for (let i = 0; i < emails; i += 500) {
      await enqueueDeliveries(
        storage.db,
        Array.from({ length: Math.min(500, emails - i) }, (_, j) => testDelivery(tenant, `ops${i + j}@example.com`)),
      );
    }
    const endpoint: SmtpEndpoint = {
      host: 'localhost',
      port: server.port,
      security: 'none',
      authMethod: 'none',
      fromAddress: 'alerts@example.com',
      timeoutMs: 10_000,
    };
    // The "before": each outcome committed alone, as a recorder without grouping would.
    const alone = {
      record: async (attempt) => (await recordAttempts(storage, [attempt])).length > 0,
      // Each outcome is committed before record returns: never behind.
      caughtUp: async () => {},
    } satisfies Pick<AttemptRecorder, 'record' | 'caughtUp'>;
    const worker = new DeliveryWorker({
      storage,
      clock: systemClock,
      sender,
      resolveEndpoint: async () => endpoint,
      composers: {},
      recorder: recording === 'group commit' ? new AttemptRecorder(storage, COMMIT_WINDOW_MS[dialect]) : (alone as unknown as AttemptRecorder),
    });
    const before = await counts(storage, database.url);
    worker.start();
    await server.waitForMessages(emails, 600_000);
    await worker.stop();
    const after = await counts(storage, database.url);
    const sent = await storage.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'sent')
      .executeTakeFirstOrThrow();
    if (Number(sent.n) !== emails || server.messages.length !== emails)
      throw new Error(`${dialect}: ${sent.n} recorded as sent, ${server.messages.length} received, of ${emails}`);
    return { commits: (after.commits - before.commits) / emails, rowsWritten: (after.rowsWritten - before.rowsWritten) / emails };
  } finally {
    await sender.close();
    await server.close();
    await database.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { emails: { type: 'string', default: '2000' } } });
  const emails = Number(values.emails);
  countSqliteCommits();
  const dialects: Dialect[] = TEST_PG_URL ? ['sqlite', 'postgres'] : ['sqlite'];
  console.log(`| database | outcomes recorded | commits per email | rows written per email |\n|---|---|---|---|`);
  for (const dialect of dialects) {
    for (const recording of ['one commit per email', 'group commit'] as const) {
      const c = await run(dialect, emails, recording);
      console.log(`| ${dialect} | ${recording} | ${c.commits.toFixed(3)} | ${c.rowsWritten.toFixed(2)} |`);
    }
  }
  if (!TEST_PG_URL) console.log('(PostgreSQL skipped: set TOCSIN_TEST_PG_URL)');
}

await main();
