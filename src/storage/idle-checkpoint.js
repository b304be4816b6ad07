// Plain JavaScript, loaded as it is by the idle checkpoint's thread (checkpoint-worker.js) in a
// build and in development alike: that thread runs neither TypeScript nor tsx. Typed by idle-checkpoint.d.ts.

/**
 * checkpointAtIdle copies the WAL into the database file (PASSIVE: it blocks no reader nor writer
 * of another connection) and, when that took all of it, starts the WAL afresh at once. SQLite starts
 * it afresh in the first commit after a complete checkpoint, and with synchronous=FULL that commit
 * writes and fsyncs a new WAL header before its own frames and their fsync: two fsyncs instead of
 * one, and that commit was the next Fatal alert's, on its way to the email. Writing the database
 * header's user_version, unchanged, makes that first commit here, at the idle moment. It does not
 * wait for the write lock (`withoutWaiting` runs the write so): another connection holding it
 * restarts the WAL in its own commit.
 *
 * @param {import('better-sqlite3').Database} database
 * @param {(write: () => unknown) => unknown} withoutWaiting
 */
export function checkpointAtIdle(database, withoutWaiting) {
  const [wal] = database.pragma('wal_checkpoint(PASSIVE)');
  if (wal?.busy !== 0 || wal.log === 0 || wal.checkpointed !== wal.log) return;
  const userVersion = database.pragma('user_version', { simple: true });
  withoutWaiting(() => database.pragma(`user_version = ${userVersion}`));
}
