/** Dialect names the database engine behind a Storage; SQL that differs switches on it. */
export type Dialect = 'sqlite' | 'postgres';

/**
 * Column types shared by every migration so that both engines store the same values: times are
 * epoch milliseconds (bigint, read back as numbers), flags are 0/1 integers (better-sqlite3
 * cannot bind booleans) and JSON is text.
 */
export const columnType = {
  time: 'bigint',
  flag: 'integer',
  json: 'text',
} as const;
