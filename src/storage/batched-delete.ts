import type { DeleteResult } from 'kysely';

/**
 * DELETE_BATCH is how many rows one delete of a backlog removes (retention, a tenant's alerts when it
 * is deleted): small, so that SQLite's write lock and the event loop are never held long, and
 * PostgreSQL never makes one huge transaction.
 */
export const DELETE_BATCH = 500;

/**
 * deleteInBatches runs `deleteBatch` (a delete of at most `batchSize` rows, each its own statement
 * and commit) until it deletes fewer, yielding to the event loop between batches (SQLite's driver
 * is synchronous: without it, nothing else ran until the last batch); returns how many rows it deleted.
 */
export async function deleteInBatches(batchSize: number, deleteBatch: () => Promise<DeleteResult>): Promise<number> {
  let deleted = 0;
  for (;;) {
    const n = Number((await deleteBatch()).numDeletedRows);
    deleted += n;
    if (n < batchSize) return deleted;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
