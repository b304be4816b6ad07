import type SqliteDatabase from 'better-sqlite3';

/**
 * ChangeMark reads a mark of what an SQLite file holds, as one connection sees it: a later mark
 * differs once anything was committed to the file since, through this connection (SQLite's
 * total_changes()) or any other, of this process or another (PRAGMA data_version). It is
 * undefined inside a transaction of the connection, whose changes are not committed yet: ask again
 * after it. One prepared statement, a few microseconds: a worker asks it at each poll instead of
 * claiming, and claims again only once the file changed (worker.ts).
 */
export type ChangeMark = () => string | undefined;

/** sqliteChangeMark is the ChangeMark of `database`'s connection. */
export function sqliteChangeMark(database: SqliteDatabase.Database): ChangeMark {
  const mark = database.prepare("select data_version || ':' || total_changes() from pragma_data_version").pluck();
  return () => (database.inTransaction ? undefined : (mark.get() as string));
}
