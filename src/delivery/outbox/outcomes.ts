import type { Storage } from '../../storage/storage.js';
import type { AttemptOutcome } from './tables.js';

/** AttemptResult is how one claimed attempt ended, ready to be written. */
export type AttemptResult =
  | { readonly status: 'sent'; readonly response: string }
  | {
      readonly status: 'retrying' | 'failed';
      readonly nextAttemptAt?: number;
      readonly error: string;
      readonly code?: number | undefined;
      readonly response?: string | undefined;
    };

/** FinishedAttempt is one attempt's result with the claim it belongs to. */
export interface FinishedAttempt {
  readonly deliveryId: string;
  readonly leaseToken: string;
  readonly attemptId: string;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly result: AttemptResult;
}

const ATTEMPT_OUTCOME: Record<AttemptResult['status'], AttemptOutcome> = { sent: 'sent', retrying: 'retry', failed: 'failed' };

/**
 * recordAttempts writes finished attempts in one transaction (a group commit: one fsync for all
 * the sends that finished together). A delivery row changes only where (id, lease_token) still
 * match, so a worker that lost its lease cannot overwrite the new owner's work; the attempt
 * itself is logged either way, because it happened. Returns the ids whose lease was lost.
 */
export async function recordAttempts(storage: Storage, attempts: readonly FinishedAttempt[]): Promise<string[]> {
  if (attempts.length === 0) return [];
  const lost: string[] = [];
  await storage.db.transaction().execute(async (tx) => {
    for (const a of attempts) {
      const r = a.result;
      const changes =
        r.status === 'sent'
          ? { status: 'sent', sent_at: a.finishedAt, smtp_response: r.response, last_error: null, last_code: null }
          : {
              status: r.status,
              next_attempt_at: r.nextAttemptAt ?? a.finishedAt,
              last_error: r.error,
              last_code: r.code ?? null,
              smtp_response: r.response ?? null,
            };
      const updated = await tx
        .updateTable('deliveries')
        .set({ ...changes, lease_owner: null, lease_token: null, lease_expires_at: null })
        .where('id', '=', a.deliveryId)
        .where('lease_token', '=', a.leaseToken)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) lost.push(a.deliveryId);
      await tx
        .updateTable('delivery_attempts')
        .set({
          outcome: ATTEMPT_OUTCOME[r.status],
          finished_at: a.finishedAt,
          duration_ms: Math.max(0, a.finishedAt - a.startedAt),
          code: r.status === 'sent' ? codeOf(r.response) : (r.code ?? null),
          response: r.status === 'sent' ? r.response : (r.response ?? r.error),
        })
        .where('id', '=', a.attemptId)
        .execute();
    }
  });
  return lost;
}

/** codeOf reads the reply code at the start of an SMTP reply such as `250 2.0.0 Ok`. */
export function codeOf(reply: string): number | null {
  const match = /^(\d{3})\b/.exec(reply.trim());
  return match ? Number(match[1]) : null;
}
