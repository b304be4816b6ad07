import type SqliteDatabase from 'better-sqlite3';

/** checkpointAtIdle copies the WAL into the database file and, when that took all of it, restarts the WAL (idle-checkpoint.js). */
export function checkpointAtIdle(database: SqliteDatabase.Database, withoutWaiting: (write: () => unknown) => unknown): void;
