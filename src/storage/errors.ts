import { type PipelineStage, StageError } from '../shared/stage-error.js';
import { READ_ONLY_REASON, isWorthRetrying, unavailableReason } from './connect.js';
import { SQLITE_DISK_FULL, SQLITE_FULL } from './storage.js';

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
  if (error instanceof StorageRejectedError) return error.kind;
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

/**
 * isStorageOutage: the database is there but cannot serve now, and may in a moment: unreachable,
 * full, restarting (isWorthRetrying), SQLite's lock held past the busy timeout or its disk full
 * (until the operator frees room, as PostgreSQL's disk_full, class 53), or PostgreSQL cancelling a
 * transaction that lost a serialization or deadlock race, or refusing writes for now (a standby
 * after a failover, or default_transaction_read_only set for a maintenance). Once serving, a
 * database that new connections no longer find (renamed or dropped for a restore, 3D000) or whose
 * credentials they no longer pass (rotated, class 28) is an outage too: at start-up those stop the
 * process (isWorthRetrying), but here the database was there and is what the operator is changing.
 * So is a statement PostgreSQL cancelled after a lock_timeout or statement_timeout the operator set
 * on the database or role (a table locked by a maintenance): POST /alerts answered 500 for it. And
 * a table of Tocsin's not found (42P01) in the database it migrated: a restore in place (pg_restore
 * --clean) drops each and makes it again, and answered the requests of those seconds with a 500.
 */
export function isStorageOutage(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    isWorthRetrying(error) ||
    code === '3D000' ||
    (typeof code === 'string' && /^28[0-9A-Z]{3}$/.test(code)) ||
    code === 'SQLITE_BUSY' ||
    code === 'SQLITE_LOCKED' ||
    code === SQLITE_FULL ||
    isSqliteIoError(code) ||
    code === '40001' ||
    code === '40P01' ||
    code === LOCK_TIMEOUT ||
    code === STATEMENT_CANCELLED ||
    code === READ_ONLY ||
    code === UNDEFINED_TABLE ||
    code === SQLITE_FILE_GONE
  );
}

/** The code of the error a write gets once the SQLite file was removed or replaced (Storage.fileGone). */
export const SQLITE_FILE_GONE = 'TOCSIN_SQLITE_FILE_GONE';

/** PostgreSQL's undefined_table: a table of Tocsin's dropped (a restore in place under way). */
const UNDEFINED_TABLE = '42P01';

/** PostgreSQL's read_only_sql_transaction: a write sent to a server that takes none now. */
const READ_ONLY = '25006';

/**
 * isSqliteIoError: SQLite's disk failed a read or write (SQLITE_IOERR and its extended codes). A
 * write past a file size limit (`ulimit -f`) or a user's disk quota (EDQUOT) is one: SQLite says
 * SQLITE_FULL only for ENOSPC. The file cannot store now, as a full disk cannot: a 503, not a 500.
 */
function isSqliteIoError(code: unknown): boolean {
  return typeof code === 'string' && /^SQLITE_IOERR(_[A-Z_]+)?$/.test(code);
}

/** PostgreSQL's lock_not_available: a lock not had within lock_timeout (or NOWAIT). */
const LOCK_TIMEOUT = '55P03';

/** PostgreSQL's query_canceled: statement_timeout, or an operator's pg_cancel_backend. */
const STATEMENT_CANCELLED = '57014';

/**
 * lostTransactionRace tells whether PostgreSQL cancelled a transaction (or the stage that ran it)
 * for losing a serialization or deadlock race with another: running it again may well succeed.
 */
export function lostTransactionRace(error: unknown): boolean {
  const cause = error instanceof StageError ? error.cause : error;
  const code = (cause as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
}

/** outageReason says what kind of outage, without credentials or host names (unavailableReason). */
function outageReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return 'locked by another writer';
  if (code === SQLITE_FULL) return SQLITE_DISK_FULL;
  if (isSqliteIoError(code)) return `the disk of the SQLite database failed (${String(code)}: full to its size limit or quota, or failing)`;
  if (code === SQLITE_FILE_GONE) return (error as Error).message;
  if (code === '40001' || code === '40P01') return 'a concurrent transaction conflicted';
  if (code === LOCK_TIMEOUT) return 'a lock was not had within the lock_timeout of the database (a table locked by another session)';
  if (code === STATEMENT_CANCELLED) return 'the database cancelled the statement (its statement_timeout, or an operator)';
  if (code === READ_ONLY) return READ_ONLY_REASON;
  if (code === UNDEFINED_TABLE) return "a table of Tocsin's is missing (dropped, or a restore into the database under way)";
  return unavailableReason(error);
}

/**
 * StorageUnavailableError is a stage's failure to reach its database (isStorageOutage): retryable,
 * so the stage backs off and tries again (ingest answers 503 with Retry-After).
 */
export class StorageUnavailableError extends StageError {
  readonly retryable = true;
  constructor(
    readonly stage: PipelineStage,
    cause: unknown,
  ) {
    super(`${stage}: the database is unavailable (${outageReason(cause)})`, { cause });
    this.name = 'StorageUnavailableError';
  }
}

/**
 * StorageRejectedError is a stage's write that the database refused for what it says (a constraint,
 * a value it cannot store: classifyDbError): permanent, since the same write is refused again.
 */
export class StorageRejectedError extends StageError {
  readonly retryable = false;
  constructor(
    readonly stage: PipelineStage,
    readonly kind: DbErrorKind,
    cause: unknown,
  ) {
    super(`${stage}: the database refused the write (${kind})`, { cause });
    this.name = 'StorageRejectedError';
  }
}

/**
 * storageFailure is how a stage reports what its database threw: an outage or a refusal becomes the
 * stage's StageError; anything else (a bug) is returned as it is, and counts as transient.
 */
export function storageFailure(stage: PipelineStage, error: unknown): unknown {
  if (error instanceof StageError) return error;
  const kind = classifyDbError(error);
  if (kind) return new StorageRejectedError(stage, kind, error);
  if (isStorageOutage(error)) return new StorageUnavailableError(stage, error);
  return error;
}

/** asStage runs a stage's database work and reports its failure through storageFailure. */
export async function asStage<T>(stage: PipelineStage, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw storageFailure(stage, err);
  }
}
