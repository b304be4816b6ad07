/**
 * DbErrorKind is what a database error means for the caller: a `unique` or `foreign-key`
 * constraint lost a race with another request, or a client value the engine cannot store
 * (`invalid-value`, e.g. a number out of range).
 */
export type DbErrorKind = 'unique' | 'foreign-key' | 'invalid-value';

const SQLITE_CODES: Record<string, DbErrorKind> = {
  SQLITE_CONSTRAINT_UNIQUE: 'unique',
  SQLITE_CONSTRAINT_PRIMARYKEY: 'unique',
  SQLITE_CONSTRAINT_FOREIGNKEY: 'foreign-key',
  SQLITE_TOOBIG: 'invalid-value',
};

/**
 * classifyDbError reads the SQLSTATE of a PostgreSQL error or the code of a better-sqlite3 one;
 * anything else (a lost connection, a bug) is undefined and stays a 500.
 */
export function classifyDbError(error: unknown): DbErrorKind | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (Object.hasOwn(SQLITE_CODES, code)) return SQLITE_CODES[code];
  if (!/^[0-9A-Z]{5}$/.test(code)) return undefined;
  if (code === '23505') return 'unique';
  if (code === '23503') return 'foreign-key';
  // Class 22 is "data exception": a value out of range, bad encoding, a NUL in text.
  if (code.startsWith('22')) return 'invalid-value';
  return undefined;
}
