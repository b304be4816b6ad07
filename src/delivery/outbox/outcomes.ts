import { newId } from '../../shared/ids.js';
import { asStage } from '../../storage/errors.js';
import { type RawBuilder, sql } from 'kysely';
import type { MailHealthSignal } from '../../mail-health/model.js';
import type { Db } from '../../storage/database.js';
import type { Storage } from '../../storage/storage.js';
import type { AttemptOutcome } from './tables.js';

/** AttemptResult is how one claimed attempt ended, ready to be written. */
export type AttemptResult = (
  | { readonly status: 'sent'; readonly response: string }
  | {
      readonly status: 'retrying' | 'failed';
      readonly nextAttemptAt?: number;
      readonly error: string;
      readonly code?: number | undefined;
      readonly response?: string | undefined;
    }
) & {
  /** What the attempt says about the tenant's mail server, when it says something. */
  readonly health?: MailHealthSignal | undefined;
};

/** FinishedAttempt is one attempt's result with the claim it belongs to. */
export interface FinishedAttempt {
  readonly deliveryId: string;
  readonly tenantId: string;
  readonly leaseToken: string;
  /** Which attempt at the delivery this was (1 for the first), and the worker that made it. */
  readonly attempt: number;
  readonly worker: string;
  /** When the attempt began: the row's claim (or its lease at insert). */
  readonly claimedAt: number;
  /** When the send itself started, and when the server's answer (or the failure) came. */
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly result: AttemptResult;
}

const ATTEMPT_OUTCOME: Record<AttemptResult['status'], AttemptOutcome> = { sent: 'sent', retrying: 'retry', failed: 'failed' };

type SqlType = 'text' | 'bigint' | 'integer';

/**
 * caseOf builds `case <key> when k1 then v1 … end`, so one UPDATE writes a different value to each
 * row. Values are cast so that PostgreSQL types its parameters (SQLite accepts the same casts).
 */
function caseOf(key: string, pairs: readonly (readonly [string, string | number | null])[], type: SqlType): RawBuilder<any> {
  const whens = pairs.map(([k, v]) => sql`when ${k} then cast(${v} as ${sql.raw(type)})`);
  return sql`case ${sql.ref(key)} ${sql.join(whens, sql` `)} end`;
}

/**
 * AfterRecord runs in the transaction that records a batch, with the attempts whose lease held:
 * what must change with them, atomically (the tenants' mail health).
 */
export type AfterRecord = (tx: Db, recorded: readonly FinishedAttempt[]) => Promise<void>;

/**
 * recordAttempts writes finished attempts in one transaction of two statements, whatever their
 * number (a group commit: one fsync for all the sends that finished together): the delivery rows'
 * results, and the attempt log's rows, inserted whole. A delivery row
 * changes only where (id, lease_token) still match, so a worker that lost its lease cannot
 * overwrite the new owner's work; the attempt itself is logged either way, because it happened.
 * Returns the ids whose lease was lost. A failure is the record stage's StorageUnavailableError
 * (the recorder tries again) or StorageRejectedError.
 */
export async function recordAttempts(storage: Storage, attempts: readonly FinishedAttempt[], afterRecord?: AfterRecord): Promise<string[]> {
  if (attempts.length === 0) return [];
  const each = <T extends string | number | null>(value: (a: FinishedAttempt) => T) => attempts.map((a) => [a.deliveryId, value(a)] as const);
  const failure = (a: FinishedAttempt) => (a.result.status === 'sent' ? undefined : a.result);

  const updated = await asStage('record', () =>
    storage.db.transaction().execute(async (tx) => {
      const rows = await tx
        .updateTable('deliveries')
        .set({
          status: caseOf(
            'id',
            each((a) => a.result.status),
            'text',
          ),
          sent_at: caseOf(
            'id',
            each((a) => (a.result.status === 'sent' ? a.finishedAt : null)),
            'bigint',
          ),
          // A sent row keeps its next_attempt_at: only unfinished rows are ever read by it.
          next_attempt_at: caseOf(
            'id',
            each((a) => failure(a)?.nextAttemptAt ?? a.finishedAt),
            'bigint',
          ),
          last_error: caseOf(
            'id',
            each((a) => failure(a)?.error ?? null),
            'text',
          ),
          last_code: caseOf(
            'id',
            each((a) => failure(a)?.code ?? null),
            'integer',
          ),
          smtp_response: caseOf(
            'id',
            each((a) => a.result.response ?? null),
            'text',
          ),
          lease_owner: null,
          lease_token: null,
          lease_expires_at: null,
        })
        .where(
          'id',
          'in',
          attempts.map((a) => a.deliveryId),
        )
        .where(
          sql<boolean>`${sql.ref('lease_token')} = ${caseOf(
            'id',
            each((a) => a.leaseToken),
            'text',
          )}`,
        )
        .returning('id')
        .execute();
      // A late answer of a worker that lost its lease replaces the `interrupted` its takeover logged.
      const kept = new Set(rows.map((r) => r.id));
      const late = attempts.filter((a) => !kept.has(a.deliveryId));
      if (late.length > 0) {
        await tx
          .deleteFrom('delivery_attempts')
          .where('outcome', '=', 'interrupted')
          .where((eb) => eb.or(late.map((a) => eb.and([eb('delivery_id', '=', a.deliveryId), eb('attempt', '=', a.attempt)]))))
          .execute();
      }
      // The attempt log gets its row now, whole: nothing is written for an attempt while it runs.
      await tx
        .insertInto('delivery_attempts')
        .values(
          attempts.map((a) => ({
            id: newId(),
            delivery_id: a.deliveryId,
            tenant_id: a.tenantId,
            attempt: a.attempt,
            worker: a.worker,
            started_at: a.claimedAt,
            finished_at: a.finishedAt,
            outcome: ATTEMPT_OUTCOME[a.result.status],
            code: a.result.status === 'sent' ? codeOf(a.result.response) : (a.result.code ?? null),
            response: a.result.status === 'sent' ? a.result.response : (a.result.response ?? a.result.error),
            duration_ms: Math.max(0, a.finishedAt - a.startedAt),
          })),
        )
        .execute();
      if (afterRecord) {
        await afterRecord(
          tx,
          attempts.filter((a) => kept.has(a.deliveryId)),
        );
      }
      return rows;
    }),
  );
  const kept = new Set(updated.map((r) => r.id));
  return attempts.filter((a) => !kept.has(a.deliveryId)).map((a) => a.deliveryId);
}

/** codeOf reads the reply code at the start of an SMTP reply such as `250 2.0.0 Ok`. */
export function codeOf(reply: string): number | null {
  const match = /^(\d{3})\b/.exec(reply.trim());
  return match ? Number(match[1]) : null;
}
